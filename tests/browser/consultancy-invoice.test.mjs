// Consultancy through to the invoice in a real browser, on a server whose
// clock starts at 08:00 on Wednesday 13 January 2027 (--demo-clock): the
// Basildon Meadows Academy manager asks for "Quality assurance of
// governance", the LA admin quotes Ada Adviser for that day at the school,
// invoiced on completion; the manager accepts; Ada logs the day delivered;
// LA finance runs consultancy invoicing from the Billing home page; the
// academy's invoice is £525.00 plus £105.00 VAT, quoting its purchase order,
// and the engagement is Completed.
//
// consultancy.test.mjs runs on the real clock and covers quoting, the
// planner and a free cancellation; this file is the part that needs the
// visit's day to have come.
//
// axe (WCAG 2.2 AA) checks every page visited; nothing may answer 5xx and
// no page script may fail.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTraded, launchBrowser, checkA11y, screenshot, demoPassword } from './harness.mjs';
import {
  serverTest as flowTest, signedIn, goTo, press, button, headerLink, h1Of, mainText, banner, statusTag as requestStatus,
  summaryValue, tableRows, visitRows, longDay,
} from './flow.mjs';

let server;
let browser;
let password;

before(async () => {
  server = await startTraded({ demo: true, args: ['--demo-clock', '2027-01-13T08:00:00Z'] });
  browser = await launchBrowser();
  password = demoPassword(server);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const serverTest = (name, fn) => flowTest(name, fn, () => server);
const as = (email) => signedIn(browser, server, email, password);
const go = (user, p) => goTo(server, user, p);

const day = '2027-01-13';

serverTest('an engagement delivered on the day is invoiced on completion at the academy rate with VAT', async () => {
  const manager = await as('manager@basildonmeadows.example');
  const admin = await as('admin@traded.example');
  const adviser = await as('adviser@traded.example');
  const finance = await as('finance@traded.example');
  const mp = manager.page;
  const ap = admin.page;
  const vp = adviser.page;
  const fp = finance.page;
  try {
    // The school asks.
    await press(manager, headerLink(mp, 'Consultancy'));
    await mp.getByLabel('Service', { exact: true }).selectOption({ label: 'Quality assurance of governance' });
    await mp.getByLabel('What does your school need?').fill('A day reviewing our governing board, this week if possible.');
    await mp.getByLabel('Purchase order number (optional)').fill('BMA-PO-9012');
    let res = await press(manager, button(mp, 'Send request'));
    assert.equal(res.status(), 200, `after "Send request": ${res.status()} at ${mp.url()}`);
    const m = /Your request (CR-\d{6}) has gone to the LA/.exec(await banner(mp));
    assert.ok(m, `after "Send request" the banner is ${JSON.stringify(await banner(mp))}`);
    const ref = m[1];
    const path = new URL(mp.url()).pathname;
    assert.match(path, /^\/consultancy\/\d+$/);

    // The admin quotes today, a whole day at the school, invoiced on completion.
    await go(admin, path);
    await ap.getByLabel('Adviser', { exact: true }).selectOption({ label: 'Ada Adviser' });
    const visit1 = ap.getByRole('group', { name: 'Visit 1', exact: true });
    await visit1.getByLabel('Date', { exact: true }).fill(day);
    await visit1.getByLabel('Part of the day').selectOption({ label: 'Whole day' });
    await visit1.getByLabel('Where').selectOption({ label: 'At the school' });
    await ap.getByLabel('Invoicing', { exact: true }).selectOption({ label: 'On completion' });
    res = await press(admin, button(ap, 'Send quote'));
    assert.equal(res.status(), 200, `after "Send quote": ${res.status()} at ${ap.url()}: ${await mainText(ap)}`);
    assert.match(await banner(ap), /The quote has been sent to the school\./, await mainText(ap));

    // The school accepts.
    await mp.reload({ waitUntil: 'load' });
    assert.equal(await summaryValue(mp, 'Fee for'), '£525.00 plus VAT of £105.00');
    res = await press(manager, button(mp, 'Accept the quote'));
    assert.equal(res.status(), 200, `after "Accept the quote": ${res.status()} at ${mp.url()}`);
    assert.equal(await requestStatus(mp), 'Engaged');

    // Ada finds the engagement from her home page and logs the day.
    assert.equal(await h1Of(vp), 'Your consultancy work');
    await press(adviser, vp.locator('main').getByRole('link', { name: 'Your engagements, visit days and delivery log' }));
    await checkA11y(vp, 'consultancy list (adviser)');
    await press(adviser, vp.locator('main').getByRole('link', { name: ref }));
    assert.equal(new URL(vp.url()).pathname, path);
    await checkA11y(vp, 'consultancy engagement on the day (adviser)');
    await vp.getByLabel('Delivered', { exact: true }).selectOption({ label: 'A day' });
    await vp.getByLabel('What was done').fill('Reviewed minutes and met the chair; report to follow.');
    res = await press(adviser, button(vp, `Log visit on ${longDay(day)}`));
    assert.equal(res.status(), 200, `after "Log visit": ${res.status()} at ${vp.url()}`);
    assert.match(await banner(vp), /The visit has been logged\./);
    assert.deepEqual(await visitRows(vp), [[`${longDay(day)} Whole day`, 'At the school Ada Adviser', 'Delivered']]);
    await screenshot(vp, 'consultancy-delivered');
    await checkA11y(vp, 'consultancy visit logged (adviser)');

    // Finance runs consultancy invoicing from the Billing home page.
    assert.equal(await h1Of(fp), 'Billing');
    res = await press(finance, button(fp, 'Invoice consultancy now'));
    assert.equal(res.status(), 200, `after "Invoice consultancy now": ${res.status()} at ${fp.url()}`);
    assert.match(await banner(fp), /Consultancy invoicing: 1 invoice\(s\)\./);
    await checkA11y(fp, 'billing home after consultancy invoicing');
    // Running it again bills nothing twice.
    await press(finance, button(fp, 'Invoice consultancy now'));
    assert.match(await banner(fp), /Consultancy invoicing: 0 invoice\(s\)\./);

    // The school's engagement is completed and its new invoice is for the day.
    await mp.reload({ waitUntil: 'load' });
    assert.equal(await requestStatus(mp), 'Completed');
    await checkA11y(mp, 'consultancy completed (manager)');
    await go(manager, '/invoices');
    const list = await tableRows(mp, /invoices?$/);
    const fresh = list.filter((r) => r[0] !== 'TS-000002');
    assert.equal(fresh.length, 1, `the academy's invoices: ${JSON.stringify(list)}`);
    const number = fresh[0][0];
    await press(manager, mp.locator('main').getByRole('link', { name: number, exact: true }));
    assert.equal(new URL(mp.url()).pathname, `/invoices/${number}`);
    assert.equal(await summaryValue(mp, 'Purchase order'), 'BMA-PO-9012');
    assert.equal(await summaryValue(mp, 'Net'), '£525.00');
    assert.equal(await summaryValue(mp, 'VAT'), '£105.00');
    assert.equal(await summaryValue(mp, 'Total'), '£630.00');
    const lines = await tableRows(mp, 'What this invoice is for');
    assert.equal(lines.length, 1, `invoice lines: ${JSON.stringify(lines)}`);
    assert.match(lines[0][0], /Quality assurance of governance/, `invoice line: ${JSON.stringify(lines[0])}`);
    assert.match(lines[0].join(' '), /£525\.00/, `invoice line: ${JSON.stringify(lines[0])}`);
    await screenshot(mp, 'consultancy-invoice');
    await checkA11y(mp, `consultancy invoice ${number} (manager)`);

    for (const u of [manager, admin, adviser, finance]) assert.deepEqual(u.problems, [], u.who);
  } finally {
    for (const u of [manager, admin, adviser, finance]) await u.context.close();
  }
});
