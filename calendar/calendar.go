package calendar

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-ical"
)

// iCalendar methods (RFC 5546).
const (
	MethodRequest = "REQUEST" // an invite, or an update of one
	MethodCancel  = "CANCEL"  // a place, visit or session cancelled
)

// LondonTimezone is the VTIMEZONE for Europe/London, GMT in winter and BST
// from the last Sunday of March to the last Sunday of October (01:00 UTC
// both ways), so calendars that do not know the zone still place times
// right across the change.
func LondonTimezone() *ical.Component {
	tz := ical.NewComponent(ical.CompTimezone)
	tz.Props.SetText(ical.PropTimezoneID, "Europe/London")
	tz.Children = append(tz.Children,
		observance(ical.CompTimezoneDaylight, "+0000", "+0100", "BST", "19810329T010000", "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"),
		observance(ical.CompTimezoneStandard, "+0100", "+0000", "GMT", "19961027T020000", "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU"))
	return tz
}

// observance is one DAYLIGHT or STANDARD part of a VTIMEZONE.
func observance(name, from, to, tzname, start, rule string) *ical.Component {
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

// Calendar encodes events (Event.Component) as one iCalendar object with
// the London VTIMEZONE: method MethodRequest or MethodCancel for mail, or ""
// for a subscription feed, which name, when given, names in the reader's
// calendar list. Lines end CRLF and are folded at 75 octets. It fails when
// go-ical refuses the object (a text value holding a bare CR, two UIDs in
// one event): a plain error, internal to whoever serves it.
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
	// An empty feed is still a valid calendar: go-ical refuses one with no
	// components, and the VTIMEZONE is one.
	cal.Children = append(cal.Children, LondonTimezone())
	cal.Children = append(cal.Children, events...)
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
