package consultancy

import (
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"traded"
	"traded/calendar"
)

// InviteConfig is who sends visit invites (see calendar.Sender).
type InviteConfig calendar.Sender

// organizer is who sends the invite.
func (c InviteConfig) organizer() (string, string) { return calendar.Sender(c).From() }

// VisitTimes are when a visit day part runs, in London time.
var VisitTimes = map[string][2]string{"day": {"09:00", "16:00"}, "am": {"09:00", "12:30"}, "pm": {"13:00", "16:30"}}

// VisitEvent returns the VEVENT of a consultancy visit: one event, its UID
// fixed for ever, with the adviser and the school's contacts as attendees;
// on site it is at the school's address.
func (c InviteConfig) VisitEvent(cr *Request, v *Visit, schoolAddress string, attendees []calendar.Attendee, now time.Time) *ical.Component {
	at := func(hhmm string) time.Time {
		t, _ := time.ParseInLocation("2006-01-02 15:04", v.Date+" "+hhmm, traded.London)
		return t
	}
	times := VisitTimes[v.Part]
	location := "Online: the adviser will send the joining link"
	if v.Mode == "onsite" {
		location = cr.OrgName + ", " + schoolAddress
	}
	desc := fmt.Sprintf("School-improvement visit %s (%s) with %s.", cr.Reference, cr.ServiceName, cr.AdviserName)
	if c.BaseURL != "" {
		desc += fmt.Sprintf("\nDetails: %s/consultancy/%d", strings.TrimSuffix(c.BaseURL, "/"), cr.ID)
	}
	addr, name := c.organizer()
	ev := calendar.Event{UID: v.UID, Sequence: v.Sequence, Stamp: now, Start: at(times[0]), End: at(times[1]),
		Cancelled: v.Status == "cancelled", Summary: fmt.Sprintf("%s: %s", cr.ServiceName, cr.OrgName), Description: desc,
		Location: location, OrganizerName: name, OrganizerEmail: addr, Attendees: attendees,
		Reminder: "Reminder: visit " + cr.Reference}
	return ev.Component()
}
