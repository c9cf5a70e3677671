// Package calendar writes Traded's iCalendar: the invites mailed to
// delegates, advisers and schools, the .ics downloads and the private
// subscription feeds. It owns every detail of the format, so the rest of
// Traded only says what an event is (an Event) and gets its bytes:
//
//   - the VCALENDAR object with METHOD (RFC 5546) for mail or a calendar
//     name and refresh interval for a feed (Calendar);
//   - the one VEVENT builder, Event.Component, with its organiser,
//     attendees and reminder;
//   - the Europe/London VTIMEZONE every DTSTART and DTEND refers to
//     (LondonTimezone), so a calendar that does not know the zone still
//     places times right across the clock change;
//   - RFC 5545 line folding at 75 octets (Fold), RFC 6868 parameter
//     encoding of people's names and the quoting of CN values that the
//     parsers need.
//
// It knows nothing of bookings or visits: booking and consultancy fill an
// Event from them. It may import the go-ical library, the standard library
// and the root package traded (for Europe/London and text helpers); never
// booking, consultancy, store, web, Fiber or any other package of ours
// (arch_test.go checks).
package calendar
