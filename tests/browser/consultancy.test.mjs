// School-improvement consultancy in a real browser: the Basildon Meadows
// Academy business manager asks for "Quality assurance of governance", the
// LA admin quotes a day of Ada Adviser's time, the manager sees the academy
// rate with VAT and accepts, the admin's planner shows Ada booked, and the
// admin cancels the visit.
//
// Logging a delivered visit needs the visit's day to have come, and
// invoicing needs the visits delivered or cancelled late: that flow runs in
// consultancy-invoice.test.mjs on a server started with --demo-clock, and
// the late-cancellation charge in the Go test web/consultancy_test.go, which
// moves a fixed clock. Here the visit, weeks ahead, is cancelled free.
//
// axe (WCAG 2.2 AA) checks every page visited; nothing may answer 5xx and
// no page script may fail.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTraded, launchBrowser, checkA11y, screenshot, demoPassword, clockNow } from './harness.mjs';
import {
  serverTest as flowTest, signedIn, goTo, press, button, headerLink, h1Of, mainText, banner, statusTag as requestStatus,
  summaryValue, visitRows, longDay,
} from './flow.mjs';

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

const serverTest = (name, fn) => flowTest(name, fn, () => server);
const as = (email) => signedIn(browser, server, email, password);
const go = (user, p) => goTo(server, user, p);

// visitDay is the first Wednesday at least three weeks ahead that is not a
// bank holiday, as YYYY-MM-DD. In England only Christmas Day, Boxing Day and
// New Year's Day can fall on a Wednesday (the others are Mondays and Good
// Friday), so those are the dates to step over. The day must fall in the
// current academic year, whose rates the demo sets: true from September to
// early August.
function visitDay() {
  const d = clockNow();
  d.setUTCHours(12, 0, 0, 0);
  d.setUTCDate(d.getUTCDate() + 21);
  for (;;) {
    const md = d.toISOString().slice(5, 10);
    if (d.getUTCDay() === 3 && !['12-25', '12-26', '01-01'].includes(md)) return d.toISOString().slice(0, 10);
    d.setUTCDate(d.getUTCDate() + 1);
  }
}

// ---------------------------------------------------------------------------

serverTest('an academy asks for governance review, the LA quotes a day, the school accepts, and the visit is cancelled', async () => {
  const manager = await as('manager@basildonmeadows.example');
  const admin = await as('admin@traded.example');
  const mp = manager.page;
  const ap = admin.page;
  const day = visitDay();
  try {
    // The school asks, from the header's Consultancy page.
    await press(manager, headerLink(mp, 'Consultancy'));
    assert.equal(new URL(mp.url()).pathname, '/consultancy');
    assert.equal(await h1Of(mp), 'School-improvement support');
    const rates = mp.locator('main table tbody tr', { hasText: 'Quality assurance of governance' });
    assert.equal(await rates.count(), 1, 'the services table has no "Quality assurance of governance" row');
    const cells = (await rates.locator('td').allInnerTexts()).map((s) => s.trim());
    assert.deepEqual(cells.slice(2), ['£525.00', '£285.00'], `the academy's governance rates: ${JSON.stringify(cells)}`);
    await checkA11y(mp, 'consultancy (academy manager)');

    await mp.getByLabel('Service', { exact: true }).selectOption({ label: 'Quality assurance of governance' });
    await mp.getByLabel('What does your school need?').fill('A review of how our new governing board works, before Ofsted.');
    await mp.getByLabel('Preferred dates or term (optional)').fill('Any Wednesday this term');
    await mp.getByLabel('Purchase order number (optional)').fill('BMA-PO-7781');
    let res = await press(manager, button(mp, 'Send request'));
    assert.equal(res.status(), 200, `after "Send request": ${res.status()} at ${mp.url()}`);
    const m = /^Success Your request (CR-\d{6}) has gone to the LA, who will send you a quote\.$/.exec(await banner(mp));
    assert.ok(m, `after "Send request" the banner is ${JSON.stringify(await banner(mp))}`);
    const ref = m[1];
    const path = new URL(mp.url()).pathname;
    assert.match(path, /^\/consultancy\/\d+$/);
    assert.equal(await h1Of(mp), 'Quality assurance of governance');
    assert.equal(await mp.locator('main .govuk-caption-l').innerText(), `${ref} · Basildon Meadows Academy`);
    assert.equal(await requestStatus(mp), 'Waiting for a quote');
    assert.equal(await summaryValue(mp, 'Purchase order'), 'BMA-PO-7781');
    await screenshot(mp, 'consultancy-requested');
    await checkA11y(mp, 'consultancy request (manager)');

    // The admin finds it in the list and quotes a day on site.
    await press(admin, headerLink(ap, 'Consultancy'));
    assert.equal(await h1Of(ap), 'Consultancy requests and engagements');
    await checkA11y(ap, 'consultancy list (admin)');
    const listed = ap.locator('main tbody tr', { has: ap.locator(`a[href="${path}"]`) });
    assert.equal(await listed.count(), 1, `the admin's list does not link ${path}`);
    assert.match(await listed.innerText(), /Basildon Meadows Academy/);
    assert.match(await listed.innerText(), /Waiting for a quote/);
    await press(admin, listed.getByRole('link', { name: ref }));
    assert.equal(new URL(ap.url()).pathname, path);
    await checkA11y(ap, 'consultancy request (admin, to quote)');

    await ap.getByLabel('Adviser', { exact: true }).selectOption({ label: 'Ada Adviser' });
    const visit1 = ap.getByRole('group', { name: 'Visit 1', exact: true });
    await visit1.getByLabel('Date', { exact: true }).fill(day);
    await visit1.getByLabel('Part of the day').selectOption({ label: 'Whole day' });
    await visit1.getByLabel('Where').selectOption({ label: 'At the school' });
    await ap.getByLabel('Invoicing', { exact: true }).selectOption({ label: 'On completion' });
    res = await press(admin, button(ap, 'Send quote'));
    assert.equal(res.status(), 200, `after "Send quote": ${res.status()} at ${ap.url()}: ${await mainText(ap)}`);
    assert.equal(new URL(ap.url()).pathname, path);
    assert.match(await banner(ap), /The quote has been sent to the school\./);
    assert.equal(await requestStatus(ap), 'Quote to decide');
    assert.deepEqual(await visitRows(ap), [[`${longDay(day)} Whole day`, 'At the school Ada Adviser', 'Proposed']]);
    await checkA11y(ap, 'consultancy request (admin, quoted)');

    // The school sees the academy's day rate with VAT, and accepts.
    await mp.reload({ waitUntil: 'load' });
    assert.equal(await requestStatus(mp), 'Quote to decide');
    assert.equal(await summaryValue(mp, 'Adviser'), 'Ada Adviser');
    assert.equal(await summaryValue(mp, 'Fee for'), '£525.00 plus VAT of £105.00');
    assert.equal(await summaryValue(mp, 'Invoicing'), 'When the work is complete');
    assert.deepEqual(await visitRows(mp), [[`${longDay(day)} Whole day`, 'At the school Ada Adviser', 'Proposed']]);
    await screenshot(mp, 'consultancy-quoted');
    await checkA11y(mp, 'consultancy quote (manager)');
    res = await press(manager, button(mp, 'Accept the quote'));
    assert.equal(res.status(), 200, `after "Accept the quote": ${res.status()} at ${mp.url()}`);
    assert.equal(new URL(mp.url()).pathname, path);
    assert.match(await banner(mp), /You have accepted the quote: the visit days are booked\./);
    assert.equal(await requestStatus(mp), 'Engaged');
    assert.deepEqual(await visitRows(mp), [[`${longDay(day)} Whole day`, 'At the school Ada Adviser', 'Planned']]);
    assert.equal(await button(mp, 'Accept the quote').count(), 0, 'the engaged page still offers "Accept the quote"');
    await checkA11y(mp, 'consultancy engaged (manager)');

    // The planner for that week shows Ada booked on the day.
    await press(admin, ap.locator('header nav').getByRole('link', { name: 'Consultancy', exact: true }));
    await press(admin, ap.locator('main').getByRole('link', { name: "Advisers' planner", exact: true }));
    assert.equal(await h1Of(ap), "Advisers' planner");
    await checkA11y(ap, 'planner (this week)');
    await go(admin, `/admin/planner?week=${day}`);
    const heads = (await ap.locator('main thead th').allInnerTexts()).map((s) => s.trim());
    const [y, mo, d] = day.split('-').map(Number);
    const col = heads.findIndex((h) => h === `Wed ${d} ${longDay(day).split(' ')[1].slice(0, 3)}`);
    assert.ok(col > 0, `no column for ${day} in the planner: ${JSON.stringify(heads)} (${y}-${mo})`);
    const ada = ap.locator('main tbody tr', { has: ap.locator('th', { hasText: /^Ada Adviser$/ }) });
    assert.equal(await ada.count(), 1, 'the planner has no row for Ada Adviser');
    const adaCells = (await ada.locator('td').allInnerTexts()).map((s) => s.trim());
    assert.equal(adaCells[col - 1], `All day ${ref}`, `Ada's week: ${JSON.stringify(adaCells)}`);
    await screenshot(ap, 'consultancy-planner');
    await checkA11y(ap, 'planner (the visit week)');

    // The admin cancels the visit: weeks ahead, it is free.
    await go(admin, path);
    assert.equal(await requestStatus(ap), 'Engaged');
    const cancel = button(ap, `Cancel visit on ${longDay(day)}`);
    assert.equal(await cancel.count(), 1, `no "Cancel visit on ${longDay(day)}" button`);
    assert.match(await mainText(ap), /Visits/);
    await checkA11y(ap, 'consultancy engaged (admin)');
    res = await press(admin, cancel);
    assert.equal(res.status(), 200, `after "Cancel visit": ${res.status()} at ${ap.url()}`);
    assert.equal(new URL(ap.url()).pathname, path);
    assert.match(await banner(ap), /The visit has been cancelled\./);
    await checkA11y(ap, 'consultancy visit cancelled (admin)');

    const api = await (await ap.request.get(`${server.baseURL}/api/v1/consultancy/requests/${path.split('/').pop()}`)).json();
    assert.deepEqual(
      api.visits.map((v) => [v.date, v.status, v.charged_half_days]),
      [[day, 'cancelled', 0]],
      `the visits after cancelling: ${JSON.stringify(api.visits)}`,
    );
    assert.equal(await cancel.count(), 0, 'the cancelled visit can still be cancelled');
    // The engagement's page keeps the record of the cancelled visit. (Soft
    // checks: the rest of the flow still runs when they fail.)
    await screenshot(ap, 'consultancy-cancelled');
    const failed = [];
    const soft = async (fn) => {
      try {
        await fn();
      } catch (err) {
        if (!(err instanceof assert.AssertionError)) throw err;
        failed.push(err.message);
      }
    };
    await soft(async () => assert.deepEqual(
      await visitRows(ap),
      [[`${longDay(day)} Whole day`, 'At the school Ada Adviser', 'Cancelled']],
      'the visit cancelled free is not shown as Cancelled on the request page',
    ));
    await mp.reload({ waitUntil: 'load' });
    await checkA11y(mp, 'consultancy visit cancelled (manager)');
    await soft(async () => assert.deepEqual(
      await visitRows(mp),
      [[`${longDay(day)} Whole day`, 'At the school Ada Adviser', 'Cancelled']],
      "the school's page does not show the cancelled visit as Cancelled",
    ));

    // The planner has the day free again.
    await go(admin, `/admin/planner?week=${day}`);
    const after = (await ada.locator('td').allInnerTexts()).map((s) => s.trim());
    assert.equal(after[col - 1], 'Free', `Ada's week after the cancellation: ${JSON.stringify(after)}`);
    await checkA11y(ap, 'planner after the cancellation');

    assert.deepEqual(manager.problems, []);
    assert.deepEqual(admin.problems, []);
    assert.deepEqual(failed, []);
  } finally {
    await manager.context.close();
    await admin.context.close();
  }
});
