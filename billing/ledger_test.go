package billing_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"traded"
	"traded/billing"
	"traded/store"
	"traded/store/storetest"
)

func (r *recon) orgID(urn int64) int64 {
	r.t.Helper()
	org, err := r.bk.Organisations.FindByURN(r.ctx, urn)
	if err != nil {
		r.t.Fatal(err)
	}
	return org.ID
}

func (r *recon) account(urn int64) *billing.Account {
	r.t.Helper()
	a, err := r.svc.FindAccount(r.ctx, r.orgID(urn))
	if err != nil {
		r.t.Fatal(err)
	}
	return a
}

// credit returns the account's credit with key ("payment-N" or a credit
// note number).
func creditOf(t *testing.T, a *billing.Account, key string) *billing.Credit {
	t.Helper()
	for _, c := range a.Credits {
		if c.Key() == key {
			return c
		}
	}
	t.Fatalf("no credit %s on the account", key)
	return nil
}

// A receipt quoting two invoices is split between them; what the splits
// leave is credit on the account, which can be allocated to a third invoice
// later, and allocations can be undone.
func TestLedger_SplitReceipt(t *testing.T) {
	r := newRecon(t, academy(500201, "Stour Valley PS"), academy(500202, "Oak Academy"))
	r.on("2026-09-01")
	a, b, c := r.invoice(500201, pounds("120")), r.invoice(500201, pounds("80")), r.invoice(500201, pounds("50"))
	other := r.invoice(500202, pounds("10"))
	r.on("2026-09-10")
	org := r.orgID(500201)
	in := func(amount string, splits ...billing.Split) billing.ReceiptInput {
		return billing.ReceiptInput{OrganisationID: org, PaymentInput: billing.PaymentInput{Method: billing.MethodBACS,
			Amount: pounds(amount), Reference: "STOUR VALLEY PS " + a + " " + b}, Splits: splits}
	}
	for name, bad := range map[string]billing.ReceiptInput{
		"MoreThanReceived": in("150", billing.Split{InvoiceNumber: a, Amount: pounds("120")}, billing.Split{InvoiceNumber: b, Amount: pounds("80")}),
		"MoreThanOwed":     in("200", billing.Split{InvoiceNumber: a, Amount: pounds("121")}),
		"Twice":            in("200", billing.Split{InvoiceNumber: a, Amount: pounds("60")}, billing.Split{InvoiceNumber: a, Amount: pounds("60")}),
		"OtherSchool":      in("200", billing.Split{InvoiceNumber: other, Amount: pounds("10")}),
		"ZeroSplit":        in("200", billing.Split{InvoiceNumber: a}),
		"JournalOnAcademy": {OrganisationID: org, PaymentInput: billing.PaymentInput{Method: billing.MethodJournal, Amount: pounds("120")},
			Splits: []billing.Split{{InvoiceNumber: a, Amount: pounds("120")}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := r.svc.RecordReceipt(r.ctx, r.actor, bad)
			wantCode(t, err, traded.EINVALID)
		})
	}
	if n := r.count(`SELECT count(*) FROM payments`); n != 0 {
		t.Fatalf("refused receipts wrote %d payments", n)
	}

	res, err := r.svc.RecordReceipt(r.ctx, r.actor, in("230", billing.Split{InvoiceNumber: a, Amount: pounds("120")},
		billing.Split{InvoiceNumber: b, Amount: pounds("80")}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Allocated != pounds("200") || res.OnAccount != pounds("30") {
		t.Errorf("receipt: allocated %s on account %s, want £200.00 and £30.00", res.Allocated, res.OnAccount)
	}
	r.wantState(a, 0, billing.StatusPaid)
	r.wantState(b, 0, billing.StatusPaid)
	acct := r.account(500201)
	if acct.Owed != pounds("50") || acct.CreditLeft != pounds("30") || acct.Net() != pounds("20") {
		t.Errorf("account owed %s credit %s net %s, want £50.00, £30.00, £20.00", acct.Owed, acct.CreditLeft, acct.Net())
	}

	// The £30 left pays most of the third invoice.
	key := "payment-" + strconv.FormatInt(res.PaymentID, 10)
	ref, err := billing.ParseCreditRef(key)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, r.svc.Allocate(r.ctx, r.actor, org, ref, c, pounds("31")), traded.EINVALID)
	wantCode(t, r.svc.Allocate(r.ctx, r.actor, org, ref, other, 0), traded.ECONFLICT)
	if err := r.svc.Allocate(r.ctx, r.actor, org, ref, c, 0); err != nil {
		t.Fatal(err)
	}
	r.wantState(c, pounds("20"), billing.StatusPartPaid)
	wantCode(t, r.svc.Allocate(r.ctx, r.actor, org, ref, c, 0), traded.ECONFLICT) // nothing left

	// Undo the allocation to b: b owes again, the credit has £80 back.
	acct = r.account(500201)
	var toB int64
	for _, al := range acct.Allocations {
		if al.Invoice == b {
			toB = al.ID
		}
	}
	if err := r.svc.Unallocate(r.ctx, r.actor, org, toB); err != nil {
		t.Fatal(err)
	}
	wantCode(t, r.svc.Unallocate(r.ctx, r.actor, org, toB), traded.ECONFLICT)
	r.wantState(b, pounds("80"), billing.StatusIssued)
	acct = r.account(500201)
	if got := creditOf(t, acct, key).Left; got != pounds("80") {
		t.Errorf("credit left after undoing: %s, want £80.00", got)
	}
	if acct.Net() != pounds("20") {
		t.Errorf("net after undoing an allocation: %s, want £20.00 (allocation moves no money)", acct.Net())
	}
}

// An invoice paid and then credited leaves the credit note as credit on the
// account; it can go to another invoice, and the rest is refunded by BACS.
// A school in credit has nothing counted against it.
func TestLedger_CreditOnAccountAndRefund(t *testing.T) {
	r := newRecon(t, academy(500301, "Oak Academy"))
	r.on("2026-09-01")
	a := r.invoice(500301, pounds("100"))
	r.on("2026-09-02")
	r.pay(a, billing.MethodBACS, pounds("100"), "2026-09-02")
	r.on("2026-09-05")
	cn, err := r.svc.CreateCreditNote(r.ctx, r.actor, a, billing.CreditInput{Reason: "Session cancelled by the LA"})
	if err != nil {
		t.Fatal(err)
	}
	r.wantState(a, 0, billing.StatusCredited)
	acct := r.account(500301)
	if got := creditOf(t, acct, cn.Number).Left; got != pounds("100") || acct.Net() != -pounds("100") {
		t.Fatalf("credit note left %s, net %s; want £100.00 in credit", got, acct.Net())
	}
	b := r.invoice(500301, pounds("30"))
	org := r.orgID(500301)
	ref := billing.CreditRef{CreditNote: cn.Number}
	if err := r.svc.Allocate(r.ctx, r.actor, org, ref, b, 0); err != nil {
		t.Fatal(err)
	}
	r.wantState(b, 0, billing.StatusPaid)

	for name, bad := range map[string]billing.RefundInput{
		"NoReason":     {OrganisationID: org, Credit: ref, Method: billing.MethodBACS},
		"TooMuch":      {OrganisationID: org, Credit: ref, Method: billing.MethodBACS, Amount: pounds("70.01"), Reason: "overpaid"},
		"Future":       {OrganisationID: org, Credit: ref, Method: billing.MethodBACS, RefundedOn: "2027-01-01", Reason: "overpaid"},
		"CardOfCredit": {OrganisationID: org, Credit: ref, Method: billing.MethodCard, Reason: "overpaid"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := r.svc.RecordRefund(r.ctx, r.actor, bad)
			if code := traded.ErrorCode(err); code != traded.EINVALID && code != traded.ECONFLICT {
				t.Fatalf("got %v, want a 4xx", err)
			}
		})
	}
	in := billing.RefundInput{OrganisationID: org, Credit: ref, Method: billing.MethodBACS, Reason: "Credit repaid", Reference: "ECC REFUND 1",
		IdempotencyKey: "k1", RequestHash: "h1"}
	rf, err := r.svc.RecordRefund(r.ctx, r.actor, in)
	if err != nil {
		t.Fatal(err)
	}
	if rf.Amount != pounds("70") || rf.Status != billing.RefundDone {
		t.Errorf("refund %s %s, want £70.00 done", rf.Amount, rf.Status)
	}
	again, err := r.svc.RecordRefund(r.ctx, r.actor, in)
	if err != nil || again.ID != rf.ID {
		t.Errorf("the same request again: refund %v, %v; want the first one back", again, err)
	}
	in.RequestHash = "other"
	_, err = r.svc.RecordRefund(r.ctx, r.actor, in)
	wantCode(t, err, traded.EINVALID)
	acct = r.account(500301)
	if acct.Net() != 0 || acct.CreditLeft != 0 || len(acct.Refunds) != 1 {
		t.Errorf("after the refund: net %s, credit %s, %d refunds; want all square with one refund", acct.Net(), acct.CreditLeft, len(acct.Refunds))
	}
	st, err := r.svc.Statement(r.ctx, r.orgID(500301), "2026-09-01", "2026-09-30")
	if err != nil {
		t.Fatal(err)
	}
	if st.Closing != 0 || st.Entries[len(st.Entries)-1].Kind != billing.EntryRefund {
		t.Errorf("statement closes at %s, last entry %+v; want £0.00 after the refund", st.Closing, st.Entries[len(st.Entries)-1])
	}
}

// The schema refuses what no code path may write: more allocated to an
// invoice than its total, more of a payment used than it holds, a refund
// beyond the credit, or an allocation across two organisations.
func TestLedger_TriggersHoldTheLimits(t *testing.T) {
	r := newRecon(t, academy(500401, "Oak Academy"), academy(500402, "Elm Academy"))
	r.on("2026-09-01")
	a := r.invoice(500401, pounds("100"))
	elm := r.invoice(500402, pounds("100"))
	r.pay(a, billing.MethodBACS, pounds("150"), "2026-09-01")
	exec := func(query string, args ...any) error {
		return r.db.Write(r.ctx, func(tx *store.Tx) error {
			_, err := tx.ExecContext(r.ctx, query, args...)
			return err
		})
	}
	for name, q := range map[string]string{
		"InvoicePastTotal": `INSERT INTO allocations (organisation_id, invoice_id, payment_id, amount_pence, created_at, created_by)
			SELECT organisation_id, invoice_id, id, 1, '2026-09-01T12:00:00Z', 'x' FROM payments`,
		"PaymentPastAmount": `INSERT INTO refunds (organisation_id, payment_id, method, amount_pence, refunded_on, reason, status,
			idempotency_key, created_at, created_by) SELECT organisation_id, id, 'bacs', 5001, '2026-09-01', 'x', 'done', 'k',
			'2026-09-01T12:00:00Z', 'x' FROM payments`,
		"OtherOrganisation": `INSERT INTO allocations (organisation_id, invoice_id, payment_id, amount_pence, created_at, created_by)
			SELECT p.organisation_id, i.id, p.id, 100, '2026-09-01T12:00:00Z', 'x' FROM payments p, invoices i WHERE i.number = '` + elm + `'`,
		"EditAllocation": `UPDATE allocations SET amount_pence = 1`,
		"DeletePayment":  `DELETE FROM payments`,
	} {
		t.Run(name, func(t *testing.T) {
			if err := exec(q); err == nil {
				t.Fatal("the database took it")
			}
		})
	}
	if n := r.count(`SELECT count(*) FROM allocations`); n != 1 {
		t.Errorf("%d allocations, want the one", n)
	}
}

// Migration 0012 turns the payments and credit notes of a database the
// first release wrote into allocations: credit notes against their own
// invoices, then payments in the order received up to what each invoice
// still owed, the rest credit on the account.
func TestMigration0012_Backfill(t *testing.T) {
	ctx := context.Background()
	clock := traded.NewFixedClock(storetest.Epoch)
	db, err := store.Open(filepath.Join(t.TempDir(), "traded.db"), clock)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.MigrateTo(ctx, "0011_payment_idempotency.sql"); err != nil {
		t.Fatal(err)
	}
	err = db.Write(ctx, func(tx *store.Tx) error {
		for _, q := range []string{
			`INSERT INTO organisations (id, urn, name, tier, created_at, updated_at) VALUES (1, 900001, 'Oak Academy', 'academy', 'x', 'x')`,
			`INSERT INTO invoices (id, number, seq, organisation_id, status, source, settlement, total_pence, created_at, issue_date, due_date)
				VALUES (1, 'TS-000001', 1, 1, 'issued', 'manual', 'bacs_or_card', 10000, '2026-09-01T09:00:00Z', '2026-09-01', '2026-10-01'),
				       (2, 'TS-000002', 2, 1, 'issued', 'manual', 'bacs_or_card', 5000, '2026-09-01T09:00:00Z', '2026-09-01', '2026-10-01'),
				       (3, 'TS-000003', 3, 1, 'issued', 'manual', 'bacs_or_card', 8000, '2026-09-01T09:00:00Z', '2026-09-01', '2026-10-01')`,
			`INSERT INTO payments (invoice_id, method, amount_pence, received_on, recorded_at, recorded_by) VALUES
				(1, 'bacs', 7000, '2026-09-05', '2026-09-05T09:00:00Z', 'f'),
				(1, 'bacs', 6000, '2026-09-01', '2026-09-06T09:00:00Z', 'f'),
				(2, 'bacs', 5000, '2026-09-02', '2026-09-02T09:00:00Z', 'f')`,
			`INSERT INTO credit_notes (number, seq, invoice_id, reason, issue_date, net_pence, vat_pence, total_pence, created_at, created_by)
				VALUES ('CN-000001', 1, 2, 'x', '2026-09-03', 2000, 0, 2000, '2026-09-03T09:00:00Z', 'f')`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	r := &recon{t: t, ctx: ctx, db: db, clock: clock}
	type row struct {
		invoice, payment int64
		cn               string
		amount           int64
	}
	var got []row
	rows, err := db.Read().QueryContext(ctx, `SELECT a.invoice_id, COALESCE(a.payment_id, 0), COALESCE(c.number, ''), a.amount_pence
		FROM allocations a LEFT JOIN credit_notes c ON c.id = a.credit_note_id ORDER BY a.id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var x row
		if err := rows.Scan(&x.invoice, &x.payment, &x.cn, &x.amount); err != nil {
			t.Fatal(err)
		}
		got = append(got, x)
	}
	rows.Close()
	// Payment 2 (received 1 September) came first to TS-000001; payment 1
	// pays the £40.00 left and £30.00 is on account; TS-000002's credit
	// note goes first, its payment pays the £30.00 left and £20.00 is on account.
	want := []row{{2, 0, "CN-000001", 2000}, {1, 1, "", 4000}, {1, 2, "", 6000}, {2, 3, "", 3000}}
	if len(got) != len(want) {
		t.Fatalf("allocations %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("allocation %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if n := r.count(`SELECT count(*) FROM payments WHERE organisation_id = 1`); n != 3 {
		t.Errorf("%d payments kept their organisation, want 3", n)
	}
}
