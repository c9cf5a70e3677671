package booking

import (
	"bytes"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-ical"

	"traded"
)

// iCalendar methods (RFC 5546).
const (
	MethodRequest = "REQUEST" // an invite, or an update of one
	MethodCancel  = "CANCEL"  // a place or session cancelled
)

// InviteConfig says who sends invites.
type InviteConfig struct {
	// Organizer is the council's training mailbox.
	Organizer     string
	OrganizerName string
	// BaseURL is the public address, for the booking's link.
	BaseURL string
}

func (c InviteConfig) organizer() (string, string) {
	addr, name := c.Organizer, c.OrganizerName
	if addr == "" {
		addr = "traded.services@essex.gov.uk"
	}
	if name == "" {
		name = "Essex County Council training"
	}
	return addr, name
}

// PlaceCancelled reports whether a delegate's place is over: the delegate
// was cancelled or replaced, the booking ended, or the LA cancelled the
// session.
func PlaceCancelled(b *Booking, d *Delegate) bool {
	return d.Status != "active" || b.Status == StatusCancelled || b.Status == StatusDeclined || b.Status == StatusExpired ||
		(b.Session != nil && b.Session.Status == "cancelled")
}

// HasInvite reports whether a delegate's place has an invite at all: once
// the booking has been confirmed. Requests and the waiting list have none.
func HasInvite(b *Booking) bool { return !b.ConfirmedAt.IsZero() }

// Sequence is the iCalendar SEQUENCE of a delegate's invite: the session's
// (raised by every change people must be told of), plus one once the
// delegate's own place is cancelled, so a CANCEL always supersedes the last
// REQUEST. The LA cancelling the session raises the session's own.
func Sequence(b *Booking, d *Delegate) int {
	seq := b.Session.Sequence
	if PlaceCancelled(b, d) && b.Session.Status != "cancelled" {
		seq++
	}
	return seq
}

// InviteEvent returns the VEVENT of one delegate's place: the same UID for
// that delegate and session for ever, in Europe/London time, with the
// joining link, the booking reference, the organiser, the delegate as
// attendee and a 15-minute reminder.
func (c InviteConfig) InviteEvent(b *Booking, d *Delegate, now time.Time) *ical.Component {
	s := b.Session
	ev := ical.NewEvent()
	ev.Props.SetText(ical.PropUID, d.UID)
	ev.Props.SetDateTime(ical.PropDateTimeStamp, now.UTC())
	ev.Props.SetDateTime(ical.PropDateTimeStart, s.StartsAt.In(traded.London))
	ev.Props.SetDateTime(ical.PropDateTimeEnd, s.EndsAt().In(traded.London))
	ev.Props.SetText(ical.PropSummary, s.Title)
	seq := ical.NewProp(ical.PropSequence)
	seq.Value = strconv.Itoa(Sequence(b, d))
	ev.Props.Set(seq)
	status := "CONFIRMED"
	if PlaceCancelled(b, d) {
		status = "CANCELLED"
	}
	ev.Props.SetText(ical.PropStatus, status)
	ev.Props.SetText(ical.PropTransparency, "OPAQUE")

	var desc strings.Builder
	fmt.Fprintf(&desc, "Booking reference %s for %s (%s).\n", b.Reference, d.Name, b.OrgName)
	if s.JoiningURL != "" {
		fmt.Fprintf(&desc, "Join online: %s\n", s.JoiningURL)
	}
	if c.BaseURL != "" {
		fmt.Fprintf(&desc, "Your booking: %s/bookings/%d\n", strings.TrimSuffix(c.BaseURL, "/"), b.ID)
	}
	if s.Presenter != "" {
		fmt.Fprintf(&desc, "Presenter: %s\n", s.Presenter)
	}
	ev.Props.SetText(ical.PropDescription, strings.TrimSpace(desc.String()))
	location := s.Location
	if s.JoiningURL != "" {
		location = s.JoiningURL
		if u, err := url.Parse(s.JoiningURL); err == nil {
			ev.Props.SetURI(ical.PropURL, u)
		}
	}
	if location != "" {
		ev.Props.SetText(ical.PropLocation, location)
	}

	addr, name := c.organizer()
	org := ical.NewProp(ical.PropOrganizer)
	org.Params.Set(ical.ParamCommonName, paramText(name))
	org.SetValueType(ical.ValueCalendarAddress)
	org.Value = "mailto:" + addr
	ev.Props.Set(org)
	att := ical.NewProp(ical.PropAttendee)
	att.Params.Set(ical.ParamCommonName, paramText(d.Name))
	att.Params.Set(ical.ParamRole, "REQ-PARTICIPANT")
	att.Params.Set(ical.ParamParticipationStatus, "ACCEPTED")
	att.SetValueType(ical.ValueCalendarAddress)
	att.Value = "mailto:" + d.Email
	ev.Props.Set(att)

	if status == "CONFIRMED" {
		alarm := ical.NewComponent(ical.CompAlarm)
		alarm.Props.SetText(ical.PropAction, "DISPLAY")
		alarm.Props.SetText(ical.PropDescription, "Reminder: "+s.Title)
		trig := ical.NewProp(ical.PropTrigger)
		trig.SetValueType(ical.ValueDuration)
		trig.Value = "-PT15M"
		alarm.Props.Set(trig)
		ev.Children = append(ev.Children, alarm)
	}
	return ev.Component
}

// LondonTimezone is the VTIMEZONE for Europe/London, GMT in winter and BST
// from the last Sunday of March to the last Sunday of October (01:00 UTC
// both ways), so calendars that do not know the zone still place times
// right across the change.
func LondonTimezone() *ical.Component {
	tz := ical.NewComponent(ical.CompTimezone)
	tz.Props.SetText(ical.PropTimezoneID, "Europe/London")
	part := func(name, from, to, tzname, start, rule string) *ical.Component {
		c := ical.NewComponent(name)
		for _, kv := range [][2]string{
			{ical.PropTimezoneOffsetFrom, from}, {ical.PropTimezoneOffsetTo, to},
		} {
			p := ical.NewProp(kv[0])
			p.SetValueType(ical.ValueUTCOffset)
			p.Value = kv[1]
			c.Props.Set(p)
		}
		c.Props.SetText(ical.PropTimezoneName, tzname)
		dt := ical.NewProp(ical.PropDateTimeStart)
		dt.Value = start
		c.Props.Set(dt)
		rr := ical.NewProp(ical.PropRecurrenceRule)
		rr.SetValueType(ical.ValueRecurrence)
		rr.Value = rule
		c.Props.Set(rr)
		return c
	}
	tz.Children = append(tz.Children,
		part(ical.CompTimezoneDaylight, "+0000", "+0100", "BST", "19810329T010000", "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"),
		part(ical.CompTimezoneStandard, "+0100", "+0000", "GMT", "19961027T020000", "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU"))
	return tz
}

// Calendar encodes events as one iCalendar object with the London
// VTIMEZONE: method REQUEST or CANCEL for mail, or "" for a subscription
// feed. Lines end CRLF and are folded at 75 octets.
func Calendar(method, name string, events ...*ical.Component) ([]byte, error) {
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropProductID, "-//Essex County Council//Traded//EN")
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropCalendarScale, "GREGORIAN")
	if method != "" {
		cal.Props.SetText(ical.PropMethod, method)
	}
	if name != "" {
		x := ical.NewProp("X-WR-CALNAME")
		x.SetText(name)
		cal.Props.Set(x)
		ri := ical.NewProp(ical.PropRefreshInterval)
		ri.SetValueType(ical.ValueDuration)
		ri.Value = "PT1H"
		cal.Props.Set(ri)
	}
	cal.Children = append(cal.Children, LondonTimezone())
	cal.Children = append(cal.Children, events...)
	if len(events) == 0 {
		// An empty feed is still a valid calendar: go-ical refuses one with
		// no components, and the VTIMEZONE is one.
		cal.Children = cal.Children[:1]
	}
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return nil, fmt.Errorf("encode calendar: %w", err)
	}
	return Fold(quoteCN(buf.Bytes())), nil
}

// quoteCN puts every CN parameter value in double quotes. go-ical quotes a
// value only when it holds ; : or , but a name ending in a backslash,
// unquoted, makes python3-icalendar read the next parameter as part of the
// name (CN=Jo \;PARTSTAT=...). A quoted value is valid whatever it holds,
// and paramText has already made sure it holds no double quote.
func quoteCN(b []byte) []byte {
	lines := strings.SplitAfter(string(b), "\r\n")
	for i, line := range lines {
		if !strings.HasPrefix(line, "ATTENDEE;") && !strings.HasPrefix(line, "ORGANIZER;") {
			continue
		}
		at := strings.Index(line, ";CN=")
		if at < 0 || strings.HasPrefix(line[at+4:], `"`) {
			continue
		}
		start := at + 4
		end := start + strings.IndexAny(line[start:], ";:")
		if end < start {
			continue
		}
		lines[i] = line[:start] + `"` + line[start:end] + `"` + line[end:]
	}
	return []byte(strings.Join(lines, ""))
}

// Fold folds content lines longer than 75 octets (RFC 5545 3.1): CRLF and a
// space before each continuation, never inside a UTF-8 character.
func Fold(b []byte) []byte {
	var out bytes.Buffer
	for _, line := range strings.SplitAfter(string(b), "\r\n") {
		body := strings.TrimSuffix(line, "\r\n")
		limit := 75
		for len(body) > limit {
			cut := limit
			for cut > 0 && !utf8.RuneStart(body[cut]) {
				cut--
			}
			out.WriteString(body[:cut])
			out.WriteString("\r\n ")
			body = body[cut:]
			limit = 74 // the leading space counts
		}
		out.WriteString(body)
		if strings.HasSuffix(line, "\r\n") {
			out.WriteString("\r\n")
		}
	}
	return out.Bytes()
}

// GoogleCalendarURL is a link that opens Google Calendar with the session
// filled in.
func (c InviteConfig) GoogleCalendarURL(b *Booking) string {
	s := b.Session
	details := "Booking reference " + b.Reference
	if s.JoiningURL != "" {
		details += "\nJoin online: " + s.JoiningURL
	}
	q := url.Values{}
	q.Set("action", "TEMPLATE")
	q.Set("text", s.Title)
	q.Set("dates", s.StartsAt.UTC().Format("20060102T150405Z")+"/"+s.EndsAt().UTC().Format("20060102T150405Z"))
	q.Set("details", details)
	location := s.JoiningURL
	if location == "" {
		location = s.Location
	}
	q.Set("location", location)
	q.Set("ctz", "Europe/London")
	return "https://calendar.google.com/calendar/render?" + q.Encode()
}

// VisitTimes are when a visit day part runs, in London time.
var VisitTimes = map[string][2]string{"day": {"09:00", "16:00"}, "am": {"09:00", "12:30"}, "pm": {"13:00", "16:30"}}

// VisitEvent returns the VEVENT of a consultancy visit: one event, its UID
// fixed for ever, with the adviser and the school's contacts as attendees;
// on site it is at the school's address.
func (c InviteConfig) VisitEvent(cr *Consultancy, v *Visit, schoolAddress string, attendees []Attendee, now time.Time) *ical.Component {
	at := func(hhmm string) time.Time {
		t, _ := time.ParseInLocation("2006-01-02 15:04", v.Date+" "+hhmm, traded.London)
		return t
	}
	times := VisitTimes[v.Part]
	ev := ical.NewEvent()
	ev.Props.SetText(ical.PropUID, v.UID)
	ev.Props.SetDateTime(ical.PropDateTimeStamp, now.UTC())
	ev.Props.SetDateTime(ical.PropDateTimeStart, at(times[0]))
	ev.Props.SetDateTime(ical.PropDateTimeEnd, at(times[1]))
	ev.Props.SetText(ical.PropSummary, fmt.Sprintf("%s: %s", cr.ServiceName, cr.OrgName))
	seq := ical.NewProp(ical.PropSequence)
	seq.Value = strconv.Itoa(v.Sequence)
	ev.Props.Set(seq)
	status := "CONFIRMED"
	if v.Status == "cancelled" {
		status = "CANCELLED"
	}
	ev.Props.SetText(ical.PropStatus, status)
	location := "Online: the adviser will send the joining link"
	if v.Mode == "onsite" {
		location = cr.OrgName + ", " + schoolAddress
	}
	ev.Props.SetText(ical.PropLocation, location)
	desc := fmt.Sprintf("School-improvement visit %s (%s) with %s.", cr.Reference, cr.ServiceName, cr.AdviserName)
	if c.BaseURL != "" {
		desc += fmt.Sprintf("\nDetails: %s/consultancy/%d", strings.TrimSuffix(c.BaseURL, "/"), cr.ID)
	}
	ev.Props.SetText(ical.PropDescription, desc)
	addr, name := c.organizer()
	org := ical.NewProp(ical.PropOrganizer)
	org.Params.Set(ical.ParamCommonName, paramText(name))
	org.SetValueType(ical.ValueCalendarAddress)
	org.Value = "mailto:" + addr
	ev.Props.Set(org)
	for _, a := range attendees {
		att := ical.NewProp(ical.PropAttendee)
		att.Params.Set(ical.ParamCommonName, paramText(a.Name))
		att.Params.Set(ical.ParamRole, "REQ-PARTICIPANT")
		att.SetValueType(ical.ValueCalendarAddress)
		att.Value = "mailto:" + a.Email
		ev.Props.Add(att)
	}
	if status == "CONFIRMED" {
		alarm := ical.NewComponent(ical.CompAlarm)
		alarm.Props.SetText(ical.PropAction, "DISPLAY")
		alarm.Props.SetText(ical.PropDescription, "Reminder: visit "+cr.Reference)
		trig := ical.NewProp(ical.PropTrigger)
		trig.SetValueType(ical.ValueDuration)
		trig.Value = "-PT15M"
		alarm.Props.Set(trig)
		ev.Children = append(ev.Children, alarm)
	}
	return ev.Component
}

// paramText encodes a parameter value (a CN: a person's name) as RFC 6868
// says, since RFC 5545 parameter values cannot hold a double quote or a
// line break: ^ is ^^, a line break ^n and " is ^'; quoteCN then quotes it.
// A backslash is doubled: RFC 5545 has no escapes in parameters, but ical.js
// and python3-icalendar both read \, as a comma and \\ as one backslash, so
// "Jo \, Smith" only comes back whole written "Jo \\, Smith" (found by
// the property test over every emitter). A name without these characters is
// unchanged.
func paramText(s string) string {
	return strings.NewReplacer("\\", "\\\\", "^", "^^", "\r\n", "^n", "\n", "^n", "\r", "^n", `"`, "^'").Replace(s)
}

// Attendee is someone invited to a visit.
type Attendee struct{ Name, Email string }
