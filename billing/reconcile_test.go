package billing_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
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
	"traded/organisation"
	"traded/pricing"
	"traded/store"
	"traded/store/storetest"
)

// recon is a billing service over a fresh database, for reconciliation,
// journal, report and export tests.
type recon struct {
	t     *testing.T
	ctx   context.Context
	db    *store.DB
	clock *traded.FixedClock
	bk    *booking.Service
	svc   *billing.Service
	actor store.Actor
}

func newRecon(t *testing.T, orgs ...organisation.Organisation) *recon {
	t.Helper()
	db, clock := storetest.Open(t)
	bk := app.Domains(db).Booking
	r := &recon{t: t, ctx: context.Background(), db: db, clock: clock, bk: bk,
		svc: billing.NewService(db, bk.Organisations, bk.Catalogue, billing.DefaultConfig(), nil), actor: store.Actor{Name: "finance@essex.test"}}
	r.svc.Users = bk.Accounts
	if err := bk.Organisations.Upsert(r.ctx, store.System, orgs, "demo"); err != nil {
		t.Fatal(err)
	}
	return r
}

func reconOrg(urn int64, name string, la int, typ string) organisation.Organisation {
	return organisation.Organisation{URN: urn, Name: name, LACode: la, LAName: "LA " + strconv.Itoa(la), EstablishmentType: typ,
		Town: "Chelmsford", Postcode: "CM1 1AA"}
}

func academy(urn int64, name string) organisation.Organisation {
	return reconOrg(urn, name, 881, "Academy converter")
}

func maintained(urn int64, name string) organisation.Organisation {
	return reconOrg(urn, name, 881, "Community school")
}

func external(urn int64, name string) organisation.Organisation {
	return reconOrg(urn, name, 882, "Community school")
}

// on moves the clock to noon (London and UTC agree on the date) of day.
func (r *recon) on(day string) {
	r.t.Helper()
	d, err := time.Parse(store.DateFormat, day)
	if err != nil {
		r.t.Fatal(err)
	}
	r.clock.Set(d.Add(12 * time.Hour))
}

func (r *recon) subscribe(urn int64) string {
	r.t.Helper()
	sub, err := r.svc.BuySubscription(r.ctx, r.actor, urn, pricing.AcademicYear(2021), "PO1")
	if err != nil {
		r.t.Fatalf("subscribe %d: %v", urn, err)
	}
	return sub.InvoiceNumber
}

// invoice issues a one-line invoice of amount to the organisation today.
func (r *recon) invoice(urn int64, amount pricing.Money) string {
	r.t.Helper()
	org, err := r.bk.Organisations.FindByURN(r.ctx, urn)
	if err != nil {
		r.t.Fatal(err)
	}
	number, err := r.svc.CreateInvoice(r.ctx, r.actor, billing.InvoiceInput{OrganisationID: org.ID, Source: "manual",
		Lines: []billing.LineInput{{ProductCode: "psa-session", Description: "Training session", Quantity: 1, Unit: amount}}})
	if err != nil {
		r.t.Fatalf("invoice %d: %v", urn, err)
	}
	return number
}

func (r *recon) find(number string) *billing.Invoice {
	r.t.Helper()
	inv, err := r.svc.FindInvoiceByNumber(r.ctx, number)
	if err != nil {
		r.t.Fatalf("find %s: %v", number, err)
	}
	return inv
}

func (r *recon) pay(number string, method string, amount pricing.Money, on string) {
	r.t.Helper()
	if _, err := r.svc.RecordPayment(r.ctx, r.actor, number, billing.PaymentInput{Method: method, Amount: amount, ReceivedOn: on,
		Reference: "ref " + number}); err != nil {
		r.t.Fatalf("pay %s: %v", number, err)
	}
}

func (r *recon) credit(number string, amount pricing.Money) {
	r.t.Helper()
	if _, err := r.svc.CreateCreditNote(r.ctx, r.actor, number, billing.CreditInput{Reason: "Goodwill", Amount: amount}); err != nil {
		r.t.Fatalf("credit %s: %v", number, err)
	}
}

func (r *recon) importFile(name string) *billing.BankImport {
	r.t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		r.t.Fatal(err)
	}
	defer f.Close()
	imp, err := r.svc.ImportBankStatement(r.ctx, r.actor, name, f)
	if err != nil {
		r.t.Fatalf("import %s: %v", name, err)
	}
	return imp
}

func (r *recon) count(query string, args ...any) int {
	r.t.Helper()
	var n int
	if err := r.db.Read().QueryRowContext(r.ctx, query, args...).Scan(&n); err != nil {
		r.t.Fatal(err)
	}
	return n
}

func (r *recon) wantState(number string, balance pricing.Money, status string) {
	r.t.Helper()
	inv := r.find(number)
	if got := inv.Balance(); got != balance {
		r.t.Errorf("%s balance: got %s, want %s", number, got, balance)
	}
	if got := inv.Status(r.svc.Today()); got != status {
		r.t.Errorf("%s status: got %s, want %s", number, got, status)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := traded.ErrorCode(err); got != code {
		t.Fatalf("got error %v (code %q), want code %q", err, got, code)
	}
}

func pounds(s string) pricing.Money {
	m, err := pricing.ParseMoney(s)
	if err != nil {
		panic(err)
	}
	return m
}

type wantLine struct {
	lineNo  int
	outcome string
	invoice string
	note    string // the note must contain this
}

func checkLines(t *testing.T, got []billing.BankImportLine, want []wantLine) {
	t.Helper()
	if len(got) != len(want) {
		for _, l := range got {
			t.Logf("line %d: %s %s %q", l.LineNo, l.Outcome, l.InvoiceNumber, l.Note)
		}
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.LineNo != w.lineNo || g.Outcome != w.outcome || g.InvoiceNumber != w.invoice || !strings.Contains(g.Note, w.note) {
			t.Errorf("line %d: got (%d, %s, %q, %q), want (%d, %s, %q, note containing %q)", i, g.LineNo, g.Outcome, g.InvoiceNumber,
				g.Note, w.lineNo, w.outcome, w.invoice, w.note)
		}
	}
}

func lineByNo(t *testing.T, imp *billing.BankImport, n int) billing.BankImportLine {
	t.Helper()
	for _, l := range imp.Lines {
		if l.LineNo == n {
			return l
		}
	}
	t.Fatalf("no line %d", n)
	return billing.BankImportLine{}
}

// bankOrgs are the payers in testdata/statement1.csv, invoiced TS-000001 to
// TS-000006 in this order.
var bankOrgs = []organisation.Organisation{
	academy(200001, "Oak Academy"),
	academy(200002, "St Mary’s Elm Academy"),
	external(200003, "Far School"),
	academy(200004, "Ash Academy"),
	external(200005, "Birch School"),
	academy(200006, "Pine Academy"),
}

func newBankRecon(t *testing.T) *recon {
	r := newRecon(t, bankOrgs...)
	for i, urn := range []int64{200001, 200002, 200003, 200004} {
		if got, want := r.subscribe(urn), "TS-00000"+strconv.Itoa(i+1); got != want {
			t.Fatalf("got invoice %s, want %s", got, want)
		}
	}
	r.invoice(200005, pounds("123.45")) // TS-000005
	r.subscribe(200006)                 // TS-000006, then cancelled
	if _, err := r.svc.CreateCreditNote(r.ctx, r.actor, "TS-000006", billing.CreditInput{Reason: "Cancelled"}); err != nil {
		t.Fatal(err)
	}
	r.on("2026-12-01")
	return r
}

func TestService_ImportBankStatement(t *testing.T) {
	r := newBankRecon(t)

	first := r.importFile("statement1.csv")
	checkLines(t, first.Lines, []wantLine{
		{3, billing.OutcomeMatched, "TS-000001", ""},
		{4, billing.OutcomeMatched, "TS-000002", ""},
		{5, billing.OutcomeReview, "TS-000003", "TS-000003 owes £495.00, line pays £300.00"},
		{6, billing.OutcomeReview, "TS-000004", "TS-000004 owes £395.00, line pays £400.00"},
		{7, billing.OutcomeReview, "TS-000005", "no reference; possible match TS-000005"},
		{8, billing.OutcomeIgnored, "", "money out"},
		{9, billing.OutcomeRejected, "", `"31/02/2026" is not a date`},
		{10, billing.OutcomeRejected, "", `"12.3.4" is not an amount`},
		{11, billing.OutcomeReview, "", "no reference"},
		{12, billing.OutcomeReview, "", "no reference"},
		{13, billing.OutcomeReview, "TS-000006", "TS-000006 has been credited in full"},
		// "COSTS 2026" is not a reference to TS-002026.
		{14, billing.OutcomeReview, "TS-000003", "no reference; possible match TS-000003"},
	})
	if first.StatementID == 0 || first.Matched != 2 || first.Review != 7 || first.Ignored != 1 || first.Rejected != 2 || first.AlreadyImported != 0 {
		t.Errorf("counts: got %+v", *first)
	}
	if l := lineByNo(t, first, 3); l.Date != "2026-11-23" || l.Amount != pounds("395") || l.Description != "BGC OAK ACADEMY TS000001" {
		t.Errorf("line 3: got %+v", l)
	}
	if l := lineByNo(t, first, 4); l.Description != "BGC ST MARY’S ELM ACADEMY ts 000002" {
		t.Errorf("Windows-1252 description: got %q", l.Description)
	}
	if l := lineByNo(t, first, 8); l.Amount != -pounds("1250") {
		t.Errorf("debit: got %s, want -£1,250.00", l.Amount)
	}
	if a, b := lineByNo(t, first, 11), lineByNo(t, first, 12); a.BankLineID == 0 || a.BankLineID == b.BankLineID {
		t.Errorf("identical lines: got ids %d and %d, want two stored lines", a.BankLineID, b.BankLineID)
	}
	r.wantState("TS-000001", 0, billing.StatusPaid)
	r.wantState("TS-000002", 0, billing.StatusPaid)
	r.wantState("TS-000003", pounds("495"), billing.StatusIssued)
	pays, err := r.svc.FindPayments(r.ctx, r.find("TS-000002").ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(pays) != 1 || pays[0].Method != billing.MethodBACS || pays[0].ReceivedOn != "2026-11-23" ||
		pays[0].Reference != "BGC ST MARY’S ELM ACADEMY ts 000002" || pays[0].Amount != pounds("395") {
		t.Errorf("TS-000002 payments: got %+v", pays)
	}

	t.Run("ReimportSameFile", func(t *testing.T) {
		again := r.importFile("statement1.csv")
		var want []wantLine
		for _, l := range first.Lines {
			w := wantLine{l.LineNo, billing.OutcomeAlreadyImported, l.InvoiceNumber, "in statement " + strconv.FormatInt(first.StatementID, 10)}
			if l.Outcome == billing.OutcomeRejected {
				w.outcome, w.note = billing.OutcomeRejected, l.Note
			}
			want = append(want, w)
		}
		checkLines(t, again.Lines, want)
		if again.AlreadyImported != 10 || again.Rejected != 2 || again.Matched+again.Review+again.Ignored != 0 {
			t.Errorf("counts: got %+v", *again)
		}
		if n := r.count(`SELECT count(*) FROM payments`); n != 2 {
			t.Errorf("payments: got %d, want 2", n)
		}
		if n := r.count(`SELECT count(*) FROM bank_lines`); n != 10 {
			t.Errorf("bank lines: got %d, want 10", n)
		}
	})

	t.Run("ConfirmBankLine", func(t *testing.T) {
		part := lineByNo(t, first, 5).BankLineID
		if err := r.svc.ConfirmBankLine(r.ctx, r.actor, part, "ts-3"); err != nil {
			t.Fatal(err)
		}
		r.wantState("TS-000003", pounds("195"), billing.StatusPartPaid)
		wantCode(t, r.svc.ConfirmBankLine(r.ctx, r.actor, part, "TS-000003"), traded.ECONFLICT)
		wantCode(t, r.svc.ConfirmBankLine(r.ctx, r.actor, lineByNo(t, first, 3).BankLineID, ""), traded.ECONFLICT)
		wantCode(t, r.svc.ConfirmBankLine(r.ctx, r.actor, lineByNo(t, first, 8).BankLineID, "TS-000004"), traded.ECONFLICT)
		wantCode(t, r.svc.ConfirmBankLine(r.ctx, r.actor, 999999, "TS-000004"), traded.ENOTFOUND)
		wantCode(t, r.svc.ConfirmBankLine(r.ctx, r.actor, lineByNo(t, first, 11).BankLineID, ""), traded.EINVALID)
		wantCode(t, r.svc.ConfirmBankLine(r.ctx, r.actor, lineByNo(t, first, 11).BankLineID, "TS-000999"), traded.ENOTFOUND)
		wantCode(t, r.svc.ConfirmBankLine(r.ctx, r.actor, lineByNo(t, first, 12).BankLineID, "TS-000001"), traded.ECONFLICT)
		wantCode(t, r.svc.ConfirmBankLine(r.ctx, r.actor, lineByNo(t, first, 13).BankLineID, ""), traded.ECONFLICT)

		// An empty number takes the suggested invoice.
		if err := r.svc.ConfirmBankLine(r.ctx, r.actor, lineByNo(t, first, 7).BankLineID, ""); err != nil {
			t.Fatal(err)
		}
		r.wantState("TS-000005", 0, billing.StatusPaid)

		// The part payment and a credit note leave £100.00 to pay.
		r.credit("TS-000003", pounds("95"))
		r.wantState("TS-000003", pounds("100"), billing.StatusPartPaid)
		r.wantState("TS-000006", 0, billing.StatusCredited)

		review, err := r.svc.FindBankLines(r.ctx, billing.BankLineReview)
		if err != nil {
			t.Fatal(err)
		}
		if len(review) != 5 {
			t.Errorf("lines to review: got %d, want 5", len(review))
		}
		matched, _ := r.svc.FindBankLines(r.ctx, billing.BankLineMatched)
		if len(matched) != 4 {
			t.Errorf("matched lines: got %d, want 4", len(matched))
		}
		for _, l := range matched {
			if l.ID == part && (l.InvoiceNumber != "TS-000003" || l.Amount != pounds("300") || l.Filename != "statement1.csv") {
				t.Errorf("confirmed line: got %+v", *l)
			}
		}
		_, err = r.svc.FindBankLines(r.ctx, "bogus")
		wantCode(t, err, traded.EINVALID)
	})

	t.Run("OverlappingStatement", func(t *testing.T) {
		before := r.count(`SELECT count(*) FROM payments`)
		second := r.importFile("statement2.csv")
		checkLines(t, second.Lines, []wantLine{
			{2, billing.OutcomeAlreadyImported, "TS-000001", ""},
			{3, billing.OutcomeAlreadyImported, "", ""},
			{4, billing.OutcomeAlreadyImported, "", ""},
			{5, billing.OutcomeAlreadyImported, "", ""}, // the second of the two identical lines, spaced differently
			{6, billing.OutcomeMatched, "TS-000003", ""},
		})
		if got := r.count(`SELECT count(*) FROM payments`); got != before+1 {
			t.Errorf("payments: got %d, want %d", got, before+1)
		}
		r.wantState("TS-000003", 0, billing.StatusPaid)
	})

	t.Run("Audit", func(t *testing.T) {
		entries, err := r.db.FindAudit(r.ctx, store.AuditFilter{Action: "bank.import"})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 3 || !strings.Contains(entries[2].Detail, "2 matched, 7 need review, 0 already imported, 1 ignored, 2 rejected") {
			t.Errorf("bank.import audit: got %+v", entries)
		}
	})
}

func TestService_ImportBankStatementColumns(t *testing.T) {
	r := newRecon(t, academy(200001, "Oak Academy"))
	number := r.subscribe(200001)
	r.on("2026-12-05")

	t.Run("PostingDateCreditDebit", func(t *testing.T) {
		file := "Posting Date,Details,Reference,Credit (GBP),Debit (GBP)\r\n" +
			"\"2 Dec 2026\",OAK ACADEMY,\"TS 000001\",\"£200.00\",\r\n" +
			"2026-12-03,BANK CHARGES,,,-5.00\r\n" +
			"06/12/2026,TOMORROW,TS000001,195.00,\r\n" +
			"07/12/2026,BOTH,,1.00,1.00\r\n" +
			"08/12/2026,NEITHER,,,\r\n"
		imp, err := r.svc.ImportBankStatementWith(r.ctx, r.actor, `C:\Users\finance\dec.csv`, strings.NewReader(file),
			billing.BankImportOptions{DateOrder: billing.DayFirst})
		if err != nil {
			t.Fatal(err)
		}
		checkLines(t, imp.Lines, []wantLine{
			{2, billing.OutcomeReview, number, "TS-000001 owes £395.00, line pays £200.00"},
			{3, billing.OutcomeIgnored, "", "money out"},
			{4, billing.OutcomeRejected, "", "2026-12-06 is after today"},
			{5, billing.OutcomeRejected, "", "both paid in and paid out"},
			{6, billing.OutcomeRejected, "", "no amount"},
		})
		if imp.Filename != "dec.csv" || imp.Lines[0].Date != "2026-12-02" || imp.Lines[1].Amount != -pounds("5") {
			t.Errorf("got %+v", *imp)
		}
	})

	for name, file := range map[string]string{
		"NoAmount":      "Date,Description,Balance\n01/12/2026,TS000001,395.00\n",
		"NoDate":        "When,Description,Amount\n01/12/2026,TS000001,395.00\n",
		"NoDescription": "Date,Amount\n01/12/2026,395.00\n",
		"NoRows":        "Date,Description,Amount\n",
		"Empty":         "",
	} {
		t.Run(name, func(t *testing.T) {
			before := r.count(`SELECT count(*) FROM bank_statements`)
			_, err := r.svc.ImportBankStatement(r.ctx, r.actor, "bad.csv", strings.NewReader(file))
			wantCode(t, err, traded.EINVALID)
			if after := r.count(`SELECT count(*) FROM bank_statements`); after != before {
				t.Errorf("statements: got %d, want %d", after, before)
			}
		})
	}
	if n := r.count(`SELECT count(*) FROM payments`); n != 0 {
		t.Errorf("payments: got %d, want 0", n)
	}
}

func TestService_JournalBatch(t *testing.T) {
	r := newRecon(t, maintained(300001, "Maple Primary"), maintained(300002, "Willow Primary"), academy(300003, "Oak Academy"))
	if err := r.bk.Organisations.SetBillingDetails(r.ctx, r.actor, 300001, "CC1001", false, ""); err != nil {
		t.Fatal(err)
	}
	_, err := r.svc.CreateJournalBatch(r.ctx, r.actor)
	wantCode(t, err, traded.ECONFLICT)

	maple, willow, oak := r.subscribe(300001), r.subscribe(300002), r.subscribe(300003)
	r.credit(maple, pounds("15"))

	batch, err := r.svc.CreateJournalBatch(r.ctx, r.actor)
	if err != nil {
		t.Fatal(err)
	}
	if len(batch.Items) != 2 || batch.Total != pounds("615") || batch.Posted() {
		t.Fatalf("batch: got %+v", *batch)
	}
	if len(batch.Problems) != 1 || !strings.Contains(batch.Problems[0], willow) {
		t.Errorf("problems: got %q, want one naming %s", batch.Problems, willow)
	}
	// No placeholder cost centre reaches the finance system: the download
	// is refused, naming the school, until it has one.
	_, err = r.svc.JournalCSV(r.ctx, batch.ID)
	wantCode(t, err, traded.EINVALID)
	if err == nil || !strings.Contains(err.Error(), "Willow Primary (URN 300002) has no cost centre") {
		t.Errorf("journal CSV without a cost centre: got %v", err)
	}
	want := "cost_centre,amount,invoice_number,customer,urn,description\r\n" +
		"CC1001,300.00,TS-000001,Maple Primary,300001,Traded services recharge: invoice TS-000001 (subscription 2021/22)\r\n" +
		"CC2002,315.00,TS-000002,Willow Primary,300002,Traded services recharge: invoice TS-000002 (subscription 2021/22)\r\n"

	// A bank payment may not settle an invoice its batch will settle.
	imp, err := r.svc.ImportBankStatement(r.ctx, r.actor, "s.csv", strings.NewReader("Date,Description,Amount\n22/11/2026,WILLOW TS000002,315.00\n"))
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, imp.Lines, []wantLine{{2, billing.OutcomeReview, willow, "awaiting posting"}})
	wantCode(t, r.svc.ConfirmBankLine(r.ctx, r.actor, imp.Lines[0].BankLineID, ""), traded.ECONFLICT)

	wantCode(t, r.svc.PostJournalBatch(r.ctx, r.actor, batch.ID), traded.EINVALID)
	if err := r.bk.Organisations.SetBillingDetails(r.ctx, r.actor, 300002, "CC2002", false, ""); err != nil {
		t.Fatal(err)
	}
	csvText, err := r.svc.JournalCSV(r.ctx, batch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(csvText) != want {
		t.Errorf("journal CSV after the cost centre is set:\ngot  %q\nwant %q", csvText, want)
	}

	r.on("2026-12-05")
	if err := r.svc.PostJournalBatch(r.ctx, r.actor, batch.ID); err != nil {
		t.Fatal(err)
	}
	r.wantState(maple, 0, billing.StatusPaid)
	r.wantState(willow, 0, billing.StatusPaid)
	r.wantState(oak, pounds("395"), billing.StatusIssued)
	pays, _ := r.svc.FindPayments(r.ctx, r.find(willow).ID)
	if len(pays) != 1 || pays[0].Method != billing.MethodJournal || pays[0].Amount != pounds("315") || pays[0].ReceivedOn != "2026-12-05" {
		t.Errorf("journal payment: got %+v", pays)
	}
	if n := r.count(`SELECT count(*) FROM payments WHERE journal_batch_id = ?`, batch.ID); n != 2 {
		t.Errorf("payments in the batch: got %d, want 2", n)
	}
	wantCode(t, r.svc.PostJournalBatch(r.ctx, r.actor, batch.ID), traded.ECONFLICT)
	wantCode(t, r.svc.PostJournalBatch(r.ctx, r.actor, 999), traded.ENOTFOUND)
	_, err = r.svc.JournalCSV(r.ctx, 999)
	wantCode(t, err, traded.ENOTFOUND)
	_, err = r.svc.CreateJournalBatch(r.ctx, r.actor)
	wantCode(t, err, traded.ECONFLICT)

	later := r.invoice(300001, pounds("55"))
	second, err := r.svc.CreateJournalBatch(r.ctx, r.actor)
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Items) != 1 || second.Items[0].InvoiceNumber != later || len(second.Problems) != 0 {
		t.Errorf("second batch: got %+v", *second)
	}
	batches, err := r.svc.FindJournalBatches(r.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) != 2 || batches[0].ID != second.ID || !batches[1].Posted() || batches[1].PostedBy != r.actor.Name ||
		batches[1].Items[1].CostCentre != "CC2002" {
		t.Errorf("batches: got %+v %+v", *batches[0], *batches[1])
	}
}

func TestService_AgedDebt(t *testing.T) {
	r := newRecon(t, maintained(400001, "Maple Primary"), academy(400002, "Oak Academy"), external(400003, "Shore Primary"))
	const m, a, x = 400001, 400002, 400003
	type issue struct {
		day    string
		urn    int64
		amount string
	}
	numbers := map[string]string{}
	for name, is := range map[string]issue{
		"I": {"2026-05-01", a, "250"}, // due 31 May
		"G": {"2026-06-01", m, "700"}, // paid
		"H": {"2026-06-01", x, "800"}, // credited
		"F": {"2026-07-24", a, "600"}, // due 23 Aug: 91 days at 22 Nov
		"E": {"2026-07-25", a, "500"}, // due 24 Aug: 90 days
		"D": {"2026-09-22", x, "400"}, // due 22 Oct: 31 days
		"C": {"2026-09-23", x, "300"}, // due 23 Oct: 30 days
		"B": {"2026-10-01", m, "200"}, // due 31 Oct: 22 days; paid 25 Nov
		"A": {"2026-11-22", a, "100"}, // due 22 Dec
		"J": {"2026-11-25", a, "900"}, // issued after 22 Nov
	} {
		r.on(is.day)
		numbers[name] = r.invoice(is.urn, pounds(is.amount))
	}
	r.on("2026-06-15")
	r.pay(numbers["I"], billing.MethodBACS, pounds("50"), "2026-06-01")
	r.pay(numbers["G"], billing.MethodBACS, pounds("700"), "2026-06-15")
	if _, err := r.svc.CreateCreditNote(r.ctx, r.actor, numbers["H"], billing.CreditInput{Reason: "Cancelled"}); err != nil {
		t.Fatal(err)
	}
	r.on("2026-11-25")
	r.pay(numbers["B"], billing.MethodJournal, pounds("200"), "2026-11-25")

	check := func(t *testing.T, rep *billing.AgedDebtReport, want map[pricing.Tier][5]string, total [5]string, invoices int) {
		t.Helper()
		if len(rep.Rows) != 3 {
			t.Fatalf("rows: got %d, want 3", len(rep.Rows))
		}
		for i, row := range rep.Rows {
			if row.Tier != pricing.Tiers[i] {
				t.Errorf("row %d: got tier %s, want %s", i, row.Tier, pricing.Tiers[i])
			}
			var sum pricing.Money
			for b, s := range want[row.Tier] {
				w := pricing.Money(0)
				if s != "" {
					w = pounds(s)
				}
				sum += w
				if row.Buckets[b] != w {
					t.Errorf("%s %s: got %s, want %s", row.Tier, billing.AgedBuckets[b], row.Buckets[b], w)
				}
			}
			if row.Total != sum {
				t.Errorf("%s total: got %s, want %s", row.Tier, row.Total, sum)
			}
		}
		var sum pricing.Money
		for b, s := range total {
			w := pricing.Money(0)
			if s != "" {
				w = pounds(s)
			}
			sum += w
			if got := rep.Totals.Bucket(billing.AgedBuckets[b]); got != w {
				t.Errorf("total %s: got %s, want %s", billing.AgedBuckets[b], got, w)
			}
		}
		if rep.Totals.Total != sum || rep.Totals.Invoices != invoices || len(rep.Invoices) != invoices {
			t.Errorf("totals: got %s over %d invoices, want %s over %d", rep.Totals.Total, rep.Totals.Invoices, sum, invoices)
		}
	}

	t.Run("AsOf", func(t *testing.T) {
		rep, err := r.svc.AgedDebt(r.ctx, "2026-11-22")
		if err != nil {
			t.Fatal(err)
		}
		check(t, rep, map[pricing.Tier][5]string{
			pricing.Maintained: {"", "200"},
			pricing.Academy:    {"100", "", "", "500", "800"},
			pricing.External:   {"", "300", "400"},
		}, [5]string{"100", "500", "400", "500", "800"}, 7)
	})

	t.Run("ClockMoved", func(t *testing.T) {
		r.on("2026-12-30")
		rep, err := r.svc.AgedDebt(r.ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if rep.AsOf != "2026-12-30" {
			t.Errorf("as of: got %s", rep.AsOf)
		}
		check(t, rep, map[pricing.Tier][5]string{
			pricing.Academy:  {"", "1000", "", "", "1300"},
			pricing.External: {"", "", "", "700"},
		}, [5]string{"", "1000", "", "700", "1300"}, 7)
	})

	t.Run("BadDate", func(t *testing.T) {
		_, err := r.svc.AgedDebt(r.ctx, "22/11/2026")
		wantCode(t, err, traded.EINVALID)
	})
}

func TestReport_PaymentsByMonth(t *testing.T) {
	r := newRecon(t, academy(500001, "Oak Academy"), maintained(500002, "Elm Primary"))
	r.on("2026-09-01")
	number := r.invoice(500001, pounds("1000"))
	elm := r.invoice(500002, pounds("100"))
	r.on("2026-11-20")
	r.pay(number, billing.MethodBACS, pounds("100"), "2026-09-10")
	r.pay(number, billing.MethodBACS, pounds("50"), "2026-09-20")
	r.pay(elm, billing.MethodJournal, pounds("30"), "2026-11-02")
	if err := r.db.Write(r.ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(r.ctx, `INSERT INTO payments (organisation_id, invoice_id, method, amount_pence, received_on, reference, stripe_checkout_id,
			recorded_at, recorded_by) SELECT organisation_id, id, 'card', 2000, '2026-11-15', 'card', 'cs_test_1',
			'2026-11-15T10:00:00Z', 'stripe' FROM invoices WHERE number = ?`, number)
		return err
	}); err != nil {
		t.Fatal(err)
	}

	got, err := r.svc.PaymentsByMonth(r.ctx, "2026-08", "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	want := []billing.MonthPayments{
		{Month: "2026-08"},
		{Month: "2026-09", BACS: pounds("150"), Total: pounds("150")},
		{Month: "2026-10"},
		{Month: "2026-11", Journal: pounds("30"), Card: pounds("20"), Total: pounds("50")},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}

	got, _ = r.svc.PaymentsByMonth(r.ctx, "2026-09-15", "2026-11-10")
	want = []billing.MonthPayments{{Month: "2026-09", BACS: pounds("50"), Total: pounds("50")}, {Month: "2026-10"},
		{Month: "2026-11", Journal: pounds("30"), Total: pounds("30")}}
	if !slices.Equal(got, want) {
		t.Errorf("days: got %+v, want %+v", got, want)
	}

	// By default: the council's financial year, April to March, the
	// months still to come included.
	r.on("2026-11-22")
	got, _ = r.svc.PaymentsByMonth(r.ctx, "", "")
	if len(got) != 12 || got[0].Month != "2026-04" || got[11].Month != "2027-03" || got[7].Total != pounds("50") {
		t.Errorf("default: got %+v", got)
	}
	// An academy's year runs September to August; a tier keeps its
	// customers' payments; a year can be named.
	ac, err := r.svc.Payments(r.ctx, billing.PaymentsQuery{Tier: pricing.Academy})
	if err != nil {
		t.Fatal(err)
	}
	if ac.Period.Label != "2026/27" || ac.Period.From != "2026-09-01" || ac.Period.To != "2027-08-31" || ac.Total != pounds("170") ||
		ac.Months[0].BACS != pounds("150") || ac.Months[2].Journal != 0 {
		t.Errorf("academies this year: %+v", ac)
	}
	mt, _ := r.svc.Payments(r.ctx, billing.PaymentsQuery{Tier: pricing.Maintained, Year: "2026/27"})
	if mt.Period.From != "2026-04-01" || mt.Total != pounds("30") || mt.Months[7].Journal != pounds("30") {
		t.Errorf("maintained 2026/27: %+v", mt)
	}
	last, _ := r.svc.Payments(r.ctx, billing.PaymentsQuery{Year: "2025/26"})
	if last.Period.From != "2025-04-01" || last.Period.To != "2026-03-31" || last.Total != 0 || len(last.Months) != 12 {
		t.Errorf("last year: %+v", last)
	}
	_, err = r.svc.Payments(r.ctx, billing.PaymentsQuery{Year: "2026"})
	wantCode(t, err, traded.EINVALID)
	_, err = r.svc.Payments(r.ctx, billing.PaymentsQuery{Tier: "trust"})
	wantCode(t, err, traded.EINVALID)

	for _, bad := range [][2]string{{"2026-13", "2026-12"}, {"2026-09", "September"}, {"2026-11", "2026-09"}, {"2000-01", "2030-01"}} {
		_, err := r.svc.PaymentsByMonth(r.ctx, bad[0], bad[1])
		wantCode(t, err, traded.EINVALID)
	}
}

func TestStatement_FinancialYear(t *testing.T) {
	for _, tc := range []struct {
		tier     pricing.Tier
		date     string
		want     string
		from, to string
	}{
		{pricing.Maintained, "2026-03-31", "2025/26", "2025-04-01", "2026-03-31"},
		{pricing.Maintained, "2026-04-01", "2026/27", "2026-04-01", "2027-03-31"},
		{pricing.Academy, "2026-08-31", "2025/26", "2025-09-01", "2026-08-31"},
		{pricing.Academy, "2026-09-01", "2026/27", "2026-09-01", "2027-08-31"},
		{pricing.External, "2026-11-22", "2026/27", "2026-04-01", "2027-03-31"},
		{pricing.Maintained, "2099-12-31", "2099/00", "2099-04-01", "2100-03-31"},
	} {
		d, _ := time.Parse(store.DateFormat, tc.date)
		got := billing.FinancialYear(tc.tier, d)
		if got.Label != tc.want || got.From != tc.from || got.To != tc.to {
			t.Errorf("FinancialYear(%s, %s): got %+v, want %s %s..%s", tc.tier, tc.date, got, tc.want, tc.from, tc.to)
		}
	}
}

func TestService_Statement(t *testing.T) {
	r := newRecon(t, academy(600001, "Oak Academy"), maintained(600002, "Maple Primary"))
	r.on("2026-08-10")
	x := r.invoice(600001, pounds("100"))
	r.on("2026-08-20")
	r.pay(x, billing.MethodBACS, pounds("40"), "2026-08-20")
	r.on("2026-09-05")
	y := r.invoice(600001, pounds("200"))
	r.invoice(600002, pounds("999")) // another school's
	r.on("2026-09-10")
	r.credit(y, pounds("50"))
	r.on("2026-10-01")
	r.pay(y, billing.MethodBACS, pounds("150"), "2026-10-01")
	r.pay(x, billing.MethodBACS, pounds("60"), "2026-10-01")
	r.on("2026-11-22")

	oak, _ := r.bk.Organisations.FindByURN(r.ctx, 600001)
	wantEntries := []billing.StatementEntry{
		{Date: "2026-09-05", Kind: billing.EntryInvoice, Reference: y, InvoiceNumber: y, Description: "manual", Debit: pounds("200"), Balance: pounds("260")},
		{Date: "2026-09-10", Kind: billing.EntryCreditNote, Reference: "CN-000001", InvoiceNumber: y, Description: "Goodwill", Credit: pounds("50"), Balance: pounds("210")},
		{Date: "2026-10-01", Kind: billing.EntryPayment, Reference: "bacs", InvoiceNumber: y, Description: "ref " + y, Credit: pounds("150"), Balance: pounds("60")},
		{Date: "2026-10-01", Kind: billing.EntryPayment, Reference: "bacs", InvoiceNumber: x, Description: "ref " + x, Credit: pounds("60"), Balance: 0},
	}
	for name, period := range map[string][2]string{"Year": {"2026-09-01", "2027-08-31"}, "Default": {"", ""}} {
		t.Run(name, func(t *testing.T) {
			st, err := r.svc.Statement(r.ctx, oak.ID, period[0], period[1])
			if err != nil {
				t.Fatal(err)
			}
			if st.Period.Label != "2026/27" || st.Period.From != "2026-09-01" || st.Opening != pounds("60") || st.Closing != 0 {
				t.Errorf("got period %+v, opening %s, closing %s", st.Period, st.Opening, st.Closing)
			}
			if !slices.Equal(st.Entries, wantEntries) {
				t.Errorf("entries:\ngot  %+v\nwant %+v", st.Entries, wantEntries)
			}
		})
	}

	maple, _ := r.bk.Organisations.FindByURN(r.ctx, 600002)
	st, err := r.svc.Statement(r.ctx, maple.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if st.Period.From != "2026-04-01" || st.Period.To != "2026-11-22" || len(st.Entries) != 1 || st.Closing != pounds("999") {
		t.Errorf("maintained statement: got %+v", *st)
	}

	_, err = r.svc.Statement(r.ctx, 999999, "", "")
	wantCode(t, err, traded.ENOTFOUND)
	for _, bad := range [][2]string{{"2026-09-01", ""}, {"01/09/2026", "2026-10-01"}, {"2026-10-01", "2026-09-01"}} {
		_, err = r.svc.Statement(r.ctx, oak.ID, bad[0], bad[1])
		wantCode(t, err, traded.EINVALID)
	}
}

func parseCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	// Excel reads a CSV as UTF-8 only when it starts with the byte order mark.
	b, ok := bytes.CutPrefix(b, []byte("\xef\xbb\xbf"))
	if !ok {
		t.Errorf("the export does not start with a UTF-8 byte order mark: %q", b[:min(len(b), 20)])
	}
	if bytes.Count(b, []byte("\n")) != bytes.Count(b, []byte("\r\n")) {
		t.Errorf("line endings are not all CRLF: %q", b)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestService_Export(t *testing.T) {
	r := newRecon(t, academy(700001, "Oak Academy"), external(700002, "@Risky School"), maintained(700003, "Maple Primary"))
	oakInv, risky, maple := r.subscribe(700001), r.subscribe(700002), r.subscribe(700003)
	r.credit(risky, pounds("95.50"))
	r.on("2026-11-24")
	r.pay(oakInv, billing.MethodBACS, pounds("395"), "2026-11-23")
	if _, err := r.svc.RecordPayment(r.ctx, r.actor, risky, billing.PaymentInput{Method: billing.MethodBACS, Amount: pounds("100"),
		ReceivedOn: "2026-11-24", Reference: "=HYPERLINK(\"x\")"}); err != nil {
		t.Fatal(err)
	}

	t.Run("Invoices", func(t *testing.T) {
		var buf bytes.Buffer
		if err := r.svc.ExportInvoicesCSV(r.ctx, &buf, billing.InvoiceFilter{}); err != nil {
			t.Fatal(err)
		}
		recs := parseCSV(t, buf.Bytes())
		if !slices.Equal(recs[0], billing.InvoiceCSVHeader) {
			t.Errorf("header: got %q", recs[0])
		}
		want := [][]string{
			{oakInv, "2026-11-22", "2026-12-22", "Oak Academy", "700001", "academy", "PO1", "395.00", "0.00", "395.00", "395.00", "0.00", "0.00", "paid", ""},
			{risky, "2026-11-22", "2026-12-22", "'@Risky School", "700002", "external", "PO1", "495.00", "0.00", "495.00", "100.00", "95.50", "299.50", "part_paid", ""},
			{maple, "2026-11-22", "2026-12-22", "Maple Primary", "700003", "maintained", "PO1", "315.00", "0.00", "315.00", "0.00", "0.00", "315.00", "issued", ""},
		}
		if len(recs) != 4 {
			t.Fatalf("got %d rows, want 4: %q", len(recs), recs)
		}
		for i, w := range want {
			if !slices.Equal(recs[i+1], w) {
				t.Errorf("row %d:\ngot  %q\nwant %q", i+1, recs[i+1], w)
			}
		}
		// Each row agrees with the invoice as billing reports it.
		for _, rec := range recs[1:] {
			inv := r.find(rec[0])
			if rec[12] != inv.Balance().Decimal() || rec[13] != inv.Status(r.svc.Today()) || rec[9] != inv.Total.Decimal() {
				t.Errorf("%s: export %q disagrees with %+v", rec[0], rec, *inv)
			}
		}

		buf.Reset()
		oak, _ := r.bk.Organisations.FindByURN(r.ctx, 700001)
		if err := r.svc.ExportInvoicesCSV(r.ctx, &buf, billing.InvoiceFilter{OrganisationID: oak.ID}); err != nil {
			t.Fatal(err)
		}
		if recs := parseCSV(t, buf.Bytes()); len(recs) != 2 || recs[1][0] != oakInv {
			t.Errorf("filtered: got %q", recs)
		}
		wantCode(t, r.svc.ExportInvoicesCSV(r.ctx, &buf, billing.InvoiceFilter{Status: "lost"}), traded.EINVALID)
	})

	t.Run("CreditNotes", func(t *testing.T) {
		var buf bytes.Buffer
		if err := r.svc.ExportCreditNotesCSV(r.ctx, &buf, billing.Period{}); err != nil {
			t.Fatal(err)
		}
		recs := parseCSV(t, buf.Bytes())
		want := [][]string{billing.CreditNoteCSVHeader,
			{"CN-000001", "2026-11-22", risky, "'@Risky School", "700002", "Goodwill", "95.50", "0.00", "95.50", r.actor.Name}}
		if !slices.EqualFunc(recs, want, slices.Equal) {
			t.Errorf("got %q, want %q", recs, want)
		}
	})

	t.Run("Payments", func(t *testing.T) {
		var buf bytes.Buffer
		if err := r.svc.ExportPaymentsCSV(r.ctx, &buf, billing.Period{}); err != nil {
			t.Fatal(err)
		}
		recs := parseCSV(t, buf.Bytes())
		pays, _ := r.svc.FindPayments(r.ctx, 0)
		if len(recs) != 3 || !slices.Equal(recs[0], billing.PaymentCSVHeader) {
			t.Fatalf("got %q", recs)
		}
		want := [][]string{
			{strconv.FormatInt(pays[1].ID, 10), "2026-11-23", oakInv, "Oak Academy", "bacs", "395.00", "ref " + oakInv, r.actor.Name, "700001", "395.00"},
			{strconv.FormatInt(pays[0].ID, 10), "2026-11-24", risky, "'@Risky School", "bacs", "100.00", `'=HYPERLINK("x")`, r.actor.Name, "700002", "100.00"},
		}
		if !slices.EqualFunc(recs[1:], want, slices.Equal) {
			t.Errorf("got %q, want %q", recs[1:], want)
		}
	})
}

// TestService_JournalCSV_FormulaCells: a school whose name a spreadsheet
// would run as a formula is written as text, and the cells read back (with
// a CSV reader, not the writer) are the school's name behind an apostrophe.
func TestService_JournalCSV_FormulaCells(t *testing.T) {
	hostile := `-2+3+cmd|' /C calc'!A0`
	r := newRecon(t, maintained(300101, hostile), maintained(300102, "=HYPERLINK(\"http://x.example\",\"Ysgol Gymraeg Llŷn\")"))
	for urn, cc := range map[int64]string{300101: "@SUM(A1)", 300102: "CC-2"} {
		if err := r.bk.Organisations.SetBillingDetails(r.ctx, r.actor, urn, cc, false, ""); err != nil {
			t.Fatal(err)
		}
	}
	r.subscribe(300101)
	r.subscribe(300102)
	batch, err := r.svc.CreateJournalBatch(r.ctx, r.actor)
	if err != nil {
		t.Fatal(err)
	}
	data, err := r.svc.JournalCSV(r.ctx, batch.ID)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
	if err != nil {
		t.Fatalf("read the journal CSV back: %v\n%s", err, data)
	}
	if len(rows) != 3 {
		t.Fatalf("rows: got %d, want 3:\n%s", len(rows), data)
	}
	for _, row := range rows[1:] {
		for i, v := range row {
			if v != "" && strings.ContainsRune("=+-@", rune(v[0])) {
				t.Errorf("column %s starts a formula: %q", rows[0][i], v)
			}
		}
	}
	if got := rows[1][3]; got != "'"+hostile {
		t.Errorf("customer: got %q, want %q", got, "'"+hostile)
	}
	if got := rows[1][0]; got != "'@SUM(A1)" {
		t.Errorf("cost centre: got %q", got)
	}
	if got := rows[1][1]; got != "315.00" {
		t.Errorf("amount: got %q, want 315.00 (amounts are numbers, left alone)", got)
	}
}

// TestInvoiceStatus_PartCreditIsNotPartPaid: a credit note on part of an
// unpaid invoice lowers what is owed but pays nothing, so the invoice stays
// issued (and the list filter agrees); a payment then makes it part paid.
func TestInvoiceStatus_PartCreditIsNotPartPaid(t *testing.T) {
	r := newRecon(t, academy(300201, "Ysgol Pen-y-Bryn"))
	r.on("2026-11-20")
	n := r.invoice(300201, pounds("100"))
	r.credit(n, pounds("40"))
	r.wantState(n, pounds("60"), billing.StatusIssued)
	inv := r.find(n)
	if inv.Paid != 0 || inv.Credited != pounds("40") {
		t.Errorf("paid %s, credited %s: want £0.00 and £40.00", inv.Paid, inv.Credited)
	}
	wantListed := func(status string, want int) {
		t.Helper()
		_, total, err := r.svc.FindInvoices(r.ctx, billing.InvoiceFilter{Status: status})
		if err != nil {
			t.Fatal(err)
		}
		if total != want {
			t.Errorf("invoices listed as %s: got %d, want %d", status, total, want)
		}
	}
	wantListed(billing.StatusPartPaid, 0)
	wantListed(billing.StatusIssued, 1)
	if _, err := r.svc.RecordPayment(r.ctx, r.actor, n, billing.PaymentInput{Method: billing.MethodBACS, Amount: pounds("10")}); err != nil {
		t.Fatal(err)
	}
	r.wantState(n, pounds("50"), billing.StatusPartPaid)
	wantListed(billing.StatusPartPaid, 1)
}

// TestSettlement_JournalOnlyForMaintained: an internal journal cannot pay an
// academy's invoice (422 naming the method), and a bank line quoting a
// maintained school's invoice for exactly its balance is left for a person,
// not settled by BACS, since the journal recharge settles it.
func TestSettlement_JournalOnlyForMaintained(t *testing.T) {
	r := newRecon(t, academy(500101, "Oak Academy"), maintained(500102, "Stour Valley Primary"))
	r.on("2026-11-02")
	oak, stour := r.invoice(500101, pounds("120")), r.invoice(500102, pounds("315"))
	_, err := r.svc.RecordPayment(r.ctx, r.actor, oak, billing.PaymentInput{Method: billing.MethodJournal, Amount: pounds("120")})
	wantCode(t, err, traded.EINVALID)
	if traded.ErrorField(err) != "method" {
		t.Errorf("journal on an academy: got %v, want a method error", err)
	}
	r.wantState(oak, pounds("120"), billing.StatusIssued)

	imp, err := r.svc.ImportBankStatement(r.ctx, r.actor, "s.csv", strings.NewReader(
		"Date,Description,Amount\n2026-11-02,STOUR VALLEY PS "+stour+",315.00\n2026-11-02,OAK ACADEMY "+oak+",120.00\n"))
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, imp.Lines, []wantLine{
		{2, billing.OutcomeReview, stour, "settled by internal journal"},
		{3, billing.OutcomeMatched, oak, ""},
	})
	r.wantState(stour, pounds("315"), billing.StatusIssued)
	r.wantState(oak, 0, billing.StatusPaid)
}

// TestBankLine_NotOurs: a line waiting for review can be marked not ours
// with a reason; it then pays nothing, leaves review and cannot be
// confirmed or dismissed again; a matched line cannot be dismissed.
func TestBankLine_NotOurs(t *testing.T) {
	r := newRecon(t, academy(500201, "Oak Academy"))
	r.on("2026-11-02")
	oak := r.invoice(500201, pounds("120"))
	imp, err := r.svc.ImportBankStatement(r.ctx, r.actor, "s.csv", strings.NewReader(
		"Date,Description,Amount\n2026-11-02,ESSEX SCHOOL MEALS REF 4471,64.20\n2026-11-02,OAK ACADEMY "+oak+",120.00\n"))
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, imp.Lines, []wantLine{{2, billing.OutcomeReview, "", ""}, {3, billing.OutcomeMatched, oak, ""}})
	meals, matched := imp.Lines[0].BankLineID, imp.Lines[1].BankLineID
	err = r.svc.DismissBankLine(r.ctx, r.actor, meals, "  ")
	wantCode(t, err, traded.EINVALID)
	if err := r.svc.DismissBankLine(r.ctx, r.actor, meals, "School meals income, not traded services"); err != nil {
		t.Fatal(err)
	}
	review, err := r.svc.FindBankLines(r.ctx, billing.BankLineReview)
	if err != nil || len(review) != 0 {
		t.Errorf("lines in review after dismissing: %d (%v), want 0", len(review), err)
	}
	ignored, _ := r.svc.FindBankLines(r.ctx, billing.BankLineIgnored)
	if len(ignored) != 1 || !strings.Contains(ignored[0].Note, "not ours: School meals income") {
		t.Errorf("ignored lines: %+v", ignored)
	}
	wantCode(t, r.svc.DismissBankLine(r.ctx, r.actor, meals, "again"), traded.ECONFLICT)
	wantCode(t, r.svc.ConfirmBankLine(r.ctx, r.actor, meals, oak), traded.ECONFLICT)
	wantCode(t, r.svc.DismissBankLine(r.ctx, r.actor, matched, "mistake"), traded.ECONFLICT)
	wantCode(t, r.svc.DismissBankLine(r.ctx, r.actor, 9999, "mistake"), traded.ENOTFOUND)
	r.wantState(oak, 0, billing.StatusPaid)
	if n := r.count(`SELECT count(*) FROM payments`); n != 1 {
		t.Errorf("payments: got %d, want 1", n)
	}
}
