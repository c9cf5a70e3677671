package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"traded/demo"
	"traded/web"
)

// TestSessions_Owned: sessions are stored hashed and belong to their user;
// a password change ends the user's other sessions (not the one making it),
// a reset ends them all, and deactivating a user ends theirs.
func TestSessions_Owned(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	mine, other := app.agent(t), app.agent(t)
	mine.signIn(managerEmail)
	other.signIn(managerEmail)
	manager := app.user(t, managerEmail)
	if n := app.count(t, `SELECT count(*) FROM web_sessions WHERE user_id = ?`, manager.ID); n != 2 {
		t.Fatalf("%d sessions recorded for the manager, want 2", n)
	}
	if n := app.count(t, `SELECT count(*) FROM web_sessions WHERE id = ?`, mine.jar["traded_session"]); n != 0 {
		t.Error("a session is stored under the id its cookie holds")
	}

	t.Run("PasswordChange", func(t *testing.T) {
		mine.get("/account")
		p := mine.submit("/account/password", url.Values{"current": {demo.Password}, "password": {"a long new password"}, "confirm": {"a long new password"}})
		wantStatus(t, "change password", p, http.StatusSeeOther)
		if got := mine.signedInAs(); got != managerEmail {
			t.Errorf("the browser that changed the password is signed in as %q", got)
		}
		if got := other.signedInAs(); got != "" {
			t.Errorf("the manager's other browser is still signed in as %q", got)
		}
	})

	t.Run("Reset", func(t *testing.T) {
		second := app.agent(t)
		second.signInWithPassword(managerEmail, "a long new password")
		r := app.agent(t)
		r.get("/forgot-password")
		r.submit("/forgot-password", url.Values{"email": {managerEmail}})
		path := "/reset-password/" + app.linkToken(t, managerEmail, "reset_password")
		r.get(path)
		wantStatus(t, "reset", r.submit(path, url.Values{"password": {"the third password"}, "confirm": {"the third password"}}), http.StatusSeeOther)
		for name, u := range map[string]*userAgent{"the first browser": mine, "the second": second} {
			if got := u.signedInAs(); got != "" {
				t.Errorf("after a reset %s is still signed in as %q", name, got)
			}
		}
		if got := r.signedInAs(); got != managerEmail {
			t.Errorf("the browser that reset the password is signed in as %q", got)
		}
	})

	t.Run("Deactivated", func(t *testing.T) {
		teacher := app.agent(t)
		teacher.signIn(teacherEmail)
		id := app.user(t, teacherEmail).ID
		admin := app.agent(t)
		admin.signIn(adminEmail)
		admin.get("/admin/users")
		p := admin.submit("/admin/users/"+strconv.FormatInt(id, 10)+"/deactivate", nil)
		if p.status != http.StatusSeeOther {
			t.Fatalf("deactivate: %d %s", p.status, excerpt(p.body))
		}
		if n := app.count(t, `SELECT count(*) FROM web_sessions WHERE user_id = ?`, id); n != 0 {
			t.Errorf("%d sessions left for a deactivated user", n)
		}
		if got := teacher.signedInAs(); got != "" {
			t.Errorf("a deactivated teacher is signed in as %q", got)
		}
	})
}
