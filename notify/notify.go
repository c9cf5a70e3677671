package notify

import (
	"context"
	"fmt"
	"strings"

	"traded"
	"traded/account"
	"traded/booking"
	"traded/calendar"
	"traded/catalogue"
	"traded/consultancy"
	"traded/mail"
	"traded/organisation"
	"traded/store"
)

// Notifier queues booking mail, with each delegate's calendar invite, and
// consultancy mail, with each visit's.
type Notifier struct {
	// BaseURL is the public address links point to.
	BaseURL string
	// Contact is the council's training mailbox, named in every message
	// and the ORGANIZER of every invite.
	Contact string

	// Accounts are the people to tell (a school's managers, a visit's
	// adviser) and Organisations the schools (a visit's address), each read
	// in the change's transaction.
	Accounts      *account.Service
	Organisations *organisation.Service
}

var (
	_ booking.Notifier     = (*Notifier)(nil)
	_ consultancy.Notifier = (*Notifier)(nil)
)

// InviteAttachment is the mail.Renderer kind of a booking mail's calendar
// invite, rendered when the mail is sent (RenderInvite).
const InviteAttachment = "invite"

// New returns a Notifier linking to baseURL, telling the people of
// accounts about the schools of orgs.
func New(baseURL, contact string, accounts *account.Service, orgs *organisation.Service) *Notifier {
	if contact == "" {
		contact = "traded.services@essex.gov.uk"
	}
	return &Notifier{BaseURL: strings.TrimSuffix(baseURL, "/"), Contact: contact, Accounts: accounts, Organisations: orgs}
}

func (n *Notifier) invites() booking.InviteConfig {
	return booking.InviteConfig{Organizer: n.Contact, BaseURL: n.BaseURL}
}

func (n *Notifier) visitInvites() consultancy.InviteConfig {
	return consultancy.InviteConfig{Organizer: n.Contact, BaseURL: n.BaseURL}
}

// invite returns a delegate's calendar invite as an attachment that mail
// also sends as a text/calendar alternative part (how Outlook, Google and
// Apple Calendar pick it up), with method REQUEST or CANCEL.
//
// The invite is rendered when the message is sent (RenderInvite), not in
// the transaction of the change: building it is about a tenth of the cost
// of a booking, and the one writer does every booking. It shows the place
// as it is when it is sent, so a session moved in between goes out with its
// new times; the method is fixed now, and a CANCEL always shows the place
// cancelled.
func (n *Notifier) invite(b *booking.Booking, d *booking.Delegate) mail.Attachment {
	method := calendar.MethodRequest
	if booking.PlaceCancelled(b, d) {
		method = calendar.MethodCancel
	}
	return mail.Attachment{Filename: "invite.ics", ContentType: "text/calendar; charset=utf-8; method=" + method,
		Render: fmt.Sprintf("%s:%d:%d:%s", InviteAttachment, b.ID, d.ID, method), Alternative: true}
}

// RenderInvite renders the invites of queued mail ("BOOKING:DELEGATE:METHOD",
// as invite queues them) from bookings, for the mail worker: register it
// as the mail.Renderer of kind InviteAttachment.
func (n *Notifier) RenderInvite(bookings *booking.Service) mail.RenderFunc {
	return func(ctx context.Context, key string) ([]byte, error) {
		var bookingID, delegateID int64
		var method string
		if k, err := fmt.Sscanf(strings.ReplaceAll(key, ":", " "), "%d %d %s", &bookingID, &delegateID, &method); err != nil || k != 3 ||
			(method != calendar.MethodRequest && method != calendar.MethodCancel) {
			return nil, fmt.Errorf("invite %q: not BOOKING:DELEGATE:METHOD", key)
		}
		b, err := bookings.FindBookingByID(ctx, bookingID)
		if err != nil {
			return nil, fmt.Errorf("invite %q: %w", key, err)
		}
		for _, d := range b.Delegates {
			if d.ID != delegateID {
				continue
			}
			if method == calendar.MethodCancel && !booking.PlaceCancelled(b, d) {
				gone := *d
				gone.Status = "cancelled"
				d = &gone
			}
			return calendar.Calendar(method, "", n.invites().InviteEvent(b, d, bookings.DB().Now()))
		}
		return nil, fmt.Errorf("invite %q: booking %s has no delegate %d", key, b.Reference, delegateID)
	}
}

func (n *Notifier) bookingURL(b *booking.Booking) string {
	return fmt.Sprintf("%s/bookings/%d", n.BaseURL, b.ID)
}

func when(s *catalogue.Session) string {
	start := s.StartsAt.In(traded.London)
	return fmt.Sprintf("%s, %s to %s (UK time)", start.Format("Monday 2 January 2006"), start.Format("3:04pm"),
		s.EndsAt().In(traded.London).Format("3:04pm"))
}

func (n *Notifier) footer() string {
	return fmt.Sprintf("\nIf you have a question, email %s.\n\nEssex County Council\nTraded services for schools\n", n.Contact)
}

// person is someone to write to.
type person struct{ name, email string }

// booker returns who made the booking, if they have an account.
func booker(b *booking.Booking) *person {
	if b.BookedBy == 0 {
		return nil
	}
	return &person{name: b.BookedByName, email: b.BookedByEmail}
}

// managers returns the school's active managers, as tx sees them.
func (n *Notifier) managers(ctx context.Context, tx *store.Tx, orgID int64) ([]person, error) {
	us, err := n.Accounts.SchoolManagersTx(ctx, tx, orgID)
	if err != nil {
		return nil, fmt.Errorf("managers: %w", err)
	}
	var out []person
	for _, u := range us {
		out = append(out, person{name: u.Name, email: u.Email})
	}
	return out, nil
}

func send(ctx context.Context, tx *store.Tx, kind string, to person, subject, body string, atts ...mail.Attachment) error {
	_, err := mail.Enqueue(ctx, tx, mail.Message{Kind: kind, To: to.email, ToName: to.name, Subject: subject, Text: body, Attachments: atts})
	return err
}

// isDelegate reports whether p is one of the delegates.
func isDelegate(p *person, ds []*booking.Delegate) bool {
	for _, d := range ds {
		if strings.EqualFold(d.Email, p.email) {
			return true
		}
	}
	return false
}

// BookingConfirmed sends each delegate their place, with the joining link,
// and the booker (when not a delegate) the booking's summary and price.
func (n *Notifier) BookingConfirmed(ctx context.Context, tx *store.Tx, b *booking.Booking) error {
	s := b.Session
	for _, d := range b.Active() {
		if err := n.sendPlace(ctx, tx, b, d, "booking_confirmed", "Booked: "+s.Title); err != nil {
			return err
		}
	}
	p := booker(b)
	if p == nil || isDelegate(p, b.Active()) {
		return nil
	}
	var names []string
	for _, d := range b.Active() {
		names = append(names, d.Name)
	}
	price := "No charge: the places are covered by your school's subscription."
	if b.Price > 0 {
		price = fmt.Sprintf("Price: %s.", b.Price)
		if b.InvoiceNumber != "" {
			price += " Invoice " + b.InvoiceNumber + " follows separately."
		} else {
			price += " It will be on your school's monthly invoice."
		}
	}
	body := fmt.Sprintf("Dear %s,\n\nBooking %s is confirmed for %s on %s: %s.\n\nEach delegate has been sent their own joining details and calendar invite.\n\n%s\n\nSee or change the booking: %s\n%s",
		p.name, b.Reference, s.Title, when(s), strings.Join(names, ", "), price, n.bookingURL(b), n.footer())
	return send(ctx, tx, "booking_confirmed", *p, fmt.Sprintf("Booking %s confirmed: %s", b.Reference, s.Title), body)
}

// sendPlace writes to one delegate about their place.
func (n *Notifier) sendPlace(ctx context.Context, tx *store.Tx, b *booking.Booking, d *booking.Delegate, kind, subject string) error {
	s := b.Session
	link := "The joining link will be sent before the session."
	if s.JoiningURL != "" {
		link = "Join online: " + s.JoiningURL
	}
	body := fmt.Sprintf("Dear %s,\n\nYou have a place on:\n\n%s\n%s\n%s\n\nBooking reference: %s (%s)\n\nAdd it to your calendar with the invite attached, or from %s\n%s",
		d.Name, s.Title, when(s), link, b.Reference, b.OrgName, n.bookingURL(b), n.footer())
	return send(ctx, tx, kind, person{d.Name, d.Email}, subject, body, n.invite(b, d))
}

// BookingRequested asks the school's managers to approve a teacher's booking.
func (n *Notifier) BookingRequested(ctx context.Context, tx *store.Tx, b *booking.Booking) error {
	ms, err := n.managers(ctx, tx, b.OrganisationID)
	if err != nil {
		return err
	}
	for _, m := range ms {
		body := fmt.Sprintf("Dear %s,\n\n%s asks to book %s on %s (booking %s).\n\nApprove or decline it here: %s\n%s",
			m.name, b.BookedByName, b.Session.Title, when(b.Session), b.Reference, n.bookingURL(b), n.footer())
		if err := send(ctx, tx, "booking_requested", m, "Approval needed: "+b.Session.Title, body); err != nil {
			return err
		}
	}
	return nil
}

// BookingWaitlisted tells the booker they are on the waiting list.
func (n *Notifier) BookingWaitlisted(ctx context.Context, tx *store.Tx, b *booking.Booking) error {
	p := booker(b)
	if p == nil {
		return nil
	}
	body := fmt.Sprintf("Dear %s,\n\n%s on %s is full, so booking %s is on the waiting list. If places come up we will email you, and you will have 48 hours to take them.\n\nSee the booking: %s\n%s",
		p.name, b.Session.Title, when(b.Session), b.Reference, n.bookingURL(b), n.footer())
	return send(ctx, tx, "booking_waitlisted", *p, "On the waiting list: "+b.Session.Title, body)
}

// BookingOffered tells the booker a place has come up, and until when.
func (n *Notifier) BookingOffered(ctx context.Context, tx *store.Tx, b *booking.Booking) error {
	p := booker(b)
	if p == nil {
		return nil
	}
	k := len(b.Active())
	places := "A place has"
	if k > 1 {
		places = fmt.Sprintf("%d places have", k)
	}
	body := fmt.Sprintf("Dear %s,\n\n%s come up on %s on %s for your waiting-list booking %s.\n\nTake it by %s, or it goes to the next school waiting:\n%s\n%s",
		p.name, places, b.Session.Title, when(b.Session), b.Reference,
		b.OfferExpiresAt.In(traded.London).Format("3:04pm on Monday 2 January 2006"), n.bookingURL(b), n.footer())
	return send(ctx, tx, "waitlist_offer", *p, "A place has come up: "+b.Session.Title, body)
}

// PlacesCancelled tells each delegate who lost their place, and the booker.
func (n *Notifier) PlacesCancelled(ctx context.Context, tx *store.Tx, b *booking.Booking, gone []*booking.Delegate, reason string) error {
	s := b.Session
	for _, d := range gone {
		if !booking.HasInvite(b) {
			// A request or waiting-list booking never sent an invite.
			body := fmt.Sprintf("Dear %s,\n\nThe request for a place for you on %s on %s (booking %s) has ended: %s.\n%s",
				d.Name, s.Title, when(s), b.Reference, reason, n.footer())
			if err := send(ctx, tx, "place_cancelled", person{d.Name, d.Email}, "Not booked: "+s.Title, body); err != nil {
				return err
			}
			continue
		}
		body := fmt.Sprintf("Dear %s,\n\nYour place on %s on %s (booking %s) has been cancelled: %s.\n\nThe calendar invite attached removes it from your calendar.\n%s",
			d.Name, s.Title, when(s), b.Reference, reason, n.footer())
		gd := *d
		gd.Status = "cancelled"
		if err := send(ctx, tx, "place_cancelled", person{d.Name, d.Email}, "Cancelled: "+s.Title, body, n.invite(b, &gd)); err != nil {
			return err
		}
	}
	p := booker(b)
	if p == nil || isDelegate(p, gone) {
		return nil
	}
	body := fmt.Sprintf("Dear %s,\n\n%s on %s, booking %s: %d place(s) cancelled (%s).\n\nSee the booking: %s\n%s",
		p.name, s.Title, when(s), b.Reference, len(gone), reason, n.bookingURL(b), n.footer())
	return send(ctx, tx, "booking_cancelled", *p, fmt.Sprintf("Booking %s: places cancelled", b.Reference), body)
}

// DelegateSwapped cancels the old delegate's place and sends the new one theirs.
func (n *Notifier) DelegateSwapped(ctx context.Context, tx *store.Tx, b *booking.Booking, old, replacement *booking.Delegate) error {
	s := b.Session
	body := fmt.Sprintf("Dear %s,\n\nYour place on %s on %s (booking %s) has been given to %s.\n\nThe calendar invite attached removes it from your calendar.\n%s",
		old.Name, s.Title, when(s), b.Reference, replacement.Name, n.footer())
	if err := send(ctx, tx, "place_cancelled", person{old.Name, old.Email}, "Cancelled: "+s.Title, body, n.invite(b, old)); err != nil {
		return err
	}
	return n.sendPlace(ctx, tx, b, replacement, "booking_confirmed", "Booked: "+s.Title)
}

// SessionChanged sends every delegate with a confirmed place the session's
// new details.
func (n *Notifier) SessionChanged(ctx context.Context, tx *store.Tx, s *catalogue.Session, confirmed []*booking.Booking) error {
	for _, b := range confirmed {
		for _, d := range b.Active() {
			if err := n.sendPlace(ctx, tx, b, d, "session_changed", "Changed: "+s.Title); err != nil {
				return err
			}
		}
	}
	return nil
}

// SessionReminder reminds a delegate of tomorrow's session, with the
// joining link and their invite.
func (n *Notifier) SessionReminder(ctx context.Context, tx *store.Tx, r booking.Reminder) error {
	b, d := r.Booking, r.Delegate
	s := b.Session
	link := ""
	if s.JoiningURL != "" {
		link = "\nJoin online: " + s.JoiningURL + "\n"
	}
	body := fmt.Sprintf("Dear %s,\n\nA reminder that you are booked on %s tomorrow, %s.\n%s\nBooking reference: %s\n%s",
		d.Name, s.Title, when(s), link, b.Reference, n.footer())
	return send(ctx, tx, "session_reminder", person{d.Name, d.Email}, "Tomorrow: "+s.Title, body, n.invite(b, d))
}

// QuoteSent tells the school's managers a consultancy quote waits for them.
func (n *Notifier) QuoteSent(ctx context.Context, tx *store.Tx, c *consultancy.Request) error {
	ms, err := n.managers(ctx, tx, c.OrganisationID)
	if err != nil {
		return err
	}
	for _, m := range ms {
		body := fmt.Sprintf("Dear %s,\n\nThe LA has sent a quote for %s (request %s): %s of %s's time, %s before VAT.\n\nAccept or decline it here: %s/consultancy/%d\n%s",
			m.name, c.ServiceName, c.Reference, halfDaysText(c.QuotedHalfDays()), c.AdviserName, c.QuotedFee(), n.BaseURL, c.ID, n.footer())
		if err := send(ctx, tx, "consultancy_quote", m, "Quote for "+c.ServiceName, body); err != nil {
			return err
		}
	}
	return nil
}

func halfDaysText(h int) string {
	if h%2 == 0 {
		return fmt.Sprintf("%d day(s)", h/2)
	}
	return fmt.Sprintf("%d.5 days", h/2)
}

// VisitsChanged sends the adviser and the school's managers an invite for
// each visit: REQUEST while planned, CANCEL once cancelled, one event with
// them all as attendees, at the school for on-site visits.
func (n *Notifier) VisitsChanged(ctx context.Context, tx *store.Tx, c *consultancy.Request, visits []*consultancy.Visit) error {
	ms, err := n.managers(ctx, tx, c.OrganisationID)
	if err != nil {
		return err
	}
	adv, err := n.Accounts.UserByIDTx(ctx, tx, c.AdviserID)
	if err != nil {
		return fmt.Errorf("visit invites: %w", err)
	}
	adviser := person{name: adv.Name, email: adv.Email}
	address, err := n.visitAddress(ctx, tx, c.OrganisationID)
	if err != nil {
		return err
	}
	people := append([]person{adviser}, ms...)
	var attendees []calendar.Attendee
	for _, p := range people {
		attendees = append(attendees, calendar.Attendee{Name: p.name, Email: p.email})
	}
	cfg := n.visitInvites()
	for _, v := range visits {
		if v.Status != "planned" && v.Status != "cancelled" {
			continue
		}
		method, verb := calendar.MethodRequest, "Visit booked"
		if v.Status == "cancelled" {
			method, verb = calendar.MethodCancel, "Visit cancelled"
		}
		cal, err := calendar.Calendar(method, "", cfg.VisitEvent(c, v, address, attendees, tx.Now))
		if err != nil {
			return err
		}
		att := mail.Attachment{Filename: "visit.ics", ContentType: "text/calendar; charset=utf-8; method=" + method, Content: cal, Alternative: true}
		for _, p := range people {
			body := fmt.Sprintf("Dear %s,\n\n%s: %s for %s (%s), %s, %s.\n\nDetails: %s/consultancy/%d\n%s",
				p.name, verb, c.ServiceName, c.OrgName, c.Reference, v.Date, map[string]string{"day": "all day", "am": "morning", "pm": "afternoon"}[v.Part],
				n.BaseURL, c.ID, n.footer())
			if err := send(ctx, tx, "consultancy_visit", p, fmt.Sprintf("%s: %s, %s", verb, c.OrgName, v.Date), body, att); err != nil {
				return err
			}
		}
	}
	return nil
}

// visitAddress is where an on-site visit happens: the school's street,
// locality, address3, town and postcode, the blank ones left out (the
// county goes without saying), or "" for an unknown school.
func (n *Notifier) visitAddress(ctx context.Context, tx *store.Tx, orgID int64) (string, error) {
	o, err := n.Organisations.ByIDTx(ctx, tx, orgID)
	if traded.ErrorCode(err) == traded.ENOTFOUND {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("visit invites: %w", err)
	}
	var lines []string
	for _, l := range []string{o.Street, o.Locality, o.Address3, o.Town, o.Postcode} {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, ", "), nil
}
