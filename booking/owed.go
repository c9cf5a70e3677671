package booking

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"traded"
	"traded/catalogue"
	"traded/organisation"
	"traded/pricing"
	"traded/store"
)

// What a school owes for one session is always the tariff for its
// chargeable places there, worked out the same way however the bookings
// came about (README, Decisions). Each confirmed booking keeps the rates it
// was confirmed at and its place in the order of the school's bookings on
// the session; a walk over those places in that order gives each booking
// its price. Confirming appends to the walk, so it never changes an earlier
// booking's price; a free cancellation takes places out, and reprice settles
// every booking's difference. internal/oracle implements the same rules a
// second time, from the README alone, and a property test over random
// histories holds the two together.

// rates are what a booking is priced at: fixed when it is confirmed.
type rates struct {
	list       *pricing.PriceList
	tier       pricing.Tier
	subscriber bool
}

// share is one booking's chargeable places in the walk.
type share struct {
	bookingID int64
	places    int
	rates     rates
}

// priceShares prices a school's chargeable places on one session, booking
// by booking in the order given, and returns each booking's lines.
//   - PSA session: a place on a booking made as a subscriber is free while
//     fewer than StaffPerPlace places have been free; otherwise it shares a
//     paid place bought earlier that has room; otherwise it buys one at its
//     booking's price.
//   - Moderation: the first place pays the first-person price, every other
//     the additional price, each at its own booking's rates.
func priceShares(sess *catalogue.Session, shares []share) ([][]*Charge, error) {
	out := make([][]*Charge, len(shares))
	var freeUsed, paidStaff, paidPlaces, placesSoFar int
	for i, sh := range shares {
		product, ok := sh.rates.list.Products[sess.ProductCode]
		if !ok {
			return nil, traded.Errorf(traded.EINVALID, "%s has no price in the %s price list.", sess.ProductCode, sess.Year)
		}
		switch product.Kind {
		case pricing.KindSession:
			var entitled, shared, bought int
			for range sh.places {
				switch {
				case sh.rates.subscriber && freeUsed < pricing.StaffPerPlace:
					freeUsed++
					entitled++
				case paidStaff < paidPlaces*pricing.StaffPerPlace:
					paidStaff++
					shared++
				default:
					paidPlaces++
					paidStaff++
					bought++
				}
			}
			var lines []*Charge
			if entitled > 0 {
				lines = append(lines, &Charge{ProductCode: product.Code, Quantity: entitled,
					Description: fmt.Sprintf("%s, %s: %d member%s of staff included in the PSA subscription", sess.Title, sessDate(sess), entitled, plural(entitled))})
			}
			if bought > 0 {
				unit, err := sh.rates.list.Price(product.Code, sh.rates.tier, pricing.RateUnit)
				if err != nil {
					return nil, fromPricing(err)
				}
				lines = append(lines, &Charge{ProductCode: product.Code, Quantity: bought, Unit: unit, Amount: unit * pricing.Money(bought),
					Description: fmt.Sprintf("%s, %s: single-session place for up to %d staff", sess.Title, sessDate(sess), pricing.StaffPerPlace)})
			} else if shared > 0 {
				lines = append(lines, &Charge{ProductCode: product.Code, Quantity: shared,
					Description: fmt.Sprintf("%s, %s: covered by the school's single-session place", sess.Title, sessDate(sess))})
			}
			out[i] = lines
		case pricing.KindModeration:
			if sh.places == 0 {
				continue
			}
			q, err := sh.rates.list.Quote(sh.rates.tier, sh.rates.subscriber, []pricing.Item{{Product: product.Code, Staff: sh.places, AlreadyBooked: placesSoFar}})
			if err != nil {
				return nil, fromPricing(err)
			}
			for _, l := range q.Lines {
				out[i] = append(out[i], &Charge{ProductCode: l.Product, Quantity: l.Quantity, Unit: l.Unit, Amount: l.Amount,
					Description: fmt.Sprintf("%s, %s: %s", sess.Title, sessDate(sess), strings.TrimPrefix(l.Description, product.Name+": "))})
			}
		default:
			return nil, traded.Errorf(traded.EINVALID, "%s cannot be booked as a session.", product.Name)
		}
		placesSoFar += sh.places
	}
	return out, nil
}

// walkRow is one of a school's confirmed (or once confirmed) bookings on a
// session, as the walk needs it.
type walkRow struct {
	id         int64
	status     string
	lateCancel bool
	seq        int
	places     int // chargeable: held, or cancelled after the cut-off
	listID     int64
	tier       pricing.Tier
	subscriber bool
}

// chargeable reports whether the booking's places count in the walk.
func (r walkRow) chargeable() bool {
	return r.places > 0 && (r.status == StatusConfirmed || (r.status == StatusCancelled && r.lateCancel))
}

// schoolWalk reads every booking of an organisation on a session that has
// ever been confirmed, in confirmation order, and the last sequence number
// given.
func schoolWalk(ctx context.Context, q store.Queryer, orgID, sessionID int64) ([]walkRow, int, error) {
	rows, err := q.QueryContext(ctx, `SELECT b.id, b.status, b.late_cancel, b.confirm_seq, COALESCE(b.price_list_id, 0), COALESCE(b.tier, ''), b.subscriber,
			(SELECT count(*) FROM delegates d WHERE d.booking_id = b.id AND (d.status = 'active' OR (d.status = 'cancelled' AND d.late_cancel = 1)))
		FROM bookings b WHERE b.organisation_id = ? AND b.session_id = ? AND b.confirm_seq IS NOT NULL ORDER BY b.confirm_seq`, orgID, sessionID)
	if err != nil {
		return nil, 0, fmt.Errorf("school's bookings on session: %w", err)
	}
	defer rows.Close()
	var out []walkRow
	last := 0
	for rows.Next() {
		var r walkRow
		var tier string
		if err := rows.Scan(&r.id, &r.status, &r.lateCancel, &r.seq, &r.listID, &tier, &r.subscriber, &r.places); err != nil {
			return nil, 0, fmt.Errorf("school's bookings on session: %w", err)
		}
		r.tier = pricing.Tier(tier)
		last = max(last, r.seq)
		out = append(out, r)
	}
	return out, last, rows.Err()
}

// sharesOf turns the chargeable rows of a walk into shares, loading each
// booking's price list.
func (s *Service) sharesOf(ctx context.Context, q store.Queryer, walk []walkRow) ([]share, []walkRow, error) {
	var shares []share
	var rows []walkRow
	for _, r := range walk {
		if !r.chargeable() {
			continue
		}
		pl, err := s.Catalogue.LoadPriceList(ctx, q, r.listID)
		if err != nil {
			return nil, nil, err
		}
		shares = append(shares, share{bookingID: r.id, places: r.places, rates: rates{list: pl, tier: r.tier, subscriber: r.subscriber}})
		rows = append(rows, r)
	}
	return shares, rows, nil
}

// ratesNow are the rates an organisation's booking on sess confirmed now
// would get: its tier today, whether it subscribes, the current list.
func (s *Service) ratesNow(ctx context.Context, q store.Queryer, org *organisation.Organisation, sess *catalogue.Session) (rates, int64, error) {
	var listID int64
	var subscriber bool
	var err error
	if listID, err = s.Catalogue.CurrentListID(ctx, q, sess.Year); err != nil {
		return rates{}, 0, err
	}
	if tx, ok := q.(*store.Tx); ok {
		subscriber, err = s.isSubscriber(ctx, tx, org.ID, sess.Year)
	} else {
		subscriber, err = s.subscribes(ctx, q, org.ID, sess.Year)
	}
	if err != nil {
		return rates{}, 0, err
	}
	pl, err := s.Catalogue.LoadPriceList(ctx, q, listID)
	if err != nil {
		return rates{}, 0, err
	}
	return rates{list: pl, tier: org.Tier, subscriber: subscriber}, listID, nil
}

// priceNew prices places more places for org on sess, confirmed now, after
// the school's chargeable places already there. It returns the lines, the
// rates and the sequence number the booking would take.
func (s *Service) priceNew(ctx context.Context, q store.Queryer, org *organisation.Organisation, sess *catalogue.Session, places int, except int64) ([]*Charge, rates, int64, int, error) {
	walk, last, err := schoolWalk(ctx, q, org.ID, sess.ID)
	if err != nil {
		return nil, rates{}, 0, 0, err
	}
	kept := walk[:0:0]
	for _, r := range walk {
		if r.id != except {
			kept = append(kept, r)
		}
	}
	shares, _, err := s.sharesOf(ctx, q, kept)
	if err != nil {
		return nil, rates{}, 0, 0, err
	}
	r, listID, err := s.ratesNow(ctx, q, org, sess)
	if err != nil {
		return nil, rates{}, 0, 0, err
	}
	lines, err := priceShares(sess, append(shares, share{places: places, rates: r}))
	if err != nil {
		return nil, rates{}, 0, 0, err
	}
	return lines[len(lines)-1], r, listID, last + 1, nil
}

// reprice prices the school's bookings on a session again after places were
// taken out (a free cancellation, or the LA cancelling the session: then
// everything is owed nothing) and settles each booking's difference: a
// credit where it was charged more than its price now, a new charge (with
// the booking's PO, or failing that cause's) where it was charged less.
// cause is the booking whose change made the difference. It returns notes
// for the audit log.
func (s *Service) reprice(ctx context.Context, tx *store.Tx, actor store.Actor, orgID int64, sess *catalogue.Session, cause *Booking, reason string) (string, error) {
	walk, _, err := schoolWalk(ctx, tx, orgID, sess.ID)
	if err != nil {
		return "", err
	}
	price := map[int64]pricing.Money{}
	var lines map[int64][]*Charge
	if sess.Status == "scheduled" {
		shares, rows, err := s.sharesOf(ctx, tx, walk)
		if err != nil {
			return "", err
		}
		priced, err := priceShares(sess, shares)
		if err != nil {
			return "", err
		}
		lines = map[int64][]*Charge{}
		for i, r := range rows {
			lines[r.id] = priced[i]
			for _, c := range priced[i] {
				price[r.id] += c.Amount
			}
		}
	}
	var notes []string
	for _, r := range walk {
		b := cause
		if b == nil || b.ID != r.id {
			if b, err = s.findBooking(ctx, tx, r.id); err != nil {
				return "", err
			}
		}
		var charged pricing.Money
		for _, c := range b.Charges {
			charged += c.Amount - c.Credited
		}
		want := price[r.id]
		switch {
		case charged > want:
			credit := map[int]pricing.Money{}
			left := charged - want
			for i := len(b.Charges) - 1; i >= 0 && left > 0; i-- {
				c := b.Charges[i]
				if take := min(left, c.Amount-c.Credited); take > 0 {
					credit[c.Position] = take
					left -= take
				}
			}
			why := fmt.Sprintf("Booking %s: %s", b.Reference, reason)
			if cause != nil && cause.ID != b.ID {
				why = fmt.Sprintf("Booking %s priced again after booking %s: %s", b.Reference, cause.Reference, reason)
			}
			note, _, err := s.applyCredit(ctx, tx, actor, b, credit, why)
			if err != nil {
				return "", err
			}
			notes = append(notes, fmt.Sprintf("%s credited %s%s", b.Reference, charged-want, note))
		case charged < want:
			note, err := s.chargeDifference(ctx, tx, actor, b, want-charged, cause, lines[r.id])
			if err != nil {
				return "", err
			}
			notes = append(notes, note)
		}
	}
	return strings.Join(notes, "; "), nil
}

// chargeDifference adds a charge of amount to a booking whose price rose
// when a colleague's place was cancelled (the first-person price moving to
// it, or a shared paid place it must now buy) and bills it like any charge.
func (s *Service) chargeDifference(ctx context.Context, tx *store.Tx, actor store.Actor, b *Booking, amount pricing.Money, cause *Booking, now []*Charge) (string, error) {
	pos := 1
	for _, c := range b.Charges {
		pos = max(pos, c.Position+1)
	}
	what := "its share of the school's places"
	for _, c := range now {
		if c.Amount > 0 {
			what = c.Description
			break
		}
	}
	desc := what + " (price again"
	if cause != nil && cause.ID != b.ID {
		desc += " after booking " + cause.Reference + " was cancelled"
	}
	desc += ")"
	c := &Charge{Position: pos, ProductCode: b.Session.ProductCode, Description: desc, Quantity: 1, Unit: amount, Amount: amount}
	if _, err := tx.ExecContext(ctx, `INSERT INTO booking_charges (booking_id, position, product_code, description, quantity, unit_pence, amount_pence)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, b.ID, c.Position, c.ProductCode, c.Description, c.Quantity, int64(c.Unit), int64(c.Amount)); err != nil {
		return "", fmt.Errorf("charge booking %s: %w", b.Reference, err)
	}
	// A booking's price is what its charges add up to, before credits.
	if _, err := tx.ExecContext(ctx, `UPDATE bookings SET price_pence = price_pence + ?, updated_at = ? WHERE id = ?`,
		int64(amount), store.FormatTime(tx.Now), b.ID); err != nil {
		return "", fmt.Errorf("charge booking %s: %w", b.Reference, err)
	}
	note := fmt.Sprintf("%s charged %s more", b.Reference, amount)
	if s.Charger == nil {
		return note, nil
	}
	bill := *b
	if bill.PONumber == "" && cause != nil {
		bill.PONumber = cause.PONumber
	}
	bill.Charges = []*Charge{c}
	inv, err := s.Charger.InvoiceBooking(ctx, tx, actor, &bill)
	if err != nil {
		return "", err
	}
	if inv.ID != 0 {
		note += " on a new invoice"
	}
	return note, nil
}

// Subscriptions says which schools hold the year's PSA subscription:
// billing sells subscriptions and owns their table, so booking asks
// (Service.Subscriptions, else its Charger when that implements
// Subscriptions too, as billing's does); with neither, no school
// subscribes.
type Subscriptions interface {
	// Subscribes reports, read through q, whether the organisation holds
	// an active PSA subscription for the year.
	Subscribes(ctx context.Context, q store.Queryer, orgID int64, year pricing.AcademicYear) (bool, error)
}

// subscribes asks billing, through q, whether the school subscribes.
func (s *Service) subscribes(ctx context.Context, q store.Queryer, orgID int64, year pricing.AcademicYear) (bool, error) {
	sub := s.Subscriptions
	if sub == nil {
		var ok bool
		if sub, ok = s.Charger.(Subscriptions); !ok {
			return false, nil
		}
	}
	return sub.Subscribes(ctx, q, orgID, year)
}

// QuoteRequest asks for the price of items for one organisation in one year.
type QuoteRequest struct {
	URN          int64
	Year         pricing.AcademicYear
	AsSubscriber *bool // nil: whether the organisation really subscribes that year
	Items        []pricing.Item
}

// Quote prices a request by the year's current price list and the
// organisation's tier. It returns ENOTFOUND for an unknown organisation,
// EINVALID for a year with no price list, an unknown product or a bad number
// of staff.
func (s *Service) Quote(ctx context.Context, req QuoteRequest) (*pricing.Quote, error) {
	org, err := s.Organisations.FindByURN(ctx, req.URN)
	if err != nil {
		return nil, err
	}
	pl, err := s.Catalogue.PriceList(ctx, req.Year)
	if traded.ErrorCode(err) == traded.ENOTFOUND {
		return nil, traded.FieldErrorf("academic_year", "There is no price list for %s.", req.Year)
	} else if err != nil {
		return nil, err
	}
	subscriber := false
	if req.AsSubscriber != nil {
		subscriber = *req.AsSubscriber
	} else if subscriber, err = s.IsSubscriber(ctx, org.ID, req.Year); err != nil {
		return nil, err
	}
	q, err := pl.Quote(org.Tier, subscriber, req.Items)
	if err != nil {
		return nil, fromPricing(err)
	}
	return q, nil
}

// fromPricing turns the tariff's complaints into user-facing invalid input.
func fromPricing(err error) error {
	var pe *pricing.Error
	if errors.As(err, &pe) {
		return traded.FieldErrorf(pe.Field, "%s", upperFirst(pe.Message))
	}
	return err
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// IsSubscriber reports whether the organisation holds an active PSA
// subscription for the year.
func (s *Service) IsSubscriber(ctx context.Context, orgID int64, year pricing.AcademicYear) (bool, error) {
	return s.subscribes(ctx, s.db.Read(), orgID, year)
}

// ChargeDue is a booking charge that a monthly invoice may bill, with what
// the invoice needs of its booking and session.
type ChargeDue struct {
	OrganisationID int64
	PONumber       string
	BookingID      int64
	Reference      string
	Position       int
	ProductCode    string
	Description    string
	Left           pricing.Money // the charge less what has been credited off it
	Unit           pricing.Money
	AcademicYear   string // the session's, as stored ("2024/25")
}

// ChargesDue returns, read through q, the paid charges with something left
// after credits of bookings confirmed before through that stand or were
// cancelled after the cut-off (whose charge stands): of the bookings of
// ids, or of every booking when ids is nil. They come by organisation, PO
// number, confirmation and booking, then position. Whether a charge is
// already billed is billing's to say (it records the invoice of each).
func ChargesDue(ctx context.Context, q store.Queryer, through time.Time, ids []int64) ([]ChargeDue, error) {
	cond, args := "", []any{store.FormatTime(through)}
	if ids != nil {
		list := make([]string, len(ids))
		for i, id := range ids {
			list[i] = strconv.FormatInt(id, 10)
		}
		cond, args = " AND c.booking_id IN (SELECT value FROM json_each(?))", append(args, "["+strings.Join(list, ",")+"]")
	}
	rows, err := q.QueryContext(ctx, `SELECT b.organisation_id, b.po_number, b.id, b.reference, c.position, c.product_code, c.description,
			c.amount_pence - c.credited_pence, c.unit_pence, b.session_id
		FROM booking_charges c JOIN bookings b ON b.id = c.booking_id
		WHERE c.unit_pence > 0 AND c.amount_pence - c.credited_pence > 0 AND b.confirmed_at < ?
		  AND (b.status = 'confirmed' OR (b.status = 'cancelled' AND b.late_cancel = 1))`+cond+`
		ORDER BY b.organisation_id, b.po_number, b.confirmed_at, b.id, c.position`, args...)
	if err != nil {
		return nil, fmt.Errorf("charges due: %w", err)
	}
	defer rows.Close()
	var out []ChargeDue
	var sessions []int64
	var sessionOf []int64
	seen := map[int64]bool{}
	for rows.Next() {
		var c ChargeDue
		var left, unit, session int64
		if err := rows.Scan(&c.OrganisationID, &c.PONumber, &c.BookingID, &c.Reference, &c.Position, &c.ProductCode, &c.Description,
			&left, &unit, &session); err != nil {
			return nil, fmt.Errorf("charges due: %w", err)
		}
		c.Left, c.Unit = pricing.Money(left), pricing.Money(unit)
		out = append(out, c)
		sessionOf = append(sessionOf, session)
		if !seen[session] {
			seen[session] = true
			sessions = append(sessions, session)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("charges due: %w", err)
	}
	rows.Close()
	years, err := catalogue.SessionYears(ctx, q, sessions)
	if err != nil {
		return nil, fmt.Errorf("charges due: %w", err)
	}
	// A booking's session always exists (the foreign key), as the join
	// this replaces assumed.
	kept := out[:0]
	for i, c := range out {
		y, ok := years[sessionOf[i]]
		if !ok {
			continue
		}
		c.AcademicYear = y
		kept = append(kept, c)
	}
	return kept, nil
}
