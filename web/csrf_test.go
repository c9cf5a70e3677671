package web_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	wiring "traded/app"
	"traded/demo"
	"traded/web"
)

// TestCSRF_NothingKeptPerVisitor: 100,000 anonymous GETs of a page with a
// form, each from a new visitor (no cookies), leave the heap where it was
// and store nothing: a token is an HMAC, not a record. The requests go
// straight to the app's handler, without a network (under the race
// detector, 20,000: the growth it looks for is per request).
func TestCSRF_NothingKeptPerVisitor(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true, QuietAccessLog: true})
	handler := app.srv.App().Handler()
	get := func(n int) {
		var ctx fasthttp.RequestCtx
		for range n {
			ctx.Request.Reset()
			ctx.Response.Reset()
			ctx.Request.SetRequestURI("/sign-in")
			ctx.Request.Header.SetHost("traded.test")
			handler(&ctx)
			if ctx.Response.StatusCode() != 200 || !bytes.Contains(ctx.Response.Body(), []byte(`name="_csrf"`)) {
				t.Fatalf("GET /sign-in: %d", ctx.Response.StatusCode())
			}
		}
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	n := 100_000
	if raceEnabled {
		n = 20_000
	}
	sessions := app.count(t, `SELECT count(*) FROM web_sessions`)
	get(2000) // warm the pools
	before := heap()
	get(n)
	after := heap()
	t.Logf("heap %.1f MB before, %.1f MB after %d anonymous form pages", float64(before)/1e6, float64(after)/1e6, n)
	// Fiber's memory store grew about 160 bytes a request: 16 MB for
	// 100,000, 3.2 MB for 20,000.
	if after > before+1<<20 {
		t.Errorf("the heap grew %.1f MB over %d anonymous form pages", float64(after-before)/1e6, n)
	}
	if got := app.count(t, `SELECT count(*) FROM web_sessions`); got != sessions {
		t.Errorf("%d sessions stored for anonymous page views", got-sessions)
	}
}

// TestCSRF_SurvivesRestart: a form rendered before a restart (or a deploy)
// is accepted after it, for a visitor and for a signed-in user: the key is
// in the database, not in memory.
func TestCSRF_SurvivesRestart(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	visitor, user := app.agent(t), app.agent(t)
	visitor.get("/sign-in")
	user.signIn(managerEmail)
	user.get("/school/staff")

	restarted, err := web.New(web.Config{Dev: true, BaseURL: "http://traded.test"}, wiring.New(app.db, wiring.Config{BaseURL: "http://traded.test"}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	app.srv = restarted
	p := visitor.submit("/sign-in", url.Values{"email": {managerEmail}, "password": {demo.Password}})
	wantStatus(t, "sign in with a form from before the restart", p, http.StatusSeeOther)
	p = user.submit("/school/staff", url.Values{"name": {"Ffion Davies"}, "email": {"ffion@chelmervalley.example"}})
	wantStatus(t, "invite with a form from before the restart", p, http.StatusSeeOther)
}

// TestCSRF_BoundAndRotated: a signed-in session's token works only with
// that session, and tokens change at sign-in and sign-out.
func TestCSRF_BoundAndRotated(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	a, b := app.agent(t), app.agent(t)
	a.get("/sign-in")
	visitorToken := a.csrf
	a.signIn(managerEmail)
	b.signIn(managerEmail)
	if a.csrf == visitorToken {
		t.Error("the token did not change at sign-in")
	}
	if a.csrf == b.csrf {
		t.Error("two sessions of one user have the same token")
	}
	invite := func(u *userAgent, token, email string) int {
		return u.post("/school/staff", url.Values{"_csrf": {token}, "name": {"Someone New"}, "email": {email}}).status
	}
	if got := invite(a, b.csrf, "one@chelmervalley.example"); got != http.StatusForbidden {
		t.Errorf("A's session with B's token: %d, want 403", got)
	}
	if got := invite(a, visitorToken, "two@chelmervalley.example"); got != http.StatusForbidden {
		t.Errorf("A's session with the token it had before signing in: %d, want 403", got)
	}
	if got := invite(a, a.csrf, "three@chelmervalley.example"); got != http.StatusSeeOther {
		t.Errorf("A's own token: %d, want 303", got)
	}
	signedIn := a.csrf
	wantStatus(t, "sign out", a.submit("/sign-out", nil), http.StatusOK)
	a.get("/sign-in")
	if a.csrf == signedIn || a.csrf == visitorToken {
		t.Error("the token did not change at sign-out")
	}
	p := a.post("/sign-in", url.Values{"_csrf": {signedIn}, "email": {managerEmail}, "password": {demo.Password}})
	wantStatus(t, "sign in with the signed-out session's token", p, http.StatusForbidden)
	for i, tok := range []string{"", "x", strings.Repeat("A", 43), fmt.Sprint(a.csrf, "x")} {
		if got := a.post("/sign-in", url.Values{"_csrf": {tok}, "email": {managerEmail}, "password": {demo.Password}}).status; got != http.StatusForbidden {
			t.Errorf("bad token %d: %d, want 403", i, got)
		}
	}
}
