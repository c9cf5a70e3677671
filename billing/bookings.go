package billing

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"traded"
	"traded/booking"
	"traded/pricing"
	"traded/store"
)

// Billing implements booking.Charger.
var _ booking.Charger = (*Service)(nil)

// InvoiceBooking bills a booking's paid charges given (those of a booking
// just confirmed, or a charge added when the school's bookings on the
// session were priced again): an invoice now, with the booking's PO number,
// recording in invoiced_charges the line each charge is on; or nothing yet
// (the zero InvoiceRef) for a school invoiced monthly, whose charges wait
// for InvoiceMonthlyBookings. A charge is billed once: billing one again
// fails on invoiced_charges' key.
func (s *Service) InvoiceBooking(ctx context.Context, tx *store.Tx, actor store.Actor, b *booking.Booking) (booking.InvoiceRef, error) {
	org, err := s.orgs.ByIDTx(ctx, tx, b.OrganisationID)
	if err != nil {
		return booking.InvoiceRef{}, err
	}
	if org.BookingInvoices == "monthly" {
		return booking.InvoiceRef{}, nil
	}
	in := InvoiceInput{OrganisationID: org.ID, Source: "booking", AcademicYear: yearOf(b), PONumber: b.PONumber}
	var positions []int
	for _, c := range b.Charges {
		if c.Amount > 0 {
			in.Lines = append(in.Lines, LineInput{ProductCode: c.ProductCode, Description: fmt.Sprintf("%s (booking %s)", c.Description, b.Reference),
				Quantity: c.Quantity, Unit: c.Unit})
			positions = append(positions, c.Position)
		}
	}
	if len(in.Lines) == 0 {
		return booking.InvoiceRef{}, nil
	}
	id, number, err := s.issueNew(ctx, tx, actor, in)
	if err != nil {
		return booking.InvoiceRef{}, err
	}
	charges := make([]chargeKey, len(positions))
	for i, pos := range positions {
		charges[i] = chargeKey{b.ID, pos}
	}
	if err := recordInvoiced(ctx, tx, id, charges); err != nil {
		return booking.InvoiceRef{}, fmt.Errorf("invoice booking %s: %w", b.Reference, err)
	}
	return booking.InvoiceRef{ID: id, Number: number}, nil
}

// chargeKey is a booking charge: its booking and its position there.
type chargeKey struct {
	booking  int64
	position int
}

// recordInvoiced records that invoice id bills charges, the first on its
// line 1 and so on, in one statement however many there are.
func recordInvoiced(ctx context.Context, tx *store.Tx, id int64, charges []chargeKey) error {
	pairs := make([]string, len(charges))
	for i, c := range charges {
		pairs[i] = fmt.Sprintf("[%d,%d]", c.booking, c.position)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO invoiced_charges (booking_id, position, invoice_id, invoice_line)
		SELECT value ->> 0, value ->> 1, ?, key + 1 FROM json_each(?)`, id, "["+strings.Join(pairs, ",")+"]")
	return err
}

// InvoicedCharges returns, read through q, the invoice each billed charge of
// the bookings is on, by booking id and charge position (booking.Charger).
func (s *Service) InvoicedCharges(ctx context.Context, q store.Queryer, bookingIDs []int64) (map[int64]map[int]booking.InvoiceRef, error) {
	ids := make([]string, len(bookingIDs))
	for i, id := range bookingIDs {
		ids[i] = strconv.FormatInt(id, 10)
	}
	rows, err := q.QueryContext(ctx, `SELECT c.booking_id, c.position, c.invoice_id, i.number
		FROM invoiced_charges c JOIN invoices i ON i.id = c.invoice_id
		WHERE c.booking_id IN (SELECT value FROM json_each(?))`, "["+strings.Join(ids, ",")+"]")
	if err != nil {
		return nil, fmt.Errorf("invoiced charges: %w", err)
	}
	defer rows.Close()
	out := map[int64]map[int]booking.InvoiceRef{}
	for rows.Next() {
		var c chargeKey
		var inv booking.InvoiceRef
		if err := rows.Scan(&c.booking, &c.position, &inv.ID, &inv.Number); err != nil {
			return nil, fmt.Errorf("invoiced charges: %w", err)
		}
		if out[c.booking] == nil {
			out[c.booking] = map[int]booking.InvoiceRef{}
		}
		out[c.booking][c.position] = inv
	}
	return out, rows.Err()
}

func yearOf(b *booking.Booking) string {
	if b.Session == nil {
		return ""
	}
	return b.Session.Year.String()
}

// CreditBooking issues credit notes for gross amounts of a booking's
// charges (by charge position) that invoiced_charges says are invoiced: one
// credit note per invoice they are on. It returns the numbers,
// comma-separated, or "" when none is invoiced (a charge waiting for the
// monthly run is billed less what booking has taken off it).
func (s *Service) CreditBooking(ctx context.Context, tx *store.Tx, actor store.Actor, b *booking.Booking, amounts map[int]pricing.Money, reason string) (string, error) {
	type lineCredit struct {
		line   int
		amount pricing.Money
	}
	byInvoice := map[int64][]lineCredit{}
	rows, err := tx.QueryContext(ctx, `SELECT position, invoice_id, invoice_line FROM invoiced_charges WHERE booking_id = ? ORDER BY position`, b.ID)
	if err != nil {
		return "", fmt.Errorf("credit booking %s: %w", b.Reference, err)
	}
	for rows.Next() {
		var pos, line int
		var inv int64
		if err := rows.Scan(&pos, &inv, &line); err != nil {
			rows.Close()
			return "", fmt.Errorf("credit booking %s: %w", b.Reference, err)
		}
		if amt := amounts[pos]; amt > 0 {
			byInvoice[inv] = append(byInvoice[inv], lineCredit{line, amt})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("credit booking %s: %w", b.Reference, err)
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
	// Finding the charges not yet billed looks at every booking charge
	// (whether invoiced_charges has it): that is done on a snapshot, off the
	// writer, and the transaction reads only those bookings' charges again.
	// A charge that becomes due in between waits for the next run.
	due, err := s.bookingsDue(ctx, through)
	if err != nil {
		return nil, err
	}
	run := &MonthlyRun{}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		// A place cancelled free before billing has already come off the
		// charge (credited_pence): bill what is left, in whole units where it
		// divides, else as one amount.
		rows, err := tx.QueryContext(ctx, `SELECT b.organisation_id, b.po_number, b.id, b.reference, c.position, c.product_code, c.description,
				c.amount_pence - c.credited_pence, c.unit_pence, s.academic_year`+monthlyDueSQL+`
			  AND c.booking_id IN (SELECT value FROM json_each(?))
			ORDER BY b.organisation_id, b.po_number, b.confirmed_at, b.id, c.position`, store.FormatTime(through), due)
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
			keys := make([]chargeKey, len(charges))
			for i, c := range charges {
				keys[i] = chargeKey{c.booking, c.position}
				seen[c.booking] = true
			}
			if err := recordInvoiced(ctx, tx, id, keys); err != nil {
				return fmt.Errorf("monthly bookings: %w", err)
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

// monthlyDueSQL selects the booking charges the monthly run bills: paid,
// not in invoiced_charges, with something left after credits, of bookings
// confirmed before its argument that stand or were cancelled after the
// cut-off.
const monthlyDueSQL = `
	FROM booking_charges c JOIN bookings b ON b.id = c.booking_id JOIN sessions s ON s.id = b.session_id
	WHERE NOT EXISTS (SELECT 1 FROM invoiced_charges ic WHERE ic.booking_id = c.booking_id AND ic.position = c.position)
	  AND c.unit_pence > 0 AND c.amount_pence - c.credited_pence > 0 AND b.confirmed_at < ?
	  AND (b.status = 'confirmed' OR (b.status = 'cancelled' AND b.late_cancel = 1))`

// bookingsDue returns, as a JSON array for json_each, the bookings with
// charges that the monthly run bills (monthlyDueSQL), read on a snapshot.
func (s *Service) bookingsDue(ctx context.Context, through time.Time) (string, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT DISTINCT c.booking_id`+monthlyDueSQL, store.FormatTime(through))
	if err != nil {
		return "", fmt.Errorf("monthly bookings: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return "", fmt.Errorf("monthly bookings: %w", err)
		}
		ids = append(ids, strconv.FormatInt(id, 10))
	}
	return "[" + strings.Join(ids, ",") + "]", rows.Err()
}

// StartOfMonth returns midnight, London time, on the first of t's month:
// the monthly run bills bookings confirmed before it.
func StartOfMonth(t time.Time) time.Time {
	l := t.In(traded.London)
	return time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, traded.London).UTC()
}
