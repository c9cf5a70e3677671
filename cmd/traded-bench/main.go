package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "hello" {
		if err := serveHello(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "traded-bench:", err)
		os.Exit(1)
	}
}

type config struct {
	traded   string
	out      string
	long     time.Duration // the booking POST run
	short    time.Duration // every other run
	conns    int
	invoices int
	chromium int
	profile  string
	srvProf  string
}

// report is everything one run measured, as written to results.json.
type report struct {
	When     time.Time         `json:"when"`
	Machine  string            `json:"machine"`
	Hello    result            `json:"hello_world"`
	RawSeq   result            `json:"raw_booking_1_worker"`
	RawPar   result            `json:"raw_booking_4_workers"`
	Loads    []result          `json:"loads"`
	Issue    result            `json:"bulk_issue"`
	Render   result            `json:"bulk_pdf_gofpdf"`
	Chromium result            `json:"bulk_pdf_chromium"`
	PeakRSS  int64             `json:"server_peak_rss_bytes"`
	Targets  []target          `json:"targets"`
	Settings map[string]string `json:"settings"`
}

// target is one of issue 8's goals, and whether this run met it.
type target struct {
	What  string  `json:"what"`
	Value float64 `json:"value"`
	Goal  string  `json:"goal"`
	Met   bool    `json:"met"`
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("traded-bench", flag.ContinueOnError)
	var c config
	fs.StringVar(&c.traded, "traded", "bin/traded", "the traded binary to load-test")
	fs.StringVar(&c.out, "out", "bench", "folder for results.md and results.json")
	fs.DurationVar(&c.long, "d", 20*time.Second, "length of the booking POST run")
	fs.DurationVar(&c.short, "short", 10*time.Second, "length of each other run")
	fs.IntVar(&c.conns, "c", 64, "wrk connections")
	fs.IntVar(&c.invoices, "invoices", 1000, "invoices in the bulk run")
	fs.IntVar(&c.chromium, "chromium", 30, "invoices Chromium prints")
	fs.StringVar(&c.profile, "cpuprofile", "", "write a CPU profile of the raw booking runs to this file")
	fs.StringVar(&c.srvProf, "server-profiles", "", "write a CPU profile of the server during each load run into this folder")
	only := fs.String("only", "", "run only this part: raw (the booking ceiling, for profiling) or server (the load runs)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, tool := range []string{"wrk", "node", c.traded} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is needed: %w (make bench builds traded; make test-deps installs wrk, node and chromium)", tool, err)
		}
	}
	dir, err := os.MkdirTemp("", "traded-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "· "+format+"\n", a...) }
	rep := &report{When: time.Now().UTC().Truncate(time.Second), Machine: machine(),
		Settings: map[string]string{"connections": fmt.Sprint(c.conns), "booking_run": c.long.String(), "other_runs": c.short.String(), "wrk_threads": "2"}}

	logf("ceiling: Fiber hello-world, %s at %d connections", c.short, c.conns)
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	hello, err := start(ctx, filepath.Join(dir, "hello.log"), addr, "/", self, "hello", addr)
	if err != nil {
		return err
	}
	rep.Hello, err = load{Name: "hello", Script: getScript("/", nil), Conns: c.conns, Duration: c.short}.run(ctx, dir, hello.base)
	hello.stop()
	if err != nil {
		return err
	}

	logf("fixture: demo data, %d schools with managers and tokens, %d sessions", benchSchools, benchSessions)
	f, err := buildFixture(ctx, filepath.Join(dir, "fixture.db"))
	if err != nil {
		return fmt.Errorf("fixture: %w", err)
	}

	logf("ceiling: the booking transaction without HTTP, 1 and %d workers, %s each", c.conns, c.short)
	if c.profile != "" {
		pf, err := os.Create(c.profile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *only != "server" {
		if rep.RawSeq, err = rawBooking(ctx, f, filepath.Join(dir, "raw1.db"), 1, c.short); err != nil {
			return err
		}
		if rep.RawPar, err = rawBooking(ctx, f, filepath.Join(dir, "raw64.db"), c.conns, c.short); err != nil {
			return err
		}
	}
	rawCeiling := max(rep.RawSeq.PerSecond, rep.RawPar.PerSecond)
	if *only == "raw" {
		fmt.Fprintf(stdout, "raw booking: %.0f/s (1 worker), %.0f/s (%d workers)\n", rep.RawSeq.PerSecond, rep.RawPar.PerSecond, c.conns)
		return nil
	}

	logf("bulk: %d invoices issued, then their PDFs rendered", c.invoices)
	if *only != "server" {
		if rep.Issue, rep.Render, err = bulkInvoices(ctx, f, filepath.Join(dir, "bulk.db"), c.invoices); err != nil {
			return err
		}
	}

	logf("server: traded serve on the fixture")
	db := filepath.Join(dir, "server.db")
	if err := copyDB(ctx, f, db); err != nil {
		return err
	}
	if addr, err = freeAddr(); err != nil {
		return err
	}
	serveArgs := []string{"serve", "--db", db, "--addr", addr, "--quiet"}
	var pprofAddr string
	if c.srvProf != "" {
		if pprofAddr, err = freeAddr(); err != nil {
			return err
		}
		serveArgs = append(serveArgs, "--pprof", pprofAddr)
		if err := os.MkdirAll(c.srvProf, 0o755); err != nil {
			return err
		}
	}
	srv, err := start(ctx, filepath.Join(dir, "server.log"), addr, "/healthz", c.traded, serveArgs...)
	if err != nil {
		return err
	}
	defer srv.stop()
	loads := []load{
		{Name: "booking POST", Script: bookingScript(f), Duration: c.long},
		{Name: "programme page", Script: getScript("/programme", nil), Duration: c.short},
		{Name: "quote", Script: quoteScript(f), Duration: c.short},
		{Name: "invoice PDF", Script: getScript("/api/v1/invoices/"+f.Invoice+".pdf", map[string]string{"Authorization": "Bearer " + f.Finance}), Duration: c.short},
		{Name: "invite", Script: getScript(f.Invite, map[string]string{"Authorization": "Bearer " + f.InviteAuth}), Duration: c.short},
	}
	for _, l := range loads {
		l.Conns = c.conns
		logf("load: %s, %s at %d connections", l.Name, l.Duration, l.Conns)
		profiled := make(chan error, 1)
		if pprofAddr != "" {
			go func() {
				profiled <- fetch(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", pprofAddr, int(l.Duration.Seconds())-1),
					filepath.Join(c.srvProf, strings.ReplaceAll(l.Name, " ", "-")+".prof"))
			}()
		} else {
			profiled <- nil
		}
		r, err := l.run(ctx, dir, srv.base)
		if perr := <-profiled; perr != nil {
			return perr
		}
		if err != nil {
			return err
		}
		rep.Loads = append(rep.Loads, r)
	}
	if rep.PeakRSS, err = srv.peakRSS(); err != nil {
		return err
	}

	if *only != "server" {
		logf("Chromium: the invoice page printed to PDF %d times on one page", c.chromium)
		if rep.Chromium, err = chromiumPDF(ctx, srv.base+"/invoices/"+f.Invoice, f.Finance, c.chromium); err != nil {
			return err
		}
	}
	srv.stop()

	rep.Targets = targets(rep, rawCeiling)
	md := markdown(rep, rawCeiling)
	fmt.Fprint(stdout, md)
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	js, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(filepath.Join(c.out, "results.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.out, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	for _, t := range rep.Targets {
		if !t.Met {
			return errors.New("a target was missed: see the table")
		}
	}
	return nil
}

// copyDB makes the server's own copy of the fixture.
func copyDB(ctx context.Context, f *fixture, dest string) error {
	db, err := openCopy(ctx, f, dest)
	if err != nil {
		return err
	}
	return db.Close()
}

// chromiumPDF runs tests/bench/chromium-pdf.mjs.
func chromiumPDF(ctx context.Context, url, token string, count int) (result, error) {
	out, err := exec.CommandContext(ctx, "node", "tests/bench/chromium-pdf.mjs", url, token, fmt.Sprint(count)).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return result{}, fmt.Errorf("chromium: %v: %s", err, ee.Stderr)
		}
		return result{}, fmt.Errorf("chromium: %w", err)
	}
	var m struct {
		Count     int64   `json:"count"`
		PerSecond float64 `json:"per_second"`
	}
	if err := json.Unmarshal(out, &m); err != nil {
		return result{}, fmt.Errorf("chromium printed %q: %w", out, err)
	}
	return result{Name: "Chromium", Requests: m.Count, PerSecond: m.PerSecond}, nil
}

// percentiles fills a result's latencies from samples.
func percentiles(samples []time.Duration) result {
	if len(samples) == 0 {
		return result{}
	}
	slices.Sort(samples)
	at := func(p float64) int64 {
		return samples[min(len(samples)-1, int(p*float64(len(samples))))].Microseconds()
	}
	return result{P50: at(0.50), P95: at(0.95), P99: at(0.99), Max: samples[len(samples)-1].Microseconds()}
}

// machine describes where the run was, for the record.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%d cores (%s), %s %s/%s", runtime.NumCPU(), cpu, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// fetch saves url's body to path.
func fetch(url, path string) error {
	res, err := http.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
