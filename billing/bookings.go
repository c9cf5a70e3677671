package billing

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"traded"
	"traded/booking"
	"traded/pricing"
	"traded/store"
)

// Billing implements booking.Charger.
var _ booking.Charger = (*Service)(nil)

// InvoiceBooking bills a booking's paid charges not yet invoiced (those of
// a booking just confirmed, or a charge added when the school's bookings on
// the session were priced again): an invoice now, with the booking's PO
// number, or nothing yet (0) for a school invoiced monthly, whose charges
// wait for InvoiceMonthlyBookings.
func (s *Service) InvoiceBooking(ctx context.Context, tx *store.Tx, actor store.Actor, b *booking.Booking) (int64, error) {
	org, err := s.orgs.ByIDTx(ctx, tx, b.OrganisationID)
	if err != nil {
		return 0, err
	}
	if org.BookingInvoices == "monthly" {
		return 0, nil
	}
	in := InvoiceInput{OrganisationID: org.ID, Source: "booking", AcademicYear: yearOf(b), PONumber: b.PONumber}
	var positions []int
	for _, c := range b.Charges {
		if c.Amount > 0 && c.InvoiceID == 0 {
			in.Lines = append(in.Lines, LineInput{ProductCode: c.ProductCode, Description: fmt.Sprintf("%s (booking %s)", c.Description, b.Reference),
				Quantity: c.Quantity, Unit: c.Unit})
			positions = append(positions, c.Position)
		}
	}
	if len(in.Lines) == 0 {
		return 0, nil
	}
	id, _, err := s.issueNew(ctx, tx, actor, in)
	if err != nil {
		return 0, err
	}
	for line, pos := range positions {
		if _, err := tx.ExecContext(ctx, `UPDATE booking_charges SET invoice_id = ?, invoice_line = ? WHERE booking_id = ? AND position = ?`,
			id, line+1, b.ID, pos); err != nil {
			return 0, fmt.Errorf("invoice booking %s: %w", b.Reference, err)
		}
	}
	return id, nil
}

func yearOf(b *booking.Booking) string {
	if b.Session == nil {
		return ""
	}
	return b.Session.Year.String()
}

// CreditBooking issues credit notes for gross amounts of a booking's
// invoiced charges (by charge position): one credit note per invoice they
// are on. It returns the numbers, comma-separated.
func (s *Service) CreditBooking(ctx context.Context, tx *store.Tx, actor store.Actor, b *booking.Booking, amounts map[int]pricing.Money, reason string) (string, error) {
	type lineCredit struct {
		line   int
		amount pricing.Money
	}
	byInvoice := map[int64][]lineCredit{}
	for pos, amt := range amounts {
		var inv, line int64
		err := tx.QueryRowContext(ctx, `SELECT COALESCE(invoice_id, 0), COALESCE(invoice_line, 0) FROM booking_charges WHERE booking_id = ? AND position = ?`,
			b.ID, pos).Scan(&inv, &line)
		if err != nil {
			return "", fmt.Errorf("credit booking %s: %w", b.Reference, err)
		}
		if inv == 0 || amt <= 0 {
			continue
		}
		byInvoice[inv] = append(byInvoice[inv], lineCredit{int(line), amt})
	}
	var ids []int64
	for id := range byInvoice {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var numbers []string
	for _, id := range ids {
		inv, err := findInvoice(ctx, tx, `i.id = ?`, id)
		if err != nil {
			return "", fmt.Errorf("credit booking %s: %w", b.Reference, err)
		}
		// Finance may already have credited some of a line by hand: credit
		// at most what is left of it, and nothing for a line with nothing left.
		in := CreditInput{Reason: reason}
		for _, lc := range byInvoice[id] {
			for _, l := range inv.Lines {
				if left := l.Net + l.VAT - l.Credited; l.Position == lc.line && left > 0 {
					in.Lines = append(in.Lines, CreditLineInput{Position: lc.line, Amount: min(lc.amount, left)})
				}
			}
		}
		if len(in.Lines) == 0 {
			continue
		}
		cn, err := s.createCreditNote(ctx, tx, actor, inv.Number, in)
		if err != nil {
			return "", err
		}
		numbers = append(numbers, cn.Number)
	}
	return strings.Join(numbers, ", "), nil
}

// MonthlyRun says what InvoiceMonthlyBookings did.
type MonthlyRun struct {
	Invoices []string // the numbers issued
	Bookings int      // bookings billed
}

// InvoiceMonthlyBookings gathers, for each school invoiced monthly, the paid
// booking charges not yet billed from bookings confirmed before through —
// confirmed bookings, and those cancelled after the cut-off, whose charge
// stands — into one invoice per school and PO number. A charge is billed once: running
// again bills nothing new.
func (s *Service) InvoiceMonthlyBookings(ctx context.Context, actor store.Actor, through time.Time) (*MonthlyRun, error) {
	run := &MonthlyRun{}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		// A place cancelled free before billing has already come off the
		// charge (credited_pence): bill what is left, in whole units where it
		// divides, else as one amount.
		rows, err := tx.QueryContext(ctx, `SELECT b.organisation_id, b.po_number, b.id, b.reference, c.position, c.product_code, c.description,
				c.amount_pence - c.credited_pence, c.unit_pence, s.academic_year
			FROM booking_charges c JOIN bookings b ON b.id = c.booking_id JOIN sessions s ON s.id = b.session_id
			WHERE c.invoice_id IS NULL AND c.unit_pence > 0 AND c.amount_pence - c.credited_pence > 0 AND b.confirmed_at < ?
			  AND (b.status = 'confirmed' OR (b.status = 'cancelled' AND b.late_cancel = 1))
			ORDER BY b.organisation_id, b.po_number, b.confirmed_at, b.id, c.position`, store.FormatTime(through))
		if err != nil {
			return fmt.Errorf("monthly bookings: %w", err)
		}
		type charge struct {
			booking  int64
			ref      string
			position int
			line     LineInput
			year     string
		}
		// One invoice per school and PO number: a PO authorises its own spend.
		type payer struct {
			org int64
			po  string
		}
		byOrg := map[payer][]charge{}
		var orgs []payer
		for rows.Next() {
			var org payer
			var c charge
			var left, unit int64
			if err := rows.Scan(&org.org, &org.po, &c.booking, &c.ref, &c.position, &c.line.ProductCode, &c.line.Description, &left, &unit, &c.year); err != nil {
				rows.Close()
				return err
			}
			if left%unit == 0 {
				c.line.Quantity, c.line.Unit = int(left/unit), pricing.Money(unit)
			} else {
				c.line.Quantity, c.line.Unit = 1, pricing.Money(left)
				c.line.Description += ", after a cancelled place"
			}
			c.line.Description = fmt.Sprintf("%s (booking %s)", c.line.Description, c.ref)
			if _, ok := byOrg[org]; !ok {
				orgs = append(orgs, org)
			}
			byOrg[org] = append(byOrg[org], c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, org := range orgs {
			charges := byOrg[org]
			in := InvoiceInput{OrganisationID: org.org, Source: "booking", AcademicYear: charges[0].year, PONumber: org.po}
			for _, c := range charges {
				in.Lines = append(in.Lines, c.line)
			}
			id, number, err := s.issueNew(ctx, tx, actor, in)
			if err != nil {
				return err
			}
			seen := map[int64]bool{}
			for i, c := range charges {
				if _, err := tx.ExecContext(ctx, `UPDATE booking_charges SET invoice_id = ?, invoice_line = ? WHERE booking_id = ? AND position = ?`,
					id, i+1, c.booking, c.position); err != nil {
					return fmt.Errorf("monthly bookings: %w", err)
				}
				if !seen[c.booking] {
					seen[c.booking] = true
					if _, err := tx.ExecContext(ctx, `UPDATE bookings SET invoice_id = ? WHERE id = ?`, id, c.booking); err != nil {
						return fmt.Errorf("monthly bookings: %w", err)
					}
				}
			}
			run.Invoices = append(run.Invoices, number)
			run.Bookings += len(seen)
		}
		return tx.Audit(ctx, actor, "bookings.invoice_monthly", "", "",
			fmt.Sprintf("through %s: %d invoice(s) for %d booking(s)", through.In(traded.London).Format("2 Jan 2006"), len(run.Invoices), run.Bookings))
	})
	if err != nil {
		return nil, err
	}
	return run, nil
}

// StartOfMonth returns midnight, London time, on the first of t's month:
// the monthly run bills bookings confirmed before it.
func StartOfMonth(t time.Time) time.Time {
	l := t.In(traded.London)
	return time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, traded.London).UTC()
}
