package billing_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"traded"
	"traded/app"
	"traded/billing"
	"traded/booking"
	"traded/demo"
	"traded/pricing"
	"traded/store"
	"traded/store/storetest"
)

// charger0020 bills bookings as the release before migration 0021 did,
// keeping the charge-to-invoice link in booking's tables: each charge's
// booking_charges.invoice_id and invoice_line, and bookings.invoice_id (the
// first invoice of a booking billed when confirmed, the latest monthly
// one). It builds the database that migration 0021 is tested on.
type charger0020 struct {
	bill *billing.Service
}

func (o charger0020) InvoiceBooking(ctx context.Context, tx *store.Tx, actor store.Actor, b *booking.Booking) (booking.InvoiceRef, error) {
	var invoicing string
	if err := tx.QueryRowContext(ctx, `SELECT booking_invoices FROM organisations WHERE id = ?`, b.OrganisationID).Scan(&invoicing); err != nil {
		return booking.InvoiceRef{}, err
	}
	if invoicing == "monthly" {
		return booking.InvoiceRef{}, nil
	}
	in := billing.InvoiceInput{OrganisationID: b.OrganisationID, Source: "booking", AcademicYear: b.Session.Year.String(), PONumber: b.PONumber}
	var positions []int
	for _, c := range b.Charges {
		if c.Amount > 0 && c.InvoiceID == 0 {
			in.Lines = append(in.Lines, billing.LineInput{ProductCode: c.ProductCode, Description: fmt.Sprintf("%s (booking %s)", c.Description, b.Reference),
				Quantity: c.Quantity, Unit: c.Unit})
			positions = append(positions, c.Position)
		}
	}
	if len(in.Lines) == 0 {
		return booking.InvoiceRef{}, nil
	}
	id, number, err := o.bill.IssueNewTx(ctx, tx, actor, in)
	if err != nil {
		return booking.InvoiceRef{}, err
	}
	for line, pos := range positions {
		if _, err := tx.ExecContext(ctx, `UPDATE booking_charges SET invoice_id = ?, invoice_line = ? WHERE booking_id = ? AND position = ?`,
			id, line+1, b.ID, pos); err != nil {
			return booking.InvoiceRef{}, err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE bookings SET invoice_id = COALESCE(invoice_id, ?) WHERE id = ?`, id, b.ID); err != nil {
		return booking.InvoiceRef{}, err
	}
	return booking.InvoiceRef{ID: id, Number: number}, nil
}

func (o charger0020) CreditBooking(ctx context.Context, tx *store.Tx, actor store.Actor, b *booking.Booking, amounts map[int]pricing.Money, reason string) (string, error) {
	byInvoice := map[int64][]billing.CreditLineInput{}
	var ids []int64
	for _, c := range b.Charges {
		var inv int64
		var line int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(invoice_id, 0), COALESCE(invoice_line, 0) FROM booking_charges WHERE booking_id = ? AND position = ?`,
			b.ID, c.Position).Scan(&inv, &line); err != nil {
			return "", err
		}
		if inv == 0 || amounts[c.Position] <= 0 {
			continue
		}
		if byInvoice[inv] == nil {
			ids = append(ids, inv)
		}
		byInvoice[inv] = append(byInvoice[inv], billing.CreditLineInput{Position: line, Amount: amounts[c.Position]})
	}
	var numbers []string
	for _, id := range ids {
		var number string
		if err := tx.QueryRowContext(ctx, `SELECT number FROM invoices WHERE id = ?`, id).Scan(&number); err != nil {
			return "", err
		}
		cn, err := o.bill.CreateCreditNoteTx(ctx, tx, actor, number, billing.CreditInput{Reason: reason, Lines: byInvoice[id]})
		if err != nil {
			return "", err
		}
		numbers = append(numbers, cn.Number)
	}
	return strings.Join(numbers, ", "), nil
}

func (o charger0020) InvoicedCharges(ctx context.Context, q store.Queryer, bookingIDs []int64) (map[int64]map[int]booking.InvoiceRef, error) {
	return nil, nil // the test reads that release's links by SQL
}

// invoiceMonthly is that release's monthly run for one school: its paid
// charges not yet billed, of bookings confirmed before through, on one
// invoice, each booking then naming that invoice.
func (o charger0020) invoiceMonthly(ctx context.Context, db *store.DB, orgID int64, through time.Time) (string, error) {
	var number string
	err := db.Write(ctx, func(tx *store.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT b.id, b.reference, c.position, c.product_code, c.description,
				c.amount_pence - c.credited_pence, c.unit_pence, s.academic_year
			FROM booking_charges c JOIN bookings b ON b.id = c.booking_id JOIN sessions s ON s.id = b.session_id
			WHERE b.organisation_id = ? AND c.invoice_id IS NULL AND c.unit_pence > 0 AND c.amount_pence - c.credited_pence > 0 AND b.confirmed_at < ?
			  AND (b.status = 'confirmed' OR (b.status = 'cancelled' AND b.late_cancel = 1))
			ORDER BY b.confirmed_at, b.id, c.position`, orgID, store.FormatTime(through))
		if err != nil {
			return err
		}
		type charge struct {
			booking  int64
			position int
		}
		var charges []charge
		in := billing.InvoiceInput{OrganisationID: orgID, Source: "booking"}
		for rows.Next() {
			var c charge
			var ref string
			var l billing.LineInput
			var left, unit int64
			if err := rows.Scan(&c.booking, &ref, &c.position, &l.ProductCode, &l.Description, &left, &unit, &in.AcademicYear); err != nil {
				rows.Close()
				return err
			}
			if left%unit == 0 {
				l.Quantity, l.Unit = int(left/unit), pricing.Money(unit)
			} else {
				l.Quantity, l.Unit = 1, pricing.Money(left)
				l.Description += ", after a cancelled place"
			}
			l.Description = fmt.Sprintf("%s (booking %s)", l.Description, ref)
			in.Lines = append(in.Lines, l)
			charges = append(charges, c)
		}
		rows.Close()
		if len(charges) == 0 {
			return nil
		}
		var id int64
		if id, number, err = o.bill.IssueNewTx(ctx, tx, store.System, in); err != nil {
			return err
		}
		for i, c := range charges {
			if _, err := tx.ExecContext(ctx, `UPDATE booking_charges SET invoice_id = ?, invoice_line = ? WHERE booking_id = ? AND position = ?`,
				id, i+1, c.booking, c.position); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE bookings SET invoice_id = ? WHERE id = ?`, id, c.booking); err != nil {
				return err
			}
		}
		return nil
	})
	return number, err
}

// openAt0020 is the demo base on a database migrated up to 0020 only, with
// its bookings billed by charger0020.
func openAt0020(t *testing.T) (*bookedBilling, charger0020) {
	t.Helper()
	ctx := context.Background()
	clock := traded.NewFixedClock(storetest.Epoch)
	db, err := store.Open(filepath.Join(t.TempDir(), "traded.db"), clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.MigrateTo(ctx, "0020_web_secrets.sql"); err != nil {
		t.Fatal(err)
	}
	svc := app.Domains(db).Booking
	svc.Accounts.PasswordCost = 4
	if err := demo.LoadBase(ctx, svc); err != nil {
		t.Fatal(err)
	}
	bill := billing.NewService(db, svc.Organisations, svc.Catalogue, billing.DefaultConfig(), nil)
	bill.Users = svc.Accounts
	old := charger0020{bill: bill}
	svc.Charger = old
	return &bookedBilling{t: t, ctx: ctx, db: db, clock: clock, svc: svc, bill: bill, la: store.Actor{Name: "finance@test"}}, old
}

// rowsOf returns each row of a query as one string.
func (f *bookedBilling) rowsOf(query string, args ...any) []string {
	f.t.Helper()
	rows, err := f.db.Read().QueryContext(f.ctx, query, args...)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			f.t.Fatal(err)
		}
		var row []string
		for _, v := range vals {
			row = append(row, v.String)
		}
		out = append(out, strings.Join(row, "|"))
	}
	if err := rows.Err(); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// money is every figure the migration must keep: invoices, their lines,
// credit notes and theirs, allocations, and the bookings' prices and
// charges.
func (f *bookedBilling) money() []string {
	f.t.Helper()
	var out []string
	for _, q := range []string{
		`SELECT id, number, organisation_id, status, source, po_number, net_pence, vat_pence, total_pence FROM invoices ORDER BY id`,
		`SELECT id, invoice_id, position, product_code, description, quantity, unit_pence, net_pence, vat_pence FROM invoice_lines ORDER BY id`,
		`SELECT id, number, invoice_id, net_pence, vat_pence, total_pence FROM credit_notes ORDER BY id`,
		`SELECT id, credit_note_id, invoice_line_id, net_pence, vat_pence FROM credit_note_lines ORDER BY id`,
		`SELECT id, invoice_id, COALESCE(credit_note_id, 0), COALESCE(payment_id, 0), amount_pence FROM allocations ORDER BY id`,
		`SELECT id, reference, status, price_pence, late_cancel FROM bookings ORDER BY id`,
		`SELECT booking_id, position, product_code, description, quantity, unit_pence, amount_pence, credited_pence FROM booking_charges ORDER BY booking_id, position`,
	} {
		out = append(out, q)
		out = append(out, f.rowsOf(q)...)
	}
	return out
}

func (f *bookedBilling) columns(table string) []string {
	f.t.Helper()
	return f.rowsOf(`SELECT name FROM pragma_table_info(?)`, table)
}

// Migration 0021 moves the charge-to-invoice link from booking's tables to
// billing's invoiced_charges. A database the release before wrote, with
// bookings billed at once and monthly, credited, and charged again when a
// colleague's place was cancelled, keeps every link and every figure; the
// old columns go; and billing then credits and bills from its own table:
// nothing billed twice, a credit note on the right invoice.
func TestMigration0021_InvoicedCharges(t *testing.T) {
	f, old := openAt0020(t)
	admin := f.user("admin@traded.example")
	if err := f.svc.Organisations.SetBookingSettings(f.ctx, f.la, f.orgID(990007), "monthly", false); err != nil {
		t.Fatal(err)
	}
	// Sunday 22 November 2026. Chelmer Valley, invoiced per booking: the
	// first-person price moves from a to b when a is cancelled in time, so
	// a is credited and b charged again on an invoice of its own.
	a := f.bookNamed(admin, 990001, "mod-y2-experienced", 1)
	b := f.bookNamed(admin, 990001, "mod-y2-experienced", 2)
	c := f.bookNamed(admin, 990001, "psa-ks2-taf", 1)
	f.cancel(admin, a)
	d := f.bookNamed(admin, 990002, "mod-y2-new", 3) // first-person and additional: two lines
	// Leigh Cliffs, invoiced monthly.
	g := f.bookNamed(admin, 990007, "mod-y2-new", 1)
	g2 := f.bookNamed(admin, 990007, "mod-y2-new", 2)
	e := f.bookNamed(admin, 990007, "psa-ks2-taf", 1)
	f.clock.Set(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	december, err := old.invoiceMonthly(f.ctx, f.db, f.orgID(990007), billing.StartOfMonth(f.clock.Now()))
	if err != nil || december == "" {
		t.Fatalf("December run: %q, %v", december, err)
	}
	// Cancelling g in time credits its line of the December invoice and
	// charges g2 the first-person difference, billed in January.
	f.clock.Set(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))
	f.cancel(admin, g)
	f.clock.Set(time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC))
	january, err := old.invoiceMonthly(f.ctx, f.db, f.orgID(990007), billing.StartOfMonth(f.clock.Now()))
	if err != nil || january == "" {
		t.Fatalf("January run: %q, %v", january, err)
	}
	h := f.bookNamed(admin, 990007, "psa-y2-refresher", 1) // not billed yet

	links := f.rowsOf(`SELECT booking_id, position, invoice_id, invoice_line FROM booking_charges WHERE invoice_id IS NOT NULL ORDER BY booking_id, position`)
	chargeInvoice := map[string]int64{} // "booking|position": invoice id
	for _, l := range links {
		fields := strings.Split(l, "|")
		chargeInvoice[fields[0]+"|"+fields[1]], _ = strconv.ParseInt(fields[2], 10, 64)
	}
	oldInvoice := map[int64]string{}
	for _, r := range f.rowsOf(`SELECT b.id, COALESCE(i.number, '') FROM bookings b LEFT JOIN invoices i ON i.id = b.invoice_id`) {
		id, number, _ := strings.Cut(r, "|")
		n, _ := strconv.ParseInt(id, 10, 64)
		oldInvoice[n] = number
	}
	// The history made what it should: links on at least two invoices for
	// b (its own and the price-again one) and for g2 (December, January).
	for _, x := range []*booking.Booking{b, g2} {
		if n := len(f.rowsOf(`SELECT DISTINCT invoice_id FROM booking_charges WHERE booking_id = ? AND invoice_id IS NOT NULL`, x.ID)); n != 2 {
			t.Fatalf("setup: booking %s is on %d invoices, want 2", x.Reference, n)
		}
	}
	if oldInvoice[g2.ID] != january || oldInvoice[h.ID] != "" {
		t.Fatalf("setup: g2 on %q, h on %q; want %s and none", oldInvoice[g2.ID], oldInvoice[h.ID], january)
	}
	before := f.money()

	applied, err := f.db.Migrate(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(applied, "0021_invoiced_charges.sql") {
		t.Fatalf("applied %v, want 0021_invoiced_charges.sql", applied)
	}
	bill := billing.NewService(f.db, f.svc.Organisations, f.svc.Catalogue, billing.DefaultConfig(), nil)
	bill.Users = f.svc.Accounts
	f.bill, f.svc.Charger = bill, bill

	t.Run("LinksKept", func(t *testing.T) {
		got := f.rowsOf(`SELECT booking_id, position, invoice_id, invoice_line FROM invoiced_charges ORDER BY booking_id, position`)
		if !slices.Equal(got, links) {
			t.Errorf("invoiced_charges:\n got %v\nwant %v (booking_charges' links before)", got, links)
		}
	})
	t.Run("MoneyKept", func(t *testing.T) {
		after := f.money()
		if !slices.Equal(after, before) {
			t.Errorf("figures changed:\n got %v\nwant %v", after, before)
		}
	})
	t.Run("OldColumnsGone", func(t *testing.T) {
		for table, gone := range map[string][]string{"bookings": {"invoice_id"}, "booking_charges": {"invoice_id", "invoice_line"}} {
			for _, col := range gone {
				if slices.Contains(f.columns(table), col) {
					t.Errorf("%s still has %s", table, col)
				}
			}
		}
		if n := f.rowsOf(`SELECT name FROM sqlite_schema WHERE name = 'booking_charges_uninvoiced'`); len(n) != 0 {
			t.Errorf("index booking_charges_uninvoiced is still there")
		}
	})
	t.Run("BookingsShowTheirInvoices", func(t *testing.T) {
		for _, x := range []*booking.Booking{a, b, c, d, g, g2, e, h} {
			got := f.reload(x.ID)
			want := oldInvoice[x.ID]
			if x.ID == g2.ID {
				// Billed by two monthly runs: the booking names its first
				// invoice now, the one its first charge is on.
				want = december
			}
			if got.InvoiceNumber != want {
				t.Errorf("booking %s: got invoice %q, want %q", got.Reference, got.InvoiceNumber, want)
			}
			for _, ch := range got.Charges {
				if was := chargeInvoice[fmt.Sprintf("%d|%d", x.ID, ch.Position)]; ch.InvoiceID != was {
					t.Errorf("booking %s charge %d: got invoice id %d, want %d", got.Reference, ch.Position, ch.InvoiceID, was)
				}
			}
		}
	})
	t.Run("CreditsTheMigratedInvoice", func(t *testing.T) {
		f.cancel(admin, c) // 4 January: before the cut-off of 5 January
		inv, err := f.bill.FindInvoiceByNumber(f.ctx, oldInvoice[c.ID])
		if err != nil {
			t.Fatal(err)
		}
		if inv.Credited != c.Price || inv.Balance() != 0 {
			t.Errorf("invoice %s after cancelling %s in time: got credited %s, balance %s; want %s and £0.00",
				inv.Number, c.Reference, inv.Credited, inv.Balance(), c.Price)
		}
	})
	t.Run("NothingBilledTwice", func(t *testing.T) {
		f.clock.Set(time.Date(2027, 2, 1, 9, 0, 0, 0, time.UTC))
		run, err := f.bill.InvoiceMonthlyBookings(f.ctx, f.la, billing.StartOfMonth(f.clock.Now()))
		if err != nil {
			t.Fatal(err)
		}
		if len(run.Invoices) != 1 || run.Bookings != 1 {
			t.Fatalf("February run: got %v for %d bookings, want one invoice for h alone", run.Invoices, run.Bookings)
		}
		if got := f.reload(h.ID); got.InvoiceNumber != run.Invoices[0] {
			t.Errorf("booking %s: got invoice %q, want %s", got.Reference, got.InvoiceNumber, run.Invoices[0])
		}
		inv, err := f.bill.FindInvoiceByNumber(f.ctx, run.Invoices[0])
		if err != nil {
			t.Fatal(err)
		}
		if inv.Total != h.Price || len(inv.Lines) != 1 {
			t.Errorf("February invoice %s: got %s on %d lines, want %s on one (h's place)", inv.Number, inv.Total, len(inv.Lines), h.Price)
		}
	})
}

// Migration 0021 stops, leaving the database as it was, rather than drop
// a booking's invoice that none of its charges is on.
func TestMigration0021_RefusesToLoseAnInvoice(t *testing.T) {
	f, _ := openAt0020(t)
	b := f.bookNamed(f.user("admin@traded.example"), 990001, "psa-ks2-taf", 1)
	if err := f.db.Write(f.ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(f.ctx, `UPDATE booking_charges SET invoice_id = NULL, invoice_line = NULL WHERE booking_id = ?`, b.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Migrate(f.ctx); err == nil || !strings.Contains(err.Error(), "0021") {
		t.Fatalf("got %v, want migration 0021 to fail", err)
	}
	if n := f.rowsOf(`SELECT name FROM schema_migrations WHERE name = '0021_invoiced_charges.sql'`); len(n) != 0 {
		t.Error("0021 is recorded as applied")
	}
	if !slices.Contains(f.columns("bookings"), "invoice_id") || len(f.rowsOf(`SELECT b.id FROM bookings b WHERE b.invoice_id IS NOT NULL`)) != 1 {
		t.Error("bookings lost its invoice_id")
	}
}
