package calendar_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-ical"

	"traded/calendar"
	"traded/calendar/icstest"
)

// stamp is the fixed "now" of these tests: Sunday 22 November 2026, 10:00
// UTC, as storetest.Epoch.
var stamp = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// place is an event as a training invite fills it, at start for an hour.
func place(uid string, start time.Time) calendar.Event {
	return calendar.Event{UID: uid, Sequence: 1, Stamp: stamp, Start: start, End: start.Add(time.Hour), Opaque: true,
		Summary:     "PSA: KS2 teacher assessment, moderation",
		Description: "Booking reference BK-000001 for Ann Smith (Chelmer Valley).\nJoin online: https://meet.essex.example/x",
		Location:    "https://meet.essex.example/x", URL: "https://meet.essex.example/x",
		OrganizerName: "Essex County Council training", OrganizerEmail: "training@essex.example",
		Attendees: []calendar.Attendee{{Name: "Ann Smith", Email: "ann@chelmervalley.example", Accepted: true}},
		Reminder:  "Reminder: PSA"}
}

// encode is the calendar of events, failing the test on an error.
func encode(t *testing.T, method, name string, events ...calendar.Event) []byte {
	t.Helper()
	var comps []*ical.Component
	for _, e := range events {
		comps = append(comps, e.Component())
	}
	cal, err := calendar.Calendar(method, name, comps...)
	if err != nil {
		t.Fatalf("calendar: %v", err)
	}
	return cal
}

// vtimezone is the London VTIMEZONE as Calendar writes it.
const vtimezone = "BEGIN:VTIMEZONE\r\nTZID:Europe/London\r\n" +
	"BEGIN:DAYLIGHT\r\nDTSTART:19810329T010000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZNAME:BST\r\nTZOFFSETFROM:+0000\r\nTZOFFSETTO:+0100\r\nEND:DAYLIGHT\r\n" +
	"BEGIN:STANDARD\r\nDTSTART:19961027T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZNAME:GMT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0000\r\nEND:STANDARD\r\n" +
	"END:VTIMEZONE\r\n"

// TestCalendar_Bytes pins the writer's output byte for byte: an invite
// with METHOD, a named feed with none, and an empty feed. Mail clients
// have seen these bytes since the first release; a change here is a change
// to every invite and feed.
func TestCalendar_Bytes(t *testing.T) {
	summer := time.Date(2027, 4, 29, 15, 0, 0, 0, time.UTC)
	t.Run("Invite", func(t *testing.T) {
		got := string(encode(t, calendar.MethodRequest, "", place("p-1@traded.essex.gov.uk", summer)))
		want := "BEGIN:VCALENDAR\r\nCALSCALE:GREGORIAN\r\nMETHOD:REQUEST\r\nPRODID:-//Essex County Council//Traded//EN\r\nVERSION:2.0\r\n" +
			vtimezone +
			"BEGIN:VEVENT\r\n" +
			"ATTENDEE;CN=\"Ann Smith\";PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:ann@c\r\n helmervalley.example\r\n" +
			"DESCRIPTION:Booking reference BK-000001 for Ann Smith (Chelmer Valley).\\nJo\r\n in online: https://meet.essex.example/x\r\n" +
			"DTEND;TZID=Europe/London:20270429T170000\r\n" +
			"DTSTAMP:20261122T100000Z\r\n" +
			"DTSTART;TZID=Europe/London:20270429T160000\r\n" +
			"LOCATION:https://meet.essex.example/x\r\n" +
			"ORGANIZER;CN=\"Essex County Council training\":mailto:training@essex.example\r\n" +
			"SEQUENCE:1\r\nSTATUS:CONFIRMED\r\n" +
			"SUMMARY:PSA: KS2 teacher assessment\\, moderation\r\n" +
			"TRANSP:OPAQUE\r\nUID:p-1@traded.essex.gov.uk\r\nURL:https://meet.essex.example/x\r\n" +
			"BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder: PSA\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\n" +
			"END:VEVENT\r\nEND:VCALENDAR\r\n"
		if got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("Feed", func(t *testing.T) {
		got := string(encode(t, "", "Chelmer Valley; training", place("p-1@traded", summer), place("p-2@traded", summer)))
		head := "BEGIN:VCALENDAR\r\nCALSCALE:GREGORIAN\r\nPRODID:-//Essex County Council//Traded//EN\r\nREFRESH-INTERVAL:PT1H\r\n" +
			"VERSION:2.0\r\nX-WR-CALNAME;VALUE=TEXT:Chelmer Valley\\; training\r\n" + vtimezone + "BEGIN:VEVENT\r\n"
		if !strings.HasPrefix(got, head) {
			t.Errorf("got\n%s\nwant it to start\n%s", got, head)
		}
		if n := strings.Count(got, "BEGIN:VEVENT\r\n"); n != 2 || strings.Index(got, "UID:p-1@") > strings.Index(got, "UID:p-2@") {
			t.Errorf("got %d events, want p-1 then p-2:\n%s", n, got)
		}
	})
	t.Run("EmptyFeed", func(t *testing.T) {
		got := string(encode(t, "", ""))
		want := "BEGIN:VCALENDAR\r\nCALSCALE:GREGORIAN\r\nPRODID:-//Essex County Council//Traded//EN\r\nVERSION:2.0\r\n" + vtimezone + "END:VCALENDAR\r\n"
		if got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("BareCR_Refused", func(t *testing.T) {
		e := place("p-1@traded", summer)
		e.Summary = "a\rb"
		if cal, err := calendar.Calendar(calendar.MethodRequest, "", e.Component()); err == nil {
			t.Errorf("a bare CR in a value encoded as:\n%s", cal)
		}
	})
}

// TestEvent_Component: what each field of an Event writes, and what an
// empty one leaves out.
func TestEvent_Component(t *testing.T) {
	start := time.Date(2027, 1, 19, 16, 0, 0, 0, time.UTC)
	lines := func(t *testing.T, e calendar.Event) string {
		t.Helper()
		return string(icstest.Unfold(encode(t, calendar.MethodRequest, "", e)))
	}
	for _, tt := range []struct {
		name          string
		change        func(*calendar.Event)
		want, notWant []string
	}{
		{"Confirmed", func(*calendar.Event) {},
			[]string{"STATUS:CONFIRMED\r\n", "TRANSP:OPAQUE\r\n", "BEGIN:VALARM\r\n", "DTSTART;TZID=Europe/London:20270119T160000\r\n"}, nil},
		{"Cancelled_NoReminder", func(e *calendar.Event) { e.Cancelled = true },
			[]string{"STATUS:CANCELLED\r\n"}, []string{"VALARM"}},
		{"NoReminderText_NoAlarm", func(e *calendar.Event) { e.Reminder = "" }, nil, []string{"VALARM"}},
		{"NotOpaque_NoTRANSP", func(e *calendar.Event) { e.Opaque = false }, nil, []string{"TRANSP"}},
		{"EmptyTextLeftOut", func(e *calendar.Event) { e.Description, e.Location, e.URL, e.Reminder = "", "", "", "" },
			[]string{"SUMMARY:"}, []string{"DESCRIPTION:", "LOCATION:", "URL:"}},
		{"URLAsNetURLPrintsIt", func(e *calendar.Event) { e.URL = "https://meet.example/a b" },
			[]string{"URL:https://meet.example/a%20b\r\n"}, nil},
		{"UnparsableURL_LeftOut", func(e *calendar.Event) { e.URL = "::not a url" }, nil, []string{"URL:"}},
		{"TimesInLondon_StampInUTC", func(e *calendar.Event) {
			e.Start = time.Date(2027, 6, 15, 7, 0, 0, 0, time.FixedZone("EDT", -4*3600))
			e.End = e.Start.Add(90 * time.Minute)
			e.Stamp = time.Date(2026, 11, 22, 11, 0, 0, 0, time.FixedZone("CET", 3600))
		}, []string{"DTSTART;TZID=Europe/London:20270615T120000\r\n", "DTEND;TZID=Europe/London:20270615T133000\r\n", "DTSTAMP:20261122T100000Z\r\n"}, nil},
		{"AttendeesInOrder_PARTSTATOnlyIfAccepted", func(e *calendar.Event) {
			e.Attendees = []calendar.Attendee{{Name: "Zed", Email: "z@x.example"}, {Name: "Abe", Email: "a@x.example", Accepted: true}}
		}, []string{"ATTENDEE;CN=\"Zed\";ROLE=REQ-PARTICIPANT:mailto:z@x.example\r\nATTENDEE;CN=\"Abe\";PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:a@x.example\r\n"}, nil},
		{"NoAttendees", func(e *calendar.Event) { e.Attendees = nil }, []string{"ORGANIZER;"}, []string{"ATTENDEE"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := place("p@traded", start)
			tt.change(&e)
			got := lines(t, e)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("lacks %q:\n%s", w, got)
				}
			}
			for _, n := range tt.notWant {
				if strings.Contains(got, n) {
					t.Errorf("has %q:\n%s", n, got)
				}
			}
		})
	}
}

// TestLondonTimezone: events in GMT, in BST and either side of both clock
// changes, written with TZID=Europe/London, are placed right by ical.js and
// python3-icalendar from the file's own VTIMEZONE; and without it both
// parsers notice, so the checks would catch a calendar that lost it.
func TestLondonTimezone(t *testing.T) {
	for _, tt := range []struct {
		start time.Time // UTC
		wall  string    // London, as DTSTART says it
	}{
		{time.Date(2027, 1, 19, 16, 0, 0, 0, time.UTC), "20270119T160000"},   // GMT
		{time.Date(2027, 4, 29, 15, 0, 0, 0, time.UTC), "20270429T160000"},   // BST
		{time.Date(2027, 3, 28, 0, 30, 0, 0, time.UTC), "20270328T003000"},   // GMT, just before spring forward
		{time.Date(2027, 3, 28, 2, 30, 0, 0, time.UTC), "20270328T033000"},   // BST, just after
		{time.Date(2026, 10, 24, 23, 30, 0, 0, time.UTC), "20261025T003000"}, // BST, just before fall back
		{time.Date(2026, 10, 25, 2, 30, 0, 0, time.UTC), "20261025T023000"},  // GMT, after
		// Not 01:00-02:00 on 25 October 2026: that hour happens twice, and
		// both parsers read a TZID time in it as the second (GMT), where
		// RFC 5545 3.3.5 says the first. Nothing of ours is on at that hour.
	} {
		t.Run(tt.wall, func(t *testing.T) {
			cal := encode(t, calendar.MethodRequest, "", place("tz@traded", tt.start))
			if !bytes.Contains(cal, []byte("DTSTART;TZID=Europe/London:"+tt.wall+"\r\n")) {
				t.Errorf("does not give the London wall-clock time %s:\n%s", tt.wall, cal)
			}
			want := tt.start.Format("2006-01-02T15:04:05Z")
			for name, pc := range icstest.Parse(t, cal) {
				if len(pc.Errors) != 0 || len(pc.Events) != 1 || len(pc.Timezones) != 1 || pc.Timezones[0] != "Europe/London" {
					t.Errorf("%s: errors %q, %d events, zones %q", name, pc.Errors, len(pc.Events), pc.Timezones)
					continue
				}
				ev := pc.Events[0]
				if ev.StartUTC != want || ev.TZID != "Europe/London" {
					t.Errorf("%s: start %s TZID %q, want %s Europe/London", name, ev.StartUTC, ev.TZID, want)
				}
				if name == icstest.ICALJS && ev.StartZone != "Europe/London" {
					t.Errorf("%s: the start resolved to zone %q, want the file's Europe/London VTIMEZONE", name, ev.StartZone)
				}
				if name == icstest.Python && ev.StartOlson != want {
					t.Errorf("%s: the start by the TZID's name is %s, want %s", name, ev.StartOlson, want)
				}
			}
		})
	}
	t.Run("WithoutVTIMEZONE_ParsersNotice", func(t *testing.T) {
		cal := encode(t, calendar.MethodRequest, "", place("tz@traded", time.Date(2027, 4, 29, 15, 0, 0, 0, time.UTC)))
		s := string(icstest.Unfold(cal))
		i, j := strings.Index(s, "BEGIN:VTIMEZONE\r\n"), strings.Index(s, "END:VTIMEZONE\r\n")
		if i < 0 || j < i {
			t.Fatalf("no VTIMEZONE in:\n%s", s)
		}
		stripped := calendar.Fold([]byte(s[:i] + s[j+len("END:VTIMEZONE\r\n"):]))
		got := icstest.Parse(t, stripped)
		if ev := got[icstest.ICALJS].Events; len(ev) != 1 || ev[0].StartZone == "Europe/London" || ev[0].StartUTC == "2027-04-29T15:00:00Z" {
			t.Errorf("ical.js without a VTIMEZONE: %+v; want a floating start, not 15:00Z", ev)
		}
		if errs := got[icstest.Python].Errors; len(errs) == 0 {
			t.Error("python check without a VTIMEZONE reported no error")
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
			out := calendar.Fold(in)
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
			if got := icstest.Unfold(out); !bytes.Equal(got, in) {
				t.Fatalf("pad %d: unfolding gives\n%q\nwant\n%q", pad, got, in)
			}
		}
	})
	t.Run("ShortLinesUntouched", func(t *testing.T) {
		in := []byte("BEGIN:VCALENDAR\r\n" + "X:" + strings.Repeat("a", 73) + "\r\nEND:VCALENDAR\r\n")
		if out := calendar.Fold(in); !bytes.Equal(out, in) {
			t.Errorf("a 75-octet line was changed:\n%q", out)
		}
	})
	t.Run("LongUnicodeText_ParsersReadItWhole", func(t *testing.T) {
		// A title with "’" and "é" about the 75th octet of its SUMMARY
		// line, and a long description and link, that both parsers must
		// read back exactly.
		e := place("fold-test@traded.essex.gov.uk", time.Date(2027, 1, 19, 16, 0, 0, 0, time.UTC))
		e.Summary = "KS2 teacher assessment: St Cedd’s Church of England Primary, café é’ moderation — Year 6 writing ’é’ é"
		e.URL = "https://meet.essex.example/traded/a-rather-long-joining-link-that-needs-folding-0123456789"
		e.Location = e.URL
		e.Description = "Booking reference BK-000007 for Zoë O’Brien-Éluard (St Cedd’s Church of England Primary School).\nJoin online: " + e.URL
		cal := encode(t, calendar.MethodRequest, "", e)
		icstest.CheckFolded(t, "long unicode text", cal)
		if !bytes.Contains(cal, []byte("\r\n ")) {
			t.Fatalf("nothing was long enough to fold:\n%s", cal)
		}
		for name, pc := range icstest.Parse(t, cal) {
			if len(pc.Errors) != 0 || len(pc.Events) != 1 {
				t.Errorf("%s: errors %q, %d events", name, pc.Errors, len(pc.Events))
				continue
			}
			ev := pc.Events[0]
			if ev.Summary != e.Summary || ev.Description != e.Description || ev.URL != e.URL || ev.Location != e.Location {
				t.Errorf("%s: read summary %q description %q URL %q location %q, want them as written", name, ev.Summary, ev.Description, ev.URL, ev.Location)
			}
		}
	})
}

// namesPeopleType are people's names as they type them: a straight double
// quote, an apostrophe, commas and semicolons, a colon, Welsh, Polish,
// Irish, Arabic, CJK and emoji, a caret, backslashes (one at the end, which
// unquoted swallows the next parameter).
var namesPeopleType = []string{
	`Jo "JJ" Smith`,
	"Seán Ó Briain, Deputy; KS2 lead",
	"Ŵyn ap Llŷr",
	"Łukasz Żółć",
	"فاطمة الزهراء",
	"王小明 🎓",
	`Back\slash ^caret^ 'single'`,
	`Jo \`,
	"Head: Mrs Ng",
}

// TestEvent_NamesPeopleType: names as people type them go into the CN of
// the organiser and of each attendee (RFC 6868 encoded, then quoted), and
// ical.js and python3-icalendar read each back exactly, in order.
func TestEvent_NamesPeopleType(t *testing.T) {
	var events []calendar.Event
	var attendees []calendar.Attendee
	for i, n := range namesPeopleType {
		attendees = append(attendees, calendar.Attendee{Name: n, Email: fmt.Sprintf("person-%d@chelmervalley.example", i), Accepted: i%2 == 0})
	}
	for i, n := range namesPeopleType {
		e := place(fmt.Sprintf("names-%d@traded", i), time.Date(2027, 1, 19, 16, 0, 0, 0, time.UTC))
		e.Summary = "Briefing for " + n
		e.OrganizerName = n
		e.Attendees = attendees
		events = append(events, e)
	}
	cal := encode(t, "", "Names", events...)
	icstest.CheckFolded(t, "names", cal)
	unfolded := string(icstest.Unfold(cal))
	for _, line := range []string{
		`ORGANIZER;CN="Jo ^'JJ^' Smith":mailto:`,
		`ATTENDEE;CN="Jo \\";ROLE=REQ-PARTICIPANT:mailto:`,
		`ATTENDEE;CN="Back\\slash ^^caret^^ 'single'";PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:`,
	} {
		if !strings.Contains(unfolded, "\r\n"+line) {
			t.Errorf("lacks the line %q:\n%s", line, unfolded)
		}
	}
	for parser, pc := range icstest.Parse(t, cal) {
		if len(pc.Errors) != 0 || len(pc.Events) != len(events) {
			t.Fatalf("%s: errors %q, %d events, want %d", parser, pc.Errors, len(pc.Events), len(events))
		}
		for i, ev := range pc.Events {
			n := namesPeopleType[i]
			if ev.OrganizerName == nil || *ev.OrganizerName != n {
				t.Errorf("%s: event %d: organiser's CN read as %v, want %q", parser, i, ev.OrganizerName, n)
			}
			if ev.Summary != "Briefing for "+n {
				t.Errorf("%s: event %d: summary read as %q", parser, i, ev.Summary)
			}
			if len(ev.AttendeeNames) != len(namesPeopleType) {
				t.Errorf("%s: event %d: %d attendees, want %d", parser, i, len(ev.AttendeeNames), len(namesPeopleType))
				continue
			}
			for j, got := range ev.AttendeeNames {
				if got == nil || *got != namesPeopleType[j] {
					t.Errorf("%s: event %d: attendee %d's CN read as %v, want %q", parser, i, j, got, namesPeopleType[j])
				}
			}
		}
	}
}
