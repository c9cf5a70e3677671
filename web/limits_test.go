package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"traded/demo"
	"traded/web"
)

// want429 checks a limit's answer: 429, Retry-After and a message saying
// what to do.
func want429(t *testing.T, what string, p *page, says string) {
	t.Helper()
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" || !strings.Contains(p.body, says) {
		t.Errorf("%s: %d, Retry-After %q: %s; want 429 saying %q", what, p.status, p.header.Get("Retry-After"), excerpt(p.body), says)
	}
}

// TestLimits_LinksPerAccount: twelve addresses asking for sign-in links and
// resets for one account send it three mails, not twelve; another account
// is unaffected, and an address with no account is limited the same way.
func TestLimits_LinksPerAccount(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true, TrustedProxies: []string{"0.0.0.0"}})
	mails := func(email string) int {
		return app.count(t, `SELECT count(*) FROM outbox WHERE to_addr = ? AND kind IN ('sign_in_link', 'reset_password_link')`, email)
	}
	ask := func(i int, path, email string) *page {
		u := app.agent(t)
		xff := fmt.Sprintf("198.51.100.%d", i)
		u.get(path, "X-Forwarded-For", xff)
		return u.post(path, url.Values{"_csrf": {u.csrf}, "email": {email}}, "X-Forwarded-For", xff)
	}
	for i := range 12 {
		path := "/sign-in/email"
		if i%2 == 1 {
			path = "/forgot-password"
		}
		p := ask(i, path, managerEmail)
		if i < 3 {
			wantStatus(t, fmt.Sprintf("request %d", i+1), p, http.StatusOK)
		} else {
			want429(t, fmt.Sprintf("request %d", i+1), p, "Too many emails have been asked for this address")
		}
	}
	if n := mails(managerEmail); n != 3 {
		t.Errorf("%d link mails to one account from 12 addresses, want 3", n)
	}
	wantStatus(t, "another account", ask(50, "/sign-in/email", teacherEmail), http.StatusOK)
	for i := range 4 {
		p := ask(60+i, "/sign-in/email", "nobody@example.org")
		if (p.status == http.StatusTooManyRequests) != (i >= 3) {
			t.Errorf("unknown address, request %d: %d", i+1, p.status)
		}
	}
}

// TestLimits_PasswordChange: five wrong current passwords, and then even
// the right one is refused for 15 minutes.
func TestLimits_PasswordChange(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	u := app.agent(t)
	u.signIn(managerEmail)
	u.get("/account")
	change := func(current string) *page {
		return u.submit("/account/password", url.Values{"current": {current}, "password": {"a long new password"}, "confirm": {"a long new password"}})
	}
	for i := range 5 {
		wantStatus(t, fmt.Sprintf("wrong current password %d", i+1), change("guess"+fmt.Sprint(i)), http.StatusUnprocessableEntity)
	}
	want429(t, "the right password after five guesses", change(demo.Password), "Too many failed attempts to change your password")
}

// TestLimits_InvitesAndConsultancy: staff invitations and consultancy
// requests (the page and the API share one count) stop at their limits.
func TestLimits_InvitesAndConsultancy(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true, Limits: web.LimitsConfig{InvitesPerAccount: 3, ConsultancyPerAccount: 2}})
	u := app.agent(t)
	u.signIn(managerEmail)
	u.get("/school/staff")
	for i := range 4 {
		p := u.submit("/school/staff", url.Values{"name": {fmt.Sprintf("Staff %d", i)}, "email": {fmt.Sprintf("staff%d@chelmervalley.example", i)}})
		if i < 3 {
			wantStatus(t, fmt.Sprintf("invite %d", i+1), p, http.StatusSeeOther)
		} else {
			want429(t, "invite 4", p, "Too many invitations")
		}
	}
	if n := app.count(t, `SELECT count(*) FROM users WHERE email LIKE 'staff%@chelmervalley.example'`); n != 3 {
		t.Errorf("%d staff invited, want 3", n)
	}
	u.get("/consultancy")
	p := u.submit("/consultancy", url.Values{"service": {"curriculum-review"}, "need": {"A review of our reading curriculum."}})
	wantStatus(t, "consultancy request 1 (page)", p, http.StatusSeeOther)
	tok := app.token(t, managerEmail)
	status, _ := app.do("POST", "/api/v1/consultancy/requests", `{"service":"governance-qa","need":"A review of our board"}`, "Authorization", tok)
	if status != http.StatusCreated {
		t.Errorf("consultancy request 2 (API): %d", status)
	}
	status, body := app.do("POST", "/api/v1/consultancy/requests", `{"service":"governance-qa","need":"Another review"}`, "Authorization", tok)
	if status != http.StatusTooManyRequests || !strings.Contains(body, "Too many consultancy requests") {
		t.Errorf("consultancy request 3 (API): %d %s, want 429", status, body)
	}
	u.get("/consultancy")
	want429(t, "consultancy request 4 (page)", u.submit("/consultancy", url.Values{"service": {"curriculum-review"}, "need": {"Again."}}), "Too many consultancy requests")
}
