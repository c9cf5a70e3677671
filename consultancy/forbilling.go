package consultancy

import (
	"context"
	"database/sql"
	"fmt"

	"traded/pricing"
	"traded/store"
)

// Billable is an accepted engagement with the visits it may be billed for:
// each delivered visit and each cancelled one that carries a charge.
type Billable struct {
	ID             int64
	Reference      string
	OrganisationID int64
	ProductCode    string
	PONumber       string
	AcademicYear   string
	Day, HalfDay   pricing.Money // the quoted rates
	Billing        string        // monthly or completion
	Open           int           // visits still planned or proposed
	Visits         []BillableVisit
}

// BillableVisit is a visit an engagement may be billed for.
type BillableVisit struct {
	ID                int64
	Date              string // YYYY-MM-DD
	Part              string
	Status            string // delivered or cancelled
	DeliveredHalfDays int
	ChargeHalfDays    int
	DeliveredAt       string // stored instant, "" when none
	CancelledAt       string
}

// BillableEngagements returns, read through q, the accepted engagements
// with a visit delivered or cancelled with a charge, by id, each with
// those visits by date, part and id, in one query. Which visits are
// already billed is billing's to say (it records the invoice of each).
func BillableEngagements(ctx context.Context, q store.Queryer) ([]*Billable, error) {
	rows, err := q.QueryContext(ctx, `SELECT r.id, r.reference, r.organisation_id, r.product_code, r.po_number, r.academic_year,
			r.day_pence, r.half_day_pence, r.billing,
			(SELECT count(*) FROM consultancy_visits x WHERE x.request_id = r.id AND x.status IN ('planned', 'proposed')),
			v.id, v.visit_date, v.part, v.status, COALESCE(v.delivered_half_days, 0), v.charge_half_days, v.delivered_at, v.cancelled_at
		FROM consultancy_requests r JOIN consultancy_visits v ON v.request_id = r.id
		WHERE r.status = 'accepted' AND ((v.status = 'delivered') OR (v.status = 'cancelled' AND v.charge_half_days > 0))
		ORDER BY r.id, v.visit_date, v.part, v.id`)
	if err != nil {
		return nil, fmt.Errorf("billable engagements: %w", err)
	}
	defer rows.Close()
	var out []*Billable
	for rows.Next() {
		var e Billable
		var v BillableVisit
		var day, half int64
		var delivered, cancelled sql.NullString
		if err := rows.Scan(&e.ID, &e.Reference, &e.OrganisationID, &e.ProductCode, &e.PONumber, &e.AcademicYear, &day, &half, &e.Billing,
			&e.Open, &v.ID, &v.Date, &v.Part, &v.Status, &v.DeliveredHalfDays, &v.ChargeHalfDays, &delivered, &cancelled); err != nil {
			return nil, fmt.Errorf("billable engagements: %w", err)
		}
		v.DeliveredAt, v.CancelledAt = delivered.String, cancelled.String
		if n := len(out); n > 0 && out[n-1].ID == e.ID {
			out[n-1].Visits = append(out[n-1].Visits, v)
			continue
		}
		e.Day, e.HalfDay = pricing.Money(day), pricing.Money(half)
		e.Visits = []BillableVisit{v}
		out = append(out, &e)
	}
	return out, rows.Err()
}
