// Helpers shared by the browser suites that walk a user through pages:
// signing in as a demo role, following links and buttons, and reading
// GOV.UK components back. They hold no state: each suite passes its own
// server and browser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signIn } from './harness.mjs';

// serverTest runs fn as a test and, when it fails, adds the recent output
// of server() to the error so the failure explains itself.
export function serverTest(name, fn, server) {
  test(name, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      const s = server();
      const tail = s ? s.logs().slice(-4000) : '(server not started)';
      err.message += `\n--- traded output (last 4 kB) ---\n${tail}`;
      throw err;
    }
  });
}

// requestFault describes a failed request to baseURL as a problem, or
// returns '' when it is not one: Chromium cancels the page's icon fetch
// (net::ERR_ABORTED) when a form is sent before the icon has arrived, which
// says nothing about Traded.
export function requestFault(req, baseURL) {
  if (!req.url().startsWith(baseURL)) return '';
  const error = req.failure()?.errorText;
  if (error === 'net::ERR_ABORTED' && new URL(req.url()).pathname === '/static/favicon.svg') return '';
  return `failed ${req.url()}: ${error}`;
}

// watch collects a page's script errors, 5xx answers and failed sub-requests
// to baseURL into problems.
export function watch(page, problems, baseURL) {
  page.on('pageerror', (err) => problems.push(`script error: ${err.message}`));
  page.on('response', (res) => {
    if (!res.url().startsWith(baseURL)) return;
    if (res.status() >= 500) problems.push(`${res.status()} ${res.request().method()} ${res.url()}`);
    else if (res.request().resourceType() !== 'document' && res.status() >= 400) problems.push(`${res.status()} ${res.url()}`);
  });
  page.on('requestfailed', (req) => {
    const fault = requestFault(req, baseURL);
    if (fault) problems.push(fault);
  });
}

// signedIn opens a fresh context (with contextOptions) on browser and signs
// email in through the real form. It returns { who, context, page, problems }.
export async function signedIn(browser, server, email, password, contextOptions = {}) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  const problems = [];
  watch(page, problems, server.baseURL);
  const res = await signIn(page, server.baseURL, email, password);
  assert.equal(res?.status(), 200, `${email}: sign-in answered ${res?.status()} at ${page.url()}`);
  assert.equal(new URL(page.url()).pathname, '/', `${email}: after signing in at ${page.url()}`);
  return { who: email, context, page, problems };
}

// goTo opens path on server as user and checks it answers 200.
export async function goTo(server, user, p) {
  const res = await user.page.goto(server.baseURL + p, { waitUntil: 'load' });
  assert.equal(res.status(), 200, `${user.who}: GET ${p} answered ${res.status()}`);
  return res;
}

// press clicks locator (a link or a submit button) and waits for the page
// that follows; it returns that page's response.
export async function press(user, locator) {
  const [res] = await Promise.all([user.page.waitForNavigation({ waitUntil: 'load' }), locator.click()]);
  return res;
}

// button is the page's main-content button with exactly this accessible name.
export const button = (page, name) => page.locator('main').getByRole('button', { name, exact: true });

// headerLink is the header menu's link called name.
export const headerLink = (page, name) => page.locator('header nav').getByRole('link', { name, exact: true });

export const h1Of = async (page) => (await page.locator('h1').innerText()).trim();
export const mainText = async (page) => (await page.locator('main').innerText()).replace(/\s+/g, ' ');

// banner is the text of the success banner, or '' when there is none.
export async function banner(page) {
  const b = page.locator('.govuk-notification-banner--success');
  return (await b.count()) > 0 ? (await b.innerText()).replace(/\s+/g, ' ').trim() : '';
}

// statusTag is the status tag under a page's heading.
export const statusTag = async (page) => (await page.locator('main h1 + p .govuk-tag').innerText()).trim();

// longDay shows YYYY-MM-DD as the app does: 16 December 2026.
export function longDay(iso) {
  const [y, m, d] = iso.split('-').map(Number);
  const months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
  return `${d} ${months[m - 1]} ${y}`;
}

// visitRows lists a consultancy page's Visit days table as [day, how, status].
export async function visitRows(page) {
  const rows = page.locator('table', { has: page.locator('caption', { hasText: 'Visit days' }) }).locator('tbody tr');
  const out = [];
  for (const row of await rows.all()) {
    out.push((await row.locator('td').allInnerTexts()).slice(0, 3).map((s) => s.replace(/\s+/g, ' ').trim()));
  }
  return out;
}

// summaryValue is the value of the summary-list row whose key contains key
// (a string) or matches it (a RegExp); there must be exactly one.
export async function summaryValue(page, key) {
  const row = page.locator('.govuk-summary-list__row').filter({ has: page.locator('dt', { hasText: key }) });
  assert.equal(await row.count(), 1, `no "${key}" row on ${page.url()}`);
  return (await row.locator('dd').innerText()).replace(/\s+/g, ' ').trim();
}

// tableRows lists the body rows, header cells included, of the table whose
// caption contains (or matches) caption.
export async function tableRows(page, caption) {
  const rows = page.locator('table', { has: page.locator('caption', { hasText: caption }) }).locator('tbody tr');
  const out = [];
  for (const row of await rows.all()) {
    out.push((await row.locator('th, td').allInnerTexts()).map((s) => s.replace(/\s+/g, ' ').trim()));
  }
  return out;
}
