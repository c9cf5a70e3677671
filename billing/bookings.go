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
		charges, err := s.chargesDue(ctx, tx, through, due)
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
		for _, d := range charges {
			org := payer{d.OrganisationID, d.PONumber}
			c := charge{booking: d.BookingID, ref: d.Reference, position: d.Position, year: d.AcademicYear,
				line: LineInput{ProductCode: d.ProductCode, Description: d.Description}}
			if d.Left%d.Unit == 0 {
				c.line.Quantity, c.line.Unit = int(d.Left/d.Unit), d.Unit
			} else {
				c.line.Quantity, c.line.Unit = 1, d.Left
				c.line.Description += ", after a cancelled place"
			}
			c.line.Description = fmt.Sprintf("%s (booking %s)", c.line.Description, c.ref)
			if _, ok := byOrg[org]; !ok {
				orgs = append(orgs, org)
			}
			byOrg[org] = append(byOrg[org], c)
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

// chargesDue returns, read through q, the booking charges the monthly run
// bills: those booking finds due (booking.ChargesDue: paid, with something
// left after credits, of bookings confirmed before through that stand or
// were cancelled after the cut-off), of the bookings of ids (nil: all),
// that invoiced_charges does not have.
func (s *Service) chargesDue(ctx context.Context, q queryer, through time.Time, ids []int64) ([]booking.ChargeDue, error) {
	charges, err := booking.ChargesDue(ctx, q, through, ids)
	if err != nil || len(charges) == 0 {
		return nil, err
	}
	var bookings []string
	for i, c := range charges {
		if i == 0 || c.BookingID != charges[i-1].BookingID {
			bookings = append(bookings, strconv.FormatInt(c.BookingID, 10))
		}
	}
	rows, err := q.QueryContext(ctx, `SELECT booking_id, position FROM invoiced_charges
		WHERE booking_id IN (SELECT value FROM json_each(?))`, "["+strings.Join(bookings, ",")+"]")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	billed := map[chargeKey]bool{}
	for rows.Next() {
		var k chargeKey
		if err := rows.Scan(&k.booking, &k.position); err != nil {
			return nil, err
		}
		billed[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := charges[:0]
	for _, c := range charges {
		if !billed[chargeKey{c.BookingID, c.Position}] {
			out = append(out, c)
		}
	}
	return out, nil
}

// bookingsDue returns the bookings with charges that the monthly run bills
// (chargesDue), read on a snapshot, in id order.
func (s *Service) bookingsDue(ctx context.Context, through time.Time) ([]int64, error) {
	charges, err := s.chargesDue(ctx, s.db.Read(), through, nil)
	if err != nil {
		return nil, fmt.Errorf("monthly bookings: %w", err)
	}
	seen := map[int64]bool{}
	ids := []int64{}
	for _, c := range charges {
		if !seen[c.BookingID] {
			seen[c.BookingID] = true
			ids = append(ids, c.BookingID)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}

// StartOfMonth returns midnight, London time, on the first of t's month:
// the monthly run bills bookings confirmed before it.
func StartOfMonth(t time.Time) time.Time {
	l := t.In(traded.London)
	return time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, traded.London).UTC()
}
