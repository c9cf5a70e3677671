package billing

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
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
		engagements, err := consultancy.BillableEngagements(ctx, tx)
		if err != nil {
			return fmt.Errorf("consultancy invoices: %w", err)
		}
		var visitIDs []int64
		for _, e := range engagements {
			for _, v := range e.Visits {
				visitIDs = append(visitIDs, v.ID)
			}
		}
		billed, err := invoicedVisits(ctx, tx, visitIDs)
		if err != nil {
			return fmt.Errorf("consultancy invoices: %w", err)
		}
		for _, e := range engagements {
			var left []consultancy.BillableVisit
			for _, v := range e.Visits {
				if !billed[v.ID] {
					left = append(left, v)
				}
			}
			if len(left) == 0 || (e.Billing == "completion" && e.Open > 0) {
				continue
			}
			p, err := s.catalogue.FindProductTx(ctx, tx, e.ProductCode)
			if traded.ErrorCode(err) == traded.EINVALID {
				continue // no such product: nothing it could be billed as
			} else if err != nil {
				return fmt.Errorf("consultancy invoices: %w", err)
			}
			cutoff := store.FormatTime(through)
			if e.Billing == "completion" {
				cutoff = store.FormatTime(tx.Now.Add(time.Second))
			}
			in := InvoiceInput{OrganisationID: e.OrganisationID, Source: "consultancy", AcademicYear: e.AcademicYear, PONumber: e.PONumber}
			var visits []int64
			for _, v := range left {
				if !(v.Status == "delivered" && v.DeliveredAt != "" && v.DeliveredAt < cutoff) &&
					!(v.Status == "cancelled" && v.ChargeHalfDays > 0 && v.CancelledAt != "" && v.CancelledAt < cutoff) {
					continue
				}
				halfDays, what := v.DeliveredHalfDays, "delivered"
				if v.Status == "cancelled" {
					halfDays, what = v.ChargeHalfDays, "cancelled within 10 working days: charged under the engagement's terms"
				}
				d, _ := time.Parse(store.DateFormat, v.Date)
				desc := fmt.Sprintf("%s (%s): %s on %s, %s", p.Name, e.Reference, dayPart(halfDays), d.Format("2 January 2006"), what)
				if halfDays%2 == 0 {
					in.Lines = append(in.Lines, LineInput{ProductCode: e.ProductCode, Description: desc, Quantity: halfDays / 2, Unit: e.Day})
				} else {
					in.Lines = append(in.Lines, LineInput{ProductCode: e.ProductCode, Description: desc, Quantity: 1, Unit: e.HalfDay})
				}
				visits = append(visits, v.ID)
			}
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
			if e.Billing == "completion" {
				if err := consultancy.CompleteTx(ctx, tx, e.ID); err != nil {
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

// invoicedVisits returns which of the visits billing has invoiced, in one
// query.
func invoicedVisits(ctx context.Context, q queryer, ids []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	list := make([]string, len(ids))
	for i, id := range ids {
		list[i] = strconv.FormatInt(id, 10)
	}
	rows, err := q.QueryContext(ctx, `SELECT visit_id FROM invoiced_visits WHERE visit_id IN (SELECT value FROM json_each(?))`,
		"["+strings.Join(list, ",")+"]")
	if err != nil {
		return nil, fmt.Errorf("invoiced visits: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("invoiced visits: %w", err)
		}
		out[id] = true
	}
	return out, rows.Err()
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
	rows, err := s.db.Read().QueryContext(ctx, `SELECT l.product_code, i.organisation_id,
			SUM(l.net_pence - COALESCE((SELECT SUM(c.net_pence) FROM credit_note_lines c WHERE c.invoice_line_id = l.id), 0))
		FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
		WHERE i.status = 'issued' AND i.source = 'consultancy' AND i.academic_year = ?
		GROUP BY l.product_code, i.organisation_id`, year.String())
	if err != nil {
		return nil, nil, fmt.Errorf("consultancy income: %w", err)
	}
	defer rows.Close()
	type sum struct {
		product string
		org     int64
		net     pricing.Money
	}
	var sums []sum
	var orgIDs []int64
	for rows.Next() {
		var x sum
		var net int64
		if err := rows.Scan(&x.product, &x.org, &net); err != nil {
			return nil, nil, err
		}
		x.net = pricing.Money(net)
		sums, orgIDs = append(sums, x), append(orgIDs, x.org)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("consultancy income: %w", err)
	}
	rows.Close()
	products, err := s.catalogue.FindAllProducts(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("consultancy income: %w", err)
	}
	rank := make(map[string]int, len(products))
	name := make(map[string]string, len(products))
	for i, p := range products {
		rank[p.Code], name[p.Code] = i, p.Name
	}
	orgs, err := s.organisationsOf(ctx, s.db.Read(), orgIDs)
	if err != nil {
		return nil, nil, fmt.Errorf("consultancy income: %w", err)
	}
	// Services in catalogue order (then by name), as they are sold.
	sort.SliceStable(sums, func(i, j int) bool { return rank[sums[i].product] < rank[sums[j].product] })
	service, quad := map[string]pricing.Money{}, map[string]pricing.Money{}
	var services []string
	for _, x := range sums {
		n, ok := name[x.product]
		o := orgs[x.org]
		if !ok || o == nil {
			continue
		}
		if _, ok := service[n]; !ok {
			services = append(services, n)
		}
		service[n] += x.net
		quad[quadrant(o.District)] += x.net
	}
	for _, n := range services {
		byService = append(byService, IncomeRow{n, service[n]})
	}
	for _, q := range []string{"North East", "Mid", "South", "West", "Outside Essex"} {
		byQuadrant = append(byQuadrant, IncomeRow{q, quad[q]})
	}
	return byService, byQuadrant, nil
}
