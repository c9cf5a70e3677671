package billing

import (
	"context"
	"fmt"
	"time"

	"traded"
	"traded/consultancy"
	"traded/pricing"
	"traded/store"
)

// InvoiceConsultancy bills consultancy engagements: for those billed
// monthly, every delivered visit and late-cancellation charge from before
// through not yet billed; for those billed on completion, everything once
// no visit is left planned (the engagement is then completed). Each visit
// is billed once, in the transaction that marks it billed. Lines are priced
// at the engagement's quoted day and half-day rates.
func (s *Service) InvoiceConsultancy(ctx context.Context, actor store.Actor, through time.Time) (*MonthlyRun, error) {
	run := &MonthlyRun{}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT r.id, r.reference, r.organisation_id, r.product_code, p.name, r.po_number, r.academic_year,
				r.day_pence, r.half_day_pence, r.billing,
				(SELECT count(*) FROM consultancy_visits x WHERE x.request_id = r.id AND x.status IN ('planned', 'proposed'))
			FROM consultancy_requests r JOIN products p ON p.code = r.product_code
			WHERE r.status = 'accepted' AND EXISTS (SELECT 1 FROM consultancy_visits v WHERE v.request_id = r.id
				AND NOT EXISTS (SELECT 1 FROM invoiced_visits iv WHERE iv.visit_id = v.id) AND ((v.status = 'delivered') OR (v.status = 'cancelled' AND v.charge_half_days > 0)))
			ORDER BY r.id`)
		if err != nil {
			return fmt.Errorf("consultancy invoices: %w", err)
		}
		type engagement struct {
			id, org                         int64
			ref, product, name, po, year, b string
			day, half                       pricing.Money
			open                            int
		}
		var todo []engagement
		for rows.Next() {
			var e engagement
			var day, half int64
			if err := rows.Scan(&e.id, &e.ref, &e.org, &e.product, &e.name, &e.po, &e.year, &day, &half, &e.b, &e.open); err != nil {
				rows.Close()
				return err
			}
			e.day, e.half = pricing.Money(day), pricing.Money(half)
			todo = append(todo, e)
		}
		rows.Close()
		for _, e := range todo {
			if e.b == "completion" && e.open > 0 {
				continue
			}
			cutoff := store.FormatTime(through)
			if e.b == "completion" {
				cutoff = store.FormatTime(tx.Now.Add(time.Second))
			}
			vrows, err := tx.QueryContext(ctx, `SELECT id, visit_date, part, status, COALESCE(delivered_half_days, 0), charge_half_days
				FROM consultancy_visits v WHERE request_id = ? AND NOT EXISTS (SELECT 1 FROM invoiced_visits iv WHERE iv.visit_id = v.id)
				AND ((status = 'delivered' AND delivered_at < ?) OR (status = 'cancelled' AND charge_half_days > 0 AND cancelled_at < ?))
				ORDER BY visit_date, part, id`, e.id, cutoff, cutoff)
			if err != nil {
				return fmt.Errorf("consultancy invoices: %w", err)
			}
			in := InvoiceInput{OrganisationID: e.org, Source: "consultancy", AcademicYear: e.year, PONumber: e.po}
			var visits []int64
			for vrows.Next() {
				var id int64
				var date, part, status string
				var delivered, charged int
				if err := vrows.Scan(&id, &date, &part, &status, &delivered, &charged); err != nil {
					vrows.Close()
					return err
				}
				halfDays, what := delivered, "delivered"
				if status == "cancelled" {
					halfDays, what = charged, "cancelled within 10 working days: charged under the engagement's terms"
				}
				d, _ := time.Parse(store.DateFormat, date)
				desc := fmt.Sprintf("%s (%s): %s on %s, %s", e.name, e.ref, dayPart(halfDays), d.Format("2 January 2006"), what)
				if halfDays%2 == 0 {
					in.Lines = append(in.Lines, LineInput{ProductCode: e.product, Description: desc, Quantity: halfDays / 2, Unit: e.day})
				} else {
					in.Lines = append(in.Lines, LineInput{ProductCode: e.product, Description: desc, Quantity: 1, Unit: e.half})
				}
				visits = append(visits, id)
			}
			vrows.Close()
			if len(in.Lines) == 0 {
				continue
			}
			id, number, err := s.issueNew(ctx, tx, actor, in)
			if err != nil {
				return err
			}
			for _, v := range visits {
				if _, err := tx.ExecContext(ctx, `INSERT INTO invoiced_visits (visit_id, invoice_id) VALUES (?, ?)`, v, id); err != nil {
					return fmt.Errorf("consultancy invoices: %w", err)
				}
			}
			if e.b == "completion" {
				if err := consultancy.CompleteTx(ctx, tx, e.id); err != nil {
					return err
				}
			}
			run.Invoices = append(run.Invoices, number)
			run.Bookings++
		}
		if len(run.Invoices) == 0 {
			return nil
		}
		return tx.Audit(ctx, actor, "consultancy.invoice", "", "",
			fmt.Sprintf("through %s: %d invoice(s)", through.In(traded.London).Format("2 Jan 2006"), len(run.Invoices)))
	})
	if err != nil {
		return nil, err
	}
	return run, nil
}

func dayPart(halfDays int) string {
	switch {
	case halfDays == 1:
		return "half day"
	case halfDays == 2:
		return "one day"
	}
	return fmt.Sprintf("%d half days", halfDays)
}

// IncomeRow is consultancy income, net of VAT and of credit notes, for one
// service or quadrant.
type IncomeRow struct {
	Label string
	Net   pricing.Money
}

// ConsultancyIncome returns the year's consultancy income (invoiced, net of
// VAT, less credits) by service and by quadrant (a school's quadrant comes
// from its district; schools outside Essex are "Outside Essex").
func (s *Service) ConsultancyIncome(ctx context.Context, year pricing.AcademicYear, quadrant func(district string) string) (byService, byQuadrant []IncomeRow, err error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT p.name, o.district,
			SUM(l.net_pence - COALESCE((SELECT SUM(c.net_pence) FROM credit_note_lines c WHERE c.invoice_line_id = l.id), 0))
		FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id JOIN organisations o ON o.id = i.organisation_id
		JOIN products p ON p.code = l.product_code
		WHERE i.status = 'issued' AND i.source = 'consultancy' AND i.academic_year = ?
		GROUP BY p.name, o.district ORDER BY p.sort`, year.String())
	if err != nil {
		return nil, nil, fmt.Errorf("consultancy income: %w", err)
	}
	defer rows.Close()
	service, quad := map[string]pricing.Money{}, map[string]pricing.Money{}
	var services []string
	for rows.Next() {
		var name, district string
		var net int64
		if err := rows.Scan(&name, &district, &net); err != nil {
			return nil, nil, err
		}
		if _, ok := service[name]; !ok {
			services = append(services, name)
		}
		service[name] += pricing.Money(net)
		quad[quadrant(district)] += pricing.Money(net)
	}
	for _, n := range services {
		byService = append(byService, IncomeRow{n, service[n]})
	}
	for _, q := range []string{"North East", "Mid", "South", "West", "Outside Essex"} {
		byQuadrant = append(byQuadrant, IncomeRow{q, quad[q]})
	}
	return byService, byQuadrant, rows.Err()
}
