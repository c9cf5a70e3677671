package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"traded"
	wiring "traded/app"
	"traded/catalogue"
	"traded/pricing"
	"traded/store"
	"traded/web"
)

// The public programme is served from a cache to visitors who are not
// signed in, with an ETag; a booking makes the next visitor's copy fresh.
func TestProgramme_CachedForVisitorsUntilABooking(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	year := pricing.AcademicYearOf(a.clock.Now(), traded.London)
	sessions, err := wiring.Domains(a.db).Catalogue.FindSessions(ctx, catalogue.SessionFilter{Year: &year})
	if err != nil {
		t.Fatal(err)
	}
	var sess *catalogue.Session
	for _, x := range sessions {
		if x.Status == "scheduled" && a.clock.Now().Before(x.BookingCutoffAt) && x.ProductCode == pricing.PSASession {
			sess = x
			break
		}
	}
	if sess == nil {
		t.Fatal("no bookable session in the demo programme")
	}
	placesLeft := func(body string) int {
		t.Helper()
		m := regexp.MustCompile(fmt.Sprintf(`(?s)href="/sessions/%d">.*?numeric">(\d+)<`, sess.ID)).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("session %d is not on the programme", sess.ID)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}

	visitor := a.agent(t)
	first := visitor.get("/programme")
	etag := first.header.Get("ETag")
	if first.status != http.StatusOK || etag == "" || first.header.Get("Cache-Control") != "public, max-age=30" {
		t.Fatalf("first visit: %d, ETag %q, Cache-Control %q", first.status, etag, first.header.Get("Cache-Control"))
	}
	if first.cookie("traded_csrf") != nil {
		t.Error("a visitor reading the programme was given a CSRF token it has no use for")
	}
	before := placesLeft(first.body)
	if again := visitor.get("/programme"); again.body != first.body || again.header.Get("ETag") != etag {
		t.Error("a second visit got a different page with nothing changed")
	}
	if p := visitor.get("/programme", "If-None-Match", etag); p.status != http.StatusNotModified || p.body != "" {
		t.Errorf("conditional visit: %d with %d bytes, want 304 and none", p.status, len(p.body))
	}

	code, body := a.do("POST", fmt.Sprintf("/api/v1/sessions/%d/bookings", sess.ID),
		`{"delegates":[{"name":"Ana Cached","email":"ana@chelmervalley.example"}]}`, "Authorization", a.token(t, "manager@chelmervalley.example"))
	if code != http.StatusCreated {
		t.Fatalf("booking: %d %s", code, body)
	}
	after := visitor.get("/programme", "If-None-Match", etag)
	if after.status != http.StatusOK || after.header.Get("ETag") == etag {
		t.Fatalf("after a booking: %d, ETag %q (was %q): want a fresh page", after.status, after.header.Get("ETag"), etag)
	}
	if got := placesLeft(after.body); got != before-1 {
		t.Errorf("places left after a booking: %d, want %d", got, before-1)
	}

	manager := a.agent(t)
	manager.signIn("manager@chelmervalley.example")
	mine := manager.get("/programme")
	if mine.header.Get("Cache-Control") != "no-store" || mine.header.Get("ETag") != "" {
		t.Errorf("signed in: Cache-Control %q, ETag %q: a signed-in page must not be shared", mine.header.Get("Cache-Control"), mine.header.Get("ETag"))
	}
	if !regexp.MustCompile(`Signed in as <strong>`).MatchString(mine.body) {
		t.Error("the signed-in user was given the visitors' page")
	}
}

// A quote is answered from the cache until something it depends on
// changes: here, the school buys the subscription.
func TestQuote_CachedUntilTheSchoolSubscribes(t *testing.T) {
	a := newTestApp(t)
	const req = `{"organisation":"990001","academic_year":"2021/22","items":[{"product":"psa-session","staff":2}]}`
	quote := func() string {
		t.Helper()
		code, body := a.do("POST", "/api/v1/quotes", req)
		if code != http.StatusOK {
			t.Fatalf("quote: %d %s", code, body)
		}
		return body
	}
	first := quote()
	if first != quote() {
		t.Fatal("the same quote twice gave different answers")
	}
	if !regexp.MustCompile(`"subscriber":false.*"total_pence":5500`).MatchString(first) {
		t.Fatalf("before subscribing: %s", first)
	}
	code, body := a.do("POST", "/api/v1/subscriptions", `{"organisation":"990001","academic_year":"2021/22"}`,
		"Authorization", a.token(t, "manager@chelmervalley.example"))
	if code != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", code, body)
	}
	if after := quote(); !regexp.MustCompile(`"subscriber":true.*"total_pence":0`).MatchString(after) {
		t.Errorf("after subscribing, the quote is stale: %s", after)
	}
}

// TestETag_NewAfterRestart: a server started again on the same database
// (whose table versions start again from nothing) never answers 304 to an
// ETag the old one gave.
func TestETag_NewAfterRestart(t *testing.T) {
	a := newTestApp(t)
	status, _ := a.do("GET", "/programme", "")
	first := a.agent(t).get("/programme")
	if status != http.StatusOK || first.header.Get("ETag") == "" {
		t.Fatalf("first server: %d, ETag %q", status, first.header.Get("ETag"))
	}
	srv, err := web.New(web.Config{Dev: true, BaseURL: "http://traded.test"}, wiring.New(a.db, wiring.Config{BaseURL: "http://traded.test"}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	b := &testApp{t: t, srv: srv, db: a.db, clock: a.clock}
	again := b.agent(t).get("/programme", "If-None-Match", first.header.Get("ETag"))
	if again.status != http.StatusOK || again.header.Get("ETag") == first.header.Get("ETag") {
		t.Errorf("after a restart: %d, ETag %q (the old server's was %q)", again.status, again.header.Get("ETag"), first.header.Get("ETag"))
	}
}

// TestHealth_Unwritable: /healthz answers 503 once the database cannot be
// written, not only when it cannot be read.
func TestHealth_Unwritable(t *testing.T) {
	ok := newTestApp(t)
	if status, body := ok.do("GET", "/healthz", ""); status != http.StatusOK || body != "ok" {
		t.Errorf("a writable database: %d %q", status, body)
	}
	bad := newTestApp(t)
	ctx := context.Background()
	if err := bad.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TRIGGER health_readonly BEFORE INSERT ON store_health
			BEGIN SELECT RAISE(ABORT, 'attempt to write a readonly database'); END`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if status, body := bad.do("GET", "/healthz", ""); status != http.StatusServiceUnavailable || strings.Contains(body, bad.db.Path) {
		t.Errorf("an unwritable database: %d %q, want 503 without the file's path", status, body)
	}
}

// TestProgramme_OpensOnTheYearStillToRun: the programme opens on the
// current academic year while any of its sessions is still to start, and
// on the next one (which the demo publishes) once they are all over; a
// year asked for is shown whatever the date.
func TestProgramme_OpensOnTheYearStillToRun(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	current := pricing.AcademicYearOf(a.clock.Now(), traded.London)
	next := current + 1
	cat := wiring.Domains(a.db).Catalogue
	last := func(year pricing.AcademicYear) time.Time {
		t.Helper()
		list, err := cat.FindSessions(ctx, catalogue.SessionFilter{Year: &year})
		if err != nil || len(list) == 0 {
			t.Fatalf("the demo has no sessions in %s (%v)", year, err)
		}
		return list[len(list)-1].StartsAt
	}
	heading := func(p *page) string {
		t.Helper()
		m := regexp.MustCompile(`Training programme ([0-9/]+)<`).FindStringSubmatch(p.body)
		if p.status != http.StatusOK || m == nil {
			t.Fatalf("programme: %d without its heading", p.status)
		}
		return m[1]
	}
	visitor := a.agent(t)
	if got := heading(visitor.get("/programme")); got != current.String() {
		t.Errorf("with sessions still to come: the programme opens on %s, want %s", got, current)
	}
	a.clock.Set(last(current).Add(-time.Minute))
	if got := heading(visitor.get("/programme")); got != current.String() {
		t.Errorf("a minute before the year's last session: %s, want %s", got, current)
	}
	a.clock.Set(last(current).Add(time.Minute))
	if got := heading(visitor.get("/programme")); got != next.String() {
		t.Errorf("once the year's sessions have all started: %s, want %s", got, next)
	}
	if got := heading(visitor.get("/programme?year=" + current.String())); got != current.String() {
		t.Errorf("asking for %s after its sessions: %s", current, got)
	}
}
