package calendar

import (
	"net/url"
	"strconv"
	"time"

	"github.com/emersion/go-ical"
	"github.com/google/uuid"

	"traded"
)

// NewUID returns a new event UID: a UUIDv7 at Traded's domain. A UUIDv7
// begins with the time, so UIDs made one after another sit together in the
// unique indexes that hold them (the delegates', the visits') and a batch of
// bookings writes one page of each, not one each.
func NewUID() string {
	id, err := uuid.NewV7()
	if err != nil {
		panic("calendar: no randomness: " + err.Error())
	}
	return id.String() + "@traded.essex.gov.uk"
}

// Sender is who sends the council's invites, a training place's
// (booking.InviteConfig) or a visit's (consultancy.InviteConfig), and the
// public address their links point to.
type Sender struct {
	// Organizer is the council's training mailbox.
	Organizer     string
	OrganizerName string
	// BaseURL is the public address, for the link to the booking or request.
	BaseURL string
}

// From returns the organiser's address and name: those given, or, where
// either is blank, the council's training mailbox and its name, so that
// every invite the council sends comes from one organiser.
func (s Sender) From() (addr, name string) {
	addr, name = s.Organizer, s.OrganizerName
	if addr == "" {
		addr = "traded.services@essex.gov.uk"
	}
	if name == "" {
		name = "Essex County Council training"
	}
	return addr, name
}

// Attendee is someone invited to an event, by name and email address.
type Attendee struct {
	Name, Email string
	// Accepted marks the place as taken already (PARTSTAT=ACCEPTED), as a
	// delegate's is once booked, so their calendar does not ask them to
	// reply; without it the attendee is asked (the default, NEEDS-ACTION).
	Accepted bool
}

// Event is one VEVENT as Traded writes it: what booking knows of a
// training place, or consultancy of a visit, in the terms of RFC 5545.
type Event struct {
	// UID is the event's identity for ever: every update and the
	// cancellation carry the same one.
	UID string
	// Sequence is raised by every change people must be told of, so a
	// calendar takes the newest version.
	Sequence int
	// Stamp is when this version was written (DTSTAMP, in UTC): the clock's
	// now.
	Stamp time.Time
	// Start and End are written in Europe/London, with the TZID of the
	// VTIMEZONE that Calendar includes.
	Start, End time.Time
	// Cancelled writes STATUS:CANCELLED and drops the reminder; otherwise
	// the event is CONFIRMED.
	Cancelled bool
	// Opaque writes TRANSP:OPAQUE (time shown as busy). It is the default
	// too, so only training invites, which always said so, set it.
	Opaque bool
	// Summary is the title; Description the body, omitted when empty.
	Summary, Description string
	// Location is where, omitted when empty.
	Location string
	// URL is a link for the event, omitted when empty or when it does not
	// parse; it is written as net/url prints it.
	URL string
	// OrganizerName and OrganizerEmail are who sends the invite.
	OrganizerName, OrganizerEmail string
	// Attendees are written in order, each with ROLE=REQ-PARTICIPANT.
	Attendees []Attendee
	// Reminder is the text of a display alarm 15 minutes before the start,
	// on an event that is not cancelled; there is none when it is empty.
	Reminder string
}

// Component builds the event's VEVENT, for Calendar. Names go into CN
// parameters as RFC 6868 says; Calendar quotes them.
func (e Event) Component() *ical.Component {
	ev := ical.NewEvent()
	e.setVersion(ev.Props)
	e.setText(ev.Props)
	ev.Props.Set(address(ical.PropOrganizer, e.OrganizerName, e.OrganizerEmail))
	for _, a := range e.Attendees {
		p := address(ical.PropAttendee, a.Name, a.Email)
		p.Params.Set(ical.ParamRole, "REQ-PARTICIPANT")
		if a.Accepted {
			p.Params.Set(ical.ParamParticipationStatus, "ACCEPTED")
		}
		ev.Props.Add(p)
	}
	if alarm := e.alarm(); alarm != nil {
		ev.Children = append(ev.Children, alarm)
	}
	return ev.Component
}

// setVersion writes which event this is, which version of it and when it
// runs.
func (e Event) setVersion(props ical.Props) {
	props.SetText(ical.PropUID, e.UID)
	props.SetDateTime(ical.PropDateTimeStamp, e.Stamp.UTC())
	props.SetDateTime(ical.PropDateTimeStart, e.Start.In(traded.London))
	props.SetDateTime(ical.PropDateTimeEnd, e.End.In(traded.London))
	seq := ical.NewProp(ical.PropSequence)
	seq.Value = strconv.Itoa(e.Sequence)
	props.Set(seq)
	status := "CONFIRMED"
	if e.Cancelled {
		status = "CANCELLED"
	}
	props.SetText(ical.PropStatus, status)
	if e.Opaque {
		props.SetText(ical.PropTransparency, "OPAQUE")
	}
}

// setText writes what people read: title, body, place and link.
func (e Event) setText(props ical.Props) {
	props.SetText(ical.PropSummary, e.Summary)
	if e.Description != "" {
		props.SetText(ical.PropDescription, e.Description)
	}
	if e.Location != "" {
		props.SetText(ical.PropLocation, e.Location)
	}
	if e.URL != "" {
		if u, err := url.Parse(e.URL); err == nil {
			props.SetURI(ical.PropURL, u)
		}
	}
}

// alarm is the event's reminder, or nil.
func (e Event) alarm() *ical.Component {
	if e.Cancelled || e.Reminder == "" {
		return nil
	}
	alarm := ical.NewComponent(ical.CompAlarm)
	alarm.Props.SetText(ical.PropAction, "DISPLAY")
	alarm.Props.SetText(ical.PropDescription, e.Reminder)
	trig := ical.NewProp(ical.PropTrigger)
	trig.SetValueType(ical.ValueDuration)
	trig.Value = "-PT15M"
	alarm.Props.Set(trig)
	return alarm
}

// address is an ORGANIZER or ATTENDEE: a mailto: calendar address with the
// person's name as its CN.
func address(prop, name, email string) *ical.Prop {
	p := ical.NewProp(prop)
	p.Params.Set(ical.ParamCommonName, paramText(name))
	p.SetValueType(ical.ValueCalendarAddress)
	p.Value = "mailto:" + email
	return p
}
