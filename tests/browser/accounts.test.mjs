// Accounts in a real browser: each role signs in through the real form,
// lands on its own home page, every page its header menu reaches passes axe
// (WCAG 2.2 AA), and it signs out; form errors use the GOV.UK error summary;
// a school business manager invites a teacher and the teacher sets a
// password without JavaScript; an emailed sign-in link signs in.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startTraded,
  launchBrowser,
  checkA11y,
  screenshot,
  signIn,
  demoPassword,
  latestLink,
  lastMailID,
} from './harness.mjs';
import { requestFault } from './flow.mjs';

let server;
let browser;
let password;

before(async () => {
  server = await startTraded({ demo: true });
  browser = await launchBrowser();
  password = demoPassword(server);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

// serverTest runs fn and, when it fails, adds the server's recent output to
// the error so the failure explains itself.
function serverTest(name, fn) {
  test(name, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      const tail = server ? server.logs().slice(-4000) : '(server not started)';
      err.message += `\n--- traded output (last 4 kB) ---\n${tail}`;
      throw err;
    }
  });
}

// newPage opens a fresh context (no cookies) and returns its page, with the
// page's uncaught script errors and failed same-origin requests collected.
async function newPage(options = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`script error: ${err.message}`));
  page.on('response', (res) => {
    // 4xx on a form post is an answer, not a fault; sub-resources must load.
    if (res.url().startsWith(server.baseURL) && res.status() >= 500) {
      problems.push(`${res.status()} ${res.request().method()} ${res.url()}`);
    }
    if (res.request().resourceType() !== 'document' && res.url().startsWith(server.baseURL) && res.status() >= 400) {
      problems.push(`${res.status()} ${res.url()}`);
    }
  });
  page.on('requestfailed', (req) => {
    const fault = requestFault(req, server.baseURL);
    if (fault) problems.push(fault);
  });
  return { context, page, problems };
}

const h1Of = async (page) => (await page.locator('h1').innerText()).trim();

// signedInLine is the "Signed in as ..." line of the frame, or '' when absent.
async function signedInLine(page) {
  const line = page.locator('p', { hasText: 'Signed in as' });
  return (await line.count()) > 0 ? (await line.first().innerText()).trim() : '';
}

// headerLinks are the hrefs of the header menu's links, on this origin.
async function headerLinks(page) {
  const hrefs = await page
    .locator('header nav a')
    .evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  return hrefs.filter((h) => h && h.startsWith('/'));
}

const roles = [
  {
    role: 'school business manager',
    email: 'manager@chelmervalley.example',
    name: 'Morgan Manager',
    h1: 'Chelmer Valley Community Primary School',
    nav: ['/', '/programme', '/bookings', '/consultancy', '/invoices', '/school/staff', '/account'],
    extra: ['/school/staff', '/account', '/subscribe', '/statement', '/school/settings', '/catalogue'],
  },
  {
    role: 'teacher',
    email: 'teacher@chelmervalley.example',
    name: 'Taylor Teacher',
    h1: 'Your bookings',
    nav: ['/', '/programme', '/bookings', '/account'],
    extra: ['/catalogue'],
  },
  {
    role: 'finance',
    email: 'finance@traded.example',
    name: 'Fran Finance',
    h1: 'Billing',
    nav: ['/', '/invoices', '/admin/organisations', '/finance/exports', '/catalogue', '/account'],
    extra: ['/finance/aged-debt', '/finance/payments', '/finance/bank', '/finance/journal', '/finance/ledger-codes', '/finance/accounts/990004', '/statement?organisation=990004'],
  },
  {
    role: 'admin',
    email: 'admin@traded.example',
    name: 'Alex Admin',
    h1: 'Catalogue and sessions',
    nav: ['/', '/admin/sessions', '/consultancy', '/invoices', '/admin/organisations', '/admin/users', '/admin/audit', '/account'],
    extra: ['/admin/users', '/admin/organisations', '/admin/organisations/990001', '/admin/audit', '/programme', '/catalogue',
      '/admin/planner', '/admin/consultancy/report', '/admin/outbox', '/admin/terms', '/admin/bank-holidays'],
  },
  {
    role: 'adviser',
    email: 'adviser@traded.example',
    name: 'Ada Adviser',
    h1: 'Your consultancy work',
    nav: ['/', '/consultancy', '/account'],
    extra: [],
  },
];

for (const r of roles) {
  serverTest(`${r.role} signs in, every page in reach passes axe, and signs out`, async () => {
    const { context, page, problems } = await newPage();
    try {
      const res = await signIn(page, server.baseURL, r.email, password);
      assert.equal(res?.status(), 200, `${r.role}: sign-in landed with status ${res?.status()} on ${page.url()}`);
      assert.equal(new URL(page.url()).pathname, '/', `${r.role}: after sign-in at ${page.url()}, want /`);
      assert.equal(await h1Of(page), r.h1, `${r.role}: home page <h1>`);
      const who = await signedInLine(page);
      assert.match(who, new RegExp(`^Signed in as ${r.name}\\b`), `${r.role}: "Signed in as" line is ${JSON.stringify(who)}`);
      await screenshot(page, `home-${r.role.replace(/ /g, '-')}`);
      await checkA11y(page, `${r.role} home`);

      const nav = await headerLinks(page);
      assert.deepEqual([...nav].sort(), [...r.nav].sort(), `${r.role}: header menu links`);
      const paths = [...new Set([...nav, ...r.extra])].filter((p) => p !== '/');
      for (const p of paths) {
        const resp = await page.goto(server.baseURL + p, { waitUntil: 'load' });
        assert.equal(resp.status(), 200, `${r.role}: GET ${p} answered ${resp.status()}`);
        const h1s = await page.locator('h1').allInnerTexts();
        assert.equal(h1s.length, 1, `${r.role}: GET ${p} has ${h1s.length} <h1> elements, want 1`);
        assert.match(await signedInLine(page), new RegExp(`Signed in as ${r.name}`), `${r.role}: GET ${p} lost the sign-in`);
        // The current page is marked in the menu, and only it.
        const current = await page.locator('header nav a[aria-current="page"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
        if (nav.includes(p)) assert.deepEqual(current, [p], `${r.role}: GET ${p}: aria-current on ${JSON.stringify(current)}`);
        await checkA11y(page, `${r.role} ${p}`);
      }

      // Sign out with the header's button.
      await page.goto(server.baseURL + '/', { waitUntil: 'load' });
      await Promise.all([
        page.waitForNavigation({ waitUntil: 'load' }),
        page.locator('header').getByRole('button', { name: 'Sign out' }).click(),
      ]);
      assert.equal(await h1Of(page), 'You have signed out', `${r.role}: after "Sign out"`);
      assert.equal(await signedInLine(page), '', `${r.role}: still "Signed in as" after signing out`);
      await checkA11y(page, `${r.role} signed out`);
      assert.ok((await page.locator('header nav a', { hasText: 'Sign in' }).count()) === 1, `${r.role}: no "Sign in" link after signing out`);
      await page.goto(server.baseURL + '/', { waitUntil: 'load' });
      assert.equal(await signedInLine(page), '', `${r.role}: / still shows "Signed in as" after signing out`);
      assert.notEqual(await h1Of(page), r.h1, `${r.role}: / still shows the role's home after signing out`);
      const back = await page.goto(server.baseURL + '/account', { waitUntil: 'load' });
      assert.ok(
        new URL(page.url()).pathname === '/sign-in' || back.status() === 401 || back.status() === 403,
        `${r.role}: /account after signing out answered ${back.status()} at ${page.url()}`,
      );
      assert.deepEqual(problems, [], `${r.role}: failed requests or script errors`);
    } finally {
      await context.close();
    }
  });
}

// errorSummary returns the GOV.UK error summary's title and links.
async function errorSummary(page) {
  const summary = page.locator('.govuk-error-summary');
  assert.equal(await summary.count(), 1, `no error summary on ${page.url()}`);
  const title = (await summary.locator('.govuk-error-summary__title').innerText()).trim();
  const links = await summary.locator('a').evaluateAll((as) => as.map((a) => ({ href: a.getAttribute('href'), text: a.textContent.trim() })));
  return { title, links };
}

serverTest('a wrong password shows the error summary, keeps the email, not the password', async () => {
  const { context, page, problems } = await newPage();
  try {
    const res = await signIn(page, server.baseURL, 'finance@traded.example', 'not-the-password');
    assert.ok(res.status() >= 400 && res.status() < 500, `wrong password answered ${res.status()}`);
    assert.equal(new URL(page.url()).pathname, '/sign-in');
    const { title, links } = await errorSummary(page);
    assert.equal(title, 'There is a problem');
    assert.equal(links.length, 1, `error summary links: ${JSON.stringify(links)}`);
    assert.equal(links[0].href, '#email', `error summary link: ${JSON.stringify(links[0])}`);
    assert.ok(links[0].text !== '', 'error summary link has no text');
    assert.match(await page.title(), /^Error: /, 'the <title> does not start with "Error: "');
    assert.equal(await page.getByLabel('Email address', { exact: true }).inputValue(), 'finance@traded.example', 'the email was not kept');
    assert.equal(await page.getByLabel('Password', { exact: true }).inputValue(), '', 'the password was sent back');
    assert.ok(!(await page.content()).includes('not-the-password'), 'the wrong password is in the page source');
    // The inline message sits with the input it is about.
    assert.equal(await page.locator('#email-error').count(), 1, 'no inline message beside the email input');
    assert.match((await page.locator('#email').getAttribute('aria-describedby')) || '', /email-error/);
    assert.equal(await signedInLine(page), '');
    await checkA11y(page, 'sign-in with a wrong password');
    // The summary's link moves focus to the email input (govuk-frontend's
    // error summary script focuses it rather than following the #email).
    await page.locator('.govuk-error-summary a').click();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'email', 'the summary link did not focus the email input');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

serverTest('inviting staff with a bad email shows the error summary and keeps the input', async () => {
  const { context, page, problems } = await newPage();
  try {
    await signIn(page, server.baseURL, 'manager@chelmervalley.example', password);
    await page.goto(server.baseURL + '/school/staff', { waitUntil: 'load' });
    await page.getByLabel('Full name').fill('Pat Example');
    await page.getByLabel('Email address').fill('not-an-email');
    const [res] = await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.getByRole('button', { name: 'Send invitation' }).click(),
    ]);
    assert.ok(res.status() >= 400 && res.status() < 500, `bad email answered ${res.status()}`);
    const { title, links } = await errorSummary(page);
    assert.equal(title, 'There is a problem');
    assert.deepEqual(links.map((l) => l.href), ['#email'], `error summary links: ${JSON.stringify(links)}`);
    assert.equal(await page.getByLabel('Full name').inputValue(), 'Pat Example', 'the name was not kept');
    assert.equal(await page.getByLabel('Email address').inputValue(), 'not-an-email', 'the email was not kept');
    assert.equal(await page.locator('#email-error').count(), 1, 'no inline message beside the email input');
    assert.match(await page.title(), /^Error: /);
    assert.equal(await page.locator('tbody tr', { hasText: 'not-an-email' }).count(), 0, 'the refused invitation is listed');
    await checkA11y(page, 'staff invite with a bad email');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

serverTest('without JavaScript a manager invites a teacher who sets a password and signs in', async () => {
  const noJS = { javaScriptEnabled: false };
  const manager = await newPage(noJS);
  const teacher = await newPage(noJS);
  const email = `new.teacher.${Date.now()}@chelmervalley.example`;
  const name = 'Nico Newteacher';
  try {
    const { page } = manager;
    const after = lastMailID(server);
    await signIn(page, server.baseURL, 'manager@chelmervalley.example', password);
    assert.equal(await h1Of(page), 'Chelmer Valley Community Primary School');
    // Reach the staff page through the header menu, as a person would.
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.locator('header nav').getByRole('link', { name: 'Staff' }).click(),
    ]);
    assert.equal(await h1Of(page), 'Staff accounts');
    await page.getByLabel('Full name').fill(name);
    await page.getByLabel('Email address').fill(email);
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.getByRole('button', { name: 'Send invitation' }).click(),
    ]);
    assert.equal(new URL(page.url()).pathname, '/school/staff');
    const banner = page.locator('.govuk-notification-banner--success');
    assert.equal(await banner.count(), 1, 'no success banner after the invitation');
    assert.match(await banner.innerText(), new RegExp(email.replace(/\./g, '\\.')));
    const row = page.locator('tbody tr', { hasText: email });
    assert.equal(await row.count(), 1, `${email} is not listed`);
    const cells = (await row.locator('td').allInnerTexts()).map((s) => s.trim());
    assert.equal(cells[0], name);
    assert.equal(cells[2], 'Teacher');
    assert.equal(cells[3], 'Invited');

    const link = await latestLink(server, { to: email, pathPrefix: '/set-password/', after });
    // Opening the link does not use it (only the form's POST does), so axe
    // can look at the page in a browser with JavaScript first.
    const look = await newPage();
    try {
      await look.page.goto(link.url, { waitUntil: 'load' });
      await checkA11y(look.page, 'set-password page');
    } finally {
      await look.context.close();
    }

    const t = teacher.page;
    const r1 = await t.goto(link.url, { waitUntil: 'load' });
    assert.equal(r1.status(), 200, `GET ${link.path} answered ${r1.status()}`);
    assert.equal(await h1Of(t), 'Set your password');
    assert.match(await t.locator('main').innerText(), new RegExp(email.replace(/\./g, '\\.')));
    const newPassword = 'correct horse battery staple';
    await t.getByLabel('New password', { exact: true }).fill(newPassword);
    await t.getByLabel('Type the new password again', { exact: true }).fill(newPassword);
    await Promise.all([
      t.waitForNavigation({ waitUntil: 'load' }),
      t.getByRole('button', { name: 'Save password and sign in' }).click(),
    ]);
    assert.equal(new URL(t.url()).pathname, '/');
    assert.match(
      await signedInLine(t),
      new RegExp(`Signed in as ${name}`),
      `after "Save password and sign in" the new teacher is not signed in: the page is ${JSON.stringify(await h1Of(t))}` +
        ` with the banner ${JSON.stringify(await t.locator('.govuk-notification-banner').allInnerTexts())}`,
    );
    assert.equal(await h1Of(t), 'Your bookings');
    assert.match(await t.locator('.govuk-notification-banner').innerText(), /password has been set/i);

    // The manager now sees the teacher as active.
    await page.reload({ waitUntil: 'load' });
    const cells2 = (await page.locator('tbody tr', { hasText: email }).locator('td').allInnerTexts()).map((s) => s.trim());
    assert.equal(cells2[3], 'Active', `after setting a password the row is ${JSON.stringify(cells2)}`);

    // The link works once.
    const again = await newPage(noJS);
    try {
      const r2 = await again.page.goto(link.url, { waitUntil: 'load' });
      assert.equal(r2.status(), 410, `a used set-password link answered ${r2.status()}`);
    } finally {
      await again.context.close();
    }
    assert.deepEqual(manager.problems, []);
    assert.deepEqual(teacher.problems, []);
  } finally {
    await manager.context.close();
    await teacher.context.close();
  }
});

serverTest('the emailed sign-in link signs finance in', async () => {
  const asker = await newPage();
  const opener = await newPage();
  try {
    const after = lastMailID(server);
    const { page } = asker;
    await page.goto(server.baseURL + '/sign-in', { waitUntil: 'load' });
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.getByRole('link', { name: 'Email me a link to sign in' }).click(),
    ]);
    assert.equal(new URL(page.url()).pathname, '/sign-in/email');
    await checkA11y(page, '/sign-in/email');
    await page.getByLabel('Email address').fill('finance@traded.example');
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.getByRole('button', { name: 'Email me a link' }).click(),
    ]);
    assert.equal(await h1Of(page), 'Check your email');
    await checkA11y(page, 'sign-in link sent');

    const link = await latestLink(server, { to: 'finance@traded.example', pathPrefix: '/sign-in/link/', after });
    const o = opener.page;
    const r1 = await o.goto(link.url, { waitUntil: 'load' });
    assert.equal(r1.status(), 200, `GET ${link.path} answered ${r1.status()}`);
    assert.match(await o.locator('main').innerText(), /Fran Finance/);
    await checkA11y(o, 'sign-in link page');
    await Promise.all([
      o.waitForNavigation({ waitUntil: 'load' }),
      o.getByRole('button', { name: 'Continue and sign in' }).click(),
    ]);
    assert.equal(new URL(o.url()).pathname, '/');
    assert.equal(await h1Of(o), 'Billing');
    assert.match(await signedInLine(o), /Signed in as Fran Finance/);
    // The asking browser was not signed in by the link.
    await page.goto(server.baseURL + '/', { waitUntil: 'load' });
    assert.equal(await signedInLine(page), '');
    assert.deepEqual(asker.problems, []);
    assert.deepEqual(opener.problems, []);
  } finally {
    await asker.context.close();
    await opener.context.close();
  }
});
