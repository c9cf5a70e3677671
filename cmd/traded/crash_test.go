// The SIGKILL crash-safety test.
//
// TestCrash_SIGKILL builds the traded binary, serves the demo from a fresh
// SQLite file with mail going to a real SMTP server inside the test, drives
// bookings (with and without Idempotency-Key), subscription purchases,
// payments, credit notes and cancellations over the JSON API from several
// goroutines, and kills the server with SIGKILL at random moments under that
// load, restarting it on the same file each time. A few more cycles end with
// SIGTERM under load instead. After the last restart it settles the keyed
// bookings that never got an answer, waits for the outbox to drain, stops the
// server with SIGTERM and checks the database: SQLite's integrity and foreign
// keys; every 2xx answer present as answered; invoice, credit note and
// booking numbers gap-free; each paid booking on its invoice line, with its
// audit entries and mail; places taken matching the delegates holding them;
// the demo data loaded once; and every outbox message sent and received.
//
// Short form (go test ./..., also under -race): 20 kills after 50–400 ms of
// load each, plus 4 SIGTERM stops. Skipped only by -short. Long form, by
// environment variable:
//
//	TRADED_CRASH_KILLS=N     SIGKILLs (default 20)
//	TRADED_CRASH_STOPS=N     SIGTERM stops under load, spread among them (default KILLS/5)
//	TRADED_CRASH_LOAD=D      the longest load before a kill (default 400ms); each
//	                         cycle's is random between D/8 and D
//	TRADED_CRASH_WORKERS=N   concurrent API clients (default 6)
//	TRADED_CRASH_SEED=N      repeat a run's random choices (each run logs its seed)
//
// for example
//
//	TRADED_CRASH_KILLS=200 TRADED_CRASH_LOAD=2s go test -count=1 -timeout 60m -run Crash -v ./cmd/traded/
//
// Mail sent once. The worker (mail/worker.go) takes a queued message, sends
// it over SMTP, and only then, in a second transaction, marks it sent. A
// SIGKILL after the SMTP server's 250 and before that commit leaves the row
// queued, so the next incarnation sends it again with the same Message-ID
// (README: receivers can drop the duplicate). Nothing can prevent that
// without the SMTP server's help, so the test does not pretend otherwise: it
// knows which incarnation made each SMTP connection (see crashSMTP) and
// accepts a second delivery only when the first was made by the last SMTP
// connection of an incarnation that was then SIGKILLed. A message delivered
// twice by one incarnation, or by one that went on to open another SMTP
// connection (the worker sends one at a time and moves on only after marking
// the last sent), or by one stopped with SIGTERM, fails the test. A message
// never received, never marked sent, or received but not in the outbox, fails
// it too.
package main

import (
	"context"
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"traded"
	"traded/pricing"
)

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a whole number", name, v)
	}
	return n
}

func TestCrash_SIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test builds and runs the server: skipped with -short")
	}
	kills := envInt(t, "TRADED_CRASH_KILLS", 20)
	stops := envInt(t, "TRADED_CRASH_STOPS", kills/5)
	workers := max(1, envInt(t, "TRADED_CRASH_WORKERS", 6))
	maxLoad := 400 * time.Millisecond
	if v := os.Getenv("TRADED_CRASH_LOAD"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 8*time.Millisecond {
			t.Fatalf("TRADED_CRASH_LOAD=%q: want a duration such as 400ms or 2s", v)
		}
		maxLoad = d
	}
	seed := time.Now().UnixNano()
	if v := os.Getenv("TRADED_CRASH_SEED"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("TRADED_CRASH_SEED=%q: want a number", v)
		}
		seed = n
	}
	t.Logf("seed %d (TRADED_CRASH_SEED repeats it): %d kills, %d stops, %d workers, load up to %s per cycle", seed, kills, stops, workers, maxLoad)
	rng := rand.New(rand.NewSource(seed))
	ctx := context.Background()
	began := time.Now()

	dir := t.TempDir()
	bin := buildTraded(t, dir)
	built := time.Since(began)
	dbPath := filepath.Join(dir, "traded.db")
	// Price lists for more years, so that subscriptions can go on selling,
	// and for next year, where the test's sessions may fall (the demo rolls
	// the current year's forward itself).
	current := pricing.AcademicYearOf(time.Now(), traded.London)
	years := []string{"2021/22"}
	for y := max(2022, current-4); y <= current+1; y++ {
		if y == current {
			continue
		}
		if _, _, err := runCLI(t, "prices", "roll-forward", "--db", dbPath, "--from", "2021/22", "--to", y.String(), "--uplift", "3.5%"); err != nil {
			t.Fatalf("roll forward to %s: %v", y, err)
		}
		years = append(years, y.String())
	}
	years = append(years, current.String())

	srv := newTradedServer(t, bin, dbPath, freeAddr(t), 0)
	mailSrv := startCrashSMTP(t, srv.life)
	srv.smtpPort = mailSrv.port
	p := srv.start() // the first start loads the demo data
	ro := openReadOnly(t, dbPath)
	demo := countDemo(t, ro)
	ro.Close()

	// Tokens, made while the server runs: the server reads them from the
	// database on each request.
	tokens := map[string]string{}
	for actor, email := range crashActors {
		out, _, err := runCLI(t, "token", "create", "--db", dbPath, "--email", email, "--name", "crash test "+actor)
		if err != nil {
			t.Fatalf("token create for %s: %v", email, err)
		}
		tokens[actor] = strings.TrimSpace(out)
	}
	load := newCrashLoad("http://"+srv.addr, tokens)
	// Enough places for the load: some 300 bookings a second of about 2
	// delegates each, on sessions of 10,000 places made 3 at a time.
	sets := 1 + int(600*maxLoad.Seconds()*float64(kills+stops)/2/30000)
	crashSetup(t, ctx, load, current, sets)
	load.years = years

	// The cycles: each starts the server (but the first), loads it for a
	// random while and kills it; stops are spread among the kills.
	cycles := kills + stops
	killed, stopped := 0, 0
	var loaded time.Duration
	for i := 0; i < cycles; i++ {
		if p == nil {
			p = srv.start()
		}
		load.up.Store(true)
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			r := rand.New(rand.NewSource(rng.Int63()))
			go func() {
				defer wg.Done()
				load.run(ctx, r)
			}()
		}
		d := maxLoad/8 + time.Duration(rng.Int63n(int64(maxLoad-maxLoad/8)+1))
		time.Sleep(d)
		loaded += d
		if stops > 0 && stopped < stops && (i+1)*stops >= (stopped+1)*cycles {
			// An operator's restart: new requests are refused, those in
			// flight finish.
			load.up.Store(false)
			srv.stop(p)
			stopped++
		} else {
			// Workers send nothing new from now (so few requests meet a
			// dead server), but those in flight are cut off by the kill.
			load.up.Store(false)
			srv.kill(p)
			killed++
		}
		wg.Wait()
		load.hc.CloseIdleConnections()
		p = nil
	}

	// The last incarnation: answer every keyed booking, drain the outbox,
	// stop cleanly.
	p = srv.start()
	load.up.Store(true)
	if err := load.settle(ctx); err != nil {
		t.Fatal(err)
	}
	drainBegan := time.Now()
	waitOutboxDrained(t, dbPath, 5*time.Minute)
	drained := time.Since(drainBegan)
	srv.stop(p)
	errorLines := srv.checkLogs()

	load.mu.Lock()
	unexpected := append([]string(nil), load.unexpected...)
	load.mu.Unlock()
	for _, u := range unexpected {
		t.Errorf("unexpected answer: %s", u)
	}

	c := &crashCheck{t: t, db: openReadOnly(t, dbPath), load: load, srv: srv, mail: mailSrv, demo: demo, ownSessions: 3 * sets}
	checkBegan := time.Now()
	c.run()
	checked := time.Since(checkBegan)

	t.Logf("%d SIGKILLs and %d SIGTERM stops under load, %d incarnations, in %s (build %s, starts %s, load %s, exits %s, final drain %s, checks %s)",
		killed, stopped, srv.life(), time.Since(began).Round(time.Millisecond), built.Round(time.Millisecond), srv.starting.Round(time.Millisecond),
		loaded.Round(time.Millisecond), srv.exiting.Round(time.Millisecond), drained.Round(time.Millisecond), checked.Round(time.Millisecond))
	t.Logf("requests: %d attempted, %d succeeded;%s", load.attempts, load.succeeded(), load.summary())
	keyedBooked, keyedRefused, resent := 0, 0, 0
	for _, k := range load.keyed {
		switch k.outcome {
		case "booked":
			keyedBooked++
		case "refused":
			keyedRefused++
		}
		if k.sends > 1 {
			resent++
		}
	}
	t.Logf("answered: %d bookings (%d keyed booked, %d keyed refused, %d keys sent again after no answer), %d subscriptions, %d payments, %d credit notes, %d cancellations",
		len(load.bookings), keyedBooked, keyedRefused, resent, len(load.subs), len(load.payments), len(load.credits), len(load.cancelled))
	t.Logf("database: %d bookings, %d invoices, %d credit notes, %d payments; mail: %d in the outbox, %d deliveries, %d resent after a kill between the SMTP 250 and marking it sent; %d error lines in the server logs",
		c.bookings, c.invoices, c.creditNotes, c.payments, c.outbox, c.delivered, c.windowDuplicates, errorLines)
}

// crashSetup makes the test's own sessions (big, a month or two ahead, so
// open and freely cancellable) and reads the bookable ones of the current
// academic year, and the invoices so far.
func crashSetup(t *testing.T, ctx context.Context, l *crashLoad, current pricing.AcademicYear, sets int) {
	t.Helper()
	call := func(actor, method, path string, body any, into any) {
		t.Helper()
		var b []byte
		if body != nil {
			b = mustJSON(body)
		}
		status, out, err := l.do(ctx, "setup", actor, method, path, b, "")
		if err != nil || status/100 != 2 {
			t.Fatalf("%s %s: %d %v %s", method, path, status, err, out)
		}
		if into != nil {
			if err := json.Unmarshal(out, into); err != nil {
				t.Fatalf("%s %s: %v: %s", method, path, err, out)
			}
		}
	}
	var own []int64
	for i := 0; i < 3*sets; i++ {
		course := []string{"psa-y6-refresher", "psa-phonics", "mod-y6-new"}[i%3]
		starts := time.Now().AddDate(0, 0, 30+i).UTC().Truncate(time.Hour).Format(time.RFC3339)
		var s struct {
			ID int64 `json:"id"`
		}
		call("admin", "POST", "/api/v1/sessions", map[string]any{"course": course, "starts_at": starts, "capacity": 10000,
			"title": "Crash test " + course}, &s)
		own = append(own, s.ID)
	}
	var list struct {
		Sessions []struct {
			ID       int64     `json:"id"`
			StartsAt time.Time `json:"starts_at"`
			Status   string    `json:"status"`
		} `json:"sessions"`
	}
	call("admin", "GET", "/api/v1/sessions?academic_year="+current.String(), nil, &list)
	for _, s := range list.Sessions {
		if s.Status == "scheduled" && s.StartsAt.After(time.Now().Add(72*time.Hour)) {
			l.sessions = append(l.sessions, s.ID)
		}
	}
	// The test's own sessions take most of the bookings; the demo's fill
	// up and send the rest to their waiting lists or away.
	for i := 0; i < 2; i++ {
		l.sessions = append(l.sessions, own...)
	}
	var invs struct {
		Invoices []struct {
			Number string `json:"number"`
		} `json:"invoices"`
	}
	call("finance", "GET", "/api/v1/invoices", nil, &invs)
	for _, inv := range invs.Invoices {
		l.invoices = append(l.invoices, inv.Number)
		l.subInvoices = append(l.subInvoices, inv.Number)
	}
	if len(invs.Invoices) != 3 {
		t.Fatalf("the demo has %d invoices, want its 3", len(invs.Invoices))
	}
}

// waitOutboxDrained polls the database, read-only, until no message is
// queued. A message that failed, or is queued with an error (it would
// wait for its backoff), fails the test: the SMTP server refuses nothing.
func waitOutboxDrained(t *testing.T, dbPath string, limit time.Duration) {
	t.Helper()
	db := openReadOnly(t, dbPath)
	defer db.Close()
	deadline := time.Now().Add(limit)
	for {
		var queued, failed, erred int
		var lastErr string
		err := db.QueryRow(`SELECT COALESCE(SUM(status = 'queued'), 0), COALESCE(SUM(status = 'failed'), 0), COALESCE(SUM(last_error <> ''), 0),
			COALESCE(MAX(last_error), '') FROM outbox`).Scan(&queued, &failed, &erred, &lastErr)
		if err != nil {
			t.Fatalf("outbox: %v", err)
		}
		if failed > 0 || erred > 0 {
			t.Fatalf("outbox: %d failed, %d with an error, such as %q", failed, erred, lastErr)
		}
		if queued == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox: %d messages still queued after %s", queued, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
