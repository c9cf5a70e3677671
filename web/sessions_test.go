package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	wiring "traded/app"
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

// TestSessionActions_FormAndJSONAgree: scheduling, changing and cancelling
// a training session and taking its register go one way for the admin's
// pages and the API (sessions.go), so the same bad input is refused with
// the same status and message, beside the form's input at fault (the form
// gives a session's start as a date and a time: an error about the start
// is on the date).
func TestSessionActions_FormAndJSONAgree(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	admin := app.token(t, adminEmail)
	sess := sessionOf(t, app, "mod-y2-new")
	u := app.agent(t)
	u.signIn(adminEmail)
	u.get("/admin/sessions")
	pagePath := fmt.Sprintf("/admin/sessions/%d", sess.ID)
	apiPath := fmt.Sprintf("/api/v1/sessions/%d", sess.ID)
	sessions := app.count(t, `SELECT count(*) FROM sessions`)

	for _, tt := range []struct {
		action, method, apiPath, pagePath string
		cases                             []formAndJSONCase
	}{
		{"Create", "POST", "/api/v1/sessions", "/admin/sessions", []formAndJSONCase{
			{"NoCourse", `{"course":"nope","starts_at":"2027-01-19T16:00","capacity":20}`,
				url.Values{"course": {"nope"}, "date": {"2027-01-19"}, "time": {"16:00"}, "capacity": {"20"}}, "course"},
			{"NoStart", `{"course":"mod-y2-new","capacity":20}`, url.Values{"course": {"mod-y2-new"}, "capacity": {"20"}}, "date"},
			{"TooShort", `{"course":"mod-y2-new","starts_at":"2027-01-19T16:00","duration_minutes":5,"capacity":20}`,
				url.Values{"course": {"mod-y2-new"}, "date": {"2027-01-19"}, "time": {"16:00"}, "duration": {"5"}, "capacity": {"20"}}, "duration"},
			{"NoPlaces", `{"course":"mod-y2-new","starts_at":"2027-01-19T16:00","capacity":0}`,
				url.Values{"course": {"mod-y2-new"}, "date": {"2027-01-19"}, "time": {"16:00"}, "capacity": {"0"}}, "capacity"},
		}},
		{"Update", "PATCH", apiPath, pagePath, []formAndJSONCase{
			{"NoPlaces", `{"capacity":0}`, url.Values{"capacity": {"0"}}, "capacity"},
			{"PlainHTTPLink", `{"joining_url":"http://meet.example/psa"}`, url.Values{"joining_url": {"http://meet.example/psa"}}, "joining_url"},
			{"AnotherYear", `{"starts_at":"2028-01-19T16:00"}`, url.Values{"date": {"2028-01-19"}, "time": {"16:00"}}, "date"},
		}},
		{"Cancel", "POST", apiPath + "/cancel", pagePath + "/cancel", []formAndJSONCase{
			{"NoReason", `{"reason":"  "}`, url.Values{"reason": {"  "}}, "reason"},
		}},
		// Nobody can be marked before the session starts, from either.
		{"Register", "POST", apiPath + "/attendance", pagePath + "/register", []formAndJSONCase{
			{"NotStarted", `{"marks":[{"delegate":1,"attendance":"attended"}]}`, url.Values{}, ""},
		}},
	} {
		for _, c := range tt.cases {
			t.Run(tt.action+"/"+c.name, func(t *testing.T) {
				status, body := app.do(tt.method, tt.apiPath, c.json, "Authorization", admin)
				wantSameError(t, u.submit(tt.pagePath, c.form), status, body, c.input)
			})
		}
	}
	if n := app.count(t, `SELECT count(*) FROM sessions`); n != sessions {
		t.Errorf("refused requests scheduled %d sessions", n-sessions)
	}
	if got, err := wiring.Domains(app.db).Catalogue.FindSessionByID(context.Background(), sess.ID); err != nil || got.Capacity != sess.Capacity ||
		got.JoiningURL != sess.JoiningURL || got.Status != sess.Status {
		t.Errorf("refused changes changed the session: %+v (%v), was %+v", got, err, sess)
	}

	t.Run("Register/BadMark", func(t *testing.T) {
		b := bookByAPI(t, app, app.token(t, managerEmail), sess.ID, [2]string{"Ann Lee", "ann@chelmervalley.example"})
		app.clock.Set(sess.StartsAt.Add(time.Hour))
		u := app.agent(t)
		u.signIn(adminEmail)
		u.get(pagePath)
		did := b.Delegates[0].ID
		status, body := app.do("POST", apiPath+"/attendance", fmt.Sprintf(`{"marks":[{"delegate":%d,"attendance":"maybe"}]}`, did), "Authorization", admin)
		wantSameError(t, u.submit(pagePath+"/register", url.Values{fmt.Sprintf("attendance_%d", did): {"maybe"}}), status, body, "")
		if n := app.count(t, `SELECT count(*) FROM delegates WHERE attendance IS NOT NULL`); n != 0 {
			t.Errorf("refused marks marked %d delegates", n)
		}
	})
}
