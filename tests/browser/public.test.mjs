// Public pages of Traded in a real browser: the home page and the catalogue
// render, pass axe (WCAG 2.2 AA), show the published 2021/22 tariff, and use
// the council's typeface rather than GOV.UK's.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTraded, launchBrowser, checkA11y, screenshot } from './harness.mjs';
import { requestFault } from './flow.mjs';

let server;
let browser;

before(async () => {
  server = await startTraded({ demo: true });
  browser = await launchBrowser();
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

// visit opens path in a fresh context and returns the page and its response,
// with the page's uncaught script errors and failed same-origin requests.
async function visit(path) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const pageErrors = [];
  const badRequests = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('response', (res) => {
    if (res.url().startsWith(server.baseURL) && res.status() >= 400) {
      badRequests.push(`${res.status()} ${res.url()}`);
    }
  });
  page.on('requestfailed', (req) => {
    const fault = requestFault(req, server.baseURL);
    if (fault) badRequests.push(fault);
  });
  const response = await page.goto(server.baseURL + path, { waitUntil: 'load' });
  return { context, page, response, pageErrors, badRequests };
}

for (const [path, name] of [
  ['/', 'home'],
  ['/catalogue', 'catalogue'],
]) {
  serverTest(`GET ${path} renders, has one h1 and passes axe`, async () => {
    const { context, page, response, pageErrors, badRequests } = await visit(path);
    try {
      assert.equal(response.status(), 200, `GET ${path}: got ${response.status()}, want 200`);
      const h1s = await page.locator('h1').allInnerTexts();
      assert.equal(h1s.length, 1, `GET ${path}: got ${h1s.length} <h1> elements, want 1`);
      assert.ok(h1s[0].trim() !== '', `GET ${path}: the <h1> is empty`);
      await screenshot(page, name);
      await checkA11y(page, path);
      assert.deepEqual(badRequests, [], `GET ${path}: sub-requests failed`);
      assert.deepEqual(pageErrors, [], `GET ${path}: uncaught script errors`);
    } finally {
      await context.close();
    }
  });
}

serverTest('GET /catalogue shows the published 2021/22 prices', async () => {
  const { context, page } = await visit('/catalogue');
  try {
    // The catalogue opens on the current academic year, whose prices may be
    // uplifted; the seed tariff is 2021/22, reached as a person would, with
    // the year picker.
    const year = page.getByLabel('Academic year');
    if ((await year.count()) > 0 && !(await page.locator('h1').innerText()).includes('2021/22')) {
      await year.selectOption('2021/22');
      await Promise.all([
        page.waitForURL(/year=2021/),
        page.getByRole('button', { name: 'Show prices' }).click(),
      ]);
    }
    assert.match(await page.locator('h1').innerText(), /2021\/22/, `/catalogue: <h1> does not name 2021/22`);
    const text = await page.locator('body').innerText();
    // Annual PSA subscription by tier, the maintained one-session price, and
    // the moderation price for a subscriber's first member of staff.
    for (const price of ['£315.00', '£395.00', '£495.00', '£55.00', '£40.00']) {
      assert.ok(text.includes(price), `/catalogue (2021/22): ${price} not shown; page text:\n${text}`);
    }
    assert.ok(!text.includes('NaN'), '/catalogue: shows NaN');
    await screenshot(page, 'catalogue-2021-22');
    await checkA11y(page, '/catalogue (2021/22)');
  } finally {
    await context.close();
  }
});

serverTest('GET /healthz answers 200', async () => {
  const res = await fetch(`${server.baseURL}/healthz`);
  assert.equal(res.status, 200, `GET /healthz: got ${res.status}, want 200`);
});

serverTest('pages use Arial, never the GOV.UK typeface', async () => {
  for (const path of ['/', '/catalogue']) {
    const { context, page } = await visit(path);
    try {
      const css = await page.request.get(`${server.baseURL}/static/traded.css`);
      assert.equal(css.status(), 200, `GET /static/traded.css: got ${css.status()}, want 200`);

      const body = await page.evaluate(() => getComputedStyle(document.body).fontFamily);
      assert.ok(!/GDS Transport/i.test(body), `${path}: body font-family is ${body}`);

      // The stylesheet really applied: the heading takes the govuk-frontend
      // font stack, configured to Arial.
      const h1 = await page.evaluate(() => {
        const el = document.querySelector('h1');
        return el ? getComputedStyle(el).fontFamily : '(no <h1>)';
      });
      assert.match(h1, /arial/i, `${path}: <h1> font-family is ${h1}, want arial (is traded.css linked and the h1 a govuk-heading-*?)`);

      const offenders = await page.evaluate(() =>
        [...document.querySelectorAll('*')]
          .filter((el) => /GDS Transport/i.test(getComputedStyle(el).fontFamily))
          .map((el) => el.tagName.toLowerCase() + (el.className ? `.${el.className}` : ''))
          .slice(0, 10),
      );
      assert.deepEqual(offenders, [], `${path}: elements rendered in GDS Transport`);

      const faces = await page.evaluate(() => [...document.fonts].map((f) => f.family));
      assert.ok(!faces.some((f) => /GDS Transport/i.test(f)), `${path}: @font-face for GDS Transport loaded: ${faces}`);
    } finally {
      await context.close();
    }
  }
});
