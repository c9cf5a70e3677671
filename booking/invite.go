package booking

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"traded/calendar"
)

// InviteConfig is who sends training invites (see calendar.Sender).
type InviteConfig calendar.Sender

// organizer is who sends the invite.
func (c InviteConfig) organizer() (string, string) { return calendar.Sender(c).From() }

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
	location := s.Location
	if s.JoiningURL != "" {
		location = s.JoiningURL
	}
	addr, name := c.organizer()
	ev := calendar.Event{UID: d.UID, Sequence: Sequence(b, d), Stamp: now, Start: s.StartsAt, End: s.EndsAt(),
		Cancelled: PlaceCancelled(b, d), Opaque: true, Summary: s.Title, Description: c.placeDescription(b, d),
		Location: location, URL: s.JoiningURL, OrganizerName: name, OrganizerEmail: addr,
		Attendees: []calendar.Attendee{{Name: d.Name, Email: d.Email, Accepted: true}}, Reminder: "Reminder: " + s.Title}
	return ev.Component()
}

// placeDescription is the body of a delegate's invite: whose place it is,
// how to join, where the booking is and who presents.
func (c InviteConfig) placeDescription(b *Booking, d *Delegate) string {
	s := b.Session
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
	return strings.TrimSpace(desc.String())
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
