package booking

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"traded/catalogue"
	"traded/pricing"
	"traded/store"
)

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
