package booking

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"traded"
	"traded/account"
	"traded/calendar"
	"traded/catalogue"
	"traded/mail"
	"traded/pricing"
	"traded/store"
)

// Booking statuses.
const (
	StatusRequested  = "requested"  // a teacher's booking awaiting the school manager's approval; holds its places
	StatusConfirmed  = "confirmed"  // booked, priced and billed
	StatusWaitlisted = "waitlisted" // on the waiting list; holds no places
	StatusOffered    = "offered"    // offered a freed place until OfferExpiresAt; holds its places
	StatusCancelled  = "cancelled"
	StatusDeclined   = "declined" // a request or an offer turned down
	StatusExpired    = "expired"  // an offer not taken up in time
)

// holdsPlaces are the statuses whose delegates count against capacity.
var holdsPlaces = map[string]bool{StatusRequested: true, StatusConfirmed: true, StatusOffered: true}

// Rules are the booking rules a council sets. Zero fields take the defaults.
type Rules struct {
	// CancelWorkingDays: cancelling is free until the end of the working day
	// this many working days (Monday to Friday, not bank holidays in England)
	// before the session's date; after that the full charge stands. nil
	// means 10; 0 means free until the session starts.
	CancelWorkingDays *int
	// OfferHold is how long a waiting-list offer is held. 48 hours.
	OfferHold time.Duration
	// MaxDelegates bounds one booking. 50.
	MaxDelegates int
}

func (s *Service) rules() Rules {
	r := s.Rules
	if r.CancelWorkingDays == nil || *r.CancelWorkingDays < 0 {
		r.CancelWorkingDays = new(10)
	}
	if r.OfferHold <= 0 {
		r.OfferHold = 48 * time.Hour
	}
	if r.MaxDelegates <= 0 {
		r.MaxDelegates = 50
	}
	return r
}

// Charger bills bookings. Billing implements it; booking declares it so
// that a booking and its invoice, or a cancellation and its credit note, are
// written in one transaction. Billing keeps which invoice each charge is on
// (its table invoiced_charges): booking neither writes nor reads invoices,
// and asks InvoicedCharges when it shows a booking.
type Charger interface {
	// InvoiceBooking bills the given charges of a confirmed booking that
	// have a positive amount (those just priced) on one invoice inside tx
	// and returns the invoice, or the zero InvoiceRef when the school is
	// invoiced monthly and the charges wait for the monthly run.
	InvoiceBooking(ctx context.Context, tx *store.Tx, actor store.Actor, b *Booking) (InvoiceRef, error)
	// CreditBooking issues credit notes inside tx for the given gross
	// amounts of a booking's charges (by charge position) that are
	// invoiced, one per invoice, and returns their numbers, comma-separated
	// ("" when none is invoiced yet).
	CreditBooking(ctx context.Context, tx *store.Tx, actor store.Actor, b *Booking, amounts map[int]pricing.Money, reason string) (string, error)
	// InvoicedCharges returns, read through q, the invoice each billed
	// charge of the bookings is on, by booking id and charge position;
	// charges not billed, and bookings with none billed, are absent.
	InvoicedCharges(ctx context.Context, q store.Queryer, bookingIDs []int64) (map[int64]map[int]InvoiceRef, error)
}

// InvoiceRef is an invoice as booking knows it, from its Charger.
type InvoiceRef struct {
	ID     int64
	Number string
}

// Delegate is one member of staff on a booking.
type Delegate struct {
	ID         int64
	BookingID  int64
	Name       string
	Email      string
	Status     string // active, cancelled, replaced
	UID        string // the calendar UID of this place, for ever
	ReplacesID int64
	Attendance string // attended, absent, partial, or "" before the register
	// LateCancel: the place was cancelled after the free-cancellation
	// cut-off, so its charge stands.
	LateCancel bool
}

// PlaceStatus is what a delegate's place is, for people and the API: the
// delegate's own state where the place was given up, else the booking's
// ("active" only while the booking holds the place: confirmed, requested or
// offered). A delegate on a cancelled, declined, expired or waiting booking
// holds no place, whatever their own row says.
func (b *Booking) PlaceStatus(d *Delegate) string {
	if d.Status != "active" {
		return d.Status
	}
	switch b.Status {
	case StatusConfirmed, StatusRequested, StatusOffered:
		return "active"
	}
	return b.Status
}

// Charge is one priced line of a booking.
type Charge struct {
	Position    int
	ProductCode string
	Description string
	Quantity    int
	Unit        pricing.Money
	Amount      pricing.Money
	InvoiceID   int64
	Credited    pricing.Money
}

// Booking is places on one session for one organisation. InvoiceID and
// InvoiceNumber are the invoice of its first billed charge, and each
// Charge's InvoiceID the invoice it is on, as the Charger says: they are set
// on the bookings that FindBookingByID, FindBookings and CreateBooking
// return, not on those read inside booking's own transactions (nothing
// there needs them).
type Booking struct {
	ID             int64
	Reference      string
	SessionID      int64
	OrganisationID int64
	OrgURN         int64
	OrgName        string
	BookedBy       int64
	BookedByName   string
	BookedByEmail  string
	Status         string
	// Subscriber and Tier are the school's state when the booking was
	// confirmed (its rates, with the price list current then, for good).
	Subscriber     bool
	Tier           pricing.Tier
	PONumber       string
	Price          pricing.Money
	InvoiceID      int64
	InvoiceNumber  string
	OfferExpiresAt time.Time
	CancelledAt    time.Time
	CancelReason   string
	LateCancel     bool
	CreatedAt      time.Time
	ConfirmedAt    time.Time
	Delegates      []*Delegate // all, in order; Active() gives those holding places
	Charges        []*Charge
	Session        *catalogue.Session
}

// Resource is the booking as the policies see it (account.CanSeeBooking,
// account.CanChangeBooking): its school, who booked it, who is on it.
func (b *Booking) Resource() account.Resource {
	r := account.Resource{OrganisationID: b.OrganisationID, CreatedBy: b.BookedBy}
	for _, d := range b.Delegates {
		r.People = append(r.People, d.Email)
	}
	return r
}

// Active returns the delegates who hold places.
func (b *Booking) Active() []*Delegate {
	var out []*Delegate
	for _, d := range b.Delegates {
		if d.Status == "active" {
			out = append(out, d)
		}
	}
	return out
}

// Entitled reports whether the booking is wholly covered by the subscription.
func (b *Booking) Entitled() bool { return b.Price == 0 && len(b.Charges) > 0 }

// DelegateInput names a member of staff to book.
type DelegateInput struct {
	Name  string
	Email string
}

// BookingRequest asks for places on a session.
type BookingRequest struct {
	SessionID int64
	URN       int64
	Delegates []DelegateInput
	// Waitlist joins the waiting list when the session has too few places
	// left; otherwise a full session is ECONFLICT.
	Waitlist bool
	// IdempotencyKey, when set, makes a retry of the same request (same
	// RequestHash) by the same user return the first booking.
	IdempotencyKey string
	RequestHash    string
	// PONumber is the school's purchase-order number for what the booking
	// costs: required, once the booking costs anything, where the school
	// is marked as needing one.
	PONumber string
}

// validateDelegates checks and normalises the people to book.
func (s *Service) validateDelegates(in []DelegateInput) ([]DelegateInput, error) {
	if len(in) == 0 {
		return nil, traded.FieldErrorf("delegates", "Name at least one member of staff to book.")
	}
	if len(in) > s.rules().MaxDelegates {
		return nil, traded.FieldErrorf("delegates", "Book at most %d people at once.", s.rules().MaxDelegates)
	}
	seen := map[string]bool{}
	out := make([]DelegateInput, 0, len(in))
	for i, d := range in {
		field := fmt.Sprintf("delegates[%d].name", i)
		name, err := traded.CleanLine(field, fmt.Sprintf("name of delegate %d", i+1), d.Name, traded.MaxName)
		if err != nil {
			return nil, err
		}
		if name == "" {
			return nil, traded.FieldErrorf(field, "Enter the full name of delegate %d.", i+1)
		}
		email, err := mail.ValidateAddress(fmt.Sprintf("delegates[%d].email", i), d.Email)
		if err != nil {
			return nil, traded.FieldErrorf(fmt.Sprintf("delegates[%d].email", i), "Enter delegate %d's email address, like name@school.sch.uk.", i+1)
		}
		if seen[email] {
			return nil, traded.FieldErrorf(fmt.Sprintf("delegates[%d].email", i), "%s is named twice.", email)
		}
		seen[email] = true
		out = append(out, DelegateInput{Name: name, Email: email})
	}
	return out, nil
}

// CreateBooking books delegates from an organisation onto a session, in one
// transaction: it checks the session is open and has room (however many
// requests race: the writer is single and BEGIN IMMEDIATE), prices the
// booking by the tariff and the school's state now, and bills it. A
// teacher books only themselves, for their own school, and only with the
// manager's approval if the school asks for it. It returns EINVALID for bad
// delegates or a reused idempotency key with another request, ENOTFOUND for
// an unknown session or organisation, EFORBIDDEN for a teacher booking
// others, and ECONFLICT when the session is full (without Waitlist),
// closed, or a delegate is already booked.
func (s *Service) CreateBooking(ctx context.Context, by *account.User, remoteAddr string, req BookingRequest) (*Booking, error) {
	delegates, err := s.validateDelegates(req.Delegates)
	if err != nil {
		return nil, err
	}
	po, err := traded.CleanPO(req.PONumber)
	if err != nil {
		return nil, err
	}
	if by.Role == account.RoleTeacher {
		if len(delegates) != 1 || !strings.EqualFold(delegates[0].Email, by.Email) {
			return nil, traded.Errorf(traded.EFORBIDDEN, "Teachers book places for themselves only: ask your school business manager to book colleagues.")
		}
	}
	actor := by.Actor(remoteAddr)
	var id int64
	var made *Booking // as the transaction left it; nil for a retried request
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if req.IdempotencyKey != "" {
			var existing int64
			var hash string
			err := tx.QueryRowContext(ctx, `SELECT id, request_hash FROM bookings WHERE booked_by = ? AND idempotency_key = ?`,
				by.ID, req.IdempotencyKey).Scan(&existing, &hash)
			if err == nil {
				if hash != req.RequestHash {
					return traded.Errorf(traded.EINVALID, "This Idempotency-Key was used for a different request: use a new key.")
				}
				id = existing
				return nil
			} else if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("idempotency: %w", err)
			}
		}
		sess, err := catalogue.SessionOn(ctx, tx, req.SessionID)
		if err != nil {
			return err
		}
		// Lapsed offers free their places first; only then is the
		// session read again.
		if expired, err := s.expireOffers(ctx, tx, sess.ID); err != nil {
			return err
		} else if expired > 0 {
			if sess, err = catalogue.SessionOn(ctx, tx, req.SessionID); err != nil {
				return err
			}
		}
		if sess.Status != "scheduled" {
			return traded.Errorf(traded.ECONFLICT, "This session has been cancelled.")
		}
		if !tx.Now.Before(sess.BookingCutoffAt) {
			return traded.Errorf(traded.ECONFLICT, "Booking for this session closed on %s.", sess.BookingCutoffAt.In(traded.London).Format("2 January 2006 at 3:04pm"))
		}
		org, err := s.Organisations.ByURNTx(ctx, tx, req.URN)
		if err != nil {
			return err
		}
		if by.Role.School() && by.OrganisationID != org.ID {
			return traded.Errorf(traded.ENOTFOUND, "There is no organisation with URN %d.", req.URN)
		}
		if org.Closed {
			return traded.Errorf(traded.EINVALID, "%s is closed.", org.Name)
		}
		for _, d := range delegates {
			var ref string
			err := tx.QueryRowContext(ctx, `SELECT b.reference FROM delegates d JOIN bookings b ON b.id = d.booking_id
				WHERE b.session_id = ? AND d.email = ? AND d.status = 'active' AND b.status IN ('requested', 'confirmed', 'offered', 'waitlisted')`,
				sess.ID, d.Email).Scan(&ref)
			if err == nil {
				return traded.Errorf(traded.ECONFLICT, "%s is already booked on this session (booking %s).", d.Email, ref)
			} else if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("create booking: %w", err)
			}
		}

		status := StatusConfirmed
		if by.Role == account.RoleTeacher && org.TeacherApproval {
			status = StatusRequested
		}
		left := sess.Capacity - sess.PlacesTaken
		if len(delegates) > left {
			if !req.Waitlist {
				if left <= 0 {
					return traded.Errorf(traded.ECONFLICT, "This session is full. You can join the waiting list.")
				}
				return traded.Errorf(traded.ECONFLICT, "Only %d place%s left on this session, and you asked for %d. Book fewer people, or join the waiting list.",
					left, plural(left), len(delegates))
			}
			status = StatusWaitlisted
		}
		ref, _, err := tx.NextNumber(ctx, "booking")
		if err != nil {
			return err
		}
		now := store.FormatTime(tx.Now)
		var key any
		if req.IdempotencyKey != "" {
			key = req.IdempotencyKey
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO bookings (reference, session_id, organisation_id, booked_by, status, created_at, updated_at,
			idempotency_key, request_hash, po_number) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ref, sess.ID, org.ID, by.ID, status, now, now, key, req.RequestHash, po)
		if err != nil {
			return fmt.Errorf("create booking: %w", err)
		}
		id, _ = res.LastInsertId()
		// The booking as findBooking would now read it, built from what
		// was just written rather than read back (TestCreateBookingReturnsStored).
		b := &Booking{ID: id, Reference: ref, SessionID: sess.ID, OrganisationID: org.ID, OrgURN: org.URN, OrgName: org.Name,
			BookedBy: by.ID, BookedByName: by.Name, BookedByEmail: by.Email, Status: status, CreatedAt: tx.Now, Session: sess, PONumber: po}
		for _, d := range delegates {
			uid := calendar.NewUID()
			res, err := tx.ExecContext(ctx, `INSERT INTO delegates (booking_id, name, email, uid, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
				id, d.Name, d.Email, uid, now, now)
			if err != nil {
				return fmt.Errorf("create booking: %w", err)
			}
			did, _ := res.LastInsertId()
			b.Delegates = append(b.Delegates, &Delegate{ID: did, BookingID: id, Name: d.Name, Email: d.Email, Status: "active", UID: uid})
		}
		if holdsPlaces[status] {
			if err := s.Catalogue.TakePlacesTx(ctx, tx, sess.ID, len(delegates)); err != nil {
				return err
			}
			sess.PlacesTaken += len(delegates)
		}
		if err := tx.Audit(ctx, actor, "booking.create", "booking", ref,
			fmt.Sprintf("%s for %s (URN %d): %d delegate(s), %s", sess.Title, org.Name, org.URN, len(delegates), status)); err != nil {
			return err
		}
		if status == StatusConfirmed {
			made, err = s.confirmBooking(ctx, tx, actor, b)
			return err
		}
		made = b
		if s.Notifier == nil {
			return nil
		}
		if status == StatusRequested {
			return s.Notifier.BookingRequested(ctx, tx, b)
		}
		return s.Notifier.BookingWaitlisted(ctx, tx, b)
	})
	if err != nil {
		return nil, err
	}
	if made != nil {
		return made, nil
	}
	return s.FindBookingByID(ctx, id)
}

// confirm prices a booking by the tariff and the school's state now,
// records its charges and bills what is owed.
func (s *Service) confirm(ctx context.Context, tx *store.Tx, actor store.Actor, id int64) error {
	b, err := s.findBooking(ctx, tx, id)
	if err != nil {
		return err
	}
	_, err = s.confirmBooking(ctx, tx, actor, b)
	return err
}

// confirmBooking is confirm for a booking as tx has it (with its delegates
// and session), returning it as confirmed. Only the booking's own row is
// read back: confirming changes neither its delegates nor its session, and
// its charges are those just priced. The booking keeps the rates it is
// priced at now (tier today, subscriber now, the current list) and takes
// the next place in the order of the school's bookings on the session. It
// returns EINVALID (field po_number) when the booking costs something and
// the school needs a PO number but the booking has none.
func (s *Service) confirmBooking(ctx context.Context, tx *store.Tx, actor store.Actor, b *Booking) (*Booking, error) {
	sess := b.Session
	if sess == nil {
		return nil, traded.Errorf(traded.ENOTFOUND, "There is no session %d.", b.SessionID)
	}
	org, err := s.Organisations.ByIDTx(ctx, tx, b.OrganisationID)
	if err != nil {
		return nil, err
	}
	charges, r, listID, seq, err := s.priceNew(ctx, tx, org, sess, len(b.Active()), b.ID)
	if err != nil {
		return nil, err
	}
	var total pricing.Money
	for i, c := range charges {
		c.Position = i + 1
		total += c.Amount
		if _, err := tx.ExecContext(ctx, `INSERT INTO booking_charges (booking_id, position, product_code, description, quantity, unit_pence, amount_pence)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, b.ID, c.Position, c.ProductCode, c.Description, c.Quantity, int64(c.Unit), int64(c.Amount)); err != nil {
			return nil, fmt.Errorf("confirm booking: %w", err)
		}
	}
	if total > 0 && org.PORequired && b.PONumber == "" {
		return nil, traded.FieldErrorf("po_number", "%s needs a purchase-order number on its invoices: enter the PO number for this booking (%s).", org.Name, total)
	}
	var invoice InvoiceRef // the booking's invoice, if billing it makes one
	if total > 0 && s.Charger != nil {
		b.Status, b.Price, b.Subscriber, b.Tier, b.Charges = StatusConfirmed, total, r.subscriber, r.tier, charges
		if invoice, err = s.Charger.InvoiceBooking(ctx, tx, actor, b); err != nil {
			return nil, err
		}
		if invoice.ID != 0 {
			for _, c := range charges {
				if c.Amount > 0 {
					c.InvoiceID = invoice.ID
				}
			}
		}
	}
	now := store.FormatTime(tx.Now)
	if _, err := tx.ExecContext(ctx, `UPDATE bookings SET status = 'confirmed', subscriber = ?, tier = ?, price_list_id = ?, confirm_seq = ?,
		price_pence = ?, offer_expires_at = NULL, confirmed_at = ?, updated_at = ? WHERE id = ?`,
		r.subscriber, string(r.tier), listID, seq, int64(total), now, now, b.ID); err != nil {
		return nil, fmt.Errorf("confirm booking: %w", err)
	}
	if err := tx.Audit(ctx, actor, "booking.confirm", "booking", b.Reference, fmt.Sprintf("price %s", total)); err != nil {
		return nil, err
	}
	done, err := scanBooking(tx.QueryRowContext(ctx, `SELECT `+bookingColumns+bookingFrom+` WHERE b.id = ?`, b.ID))
	if err != nil {
		return nil, fmt.Errorf("confirm booking: %w", err)
	}
	done.Delegates, done.Charges, done.Session = b.Delegates, charges, sess
	// Its school and booker are as b has them: confirming changes neither.
	done.OrgURN, done.OrgName, done.BookedByName, done.BookedByEmail = b.OrgURN, b.OrgName, b.BookedByName, b.BookedByEmail
	done.InvoiceID, done.InvoiceNumber = invoice.ID, invoice.Number
	if s.Notifier != nil {
		if err := s.Notifier.BookingConfirmed(ctx, tx, done); err != nil {
			return nil, err
		}
	}
	return done, nil
}

// isSubscriber reports whether the organisation has the year's PSA
// subscription, as tx sees it, from the writer's cache while subscriptions
// are unchanged.
func (s *Service) isSubscriber(ctx context.Context, tx *store.Tx, orgID int64, year pricing.AcademicYear) (bool, error) {
	v, err := tx.Cached(fmt.Sprintf("subscriber %d %s", orgID, year), []string{"subscriptions"}, func() (any, error) {
		return s.subscribes(ctx, tx, orgID, year)
	})
	if err != nil {
		return false, err
	}
	return v.(bool), nil
}

func sessDate(s *catalogue.Session) string {
	return s.StartsAt.In(traded.London).Format("2 January 2006")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// QuoteBooking prices a would-be booking of n delegates for an organisation
// now, without booking: what the booking page shows before the user books,
// the same lines CreateBooking would invoice. It reads a snapshot on the
// reader pool and never queues on the writer.
func (s *Service) QuoteBooking(ctx context.Context, urn, sessionID int64, n int) ([]*Charge, bool, error) {
	if n < 1 || n > s.rules().MaxDelegates {
		return nil, false, traded.FieldErrorf("delegates", "Book between 1 and %d people.", s.rules().MaxDelegates)
	}
	q := s.db.Read()
	sess, err := s.Catalogue.FindSessionByID(ctx, sessionID)
	if err != nil {
		return nil, false, err
	}
	org, err := s.Organisations.FindByURN(ctx, urn)
	if err != nil {
		return nil, false, err
	}
	charges, r, _, _, err := s.priceNew(ctx, q, org, sess, n, 0)
	if err != nil {
		return nil, false, err
	}
	return charges, r.subscriber, nil
}

// QuoteConfirmation prices a teacher's request or a waiting-list booking as
// confirming it now would: what the manager approving it, or the school
// taking the offer, commits to, the same figure then invoiced. It returns
// ENOTFOUND for a booking the user may not see and ECONFLICT for one that
// is not waiting to be confirmed.
func (s *Service) QuoteConfirmation(ctx context.Context, by *account.User, id int64) ([]*Charge, error) {
	q := s.db.Read()
	b, err := s.findBooking(ctx, q, id)
	if err != nil {
		return nil, err
	}
	if by != nil && by.Role.School() && by.OrganisationID != b.OrganisationID {
		return nil, traded.Errorf(traded.ENOTFOUND, "There is no booking %d.", id)
	}
	if b.Status != StatusRequested && b.Status != StatusOffered && b.Status != StatusWaitlisted {
		return nil, traded.Errorf(traded.ECONFLICT, "Booking %s is not waiting to be confirmed.", b.Reference)
	}
	org, err := s.Organisations.FindByID(ctx, b.OrganisationID)
	if err != nil {
		return nil, err
	}
	charges, _, _, _, err := s.priceNew(ctx, q, org, b.Session, len(b.Active()), b.ID)
	return charges, err
}

// FreeCancellationUntil returns the last instant a booking on the session
// can be cancelled free: the end (midnight, London) of the working day that
// is CancelWorkingDays working days before the session's date.
func (s *Service) FreeCancellationUntil(sess *catalogue.Session) time.Time {
	days := *s.rules().CancelWorkingDays
	if days == 0 {
		return sess.StartsAt
	}
	start := sess.StartsAt.In(traded.London)
	day := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
	cut := s.Catalogue.Holidays().AddWorkingDays(day, -days)
	return time.Date(cut.Year(), cut.Month(), cut.Day(), 0, 0, 0, 0, traded.London).AddDate(0, 0, 1).UTC()
}

// Notifier tells people about booking changes, inside the transaction that
// makes them, so the message and the change stand or fall together: the
// mail-and-calendar layer (package notify) implements it. Each method gets
// the booking as it is after the change.
type Notifier interface {
	// BookingConfirmed: the booker and each delegate get the confirmation
	// and the delegate their calendar invite.
	BookingConfirmed(ctx context.Context, tx *store.Tx, b *Booking) error
	// BookingRequested: the school's managers are asked to approve.
	BookingRequested(ctx context.Context, tx *store.Tx, b *Booking) error
	// BookingWaitlisted: the booker is told they are on the waiting list.
	BookingWaitlisted(ctx context.Context, tx *store.Tx, b *Booking) error
	// BookingOffered: the booker is offered freed places until OfferExpiresAt.
	BookingOffered(ctx context.Context, tx *store.Tx, b *Booking) error
	// PlacesCancelled: the delegates lose their places (the whole booking or
	// one place); their invites are cancelled.
	PlacesCancelled(ctx context.Context, tx *store.Tx, b *Booking, gone []*Delegate, reason string) error
	// DelegateSwapped: the old delegate's invite is cancelled, the new one
	// invited.
	DelegateSwapped(ctx context.Context, tx *store.Tx, b *Booking, old, replacement *Delegate) error
	// SessionChanged: a rescheduled or retitled session; every confirmed
	// booking's delegates get their updated invite.
	SessionChanged(ctx context.Context, tx *store.Tx, s *catalogue.Session, confirmed []*Booking) error
}

// notifyBooking reloads a booking as tx sees it and hands it to fn.
func (s *Service) notifyBooking(ctx context.Context, tx *store.Tx, id int64, fn func(*Booking) error) error {
	if s.Notifier == nil {
		return nil
	}
	b, err := s.findBooking(ctx, tx, id)
	if err != nil {
		return err
	}
	return fn(b)
}

// bookingColumns are a booking's own; nameBookings adds its school's URN
// and name and its booker's name and email from their domains.
const bookingColumns = `b.id, b.reference, b.session_id, b.organisation_id, COALESCE(b.booked_by, 0), b.status, b.subscriber, b.price_pence,
	COALESCE(b.offer_expires_at, ''), COALESCE(b.cancelled_at, ''), b.cancel_reason, b.late_cancel, b.created_at,
	COALESCE(b.confirmed_at, ''), b.po_number, COALESCE(b.tier, '')`

const bookingFrom = ` FROM bookings b `

// nameBookings sets each booking's school (URN and name) and booker (name
// and email, empty for none) from organisation and account: one lookup of
// each for the whole list, through q's transaction when q is one.
func (s *Service) nameBookings(ctx context.Context, q store.Queryer, bookings []*Booking) error {
	var orgIDs, userIDs []int64
	seen := map[[2]int64]bool{}
	for _, b := range bookings {
		if !seen[[2]int64{0, b.OrganisationID}] {
			seen[[2]int64{0, b.OrganisationID}] = true
			orgIDs = append(orgIDs, b.OrganisationID)
		}
		if b.BookedBy != 0 && !seen[[2]int64{1, b.BookedBy}] {
			seen[[2]int64{1, b.BookedBy}] = true
			userIDs = append(userIDs, b.BookedBy)
		}
	}
	if len(orgIDs) == 0 {
		return nil
	}
	orgs, err := s.Organisations.FindByIDsOn(ctx, q, orgIDs)
	if err != nil {
		return err
	}
	users := map[int64]*account.User{}
	if len(userIDs) > 0 {
		if users, err = s.Accounts.FindUsersByIDsOn(ctx, q, userIDs); err != nil {
			return err
		}
	}
	for _, b := range bookings {
		if o := orgs[b.OrganisationID]; o != nil {
			b.OrgURN, b.OrgName = o.URN, o.Name
		}
		if u := users[b.BookedBy]; u != nil {
			b.BookedByName, b.BookedByEmail = u.Name, u.Email
		}
	}
	return nil
}

func scanBooking(row interface{ Scan(...any) error }) (*Booking, error) {
	var b Booking
	var offer, cancelled, created, confirmed, tier string
	var price int64
	if err := row.Scan(&b.ID, &b.Reference, &b.SessionID, &b.OrganisationID, &b.BookedBy, &b.Status, &b.Subscriber, &price, &offer, &cancelled, &b.CancelReason, &b.LateCancel,
		&created, &confirmed, &b.PONumber, &tier); err != nil {
		return nil, err
	}
	b.Tier = pricing.Tier(tier)
	b.Price = pricing.Money(price)
	b.CreatedAt = store.MustTime(created)
	for _, p := range []struct {
		s string
		t *time.Time
	}{{offer, &b.OfferExpiresAt}, {cancelled, &b.CancelledAt}, {confirmed, &b.ConfirmedAt}} {
		if p.s != "" {
			*p.t = store.MustTime(p.s)
		}
	}
	return &b, nil
}

func (s *Service) findBooking(ctx context.Context, q store.Queryer, id int64) (*Booking, error) {
	b, err := scanBooking(q.QueryRowContext(ctx, `SELECT `+bookingColumns+bookingFrom+` WHERE b.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, traded.Errorf(traded.ENOTFOUND, "There is no booking %d.", id)
	} else if err != nil {
		return nil, fmt.Errorf("find booking: %w", err)
	}
	if err := loadBookingDetail(ctx, q, b); err != nil {
		return nil, err
	}
	if err := s.nameBookings(ctx, q, []*Booking{b}); err != nil {
		return nil, err
	}
	return b, nil
}

func loadBookingDetail(ctx context.Context, q store.Queryer, b *Booking) error {
	rows, err := q.QueryContext(ctx, `SELECT id, name, email, status, uid, COALESCE(replaces_id, 0), COALESCE(attendance, ''), late_cancel
		FROM delegates WHERE booking_id = ? ORDER BY id`, b.ID)
	if err != nil {
		return fmt.Errorf("booking delegates: %w", err)
	}
	b.Delegates = nil
	for rows.Next() {
		d := &Delegate{BookingID: b.ID}
		if err := rows.Scan(&d.ID, &d.Name, &d.Email, &d.Status, &d.UID, &d.ReplacesID, &d.Attendance, &d.LateCancel); err != nil {
			rows.Close()
			return fmt.Errorf("booking delegates: %w", err)
		}
		b.Delegates = append(b.Delegates, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = q.QueryContext(ctx, `SELECT position, product_code, description, quantity, unit_pence, amount_pence,
		credited_pence FROM booking_charges WHERE booking_id = ? ORDER BY position`, b.ID)
	if err != nil {
		return fmt.Errorf("booking charges: %w", err)
	}
	defer rows.Close()
	b.Charges = nil
	for rows.Next() {
		c := &Charge{}
		var unit, amount, credited int64
		if err := rows.Scan(&c.Position, &c.ProductCode, &c.Description, &c.Quantity, &unit, &amount, &credited); err != nil {
			return fmt.Errorf("booking charges: %w", err)
		}
		c.Unit, c.Amount, c.Credited = pricing.Money(unit), pricing.Money(amount), pricing.Money(credited)
		b.Charges = append(b.Charges, c)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	sess, err := catalogue.SessionOn(ctx, q, b.SessionID)
	if err != nil && traded.ErrorCode(err) != traded.ENOTFOUND {
		return err
	}
	b.Session = sess
	return nil
}

// FindBookingByID returns a booking with its delegates, charges, session
// and invoice, or ENOTFOUND.
func (s *Service) FindBookingByID(ctx context.Context, id int64) (*Booking, error) {
	b, err := s.findBooking(ctx, s.db.Read(), id)
	if err != nil {
		return nil, err
	}
	if err := s.withInvoices(ctx, s.db.Read(), []*Booking{b}); err != nil {
		return nil, err
	}
	return b, nil
}

// withInvoices sets the invoice of each booking and of each of its charges,
// as the Charger says, in one query for them all.
func (s *Service) withInvoices(ctx context.Context, q store.Queryer, bookings []*Booking) error {
	if s.Charger == nil || len(bookings) == 0 {
		return nil
	}
	ids := make([]int64, len(bookings))
	for i, b := range bookings {
		ids[i] = b.ID
	}
	invoiced, err := s.Charger.InvoicedCharges(ctx, q, ids)
	if err != nil {
		return err
	}
	for _, b := range bookings {
		for _, c := range b.Charges { // in order of position
			inv := invoiced[b.ID][c.Position]
			c.InvoiceID = inv.ID
			if inv.ID != 0 && b.InvoiceID == 0 {
				b.InvoiceID, b.InvoiceNumber = inv.ID, inv.Number
			}
		}
	}
	return nil
}

// BookingFilter selects bookings. Zero fields do not filter.
type BookingFilter struct {
	OrganisationID int64
	SessionID      int64
	Delegate       string // a delegate's email: their own bookings
	Year           *pricing.AcademicYear
	Statuses       []string
	// EndedBefore keeps bookings whose session ended before the instant;
	// NotEndedBefore those whose session had not (as Session.EndsAt).
	EndedBefore, NotEndedBefore *time.Time
	// Newest lists the latest session first instead of the soonest.
	Newest bool
	// Limit is how many to return at most (0: all), after skipping Offset,
	// of those after After in the list's order (see Booking.Cursor).
	Limit  int
	Offset int
	After  *store.Cursor
}

// Cursor is where b stands in FindBookings' order, for BookingFilter.After:
// its session's start, then its id.
func (b *Booking) Cursor() store.Cursor {
	c := store.Cursor{ID: b.ID}
	if b.Session != nil {
		c.Key = store.FormatTime(b.Session.StartsAt)
	}
	return c
}

// CountBookings returns how many bookings match f (its Limit, Offset and
// After aside).
func (s *Service) CountBookings(ctx context.Context, f BookingFilter) (int, error) {
	from, args := ` FROM bookings b`, []any{}
	if f.Year != nil || f.EndedBefore != nil || f.NotEndedBefore != nil {
		starts, err := s.sessionStarts(ctx, f)
		if err != nil {
			return 0, err
		}
		from, args = from+sessionJoin, append(args, starts)
	}
	where, wargs := bookingWhere(f)
	var n int
	if err := s.db.Read().QueryRowContext(ctx, `SELECT count(*)`+from+` WHERE `+strings.Join(where, " AND "), append(args, wargs...)...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count bookings: %w", err)
	}
	return n, nil
}

// sessionJoin joins bookings b to j, the sessions of sessionStarts: j.value
// is the session's start.
const sessionJoin = ` JOIN json_each(?) j ON b.session_id = CAST(j.key AS INTEGER) `

// sessionStarts returns, as a JSON object of session id to start (a stored
// instant), the sessions that f's bookings may be on, as catalogue has
// them: the year's, f's one session, those ended or not by the instant.
// Catalogue owns sessions, so a list ordered or filtered by when its
// session runs joins this one answer (see doc.go), not the table.
func (s *Service) sessionStarts(ctx context.Context, f BookingFilter) (string, error) {
	sf := catalogue.SessionFilter{Year: f.Year, EndedBefore: f.EndedBefore, NotEndedBefore: f.NotEndedBefore}
	if f.SessionID != 0 {
		sf.ID = &f.SessionID
	}
	sessions, err := s.Catalogue.FindSessions(ctx, sf)
	if err != nil {
		return "", err
	}
	return startsJSON(sessions), nil
}

// startsJSON is sessions as a JSON object of id to start, for json_each.
func startsJSON(sessions []*catalogue.Session) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, x := range sessions {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"%d":"%s"`, x.ID, store.FormatTime(x.StartsAt))
	}
	b.WriteByte('}')
	return b.String()
}

// bookingWhere is f's own conditions as SQL over bookings b; its session's
// year and times are sessionStarts'.
func bookingWhere(f BookingFilter) ([]string, []any) {
	where, args := []string{"1 = 1"}, []any{}
	if f.OrganisationID != 0 {
		where, args = append(where, "b.organisation_id = ?"), append(args, f.OrganisationID)
	}
	if f.SessionID != 0 {
		where, args = append(where, "b.session_id = ?"), append(args, f.SessionID)
	}
	if f.Delegate != "" {
		where = append(where, "b.id IN (SELECT booking_id FROM delegates WHERE email = ?)")
		args = append(args, f.Delegate)
	}
	if len(f.Statuses) > 0 {
		where = append(where, "b.status IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.Statuses)), ", ")+")")
		for _, st := range f.Statuses {
			args = append(args, st)
		}
	}
	return where, args
}

// FindBookings returns bookings matching f with their detail, soonest
// session first (then by id), or latest first with f.Newest.
func (s *Service) FindBookings(ctx context.Context, f BookingFilter) ([]*Booking, error) {
	starts, err := s.sessionStarts(ctx, f)
	if err != nil {
		return nil, err
	}
	where, args := bookingWhere(f)
	args = append([]any{starts}, args...)
	order, after := "j.value, b.id", ">"
	if f.Newest {
		order, after = "j.value DESC, b.id DESC", "<"
	}
	if f.After != nil {
		where, args = append(where, "(j.value, b.id) "+after+" (?, ?)"), append(args, f.After.Key, f.After.ID)
	}
	limit, largs := store.LimitSQL(f.Limit, f.Offset)
	rows, err := s.db.Read().QueryContext(ctx, `SELECT `+bookingColumns+bookingFrom+sessionJoin+`WHERE `+strings.Join(where, " AND ")+` ORDER BY `+order+limit, append(args, largs...)...)
	if err != nil {
		return nil, fmt.Errorf("find bookings: %w", err)
	}
	var out []*Booking
	for rows.Next() {
		b, err := scanBooking(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("find bookings: %w", err)
		}
		out = append(out, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, b := range out {
		if err := loadBookingDetail(ctx, s.db.Read(), b); err != nil {
			return nil, err
		}
	}
	if err := s.nameBookings(ctx, s.db.Read(), out); err != nil {
		return nil, err
	}
	if err := s.withInvoices(ctx, s.db.Read(), out); err != nil {
		return nil, err
	}
	return out, nil
}
