// Billing in a real browser: a school manager buys the subscription and gets
// the invoice (page and PDF); an academy sees its part-paid invoice and its
// statement but not another school's invoice; LA finance records a payment,
// issues a credit note, reads aged debt and payments, makes and posts a
// journal batch and imports a bank statement. Every page passes axe (WCAG
// 2.2 AA), nothing answers 5xx and no page script fails.
//
// The tests share one demo server and run in order: the finance test sees
// the invoice the first test bought.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTraded, launchBrowser, checkA11y, screenshot, signIn, demoPassword, clockNow } from './harness.mjs';
import { requestFault } from './flow.mjs';

let server;
let browser;
let password;
let work; // temporary directory for downloads and the bank statement

before(async () => {
  server = await startTraded({ demo: true });
  browser = await launchBrowser();
  password = demoPassword(server);
  work = mkdtempSync(path.join(tmpdir(), 'traded-billing-'));
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
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

// session opens a fresh context (no cookies), signs email in through the real
// form and returns its page and problems(): the page's script errors, 5xx
// answers and failed same-origin sub-requests so far.
async function session(email) {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`script error: ${err.message}`));
  page.on('response', (res) => {
    if (!res.url().startsWith(server.baseURL)) return;
    if (res.status() >= 500) problems.push(`${res.status()} ${res.request().method()} ${res.url()}`);
    else if (res.request().resourceType() !== 'document' && res.status() >= 400) problems.push(`${res.status()} ${res.url()}`);
  });
  // A link to an attachment (the journal CSV) is a navigation the browser
  // turns into a download and aborts: that is not a failure.
  const downloads = new Set();
  const failed = [];
  page.on('download', (dl) => downloads.add(dl.url()));
  page.on('requestfailed', (req) => {
    const fault = requestFault(req, server.baseURL);
    if (fault) failed.push({ url: req.url(), error: req.failure()?.errorText, fault });
  });
  const allProblems = () => [
    ...problems,
    ...failed.filter((f) => !(f.error === 'net::ERR_ABORTED' && downloads.has(f.url))).map((f) => f.fault),
  ];
  const res = await signIn(page, server.baseURL, email, password);
  assert.equal(res?.status(), 200, `${email}: sign-in answered ${res?.status()} at ${page.url()}`);
  assert.equal(new URL(page.url()).pathname, '/', `${email}: after sign-in at ${page.url()}`);
  return { context, page, problems: allProblems };
}

// open GETs a path, asserts the status, one <h1> and axe, and returns the
// main element's text.
async function open(page, p, { status = 200, label = p } = {}) {
  const res = await page.goto(server.baseURL + p, { waitUntil: 'load' });
  assert.equal(res.status(), status, `GET ${p} answered ${res.status()}, want ${status}`);
  assert.equal(await page.locator('h1').count(), 1, `GET ${p}: want one <h1>`);
  await checkA11y(page, label);
  return mainText(page);
}

const mainText = async (page) => (await page.locator('main').innerText()).replace(/[ \t]+/g, ' ');
const h1Of = async (page) => (await page.locator('h1').innerText()).trim();

// submit clicks a control and waits for the page that follows; returns its response.
async function submit(page, locator) {
  const [res] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), locator.click()]);
  return res;
}

// banner is the text of the success banner (asserting there is one).
async function banner(page) {
  const b = page.locator('.govuk-notification-banner--success');
  assert.equal(await b.count(), 1, `no success banner on ${page.url()}`);
  return (await b.innerText()).trim();
}

// summaryValue is the <dd> of the summary-list row whose key is key.
async function summaryValue(page, key) {
  const row = page.locator('.govuk-summary-list__row').filter({
    has: page.locator('dt', { hasText: new RegExp(`^\\s*${key}\\s*$`) }),
  });
  assert.equal(await row.count(), 1, `want one summary row "${key}" on ${page.url()}`);
  return (await row.locator('dd').innerText()).trim();
}

// tableRows returns each body row's cells (th and td) as trimmed text, of the
// table whose caption matches caption.
async function tableRows(page, caption) {
  const table = page.locator('table').filter({ has: page.locator('caption', { hasText: caption }) });
  assert.equal(await table.count(), 1, `want one table captioned ${caption} on ${page.url()}`);
  return table.locator('tbody tr').evaluateAll((trs) =>
    trs.map((tr) => [...tr.querySelectorAll('th, td')].map((c) => c.innerText.replace(/\s+/g, ' ').trim())),
  );
}

// pence parses "£1,234.56" (or "-£1.00") into pence.
function pence(s) {
  const m = /(-?)£([\d,]+)\.(\d\d)/.exec(s);
  assert.ok(m, `no amount in ${JSON.stringify(s)}`);
  return (m[1] ? -1 : 1) * (Number(m[2].replace(/,/g, '')) * 100 + Number(m[3]));
}

const pounds = (p) =>
  `£${Math.floor(p / 100).toLocaleString('en-GB')}.${String(p % 100).padStart(2, '0')}`;

// download clicks locator, saves what the browser downloads and returns its path.
async function download(page, locator, name) {
  const [dl] = await Promise.all([page.waitForEvent('download'), locator.click()]);
  assert.equal(await dl.failure(), null, `download of ${name} failed`);
  const file = path.join(work, name);
  await dl.saveAs(file);
  return { file, suggested: dl.suggestedFilename() };
}

// pdfText is the text of a PDF file by pdftotext -layout (poppler-utils).
function pdfText(file) {
  assert.equal(readFileSync(file).subarray(0, 5).toString('latin1'), '%PDF-', `${file} is not a PDF`);
  return execFileSync('pdftotext', ['-layout', '-enc', 'UTF-8', file, '-'], { encoding: 'utf8' });
}

// London's today on the servers' clock, and its academic year (September to August) as "2026/27".
function londonToday() {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit' })
      .formatToParts(clockNow())
      .map((p) => [p.type, p.value]),
  );
  const long = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', year: 'numeric', month: 'long', day: 'numeric' }).format(clockNow());
  return { year: Number(parts.year), month: Number(parts.month), iso: `${parts.year}-${parts.month}-${parts.day}`, long };
}
function academicYear() {
  const { year, month } = londonToday();
  const start = month >= 9 ? year : year - 1;
  return `${start}/${String((start + 1) % 100).padStart(2, '0')}`;
}

// The 2021/22 outside-Essex subscription of £495.00 rolled forward by 3.5%:
// 495.00 × 1.035 = 512.325, which rounds to £512.33.
const externalPrice = '£512.33';

serverTest('a school manager buys the subscription and gets the invoice and its PDF', async () => {
  const { context, page, problems } = await session('manager@leighcliffs.example');
  try {
    const year = academicYear();
    assert.equal(await h1Of(page), 'Leigh Cliffs Primary School');
    await checkA11y(page, 'Leigh Cliffs home before buying');
    let text = await mainText(page);
    assert.match(text, new RegExp(`Primary Statutory Assessment subscription ${year.replace('/', '\\/')}`));
    assert.equal(await page.locator('.govuk-tag', { hasText: /^Not subscribed$/ }).count(), 1, 'home does not say "Not subscribed"');
    const buy = page.getByRole('link', { name: `Buy the subscription for ${year}`, exact: true });
    assert.equal(await buy.count(), 1, `no "Buy the subscription for ${year}" button`);

    await submit(page, buy);
    assert.equal(new URL(page.url()).pathname, '/subscribe');
    assert.equal(await h1Of(page), 'Buy the Primary Statutory Assessment subscription');
    text = await mainText(page);
    assert.match(text, new RegExp(`${externalPrice} for ${year}, exempt from VAT`), 'the subscribe page does not show £512.33');
    await screenshot(page, 'billing-subscribe');
    await checkA11y(page, '/subscribe');

    const po = 'LC-PO-7781';
    await page.getByLabel(/^Purchase order number/).fill(po);
    const res = await submit(page, page.getByRole('button', { name: 'Buy and get the invoice' }));
    assert.equal(res.status(), 200, `after buying: ${res.status()} at ${page.url()}`);
    const m = /^\/invoices\/(TS-\d{6})$/.exec(new URL(page.url()).pathname);
    assert.ok(m, `after buying the browser is at ${page.url()}, want /invoices/TS-00000N`);
    const number = m[1];
    assert.ok(Number(number.slice(3)) >= 4, `the new invoice is ${number}, but TS-000001..3 are the demo's`);
    assert.match(await banner(page), new RegExp(`Your school now has the Primary Statutory Assessment subscription for ${year.replace('/', '\\/')}`));
    assert.equal(await h1Of(page), `Invoice ${number}`);
    assert.equal(await summaryValue(page, 'Purchase order'), po);
    assert.equal(await summaryValue(page, 'Total'), externalPrice);
    assert.equal(await summaryValue(page, 'Left to pay'), externalPrice);
    const lines = await tableRows(page, 'What this invoice is for');
    assert.equal(lines.length, 1, `invoice lines: ${JSON.stringify(lines)}`);
    assert.deepEqual(lines[0].slice(1), ['1', externalPrice, externalPrice, 'Exempt'], `invoice line: ${JSON.stringify(lines[0])}`);
    text = await mainText(page);
    assert.match(text, new RegExp(`Pay by BACS .*quoting ${number} as the reference`), 'no BACS instructions quoting the invoice number');
    await screenshot(page, 'billing-invoice-bought');
    await checkA11y(page, `invoice ${number} after buying`);

    const { file, suggested } = await download(page, page.getByRole('link', { name: 'Download the invoice (PDF)' }), `${number}.pdf`);
    assert.equal(suggested, `${number}.pdf`, 'the PDF download is named');
    const pdf = pdfText(file);
    assert.match(pdf, new RegExp(number), 'the PDF does not name the invoice number');
    assert.match(pdf, /Leigh Cliffs Primary School/, 'the PDF does not name the school');
    assert.match(pdf, /£512\.33/, 'the PDF does not show £512.33');
    assert.match(pdf, new RegExp(po), 'the PDF does not show the purchase order');
    assert.ok(!pdf.includes('Â'), `the PDF has mojibake (Â):\n${pdf}`);

    await open(page, '/', { label: 'Leigh Cliffs home after buying' });
    assert.equal(await page.locator('.govuk-tag', { hasText: /^Subscribed$/ }).count(), 1, 'home does not say "Subscribed"');
    assert.equal(await page.locator('.govuk-tag', { hasText: /^Not subscribed$/ }).count(), 0);
    const rows = await tableRows(page, "Your school's latest invoices");
    const row = rows.find((r) => r[0] === number);
    assert.ok(row, `${number} is not in the home page's invoices: ${JSON.stringify(rows)}`);
    assert.equal(row[2], externalPrice);
    assert.equal(row[3], 'Issued');
    assert.equal(await page.getByRole('link', { name: /^Buy the subscription/ }).count(), 0, 'buying again is offered on home');
    text = await open(page, '/subscribe', { label: '/subscribe after buying' });
    assert.match(text, new RegExp(`already has the subscription for ${year.replace('/', '\\/')}`));
    assert.equal(await page.getByRole('button', { name: 'Buy and get the invoice' }).count(), 0, '/subscribe still offers to buy');
    assert.deepEqual(problems(), [], 'script errors, 5xx answers or failed requests');
  } finally {
    await context.close();
  }
});

serverTest('an academy sees its part-paid invoice and statement, not another school’s invoice', async () => {
  const { context, page, problems } = await session('manager@basildonmeadows.example');
  try {
    assert.equal(await h1Of(page), 'Basildon Meadows Academy');
    await checkA11y(page, 'Basildon Meadows home');
    assert.equal(await page.locator('.govuk-tag', { hasText: /^Subscribed$/ }).count(), 1, 'home does not say "Subscribed"');
    assert.match(await mainText(page), /invoice TS-000002/);
    const home = await tableRows(page, "Your school's latest invoices");
    assert.deepEqual(home.map((r) => r[0]), ['TS-000002'], `home invoices: ${JSON.stringify(home)}`);
    assert.equal(home[0][3], 'Part paid');

    await submit(page, page.getByRole('link', { name: 'TS-000002', exact: true }).first());
    assert.equal(new URL(page.url()).pathname, '/invoices/TS-000002');
    await checkA11y(page, 'invoice TS-000002');
    assert.equal(await page.locator('main .govuk-tag', { hasText: /^Part paid$/ }).count(), 1, 'TS-000002 is not "Part paid"');
    const total = pence(await summaryValue(page, 'Total'));
    assert.equal(await summaryValue(page, 'Paid'), '£200.00');
    assert.equal(await summaryValue(page, 'Purchase order'), 'BMA-PO-2231');
    const balance = await summaryValue(page, 'Left to pay');
    assert.equal(pence(balance), total - 20000, `left to pay ${balance} with total ${pounds(total)} and £200.00 paid`);
    const payments = await tableRows(page, 'Payments received');
    assert.equal(payments.length, 1, `payments: ${JSON.stringify(payments)}`);
    assert.equal(payments[0][1], 'BACS');
    assert.equal(payments[0][3], '£200.00');
    // A manager cannot record payments or issue credit notes.
    assert.equal(await page.getByRole('button', { name: 'Record payment' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Issue credit note' }).count(), 0);

    await open(page, '/invoices');
    const list = await tableRows(page, /invoice/);
    assert.deepEqual(list.map((r) => r[0]), ['TS-000002'], `/invoices: ${JSON.stringify(list)}`);
    assert.equal(list[0].at(-2), balance);
    assert.equal(list[0].at(-1), 'Part paid');

    await open(page, '/statement');
    assert.equal(await h1Of(page), 'Statement: Basildon Meadows Academy');
    const st = await tableRows(page, 'Account');
    assert.ok(st.length >= 4, `statement rows: ${JSON.stringify(st)}`);
    assert.equal(st[0][2], 'Opening balance');
    assert.equal(st[0][5], '£0.00');
    const inv = st.find((r) => r[1] === 'TS-000002');
    assert.ok(inv, `no TS-000002 on the statement: ${JSON.stringify(st)}`);
    assert.equal(inv[3], pounds(total));
    const pay = st.find((r) => r[4] === '£200.00');
    assert.ok(pay, `no £200.00 payment on the statement: ${JSON.stringify(st)}`);
    assert.match(pay[2], /TS-000002/);
    const closing = st.at(-1);
    assert.equal(closing[0], 'Closing balance');
    assert.equal(closing.at(-1), balance, `closing balance: ${JSON.stringify(closing)}`);
    await screenshot(page, 'billing-statement');

    const text = await open(page, '/invoices/TS-000001', { status: 404, label: "another school's invoice" });
    assert.equal(await h1Of(page), 'Page not found');
    assert.ok(!text.includes('Chelmer Valley'), 'the 404 page names the other school');
    assert.deepEqual(problems(), [], 'script errors, 5xx answers or failed requests');
  } finally {
    await context.close();
  }
});

serverTest('finance records a payment, issues a credit note, runs the journal and imports a bank statement', async () => {
  const { context, page, problems } = await session('finance@traded.example');
  try {
    // Home: invoices by status and what is owed.
    assert.equal(await h1Of(page), 'Billing');
    await checkA11y(page, 'finance home');
    const counts = Object.fromEntries((await tableRows(page, 'Invoices by status')).map(([s, n]) => [s, Number(n)]));
    for (const s of ['Issued', 'Part paid', 'Paid', 'Credited', 'Overdue']) assert.ok(s in counts, `no "${s}" on finance home: ${JSON.stringify(counts)}`);
    assert.equal(counts['Part paid'], 1, `part paid: ${JSON.stringify(counts)}`);
    assert.ok(counts.Issued >= 2, `issued: ${JSON.stringify(counts)}`);
    const owedText = (await page.locator('h2', { hasText: 'Owed to the council' }).locator('xpath=following-sibling::p[1]').innerText()).trim();
    const owed = pence(owedText);

    // Every invoice: the counts add up and the balances make what is owed.
    await open(page, '/invoices');
    const all = await tableRows(page, /invoices?$/);
    const countSum = Object.values(counts).reduce((a, b) => a + b, 0);
    assert.equal(all.length, countSum, `/invoices lists ${all.length}, the status counts add to ${countSum}`);
    const balances = all.reduce((sum, r) => sum + pence(r.at(-2)), 0);
    assert.equal(owedText, pounds(balances), `home says ${owedText} is owed; the invoices' balances add to ${pounds(balances)}`);

    await open(page, '/invoices?status=part_paid');
    const partPaid = await tableRows(page, /invoice/);
    assert.deepEqual(partPaid.map((r) => r[0]), ['TS-000002'], `?status=part_paid: ${JSON.stringify(partPaid)}`);
    assert.equal(await page.getByLabel('Status').inputValue(), 'part_paid', 'the status filter is not kept');

    // TS-000003: a BACS payment of £100.00 through the form.
    await open(page, '/invoices/TS-000003');
    assert.match(await mainText(page), /Grays Riverside Academy/);
    const total3 = pence(await summaryValue(page, 'Total'));
    assert.equal(await summaryValue(page, 'Paid'), '£0.00');
    await page.getByLabel('Method').selectOption('bacs');
    await page.getByLabel('Amount in pounds', { exact: true }).fill('100.00');
    await page.getByLabel('Reference', { exact: true }).fill('GRAYS RIVERSIDE FIRST INSTALMENT');
    let res = await submit(page, page.getByRole('button', { name: 'Record payment' }));
    assert.equal(res.status(), 200);
    assert.equal(new URL(page.url()).pathname, '/invoices/TS-000003');
    assert.match(await banner(page), /The payment of £100\.00 has been recorded/);
    assert.equal(await page.locator('main .govuk-tag', { hasText: /^Part paid$/ }).count(), 1, 'TS-000003 is not "Part paid" after £100.00');
    assert.equal(await summaryValue(page, 'Paid'), '£100.00');
    assert.equal(await summaryValue(page, 'Left to pay'), pounds(total3 - 10000));
    const pays = await tableRows(page, 'Payments received');
    assert.deepEqual(pays.map((r) => [r[1], r[2], r[3]]), [['BACS', 'GRAYS RIVERSIDE FIRST INSTALMENT', '£100.00']]);
    // Pages show dates as people write them: "22 November 2026".
    assert.equal(pays[0][0], londonToday().long, 'an empty "Date received" is not today');
    await checkA11y(page, 'TS-000003 after a payment');

    // A bad amount: the error summary links to the amount, the input is kept.
    await page.getByLabel('Amount in pounds', { exact: true }).fill('abc');
    await page.getByLabel('Reference', { exact: true }).fill('KEEP ME');
    res = await submit(page, page.getByRole('button', { name: 'Record payment' }));
    assert.ok(res.status() >= 400 && res.status() < 500, `"abc" answered ${res.status()}`);
    const summary = page.locator('.govuk-error-summary');
    assert.equal(await summary.count(), 1, 'no error summary for "abc"');
    const links = await summary.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert.deepEqual(links, ['#amount'], `error summary links: ${JSON.stringify(links)}`);
    assert.match(await page.title(), /^Error: /);
    assert.equal(await page.getByLabel('Amount in pounds', { exact: true }).inputValue(), 'abc', 'the amount was not kept');
    assert.equal(await page.getByLabel('Reference', { exact: true }).inputValue(), 'KEEP ME', 'the reference was not kept');
    assert.match((await page.locator('#amount').getAttribute('aria-describedby')) || '', /amount-error/);
    assert.equal(await summaryValue(page, 'Paid'), '£100.00', '"abc" changed what is paid');
    await screenshot(page, 'billing-payment-error');
    await checkA11y(page, 'TS-000003 payment error');
    await summary.locator('a').click();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'amount', 'the summary link did not focus the amount');

    // A credit note of £10.00.
    await page.goto(server.baseURL + '/invoices/TS-000003', { waitUntil: 'load' });
    await page.getByLabel('Reason', { exact: true }).fill('One training session cancelled');
    await page.getByLabel('Amount in pounds, including any VAT').fill('10.00');
    res = await submit(page, page.getByRole('button', { name: 'Issue credit note' }));
    assert.equal(res.status(), 200);
    assert.match(await banner(page), /Credit note CN-000001 for £10\.00 has been issued/);
    assert.equal(await summaryValue(page, 'Credited'), '£10.00');
    const balance3 = total3 - 10000 - 1000;
    assert.equal(await summaryValue(page, 'Left to pay'), pounds(balance3));
    const cns = await tableRows(page, 'Credit notes against this invoice');
    assert.equal(cns.length, 1);
    assert.match(cns[0][0], /^CN-000001/);
    assert.equal(cns[0][2], 'One training session cancelled');
    assert.equal(cns[0][3], '£10.00');
    await screenshot(page, 'billing-invoice-finance');
    await checkA11y(page, 'TS-000003 after a credit note');
    const cnLink = page.getByRole('link', { name: 'CN-000001 (PDF)' });
    assert.equal(await cnLink.getAttribute('href'), '/credit-notes/CN-000001.pdf');
    // Like the invoice's, the link downloads the PDF; then fetch the same
    // bytes with the page's cookies to read them back.
    const [cnDownload] = await Promise.all([page.waitForEvent('download'), cnLink.click()]);
    assert.equal(cnDownload.suggestedFilename(), 'CN-000001.pdf');
    const cnRes = await page.request.get(server.baseURL + '/credit-notes/CN-000001.pdf');
    assert.equal(cnRes.status(), 200);
    assert.equal(cnRes.headers()['content-type'], 'application/pdf');
    const cnFile = path.join(work, 'CN-000001.pdf');
    writeFileSync(cnFile, await cnRes.body());
    const cnText = pdfText(cnFile);
    assert.match(cnText, /Credit note/i);
    assert.match(cnText, /CN-000001/);
    assert.match(cnText, /TS-000003/);
    assert.match(cnText, /£10\.00/);
    assert.ok(!cnText.includes('Â'), `the credit note PDF has mojibake (Â):\n${cnText}`);

    // Aged debt adds up to what is owed.
    await open(page, '/finance/aged-debt');
    const aged = await tableRows(page, 'Outstanding balances by age');
    const allTiers = aged.find((r) => r[0] === 'All tiers');
    assert.ok(allTiers, `no "All tiers" row: ${JSON.stringify(aged)}`);
    assert.equal(pence(allTiers.at(-1)), owed - 10000 - 1000, `aged debt total ${allTiers.at(-1)}, want ${pounds(owed - 11000)}`);

    // Payments: the chart is an image with a name; this month's BACS.
    await open(page, '/finance/payments');
    const chart = page.locator('svg.traded-chart');
    assert.equal(await chart.getAttribute('role'), 'img');
    assert.equal(await page.getByRole('img', { name: /Payments received by month/ }).count(), 1, 'the chart has no accessible name');
    const { year, month } = londonToday();
    const thisMonth = `${year}-${String(month).padStart(2, '0')}`;
    const months = await tableRows(page, 'Payments by month and method');
    const now = months.find((r) => r[0] === thisMonth);
    assert.ok(now, `no ${thisMonth} row: ${JSON.stringify(months)}`);
    // The demo's £200.00 on TS-000002 and the £100.00 above.
    assert.equal(now[1], '£300.00', `${thisMonth} BACS: ${JSON.stringify(now)}`);
    await screenshot(page, 'billing-payments');

    // Journal: a batch of what maintained schools owe (TS-000001), its CSV, posted.
    await open(page, '/finance/journal');
    await page.goto(server.baseURL + '/invoices/TS-000001', { waitUntil: 'load' });
    const total1 = await summaryValue(page, 'Left to pay');
    await open(page, '/finance/journal');
    res = await submit(page, page.getByRole('button', { name: /^Make a batch/ }));
    assert.equal(res.status(), 200);
    assert.match(await banner(page), /Journal batch \d+ made: 1 invoices?, /);
    await checkA11y(page, 'journal after a batch');
    let batches = await tableRows(page, 'Batches');
    assert.equal(batches.length, 1, `batches: ${JSON.stringify(batches)}`);
    assert.equal(batches[0][2], '1');
    assert.equal(batches[0][3], total1, `batch total ${batches[0][3]}, TS-000001 owes ${total1}`);
    assert.match(batches[0][4], /^Not posted/);
    const batchID = batches[0][0];
    const { file: csvFile } = await download(page, page.getByRole('link', { name: `Download CSV of batch ${batchID}` }), 'journal.csv');
    const csv = readFileSync(csvFile, 'utf8');
    const [header, ...csvLines] = csv.trim().split(/\r?\n/);
    assert.match(header, /cost_centre,amount,invoice_number/, `journal CSV header: ${header}`);
    assert.ok(csvLines.some((l) => l.includes('TS-000001')), `journal CSV has no TS-000001:\n${csv}`);
    res = await submit(page, page.getByRole('button', { name: `Mark posted batch ${batchID}` }));
    assert.equal(res.status(), 200);
    assert.match(await banner(page), new RegExp(`Journal batch ${batchID} is posted`));
    batches = await tableRows(page, 'Batches');
    assert.match(batches[0][4], /^Posted/, `after "Mark posted": ${JSON.stringify(batches[0])}`);
    assert.equal(await page.getByRole('button', { name: /^Mark posted/ }).count(), 0);
    await checkA11y(page, 'journal after posting');
    await open(page, '/invoices/TS-000001');
    assert.equal(await page.locator('main .govuk-tag', { hasText: /^Paid$/ }).count(), 1, 'TS-000001 is not Paid after the journal is posted');

    // Bank statement: one line pays TS-000003 exactly, one names nothing, one is a debit.
    await open(page, '/finance/bank');
    const statement = path.join(work, 'statement.csv');
    const amount = (balance3 / 100).toFixed(2);
    const today = londonToday().iso;
    writeFileSync(
      statement,
      ['Date,Description,Amount', `${today},GRAYS RIVERSIDE TS-000003,${amount}`, `${today},SCHOOL FUND TRANSFER,45.00`, `${today},BANK CHARGES,-12.50`, ''].join('\n'),
    );
    await page.getByLabel('Bank statement (CSV)').setInputFiles(statement);
    res = await submit(page, page.getByRole('button', { name: 'Import statement' }));
    assert.equal(res.status(), 200);
    assert.match(await banner(page), /Imported statement\.csv: 1 matched, 1 to review/);
    const found = await tableRows(page, /What the import found/);
    assert.equal(found.length, 3, `import lines: ${JSON.stringify(found)}`);
    const matched = found.find((r) => r[2] === 'GRAYS RIVERSIDE TS-000003');
    assert.ok(matched, `import lines: ${JSON.stringify(found)}`);
    assert.match(matched[4], /^matched: TS-000003/, `the TS-000003 line: ${JSON.stringify(matched)}`);
    assert.equal(matched[3], pounds(balance3));
    const review = await tableRows(page, /to review/);
    assert.deepEqual(review.map((r) => r[1]), ['SCHOOL FUND TRANSFER'], `lines that need a person: ${JSON.stringify(review)}`);
    await screenshot(page, 'billing-bank');
    await checkA11y(page, 'bank after an import');
    await open(page, '/invoices/TS-000003');
    assert.equal(await page.locator('main .govuk-tag', { hasText: /^Paid$/ }).count(), 1, 'TS-000003 is not Paid after the bank import');
    assert.equal(await summaryValue(page, 'Left to pay'), '£0.00');

    assert.deepEqual(problems(), [], 'script errors, 5xx answers or failed requests');
  } finally {
    await context.close();
  }
});

// wrappedFigures lists the figures (numeric cells and the dates kept on one
// line) that a 1280px window breaks over more than one line, and whether the
// page scrolls sideways.
async function layoutProblems(page) {
  return page.evaluate(() => {
    const out = [];
    if (document.scrollingElement.scrollWidth > window.innerWidth) {
      out.push(`the page scrolls sideways: ${document.scrollingElement.scrollWidth}px in a ${window.innerWidth}px window`);
    }
    for (const cell of document.querySelectorAll('main td.govuk-table__cell--numeric, main td.traded-nowrap')) {
      const range = document.createRange();
      range.selectNodeContents(cell);
      const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
      if (tops.size > 1) out.push(`"${cell.innerText.trim()}" wraps over ${tops.size} lines`);
    }
    return out;
  });
}

// parseCSV is a small RFC 4180 reader, not the Go encoding/csv that wrote
// the file: quoted fields, doubled quotes, CRLF.
function parseCSV(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') row.push(field), (field = '');
    else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field), rows.push(row), (row = []), (field = ''), i++;
    } else field += ch;
  }
  if (field || row.length) row.push(field), rows.push(row);
  return rows;
}

serverTest('finance refunds a bank line to an account, reads the ledger at 1280px and exports a balanced journal', async () => {
  const { context, page, problems } = await session('finance@traded.example');
  try {
    await page.setViewportSize({ width: 1280, height: 800 });
    // A statement line whose description has a line break (a quoted CSV
    // field) and Welsh letters: it names no invoice, so it waits for a person.
    await open(page, '/finance/bank');
    const today = londonToday().iso;
    const statement = path.join(work, 'multiline.csv');
    writeFileSync(statement, ['Date,Description,Amount', `${today},"GRAYS RIVERSIDE\nYSGOL LLŶN OVERPAID",20.00`, ''].join('\r\n'));
    await page.getByLabel('Bank statement (CSV)').setInputFiles(statement);
    let res = await submit(page, page.getByRole('button', { name: 'Import statement' }));
    assert.equal(res.status(), 200);
    assert.match(await banner(page), /Imported multiline\.csv: 0 matched, 1 to review/);
    const reviewTable = page.locator('table').filter({ has: page.locator('caption', { hasText: /to review/ }) });
    const row = reviewTable.locator('tbody tr').filter({ hasText: 'YSGOL LLŶN OVERPAID' });
    assert.equal(await row.count(), 1, 'the two-line description is not one review line');
    await row.getByText('Refund it').click();
    await row.getByLabel('URN of the organisation it came from').fill('990008');
    await row.getByLabel('Why it is sent back').fill('Paid in error — Grays’ “school fund”');
    res = await submit(page, row.getByRole('button', { name: /^Refund by BACS/ }));
    assert.equal(res.status(), 200, `refund answered ${res.status()}`);
    await checkA11y(page, 'bank after a refund');

    // The account shows the receipt and its refund; axe at 1280px, no figure wraps.
    let text = await open(page, '/finance/accounts/990008', { label: 'Grays Riverside account' });
    assert.equal(await h1Of(page), 'Account: Grays Riverside Academy');
    assert.match(text, /GRAYS RIVERSIDE YSGOL LLŶN OVERPAID/, 'the receipt does not carry the bank description');
    const refunds = await tableRows(page, 'Credit paid back');
    assert.equal(refunds.length, 1, `refunds: ${JSON.stringify(refunds)}`);
    assert.equal(refunds[0][3], 'Paid in error — Grays’ “school fund”');
    assert.equal(refunds[0][4], '£20.00');
    assert.deepEqual(await layoutProblems(page), [], 'the account page at 1280px');
    await screenshot(page, 'billing-account');

    // The invoice list and aged debt fit a 1280px window.
    await open(page, '/invoices');
    assert.deepEqual(await layoutProblems(page), [], '/invoices at 1280px');
    await screenshot(page, 'billing-invoices-1280');
    await open(page, '/finance/aged-debt');
    assert.deepEqual(await layoutProblems(page), [], 'aged debt at 1280px');

    // Exports: this month's journal balances, line by line and in total.
    text = await open(page, '/finance/exports', { label: 'exports' });
    assert.match(text, /Box 1: VAT due on sales/);
    const { file } = await download(page, page.getByRole('link', { name: 'Download Ledger journal (CSV)' }), 'journal.csv');
    const raw = readFileSync(file, 'utf8');
    assert.ok(raw.startsWith('\ufeff'), 'the journal has no byte order mark for Excel');
    const [header, ...lines] = parseCSV(raw.slice(1));
    assert.deepEqual(header.slice(0, 9), ['journal_date', 'document_type', 'document', 'line', 'account', 'cost_centre', 'vat_code', 'debit', 'credit']);
    const col = (name) => header.indexOf(name);
    const sums = {};
    for (const l of lines) {
      const doc = `${l[col('document_type')]} ${l[col('document')]}`;
      sums[doc] = (sums[doc] || 0) + Math.round(Number(l[col('debit')]) * 100) - Math.round(Number(l[col('credit')]) * 100);
    }
    assert.ok(Object.keys(sums).length >= 3, `this month's journal has documents: ${JSON.stringify(sums)}`);
    for (const [doc, net] of Object.entries(sums)) assert.equal(net, 0, `${doc} does not balance`);
    const refundLine = lines.find((l) => l[col('document_type')] === 'refund');
    assert.ok(refundLine && refundLine[col('description')].includes('Paid in error'), 'the refund is not in the journal');

    await open(page, '/finance/ledger-codes', { label: 'ledger codes' });
    text = await open(page, '/finance/payments?tier=academy', { label: 'academies payments' });
    assert.match(text, /1 September/, 'the academies chart does not start in September');
    assert.deepEqual(problems(), [], 'script errors, 5xx answers or failed requests');
  } finally {
    await context.close();
  }
});
