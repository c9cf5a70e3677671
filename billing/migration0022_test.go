package billing_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"traded"
	"traded/app"
	"traded/billing"
	"traded/catalogue"
	"traded/consultancy"
	"traded/demo"
	"traded/pricing"
	"traded/store"
	"traded/store/storetest"
)

// TestMigration0022_InvoicedVisits: on a database of the release before
// 0022, where billing wrote each billed visit's invoice into
// consultancy_visits.invoice_id, the migration copies every link into
// billing's invoiced_visits, drops the column, and the next run bills only
// the visit that was not billed yet.
func TestMigration0022_InvoicedVisits(t *testing.T) {
	ctx := context.Background()
	clock := traded.NewFixedClock(storetest.Epoch)
	db, err := store.Open(filepath.Join(t.TempDir(), "traded.db"), clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.MigrateTo(ctx, "0021_invoiced_charges.sql"); err != nil {
		t.Fatal(err)
	}
	domains := app.Domains(db)
	bk, cons := domains.Booking, domains.Consultancy
	bk.Accounts.PasswordCost = 4
	if err := demo.LoadBase(ctx, bk); err != nil {
		t.Fatal(err)
	}
	bill := billing.NewService(db, bk.Organisations, bk.Catalogue, billing.DefaultConfig(), nil)
	bill.Users = bk.Accounts
	if err := bk.Catalogue.SetConsultancyRates(ctx, store.System, 2026, []catalogue.ConsultancyRate{
		{Product: "curriculum-review", Tier: pricing.Academy, Day: 50000, HalfDay: 27500}}); err != nil {
		t.Fatal(err)
	}
	admin, _ := bk.Accounts.FindUserByEmail(ctx, "admin@traded.example")
	adv, _ := bk.Accounts.FindUserByEmail(ctx, "adviser@traded.example")
	manager, _ := bk.Accounts.FindUserByEmail(ctx, "manager@basildonmeadows.example")
	c, err := cons.CreateRequest(ctx, manager, "", 990004, "curriculum-review", "Review our maths curriculum", "", "BMA-9")
	if err != nil {
		t.Fatal(err)
	}
	if err := cons.Quote(ctx, admin, "", c.ID, consultancy.QuoteInput{AdviserID: adv.ID, Billing: "monthly", LateCancelRule: "full",
		Visits: []consultancy.VisitInput{{Date: "2026-11-25", Part: "day", Mode: "onsite"}, {Date: "2026-11-26", Part: "am", Mode: "virtual"},
			{Date: "2026-12-02", Part: "pm", Mode: "onsite"}}}); err != nil {
		t.Fatal(err)
	}
	if err := cons.DecideQuote(ctx, manager, "", c.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	c, _ = cons.FindByID(ctx, c.ID)
	for i, at := range []time.Time{time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC), time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 2, 16, 0, 0, 0, time.UTC)} {
		clock.Set(at)
		if err := cons.LogDelivery(ctx, adv, "", c.Visits[i].ID, []int{2, 1, 1}[i], "Worked with the maths lead"); err != nil {
			t.Fatal(err)
		}
	}
	// November's two visits billed as the release before 0022 did: one
	// invoice, its id written on each visit.
	var invID int64
	var number string
	if err := db.Write(ctx, func(tx *store.Tx) error {
		id, n, err := bill.IssueNewTx(ctx, tx, store.System, billing.InvoiceInput{OrganisationID: c.OrganisationID, Source: "consultancy",
			AcademicYear: "2026/27", PONumber: c.PONumber, Lines: []billing.LineInput{
				{ProductCode: "curriculum-review", Description: "one day", Quantity: 1, Unit: 50000},
				{ProductCode: "curriculum-review", Description: "half day", Quantity: 1, Unit: 27500}}})
		if err != nil {
			return err
		}
		invID, number = id, n
		_, err = tx.ExecContext(ctx, `UPDATE consultancy_visits SET invoice_id = ? WHERE id IN (?, ?)`, id, c.Visits[0].ID, c.Visits[1].ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}

	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Read().QueryContext(ctx, `SELECT visit_id, invoice_id FROM invoiced_visits ORDER BY visit_id`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]int64{}
	for rows.Next() {
		var v, inv int64
		if err := rows.Scan(&v, &inv); err != nil {
			t.Fatal(err)
		}
		got[v] = inv
	}
	rows.Close()
	if len(got) != 2 || got[c.Visits[0].ID] != invID || got[c.Visits[1].ID] != invID {
		t.Errorf("invoiced_visits after 0022: %v, want visits %d and %d on invoice %s (%d)", got, c.Visits[0].ID, c.Visits[1].ID, number, invID)
	}
	var n int
	if err := db.Read().QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('consultancy_visits') WHERE name = 'invoice_id'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("consultancy_visits.invoice_id still there (%d, %v)", n, err)
	}
	// The January run bills December's visit only, at the engagement's rate.
	clock.Set(time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC))
	run, err := bill.InvoiceConsultancy(ctx, store.System, billing.StartOfMonth(clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Invoices) != 1 {
		t.Fatalf("January run after 0022: %v, want one invoice", run.Invoices)
	}
	inv, err := bill.FindInvoiceByNumber(ctx, run.Invoices[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Lines) != 1 || inv.Net != 27500 {
		t.Errorf("January invoice: %d lines, net %s; want December's half day, £275.00, alone", len(inv.Lines), inv.Net)
	}
}
