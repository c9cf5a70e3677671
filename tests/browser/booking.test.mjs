// Booking in a real browser: a teacher books a PSA session free under the
// school's subscription and the school business manager sees it; teachers'
// bookings can need the manager's approval; a school without the
// subscription sees the price, books three people on a moderation event
// with a purchase-order number that the booking page, the list and the
// invoice show, gives a place to a colleague, cancels a place and is
// credited, and a half-filled delegate row is an error; a full event has a
// waiting list whose freed place is offered, with what taking it costs, and
// taken at that price; the LA's register marks a delegate attended and the
// school downloads the certificate.
//
// Tests 1 and 4 run entirely without JavaScript (every page must work
// without it); axe (WCAG 2.2 AA) checks every page visited, in a twin
// context with JavaScript and the same cookies when the user's context has
// none. Nothing may answer 5xx and no page script may fail.
//
// The tests share one demo server and run in order: test 5 takes the
// register of the event test 4 filled.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTraded, launchBrowser, checkA11y, screenshot, signIn, demoPassword } from './harness.mjs';
import {
  serverTest as flowTest, watch, signedIn, goTo, press, button, headerLink, h1Of, mainText, banner, statusTag as bookingStatus,
  summaryValue as summaryRow,
} from './flow.mjs';

let server;
let browser;
let password;
let work; // temporary directory for the certificate PDF

// Open future sessions of the demo programme, earliest first, found in
// before(): psa are Primary Statutory Assessment sessions, moderation the
// moderation events.
const open = { psa: [], moderation: [] };

before(async () => {
  server = await startTraded({ demo: true });
  browser = await launchBrowser();
  password = demoPassword(server);
  work = mkdtempSync(path.join(tmpdir(), 'traded-booking-'));
  await findOpenSessions();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const serverTest = (name, fn) => flowTest(name, fn, () => server);

// as opens a fresh context, with or without JavaScript, and signs email in
// through the real form. It returns { who, context, page, problems, js }.
const as = async (email, { js = true } = {}) =>
  ({ ...(await signedIn(browser, server, email, password, { javaScriptEnabled: js })), js });

// a11y runs axe on the user's current page. Axe cannot run in a page
// without JavaScript, so for such a user it loads the same address in a
// twin context with JavaScript and the user's cookies (a GET: no change).
async function a11y(user, label) {
  if (user.js) {
    await checkA11y(user.page, label);
    return;
  }
  const twin = await browser.newContext({ storageState: await user.context.storageState() });
  try {
    const page = await twin.newPage();
    watch(page, user.problems, server.baseURL);
    const res = await page.goto(user.page.url(), { waitUntil: 'load' });
    assert.equal(res.status(), 200, `${label}: GET ${user.page.url()} with JavaScript answered ${res.status()}`);
    await checkA11y(page, label);
  } finally {
    await twin.close();
  }
}

const go = (user, p) => goTo(server, user, p);

// summaryValue is the value of the booking's summary-list row called
// exactly key.
const summaryValue = (page, key) => summaryRow(page, new RegExp(`^${key}$`));

// delegateRow is the row of the Delegates table whose name is name (the
// first such row unless status says which).
function delegateRow(page, name) {
  return page
    .locator('table', { has: page.locator('caption', { hasText: 'Delegates on this booking' }) })
    .locator('tbody tr')
    .filter({ has: page.locator('td:first-child', { hasText: new RegExp(`^${name}$`) }) });
}

// delegates lists the Delegates table as [name, email, status].
async function delegates(page) {
  const rows = page.locator('table', { has: page.locator('caption', { hasText: 'Delegates on this booking' }) }).locator('tbody tr');
  const out = [];
  for (const row of await rows.all()) {
    const cells = (await row.locator('td').allInnerTexts()).map((s) => s.trim());
    out.push(cells.slice(0, 3));
  }
  return out;
}

// charges lists the "What it costs" table as [item, quantity, amount].
async function charges(page) {
  const rows = page.locator('table', { has: page.locator('caption', { hasText: 'What it costs' }) }).locator('tbody tr');
  const out = [];
  for (const row of await rows.all()) out.push((await row.locator('td').allInnerTexts()).map((s) => s.replace(/\s+/g, ' ').trim()));
  return out;
}

// bookingID is the id in a /bookings/N address.
function bookingID(page) {
  const m = /^\/bookings\/(\d+)$/.exec(new URL(page.url()).pathname);
  assert.ok(m, `not on a booking page: ${page.url()}`);
  return Number(m[1]);
}

// pence reads "£1,234.56" as 123456.
function pence(s) {
  const m = /£([\d,]+)\.(\d\d)/.exec(s);
  assert.ok(m, `no amount in ${JSON.stringify(s)}`);
  return Number(m[1].replace(/,/g, '')) * 100 + Number(m[2]);
}
const money = (p) => `£${Math.floor(p / 100).toLocaleString('en-GB')}.${String(p % 100).padStart(2, '0')}`;

// findOpenSessions reads the programme and, signed in as a school business
// manager, each session's page: a session whose page offers "Book" is open.
async function findOpenSessions() {
  const context = await browser.newContext({ javaScriptEnabled: false });
  try {
    const page = await context.newPage();
    await signIn(page, server.baseURL, 'manager@chelmervalley.example', password);
    const html = await (await page.request.get(server.baseURL + '/programme')).text();
    const ids = [...new Set([...html.matchAll(/href="\/sessions\/(\d+)"/g)].map((m) => Number(m[1])))];
    for (const id of ids) {
      const s = await (await page.request.get(`${server.baseURL}/sessions/${id}`)).text();
      if (!/<button[^>]*>Book<\/button>/.test(s)) continue;
      if (s.includes('Moderation training event')) open.moderation.push(id);
      else if (s.includes('Primary Statutory Assessment session')) open.psa.push(id);
    }
  } finally {
    await context.close();
  }
  const need = 'the tests need 2 open PSA sessions and 2 open moderation events in the current academic year';
  assert.ok(open.psa.length >= 2 && open.moderation.length >= 2, `${need}; open: ${JSON.stringify(open)}`);
}

// sessionLink is the programme's link to session id.
const sessionLink = (page, id) => page.locator(`main a[href="/sessions/${id}"]`);

// ---------------------------------------------------------------------------

serverTest('without JavaScript a teacher books a PSA session free and the school business manager sees it', async () => {
  const teacher = await as('teacher@chelmervalley.example', { js: false });
  const manager = await as('manager@chelmervalley.example', { js: false });
  const sid = open.psa[0];
  try {
    const { page } = teacher;
    assert.equal(await h1Of(page), 'Your bookings');
    await press(teacher, headerLink(page, 'Programme'));
    assert.equal(new URL(page.url()).pathname, '/programme');
    assert.match(await h1Of(page), /^Training programme \d{4}\/\d{2}$/);
    await a11y(teacher, 'programme (teacher)');

    await press(teacher, sessionLink(page, sid));
    assert.equal(new URL(page.url()).pathname, `/sessions/${sid}`);
    const title = await h1Of(page);
    assert.match(await page.locator('main .govuk-caption-l').innerText(), /Primary Statutory Assessment session/);
    assert.equal((await page.locator('main h2', { hasText: 'Book a place for yourself' }).count()), 1, 'no "Book a place for yourself"');
    const quote = (await page.locator('main .govuk-inset-text').innerText()).replace(/\s+/g, ' ');
    assert.match(quote, /your school would pay £0\.00/, `the quote: ${quote}`);
    assert.match(quote, /subscription/, `the quote: ${quote}`);
    assert.match(await mainText(page), /The place will be for Taylor Teacher \(teacher@chelmervalley\.example\)/);
    await screenshot(page, 'booking-session-teacher');
    await a11y(teacher, 'PSA session (teacher)');

    const res = await press(teacher, button(page, 'Book'));
    assert.equal(res.status(), 200, `after "Book": ${res.status()} at ${page.url()}`);
    const id = bookingID(page);
    const m = /^Success Your booking (BK-\d+) is confirmed\.$/.exec(await banner(page));
    assert.ok(m, `after "Book" the banner is ${JSON.stringify(await banner(page))}`);
    const ref = m[1];
    assert.equal(await h1Of(page), title);
    assert.match(await page.locator('main .govuk-caption-l').innerText(), new RegExp(`Booking ${ref} · Chelmer Valley`));
    assert.equal(await bookingStatus(page), 'Confirmed');
    assert.match(await summaryValue(page, 'Price'), /^£0\.00/);
    assert.match(await summaryValue(page, 'Booked by'), /^Taylor Teacher on /);
    assert.deepEqual(await delegates(page), [['Taylor Teacher', 'teacher@chelmervalley.example', 'Booked']]);
    await screenshot(page, 'booking-teacher-confirmed');
    await a11y(teacher, 'booking confirmed (teacher)');

    // The teacher's home lists it.
    await press(teacher, headerLink(page, 'Home'));
    const mine = page.locator(`main table a[href="/bookings/${id}"]`);
    assert.equal(await mine.count(), 1, `the teacher's home does not list booking ${id}: ${await mainText(page)}`);
    assert.match(await mine.innerText(), new RegExp(title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));

    // The manager's home lists it under Bookings, with the teacher's name.
    const mp = manager.page;
    await mp.reload({ waitUntil: 'load' });
    assert.equal(await h1Of(mp), 'Chelmer Valley Community Primary School');
    const onHome = mp.locator('main h2:text-is("Bookings") ~ table tbody tr', { has: mp.locator(`a[href="/bookings/${id}"]`) });
    assert.equal(await onHome.count(), 1, `the manager's home does not list booking ${id} under Bookings`);
    assert.match(await onHome.innerText(), /Taylor Teacher/);
    assert.match(await onHome.innerText(), /Confirmed/);
    await a11y(manager, 'manager home with a booking');

    await press(manager, headerLink(mp, 'Bookings'));
    assert.equal(new URL(mp.url()).pathname, '/bookings');
    const listed = mp.locator('main tbody tr', { has: mp.locator(`a[href="/bookings/${id}"]`) });
    assert.equal(await listed.count(), 1, `/bookings does not list booking ${id}`);
    const cells = (await listed.locator('td').allInnerTexts()).map((s) => s.trim());
    assert.equal(cells[2], 'Taylor Teacher', `/bookings row: ${JSON.stringify(cells)}`);
    assert.equal(cells[3], 'Confirmed', `/bookings row: ${JSON.stringify(cells)}`);
    assert.equal(cells[4], '£0.00', `/bookings row: ${JSON.stringify(cells)}`);
    assert.match(await listed.locator('a').innerText(), new RegExp(ref));
    await a11y(manager, '/bookings (manager)');

    await press(manager, listed.locator('a'));
    assert.equal(bookingID(mp), id);
    assert.equal(await bookingStatus(mp), 'Confirmed');
    await a11y(manager, 'booking (manager)');

    assert.deepEqual(teacher.problems, []);
    assert.deepEqual(manager.problems, []);
  } finally {
    await teacher.context.close();
    await manager.context.close();
  }
});

serverTest("teachers' bookings can need the manager's approval", async () => {
  const manager = await as('manager@chelmervalley.example');
  const teacher = await as('teacher@chelmervalley.example');
  const sid = open.psa[1];
  const mp = manager.page;
  const setApproval = async (on) => {
    await go(manager, '/school/settings');
    const box = mp.getByLabel("Teachers' bookings need my approval");
    if (on) await box.check();
    else await box.uncheck();
    await press(manager, button(mp, 'Save settings'));
    assert.equal(new URL(mp.url()).pathname, '/school/settings');
    assert.match(await banner(mp), /Your booking settings have been saved/);
    assert.equal(await mp.getByLabel("Teachers' bookings need my approval").isChecked(), on, 'the setting did not stick');
  };
  try {
    // From the home page's link, as a manager would.
    await press(manager, mp.locator('main').getByRole('link', { name: 'Booking settings' }));
    assert.equal(await h1Of(mp), 'Booking settings');
    await a11y(manager, '/school/settings');
    await setApproval(true);
    await a11y(manager, '/school/settings saved');

    const { page } = teacher;
    await press(teacher, headerLink(page, 'Programme'));
    await press(teacher, sessionLink(page, sid));
    assert.match(await mainText(page), /Your school business manager approves teachers' bookings/);
    await a11y(teacher, 'PSA session needing approval (teacher)');
    await press(teacher, button(page, 'Book'));
    const id = bookingID(page);
    const m = /Your request (BK-\d+) has gone to your school business manager for approval\./.exec(await banner(page));
    assert.ok(m, `after "Book" the banner is ${JSON.stringify(await banner(page))}`);
    assert.equal(await bookingStatus(page), 'Waiting for approval');
    assert.equal(await page.getByRole('button', { name: 'Approve' }).count(), 0, 'the teacher can approve their own request');
    await a11y(teacher, 'booking waiting for approval (teacher)');

    await go(manager, '/');
    assert.match(await mainText(mp), /1 waiting for your approval/);
    await a11y(manager, 'manager home with a request');
    await press(manager, headerLink(mp, 'Bookings'));
    const waiting = mp.locator('main h2:text-is("Waiting for your approval") + table');
    assert.equal(await waiting.locator(`a[href="/bookings/${id}"]`).count(), 1, `"Waiting for your approval" does not list booking ${id}`);
    await a11y(manager, '/bookings with a request');
    await press(manager, waiting.locator(`a[href="/bookings/${id}"]`));
    assert.equal(await bookingStatus(mp), 'Waiting for approval');
    await a11y(manager, 'request (manager)');
    await press(manager, button(mp, 'Approve'));
    assert.equal(bookingID(mp), id);
    assert.match(await banner(mp), /The booking is approved and confirmed\./);
    assert.equal(await bookingStatus(mp), 'Confirmed');
    await a11y(manager, 'approved booking (manager)');

    await page.reload({ waitUntil: 'load' });
    assert.equal(await bookingStatus(page), 'Confirmed', 'the teacher does not see the approval');
    await go(manager, '/');
    assert.doesNotMatch(await mainText(mp), /waiting for your approval/);

    assert.deepEqual(teacher.problems, []);
    assert.deepEqual(manager.problems, []);
  } finally {
    try {
      await setApproval(false);
    } finally {
      await teacher.context.close();
      await manager.context.close();
    }
  }
});

serverTest('a school without the subscription books three people on a moderation event with a PO, swaps one and cancels one', async () => {
  const user = await as('manager@leighcliffs.example');
  const { page } = user;
  // The latest open event: the likeliest still before its free-cancellation date.
  const sid = open.moderation[open.moderation.length - 1];
  const people = [
    ['Robin Reader', 'robin.reader@leighcliffs.example'],
    ['Sam Scorer', 'sam.scorer@leighcliffs.example'],
    ['Alex Assessor', 'alex.assessor@leighcliffs.example'],
  ];
  const po = 'LC-PO-<5150>';
  try {
    await press(user, headerLink(page, 'Programme'));
    await a11y(user, 'programme (Leigh Cliffs)');
    await press(user, sessionLink(page, sid));
    assert.match(await page.locator('main .govuk-caption-l').innerText(), /Moderation training event/);
    assert.equal(await page.locator('main h2', { hasText: 'Book places for your staff' }).count(), 1);
    const quote = await page.locator('main .govuk-inset-text li').allInnerTexts();
    const first = quote.find((s) => /first member of staff/.test(s));
    const extra = quote.find((s) => /each additional person/.test(s));
    assert.ok(first && extra, `the quote: ${JSON.stringify(quote)}`);
    const firstP = pence(first);
    const extraP = pence(extra);
    assert.ok(firstP > 0 && extraP > 0, `the quote: ${JSON.stringify(quote)}`);
    assert.match(await page.locator('main .govuk-inset-text strong').innerText(), new RegExp(`^${money(firstP + extraP).replace('.', '\\.')}$`));
    assert.doesNotMatch(await page.locator('main .govuk-inset-text').innerText(), /has the subscription/);
    await screenshot(page, 'booking-session-moderation');
    await a11y(user, 'moderation event (Leigh Cliffs)');

    for (const [i, [name, email]] of people.entries()) {
      const row = page.getByRole('group', { name: new RegExp(`^Delegate ${i + 1}\\b`) });
      await row.getByLabel('Full name').fill(name);
      await row.getByLabel('Email address').fill(email);
    }
    // Leigh Cliffs needs no purchase order, but raises one: the field says
    // it is optional, and the price is on the page, beside the form, before
    // anything is booked.
    assert.equal(await page.getByLabel('Purchase order number (optional)').count(), 1, 'no optional PO field on the booking form');
    const form = page.locator('main form[action$="/book"]');
    assert.equal(await page.locator('main .govuk-inset-text + form[action$="/book"]').count(), 1, 'the price is not shown just before the booking form');
    await form.getByLabel(/^Purchase order number/).fill(po);
    await press(user, button(page, 'Book'));
    const id = bookingID(page);
    assert.match(await banner(page), /Your booking BK-\d+ is confirmed\./);
    assert.equal(await bookingStatus(page), 'Confirmed');
    assert.equal(await summaryValue(page, 'Purchase order'), po, 'the booking page does not show the PO as typed');
    assert.deepEqual(await delegates(page), people.map(([n, e]) => [n, e, 'Booked']));
    const lines = await charges(page);
    assert.equal(lines.length, 2, `charges: ${JSON.stringify(lines)}`);
    assert.match(lines[0][0], /first member of staff/);
    assert.deepEqual(lines[0].slice(1), ['1', money(firstP)], `charges: ${JSON.stringify(lines)}`);
    assert.match(lines[1][0], /each additional person/);
    assert.deepEqual(lines[1].slice(1), ['2', money(2 * extraP)], `charges: ${JSON.stringify(lines)}`);
    const total = money(firstP + 2 * extraP);
    const price = await summaryValue(page, 'Price');
    assert.match(price, new RegExp(`^${total.replace('.', '\\.')}, invoice [A-Z]+-\\d+$`), `Price: ${price}`);
    await screenshot(page, 'booking-moderation-confirmed');
    await a11y(user, 'moderation booking confirmed');

    // The invoice, for the price shown before booking, carries the PO.
    const invoice = page.locator('.govuk-summary-list__row', { hasText: 'Price' }).getByRole('link');
    const number = (await invoice.innerText()).trim();
    const inv = await press(user, invoice);
    assert.equal(inv.status(), 200, `GET ${page.url()} answered ${inv.status()}`);
    assert.equal(await h1Of(page), `Invoice ${number}`);
    assert.match(await mainText(page), new RegExp(total.replace('.', '\\.')));
    assert.equal(await summaryRow(page, 'Purchase order'), po, 'the invoice does not carry the PO');
    await a11y(user, `invoice ${number}`);
    await page.goBack({ waitUntil: 'load' });
    assert.equal(bookingID(page), id);

    // The bookings list shows the PO too.
    await press(user, headerLink(page, 'Bookings'));
    const listed = page.locator('main tbody tr', { has: page.locator(`a[href="/bookings/${id}"]`) });
    assert.equal(await listed.count(), 1, `the bookings list does not hold booking ${id}`);
    assert.ok((await listed.innerText()).includes(po), `the bookings list does not show the PO: ${await listed.innerText()}`);
    await a11y(user, '/bookings with a PO');
    await press(user, listed.locator('a'));
    assert.equal(bookingID(page), id);

    // Give Sam's place to a colleague: the details element opens without
    // JavaScript too (it is HTML's own).
    const sam = delegateRow(page, 'Sam Scorer');
    await sam.locator('summary').click();
    await sam.getByLabel("Colleague's full name").fill('Jo Newcolleague');
    await sam.getByLabel("Colleague's email address").fill('jo.newcolleague@leighcliffs.example');
    await press(user, sam.getByRole('button', { name: 'Swap, free of charge' }));
    const swapped = await banner(page);
    assert.match(
      swapped,
      /The place has been given to Jo Newcolleague\./,
      `after the swap the page is at ${page.url()} with the banner ${JSON.stringify(swapped)} and errors ${JSON.stringify(
        await page.locator('.govuk-error-summary').allInnerTexts(),
      )}`,
    );
    assert.deepEqual(await delegates(page), [
      ['Robin Reader', 'robin.reader@leighcliffs.example', 'Booked'],
      ['Sam Scorer', 'sam.scorer@leighcliffs.example', 'Replaced'],
      ['Alex Assessor', 'alex.assessor@leighcliffs.example', 'Booked'],
      ['Jo Newcolleague', 'jo.newcolleague@leighcliffs.example', 'Booked'],
    ]);
    assert.match(await summaryValue(page, 'Price'), new RegExp(`^${total.replace('.', '\\.')}`), 'a swap changed the price');
    await a11y(user, 'moderation booking after a swap');

    // Cancel Alex's place.
    const free = (await page.getByText('You can cancel free of charge until').count()) > 0;
    await press(user, delegateRow(page, 'Alex Assessor').getByRole('button', { name: /^Cancel this place/ }));
    assert.match(await banner(page), /The place has been cancelled\./);
    assert.equal((await delegateRow(page, 'Alex Assessor').locator('td').nth(2).innerText()).trim(), 'Cancelled');
    const after = await charges(page);
    if (free) {
      assert.match(after[1][0], new RegExp(`each additional person \\(credited ${money(extraP).replace('.', '\\.')}\\)`), `charges: ${JSON.stringify(after)}`);
    } else {
      assert.ok(after.every(([item]) => !/credited/.test(item)), `a credit after the free-cancellation date: ${JSON.stringify(after)}`);
    }
    await screenshot(page, 'booking-moderation-after-changes');
    await a11y(user, 'moderation booking after cancelling a place');

    // A row with a name and no email is an error on that row's email.
    await go(user, `/sessions/${sid}`);
    await page.getByRole('group', { name: /^Delegate 1\b/ }).getByLabel('Full name').fill('Chris Complete');
    await page.getByRole('group', { name: /^Delegate 1\b/ }).getByLabel('Email address').fill('chris.complete@leighcliffs.example');
    await page.getByRole('group', { name: /^Delegate 2\b/ }).getByLabel('Full name').fill('Pat Partial');
    const bad = await press(user, button(page, 'Book'));
    assert.ok(bad.status() >= 400 && bad.status() < 500, `a row without an email answered ${bad.status()}`);
    assert.equal(new URL(page.url()).pathname, `/sessions/${sid}/book`);
    const summary = page.locator('.govuk-error-summary');
    assert.equal(await summary.count(), 1, 'no error summary');
    const links = await summary.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert.deepEqual(links, ['#email_1'], `error summary links: ${JSON.stringify(links)}`);
    assert.match(await page.title(), /^Error: /);
    assert.equal(await page.locator('#email_1-error').count(), 1, 'no inline message by the second row\'s email');
    assert.match((await page.locator('#email_1').getAttribute('aria-describedby')) || '', /email_1-error/);
    assert.equal(await page.locator('#name_0').inputValue(), 'Chris Complete', 'row 1 name not kept');
    assert.equal(await page.locator('#email_0').inputValue(), 'chris.complete@leighcliffs.example', 'row 1 email not kept');
    assert.equal(await page.locator('#name_1').inputValue(), 'Pat Partial', 'row 2 name not kept');
    await a11y(user, 'booking form with an error');
    await page.locator('.govuk-error-summary a').click();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'email_1', 'the summary link did not focus the email input');

    assert.deepEqual(user.problems, []);
  } finally {
    await user.context.close();
  }
});

// Shared by the waiting-list and register tests.
const waitlist = { sid: 0, booking: 0, name: 'Dana Delegate', email: 'dana.delegate@chelmervalley.example' };

serverTest('without JavaScript a full moderation event has a waiting list whose freed place is offered and taken', async () => {
  const sid = open.moderation[open.moderation.length - 2];
  waitlist.sid = sid;
  const admin = await as('admin@traded.example', { js: false });
  const leigh = await as('manager@leighcliffs.example', { js: false });
  const chelmer = await as('manager@chelmervalley.example', { js: false });
  try {
    // The LA admin cuts the event to one place.
    const ap = admin.page;
    await press(admin, headerLink(ap, 'Sessions'));
    assert.equal(new URL(ap.url()).pathname, '/admin/sessions');
    await press(admin, ap.locator(`main a[href="/admin/sessions/${sid}"]`).first());
    assert.equal(new URL(ap.url()).pathname, `/admin/sessions/${sid}`);
    await a11y(admin, 'admin session');
    assert.match(await ap.getByLabel('Date', { exact: true }).inputValue(), /^\d{4}-\d\d-\d\d$/, 'the date is not prefilled');
    assert.match(await ap.getByLabel('Start time (UK time)').inputValue(), /^\d\d:\d\d$/, 'the time is not prefilled');
    assert.equal(await ap.getByLabel('Places').inputValue(), '40');
    await ap.getByLabel('Places').fill('1');
    await press(admin, button(ap, 'Save changes'));
    assert.equal(new URL(ap.url()).pathname, `/admin/sessions/${sid}`);
    assert.match(await banner(ap), /The session has been saved/);
    assert.match(await mainText(ap), /0 of 1 places held/);
    assert.equal(await ap.getByLabel('Places').inputValue(), '1');
    await a11y(admin, 'admin session saved');

    // Leigh Cliffs takes the place.
    const lp = leigh.page;
    await go(leigh, '/programme');
    await press(leigh, sessionLink(lp, sid));
    assert.match(await summaryValue(lp, 'Places left'), /^1 of 1$/);
    await lp.getByRole('group', { name: /^Delegate 1\b/ }).getByLabel('Full name').fill('Lee Cliff');
    await lp.getByRole('group', { name: /^Delegate 1\b/ }).getByLabel('Email address').fill('lee.cliff@leighcliffs.example');
    await press(leigh, button(lp, 'Book'));
    const leighBooking = bookingID(lp);
    assert.match(await banner(lp), /Your booking BK-\d+ is confirmed\./);
    assert.equal(await bookingStatus(lp), 'Confirmed');
    await a11y(leigh, 'Leigh Cliffs booking');

    // Chelmer Valley joins the waiting list.
    const cp = chelmer.page;
    await press(chelmer, headerLink(cp, 'Programme'));
    assert.equal(await sessionLink(cp, sid).locator('xpath=ancestor::tr').locator('td').nth(2).innerText(), 'Full');
    await press(chelmer, sessionLink(cp, sid));
    assert.match(await summaryValue(cp, 'Places left'), /^0 of 1$/);
    assert.equal(await button(cp, 'Join the waiting list').count(), 1, 'the full event does not offer "Join the waiting list"');
    assert.equal(await button(cp, 'Book').count(), 0);
    assert.equal(await cp.getByLabel('The session is full: put us on the waiting list').isChecked(), true);
    await a11y(chelmer, 'full event (Chelmer Valley)');
    await cp.getByRole('group', { name: /^Delegate 1\b/ }).getByLabel('Full name').fill(waitlist.name);
    await cp.getByRole('group', { name: /^Delegate 1\b/ }).getByLabel('Email address').fill(waitlist.email);
    await press(chelmer, button(cp, 'Join the waiting list'));
    waitlist.booking = bookingID(cp);
    assert.match(await banner(cp), /booking BK-\d+ is on the waiting list/);
    assert.equal(await bookingStatus(cp), 'On the waiting list');
    await a11y(chelmer, 'waiting-list booking');

    // The admin sees the waiting list.
    await ap.reload({ waitUntil: 'load' });
    assert.equal(await ap.locator(`main ol a[href="/bookings/${waitlist.booking}"]`).count(), 1, 'the admin page does not list the waiting booking');

    // Leigh Cliffs cancels: the place is offered to Chelmer Valley.
    await go(leigh, `/bookings/${leighBooking}`);
    await press(leigh, button(lp, 'Cancel booking'));
    assert.match(await banner(lp), /The booking has been cancelled\./);
    assert.equal(await bookingStatus(lp), 'Cancelled');
    await a11y(leigh, 'cancelled booking');

    await cp.reload({ waitUntil: 'load' });
    assert.equal(await bookingStatus(cp), 'Place offered');
    const offer = cp.locator('.govuk-notification-banner', { has: cp.locator('h2', { hasText: 'A place has come up' }) });
    assert.equal(await offer.count(), 1, `no "A place has come up" on the waiting booking: ${await mainText(cp)}`);
    await screenshot(cp, 'booking-offer');
    await a11y(chelmer, 'place offered');
    // What taking the place costs is shown beside the button that takes it.
    const toConfirm = (await cp.locator('main #to-confirm').innerText()).replace(/\s+/g, ' ');
    assert.match(toConfirm, /^When you take the place, the booking is confirmed and your school will be charged £[\d,]+\.\d\d/, `the offer: ${toConfirm}`);
    const offerPrice = pence(toConfirm);
    assert.equal(await cp.getByLabel('Purchase order number (optional)').count(), 1, 'no PO field on the offer');
    await press(chelmer, button(cp, 'Take the place'));
    assert.equal(bookingID(cp), waitlist.booking);
    assert.match(await banner(cp), /You have taken the place: the booking is confirmed\./);
    assert.equal(await bookingStatus(cp), 'Confirmed');
    assert.equal(pence(await summaryValue(cp, 'Price')), offerPrice, 'the booking is not priced as the offer said');
    await a11y(chelmer, 'offer taken');

    assert.deepEqual(admin.problems, []);
    assert.deepEqual(leigh.problems, []);
    assert.deepEqual(chelmer.problems, []);
  } finally {
    await admin.context.close();
    await leigh.context.close();
    await chelmer.context.close();
  }
});

serverTest('the register marks a delegate attended and the school downloads the certificate', async () => {
  assert.ok(waitlist.booking, 'the waiting-list test did not leave a confirmed booking');
  // A register is taken once the session has started: the server goes on
  // from the same database on a clock two hours after the event's start.
  const res = await fetch(`${server.baseURL}/api/v1/sessions/${waitlist.sid}`);
  assert.equal(res.status, 200, `GET /api/v1/sessions/${waitlist.sid} answered ${res.status}`);
  const startsAt = new Date((await res.json()).starts_at);
  assert.ok(!Number.isNaN(startsAt.getTime()), 'the session has no start');
  const dir = server.dir;
  await server.stop({ keep: true });
  const later = new Date(startsAt.getTime() + 2 * 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
  server = await startTraded({ demo: true, dir, args: ['--demo-clock', later] });
  const admin = await as('admin@traded.example');
  const chelmer = await as('manager@chelmervalley.example');
  try {
    const ap = admin.page;
    await go(admin, `/admin/sessions/${waitlist.sid}`);
    const group = ap.getByRole('group', { name: `Attendance of ${waitlist.name}` });
    assert.equal(await group.count(), 1, `no attendance for ${waitlist.name} in the register`);
    await group.getByLabel('Attended', { exact: true }).check();
    await press(admin, button(ap, 'Save register'));
    assert.match(await banner(ap), /The register has been saved \(1 delegates?\)\./);
    assert.equal(await ap.getByRole('group', { name: `Attendance of ${waitlist.name}` }).getByLabel('Attended', { exact: true }).isChecked(), true);
    await a11y(admin, 'register saved');

    const cp = chelmer.page;
    await go(chelmer, `/bookings/${waitlist.booking}`);
    const row = delegateRow(cp, waitlist.name);
    assert.equal((await row.locator('td').nth(2).innerText()).trim(), 'Attended');
    const cert = row.getByRole('link', { name: `Certificate of attendance for ${waitlist.name} (PDF)` });
    assert.equal(await cert.count(), 1, 'no certificate link');
    await screenshot(cp, 'booking-attended');
    await a11y(chelmer, 'booking with a certificate');

    const href = await cert.getAttribute('href');
    const res = await cp.request.get(server.baseURL + href);
    assert.equal(res.status(), 200, `GET ${href} answered ${res.status()}`);
    assert.equal(res.headers()['content-type'], 'application/pdf');
    const file = path.join(work, 'certificate.pdf');
    writeFileSync(file, await res.body());
    const text = execFileSync('pdftotext', ['-layout', '-enc', 'UTF-8', file, '-'], { encoding: 'utf8' });
    assert.match(text, /Certificate of attendance/i, `the certificate:\n${text}`);
    assert.match(text, new RegExp(waitlist.name), `the certificate does not name ${waitlist.name}:\n${text}`);
    assert.match(text, /Chelmer Valley/, `the certificate does not name the school:\n${text}`);
    assert.ok(!text.includes('Â'), `the certificate has mojibake (Â):\n${text}`);

    assert.deepEqual(admin.problems, []);
    assert.deepEqual(chelmer.problems, []);
  } finally {
    await admin.context.close();
    await chelmer.context.close();
  }
});
