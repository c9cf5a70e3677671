// Browser-test harness for Traded: a real server on a random port, a real
// Chromium driven by playwright-core, and axe-core for accessibility.
//
// Nothing here skips: a missing binary or a missing browser is a failure, so
// CI can never go green by not running the tests.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));

/** repoRoot is the Traded repository root (two levels above this file). */
export const repoRoot = path.resolve(here, '..', '..');

/** outDir is where screenshots go; it is git-ignored. */
export const outDir = path.join(here, 'out');

const axePath = path.join(repoRoot, 'node_modules', 'axe-core', 'axe.min.js');

// freePort asks the kernel for an unused port on the loopback interface.
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * browserClock is the instant every demo server of the browser suites starts
 * its clock at (--demo-clock): TRADED_BROWSER_CLOCK, an RFC 3339 instant, or
 * a fixed Tuesday in the autumn term. No suite runs on the real clock, so a
 * suite that passes today passes on any day; `make test-browser-dates` runs
 * them at dates across the year.
 */
export const browserClock = process.env.TRADED_BROWSER_CLOCK || '2026-11-24T09:00:00Z';
const loadedAt = Date.now();

/**
 * clockNow is the servers' time: browserClock plus the time since the tests
 * started (a server given its own --demo-clock keeps its own).
 */
export function clockNow() {
  return new Date(Date.parse(browserClock) + (Date.now() - loadedAt));
}

/**
 * startTraded starts `traded serve` on a free port with a fresh database in a
 * temporary directory and waits until GET /healthz answers 200 (30 s).
 *
 * Returns { baseURL, proc, dir, logs(), stdout(), stderr(), stop() }. logs()
 * is the combined stdout and stderr so far (print it when a test fails);
 * stdout() is stdout alone, where the server prints its demo sign-in lines;
 * stderr() is the JSON log, where demo mail is printed.
 */
export async function startTraded({ demo = true, timeoutMs = 30_000, args: extra = [], dir: reuse = '' } = {}) {
  const bin = process.env.TRADED_BIN
    ? path.resolve(process.env.TRADED_BIN)
    : path.join(repoRoot, 'bin', 'traded');
  if (!existsSync(bin)) {
    throw new Error(
      `traded binary not found at ${bin}; build it with: go build -o bin/traded ./cmd/traded (or set TRADED_BIN)`,
    );
  }

  const port = await freePort();
  // dir reuses the directory (and so the database) of a server stopped
  // with stop({ keep: true }), to go on from where it left off.
  const dir = reuse || mkdtempSync(path.join(tmpdir(), 'traded-browser-'));
  const addr = `127.0.0.1:${port}`;
  const args = ['serve', '--addr', addr, '--db', path.join(dir, 'traded.db')];
  if (demo) args.push('--demo');
  if (demo && !extra.includes('--demo-clock')) args.push('--demo-clock', clockNow().toISOString().replace(/\.\d+Z$/, 'Z'));
  args.push(...extra);

  const out = [];
  const err = [];
  const all = [];
  const proc = spawn(bin, args, {
    cwd: repoRoot,
    env: { ...process.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stdout.on('data', (s) => {
    out.push(s);
    all.push(s);
  });
  proc.stderr.on('data', (s) => {
    err.push(s);
    all.push(s);
  });

  let exited = null;
  const exitPromise = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
    proc.on('error', (err) => {
      exited = { code: null, signal: null, error: err };
      all.push(`\n[harness] spawn error: ${err.message}\n`);
      resolve(exited);
    });
  });

  const logs = () => all.join('');
  const stdout = () => out.join('');
  const stderr = () => err.join('');
  const cleanup = () => rmSync(dir, { recursive: true, force: true });

  // stop ends the server and removes its directory, unless keep is set.
  const stop = async ({ keep = false } = {}) => {
    if (!exited) {
      proc.kill('SIGTERM');
      // The timer is cleared once the server exits: a pending 10 s timer
      // would keep Node (and so every test file) alive for 10 s more.
      let timeout;
      const timer = new Promise((r) => {
        timeout = setTimeout(() => r('timeout'), 10_000);
      });
      const first = await Promise.race([exitPromise, timer]);
      clearTimeout(timeout);
      if (first === 'timeout') {
        proc.kill('SIGKILL');
        await exitPromise;
      }
    }
    if (!keep) cleanup();
    return exited;
  };

  const baseURL = `http://${addr}`;
  const deadline = Date.now() + timeoutMs;
  let lastErr = 'no answer yet';
  for (;;) {
    if (exited) {
      cleanup();
      throw new Error(
        `traded exited before it was healthy (${JSON.stringify(exited)}): ${bin} ${args.join(' ')}\n--- server output ---\n${logs()}`,
      );
    }
    try {
      const res = await fetch(`${baseURL}/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) break;
      lastErr = `GET /healthz answered ${res.status}`;
    } catch (err) {
      lastErr = err.cause?.code || err.message;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `traded not healthy after ${timeoutMs} ms (${lastErr}): ${bin} ${args.join(' ')}\n--- server output ---\n${logs()}`,
      );
    }
    await sleep(100);
  }

  return { baseURL, proc, dir, logs, stdout, stderr, stop };
}

/** chromiumArgs are the flags verified to work on these machines (TOOLING.md). */
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * launchBrowser starts headless Debian Chromium (env CHROMIUM, default
 * /usr/bin/chromium). It throws when the executable is missing: the tests
 * fail, they never skip. Playwright gives each launch a fresh temporary
 * profile.
 */
export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`chromium not found at ${executablePath}; run make test which installs it`);
  }
  return chromium.launch({ executablePath, headless: true, args: chromiumArgs });
}

/** axeTags are the WCAG 2.2 AA rule sets every page must pass. */
export const axeTags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

/**
 * checkA11y runs axe-core in the page against WCAG 2.0/2.1/2.2 A and AA and
 * throws an Error listing every violation (id, impact, help, first targets).
 * Returns the axe result when there are none.
 */
export async function checkA11y(page, label = page.url()) {
  const hasAxe = () => page.evaluate(() => typeof window.axe === 'object');
  if (!(await hasAxe())) {
    try {
      await page.addScriptTag({ path: axePath });
    } catch {
      // A strict Content-Security-Policy blocks the inline script tag; fall
      // through to evaluate, which the page's CSP does not govern.
    }
    if (!(await hasAxe())) {
      const { readFileSync } = await import('node:fs');
      await page.evaluate(readFileSync(axePath, 'utf8'));
    }
  }
  const result = await page.evaluate(
    (values) => window.axe.run(document, { runOnly: { type: 'tag', values } }),
    axeTags,
  );
  if (result.violations.length > 0) {
    const lines = result.violations.map((v) => {
      const targets = v.nodes
        .slice(0, 5)
        .map((n) => `      - ${n.target.join(' ')}${n.html ? `  ${n.html.slice(0, 160)}` : ''}`)
        .join('\n');
      const more = v.nodes.length > 5 ? `\n      (+${v.nodes.length - 5} more)` : '';
      return `  ${v.id} [${v.impact}] ${v.help} (${v.helpUrl})\n${targets}${more}`;
    });
    throw new Error(
      `axe: ${result.violations.length} accessibility violation(s) on ${label} (${page.url()}):\n${lines.join('\n')}`,
    );
  }
  return result;
}

/** screenshot saves a full-page PNG to tests/browser/out/NAME.png and returns its path. */
export async function screenshot(page, name) {
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `${name.replace(/[^A-Za-z0-9._-]+/g, '_')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * demoPassword returns the password of the demo sign-ins, parsed from what
 * `traded serve --demo` printed ("password for all: XXX").
 */
export function demoPassword(server) {
  const m = /password for all: ([^)\s]+)\)/.exec(server.stdout());
  if (!m) throw new Error(`no "password for all: ..." in the server's stdout:\n${server.stdout()}`);
  return m[1];
}

/** mails returns every mail the demo server printed to its log, oldest first. */
export function mails(server) {
  const found = [];
  for (const line of server.stderr().split('\n')) {
    if (!line.startsWith('{')) continue;
    let rec;
    try {
      rec = JSON.parse(line);
    } catch {
      continue;
    }
    if (rec.msg === 'mail (demo: printed, not sent)') found.push(rec);
  }
  return found;
}

/**
 * latestLink waits (up to timeoutMs) for a mail to `to` whose body holds a
 * link with a path starting pathPrefix (e.g. "/sign-in/link/"), newer than
 * the mail id `after`, and returns { url, path, mail }. url is the link on
 * the test server's own origin: the demo's base URL says localhost, the
 * server listens on 127.0.0.1, and cookies are per host.
 */
export async function latestLink(server, { to, pathPrefix, after = 0, timeoutMs = 10_000 }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const candidates = mails(server).filter((m) => (!to || m.to === to) && (m.id ?? 0) > after);
    for (const mail of candidates.reverse()) {
      for (const href of String(mail.body).match(/https?:\/\/[^\s"<>]+/g) || []) {
        const u = new URL(href);
        if (u.pathname.startsWith(pathPrefix)) {
          const p = u.pathname + u.search;
          return { url: server.baseURL + p, path: p, href, mail };
        }
      }
    }
    if (Date.now() > deadline) {
      throw new Error(
        `no mail to ${to || 'anyone'} with a ${pathPrefix}... link within ${timeoutMs} ms; mails so far:\n` +
          JSON.stringify(mails(server), null, 2),
      );
    }
    await sleep(100);
  }
}

/** lastMailID is the id of the newest printed mail (0 if none). */
export function lastMailID(server) {
  return mails(server).reduce((n, m) => Math.max(n, m.id ?? 0), 0);
}

/**
 * signIn fills the real sign-in form at baseURL/sign-in (labels "Email
 * address" and "Password"), presses "Sign in" and waits for the page that
 * follows. It returns that page's main response.
 */
export async function signIn(page, baseURL, email, password) {
  await page.goto(`${baseURL}/sign-in`, { waitUntil: 'load' });
  await page.getByLabel('Email address', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  const [response] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.getByRole('button', { name: 'Sign in', exact: true }).click(),
  ]);
  return response;
}
