// Command traded-bench measures Traded on this machine, in one run (make
// bench): the ceilings (a Fiber hello-world and Traded's own booking
// transaction without HTTP), a load test of a real `traded serve` with wrk,
// bulk invoicing with PDFs against headless Chromium, and the server's peak
// memory. It prints a Markdown table with the ratios to the ceilings and
// the targets, and writes it with a JSON file to -out.
//
//	traded-bench [-traded bin/traded] [-out bench] [-d 20s] [-short 10s]
//
// It needs wrk (Debian's), node with playwright-core and Debian's chromium
// (npm ci; make test installs them).
//
// It may import every package but web (it drives the built binary over HTTP,
// and app.Domains for its fixture); nothing imports it.
package main
