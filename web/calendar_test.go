package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-ical"

	wiring "traded/app"
	"traded/booking"
	"traded/catalogue"
	"traded/pricing"
	"traded/store"
	"traded/web"
)

// icsEvent is one VEVENT as go-ical reads it.
type icsEvent struct {
	uid, status, attendee string
	sequence              int
}

// icsCalendar is a calendar as go-ical reads it.
type icsCalendar struct {
	method, name string
	events       []icsEvent
}

func (c icsCalendar) uids() []string {
	var out []string
	for _, e := range c.events {
		out = append(out, e.uid)
	}
	sort.Strings(out)
	return out
}

func (c icsCalendar) event(uid string) *icsEvent {
	for i := range c.events {
		if c.events[i].uid == uid {
			return &c.events[i]
		}
	}
	return nil
}

// decodeICS reads a calendar with go-ical (Props.Text unescapes values).
func decodeICS(t *testing.T, what, body string) icsCalendar {
	t.Helper()
	cal, err := ical.NewDecoder(strings.NewReader(body)).Decode()
	if err != nil {
		t.Fatalf("%s: calendar does not decode: %v\n%s", what, err, body)
	}
	var out icsCalendar
	out.method, _ = cal.Props.Text(ical.PropMethod)
	out.name, _ = cal.Props.Text("X-WR-CALNAME")
	for _, ev := range cal.Events() {
		var e icsEvent
		var err error
		if e.uid, err = ev.Props.Text(ical.PropUID); err != nil {
			t.Errorf("%s: UID: %v", what, err)
		}
		e.status, _ = ev.Props.Text(ical.PropStatus)
		if p := ev.Props.Get(ical.PropSequence); p != nil {
			if e.sequence, err = p.Int(); err != nil {
				t.Errorf("%s: SEQUENCE: %v", what, err)
			}
		}
		if p := ev.Props.Get(ical.PropAttendee); p != nil {
			e.attendee = strings.TrimPrefix(strings.ToLower(p.Value), "mailto:")
		}
		out.events = append(out.events, e)
	}
	return out
}

// wantICS checks an .ics answer's status and media type and decodes it.
func wantICS(t *testing.T, what string, p *page, method string) icsCalendar {
	t.Helper()
	wantStatus(t, what, p, http.StatusOK)
	mt, params, err := mime.ParseMediaType(p.header.Get("Content-Type"))
	if err != nil || mt != "text/calendar" || params["charset"] != "utf-8" || params["method"] != method {
		t.Errorf("%s: Content-Type %q, want text/calendar; charset=utf-8; method=%s", what, p.header.Get("Content-Type"), method)
	}
	cal := decodeICS(t, what, p.body)
	if cal.method != method {
		t.Errorf("%s: METHOD %q, want %q", what, cal.method, method)
	}
	return cal
}

// bookByAPI books a session through the JSON API and returns the booking
// as the service has it (with the delegates' UIDs).
func bookByAPI(t *testing.T, app *testApp, token string, sessionID int64, delegates ...[2]string) *booking.Booking {
	t.Helper()
	var ds []map[string]string
	for _, d := range delegates {
		ds = append(ds, map[string]string{"name": d[0], "email": d[1]})
	}
	body, _ := json.Marshal(map[string]any{"delegates": ds})
	code, resp := app.do("POST", fmt.Sprintf("/api/v1/sessions/%d/bookings", sessionID), string(body), "Authorization", token)
	if code != http.StatusCreated {
		t.Fatalf("book session %d: %d %s", sessionID, code, resp)
	}
	var j struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(resp), &j); err != nil || j.Status != booking.StatusConfirmed {
		t.Fatalf("book session %d: %v, status %q: %s", sessionID, err, j.Status, resp)
	}
	b, err := wiring.Domains(app.db).Booking.FindBookingByID(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sessionOf(t *testing.T, app *testApp, code string) *catalogue.Session {
	t.Helper()
	year := pricing.AcademicYear(2026)
	sessions, err := wiring.Domains(app.db).Catalogue.FindSessions(context.Background(), catalogue.SessionFilter{Year: &year})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sessions {
		if s.CourseCode == code {
			return s
		}
	}
	t.Fatalf("no 2026/27 session of %s", code)
	return nil
}

func uidOf(t *testing.T, b *booking.Booking, email string) string {
	t.Helper()
	for _, d := range b.Delegates {
		if strings.EqualFold(d.Email, email) {
			return d.UID
		}
	}
	t.Fatalf("booking %s has no delegate %s", b.Reference, email)
	return ""
}

func sorted(s ...string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

var (
	feedLink      = regexp.MustCompile(`value="https://traded\.test/calendar/([A-Za-z0-9_-]+)\.ics"`)
	subscribeLink = regexp.MustCompile(`<a [^>]*href="([^"]*)"[^>]*>Subscribe in your calendar app</a>`)
)

// feedTokens returns the feed addresses' tokens on a user's account page, in
// page order (own feed, then the school's), and the page.
func feedTokens(t *testing.T, u *userAgent) ([]string, *page) {
	t.Helper()
	p := u.get("/account")
	wantStatus(t, "GET /account", p, http.StatusOK)
	var out []string
	for _, m := range feedLink.FindAllStringSubmatch(p.body, -1) {
		out = append(out, m[1])
	}
	return out, p
}

// checkSubscribeLinks checks each feed's one-click webcal:// link.
func checkSubscribeLinks(t *testing.T, who string, p *page, tokens []string) {
	t.Helper()
	links := subscribeLink.FindAllStringSubmatch(p.body, -1)
	if len(links) != len(tokens) {
		t.Errorf("%s's account page: %d subscribe links for %d feeds", who, len(links), len(tokens))
		return
	}
	for i, token := range tokens {
		if want := "webcal://traded.test/calendar/" + token + ".ics"; links[i][1] != want {
			t.Errorf("%s's account page: \"Subscribe in your calendar app\" links to %q, want %q", who, links[i][1], want)
		}
	}
}

// TestCalendar_InvitesAndFeeds: a booking's .ics invite for each role, the
// private feeds with the same UIDs, cancellation, and resetting a feed.
func TestCalendar_InvitesAndFeeds(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true, BaseURL: "https://traded.test"})
	teacherTok, managerTok, otherTok := app.token(t, teacherEmail), app.token(t, managerEmail), app.token(t, otherManagerEmail)
	api := app.agent(t) // no cookies: bearer tokens and feed addresses only

	// The teacher books themself; the manager books the teacher and a
	// colleague on another session.
	own := bookByAPI(t, app, teacherTok, sessionOf(t, app, "psa-ks2-taf").ID, [2]string{"Taylor Teacher", teacherEmail})
	shared := bookByAPI(t, app, managerTok, sessionOf(t, app, "psa-y2-refresher").ID,
		[2]string{"Taylor Teacher", teacherEmail}, [2]string{"Chris Colleague", "chris@chelmervalley.example"})
	ownUID, sharedUID, colleagueUID := uidOf(t, own, teacherEmail), uidOf(t, shared, teacherEmail), uidOf(t, shared, "chris@chelmervalley.example")

	t.Run("Invite_Teacher_OwnPlaceOnly", func(t *testing.T) {
		for _, tt := range []struct {
			b   *booking.Booking
			uid string
		}{{own, ownUID}, {shared, sharedUID}} {
			path := fmt.Sprintf("/api/v1/bookings/%d/invite.ics", tt.b.ID)
			p := api.get(path, "Authorization", teacherTok)
			cal := wantICS(t, "teacher GET "+path, p, "REQUEST")
			if len(cal.events) != 1 || cal.events[0].uid != tt.uid || cal.events[0].attendee != teacherEmail || cal.events[0].status != "CONFIRMED" {
				t.Errorf("teacher's invite for %s: %+v, want one CONFIRMED event %s for %s", tt.b.Reference, cal.events, tt.uid, teacherEmail)
			}
			if cd := p.header.Get("Content-Disposition"); !strings.Contains(cd, tt.b.Reference+".ics") {
				t.Errorf("Content-Disposition %q, want the file named %s.ics", cd, tt.b.Reference)
			}
		}
	})
	t.Run("Invite_Manager_AllDelegates", func(t *testing.T) {
		cal := wantICS(t, "manager", api.get(fmt.Sprintf("/api/v1/bookings/%d/invite.ics", shared.ID), "Authorization", managerTok), "REQUEST")
		if got, want := cal.uids(), sorted(sharedUID, colleagueUID); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("manager's invite UIDs %v, want %v", got, want)
		}
	})
	t.Run("Invite_OtherSchoolsManager_NotFound", func(t *testing.T) {
		p := api.get(fmt.Sprintf("/api/v1/bookings/%d/invite.ics", shared.ID), "Authorization", otherTok)
		wantStatus(t, "another school's manager", p, http.StatusNotFound)
		if strings.Contains(p.body, "BEGIN:VCALENDAR") {
			t.Error("the 404 carries a calendar")
		}
	})
	t.Run("Invite_PagePath_SignedIn", func(t *testing.T) {
		u := app.agent(t)
		u.signIn(teacherEmail)
		cal := wantICS(t, "GET /bookings/{id}/invite.ics", u.get(fmt.Sprintf("/bookings/%d/invite.ics", own.ID)), "REQUEST")
		if len(cal.events) != 1 || cal.events[0].uid != ownUID {
			t.Errorf("page-path invite: %+v, want %s", cal.events, ownUID)
		}
	})

	teacher := app.agent(t)
	teacher.signIn(teacherEmail)
	manager := app.agent(t)
	manager.signIn(managerEmail)
	var teacherFeed, schoolFeed string

	t.Run("AccountPage_FeedLinks", func(t *testing.T) {
		tokens, p := feedTokens(t, teacher)
		if len(tokens) != 1 {
			t.Fatalf("teacher's account page shows %d feeds, want 1 (their own)", len(tokens))
		}
		teacherFeed = tokens[0]
		checkSubscribeLinks(t, "teacher", p, tokens)
		tokens, p = feedTokens(t, manager)
		if len(tokens) != 2 || tokens[0] == tokens[1] {
			t.Fatalf("manager's account page shows feeds %v, want 2 (own and school)", tokens)
		}
		schoolFeed = tokens[1]
		checkSubscribeLinks(t, "manager", p, tokens)
		if again, _ := feedTokens(t, teacher); len(again) != 1 || again[0] != teacherFeed {
			t.Errorf("the feed address changed between visits: %v, then %v", teacherFeed, again)
		}
	})

	feed := func(t *testing.T, token string) icsCalendar {
		t.Helper()
		p := api.get("/calendar/" + token + ".ics")
		wantStatus(t, "GET feed", p, http.StatusOK)
		if mt, _, _ := mime.ParseMediaType(p.header.Get("Content-Type")); mt != "text/calendar" {
			t.Errorf("feed Content-Type %q", p.header.Get("Content-Type"))
		}
		cal := decodeICS(t, "feed", p.body)
		if cal.method != "" {
			t.Errorf("feed has METHOD:%s; a subscription feed has none", cal.method)
		}
		return cal
	}

	t.Run("Feed_Mine_SameUIDsAsInvites", func(t *testing.T) {
		if teacherFeed == "" {
			t.Fatal("no feed address")
		}
		cal := feed(t, teacherFeed)
		if got, want := cal.uids(), sorted(ownUID, sharedUID); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("teacher's feed UIDs %v, want the invites' %v", got, want)
		}
		if !strings.Contains(cal.name, "Taylor Teacher") {
			t.Errorf("feed X-WR-CALNAME %q", cal.name)
		}
	})

	t.Run("Feed_School_EveryDelegate", func(t *testing.T) {
		if schoolFeed == "" {
			t.Fatal("no school feed address")
		}
		cal := feed(t, schoolFeed)
		if got, want := cal.uids(), sorted(ownUID, sharedUID, colleagueUID); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("school feed UIDs %v, want every delegate's %v", got, want)
		}
		// Another school's places are not in it.
		other := bookByAPI(t, app, otherTok, sessionOf(t, app, "psa-ks2-taf").ID, [2]string{"Basil Don", "basil@basildonmeadows.example"})
		if feed(t, schoolFeed).event(uidOf(t, other, "basil@basildonmeadows.example")) != nil {
			t.Error("the school feed lists another school's delegate")
		}
	})

	t.Run("Feed_NoPlaces_StillACalendar", func(t *testing.T) {
		u := app.agent(t)
		u.signIn(adviserEmail)
		tokens, _ := feedTokens(t, u)
		if len(tokens) != 1 {
			t.Fatalf("adviser's account page shows %d feeds, want 1", len(tokens))
		}
		if cal := feed(t, tokens[0]); len(cal.events) != 0 {
			t.Errorf("a feed of someone with no places lists %d events", len(cal.events))
		}
	})

	t.Run("Cancelled_FeedKeepsIt_InviteCancels", func(t *testing.T) {
		code, body := app.do("POST", fmt.Sprintf("/api/v1/bookings/%d/cancel", own.ID), `{"reason":"cannot attend"}`, "Authorization", teacherTok)
		if code != http.StatusOK {
			t.Fatalf("cancel: %d %s", code, body)
		}
		cal := feed(t, teacherFeed)
		ev := cal.event(ownUID)
		if ev == nil || ev.status != "CANCELLED" || ev.sequence != 1 {
			t.Errorf("feed after cancelling: %+v; want %s still listed, CANCELLED, SEQUENCE 1", ev, ownUID)
		}
		if ev := cal.event(sharedUID); ev == nil || ev.status != "CONFIRMED" {
			t.Errorf("the other booking in the feed: %+v, want CONFIRMED", ev)
		}
		inv := wantICS(t, "invite after cancelling", api.get(fmt.Sprintf("/api/v1/bookings/%d/invite.ics", own.ID), "Authorization", teacherTok), "CANCEL")
		if len(inv.events) != 1 || inv.events[0].uid != ownUID || inv.events[0].status != "CANCELLED" || inv.events[0].sequence != 1 {
			t.Errorf("invite after cancelling: %+v, want %s CANCELLED SEQUENCE 1", inv.events, ownUID)
		}
	})

	t.Run("ResetFeed_OldAddressGone", func(t *testing.T) {
		feedTokens(t, teacher) // a page with the reset form, for its CSRF token
		p := teacher.submit("/account/calendar/reset", url.Values{"scope": {"mine"}})
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/account") {
			t.Fatalf("reset: %d to %q: %s", p.status, p.location(), excerpt(p.body))
		}
		wantStatus(t, "old feed address", api.get("/calendar/"+teacherFeed+".ics"), http.StatusNotFound)
		tokens, _ := feedTokens(t, teacher)
		if len(tokens) != 1 || tokens[0] == teacherFeed {
			t.Fatalf("after reset the account page shows %v, want a new address", tokens)
		}
		if got, want := feed(t, tokens[0]).uids(), sorted(ownUID, sharedUID); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("new feed UIDs %v, want %v", got, want)
		}
		// The school feed was not touched.
		wantStatus(t, "school feed after the teacher's reset", api.get("/calendar/"+schoolFeed+".ics"), http.StatusOK)
		// A teacher has no school feed to reset.
		feedTokens(t, teacher)
		wantStatus(t, "teacher resets a school feed", teacher.submit("/account/calendar/reset", url.Values{"scope": {"school"}}), http.StatusForbidden)
		if n := len(app.audit(t, "calendar_feed.reset")); n < 1 {
			t.Errorf("calendar_feed.reset audit entries: %d", n)
		}
	})
}

// TestOutbox_AdminResend: admins see the mail outbox and send a sent or
// failed message again.
func TestOutbox_AdminResend(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true, BaseURL: "https://traded.test"})
	sess := sessionOf(t, app, "psa-ks2-taf")
	bookByAPI(t, app, app.token(t, managerEmail), sess.ID, [2]string{"Dee Legate", "dee@chelmervalley.example"})

	admin := app.agent(t)
	admin.signIn(adminEmail)
	p := admin.get("/admin/outbox")
	wantStatus(t, "GET /admin/outbox", p, http.StatusOK)
	for _, want := range []string{"dee@chelmervalley.example", "Booked: " + sess.Title, "Queued"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("outbox page lacks %q: %s", want, excerpt(p.body))
		}
	}

	var invite, other int64
	if err := app.db.Read().QueryRow(`SELECT id FROM outbox WHERE to_addr = 'dee@chelmervalley.example'`).Scan(&invite); err != nil {
		t.Fatal(err)
	}
	if err := app.db.Read().QueryRow(`SELECT id FROM outbox WHERE to_addr = ? AND kind = 'booking_confirmed'`, managerEmail).Scan(&other); err != nil {
		t.Fatal(err)
	}
	// The worker gave up on the invite, and sent the booker's summary.
	if err := app.db.Write(context.Background(), func(tx *store.Tx) error {
		if _, err := tx.ExecContext(context.Background(), `UPDATE outbox SET status = 'failed', attempts = 8, last_error = '550 mailbox unavailable' WHERE id = ?`, invite); err != nil {
			return err
		}
		_, err := tx.ExecContext(context.Background(), `UPDATE outbox SET status = 'sent', attempts = 1, sent_at = created_at WHERE id = ?`, other)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	p = admin.get("/admin/outbox?status=failed")
	if !strings.Contains(p.body, "dee@chelmervalley.example") || !strings.Contains(p.body, "550 mailbox unavailable") || !strings.Contains(p.body, "/admin/outbox/"+strconv.FormatInt(invite, 10)+"/resend") {
		t.Errorf("failed outbox page does not show the failed invite with its error and a resend button: %s", excerpt(p.body))
	}
	if strings.Contains(p.body, "/admin/outbox/"+strconv.FormatInt(other, 10)+"/resend") {
		t.Error("the failed filter lists a sent message")
	}

	for _, id := range []int64{invite, other} {
		admin.get("/admin/outbox")
		p = admin.submit(fmt.Sprintf("/admin/outbox/%d/resend", id), url.Values{"status": {"failed"}})
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/admin/outbox") {
			t.Fatalf("resend %d: %d to %q: %s", id, p.status, p.location(), excerpt(p.body))
		}
		var status, lastError string
		var attempts int
		if err := app.db.Read().QueryRow(`SELECT status, attempts, last_error FROM outbox WHERE id = ?`, id).Scan(&status, &attempts, &lastError); err != nil {
			t.Fatal(err)
		}
		if status != "queued" || attempts != 0 || lastError != "" {
			t.Errorf("message %d after resend: %s, %d attempts, error %q; want queued, 0, none", id, status, attempts, lastError)
		}
	}
	if n := len(app.audit(t, "mail.resend")); n != 2 {
		t.Errorf("mail.resend audit entries: %d, want 2", n)
	}
	admin.get("/admin/outbox")
	wantStatus(t, "resend a queued message", admin.submit(fmt.Sprintf("/admin/outbox/%d/resend", invite), nil), http.StatusConflict)
	wantStatus(t, "resend an unknown message", admin.submit("/admin/outbox/999999/resend", nil), http.StatusNotFound)

	// Only admins.
	m := app.agent(t)
	m.signIn(managerEmail)
	if p := m.get("/admin/outbox"); p.status == http.StatusOK {
		t.Error("a school manager can see the outbox")
	}
}
