package booking_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"traded"
	"traded/booking"
	"traded/calendar"
	"traded/calendar/icstest"
	"traded/catalogue"
	"traded/store/storetest"
)

// The council's mailbox and public address the invites in these tests name.
const (
	inviteOrganizer = "training@essex.example"
	inviteBaseURL   = "https://traded.test"
)

var inviteCfg = booking.InviteConfig{Organizer: inviteOrganizer, BaseURL: inviteBaseURL}

// wantInvite is what one delegate's calendar must say.
type wantInvite struct {
	method     string
	uid        string
	sequence   int
	status     string
	summary    string
	start, end string // UTC, as the parsers print it
	attendee   string
	link       string // the joining link
	reference  string
}

// checkParsed checks what both parsers made of a calendar holding one
// delegate's invite.
func checkParsed(t *testing.T, what string, cal []byte, w wantInvite) {
	t.Helper()
	for name, pc := range icstest.Parse(t, cal) {
		where := what + " (" + name + ", " + pc.Parser + ")"
		if len(pc.Errors) != 0 {
			t.Errorf("%s: parser errors %q", where, pc.Errors)
		}
		if pc.Method != w.method {
			t.Errorf("%s: METHOD got %q, want %q", where, pc.Method, w.method)
		}
		if len(pc.Timezones) != 1 || pc.Timezones[0] != "Europe/London" {
			t.Errorf("%s: VTIMEZONEs got %q, want [Europe/London]", where, pc.Timezones)
		}
		if len(pc.Events) != 1 {
			t.Errorf("%s: got %d VEVENTs, want 1", where, len(pc.Events))
			continue
		}
		ev := pc.Events[0]
		if ev.UID != w.uid {
			t.Errorf("%s: UID got %q, want %q", where, ev.UID, w.uid)
		}
		if ev.Sequence == nil || *ev.Sequence != w.sequence {
			t.Errorf("%s: SEQUENCE got %v, want %d", where, ptrInt(ev.Sequence), w.sequence)
		}
		if ev.Status != w.status {
			t.Errorf("%s: STATUS got %q, want %q", where, ev.Status, w.status)
		}
		if w.summary != "" && ev.Summary != w.summary {
			t.Errorf("%s: SUMMARY got %q, want %q", where, ev.Summary, w.summary)
		}
		if ev.StartUTC != w.start || ev.EndUTC != w.end {
			t.Errorf("%s: start/end in UTC got %s/%s, want %s/%s", where, ev.StartUTC, ev.EndUTC, w.start, w.end)
		}
		if ev.TZID != "Europe/London" {
			t.Errorf("%s: DTSTART TZID got %q, want Europe/London", where, ev.TZID)
		}
		// ical.js found the zone in the file (not floating time)...
		if name == icstest.ICALJS && ev.StartZone != "Europe/London" {
			t.Errorf("%s: DTSTART resolved to zone %q, want the file's Europe/London VTIMEZONE", where, ev.StartZone)
		}
		// ...and the VTIMEZONE agrees with the Olson zone of that name.
		if name == icstest.Python && ev.StartOlson != w.start {
			t.Errorf("%s: start by the TZID's name got %s, want %s", where, ev.StartOlson, w.start)
		}
		if want := "mailto:" + inviteOrganizer; !strings.EqualFold(ev.Organizer, want) {
			t.Errorf("%s: ORGANIZER got %q, want %q", where, ev.Organizer, want)
		}
		if want := "mailto:" + w.attendee; !strings.EqualFold(ev.Attendee, want) || len(ev.Attendees) != 1 {
			t.Errorf("%s: ATTENDEE got %q, want only %q", where, ev.Attendees, want)
		}
		if ev.Location != w.link || ev.URL != w.link {
			t.Errorf("%s: LOCATION %q URL %q, want both the joining link %q", where, ev.Location, ev.URL, w.link)
		}
		if !strings.Contains(ev.Description, w.link) || !strings.Contains(ev.Description, w.reference) {
			t.Errorf("%s: DESCRIPTION %q lacks the joining link %q or booking reference %q", where, ev.Description, w.link, w.reference)
		}
		wantAlarms := []string{"-PT15M"}
		if w.status == "CANCELLED" {
			wantAlarms = nil // no reminder of a place that is gone
		}
		if strings.Join(ev.Alarms, ",") != strings.Join(wantAlarms, ",") {
			t.Errorf("%s: alarm triggers got %q, want %q", where, ev.Alarms, wantAlarms)
		}
	}
	icstest.CheckFolded(t, what, cal)
}

func ptrInt(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// inviteCalendar is what a delegate is mailed: the one event, with method.
func inviteCalendar(t *testing.T, method string, b *booking.Booking, d *booking.Delegate, now time.Time) []byte {
	t.Helper()
	cal, err := calendar.Calendar(method, "", inviteCfg.InviteEvent(b, d, now))
	if err != nil {
		t.Fatalf("calendar of %s on %s: %v", d.Email, b.Reference, err)
	}
	return cal
}

// TestInvite_Parsers builds invites of real bookings for a GMT and a BST
// session, reschedules and cancels them, and has ical.js and
// python3-icalendar read every calendar.
func TestInvite_Parsers(t *testing.T) {
	f := newBookingFixture(t)
	manager := f.user(managerMaintained)
	now := f.clock.Now()

	winter := f.course(coursePSA)
	if got := winter.StartsAt.In(traded.London).Format("Mon 2 Jan 2006 15:04 MST"); got != "Tue 19 Jan 2027 16:00 GMT" {
		t.Fatalf("setup: the winter session starts %s, want Tue 19 Jan 2027 16:00 GMT", got)
	}
	summer := f.course("psa-briefing-summer")
	if got := summer.StartsAt.In(traded.London).Format("Mon 2 Jan 2006 15:04 MST"); got != "Thu 29 Apr 2027 16:00 BST" {
		t.Fatalf("setup: the Summer 1 briefing starts %s, want Thu 29 Apr 2027 16:00 BST", got)
	}
	wb := f.book(manager, urnMaintained, winter.ID, false, "winter-1@chelmervalley.example", "winter-2@chelmervalley.example")
	sb := f.book(manager, urnMaintained, summer.ID, false, "summer-1@chelmervalley.example")
	wantStatus(t, wb, booking.StatusConfirmed)
	wantStatus(t, sb, booking.StatusConfirmed)

	// lastRequest is each delegate's SEQUENCE in the last REQUEST checked.
	lastRequest := map[string]int{}
	request := func(t *testing.T, what string, b *booking.Booking, d *booking.Delegate, start, end string) {
		t.Helper()
		w := wantInvite{method: "REQUEST", uid: d.UID, sequence: b.Session.Sequence, status: "CONFIRMED", summary: b.Session.Title,
			start: start, end: end, attendee: d.Email, link: b.Session.JoiningURL, reference: b.Reference}
		lastRequest[d.UID] = w.sequence
		checkParsed(t, what, inviteCalendar(t, calendar.MethodRequest, b, d, f.clock.Now()), w)
	}
	cancelled := func(t *testing.T, what string, b *booking.Booking, d *booking.Delegate, start, end string) {
		t.Helper()
		if !booking.PlaceCancelled(b, d) {
			t.Fatalf("%s: PlaceCancelled is false", what)
		}
		seq := booking.Sequence(b, d)
		if last, ok := lastRequest[d.UID]; !ok || seq <= last {
			t.Errorf("%s: CANCEL SEQUENCE %d, want more than the last REQUEST's %d (sent: %v)", what, seq, last, ok)
		}
		checkParsed(t, what, inviteCalendar(t, calendar.MethodCancel, b, d, f.clock.Now()), wantInvite{method: "CANCEL", uid: d.UID,
			sequence: seq, status: "CANCELLED", summary: b.Session.Title, start: start, end: end, attendee: d.Email,
			link: b.Session.JoiningURL, reference: b.Reference})
	}

	t.Run("Winter_GMT", func(t *testing.T) {
		for _, d := range wb.Delegates {
			request(t, "winter "+d.Email, wb, d, "2027-01-19T16:00:00Z", "2027-01-19T17:00:00Z")
		}
		cal := string(inviteCalendar(t, calendar.MethodRequest, wb, wb.Delegates[0], now))
		for _, line := range []string{"DTSTART;TZID=Europe/London:20270119T160000\r\n", "DTEND;TZID=Europe/London:20270119T170000\r\n", "DTSTAMP:20261122T100000Z\r\n"} {
			if !strings.Contains(cal, line) {
				t.Errorf("winter calendar lacks %q:\n%s", line, cal)
			}
		}
	})
	t.Run("Summer_BST", func(t *testing.T) {
		request(t, "summer", sb, sb.Delegates[0], "2027-04-29T15:00:00Z", "2027-04-29T16:00:00Z")
		if cal := string(inviteCalendar(t, calendar.MethodRequest, sb, sb.Delegates[0], now)); !strings.Contains(cal, "DTSTART;TZID=Europe/London:20270429T160000\r\n") {
			t.Errorf("summer calendar does not give the London wall-clock time:\n%s", cal)
		}
	})
	t.Run("EachDelegateOwnUID", func(t *testing.T) {
		seen := map[string]bool{}
		for _, d := range append(append([]*booking.Delegate{}, wb.Delegates...), sb.Delegates...) {
			if d.UID == "" || seen[d.UID] {
				t.Errorf("delegate %s: UID %q is empty or shared", d.Email, d.UID)
			}
			seen[d.UID] = true
		}
	})

	t.Run("Reschedule_WeekAndHourLater", func(t *testing.T) {
		at := winter.StartsAt.AddDate(0, 0, 7).Add(time.Hour)
		s, err := f.svc.UpdateSession(f.ctx, f.la, winter.ID, catalogue.SessionUpdate{StartsAt: &at})
		if err != nil {
			t.Fatal(err)
		}
		if s.Sequence != 1 {
			t.Fatalf("session sequence after the move: got %d, want 1", s.Sequence)
		}
		b := f.booking(wb.ID)
		for i, d := range b.Delegates {
			if d.UID != wb.Delegates[i].UID {
				t.Errorf("delegate %s: UID changed from %q to %q", d.Email, wb.Delegates[i].UID, d.UID)
			}
			request(t, "rescheduled "+d.Email, b, d, "2027-01-26T17:00:00Z", "2027-01-26T18:00:00Z")
		}
	})

	t.Run("Reschedule_AcrossClockChange", func(t *testing.T) {
		// Book in October for a Saturday session in BST, then move it past
		// the end of BST (Sunday 25 October 2026).
		f.clock.Set(time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC))
		defer f.clock.Set(storetest.Epoch)
		sat := time.Date(2026, 10, 24, 16, 0, 0, 0, traded.London)
		s, err := f.svc.Catalogue.CreateSession(f.ctx, f.la, catalogue.SessionInput{CourseCode: "psa-briefing-autumn", StartsAt: sat.UTC(),
			Duration: 90 * time.Minute, Capacity: 10, JoiningURL: "https://meet.essex.example/traded/clock-change"})
		if err != nil {
			t.Fatal(err)
		}
		b := f.book(manager, urnMaintained, s.ID, false, "clocks@chelmervalley.example")
		d := b.Delegates[0]
		request(t, "Saturday in BST", b, d, "2026-10-24T15:00:00Z", "2026-10-24T16:30:00Z")

		wed := time.Date(2026, 10, 28, 16, 0, 0, 0, traded.London)
		if _, err := f.svc.UpdateSession(f.ctx, f.la, s.ID, catalogue.SessionUpdate{StartsAt: &wed}); err != nil {
			t.Fatal(err)
		}
		b = f.booking(b.ID)
		if b.Delegates[0].UID != d.UID || b.Session.Sequence != 1 {
			t.Fatalf("after the move: UID %q sequence %d, want %q 1", b.Delegates[0].UID, b.Session.Sequence, d.UID)
		}
		request(t, "Wednesday in GMT", b, b.Delegates[0], "2026-10-28T16:00:00Z", "2026-10-28T17:30:00Z")

		// The school cancels the whole booking.
		if err := f.svc.CancelBooking(f.ctx, manager, "", b.ID, "no longer needed"); err != nil {
			t.Fatal(err)
		}
		b = f.booking(b.ID)
		cancelled(t, "booking cancelled", b, b.Delegates[0], "2026-10-28T16:00:00Z", "2026-10-28T17:30:00Z")
	})

	t.Run("CancelPlace", func(t *testing.T) {
		b := f.booking(wb.ID)
		gone := b.Delegates[1]
		if err := f.svc.CancelPlace(f.ctx, manager, "", b.ID, gone.ID); err != nil {
			t.Fatal(err)
		}
		b = f.booking(wb.ID)
		cancelled(t, "place cancelled", b, b.Delegates[1], "2027-01-26T17:00:00Z", "2027-01-26T18:00:00Z")
		// The other place stands, unchanged.
		request(t, "place kept", b, b.Delegates[0], "2027-01-26T17:00:00Z", "2027-01-26T18:00:00Z")
	})

	t.Run("CancelSession", func(t *testing.T) {
		if err := f.svc.CancelSession(f.ctx, f.la, summer.ID, "presenter ill"); err != nil {
			t.Fatal(err)
		}
		b := f.booking(sb.ID)
		if b.Session.Status != "cancelled" {
			t.Fatalf("session status %s, want cancelled", b.Session.Status)
		}
		cancelled(t, "session cancelled", b, b.Delegates[0], "2027-04-29T15:00:00Z", "2027-04-29T16:00:00Z")
	})

	t.Run("GoogleCalendarURL", func(t *testing.T) {
		for _, tt := range []struct {
			b     *booking.Booking
			dates string
		}{
			{f.booking(wb.ID), "20270126T170000Z/20270126T180000Z"},
			{f.booking(sb.ID), "20270429T150000Z/20270429T160000Z"},
		} {
			u, err := url.Parse(inviteCfg.GoogleCalendarURL(tt.b))
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if u.Host != "calendar.google.com" || q.Get("action") != "TEMPLATE" || q.Get("dates") != tt.dates || q.Get("text") != tt.b.Session.Title {
				t.Errorf("%s: got %s, want dates=%s and the title", tt.b.Reference, u, tt.dates)
			}
			if !strings.Contains(q.Get("details"), tt.b.Reference) || q.Get("location") != tt.b.Session.JoiningURL {
				t.Errorf("%s: details %q location %q, want the reference and joining link", tt.b.Reference, q.Get("details"), q.Get("location"))
			}
		}
	})
}

// TestInvite_LongUnicodeTitle: an invite of a session whose title and
// joining link are long enough to fold, with "’" and "é" about the 75th
// octet, and a delegate with such a name, reads back whole in both parsers.
func TestInvite_LongUnicodeTitle(t *testing.T) {
	title := "KS2 teacher assessment: St Cedd’s Church of England Primary, café é’ moderation — Year 6 writing ’é’ é"
	start := time.Date(2027, 1, 19, 16, 0, 0, 0, time.UTC)
	b := &booking.Booking{ID: 7, Reference: "BK-000007", OrgName: "St Cedd’s Church of England Primary School", Status: booking.StatusConfirmed,
		ConfirmedAt: start.AddDate(0, 0, -30),
		Session: &catalogue.Session{Title: title, StartsAt: start, Duration: time.Hour, Status: "scheduled",
			JoiningURL: "https://meet.essex.example/traded/a-rather-long-joining-link-that-needs-folding-0123456789"}}
	d := &booking.Delegate{Name: "Zoë O’Brien-Éluard", Email: "zoe@stcedds.example", Status: "active", UID: "fold-test@traded.essex.gov.uk"}
	cal := inviteCalendar(t, calendar.MethodRequest, b, d, start.AddDate(0, 0, -30))
	var sawFoldedTitle bool
	for _, l := range strings.Split(string(cal), "\r\n") {
		if strings.HasPrefix(l, "SUMMARY:") && len(l) > 70 {
			sawFoldedTitle = true
		}
	}
	if !sawFoldedTitle {
		t.Fatalf("the SUMMARY line was not long enough to fold:\n%s", cal)
	}
	checkParsed(t, "unicode title", cal, wantInvite{method: "REQUEST", uid: d.UID, sequence: 0, status: "CONFIRMED", summary: title,
		start: "2027-01-19T16:00:00Z", end: "2027-01-19T17:00:00Z", attendee: d.Email, link: b.Session.JoiningURL, reference: b.Reference})
	for name, pc := range icstest.Parse(t, cal) {
		if len(pc.Events) == 1 && !strings.Contains(pc.Events[0].Description, d.Name) {
			t.Errorf("%s: DESCRIPTION %q lacks the delegate's name %q", name, pc.Events[0].Description, d.Name)
		}
	}
}
