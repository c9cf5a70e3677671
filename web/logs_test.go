package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"traded/demo"
	"traded/web"
)

// TestLogs_NoSecrets runs a sign-in link, a staff invite's set-password
// link, a password reset and a calendar feed through the pages, and greps
// the server's log for every token: none may be there.
func TestLogs_NoSecrets(t *testing.T) {
	var log fuzzLog // a log requests may write at once (fuzz_test.go)
	app := newAccountsAppLog(t, web.Config{Dev: true, BaseURL: "https://traded.test"}, &log)
	var secrets []string

	// A sign-in link, asked for on the page and used.
	u := app.agent(t)
	u.get("/sign-in/email")
	wantStatus(t, "POST /sign-in/email", u.submit("/sign-in/email", url.Values{"email": {managerEmail}}), http.StatusOK)
	tok := app.linkToken(t, managerEmail, "sign_in")
	secrets = append(secrets, tok)
	wantStatus(t, "GET the link", u.get("/sign-in/link/"+tok), http.StatusOK)
	wantStatus(t, "POST the link", u.submit("/sign-in/link/"+tok, nil), http.StatusSeeOther)
	wantStatus(t, "GET the spent link", u.get("/sign-in/link/"+tok), http.StatusGone)

	// The manager invites a colleague, who sets a password by the link.
	u.get("/school/staff")
	wantStatus(t, "invite", u.submit("/school/staff", url.Values{"name": {"Nia Jones"}, "email": {"nia@chelmervalley.example"}}), http.StatusSeeOther)
	set := app.linkToken(t, "nia@chelmervalley.example", "set_password")
	secrets = append(secrets, set)
	nia := app.agent(t)
	wantStatus(t, "GET set-password", nia.get("/set-password/"+set), http.StatusOK)
	wantStatus(t, "POST set-password", nia.submit("/set-password/"+set, url.Values{"password": {"a long new password"}, "confirm": {"a long new password"}}), http.StatusSeeOther)

	// A password reset.
	r := app.agent(t)
	r.get("/forgot-password")
	r.submit("/forgot-password", url.Values{"email": {teacherEmail}})
	reset := app.linkToken(t, teacherEmail, "reset_password")
	secrets = append(secrets, reset)
	wantStatus(t, "GET reset", r.get("/reset-password/"+reset), http.StatusOK)
	wantStatus(t, "POST reset", r.submit("/reset-password/"+reset, url.Values{"password": {"another new password"}, "confirm": {"another new password"}}), http.StatusSeeOther)

	// The teacher's calendar feed, read, and a mistyped one.
	feeds, _ := feedTokens(t, r)
	if len(feeds) == 0 {
		t.Fatal("no feed address on the account page")
	}
	secrets = append(secrets, feeds...)
	wantStatus(t, "GET the feed", app.agent(t).get("/calendar/"+feeds[0]+".ics"), http.StatusOK)
	wantStatus(t, "GET a mistyped feed", app.agent(t).get("/calendar/"+feeds[0]+"x.ics"), http.StatusNotFound)
	wantStatus(t, "GET a mistyped link", app.agent(t).get("/sign-in/link/"+tok+"x"), http.StatusGone)

	out := log.take()
	if n := strings.Count(out, "REDACTED"); n < 10 {
		t.Fatalf("the log has %d redacted paths: is it being written? %s", n, out)
	}
	for _, s := range secrets {
		if strings.Contains(out, s) || strings.Contains(out, s[:12]) {
			t.Errorf("the log holds the secret %s…", s[:6])
		}
	}
}

// TestHeaders_RouteClasses: the headers of each class of answer that the
// matrix test does not see: HSTS outside --dev (and not in it), public
// pages and static files cacheable, a private download no-store even when
// it failed, and the feed at its secret address.
func TestHeaders_RouteClasses(t *testing.T) {
	live := newAccountsApp(t, web.Config{BaseURL: "https://traded.test"})
	dev := newAccountsApp(t, web.Config{Dev: true, BaseURL: "https://traded.test"})
	const hsts = "max-age=31536000; includeSubDomains"
	for _, path := range []string{"/", "/sign-in", "/static/traded.css", "/healthz", "/nowhere"} {
		if got := live.agent(t).get(path).header.Get("Strict-Transport-Security"); got != hsts {
			t.Errorf("GET %s outside --dev: HSTS %q, want %q", path, got, hsts)
		}
		if got := dev.agent(t).get(path).header.Get("Strict-Transport-Security"); got != "" {
			t.Errorf("GET %s in --dev: HSTS %q, want none", path, got)
		}
	}
	// Outside --dev the visitor's CSRF cookie is host-only and Secure.
	v := live.agent(t)
	p := v.get("/sign-in")
	if c := p.cookie("__Host-traded_csrf"); c == nil || !c.Secure || c.Path != "/" || c.Domain != "" || !c.HttpOnly {
		t.Errorf("outside --dev the CSRF cookie is %+v, want __Host-traded_csrf, Secure, HttpOnly, Path=/", c)
	}
	wantStatus(t, "sign in outside --dev", v.submit("/sign-in", url.Values{"email": {managerEmail}, "password": {demo.Password}}), http.StatusSeeOther)
	anon := dev.agent(t)
	for path, want := range map[string]string{"/programme": "public, max-age=30", "/static/traded.css": "public, max-age=3600"} {
		p := anon.get(path)
		checkHeaders(t, "GET "+path+" anonymous", p, false)
		if got := p.header.Get("Cache-Control"); got != want {
			t.Errorf("GET %s anonymous: Cache-Control %q, want %q", path, got, want)
		}
	}
	u := dev.agent(t)
	u.signIn(managerEmail)
	for _, path := range []string{"/", "/static/traded.css", "/invoices", "/api/v1/me", "/api/v1/invoices/TS-999999.pdf", "/bookings/999999/invite.ics"} {
		p := u.get(path)
		want := "no-store"
		if path == "/static/traded.css" {
			want = "public, max-age=3600"
		}
		if got := p.header.Get("Cache-Control"); got != want {
			t.Errorf("GET %s signed in (%d): Cache-Control %q, want %q", path, p.status, got, want)
		}
	}
	tok := dev.token(t, managerEmail)
	if p := dev.agent(t).get("/api/v1/exports/invoices.csv", "Authorization", tok); p.header.Get("Cache-Control") != "no-store" {
		t.Errorf("an export by API token (%d): Cache-Control %q", p.status, p.header.Get("Cache-Control"))
	}
	if p := dev.agent(t).get("/calendar/nonexistent.ics"); p.header.Get("Cache-Control") != "no-store" {
		t.Errorf("a feed address: Cache-Control %q", p.header.Get("Cache-Control"))
	}
}
