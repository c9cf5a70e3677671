package billing_test

import (
	"context"
	"testing"
	"time"

	"traded/app"
	"traded/billing"
	"traded/catalogue"
	"traded/consultancy"
	"traded/demo"
	"traded/pricing"
	"traded/store"
	"traded/store/storetest"
)

func TestService_InvoiceConsultancy(t *testing.T) {
	db, clock := storetest.Open(t)
	ctx := context.Background()
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
	engage := func(billingMode string, visits ...consultancy.VisitInput) *consultancy.Request {
		c, err := cons.CreateRequest(ctx, manager, "", 990004, "curriculum-review", "Review our maths curriculum", "", "BMA-9")
		if err != nil {
			t.Fatal(err)
		}
		if err := cons.Quote(ctx, admin, "", c.ID, consultancy.QuoteInput{AdviserID: adv.ID, Visits: visits, Billing: billingMode, LateCancelRule: "full"}); err != nil {
			t.Fatal(err)
		}
		if err := cons.DecideQuote(ctx, manager, "", c.ID, true, ""); err != nil {
			t.Fatal(err)
		}
		c, _ = cons.FindByID(ctx, c.ID)
		return c
	}
	monthly := engage("monthly",
		consultancy.VisitInput{Date: "2026-11-25", Part: "day", Mode: "onsite"},
		consultancy.VisitInput{Date: "2026-12-02", Part: "am", Mode: "virtual"},
		consultancy.VisitInput{Date: "2027-01-13", Part: "day", Mode: "onsite"})
	onCompletion := engage("completion",
		consultancy.VisitInput{Date: "2026-11-26", Part: "pm", Mode: "onsite"},
		consultancy.VisitInput{Date: "2026-12-03", Part: "day", Mode: "onsite"})

	deliver := func(v *consultancy.Visit, halfDays int, at time.Time) {
		t.Helper()
		clock.Set(at)
		if err := cons.LogDelivery(ctx, adv, "", v.ID, halfDays, "Worked with the maths lead"); err != nil {
			t.Fatal(err)
		}
	}
	deliver(monthly.Visits[0], 2, time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC))
	deliver(onCompletion.Visits[0], 1, time.Date(2026, 11, 26, 16, 0, 0, 0, time.UTC))

	// The December run bills November's delivered day only.
	dec := billing.StartOfMonth(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	clock.Set(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	run, err := bill.InvoiceConsultancy(ctx, store.System, dec)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Invoices) != 1 {
		t.Fatalf("December run: %v, want one invoice (the monthly engagement)", run.Invoices)
	}
	inv, _ := bill.FindInvoiceByNumber(ctx, run.Invoices[0])
	if inv.Net != 50000 || inv.VAT != 10000 || inv.Total != 60000 || inv.PONumber != "BMA-9" || inv.Lines[0].VATTreatment != "standard" {
		t.Errorf("invoice net %s VAT %s total %s PO %q; want £500.00 + 20%% VAT, PO BMA-9", inv.Net, inv.VAT, inv.Total, inv.PONumber)
	}
	if again, _ := bill.InvoiceConsultancy(ctx, store.System, dec); len(again.Invoices) != 0 {
		t.Errorf("running December again billed %v", again.Invoices)
	}

	// A late cancellation (13 January, cancelled on 6 January) is charged in full.
	deliver(monthly.Visits[1], 1, time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))
	deliver(onCompletion.Visits[1], 2, time.Date(2026, 12, 3, 16, 0, 0, 0, time.UTC))
	clock.Set(time.Date(2027, 1, 6, 10, 0, 0, 0, time.UTC))
	if err := cons.CancelVisit(ctx, manager, "", monthly.Visits[2].ID, "Ofsted visit"); err != nil {
		t.Fatal(err)
	}
	// The completion engagement is billed as soon as nothing is left planned.
	run, err = bill.InvoiceConsultancy(ctx, store.System, billing.StartOfMonth(clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Invoices) != 2 {
		t.Fatalf("January run: %v, want the monthly engagement's December work and the completed engagement", run.Invoices)
	}
	var monthlyNet, completionNet pricing.Money
	for _, n := range run.Invoices {
		inv, _ := bill.FindInvoiceByNumber(ctx, n)
		if len(inv.Lines) == 1 {
			monthlyNet = inv.Net
		} else {
			completionNet = inv.Net
		}
	}
	if monthlyNet != 27500 || completionNet != 27500+50000 {
		t.Errorf("monthly %s (want the half day £275.00), completion %s (want £775.00)", monthlyNet, completionNet)
	}
	c, _ := cons.FindByID(ctx, onCompletion.ID)
	if c.Status != consultancy.StatusCompleted {
		t.Errorf("completion engagement is %s, want completed", c.Status)
	}
	// February bills the late-cancellation charge, once.
	clock.Set(time.Date(2027, 2, 1, 9, 0, 0, 0, time.UTC))
	run, _ = bill.InvoiceConsultancy(ctx, store.System, billing.StartOfMonth(clock.Now()))
	if len(run.Invoices) != 1 {
		t.Fatalf("February run: %v, want the late cancellation", run.Invoices)
	}
	inv, _ = bill.FindInvoiceByNumber(ctx, run.Invoices[0])
	if inv.Net != 50000 {
		t.Errorf("late cancellation billed %s, want a full day £500.00", inv.Net)
	}
	for i := 0; i < 3; i++ {
		if again, _ := bill.InvoiceConsultancy(ctx, store.System, billing.StartOfMonth(clock.Now().AddDate(0, i, 0))); len(again.Invoices) != 0 {
			t.Errorf("a later run billed %v again", again.Invoices)
		}
	}
	var n int
	if err := db.Read().QueryRow(`SELECT count(*) FROM invoiced_visits`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Errorf("%d visits billed, want 5", n)
	}
}
