package main

import (
	"fmt"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"strings"
)

// targets judges the run against issue 8's goals.
func targets(r *report, rawCeiling float64) []target {
	byName := map[string]result{}
	for _, l := range r.Loads {
		byName[l.Name] = l
	}
	b := byName["booking POST"]
	ratio := func(a, c float64) float64 {
		if c == 0 {
			return 0
		}
		return a / c
	}
	return []target{
		{What: "booking POST / raw booking transaction", Value: ratio(b.PerSecond, rawCeiling), Goal: "≥ 0.70", Met: ratio(b.PerSecond, rawCeiling) >= 0.70},
		{What: "booking POST p99 (ms)", Value: float64(b.P99) / 1000, Goal: "< 50", Met: b.P99 < 50_000},
		{What: "booking POST errors", Value: float64(b.Errors), Goal: "0", Met: b.Errors == 0},
		{What: "programme page / hello-world", Value: ratio(byName["programme page"].PerSecond, r.Hello.PerSecond), Goal: "≥ 0.10",
			Met: ratio(byName["programme page"].PerSecond, r.Hello.PerSecond) >= 0.10},
		{What: "quote / hello-world", Value: ratio(byName["quote"].PerSecond, r.Hello.PerSecond), Goal: "≥ 0.20",
			Met: ratio(byName["quote"].PerSecond, r.Hello.PerSecond) >= 0.20},
		{What: "gofpdf / Chromium (PDFs a second)", Value: ratio(r.Render.PerSecond, r.Chromium.PerSecond), Goal: "≥ 100",
			Met: ratio(r.Render.PerSecond, r.Chromium.PerSecond) >= 100},
		{What: "server peak RSS (MB)", Value: float64(r.PeakRSS) / (1 << 20), Goal: "< 100", Met: r.PeakRSS < 100<<20},
		{What: "errors in every load run", Value: float64(totalErrors(r)), Goal: "0", Met: totalErrors(r) == 0},
	}
}

func totalErrors(r *report) int64 {
	var n int64
	for _, l := range r.Loads {
		n += l.Errors
	}
	return n + r.Hello.Errors
}

// markdown renders the report as the README's tables.
func markdown(r *report, rawCeiling float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "make bench, %s, on %s; wrk %s connections, 2 threads; booking run %s, others %s.\n\n",
		r.When.Format("2006-01-02 15:04 MST"), r.Machine, r.Settings["connections"], r.Settings["booking_run"], r.Settings["other_runs"])
	b.WriteString("| run | requests/s | p50 ms | p95 ms | p99 ms | errors | ratio |\n|---|---:|---:|---:|---:|---:|---|\n")
	ms := func(us int64) string {
		if us == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f", float64(us)/1000)
	}
	row := func(name string, x result, ratio string) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d | %s |\n", name, thousands(x.PerSecond), ms(x.P50), ms(x.P95), ms(x.P99), x.Errors, ratio)
	}
	row("ceiling: Fiber hello-world", r.Hello, "")
	row("ceiling: booking transaction, no HTTP, 1 worker", r.RawSeq, "")
	row("ceiling: booking transaction, no HTTP, "+r.Settings["connections"]+" workers", r.RawPar, "")
	for _, l := range r.Loads {
		ratio := ""
		switch {
		case l.Name == "booking POST" && rawCeiling == 0: // -only server
		case l.Name == "booking POST":
			ratio = fmt.Sprintf("%.0f%% of the booking transaction", 100*l.PerSecond/rawCeiling)
		default:
			ratio = fmt.Sprintf("%.1f%% of hello-world", 100*l.PerSecond/r.Hello.PerSecond)
		}
		row(l.Name, l, ratio)
	}
	row("bulk: issue invoices (1 transaction each)", r.Issue, "")
	row("bulk: render invoice PDFs (gofpdf, 1 goroutine)", r.Render, fmt.Sprintf("%.0f× Chromium", r.Render.PerSecond/r.Chromium.PerSecond))
	row("bulk: invoice page printed by Chromium (reused page)", r.Chromium, "")
	fmt.Fprintf(&b, "\nServer peak RSS (VmHWM) over all the load runs: %.1f MB.\n\n", float64(r.PeakRSS)/(1<<20))
	b.WriteString("| target | this run | goal | met |\n|---|---:|---|---|\n")
	for _, t := range r.Targets {
		met := "yes"
		if !t.Met {
			met = "**no**"
		}
		fmt.Fprintf(&b, "| %s | %.2f | %s | %s |\n", t.What, t.Value, t.Goal, met)
	}
	return b.String()
}

// thousands writes a rate, rounded, with thousands separators (x/text).
func thousands(v float64) string { return britishNumbers.Sprintf("%.0f", v) }

var britishNumbers = message.NewPrinter(language.BritishEnglish)
