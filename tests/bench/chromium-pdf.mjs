// chromium-pdf prints one invoice page to PDF with headless Chromium, again
// and again on one reused page, as invoicing systems that render HTML to
// PDF do: make bench compares Traded's PDF rendering with it.
//
//   node tests/bench/chromium-pdf.mjs URL TOKEN COUNT
//
// It loads URL (the invoice page, with the bearer TOKEN) once so its styles
// are cached, then COUNT times sets the page's HTML afresh and prints it to
// A4, and writes {"count", "seconds", "per_second", "bytes"} as JSON.
import { launchBrowser } from '../browser/harness.mjs';

const [url, token, countArg] = process.argv.slice(2);
const count = Number(countArg || 30);
if (!url || !token || !(count > 0)) {
  console.error('usage: node tests/bench/chromium-pdf.mjs URL TOKEN COUNT');
  process.exit(2);
}
const browser = await launchBrowser();
try {
  const page = await browser.newPage();
  await page.setExtraHTTPHeaders({ Authorization: `Bearer ${token}` });
  const res = await page.goto(url, { waitUntil: 'load' });
  if (!res || !res.ok()) throw new Error(`GET ${url}: ${res && res.status()}`);
  const html = await page.content();
  const print = async () => {
    await page.setContent(html, { waitUntil: 'load' });
    return page.pdf({ format: 'A4', printBackground: true });
  };
  for (let i = 0; i < 3; i++) await print(); // warm up
  let bytes = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) bytes = (await print()).length;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(JSON.stringify({ count, seconds, per_second: count / seconds, bytes }) + '\n');
} finally {
  await browser.close();
}
