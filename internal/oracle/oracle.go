package oracle

import (
	"fmt"
	"slices"
	"time"
	_ "time/tzdata" // Europe/London on a machine without a zone database
)

// Tier is a customer tier of the tariff.
type Tier string

// The three tiers.
const (
	Maintained Tier = "maintained"
	Academy    Tier = "academy"
	External   Tier = "external"
)

// Tiers are the tiers in the tariff's order.
var Tiers = []Tier{Maintained, Academy, External}

// Kind is what a session sells.
type Kind string

// The kinds of session.
const (
	PSASession Kind = "psa-session" // a place for up to 2 staff
	Moderation Kind = "moderation"  // priced per person
)

// ModerationRates are one tier's moderation prices per person.
type ModerationRates struct {
	SubscriberFirst, SubscriberAdditional int64
	First, Additional                     int64 // non-subscriber
}

// Prices is one price list version: every number of the tariff.
type Prices struct {
	Subscription map[Tier]int64 // psa-subscription
	Session      map[Tier]int64 // psa-session, one place for up to 2 staff
	Moderation   map[Tier]ModerationRates
}

// Published returns the published 2021/22 tariff (DESIGN.md), price list
// version 1. Essex maintained schools and academies share the Essex
// moderation rates.
func Published() Prices {
	essex := ModerationRates{SubscriberFirst: 4000, SubscriberAdditional: 1000, First: 6000, Additional: 1500}
	return Prices{
		Subscription: map[Tier]int64{Maintained: 31500, Academy: 39500, External: 49500},
		Session:      map[Tier]int64{Maintained: 5500, Academy: 6500, External: 7500},
		Moderation: map[Tier]ModerationRates{Maintained: essex, Academy: essex,
			External: {SubscriberFirst: 5000, SubscriberAdditional: 2000, First: 7000, Additional: 2500}},
	}
}

// DefaultCancelWorkingDays is how many working days before a session free
// cancellation ends unless told otherwise.
const DefaultCancelWorkingDays = 10

// London is Europe/London: dates and midnights are London's.
var London = mustLoad("Europe/London")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// bankHolidays are England's bank holidays 2021-2023, the oracle's own copy.
var bankHolidays = map[string]bool{
	"2021-08-30": true, "2021-12-27": true, "2021-12-28": true,
	"2022-01-03": true, "2022-04-15": true, "2022-04-18": true, "2022-05-02": true, "2022-06-02": true,
	"2022-06-03": true, "2022-08-29": true, "2022-09-19": true, "2022-12-26": true, "2022-12-27": true,
	"2023-01-02": true, "2023-04-07": true, "2023-04-10": true, "2023-05-01": true, "2023-05-08": true,
	"2023-05-29": true, "2023-08-28": true, "2023-12-25": true, "2023-12-26": true,
}

// day is a London calendar date as YYYY-MM-DD.
func day(t time.Time) string { return t.In(London).Format("2006-01-02") }

// academicYear is the year (1 September to 31 August) t falls in, named by
// the calendar year it starts: 2021 for 2021/22.
func academicYear(t time.Time) int {
	l := t.In(London)
	if l.Month() >= time.September {
		return l.Year()
	}
	return l.Year() - 1
}

// FreeCancellationUntil returns the last instant a place on a session
// starting at start can be cancelled free: midnight (London) at the end of
// the working day (Monday to Friday, not a bank holiday) that is n working
// days before the session's date; with n = 0, the start itself (free while
// the session has not started). It fails for dates outside 2021-2023, whose
// bank holidays the oracle does not know.
func FreeCancellationUntil(start time.Time, n int) (time.Time, error) {
	if n < 0 {
		return time.Time{}, fmt.Errorf("oracle: negative working days %d", n)
	}
	if n == 0 {
		return start, nil
	}
	s := start.In(London)
	d := time.Date(s.Year(), s.Month(), s.Day(), 12, 0, 0, 0, time.UTC) // a date, noon to keep clear of any edge
	for n > 0 {
		d = d.AddDate(0, 0, -1)
		if d.Year() < 2021 || d.Year() > 2023 {
			return time.Time{}, fmt.Errorf("oracle: no bank holidays known for %d", d.Year())
		}
		if d.Weekday() != time.Saturday && d.Weekday() != time.Sunday && !bankHolidays[d.Format("2006-01-02")] {
			n--
		}
	}
	return time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, London), nil
}

// Session is a session the history books: declared up front.
type Session struct {
	ID    string
	Kind  Kind
	Start time.Time
}

// Event is one thing that happened, at an instant. The events are the
// types below.
type Event interface{ When() time.Time }

// PublishPriceList makes a new price list version current from At.
// Version 1, the published tariff, is current from the start.
type PublishPriceList struct {
	At      time.Time
	Version int
	Prices  Prices
}

// NewSchool is a school with its first tier.
type NewSchool struct {
	At     time.Time
	School string
	Tier   Tier
}

// TierFrom records, at At, that the school's tier is Tier from EffectiveDay
// (YYYY-MM-DD, London) on.
type TierFrom struct {
	At           time.Time
	School       string
	Tier         Tier
	EffectiveDay string
}

// Subscribe buys the PSA subscription for the academic year At falls in.
type Subscribe struct {
	At     time.Time
	School string
}

// Confirm is a booking of Places staff becoming confirmed at At: booked
// directly, a request approved, or a waiting-list offer taken.
type Confirm struct {
	At                       time.Time
	Booking, School, Session string
	Places                   int
}

// CancelBooking is the school cancelling a whole confirmed booking.
type CancelBooking struct {
	At      time.Time
	Booking string
}

// CancelPlace is the school cancelling one place of a confirmed booking
// that has at least 2 (cancelling the last place is CancelBooking).
type CancelPlace struct {
	At      time.Time
	Booking string
}

// SessionCancelled is the LA cancelling a session.
type SessionCancelled struct {
	At      time.Time
	Session string
}

// Swap gives a place to a colleague; it changes no money.
type Swap struct {
	At      time.Time
	Booking string
}

func (e PublishPriceList) When() time.Time { return e.At }
func (e NewSchool) When() time.Time        { return e.At }
func (e TierFrom) When() time.Time         { return e.At }
func (e Subscribe) When() time.Time        { return e.At }
func (e Confirm) When() time.Time          { return e.At }
func (e CancelBooking) When() time.Time    { return e.At }
func (e CancelPlace) When() time.Time      { return e.At }
func (e SessionCancelled) When() time.Time { return e.At }
func (e Swap) When() time.Time             { return e.At }

// Cancellation says how a booking (or a place) was cancelled.
type Cancellation string

// The ways a booking ends.
const (
	NotCancelled Cancellation = ""
	Free         Cancellation = "free" // at or before the free-cancellation cut-off: the places are gone
	Late         Cancellation = "late" // after it: the places still count
	ByLA         Cancellation = "la"   // the LA cancelled the session
)

// Booking is what the oracle knows of one confirmed booking.
type Booking struct {
	ID, School, Session string
	Seq                 int // order of confirmation in the history
	ConfirmedAt         time.Time
	// The rates fixed at confirmation (rule 1).
	Tier       Tier
	Subscriber bool
	Version    int

	Held        int // places still held
	FreeGone    int // places cancelled free
	LateGone    int // places cancelled late: they still count (rule 2)
	Cancelled   Cancellation
	CancelledAt time.Time
}

type tierEntry struct {
	tier Tier
	from string // "" for the tier the school was created with
}

type school struct {
	tiers      []tierEntry // in the order recorded
	subscribed map[int]bool
	subs       int64 // what its subscriptions cost
}

type session struct {
	Session
	cancelled bool
}

// Oracle replays a history. Apply events in time order, then ask.
type Oracle struct {
	workingDays int
	lists       map[int]Prices
	current     int
	now         time.Time
	schools     map[string]*school
	sessions    map[string]*session
	bookings    map[string]*Booking
	order       []string // bookings in order of confirmation
}

// New returns an oracle with the published tariff as version 1, free
// cancellation ending workingDays working days before a session, and the
// sessions the history will book.
func New(workingDays int, sessions ...Session) *Oracle {
	o := &Oracle{workingDays: workingDays, lists: map[int]Prices{1: Published()}, current: 1,
		schools: map[string]*school{}, sessions: map[string]*session{}, bookings: map[string]*Booking{}}
	for _, s := range sessions {
		o.AddSession(s)
	}
	return o
}

// AddSession declares a session.
func (o *Oracle) AddSession(s Session) { o.sessions[s.ID] = &session{Session: s} }

// Replay applies a whole history to a new oracle.
func Replay(workingDays int, sessions []Session, events []Event) (*Oracle, error) {
	o := New(workingDays, sessions...)
	for i, e := range events {
		if err := o.Apply(e); err != nil {
			return o, fmt.Errorf("event %d: %w", i+1, err)
		}
	}
	return o, nil
}

// tierOn is the school's tier in force on a London date: the latest entry
// effective on or before it, a later entry winning on the same day.
func (s *school) tierOn(d string) Tier {
	var best *tierEntry
	for i := range s.tiers {
		e := &s.tiers[i]
		if e.from <= d && (best == nil || e.from >= best.from) {
			best = e
		}
	}
	return best.tier
}

// FreeUntil is the session's free-cancellation cut-off.
func (o *Oracle) FreeUntil(sessionID string) (time.Time, error) {
	s, ok := o.sessions[sessionID]
	if !ok {
		return time.Time{}, fmt.Errorf("oracle: no session %q", sessionID)
	}
	return FreeCancellationUntil(s.Start, o.workingDays)
}

// Apply adds one event to the history. It refuses an event that could not
// happen (unknown ids, time running backwards, cancelling what is not held).
func (o *Oracle) Apply(e Event) error {
	if e.When().Before(o.now) {
		return fmt.Errorf("oracle: %T at %s is before the previous event (%s)", e, e.When(), o.now)
	}
	o.now = e.When()
	switch e := e.(type) {
	case PublishPriceList:
		if _, ok := o.lists[e.Version]; ok {
			return fmt.Errorf("oracle: price list version %d exists", e.Version)
		}
		o.lists[e.Version], o.current = e.Prices, e.Version
	case NewSchool:
		if _, ok := o.schools[e.School]; ok {
			return fmt.Errorf("oracle: school %q exists", e.School)
		}
		o.schools[e.School] = &school{tiers: []tierEntry{{tier: e.Tier}}, subscribed: map[int]bool{}}
	case TierFrom:
		s, ok := o.schools[e.School]
		if !ok {
			return fmt.Errorf("oracle: no school %q", e.School)
		}
		s.tiers = append(s.tiers, tierEntry{tier: e.Tier, from: e.EffectiveDay})
	case Subscribe:
		s, ok := o.schools[e.School]
		if !ok {
			return fmt.Errorf("oracle: no school %q", e.School)
		}
		y := academicYear(e.At)
		if s.subscribed[y] {
			return fmt.Errorf("oracle: %s already subscribes in %d", e.School, y)
		}
		s.subscribed[y] = true
		s.subs += o.lists[o.current].Subscription[s.tierOn(day(e.At))]
	case Confirm:
		s, ok := o.schools[e.School]
		sess, ok2 := o.sessions[e.Session]
		switch {
		case !ok:
			return fmt.Errorf("oracle: no school %q", e.School)
		case !ok2:
			return fmt.Errorf("oracle: no session %q", e.Session)
		case sess.cancelled:
			return fmt.Errorf("oracle: session %s is cancelled", e.Session)
		case e.Places < 1:
			return fmt.Errorf("oracle: booking %s of %d places", e.Booking, e.Places)
		}
		if _, ok := o.bookings[e.Booking]; ok {
			return fmt.Errorf("oracle: booking %q exists", e.Booking)
		}
		o.bookings[e.Booking] = &Booking{ID: e.Booking, School: e.School, Session: e.Session, Seq: len(o.order) + 1,
			ConfirmedAt: e.At, Tier: s.tierOn(day(e.At)), Subscriber: s.subscribed[academicYear(sess.Start)],
			Version: o.current, Held: e.Places}
		o.order = append(o.order, e.Booking)
	case CancelBooking, CancelPlace:
		var id string
		n := 0 // places going; 0 means all held
		if c, ok := e.(CancelPlace); ok {
			id, n = c.Booking, 1
		} else {
			id = e.(CancelBooking).Booking
		}
		b, ok := o.bookings[id]
		if !ok {
			return fmt.Errorf("oracle: no booking %q", id)
		}
		if b.Held == 0 {
			return fmt.Errorf("oracle: booking %s holds no places", id)
		}
		if n == 1 && b.Held < 2 {
			return fmt.Errorf("oracle: booking %s has one place: cancel the booking", id)
		}
		if n == 0 {
			n = b.Held
		}
		sess := o.sessions[b.Session]
		if !o.now.Before(sess.Start) {
			return fmt.Errorf("oracle: session %s has started", b.Session)
		}
		cutoff, err := FreeCancellationUntil(sess.Start, o.workingDays)
		if err != nil {
			return err
		}
		how := Late
		if !o.now.After(cutoff) {
			how = Free
		}
		b.Held -= n
		if how == Free {
			b.FreeGone += n
		} else {
			b.LateGone += n
		}
		if b.Held == 0 {
			b.Cancelled, b.CancelledAt = how, o.now
		}
	case SessionCancelled:
		s, ok := o.sessions[e.Session]
		if !ok {
			return fmt.Errorf("oracle: no session %q", e.Session)
		}
		if s.cancelled {
			return fmt.Errorf("oracle: session %s is already cancelled", e.Session)
		}
		s.cancelled = true
		for _, b := range o.bookings {
			if b.Session == e.Session && b.Held > 0 {
				b.Cancelled, b.CancelledAt = ByLA, o.now
			}
		}
	case Swap:
		b, ok := o.bookings[e.Booking]
		if !ok || b.Held == 0 {
			return fmt.Errorf("oracle: booking %s holds no place to swap", e.Booking)
		}
	default:
		return fmt.Errorf("oracle: unknown event %T", e)
	}
	return nil
}

// Chargeable is how many places of a booking count (rule 2): those held and
// those cancelled late; none on a session the LA cancelled (rule 8).
func (o *Oracle) Chargeable(bookingID string) int {
	b, ok := o.bookings[bookingID]
	if !ok || o.sessions[b.Session].cancelled {
		return 0
	}
	return b.Held + b.LateGone
}

// walk prices one school's chargeable places on one session (rules 3-5)
// and returns each booking's share.
func (o *Oracle) walk(schoolID, sessionID string) map[string]int64 {
	shares := map[string]int64{}
	sess := o.sessions[sessionID]
	if sess.cancelled {
		return shares // rule 8
	}
	freeUsed, room, first := 0, 0, true
	for _, id := range o.order { // rule 3: in the order confirmed
		b := o.bookings[id]
		if b.School != schoolID || b.Session != sessionID {
			continue
		}
		p := o.lists[b.Version]
		for range o.Chargeable(id) {
			switch sess.Kind {
			case PSASession: // rule 4
				switch {
				case b.Subscriber && freeUsed < 2:
					freeUsed++
				case room > 0:
					room--
				default:
					shares[id] += p.Session[b.Tier]
					room = 1 // the place bought covers one more
				}
			case Moderation: // rule 5
				r := p.Moderation[b.Tier]
				f, a := r.First, r.Additional
				if b.Subscriber {
					f, a = r.SubscriberFirst, r.SubscriberAdditional
				}
				if first {
					shares[id] += f
					first = false
				} else {
					shares[id] += a
				}
			}
		}
	}
	return shares
}

// Share is what a booking's places cost in its school's walk of its
// session: the booking's expected net charge.
func (o *Oracle) Share(bookingID string) int64 {
	b, ok := o.bookings[bookingID]
	if !ok {
		return 0
	}
	return o.walk(b.School, b.Session)[bookingID]
}

// Subscriptions is what the school's subscriptions cost.
func (o *Oracle) Subscriptions(schoolID string) int64 {
	if s, ok := o.schools[schoolID]; ok {
		return s.subs
	}
	return 0
}

// Owed is what the school should owe in all: its subscriptions and, on each
// session, the walk of its chargeable places.
func (o *Oracle) Owed(schoolID string) int64 {
	total := o.Subscriptions(schoolID)
	for id := range o.sessions {
		for _, v := range o.walk(schoolID, id) {
			total += v
		}
	}
	return total
}

// SessionOwed is what the school should owe for one session.
func (o *Oracle) SessionOwed(schoolID, sessionID string) int64 {
	var total int64
	for _, v := range o.walk(schoolID, sessionID) {
		total += v
	}
	return total
}

// Booking returns what the oracle knows of a confirmed booking (a copy).
func (o *Oracle) Booking(id string) (Booking, bool) {
	b, ok := o.bookings[id]
	if !ok {
		return Booking{}, false
	}
	return *b, true
}

// Bookings returns the confirmed bookings' ids in order of confirmation.
func (o *Oracle) Bookings() []string { return slices.Clone(o.order) }

// TierOn is the school's tier in force on a London date (YYYY-MM-DD), as
// far as the history so far has told.
func (o *Oracle) TierOn(schoolID, date string) Tier {
	return o.schools[schoolID].tierOn(date)
}

// Subscriber reports whether the school holds the PSA subscription for the
// academic year t falls in.
func (o *Oracle) Subscriber(schoolID string, t time.Time) bool {
	return o.schools[schoolID].subscribed[academicYear(t)]
}

// Current is the price list version current now, and its prices.
func (o *Oracle) Current() (int, Prices) { return o.current, o.lists[o.current] }
