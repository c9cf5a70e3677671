package billing_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"

	"traded"
	"traded/app"
	"traded/billing"
	"traded/booking"
	"traded/organisation"
	"traded/pricing"
	"traded/store"
	"traded/store/storetest"
)

// testOrgs are one school of each tier, plus one that needs a PO number.
var testOrgs = []organisation.Organisation{
	{URN: 100001, Name: "Maple Community Primary", LACode: 881, LAName: "Essex", EstablishmentType: "Community school", Town: "Chelmsford", Postcode: "CM1 1AA"},
	{URN: 100002, Name: "Oak Academy", LACode: 881, LAName: "Essex", EstablishmentType: "Academy converter", Town: "Harlow", Postcode: "CM20 1AA"},
	{URN: 100003, Name: "Shore Primary", LACode: 882, LAName: "Southend-on-Sea", EstablishmentType: "Community school", Town: "Southend", Postcode: "SS1 1AA"},
	{URN: 100004, Name: "Willow Academy", LACode: 881, LAName: "Essex", EstablishmentType: "Academy sponsor led", Town: "Basildon", Postcode: "SS14 1AA"},
}

type billingFixture struct {
	db      *store.DB
	clock   *traded.FixedClock
	booking *booking.Service
	billing *billing.Service
	actor   store.Actor
}

func newBilling(t *testing.T) *billingFixture {
	t.Helper()
	db, clock := storetest.Open(t)
	bk := app.Domains(db).Booking
	ctx := context.Background()
	if err := bk.Organisations.Upsert(ctx, store.System, testOrgs, "demo"); err != nil {
		t.Fatal(err)
	}
	if err := bk.Organisations.SetBillingDetails(ctx, store.System, 100004, "", true, ""); err != nil {
		t.Fatal(err)
	}
	bill := billing.NewService(db, bk.Organisations, bk.Catalogue, billing.DefaultConfig(), nil)
	bill.Users = bk.Accounts
	bk.Subscriptions = bill // booking asks billing who subscribes, and bills nothing here
	return &billingFixture{db: db, clock: clock, booking: bk, billing: bill, actor: store.Actor{Name: "finance@test"}}
}

func TestService_BuySubscription(t *testing.T) {
	f := newBilling(t)
	ctx := context.Background()
	for _, tt := range []struct {
		urn   int64
		price pricing.Money
		tier  pricing.Tier
		settl string
	}{
		{100001, 31500, pricing.Maintained, "journal"},
		{100002, 39500, pricing.Academy, "bacs_or_card"},
		{100003, 49500, pricing.External, "bacs_or_card"},
	} {
		sub, err := f.billing.BuySubscription(ctx, f.actor, tt.urn, 2021, "PO-7")
		if err != nil {
			t.Fatal(err)
		}
		inv, err := f.billing.FindInvoiceByNumber(ctx, sub.InvoiceNumber)
		if err != nil {
			t.Fatal(err)
		}
		if inv.Total != tt.price || inv.CustomerTier != tt.tier || inv.Settlement != tt.settl || inv.PONumber != "PO-7" {
			t.Errorf("URN %d: invoice %s total %s tier %s settlement %s PO %q; want %s %s %s PO-7",
				tt.urn, inv.Number, inv.Total, inv.CustomerTier, inv.Settlement, inv.PONumber, tt.price, tt.tier, tt.settl)
		}
		if len(inv.Lines) != 1 || inv.Lines[0].VATTreatment != "exempt" || inv.VAT != 0 || inv.Lines[0].VATNote == "" {
			t.Errorf("the subscription line should be VAT-exempt with its reason: %+v", inv.Lines[0])
		}
		if inv.IssueDate != "2026-11-22" || inv.DueDate != "2026-12-22" || inv.SupplierVAT == "" || len(inv.CustomerAddress) == 0 {
			t.Errorf("issue %s due %s supplier VAT %q address %v", inv.IssueDate, inv.DueDate, inv.SupplierVAT, inv.CustomerAddress)
		}
		if ok, _ := f.booking.IsSubscriber(ctx, inv.OrganisationID, 2021); !ok {
			t.Errorf("URN %d is not a subscriber after buying", tt.urn)
		}
	}
	t.Run("SecondAttempt", func(t *testing.T) {
		_, err := f.billing.BuySubscription(ctx, f.actor, 100002, 2021, "")
		if traded.ErrorCode(err) != traded.ECONFLICT {
			t.Errorf("err = %v, want conflict", err)
		}
	})
	t.Run("NeedsPO", func(t *testing.T) {
		_, err := f.billing.BuySubscription(ctx, f.actor, 100004, 2021, " ")
		if traded.ErrorCode(err) != traded.EINVALID || traded.ErrorField(err) != "po_number" {
			t.Errorf("err = %v, want invalid po_number", err)
		}
	})
	t.Run("NoPriceList", func(t *testing.T) {
		_, err := f.billing.BuySubscription(ctx, f.actor, 100002, 2019, "")
		if traded.ErrorCode(err) != traded.EINVALID {
			t.Errorf("err = %v, want invalid", err)
		}
	})
	t.Run("UnknownOrganisation", func(t *testing.T) {
		_, err := f.billing.BuySubscription(ctx, f.actor, 999, 2021, "")
		if traded.ErrorCode(err) != traded.ENOTFOUND {
			t.Errorf("err = %v, want not found", err)
		}
	})
	t.Run("NothingHalfWritten", func(t *testing.T) {
		var subs, invoices int
		f.db.Read().QueryRow(`SELECT count(*) FROM subscriptions`).Scan(&subs)
		f.db.Read().QueryRow(`SELECT count(*) FROM invoices`).Scan(&invoices)
		if subs != 3 || invoices != 3 {
			t.Errorf("%d subscriptions and %d invoices after the refused attempts, want 3 and 3", subs, invoices)
		}
	})
}

// TestService_BuySubscription_Concurrent: one school clicking Buy many times
// at once gets one subscription and one invoice.
func TestService_BuySubscription_Concurrent(t *testing.T) {
	f := newBilling(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.billing.BuySubscription(ctx, f.actor, 100002, 2021, "")
			mu.Lock()
			codes[traded.ErrorCode(err)]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[""] != 1 || codes[traded.ECONFLICT] != 29 {
		t.Errorf("outcomes %v, want 1 success and 29 conflicts", codes)
	}
}

// TestService_InvoiceNumbering issues 200 invoices at once and checks the
// numbers run TS-000001 to TS-000200 with no gap and no repeat, even with
// failed issues mixed in.
func TestService_InvoiceNumbering(t *testing.T) {
	f := newBilling(t)
	ctx := context.Background()
	org, _ := f.booking.Organisations.FindByURN(ctx, 100002)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var numbers []string
	for i := 0; i < 220; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			in := billing.InvoiceInput{OrganisationID: org.ID, Source: "manual", Lines: []billing.LineInput{
				{ProductCode: pricing.PSASession, Description: fmt.Sprintf("Session %d", i), Quantity: 1, Unit: 6500}}}
			if i%11 == 0 {
				in.Lines[0].ProductCode = "no-such-product" // fails inside the transaction
			}
			n, err := f.billing.CreateInvoice(ctx, f.actor, in)
			if i%11 == 0 {
				if err == nil {
					t.Errorf("invoice with an unknown product was issued")
				}
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			numbers = append(numbers, n)
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	sort.Strings(numbers)
	if len(numbers) != 200 {
		t.Fatalf("%d invoices issued, want 200", len(numbers))
	}
	for i, n := range numbers {
		if want := fmt.Sprintf("TS-%06d", i+1); n != want {
			t.Fatalf("number %d is %s, want %s: a gap or a repeat", i, n, want)
		}
	}
	var drafts int
	f.db.Read().QueryRow(`SELECT count(*) FROM invoices WHERE status = 'draft'`).Scan(&drafts)
	if drafts != 0 {
		t.Errorf("%d drafts left behind by failed issues", drafts)
	}
}

func TestService_InvoiceImmutable(t *testing.T) {
	f := newBilling(t)
	ctx := context.Background()
	sub, err := f.billing.BuySubscription(ctx, f.actor, 100003, 2021, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE invoices SET total_pence = 1 WHERE number = '` + sub.InvoiceNumber + `'`,
		`UPDATE invoice_lines SET unit_pence = 1`,
		`DELETE FROM invoice_lines`,
		`DELETE FROM invoices`,
	} {
		if _, err := f.db.Read().Exec(q); err == nil {
			t.Errorf("%s succeeded on an issued invoice", q)
		}
	}
	// A new price list changes nothing issued.
	if _, err := f.booking.Catalogue.RollForward(ctx, f.actor, 2021, 2022, 1000, false); err != nil {
		t.Fatal(err)
	}
	inv, _ := f.billing.FindInvoiceByNumber(ctx, sub.InvoiceNumber)
	if inv.Total != 49500 {
		t.Errorf("issued total changed to %s", inv.Total)
	}
}

func TestService_PaymentsAndCredits(t *testing.T) {
	f := newBilling(t)
	ctx := context.Background()
	sub, err := f.billing.BuySubscription(ctx, f.actor, 100002, 2021, "")
	if err != nil {
		t.Fatal(err)
	}
	num := sub.InvoiceNumber
	today := func() string { return f.billing.Today() }
	status := func() (string, pricing.Money) {
		inv, err := f.billing.FindInvoiceByNumber(ctx, num)
		if err != nil {
			t.Fatal(err)
		}
		return inv.Status(today()), inv.Balance()
	}
	if s, b := status(); s != billing.StatusIssued || b != 39500 {
		t.Fatalf("new invoice %s balance %s", s, b)
	}
	if _, err := f.billing.RecordPayment(ctx, f.actor, num, billing.PaymentInput{Method: billing.MethodBACS, Amount: 10000, Reference: "first"}); err != nil {
		t.Fatal(err)
	}
	if s, b := status(); s != billing.StatusPartPaid || b != 29500 {
		t.Errorf("after £100: %s balance %s, want part_paid £295.00", s, b)
	}
	cn, err := f.billing.CreateCreditNote(ctx, f.actor, num, billing.CreditInput{Reason: "Goodwill", Amount: 4500})
	if err != nil {
		t.Fatal(err)
	}
	if cn.Number != "CN-000001" || cn.Total != 4500 || cn.InvoiceNumber != num {
		t.Errorf("credit note %s total %s for %s", cn.Number, cn.Total, cn.InvoiceNumber)
	}
	if s, b := status(); s != billing.StatusPartPaid || b != 25000 {
		t.Errorf("after credit: %s balance %s, want part_paid £250.00", s, b)
	}
	// Overdue once the due date passes with a balance.
	f.clock.Set(storetest.Epoch.AddDate(0, 0, 31))
	if s, _ := status(); s != billing.StatusOverdue {
		t.Errorf("after the due date: %s, want overdue", s)
	}
	res, err := f.billing.RecordPayment(ctx, f.actor, num, billing.PaymentInput{Method: billing.MethodBACS, Amount: 26000, ReceivedOn: "2026-12-23"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Overpaid || res.Balance != 0 || res.OnAccount != 1000 {
		t.Errorf("overpayment: overpaid %t balance %s on account %s, want flagged with £10.00 on account", res.Overpaid, res.Balance, res.OnAccount)
	}
	if s, _ := status(); s != billing.StatusPaid {
		t.Errorf("after paying in full: %s, want paid", s)
	}

	t.Run("BadPayments", func(t *testing.T) {
		for name, in := range map[string]billing.PaymentInput{
			"NoMethod":   {Amount: 100},
			"CardByHand": {Method: billing.MethodCard, Amount: 100},
			"Zero":       {Method: billing.MethodBACS},
			"Negative":   {Method: billing.MethodBACS, Amount: -5},
			"BadDate":    {Method: billing.MethodBACS, Amount: 5, ReceivedOn: "30/12/2026"},
		} {
			if _, err := f.billing.RecordPayment(ctx, f.actor, num, in); traded.ErrorCode(err) != traded.EINVALID {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
		if _, err := f.billing.RecordPayment(ctx, f.actor, "TS-999999", billing.PaymentInput{Method: billing.MethodBACS, Amount: 5}); traded.ErrorCode(err) != traded.ENOTFOUND {
			t.Errorf("unknown invoice: %v", err)
		}
	})
	t.Run("CreditTooMuch", func(t *testing.T) {
		_, err := f.billing.CreateCreditNote(ctx, f.actor, num, billing.CreditInput{Reason: "x", Amount: 40000})
		if traded.ErrorCode(err) != traded.EINVALID {
			t.Errorf("%v, want invalid", err)
		}
		_, err = f.billing.CreateCreditNote(ctx, f.actor, num, billing.CreditInput{Amount: 100})
		if traded.ErrorField(err) != "reason" {
			t.Errorf("%v, want a missing reason", err)
		}
	})
	t.Run("FullCredit", func(t *testing.T) {
		sub2, err := f.billing.BuySubscription(ctx, f.actor, 100003, 2021, "")
		if err != nil {
			t.Fatal(err)
		}
		cn, err := f.billing.CreateCreditNote(ctx, f.actor, sub2.InvoiceNumber, billing.CreditInput{Reason: "Cancelled"})
		if err != nil {
			t.Fatal(err)
		}
		if cn.Number != "CN-000002" || cn.Total != 49500 {
			t.Errorf("full credit %s for %s", cn.Number, cn.Total)
		}
		inv, _ := f.billing.FindInvoiceByNumber(ctx, sub2.InvoiceNumber)
		if inv.Status(today()) != billing.StatusCredited || inv.Balance() != 0 {
			t.Errorf("credited invoice status %s balance %s", inv.Status(today()), inv.Balance())
		}
		if _, err := f.billing.CreateCreditNote(ctx, f.actor, sub2.InvoiceNumber, billing.CreditInput{Reason: "again"}); traded.ErrorCode(err) != traded.ECONFLICT {
			t.Errorf("second full credit: %v, want conflict", err)
		}
		if _, err := f.billing.RecordPayment(ctx, f.actor, sub2.InvoiceNumber, billing.PaymentInput{Method: billing.MethodBACS, Amount: 100}); traded.ErrorCode(err) != traded.ECONFLICT {
			t.Errorf("payment to a credited invoice: %v, want conflict", err)
		}
	})
	t.Run("Audited", func(t *testing.T) {
		var n int
		f.db.Read().QueryRow(`SELECT count(*) FROM audit_log WHERE action IN ('invoice.issue', 'payment.record', 'credit_note.issue', 'subscription.buy')`).Scan(&n)
		if n < 7 {
			t.Errorf("%d billing audit entries, want at least 7", n)
		}
	})
}

func TestService_FindInvoices(t *testing.T) {
	f := newBilling(t)
	ctx := context.Background()
	for _, urn := range []int64{100001, 100002, 100003} {
		if _, err := f.billing.BuySubscription(ctx, f.actor, urn, 2021, fmt.Sprintf("PO-%d", urn)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.billing.RecordPayment(ctx, f.actor, "TS-000002", billing.PaymentInput{Method: billing.MethodBACS, Amount: 39500}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		f    billing.InvoiceFilter
		want int
	}{
		{billing.InvoiceFilter{}, 3},
		{billing.InvoiceFilter{Status: billing.StatusPaid}, 1},
		{billing.InvoiceFilter{Status: billing.StatusIssued}, 2},
		{billing.InvoiceFilter{Search: "ts-000003"}, 1},
		{billing.InvoiceFilter{Search: "Oak"}, 1},
		{billing.InvoiceFilter{Search: "PO-100001"}, 1},
		{billing.InvoiceFilter{Search: "100003"}, 1},
	} {
		got, total, err := f.billing.FindInvoices(ctx, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tt.want || total != tt.want {
			t.Errorf("%+v: %d invoices (total %d), want %d", tt.f, len(got), total, tt.want)
		}
	}
	if _, _, err := f.billing.FindInvoices(ctx, billing.InvoiceFilter{Status: "lost"}); traded.ErrorCode(err) != traded.EINVALID {
		t.Errorf("bad status: %v", err)
	}
}

func TestVAT(t *testing.T) {
	for _, tt := range []struct {
		net  pricing.Money
		rate int64
		want pricing.Money
	}{
		{45000, 2000, 9000}, {1, 2000, 0}, {3, 2000, 1}, {2, 2500, 1}, {31500, 0, 0}, {12345, 500, 617},
	} {
		if got := billing.VAT(tt.net, tt.rate); got != tt.want {
			t.Errorf("VAT(%d, %d) = %d, want %d", tt.net, tt.rate, got, tt.want)
		}
	}
}
