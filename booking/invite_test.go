package booking_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"traded"
	"traded/booking"
	"traded/store/storetest"
)

// The council's mailbox and public address the invites in these tests name.
const (
	inviteOrganizer = "training@essex.example"
	inviteBaseURL   = "https://traded.test"
)

var inviteCfg = booking.InviteConfig{Organizer: inviteOrganizer, BaseURL: inviteBaseURL}

// parsedCalendar is what tests/ics/check.mjs (ical.js) and check.py
// (python3-icalendar) print for one .ics file.
type parsedCalendar struct {
	Parser    string        `json:"parser"`
	Method    string        `json:"method"`
	Timezones []string      `json:"timezones"`
	Events    []parsedEvent `json:"events"`
	Errors    []string      `json:"errors"`
}

type parsedEvent struct {
	UID        string   `json:"uid"`
	Sequence   *int     `json:"sequence"`
	Status     string   `json:"status"`
	Summary    string   `json:"summary"`
	StartUTC   string   `json:"dtstart_utc"`
	EndUTC     string   `json:"dtend_utc"`
	StartZone  string   `json:"dtstart_zone"`      // ical.js: the zone the start resolved to ("floating" if none)
	StartOlson string   `json:"dtstart_utc_olson"` // python: the start by the TZID's name alone (pytz)
	TZID       string   `json:"tzid"`
	Organizer  string   `json:"organizer"`
	Attendee   string   `json:"attendee"`
	Attendees  []string `json:"attendees"`
	// the CN parameters, RFC 6868 decoded
	OrganizerName *string   `json:"organizer_name"`
	AttendeeNames []*string `json:"attendee_names"`
	Location      string    `json:"location"`
	URL           string    `json:"url"`
	Description   string    `json:"description"`
	Alarms        []string  `json:"alarms"`
}

// icsParsers are the two parsers no one here wrote, each a command that
// takes an .ics path and prints a parsedCalendar.
type icsParser struct {
	name string
	cmd  func(path string) *exec.Cmd
}

var (
	parsersOnce sync.Once
	parsers     []icsParser
	parsersErr  string
)

// findParsers locates node with ical.js and Debian's python3-icalendar. A
// missing one fails the test: these checks are the point, never skipped.
func findParsers(t *testing.T) []icsParser {
	t.Helper()
	parsersOnce.Do(func() {
		root, err := filepath.Abs("..")
		if err != nil {
			parsersErr = err.Error()
			return
		}
		node, err := exec.LookPath("node")
		if err != nil {
			parsersErr = "node is not installed: the .ics checks need it (apt-get install nodejs, then npm ci)"
			return
		}
		if _, err := os.Stat(filepath.Join(root, "node_modules", "ical.js", "package.json")); err != nil {
			parsersErr = "node_modules/ical.js is missing: run npm ci in " + root
			return
		}
		const python = "/usr/bin/python3"
		if out, err := exec.Command(python, "-c", "import icalendar").CombinedOutput(); err != nil {
			parsersErr = "python3-icalendar is missing (apt-get install -y python3-icalendar): " + strings.TrimSpace(string(out))
			return
		}
		mjs, py := filepath.Join(root, "tests", "ics", "check.mjs"), filepath.Join(root, "tests", "ics", "check.py")
		parsers = []icsParser{
			{"ical.js", func(path string) *exec.Cmd { return exec.Command(node, mjs, path) }},
			{"python3-icalendar", func(path string) *exec.Cmd { return exec.Command(python, py, path) }},
		}
	})
	if parsersErr != "" {
		t.Fatal(parsersErr)
	}
	return parsers
}

// parseICS writes cal to a file and has both parsers read it, at once.
func parseICS(t *testing.T, cal []byte) map[string]*parsedCalendar {
	t.Helper()
	ps := findParsers(t)
	path := filepath.Join(t.TempDir(), "invite.ics")
	if err := os.WriteFile(path, cal, 0o600); err != nil {
		t.Fatal(err)
	}
	out := make([]*parsedCalendar, len(ps))
	errs := make([]string, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var stderr bytes.Buffer
			cmd := p.cmd(path)
			cmd.Stderr = &stderr
			raw, err := cmd.Output()
			if err != nil {
				errs[i] = p.name + ": " + err.Error() + ": " + stderr.String()
				return
			}
			var pc parsedCalendar
			if err := json.Unmarshal(raw, &pc); err != nil {
				errs[i] = p.name + ": output is not JSON: " + err.Error() + ": " + string(raw)
				return
			}
			out[i] = &pc
		}()
	}
	wg.Wait()
	res := map[string]*parsedCalendar{}
	for i, p := range ps {
		if errs[i] != "" {
			t.Fatal(errs[i])
		}
		res[p.name] = out[i]
	}
	return res
}

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
	for name, pc := range parseICS(t, cal) {
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
		if name == "ical.js" && ev.StartZone != "Europe/London" {
			t.Errorf("%s: DTSTART resolved to zone %q, want the file's Europe/London VTIMEZONE", where, ev.StartZone)
		}
		// ...and the VTIMEZONE agrees with the Olson zone of that name.
		if name == "python3-icalendar" && ev.StartOlson != w.start {
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
	checkFolded(t, what, cal)
}

func ptrInt(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// checkFolded checks a generated calendar's lines: CRLF, at most 75 octets,
// whole UTF-8 characters on each, and unfolding then folding again gives the
// same bytes.
func checkFolded(t *testing.T, what string, cal []byte) {
	t.Helper()
	s := string(cal)
	if !strings.HasSuffix(s, "\r\n") {
		t.Errorf("%s: does not end in CRLF", what)
	}
	if strings.Contains(strings.ReplaceAll(s, "\r\n", ""), "\n") || strings.Contains(strings.ReplaceAll(s, "\r\n", ""), "\r") {
		t.Errorf("%s: has a bare LF or CR", what)
	}
	for i, line := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
		if len(line) > 75 {
			t.Errorf("%s line %d: %d octets, over 75: %q", what, i+1, len(line), line)
		}
		if !utf8.ValidString(line) {
			t.Errorf("%s line %d: splits a UTF-8 character: %q", what, i+1, line)
		}
	}
	unfolded := unfold(cal)
	if !bytes.Equal(booking.Fold(unfolded), cal) {
		t.Errorf("%s: folding the unfolded calendar again does not give the same bytes", what)
	}
}

// unfold undoes RFC 5545 folding: a CRLF followed by one space or tab.
func unfold(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n "), nil)
	return bytes.ReplaceAll(b, []byte("\r\n\t"), nil)
}

// inviteCalendar is what a delegate is mailed: the one event, with method.
func inviteCalendar(t *testing.T, method string, b *booking.Booking, d *booking.Delegate, now time.Time) []byte {
	t.Helper()
	cal, err := booking.Calendar(method, "", inviteCfg.InviteEvent(b, d, now))
	if err != nil {
		t.Fatalf("calendar of %s on %s: %v", d.Email, b.Reference, err)
	}
	return cal
}

func utcText(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

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
		checkParsed(t, what, inviteCalendar(t, booking.MethodRequest, b, d, f.clock.Now()), w)
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
		checkParsed(t, what, inviteCalendar(t, booking.MethodCancel, b, d, f.clock.Now()), wantInvite{method: "CANCEL", uid: d.UID,
			sequence: seq, status: "CANCELLED", summary: b.Session.Title, start: start, end: end, attendee: d.Email,
			link: b.Session.JoiningURL, reference: b.Reference})
	}

	t.Run("Winter_GMT", func(t *testing.T) {
		for _, d := range wb.Delegates {
			request(t, "winter "+d.Email, wb, d, "2027-01-19T16:00:00Z", "2027-01-19T17:00:00Z")
		}
		cal := string(inviteCalendar(t, booking.MethodRequest, wb, wb.Delegates[0], now))
		for _, line := range []string{"DTSTART;TZID=Europe/London:20270119T160000\r\n", "DTEND;TZID=Europe/London:20270119T170000\r\n", "DTSTAMP:20261122T100000Z\r\n"} {
			if !strings.Contains(cal, line) {
				t.Errorf("winter calendar lacks %q:\n%s", line, cal)
			}
		}
	})
	t.Run("Summer_BST", func(t *testing.T) {
		request(t, "summer", sb, sb.Delegates[0], "2027-04-29T15:00:00Z", "2027-04-29T16:00:00Z")
		if cal := string(inviteCalendar(t, booking.MethodRequest, sb, sb.Delegates[0], now)); !strings.Contains(cal, "DTSTART;TZID=Europe/London:20270429T160000\r\n") {
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

	// The harness itself: without the VTIMEZONE ical.js floats the time (an
	// hour late in summer) and python notices, so the checks above would
	// catch an invite that lost it.
	t.Run("WithoutVTIMEZONE_ParsersNotice", func(t *testing.T) {
		cal := inviteCalendar(t, booking.MethodRequest, sb, sb.Delegates[0], now)
		s := string(unfold(cal))
		i, j := strings.Index(s, "BEGIN:VTIMEZONE\r\n"), strings.Index(s, "END:VTIMEZONE\r\n")
		if i < 0 || j < i {
			t.Fatalf("no VTIMEZONE in:\n%s", s)
		}
		stripped := booking.Fold([]byte(s[:i] + s[j+len("END:VTIMEZONE\r\n"):]))
		got := parseICS(t, stripped)
		if ev := got["ical.js"].Events; len(ev) != 1 || ev[0].StartZone == "Europe/London" || ev[0].StartUTC == "2027-04-29T15:00:00Z" {
			t.Errorf("ical.js without a VTIMEZONE: %+v; want a floating start, not 15:00Z", ev)
		}
		if errs := got["python3-icalendar"].Errors; len(errs) == 0 {
			t.Error("python check without a VTIMEZONE reported no error")
		}
	})

	t.Run("Reschedule_WeekAndHourLater", func(t *testing.T) {
		at := winter.StartsAt.AddDate(0, 0, 7).Add(time.Hour)
		s, err := f.svc.UpdateSession(f.ctx, f.la, winter.ID, booking.SessionUpdate{StartsAt: &at})
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
		s, err := f.svc.CreateSession(f.ctx, f.la, booking.SessionInput{CourseCode: "psa-briefing-autumn", StartsAt: sat.UTC(),
			Duration: 90 * time.Minute, Capacity: 10, JoiningURL: "https://meet.essex.example/traded/clock-change"})
		if err != nil {
			t.Fatal(err)
		}
		b := f.book(manager, urnMaintained, s.ID, false, "clocks@chelmervalley.example")
		d := b.Delegates[0]
		request(t, "Saturday in BST", b, d, "2026-10-24T15:00:00Z", "2026-10-24T16:30:00Z")

		wed := time.Date(2026, 10, 28, 16, 0, 0, 0, traded.London)
		if _, err := f.svc.UpdateSession(f.ctx, f.la, s.ID, booking.SessionUpdate{StartsAt: &wed}); err != nil {
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

// TestFold folds lines as RFC 5545 says: at most 75 octets a line, CRLF and
// one space before each continuation, never inside a UTF-8 character.
func TestFold(t *testing.T) {
	t.Run("SplitPointsAroundMultibyteCharacters", func(t *testing.T) {
		// Slide "’" (3 octets) and "é" (2 octets) across the 75th octet and
		// the 74-octet continuations, so every split point falls inside one.
		for pad := 40; pad <= 160; pad++ {
			line := "SUMMARY:" + strings.Repeat("x", pad) + "’é’é" + strings.Repeat("é", pad%7) + "’ and the rest of a long title é"
			in := []byte("BEGIN:VEVENT\r\n" + line + "\r\nEND:VEVENT\r\n")
			out := booking.Fold(in)
			lines := strings.Split(strings.TrimSuffix(string(out), "\r\n"), "\r\n")
			for i, l := range lines {
				if len(l) > 75 {
					t.Fatalf("pad %d line %d: %d octets", pad, i, len(l))
				}
				if !utf8.ValidString(l) {
					t.Fatalf("pad %d line %d splits a character: %q", pad, i, l)
				}
				if i >= 2 && i < len(lines)-1 && !strings.HasPrefix(l, " ") {
					t.Fatalf("pad %d line %d: continuation %q does not start with one space", pad, i, l)
				}
				if len(l) < 72 && i >= 1 && i < len(lines)-2 {
					// Only the last piece of a folded line may be short.
					t.Fatalf("pad %d line %d: %d octets in the middle of a fold", pad, i, len(l))
				}
			}
			if !bytes.HasSuffix(out, []byte("\r\n")) {
				t.Fatalf("pad %d: lost the final CRLF", pad)
			}
			if got := unfold(out); !bytes.Equal(got, in) {
				t.Fatalf("pad %d: unfolding gives\n%q\nwant\n%q", pad, got, in)
			}
		}
	})
	t.Run("ShortLinesUntouched", func(t *testing.T) {
		in := []byte("BEGIN:VCALENDAR\r\n" + "X:" + strings.Repeat("a", 73) + "\r\nEND:VCALENDAR\r\n")
		if out := booking.Fold(in); !bytes.Equal(out, in) {
			t.Errorf("a 75-octet line was changed:\n%q", out)
		}
	})
	t.Run("LongUnicodeTitle_ParsersReadItWhole", func(t *testing.T) {
		// A title with "’" and "é" about the 75th octet of its SUMMARY line,
		// in an invite both parsers must read back exactly.
		title := "KS2 teacher assessment: St Cedd’s Church of England Primary, café é’ moderation — Year 6 writing ’é’ é"
		start := time.Date(2027, 1, 19, 16, 0, 0, 0, time.UTC)
		b := &booking.Booking{ID: 7, Reference: "BK-000007", OrgName: "St Cedd’s Church of England Primary School", Status: booking.StatusConfirmed,
			ConfirmedAt: start.AddDate(0, 0, -30),
			Session: &booking.Session{Title: title, StartsAt: start, Duration: time.Hour, Status: "scheduled",
				JoiningURL: "https://meet.essex.example/traded/a-rather-long-joining-link-that-needs-folding-0123456789"}}
		d := &booking.Delegate{Name: "Zoë O’Brien-Éluard", Email: "zoe@stcedds.example", Status: "active", UID: "fold-test@traded.essex.gov.uk"}
		cal := inviteCalendar(t, booking.MethodRequest, b, d, start.AddDate(0, 0, -30))
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
		for name, pc := range parseICS(t, cal) {
			if len(pc.Events) == 1 && !strings.Contains(pc.Events[0].Description, d.Name) {
				t.Errorf("%s: DESCRIPTION %q lacks the delegate's name %q", name, pc.Events[0].Description, d.Name)
			}
		}
	})
}

// TestInvite_NamesPeopleType: delegates' names as people type them (a
// straight double quote, an apostrophe, commas and semicolons, Welsh,
// Polish, Irish, Arabic, CJK and emoji, a caret, a backslash) go into the
// invite's CN, and ical.js and python3-icalendar read each back exactly;
// the summary and description keep the session's title the same way.
func TestInvite_NamesPeopleType(t *testing.T) {
	f := newBookingFixture(t)
	manager := f.user(managerMaintained)
	sess := f.course(coursePSA)
	names := []string{
		`Jo "JJ" Smith`,
		"Seán Ó Briain, Deputy; KS2 lead",
		"Ŵyn ap Llŷr",
		"Łukasz Żółć",
		"فاطمة الزهراء",
		"王小明 🎓",
		`Back\slash ^caret^ 'single'`,
	}
	var in []booking.DelegateInput
	for i, n := range names {
		in = append(in, booking.DelegateInput{Name: n, Email: fmt.Sprintf("person-%d@chelmervalley.example", i)})
	}
	b, err := f.svc.CreateBooking(f.ctx, manager, "127.0.0.1", booking.BookingRequest{SessionID: sess.ID, URN: urnMaintained, Delegates: in})
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range b.Delegates {
		if d.Name != names[i] {
			t.Fatalf("delegate %d stored as %q, want %q", i, d.Name, names[i])
		}
		cal := inviteCalendar(t, booking.MethodRequest, b, d, f.clock.Now())
		for parser, pc := range parseICS(t, cal) {
			if len(pc.Errors) != 0 || len(pc.Events) != 1 {
				t.Errorf("%s: %s: errors %q, %d events", names[i], parser, pc.Errors, len(pc.Events))
				continue
			}
			ev := pc.Events[0]
			if len(ev.AttendeeNames) != 1 || ev.AttendeeNames[0] == nil || *ev.AttendeeNames[0] != names[i] {
				t.Errorf("%s: %s reads the attendee's CN as %v", names[i], parser, ev.AttendeeNames)
			}
			if ev.Summary != sess.Title {
				t.Errorf("%s: %s reads the summary as %q", names[i], parser, ev.Summary)
			}
		}
	}
}
