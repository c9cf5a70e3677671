package account_test

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"traded"
	"traded/account"
	"traded/app"
	"traded/demo"
	"traded/store"
	"traded/store/storetest"
)

// accounts is a service over a fresh database holding the demo schools,
// hashing passwords at bcrypt's minimum cost so the tests stay quick.
type accounts struct {
	t     *testing.T
	svc   *account.Service
	db    *store.DB
	clock *traded.FixedClock
}

const testPassword = "correct horse battery"

func newAccounts(t *testing.T) *accounts {
	t.Helper()
	db, clock := storetest.Open(t)
	svc := app.Domains(db).Accounts
	svc.PasswordCost = bcrypt.MinCost
	svc.BaseURL = "http://traded.test"
	if err := svc.Organisations.Upsert(context.Background(), store.System, demo.Schools, "demo"); err != nil {
		t.Fatal(err)
	}
	return &accounts{t: t, svc: svc, db: db, clock: clock}
}

// user creates a user with testPassword (urn 0 for LA roles).
func (a *accounts) user(email string, role account.Role, urn int64) *account.User {
	a.t.Helper()
	u, err := a.svc.CreateUser(context.Background(), store.System, account.UserInput{
		Email: email, Name: "Test " + string(role), Role: role, URN: urn, Password: testPassword})
	if err != nil {
		a.t.Fatalf("create %s: %v", email, err)
	}
	return u
}

func (a *accounts) count(query string, args ...any) int {
	a.t.Helper()
	var n int
	if err := a.db.Read().QueryRow(query, args...).Scan(&n); err != nil {
		a.t.Fatal(err)
	}
	return n
}

var linkPattern = regexp.MustCompile(`http://traded\.test(/sign-in/link/|/set-password/|/reset-password/)([A-Za-z0-9_-]+)`)

// link returns the token of the newest emailed link of the kind sent to email.
func (a *accounts) link(email, purpose string) string {
	a.t.Helper()
	var body string
	if err := a.db.Read().QueryRow(`SELECT body_text FROM outbox WHERE to_addr = ? AND kind = ? ORDER BY id DESC LIMIT 1`,
		email, purpose+"_link").Scan(&body); err != nil {
		a.t.Fatalf("no %s link for %s: %v", purpose, email, err)
	}
	m := linkPattern.FindStringSubmatch(body)
	if m == nil {
		a.t.Fatalf("no link in mail body:\n%s", body)
	}
	return m[2]
}

func (a *accounts) audit(action string) []store.AuditEntry {
	a.t.Helper()
	entries, err := a.db.FindAudit(context.Background(), store.AuditFilter{Action: action, Limit: 500})
	if err != nil {
		a.t.Fatal(err)
	}
	var out []store.AuditEntry
	for _, e := range entries {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := traded.ErrorCode(err); got != code {
		t.Fatalf("got error %v (code %q), want code %q", err, got, code)
	}
}

func TestService_CreateUser(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t)

	t.Run("WithPassword", func(t *testing.T) {
		u, err := a.svc.CreateUser(ctx, store.Actor{Name: "admin@traded.example", RemoteAddr: "192.0.2.1"}, account.UserInput{
			Email: "  Morgan@ChelmerValley.Example ", Name: " Morgan Manager ", Role: account.RoleSchoolManager, URN: 990001, Password: testPassword})
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "morgan@chelmervalley.example" || u.Name != "Morgan Manager" || u.Role != account.RoleSchoolManager ||
			u.OrganisationURN != 990001 || u.OrganisationName == "" || !u.Active || !u.HasPassword || !u.CreatedAt.Equal(storetest.Epoch) {
			t.Errorf("got %+v", u)
		}
		if n := a.count(`SELECT count(*) FROM outbox WHERE to_addr = ?`, u.Email); n != 0 {
			t.Errorf("%d mails queued for a user with a password, want 0", n)
		}
		e := a.audit("user.create")
		if len(e) != 1 || e[0].EntityID != strconv.FormatInt(u.ID, 10) || e[0].Actor != "admin@traded.example" || e[0].RemoteAddr != "192.0.2.1" {
			t.Errorf("audit %+v", e)
		}
	})

	t.Run("WithoutPasswordQueuesLink", func(t *testing.T) {
		u, err := a.svc.CreateUser(ctx, store.System, account.UserInput{Email: "ada@traded.example", Name: "Ada Adviser", Role: account.RoleAdviser})
		if err != nil {
			t.Fatal(err)
		}
		if u.HasPassword || u.OrganisationID != 0 {
			t.Errorf("got %+v, want no password and no organisation", u)
		}
		if n := a.count(`SELECT count(*) FROM outbox WHERE to_addr = ? AND kind = 'set_password_link'`, u.Email); n != 1 {
			t.Errorf("%d set_password mails, want 1", n)
		}
		if got, err := a.svc.CheckLink(ctx, a.link(u.Email, "set_password"), "set_password"); err != nil || got.ID != u.ID {
			t.Errorf("the emailed link: %v, %v", got, err)
		}
	})

	for _, tt := range []struct {
		name  string
		in    account.UserInput
		field string
	}{
		{"BadEmail", account.UserInput{Email: "not-an-email", Name: "X", Role: account.RoleAdviser}, "email"},
		{"NoEmail", account.UserInput{Email: " ", Name: "X", Role: account.RoleAdviser}, "email"},
		{"NoName", account.UserInput{Email: "x1@traded.example", Name: "   ", Role: account.RoleAdviser}, "name"},
		{"LongName", account.UserInput{Email: "x2@traded.example", Name: strings.Repeat("n", 201), Role: account.RoleAdviser}, "name"},
		{"UnknownRole", account.UserInput{Email: "x3@traded.example", Name: "X", Role: "superuser"}, "role"},
		{"SchoolRoleWithoutURN", account.UserInput{Email: "x4@traded.example", Name: "X", Role: account.RoleTeacher}, "organisation"},
		{"LARoleWithURN", account.UserInput{Email: "x5@traded.example", Name: "X", Role: account.RoleFinance, URN: 990001}, "organisation"},
		{"UnknownURN", account.UserInput{Email: "x6@traded.example", Name: "X", Role: account.RoleTeacher, URN: 999999}, "organisation"},
		{"ShortPassword", account.UserInput{Email: "x7@traded.example", Name: "X", Role: account.RoleAdmin, Password: "short"}, "password"},
		{"PasswordIsEmail", account.UserInput{Email: "x8@traded.example", Name: "X", Role: account.RoleAdmin, Password: "X8@Traded.example"}, "password"},
		{"PasswordTooLong", account.UserInput{Email: "x9@traded.example", Name: "X", Role: account.RoleAdmin, Password: strings.Repeat("p", 73)}, "password"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			users, mails := a.count(`SELECT count(*) FROM users`), a.count(`SELECT count(*) FROM outbox`)
			_, err := a.svc.CreateUser(ctx, store.System, tt.in)
			wantCode(t, err, traded.EINVALID)
			if f := traded.ErrorField(err); f != tt.field {
				t.Errorf("field %q, want %q", f, tt.field)
			}
			if a.count(`SELECT count(*) FROM users`) != users || a.count(`SELECT count(*) FROM outbox`) != mails {
				t.Error("a refused user left a user or a mail behind")
			}
		})
	}

	t.Run("DuplicateEmail", func(t *testing.T) {
		_, err := a.svc.CreateUser(ctx, store.System, account.UserInput{Email: "MORGAN@chelmervalley.example", Name: "Another", Role: account.RoleTeacher, URN: 990001})
		wantCode(t, err, traded.ECONFLICT)
		if traded.ErrorField(err) != "email" {
			t.Errorf("field %q, want email", traded.ErrorField(err))
		}
	})
}

func TestService_InviteTeacher(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t)
	mgr := a.user("mgr@chelmervalley.example", account.RoleSchoolManager, 990001)
	teacher := a.user("t@chelmervalley.example", account.RoleTeacher, 990001)
	fin := a.user("fin@traded.example", account.RoleFinance, 0)

	u, err := a.svc.InviteTeacher(ctx, mgr, "192.0.2.1", "new@chelmervalley.example", "New Teacher")
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != account.RoleTeacher || u.OrganisationID != mgr.OrganisationID || u.HasPassword {
		t.Errorf("invited %+v", u)
	}
	if n := a.count(`SELECT count(*) FROM outbox WHERE to_addr = ? AND kind = 'set_password_link'`, u.Email); n != 1 {
		t.Errorf("%d set_password mails, want 1", n)
	}
	for _, by := range []*account.User{teacher, fin} {
		_, err := a.svc.InviteTeacher(ctx, by, "", "x-"+string(by.Role)+"@chelmervalley.example", "X")
		wantCode(t, err, traded.EFORBIDDEN)
	}
	inactive := *mgr
	inactive.Active = false
	_, err = a.svc.InviteTeacher(ctx, &inactive, "", "y@chelmervalley.example", "Y")
	wantCode(t, err, traded.EFORBIDDEN)
}

func TestService_Authenticate(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t)
	u := a.user("mgr@chelmervalley.example", account.RoleSchoolManager, 990001)
	gone := a.user("gone@chelmervalley.example", account.RoleTeacher, 990001)
	admin := a.user("admin@traded.example", account.RoleAdmin, 0)
	if err := a.svc.SetUserActive(ctx, admin, "", gone.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.CreateUser(ctx, store.System, account.UserInput{Email: "invited@traded.example", Name: "Invited", Role: account.RoleAdviser}); err != nil {
		t.Fatal(err)
	}

	t.Run("Right", func(t *testing.T) {
		a.clock.Advance(time.Minute)
		got, err := a.svc.Authenticate(ctx, " MGR@ChelmerValley.example ", testPassword, "192.0.2.7")
		if err != nil || got.ID != u.ID {
			t.Fatalf("got %v, %v; want user %d", got, err, u.ID)
		}
		again, _ := a.svc.FindUserByID(ctx, u.ID)
		if !again.LastSignInAt.Equal(a.clock.Now()) {
			t.Errorf("last sign-in %v, want %v", again.LastSignInAt, a.clock.Now())
		}
		if e := a.audit("sign_in"); len(e) != 1 || e[0].Detail != "password" || e[0].RemoteAddr != "192.0.2.7" {
			t.Errorf("audit %+v", e)
		}
	})

	var message string
	for _, tt := range []struct {
		name, email, password, reason string
	}{
		{"WrongPassword", "mgr@chelmervalley.example", "not the password", "wrong password"},
		{"UnknownEmail", "nobody@chelmervalley.example", testPassword, "unknown email"},
		{"Deactivated", "gone@chelmervalley.example", testPassword, "account deactivated"},
		{"NoPasswordSet", "invited@traded.example", "", "no password set"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(a.audit("sign_in.failed"))
			got, err := a.svc.Authenticate(ctx, tt.email, tt.password, "192.0.2.9")
			if got != nil {
				t.Errorf("got user %v", got)
			}
			wantCode(t, err, traded.EUNAUTHORIZED)
			// One answer whatever failed, so the form does not tell who has an account.
			if message == "" {
				message = traded.ErrorMessage(err)
			} else if traded.ErrorMessage(err) != message {
				t.Errorf("message %q differs from %q", traded.ErrorMessage(err), message)
			}
			e := a.audit("sign_in.failed")
			if len(e) != before+1 || e[0].Actor != tt.email || e[0].Detail != tt.reason || e[0].RemoteAddr != "192.0.2.9" {
				t.Errorf("newest sign_in.failed %+v; want actor %s, detail %q", e[0], tt.email, tt.reason)
			}
		})
	}
}

func TestService_ChangePassword(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t)
	u := a.user("fin@traded.example", account.RoleFinance, 0)

	err := a.svc.ChangePassword(ctx, u, "", "wrong current", "a brand new password", "")
	wantCode(t, err, traded.EINVALID)
	if traded.ErrorField(err) != "current" {
		t.Errorf("field %q, want current", traded.ErrorField(err))
	}
	wantCode(t, a.svc.ChangePassword(ctx, u, "", testPassword, "short", ""), traded.EINVALID)
	if err := a.svc.ChangePassword(ctx, u, "", testPassword, "a brand new password", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.Authenticate(ctx, u.Email, testPassword, ""); traded.ErrorCode(err) != traded.EUNAUTHORIZED {
		t.Errorf("old password: %v, want refused", err)
	}
	if _, err := a.svc.Authenticate(ctx, u.Email, "a brand new password", ""); err != nil {
		t.Errorf("new password: %v", err)
	}
}

func TestService_Links(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t)
	u := a.user("t@chelmervalley.example", account.RoleTeacher, 990001)
	admin := a.user("admin@traded.example", account.RoleAdmin, 0)

	t.Run("OnlyForActiveUsers", func(t *testing.T) {
		wantCode(t, a.svc.SendSignInLink(ctx, "not an address", ""), traded.EINVALID)
		before := a.count(`SELECT count(*) FROM outbox`)
		if err := a.svc.SendSignInLink(ctx, "nobody@chelmervalley.example", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		if err := a.svc.SendPasswordReset(ctx, "nobody@chelmervalley.example", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		if n := a.count(`SELECT count(*) FROM outbox`); n != before {
			t.Errorf("links for an unknown address queued %d mails", n-before)
		}
		if e := a.audit("sign_in_link.refused"); len(e) != 1 {
			t.Errorf("audit %+v", e)
		}
	})

	t.Run("SignInExpires", func(t *testing.T) {
		if err := a.svc.SendSignInLink(ctx, " T@ChelmerValley.example", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		token := a.link(u.Email, "sign_in")
		a.clock.Advance(account.SignInLinkTTL - time.Second)
		if got, err := a.svc.CheckLink(ctx, token, "sign_in"); err != nil || got.ID != u.ID {
			t.Fatalf("a second before expiry: %v, %v", got, err)
		}
		if _, err := a.svc.CheckLink(ctx, token, "reset_password"); !errors.Is(err, account.ErrLinkUsed) {
			t.Errorf("used for another purpose: %v, want ErrLinkUsed", err)
		}
		a.clock.Advance(time.Second)
		if _, err := a.svc.UseLink(ctx, token, "sign_in", "", ""); !errors.Is(err, account.ErrLinkUsed) {
			t.Errorf("at expiry: %v, want ErrLinkUsed", err)
		}
		wantCode(t, account.ErrLinkUsed, traded.EINVALID)
	})

	t.Run("ResetPassword", func(t *testing.T) {
		if err := a.svc.SendPasswordReset(ctx, u.Email, ""); err != nil {
			t.Fatal(err)
		}
		token := a.link(u.Email, "reset_password")
		_, err := a.svc.UseLink(ctx, token, "reset_password", "short", "")
		wantCode(t, err, traded.EINVALID)
		if errors.Is(err, account.ErrLinkUsed) {
			t.Fatal("a weak password spent the link")
		}
		got, err := a.svc.UseLink(ctx, token, "reset_password", "a fresh new password", "192.0.2.3")
		if err != nil || got.ID != u.ID {
			t.Fatalf("use: %v, %v", got, err)
		}
		if _, err := a.svc.Authenticate(ctx, u.Email, "a fresh new password", ""); err != nil {
			t.Errorf("new password: %v", err)
		}
		if _, err := a.svc.UseLink(ctx, token, "reset_password", "another new password", ""); !errors.Is(err, account.ErrLinkUsed) {
			t.Errorf("second use: %v, want ErrLinkUsed", err)
		}
	})

	t.Run("DeactivatedUser", func(t *testing.T) {
		if err := a.svc.SendSignInLink(ctx, u.Email, ""); err != nil {
			t.Fatal(err)
		}
		token := a.link(u.Email, "sign_in")
		if err := a.svc.SetUserActive(ctx, admin, "", u.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := a.svc.UseLink(ctx, token, "sign_in", "", ""); !errors.Is(err, account.ErrLinkUsed) {
			t.Errorf("link of a deactivated user: %v, want ErrLinkUsed", err)
		}
		before := a.count(`SELECT count(*) FROM outbox`)
		if err := a.svc.SendSignInLink(ctx, u.Email, ""); err != nil {
			t.Fatal(err)
		}
		if a.count(`SELECT count(*) FROM outbox`) != before {
			t.Error("a sign-in link was queued for a deactivated user")
		}
	})
}

func TestService_UseLink_Concurrent(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t)
	u := a.user("t@chelmervalley.example", account.RoleTeacher, 990001)
	if err := a.svc.SendSignInLink(ctx, u.Email, ""); err != nil {
		t.Fatal(err)
	}
	token := a.link(u.Email, "sign_in")

	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = a.svc.UseLink(ctx, token, "sign_in", "", "192.0.2.1")
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, account.ErrLinkUsed):
			t.Errorf("unexpected error %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent uses succeeded, want exactly 1", ok, n)
	}
	if e := a.audit("sign_in"); len(e) != 1 {
		t.Errorf("%d sign_in audit entries, want 1", len(e))
	}
}

func TestService_APITokens(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t)
	u := a.user("fin@traded.example", account.RoleFinance, 0)
	admin := a.user("admin@traded.example", account.RoleAdmin, 0)
	cli := store.Actor{Name: "cli"}

	_, _, err := a.svc.CreateAPIToken(ctx, cli, u.Email, "  ")
	wantCode(t, err, traded.EINVALID)
	_, _, err = a.svc.CreateAPIToken(ctx, cli, "nobody@traded.example", "ledger")
	wantCode(t, err, traded.ENOTFOUND)

	token, id, err := a.svc.CreateAPIToken(ctx, cli, u.Email, "ledger export")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, "trd_") || len(token) < 40 {
		t.Errorf("token %q", token)
	}
	if n := a.count(`SELECT count(*) FROM api_tokens WHERE token_hash = ? OR label = ?`, token, token); n != 0 {
		t.Error("the token is stored in plain text")
	}
	a.clock.Advance(time.Minute)
	got, err := a.svc.UserByAPIToken(ctx, token)
	if err != nil || got.ID != u.ID {
		t.Fatalf("lookup: %v, %v", got, err)
	}
	tokens, err := a.svc.FindAPITokens(ctx, u.ID)
	if err != nil || len(tokens) != 1 || tokens[0].ID != id || tokens[0].Label != "ledger export" || tokens[0].Revoked ||
		!tokens[0].LastUsedAt.Equal(a.clock.Now()) {
		t.Fatalf("tokens %+v, %v", tokens, err)
	}
	for _, bad := range []string{"", "trd_", "garbage", token + "x", strings.TrimPrefix(token, "trd_")} {
		_, err := a.svc.UserByAPIToken(ctx, bad)
		wantCode(t, err, traded.EUNAUTHORIZED)
	}

	// A deactivated user's token stops working, and works again on reactivation.
	if err := a.svc.SetUserActive(ctx, admin, "", u.ID, false); err != nil {
		t.Fatal(err)
	}
	_, err = a.svc.UserByAPIToken(ctx, token)
	wantCode(t, err, traded.EUNAUTHORIZED)
	if err := a.svc.SetUserActive(ctx, admin, "", u.ID, true); err != nil {
		t.Fatal(err)
	}

	if err := a.svc.RevokeAPIToken(ctx, cli, id); err != nil {
		t.Fatal(err)
	}
	_, err = a.svc.UserByAPIToken(ctx, token)
	wantCode(t, err, traded.EUNAUTHORIZED)
	wantCode(t, a.svc.RevokeAPIToken(ctx, cli, id), traded.ENOTFOUND)
	wantCode(t, a.svc.RevokeAPIToken(ctx, cli, 9999), traded.ENOTFOUND)
	if tokens, _ := a.svc.FindAPITokens(ctx, u.ID); len(tokens) != 1 || !tokens[0].Revoked {
		t.Errorf("after revoking: %+v", tokens)
	}
	if len(a.audit("api_token.create")) != 1 || len(a.audit("api_token.revoke")) != 1 {
		t.Error("token changes are not in the audit log")
	}
}

func TestService_SetUserActive(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t)
	admin := a.user("admin@traded.example", account.RoleAdmin, 0)
	admin2 := a.user("admin2@traded.example", account.RoleAdmin, 0)
	fin := a.user("fin@traded.example", account.RoleFinance, 0)
	adviser := a.user("adviser@traded.example", account.RoleAdviser, 0)
	mgr := a.user("mgr@chelmervalley.example", account.RoleSchoolManager, 990001)
	mgr2 := a.user("mgr2@chelmervalley.example", account.RoleSchoolManager, 990001)
	teacher := a.user("t@chelmervalley.example", account.RoleTeacher, 990001)
	teacher2 := a.user("t2@chelmervalley.example", account.RoleTeacher, 990001)
	otherMgr := a.user("mgr@basildonmeadows.example", account.RoleSchoolManager, 990004)
	otherTeacher := a.user("t@basildonmeadows.example", account.RoleTeacher, 990004)

	for _, tt := range []struct {
		name string
		by   *account.User
		id   int64
		code string
	}{
		{"ManagerOwnTeacher", mgr, teacher.ID, ""},
		{"ManagerOwnSchoolManager", mgr, mgr2.ID, traded.EFORBIDDEN},
		{"ManagerSelf", mgr, mgr.ID, traded.EFORBIDDEN},
		{"ManagerOtherSchoolTeacher", mgr, otherTeacher.ID, traded.ENOTFOUND},
		{"ManagerOtherSchoolManager", otherMgr, teacher2.ID, traded.ENOTFOUND},
		{"ManagerLAUser", mgr, fin.ID, traded.ENOTFOUND},
		{"TeacherColleague", teacher2, teacher.ID, traded.EFORBIDDEN},
		{"Finance", fin, teacher.ID, traded.EFORBIDDEN},
		{"Adviser", adviser, teacher.ID, traded.EFORBIDDEN},
		{"AdminSelf", admin, admin.ID, traded.EFORBIDDEN},
		{"AdminOtherAdmin", admin, admin2.ID, ""},
		{"AdminTeacher", admin, otherTeacher.ID, ""},
		{"UnknownUser", admin, 99999, traded.ENOTFOUND},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := a.svc.SetUserActive(ctx, tt.by, "192.0.2.5", tt.id, false)
			if tt.code != "" {
				wantCode(t, err, tt.code)
				if u, err := a.svc.FindUserByID(ctx, tt.id); err == nil && !u.Active {
					t.Error("a refused deactivation deactivated the user")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u, _ := a.svc.FindUserByID(ctx, tt.id); u.Active {
				t.Fatal("still active")
			}
			e := a.audit("user.deactivate")
			if len(e) == 0 || e[0].EntityID != strconv.FormatInt(tt.id, 10) || e[0].Actor != tt.by.Email || e[0].RemoteAddr != "192.0.2.5" {
				t.Errorf("newest user.deactivate %+v", e)
			}
			// Doing it again changes nothing and records nothing.
			before := len(e)
			if err := a.svc.SetUserActive(ctx, tt.by, "", tt.id, false); err != nil {
				t.Fatal(err)
			}
			if len(a.audit("user.deactivate")) != before {
				t.Error("a no-op deactivation was audited")
			}
			if err := a.svc.SetUserActive(ctx, tt.by, "", tt.id, true); err != nil {
				t.Fatal(err)
			}
			if u, _ := a.svc.FindUserByID(ctx, tt.id); !u.Active {
				t.Error("not reactivated")
			}
		})
	}
}

func TestService_ChangeRole(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t)
	admin := a.user("admin@traded.example", account.RoleAdmin, 0)
	teacher := a.user("t@chelmervalley.example", account.RoleTeacher, 990001)
	mgr := a.user("mgr@chelmervalley.example", account.RoleSchoolManager, 990001)

	for _, tt := range []struct {
		name string
		id   int64
		role account.Role
		urn  int64
		code string
	}{
		{"UnknownRole", teacher.ID, "owner", 990001, traded.EINVALID},
		{"SchoolRoleWithoutURN", teacher.ID, account.RoleSchoolManager, 0, traded.EINVALID},
		{"LARoleWithURN", teacher.ID, account.RoleFinance, 990001, traded.EINVALID},
		{"UnknownURN", teacher.ID, account.RoleSchoolManager, 999999, traded.EINVALID},
		{"UnknownUser", 99999, account.RoleFinance, 0, traded.ENOTFOUND},
		{"OwnRole", admin.ID, account.RoleFinance, 0, traded.EFORBIDDEN},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, a.svc.ChangeRole(ctx, admin, "", tt.id, tt.role, tt.urn), tt.code)
		})
	}
	if len(a.audit("user.role")) != 0 {
		t.Fatal("a refused change was audited")
	}

	t.Run("ToAnotherSchool", func(t *testing.T) {
		if err := a.svc.ChangeRole(ctx, admin, "192.0.2.4", teacher.ID, account.RoleSchoolManager, 990004); err != nil {
			t.Fatal(err)
		}
		u, _ := a.svc.FindUserByID(ctx, teacher.ID)
		if u.Role != account.RoleSchoolManager || u.OrganisationURN != 990004 {
			t.Errorf("got %s of %d, want school_manager of 990004", u.Role, u.OrganisationURN)
		}
		e := a.audit("user.role")
		if len(e) != 1 || e[0].Detail != "t@chelmervalley.example: teacher of URN 990001 -> school_manager of URN 990004" {
			t.Errorf("audit %+v", e)
		}
	})
	t.Run("ToLA", func(t *testing.T) {
		if err := a.svc.ChangeRole(ctx, admin, "", teacher.ID, account.RoleAdviser, 0); err != nil {
			t.Fatal(err)
		}
		if u, _ := a.svc.FindUserByID(ctx, teacher.ID); u.Role != account.RoleAdviser || u.OrganisationID != 0 {
			t.Errorf("got %s of %d, want adviser of none", u.Role, u.OrganisationID)
		}
	})
	t.Run("OnlyAdmins", func(t *testing.T) {
		wantCode(t, a.svc.ChangeRole(ctx, mgr, "", teacher.ID, account.RoleAdmin, 0), traded.EFORBIDDEN)
	})
}
