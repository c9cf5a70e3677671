package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"traded"
	"traded/account"
	wiring "traded/app"
	"traded/demo"
	"traded/store"
	"traded/store/storetest"
	"traded/web"
)

// newAccountsApp is newTestApp with the given config and the demo users'
// passwords hashed at bcrypt's minimum cost: a sign-in with a password then
// costs microseconds instead of about a second under -race. (Passwords the
// app hashes itself, when a link sets one, still cost 11.)
func newAccountsApp(t *testing.T, cfg web.Config) *testApp {
	t.Helper()
	return newAccountsAppLog(t, cfg, io.Discard)
}

// newAccountsAppLog is newAccountsApp logging to w.
func newAccountsAppLog(t *testing.T, cfg web.Config, w io.Writer) *testApp {
	t.Helper()
	return newAccountsAppWith(t, cfg, wiring.Config{}, w)
}

// newAccountsAppWith is newAccountsApp with the services built from acfg
// (its BaseURL is cfg's), logging to w.
func newAccountsAppWith(t *testing.T, cfg web.Config, acfg wiring.Config, w io.Writer) *testApp {
	t.Helper()
	db, clock := storetest.Open(t)
	svc := wiring.Domains(db).Booking
	svc.Accounts.PasswordCost = bcrypt.MinCost
	if err := demo.LoadBase(context.Background(), svc); err != nil {
		t.Fatal(err)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://traded.test"
	}
	acfg.BaseURL = cfg.BaseURL
	srv, err := web.New(cfg, wiring.New(db, acfg), slog.New(slog.NewTextHandler(w, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return &testApp{t: t, srv: srv, db: db, clock: clock}
}

// Demo accounts.
const (
	managerEmail      = "manager@chelmervalley.example"   // school_manager of 990001
	teacherEmail      = "teacher@chelmervalley.example"   // teacher of 990001
	otherManagerEmail = "manager@basildonmeadows.example" // school_manager of 990004
	financeEmail      = "finance@traded.example"
	adminEmail        = "admin@traded.example"
	adviserEmail      = "adviser@traded.example"
)

// userAgent is one browser: it keeps the cookies the app sets and the CSRF
// token of the last page it saw with a form, and fails the test on any 5xx.
type userAgent struct {
	t    *testing.T
	app  *testApp
	jar  map[string]string
	csrf string
}

// page is one answer.
type page struct {
	status  int
	body    string
	header  http.Header
	cookies []*http.Cookie
}

func (p *page) location() string { return p.header.Get("Location") }

// cookie returns the Set-Cookie of the name in this answer, or nil.
func (p *page) cookie(name string) *http.Cookie {
	for _, c := range p.cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (a *testApp) agent(t *testing.T) *userAgent {
	return &userAgent{t: t, app: a, jar: map[string]string{}}
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func (u *userAgent) send(method, path string, body io.Reader, contentType string, headers ...string) *page {
	u.t.Helper()
	req := httptest.NewRequest(method, path, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for name, value := range u.jar {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := u.app.srv.App().Test(req, -1)
	if err != nil {
		u.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	p := &page{status: resp.StatusCode, body: string(b), header: resp.Header, cookies: resp.Cookies()}
	for _, c := range p.cookies {
		if c.Value == "" || c.MaxAge < 0 || (!c.Expires.IsZero() && c.Expires.Before(time.Now())) {
			delete(u.jar, c.Name)
		} else {
			u.jar[c.Name] = c.Value
		}
	}
	if m := csrfField.FindStringSubmatch(p.body); m != nil {
		u.csrf = m[1]
	}
	if p.status >= 500 {
		u.t.Errorf("%s %s: status %d: %s", method, path, p.status, excerpt(p.body))
	}
	return p
}

func (u *userAgent) get(path string, headers ...string) *page {
	u.t.Helper()
	return u.send("GET", path, nil, "", headers...)
}

// post sends the form exactly as given: no CSRF token unless it holds one.
func (u *userAgent) post(path string, form url.Values, headers ...string) *page {
	u.t.Helper()
	return u.send("POST", path, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded", headers...)
}

// submit sends the form as a browser would from the last page seen: with
// its CSRF token.
func (u *userAgent) submit(path string, form url.Values) *page {
	u.t.Helper()
	if u.csrf == "" {
		u.t.Fatalf("POST %s: no page with a form seen yet", path)
	}
	f := url.Values{"_csrf": {u.csrf}}
	for k, v := range form {
		f[k] = v
	}
	return u.post(path, f)
}

// signInWithPassword signs in through the sign-in form.
func (u *userAgent) signInWithPassword(email, password string) *page {
	u.t.Helper()
	u.get("/sign-in")
	p := u.submit("/sign-in", url.Values{"email": {email}, "password": {password}})
	u.follow(p)
	return p
}

// signIn signs in by an emailed link, queued through the service so that it
// neither costs a bcrypt comparison nor counts against the link form's rate
// limit.
func (u *userAgent) signIn(email string) {
	u.t.Helper()
	if err := wiring.Domains(u.app.db).Accounts.SendSignInLink(context.Background(), email, "192.0.2.1"); err != nil {
		u.t.Fatal(err)
	}
	path := "/sign-in/link/" + u.app.linkToken(u.t, email, "sign_in")
	if p := u.get(path); p.status != http.StatusOK {
		u.t.Fatalf("GET %s: %d", path, p.status)
	}
	p := u.submit(path, nil)
	if p.status != http.StatusSeeOther {
		u.t.Fatalf("sign in %s by link: %d: %s", email, p.status, excerpt(p.body))
	}
	u.follow(p)
}

// follow loads where p redirects to, as a browser does, so that the agent
// has the forms' token of its new session (tokens change at sign-in).
func (u *userAgent) follow(p *page) {
	u.t.Helper()
	if loc := p.location(); p.status == http.StatusSeeOther && strings.HasPrefix(loc, "/") {
		u.get(loc)
	}
}

// signedInAs returns the email of who the app thinks is signed in ("" for
// nobody), from /api/v1/me.
func (u *userAgent) signedInAs() string {
	u.t.Helper()
	p := u.get("/api/v1/me")
	if p.status == http.StatusUnauthorized {
		return ""
	}
	m := regexp.MustCompile(`"email":"([^"]+)"`).FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil {
		u.t.Fatalf("/api/v1/me: %d %s", p.status, p.body)
	}
	return m[1]
}

var mailLink = regexp.MustCompile(`(?:/sign-in/link/|/set-password/|/reset-password/)([A-Za-z0-9_-]{20,})`)

// linkToken returns the token of the newest emailed link of the purpose
// (sign_in, set_password, reset_password) queued for email.
func (a *testApp) linkToken(t *testing.T, email, purpose string) string {
	t.Helper()
	var body string
	if err := a.db.Read().QueryRow(`SELECT body_text FROM outbox WHERE to_addr = ? AND kind = ? ORDER BY id DESC LIMIT 1`,
		email, purpose+"_link").Scan(&body); err != nil {
		t.Fatalf("no %s link queued for %s: %v", purpose, email, err)
	}
	m := mailLink.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no link in the mail:\n%s", body)
	}
	return m[1]
}

func (a *testApp) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := a.db.Read().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (a *testApp) user(t *testing.T, email string) *account.User {
	t.Helper()
	u, err := wiring.Domains(a.db).Accounts.FindUserByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("find %s: %v", email, err)
	}
	return u
}

func (a *testApp) audit(t *testing.T, action string) []store.AuditEntry {
	t.Helper()
	entries, err := a.db.FindAudit(context.Background(), store.AuditFilter{Action: action, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var out []store.AuditEntry
	for _, e := range entries {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func wantStatus(t *testing.T, what string, p *page, status int) {
	t.Helper()
	if p.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, p.status, status, excerpt(p.body))
	}
}

var (
	tags   = regexp.MustCompile(`(?s)<[^>]*>`)
	spaces = regexp.MustCompile(`\s+`)
)

// excerpt is the text of a page's main content (or a JSON body), for
// failure messages.
func excerpt(body string) string {
	if i := strings.Index(body, `<main`); i >= 0 {
		body = body[i:]
		if j := strings.Index(body, `</main>`); j >= 0 {
			body = body[:j]
		}
	}
	s := strings.TrimSpace(spaces.ReplaceAllString(tags.ReplaceAllString(body, " "), " "))
	if len(s) > 600 {
		s = s[:600] + "..."
	}
	return s
}

func TestCSRF(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	sessions := func() int { return app.count(t, `SELECT count(*) FROM web_sessions`) }

	t.Run("SignInWithoutToken", func(t *testing.T) {
		u := app.agent(t)
		u.get("/sign-in")
		before := sessions()
		p := u.post("/sign-in", url.Values{"email": {managerEmail}, "password": {demo.Password}})
		wantStatus(t, "POST /sign-in without a token", p, http.StatusForbidden)
		if p.cookie("traded_session") != nil || sessions() != before || u.signedInAs() != "" {
			t.Error("a sign-in without a CSRF token started a session")
		}
		if !strings.Contains(p.body, "This form has expired") {
			t.Errorf("403 page does not explain: %s", excerpt(p.body))
		}
	})

	t.Run("NoCookie", func(t *testing.T) {
		u := app.agent(t)
		u.get("/sign-in")
		token := u.csrf
		delete(u.jar, "traded_csrf")
		wantStatus(t, "POST /sign-in with a token but no cookie", u.post("/sign-in", url.Values{"_csrf": {token}, "email": {managerEmail}, "password": {demo.Password}}), http.StatusForbidden)
	})

	t.Run("TokenOfAnotherSession", func(t *testing.T) {
		mine, theirs := app.agent(t), app.agent(t)
		mine.get("/sign-in")
		theirs.get("/sign-in")
		if mine.csrf == theirs.csrf {
			t.Fatal("two visitors got the same CSRF token")
		}
		before := sessions()
		p := mine.post("/sign-in", url.Values{"_csrf": {theirs.csrf}, "email": {managerEmail}, "password": {demo.Password}})
		wantStatus(t, "POST /sign-in with another session's token", p, http.StatusForbidden)
		if sessions() != before || mine.signedInAs() != "" {
			t.Error("signed in with another session's token")
		}
		// The header works as well as the field, with the same check.
		p = mine.post("/sign-in", url.Values{"email": {managerEmail}, "password": {demo.Password}}, "X-Csrf-Token", theirs.csrf)
		wantStatus(t, "POST /sign-in with another session's token in the header", p, http.StatusForbidden)
	})

	t.Run("InviteWithoutToken", func(t *testing.T) {
		u := app.agent(t)
		u.signIn(managerEmail)
		wantStatus(t, "GET /school/staff", u.get("/school/staff"), http.StatusOK)
		form := url.Values{"name": {"Nobody Invited"}, "email": {"uninvited@chelmervalley.example"}}
		wantStatus(t, "POST /school/staff without a token", u.post("/school/staff", form), http.StatusForbidden)
		form.Set("_csrf", "not-the-token")
		wantStatus(t, "POST /school/staff with a wrong token", u.post("/school/staff", form), http.StatusForbidden)
		if _, err := wiring.Domains(app.db).Accounts.FindUserByEmail(context.Background(), "uninvited@chelmervalley.example"); traded.ErrorCode(err) != traded.ENOTFOUND {
			t.Errorf("the invitation made a user: %v", err)
		}
		if n := app.count(t, `SELECT count(*) FROM outbox WHERE to_addr = 'uninvited@chelmervalley.example'`); n != 0 {
			t.Errorf("the invitation queued %d mails", n)
		}
		// Still signed in: a refused form does not end the session.
		if got := u.signedInAs(); got != managerEmail {
			t.Errorf("signed in as %q after the refusal", got)
		}
	})
}

func TestSignIn(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})

	t.Run("WrongPassword", func(t *testing.T) {
		u := app.agent(t)
		p := u.signInWithPassword("Manager@ChelmerValley.example", "hunter2-wrong-password")
		wantStatus(t, "wrong password", p, http.StatusUnauthorized)
		for _, want := range []string{`govuk-error-summary`, `Enter a correct email address and password`, `value="Manager@ChelmerValley.example"`, `action="/sign-in"`, `<title>Error: Sign in`} {
			if !strings.Contains(p.body, want) {
				t.Errorf("the re-shown form lacks %q", want)
			}
		}
		if strings.Contains(p.body, "hunter2") {
			t.Error("the page shows the password typed")
		}
		if p.cookie("traded_session") != nil || u.signedInAs() != "" {
			t.Error("a wrong password started a session")
		}
	})

	t.Run("MissingFields", func(t *testing.T) {
		u := app.agent(t)
		p := u.signInWithPassword("", "whatever-password")
		wantStatus(t, "no email", p, http.StatusUnprocessableEntity)
		if !strings.Contains(p.body, "Enter your email address") || strings.Contains(p.body, "whatever-password") {
			t.Errorf("no-email page: %s", excerpt(p.body))
		}
		p = u.signInWithPassword(adviserEmail, "")
		wantStatus(t, "no password", p, http.StatusUnprocessableEntity)
		if !strings.Contains(p.body, "Enter your password") || !strings.Contains(p.body, `value="`+adviserEmail+`"`) {
			t.Errorf("no-password page: %s", excerpt(p.body))
		}
	})

	t.Run("Success", func(t *testing.T) {
		u := app.agent(t)
		u.get("/")
		p := u.signInWithPassword(managerEmail, demo.Password)
		wantStatus(t, "right password", p, http.StatusSeeOther)
		if p.location() != "/" {
			t.Errorf("Location %q, want /", p.location())
		}
		c := p.cookie("traded_session")
		if c == nil {
			t.Fatalf("no session cookie; Set-Cookie: %v", p.header.Values("Set-Cookie"))
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.MaxAge != 0 || !c.Expires.IsZero() {
			t.Errorf("session cookie %q: want HttpOnly, SameSite=Lax, not Secure in dev, and a browser-session cookie", c.Raw)
		}
		if got := u.signedInAs(); got != managerEmail {
			t.Errorf("signed in as %q", got)
		}
		home := u.get("/")
		if !strings.Contains(home.body, "Signed in as <strong>Morgan Manager</strong>") {
			t.Error("the home page does not say who is signed in")
		}
		if e := app.audit(t, "sign_in"); len(e) == 0 || e[0].Actor != managerEmail || e[0].Detail != "password" {
			t.Errorf("audit %+v", e)
		}
	})

	t.Run("NewSessionID", func(t *testing.T) {
		// A session id planted before sign-in is not the one signed in.
		u := app.agent(t)
		u.get("/sign-in")
		u.jar["traded_session"] = "planted-by-an-attacker"
		p := u.submit("/sign-in", url.Values{"email": {managerEmail}, "password": {demo.Password}})
		wantStatus(t, "sign in", p, http.StatusSeeOther)
		if c := p.cookie("traded_session"); c == nil || c.Value == "planted-by-an-attacker" {
			t.Errorf("session cookie %v: want a new id", c)
		}
		attacker := app.agent(t)
		attacker.jar["traded_session"] = "planted-by-an-attacker"
		if got := attacker.signedInAs(); got != "" {
			t.Errorf("the planted id is signed in as %q", got)
		}
	})

	t.Run("Next", func(t *testing.T) {
		u := app.agent(t)
		p := u.get("/admin/users?x=1")
		wantStatus(t, "GET /admin/users anonymously", p, http.StatusSeeOther)
		if p.location() != "/sign-in?next=%2Fadmin%2Fusers%3Fx%3D1" {
			t.Fatalf("Location %q", p.location())
		}
		form := u.get(p.location())
		if !strings.Contains(form.body, `name="next" value="/admin/users?x=1"`) {
			t.Fatalf("the form does not carry next: %s", excerpt(form.body))
		}
		p = u.submit("/sign-in", url.Values{"email": {adminEmail}, "password": {demo.Password}, "next": {"/admin/users?x=1"}})
		if p.status != http.StatusSeeOther || p.location() != "/admin/users?x=1" {
			t.Errorf("sign in with next: %d to %q", p.status, p.location())
		}
		// Signed in, the sign-in page sends you on.
		if p := u.get("/sign-in?next=/account"); p.status != http.StatusSeeOther || p.location() != "/account" {
			t.Errorf("GET /sign-in signed in: %d to %q", p.status, p.location())
		}
	})

	t.Run("NextStaysOnSite", func(t *testing.T) {
		for _, next := range []string{"https://evil.example/", "//evil.example/", `/\evil.example`, "evil.example", "javascript:alert(1)"} {
			u := app.agent(t)
			u.get("/sign-in")
			p := u.submit("/sign-in", url.Values{"email": {financeEmail}, "password": {demo.Password}, "next": {next}})
			if p.status != http.StatusSeeOther || p.location() != "/" {
				t.Errorf("next %q: %d to %q, want 303 to /", next, p.status, p.location())
			}
		}
		for _, next := range []string{"/\t/evil.example/", "/\n/evil.example/", "/\t\\evil.example", "/\r\nX-Injected: yes"} {
			t.Run(strconv.Quote(next), func(t *testing.T) {
				u := app.agent(t)
				u.get("/sign-in")
				p := u.submit("/sign-in", url.Values{"email": {financeEmail}, "password": {demo.Password}, "next": {next}})
				if p.header.Get("X-Injected") != "" {
					t.Errorf("next %q injected a header", next)
				}
				if loc, _ := url.Parse(strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(p.location())); loc == nil || loc.Host != "" {
					t.Errorf("next %q: redirected to %q, off the site", next, p.location())
				}
			})
		}
	})

	t.Run("SecureCookieOutsideDev", func(t *testing.T) {
		prod := newAccountsApp(t, web.Config{Dev: false})
		u := prod.agent(t)
		form := u.get("/sign-in")
		if c := form.cookie("__Host-traded_csrf"); c == nil || !c.Secure || !c.HttpOnly {
			t.Errorf("CSRF cookie %v: want Secure and HttpOnly", c)
		}
		p := u.submit("/sign-in", url.Values{"email": {managerEmail}, "password": {demo.Password}})
		wantStatus(t, "sign in", p, http.StatusSeeOther)
		c := p.cookie("traded_session")
		if c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
			t.Errorf("session cookie %v: want Secure, HttpOnly, SameSite=Lax", c)
		}
	})
}

func TestSessionExpiry(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})

	t.Run("Idle", func(t *testing.T) {
		u := app.agent(t)
		u.signIn(managerEmail)
		wantStatus(t, "GET /account", u.get("/account"), http.StatusOK)
		app.clock.Advance(web.IdleTimeout + time.Minute)
		home := u.get("/")
		wantStatus(t, "GET / after the idle timeout", home, http.StatusOK)
		if !strings.Contains(home.body, "You were signed out because your session ended") || strings.Contains(home.body, "Signed in as") {
			t.Errorf("home after the idle timeout is not the anonymous home with the signed-out message: %s", excerpt(home.body))
		}
		p := u.get("/account")
		if p.status != http.StatusSeeOther || p.location() != "/sign-in?next=%2Faccount" {
			t.Errorf("GET /account after the idle timeout: %d to %q", p.status, p.location())
		}
		if got := u.signedInAs(); got != "" {
			t.Errorf("the API still knows %s", got)
		}
	})

	t.Run("IdleJustUnder", func(t *testing.T) {
		u := app.agent(t)
		u.signIn(teacherEmail)
		app.clock.Advance(web.IdleTimeout - time.Minute)
		wantStatus(t, "GET /account just inside the idle timeout", u.get("/account"), http.StatusOK)
	})

	t.Run("MaxAge", func(t *testing.T) {
		u := app.agent(t)
		u.signIn(financeEmail)
		for h := 1; h <= 11; h++ {
			app.clock.Advance(time.Hour)
			wantStatus(t, strconv.Itoa(h)+"h after sign-in", u.get("/account"), http.StatusOK)
		}
		app.clock.Advance(59 * time.Minute)
		wantStatus(t, "11h59m after sign-in", u.get("/account"), http.StatusOK)
		app.clock.Advance(2 * time.Minute)
		p := u.get("/account")
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/sign-in?next=") {
			t.Errorf("12h01m after sign-in: %d to %q, want a redirect to sign in", p.status, p.location())
		}
		if got := u.signedInAs(); got != "" {
			t.Errorf("still signed in as %s", got)
		}
	})
}

func TestSignIn_RateLimits(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	u := app.agent(t)
	attempt := func(email, password string, want int) {
		t.Helper()
		p := u.signInWithPassword(email, password)
		if p.status != want {
			t.Fatalf("sign in %s: %d, want %d", email, p.status, want)
		}
		if want == http.StatusTooManyRequests {
			if p.header.Get("Retry-After") == "" || !strings.Contains(p.body, "Too many failed attempts") {
				t.Errorf("429 without Retry-After or explanation: %v: %s", p.header, excerpt(p.body))
			}
			if strings.Contains(p.body, password) {
				t.Error("429 page shows the password")
			}
		}
	}

	// Five failures lock the account: even the right password is refused.
	for range 5 {
		attempt(managerEmail, "wrong password 1", http.StatusUnauthorized)
	}
	attempt(managerEmail, demo.Password, http.StatusTooManyRequests)
	attempt(strings.ToUpper(managerEmail), demo.Password, http.StatusTooManyRequests)

	// Another account from the same address still works...
	attempt(teacherEmail, demo.Password, http.StatusSeeOther)
	// ...until the address has failed 20 times in all (5 so far).
	for _, email := range []string{teacherEmail, financeEmail, adviserEmail} {
		for range 5 {
			attempt(email, "wrong password 2", http.StatusUnauthorized)
		}
	}
	attempt(adminEmail, demo.Password, http.StatusTooManyRequests)

	failed := app.audit(t, "sign_in.failed")
	if len(failed) != 20 {
		t.Errorf("%d sign_in.failed entries, want 20", len(failed))
	}
	for _, e := range failed {
		// app.Test's connection has the remote address 0.0.0.0.
		if e.RemoteAddr != "0.0.0.0" || e.Detail != "wrong password" || e.EntityID == "" {
			t.Errorf("audit entry %+v: want the remote address, reason and user", e)
			break
		}
	}
}

func TestSignInLink(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	outbox := func(email string) int {
		return app.count(t, `SELECT count(*) FROM outbox WHERE to_addr = ? AND kind = 'sign_in_link'`, email)
	}

	u := app.agent(t)
	form := u.get("/sign-in/email")
	wantStatus(t, "GET /sign-in/email", form, http.StatusOK)
	p := u.submit("/sign-in/email", url.Values{"email": {managerEmail}})
	wantStatus(t, "POST /sign-in/email", p, http.StatusOK)
	known := strings.ReplaceAll(p.body, managerEmail, "ADDRESS")
	if !strings.Contains(p.body, "If "+managerEmail+" has an account, we have sent it a link") || outbox(managerEmail) != 1 {
		t.Fatalf("known address: %d mails queued, page:\n%s", outbox(managerEmail), excerpt(p.body))
	}

	total := app.count(t, `SELECT count(*) FROM outbox`)
	p = u.submit("/sign-in/email", url.Values{"email": {"nobody@chelmervalley.example"}})
	wantStatus(t, "POST /sign-in/email for an unknown address", p, http.StatusOK)
	if strings.ReplaceAll(p.body, "nobody@chelmervalley.example", "ADDRESS") != known {
		t.Error("the page for an unknown address differs from the page for a known one")
	}
	if app.count(t, `SELECT count(*) FROM outbox`) != total {
		t.Error("a mail was queued for an unknown address")
	}
	p = u.submit("/sign-in/email", url.Values{"email": {"not an address"}})
	wantStatus(t, "POST /sign-in/email with a malformed address", p, http.StatusUnprocessableEntity)
	if !strings.Contains(p.body, "govuk-error-summary") || !strings.Contains(p.body, `value="not an address"`) {
		t.Errorf("malformed address page: %s", excerpt(p.body))
	}

	token := app.linkToken(t, managerEmail, "sign_in")
	path := "/sign-in/link/" + token
	for i := range 2 {
		p := u.get(path)
		wantStatus(t, "GET the link", p, http.StatusOK)
		if !strings.Contains(p.body, "Sign in as Morgan Manager ("+managerEmail+")") || !strings.Contains(p.body, `action="`+path+`"`) {
			t.Fatalf("link page %d:\n%s", i, excerpt(p.body))
		}
	}
	if u.signedInAs() != "" {
		t.Fatal("opening the link signed in")
	}
	p = u.submit(path, nil)
	if p.status != http.StatusSeeOther || p.location() != "/" || u.signedInAs() != managerEmail {
		t.Fatalf("POST the link: %d to %q; signed in as %q", p.status, p.location(), u.signedInAs())
	}
	// The form's token was the visitor's: signing in changed it.
	wantStatus(t, "POST the link again with the visitor's token", u.submit(path, nil), http.StatusForbidden)
	u.get("/")
	p = u.submit(path, nil)
	wantStatus(t, "POST the link again", p, http.StatusGone)
	if !strings.Contains(p.body, "This link has expired") {
		t.Errorf("410 page: %s", excerpt(p.body))
	}
	wantStatus(t, "GET the spent link", u.get(path), http.StatusGone)

	t.Run("Expired", func(t *testing.T) {
		v := app.agent(t)
		v.get("/sign-in/email")
		wantStatus(t, "POST /sign-in/email", v.submit("/sign-in/email", url.Values{"email": {teacherEmail}}), http.StatusOK)
		path := "/sign-in/link/" + app.linkToken(t, teacherEmail, "sign_in")
		wantStatus(t, "GET a fresh link", v.get(path), http.StatusOK)
		app.clock.Advance(account.SignInLinkTTL + time.Second)
		wantStatus(t, "GET a link older than 15 minutes", v.get(path), http.StatusGone)
		wantStatus(t, "POST a link older than 15 minutes", v.submit(path, nil), http.StatusGone)
		if v.signedInAs() != "" {
			t.Error("an expired link signed in")
		}
	})

	t.Run("WrongPurpose", func(t *testing.T) {
		if err := wiring.Domains(app.db).Accounts.SendSignInLink(context.Background(), financeEmail, ""); err != nil {
			t.Fatal(err)
		}
		v := app.agent(t)
		v.get("/sign-in")
		wantStatus(t, "a sign-in link used to reset a password", v.get("/reset-password/"+app.linkToken(t, financeEmail, "sign_in")), http.StatusGone)
	})

	t.Run("RateLimited", func(t *testing.T) {
		v := app.agent(t)
		v.get("/sign-in/email")
		// Four requests so far from this address; the form allows ten in
		// 15 minutes, whatever they asked for.
		ok := 0
		for i := range 10 {
			// a different address each time: the per-email limit is 3
			p := v.submit("/sign-in/email", url.Values{"email": {fmt.Sprintf("nobody%d@traded.example", i)}})
			if p.status == http.StatusTooManyRequests {
				break
			}
			wantStatus(t, "POST /sign-in/email", p, http.StatusOK)
			ok++
		}
		if ok != 6 {
			t.Errorf("%d more requests allowed, want 6", ok)
		}
	})
}

func TestPasswordLinks(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})

	t.Run("Reset", func(t *testing.T) {
		u := app.agent(t)
		u.get("/forgot-password")
		p := u.submit("/forgot-password", url.Values{"email": {adviserEmail}})
		wantStatus(t, "POST /forgot-password", p, http.StatusOK)
		if !strings.Contains(p.body, "If "+adviserEmail+" has an account") {
			t.Errorf("page: %s", excerpt(p.body))
		}
		before := app.count(t, `SELECT count(*) FROM outbox`)
		wantStatus(t, "POST /forgot-password unknown", u.submit("/forgot-password", url.Values{"email": {"nobody@traded.example"}}), http.StatusOK)
		if app.count(t, `SELECT count(*) FROM outbox`) != before {
			t.Error("a reset mail was queued for an unknown address")
		}

		path := "/reset-password/" + app.linkToken(t, adviserEmail, "reset_password")
		form := u.get(path)
		wantStatus(t, "GET the reset link", form, http.StatusOK)
		if !strings.Contains(form.body, "Choose a password for "+adviserEmail) {
			t.Errorf("reset page: %s", excerpt(form.body))
		}

		p = u.submit(path, url.Values{"password": {"zebra-crossing-1"}, "confirm": {"zebra-crossing-2"}})
		wantStatus(t, "mismatched confirmation", p, http.StatusUnprocessableEntity)
		if !strings.Contains(p.body, "govuk-error-summary") || !strings.Contains(p.body, "The passwords do not match") || strings.Contains(p.body, "zebra-crossing") {
			t.Errorf("mismatch page (must not show the passwords): %s", excerpt(p.body))
		}
		p = u.submit(path, url.Values{"password": {"weak"}, "confirm": {"weak"}})
		wantStatus(t, "weak password", p, http.StatusUnprocessableEntity)
		if !strings.Contains(p.body, "govuk-error-summary") || !strings.Contains(p.body, "at least 10 characters") {
			t.Errorf("weak password page: %s", excerpt(p.body))
		}
		if u.signedInAs() != "" {
			t.Fatal("a refused password signed in")
		}

		p = u.submit(path, url.Values{"password": {"a brand new password"}, "confirm": {"a brand new password"}})
		if p.status != http.StatusSeeOther || p.location() != "/" {
			t.Fatalf("reset: %d to %q: %s", p.status, p.location(), excerpt(p.body))
		}
		if got := u.signedInAs(); got != adviserEmail {
			t.Errorf("signed in as %q after the reset", got)
		}
		if home := u.get("/"); !strings.Contains(home.body, "Your password has been set") {
			t.Error("no confirmation after the reset")
		}
		wantStatus(t, "the reset link again", u.submit(path, url.Values{"password": {"another password 1"}, "confirm": {"another password 1"}}), http.StatusGone)

		// The old password no longer works (the new hash is bcrypt cost 11:
		// one comparison).
		old := app.agent(t)
		wantStatus(t, "sign in with the old password", old.signInWithPassword(adviserEmail, demo.Password), http.StatusUnauthorized)
	})

	t.Run("SetAfterInvitation", func(t *testing.T) {
		admin := app.agent(t)
		admin.signIn(adminEmail)
		admin.get("/admin/users")
		p := admin.submit("/admin/users", url.Values{"name": {"Nell New"}, "email": {"nell@traded.example"}, "role": {"finance"}})
		wantStatus(t, "POST /admin/users", p, http.StatusSeeOther)

		u := app.agent(t)
		path := "/set-password/" + app.linkToken(t, "nell@traded.example", "set_password")
		wantStatus(t, "GET the set-password link", u.get(path), http.StatusOK)
		p = u.submit(path, url.Values{"password": {"a good long password"}, "confirm": {"a good long passwort"}})
		wantStatus(t, "mismatched confirmation", p, http.StatusUnprocessableEntity)
		if !strings.Contains(p.body, "govuk-error-summary") {
			t.Errorf("mismatch page: %s", excerpt(p.body))
		}
		wantStatus(t, "password is the email", u.submit(path, url.Values{"password": {"nell@traded.example"}, "confirm": {"nell@traded.example"}}), http.StatusUnprocessableEntity)
		wantStatus(t, "set password", u.submit(path, url.Values{"password": {"a good long password"}, "confirm": {"a good long password"}}), http.StatusSeeOther)
		if got := u.signedInAs(); got != "nell@traded.example" {
			t.Errorf("signed in as %q", got)
		}
		if !app.user(t, "nell@traded.example").HasPassword {
			t.Error("no password set")
		}
		// The set-password link of one user does not reset another's.
		wantStatus(t, "the link again", u.get(path), http.StatusGone)
	})

	t.Run("ChangeOnAccountPage", func(t *testing.T) {
		u := app.agent(t)
		u.signIn(financeEmail)
		wantStatus(t, "GET /account", u.get("/account"), http.StatusOK)
		p := u.submit("/account/password", url.Values{"current": {demo.Password}, "password": {"new password one"}, "confirm": {"new password two"}})
		wantStatus(t, "mismatched new passwords", p, http.StatusUnprocessableEntity)
		p = u.submit("/account/password", url.Values{"current": {"not my password"}, "password": {"new password one"}, "confirm": {"new password one"}})
		wantStatus(t, "wrong current password", p, http.StatusUnprocessableEntity)
		if !strings.Contains(p.body, "Your current password is not right") || strings.Contains(p.body, "not my password") {
			t.Errorf("wrong current page: %s", excerpt(p.body))
		}
	})
}

func TestSignOut(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	u := app.agent(t)
	u.signIn(teacherEmail)
	wantStatus(t, "GET /account", u.get("/account"), http.StatusOK)
	old := u.jar["traded_session"]
	if old == "" {
		t.Fatal("no session cookie")
	}
	p := u.submit("/sign-out", nil)
	wantStatus(t, "POST /sign-out", p, http.StatusOK)
	if !strings.Contains(p.body, "You have signed out") || strings.Contains(p.body, "Signed in as") {
		t.Errorf("sign-out page: %s", excerpt(p.body))
	}
	if _, ok := u.jar["traded_session"]; ok {
		t.Error("the session cookie was not cleared")
	}
	if p := u.get("/account"); p.status != http.StatusSeeOther {
		t.Errorf("GET /account after signing out: %d", p.status)
	}
	replay := app.agent(t)
	replay.jar["traded_session"] = old
	if p := replay.get("/account"); p.status != http.StatusSeeOther {
		t.Errorf("the old session cookie still opens /account: %d", p.status)
	}
	if got := replay.signedInAs(); got != "" {
		t.Errorf("the old session cookie still authenticates as %s", got)
	}
	if n := app.count(t, `SELECT count(*) FROM web_sessions WHERE id = ?`, old); n != 0 {
		t.Error("the session is still stored")
	}
	if e := app.audit(t, "sign_out"); len(e) != 1 || e[0].Actor != teacherEmail {
		t.Errorf("audit %+v", e)
	}
}

func TestStaff(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	const newTeacher = "nia@chelmervalley.example"

	mgr := app.agent(t)
	mgr.signIn(managerEmail)
	wantStatus(t, "GET /school/staff", mgr.get("/school/staff"), http.StatusOK)

	p := mgr.submit("/school/staff", url.Values{"name": {"Nia"}, "email": {"not-an-email"}})
	wantStatus(t, "invite with a bad address", p, http.StatusUnprocessableEntity)
	if !strings.Contains(p.body, "govuk-error-summary") || !strings.Contains(p.body, `value="Nia"`) || !strings.Contains(p.body, `value="not-an-email"`) {
		t.Errorf("invite error page does not keep the input: %s", excerpt(p.body))
	}
	p = mgr.submit("/school/staff", url.Values{"name": {"Nia Newteacher"}, "email": {newTeacher}})
	if p.status != http.StatusSeeOther || p.location() != "/school/staff" {
		t.Fatalf("invite: %d to %q: %s", p.status, p.location(), excerpt(p.body))
	}
	staff := mgr.get("/school/staff")
	if !strings.Contains(staff.body, "We have emailed "+newTeacher) || !strings.Contains(staff.body, "Nia Newteacher") {
		t.Errorf("staff page after inviting: %s", excerpt(staff.body))
	}
	teacher := app.user(t, newTeacher)
	if teacher.Role != account.RoleTeacher || teacher.OrganisationURN != 990001 || teacher.HasPassword || !teacher.Active {
		t.Fatalf("invited %+v", teacher)
	}
	if n := app.count(t, `SELECT count(*) FROM outbox WHERE to_addr = ? AND kind = 'set_password_link'`, newTeacher); n != 1 {
		t.Fatalf("%d set_password mails, want 1", n)
	}
	wantStatus(t, "invite the same address again", mgr.submit("/school/staff", url.Values{"name": {"Nia"}, "email": {newTeacher}}), http.StatusConflict)

	// The teacher sets a password with the emailed link and is signed in.
	tu := app.agent(t)
	path := "/set-password/" + app.linkToken(t, newTeacher, "set_password")
	tu.get(path)
	wantStatus(t, "set password", tu.submit(path, url.Values{"password": {"nia's own password"}, "confirm": {"nia's own password"}}), http.StatusSeeOther)
	wantStatus(t, "teacher GET /account", tu.get("/account"), http.StatusOK)

	deactivate := "/school/staff/" + strconv.FormatInt(teacher.ID, 10) + "/deactivate"
	other := app.agent(t)
	other.signIn(otherManagerEmail)
	other.get("/school/staff")
	wantStatus(t, "another school's manager deactivates", other.submit(deactivate, nil), http.StatusNotFound)
	if !app.user(t, newTeacher).Active {
		t.Fatal("another school's manager deactivated the teacher")
	}
	wantStatus(t, "teacher still signed in", tu.get("/account"), http.StatusOK)

	// A manager may not deactivate themselves or LA staff.
	self := "/school/staff/" + strconv.FormatInt(app.user(t, managerEmail).ID, 10) + "/deactivate"
	wantStatus(t, "manager deactivates self", mgr.submit(self, nil), http.StatusForbidden)
	wantStatus(t, "manager deactivates an admin", mgr.submit("/school/staff/"+strconv.FormatInt(app.user(t, adminEmail).ID, 10)+"/deactivate", nil), http.StatusNotFound)
	wantStatus(t, "manager deactivates nobody", mgr.submit("/school/staff/99999/deactivate", nil), http.StatusNotFound)
	wantStatus(t, "manager deactivates a non-number", mgr.submit("/school/staff/x/deactivate", nil), http.StatusNotFound)

	p = mgr.submit(deactivate, nil)
	if p.status != http.StatusSeeOther || p.location() != "/school/staff" {
		t.Fatalf("deactivate: %d to %q", p.status, p.location())
	}
	if app.user(t, newTeacher).Active {
		t.Fatal("still active")
	}
	if p := tu.get("/account"); p.status != http.StatusSeeOther {
		t.Errorf("the deactivated teacher's session still works: GET /account %d", p.status)
	}
	if got := tu.signedInAs(); got != "" {
		t.Errorf("the deactivated teacher is still signed in as %s", got)
	}
	wantStatus(t, "the deactivated teacher signs in", app.agent(t).signInWithPassword(newTeacher, "nia's own password"), http.StatusUnauthorized)
	if e := app.audit(t, "user.deactivate"); len(e) != 1 || e[0].Actor != managerEmail || e[0].EntityID != strconv.FormatInt(teacher.ID, 10) {
		t.Errorf("audit %+v", e)
	}

	// Reactivated, they can sign in again (by link: no password comparison).
	reactivate := "/school/staff/" + strconv.FormatInt(teacher.ID, 10) + "/reactivate"
	wantStatus(t, "another school's manager reactivates", other.submit(reactivate, nil), http.StatusNotFound)
	wantStatus(t, "reactivate", mgr.submit(reactivate, nil), http.StatusSeeOther)
	again := app.agent(t)
	again.signIn(newTeacher)
	if got := again.signedInAs(); got != newTeacher {
		t.Errorf("after reactivation signed in as %q", got)
	}
}

func TestAdminUsers(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	admin := app.agent(t)
	admin.signIn(adminEmail)
	wantStatus(t, "GET /admin/users", admin.get("/admin/users"), http.StatusOK)

	p := admin.submit("/admin/users", url.Values{"name": {"Pat Example"}, "email": {"not-an-email"}, "role": {"teacher"}, "organisation": {"990001"}})
	wantStatus(t, "create with a bad email", p, http.StatusUnprocessableEntity)
	for _, want := range []string{"govuk-error-summary", `value="Pat Example"`, `value="not-an-email"`, `value="990001"`, `<option value="teacher" selected>`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the re-shown form lacks %q", want)
		}
	}
	p = admin.submit("/admin/users", url.Values{"name": {"Pat Example"}, "email": {"pat@traded.example"}, "role": {"finance"}, "organisation": {"990001"}})
	wantStatus(t, "create an LA user with a school", p, http.StatusUnprocessableEntity)
	wantStatus(t, "create with a bad URN", admin.submit("/admin/users", url.Values{"name": {"Pat"}, "email": {"pat@chelmervalley.example"}, "role": {"teacher"}, "organisation": {"St Mary's"}}), http.StatusUnprocessableEntity)
	wantStatus(t, "create with an unknown role", admin.submit("/admin/users", url.Values{"name": {"Pat"}, "email": {"pat@traded.example"}, "role": {"root"}}), http.StatusUnprocessableEntity)

	p = admin.submit("/admin/users", url.Values{"name": {"Pat Example"}, "email": {"Pat@ChelmerValley.example"}, "role": {"teacher"}, "organisation": {"990001"}})
	if p.status != http.StatusSeeOther || p.location() != "/admin/users" {
		t.Fatalf("create: %d to %q: %s", p.status, p.location(), excerpt(p.body))
	}
	pat := app.user(t, "pat@chelmervalley.example")
	if pat.Role != account.RoleTeacher || pat.OrganisationURN != 990001 || pat.HasPassword {
		t.Errorf("created %+v", pat)
	}
	if n := app.count(t, `SELECT count(*) FROM outbox WHERE to_addr = ? AND kind = 'set_password_link'`, pat.Email); n != 1 {
		t.Errorf("%d set_password mails, want 1", n)
	}
	p = admin.submit("/admin/users", url.Values{"name": {"Pat Again"}, "email": {"pat@chelmervalley.example"}, "role": {"teacher"}, "organisation": {"990001"}})
	wantStatus(t, "create a duplicate", p, http.StatusConflict)
	if !strings.Contains(p.body, "There is already an account for pat@chelmervalley.example") {
		t.Errorf("duplicate page: %s", excerpt(p.body))
	}

	id := strconv.FormatInt(pat.ID, 10)
	admin.get("/admin/users")
	wantStatus(t, "school role without a URN", admin.submit("/admin/users/"+id+"/role", url.Values{"role": {"school_manager"}}), http.StatusUnprocessableEntity)
	wantStatus(t, "role of nobody", admin.submit("/admin/users/99999/role", url.Values{"role": {"finance"}}), http.StatusNotFound)
	wantStatus(t, "own role", admin.submit("/admin/users/"+strconv.FormatInt(app.user(t, adminEmail).ID, 10)+"/role", url.Values{"role": {"finance"}}), http.StatusForbidden)
	p = admin.submit("/admin/users/"+id+"/role", url.Values{"role": {"school_manager"}, "organisation": {"990004"}})
	if p.status != http.StatusSeeOther || p.location() != "/admin/users" {
		t.Fatalf("change role: %d to %q: %s", p.status, p.location(), excerpt(p.body))
	}
	if u := app.user(t, pat.Email); u.Role != account.RoleSchoolManager || u.OrganisationURN != 990004 {
		t.Errorf("after the change: %s of %d", u.Role, u.OrganisationURN)
	}

	wantStatus(t, "deactivate self", admin.submit("/admin/users/"+strconv.FormatInt(app.user(t, adminEmail).ID, 10)+"/deactivate", nil), http.StatusForbidden)
	p = admin.submit("/admin/users/"+id+"/deactivate", nil)
	if p.status != http.StatusSeeOther || app.user(t, pat.Email).Active {
		t.Fatalf("deactivate: %d, active %v", p.status, app.user(t, pat.Email).Active)
	}

	audit := admin.get("/admin/audit")
	wantStatus(t, "GET /admin/audit", audit, http.StatusOK)
	for _, action := range []string{"user.create", "user.role", "user.deactivate"} {
		e := app.audit(t, action)
		if len(e) == 0 || e[0].EntityID != id || e[0].Actor != adminEmail || e[0].RemoteAddr == "" {
			t.Errorf("%s: newest entry %+v; want one by %s about user %s", action, e, adminEmail, id)
		}
		if !strings.Contains(audit.body, action+" (user "+id+")") {
			t.Errorf("/admin/audit does not show %s of user %s", action, id)
		}
	}
	filtered := admin.get("/admin/audit?action=user.role")
	if !strings.Contains(filtered.body, "user.role (user "+id+")") || strings.Contains(filtered.body, "user.deactivate (user") {
		t.Error("/admin/audit?action=user.role does not filter")
	}
}
