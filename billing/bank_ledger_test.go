package billing_test

import (
	"strings"
	"testing"

	"traded"
	"traded/billing"
)

func (r *recon) importText(name, csv string) *billing.BankImport {
	r.t.Helper()
	imp, err := r.svc.ImportBankStatement(r.ctx, r.actor, name, strings.NewReader(csv))
	if err != nil {
		r.t.Fatalf("import %s: %v", name, err)
	}
	return imp
}

func (r *recon) reviewLines() map[string]*billing.BankLine {
	r.t.Helper()
	lines, err := r.svc.FindBankLines(r.ctx, billing.BankLineReview)
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[string]*billing.BankLine{}
	for _, l := range lines {
		out[l.Description] = l
	}
	return out
}

// A line quoting two invoices for their sum is proposed as a split and
// recorded as one; a line quoting an invoice for its balance from someone
// else's name waits for a person; a line paying a journal-settled invoice
// is refunded, not used to settle it.
func TestBank_SplitsPayersAndRefunds(t *testing.T) {
	r := newRecon(t, academy(500501, "Stour Valley Primary School"), academy(500502, "Oak Academy"), maintained(500503, "Ysgol Gymraeg Llŷn"))
	r.on("2026-11-02")
	a, b := r.invoice(500501, pounds("120")), r.invoice(500501, pounds("80"))
	oak := r.invoice(500502, pounds("50"))
	llyn := r.invoice(500503, pounds("315"))
	r.on("2026-11-20")
	imp := r.importText("lloyds.csv", "Date,Description,Amount\n"+
		"2026-11-18,STOUR VALLEY PS "+a+" "+b+",200.00\n"+
		"2026-11-18,BGC ACME ROOFING LTD "+oak+",50.00\n"+
		"2026-11-19,YSGOL GYMRAEG LLYN "+llyn+",315.00\n"+
		"2026-11-19,STOUR VALLEY "+a+" "+b+" AGAIN,150.00\n")
	if imp.Matched != 0 || imp.Review != 4 {
		t.Fatalf("import: %d matched, %d review; want all 4 for review: %+v", imp.Matched, imp.Review, imp.Lines)
	}
	notes := map[string]string{}
	for _, l := range imp.Lines {
		notes[l.Description] = l.Note
	}
	if n := notes["STOUR VALLEY PS "+a+" "+b]; !strings.Contains(n, "split proposed: "+a+" £120.00 + "+b+" £80.00") {
		t.Errorf("two invoices for their sum: %q", n)
	}
	if n := notes["BGC ACME ROOFING LTD "+oak]; !strings.Contains(n, "the payer looks like someone else") {
		t.Errorf("someone else paying: %q", n)
	}
	if n := notes["YSGOL GYMRAEG LLYN "+llyn]; !strings.Contains(n, "settled by internal journal") {
		t.Errorf("journal invoice: %q", n)
	}

	lines := r.reviewLines()
	split := lines["STOUR VALLEY PS "+a+" "+b]
	if len(split.Proposal) != 2 || split.OrganisationURN != 500501 {
		t.Fatalf("proposal %+v for %d", split.Proposal, split.OrganisationURN)
	}
	wantCode(t, r.svc.SplitBankLine(r.ctx, r.actor, split.ID, []billing.Split{{InvoiceNumber: a, Amount: pounds("120")},
		{InvoiceNumber: oak, Amount: pounds("50")}}), traded.EINVALID) // two schools
	if err := r.svc.SplitBankLine(r.ctx, r.actor, split.ID, split.Proposal); err != nil {
		t.Fatal(err)
	}
	r.wantState(a, 0, billing.StatusPaid)
	r.wantState(b, 0, billing.StatusPaid)
	wantCode(t, r.svc.SplitBankLine(r.ctx, r.actor, split.ID, split.Proposal), traded.ECONFLICT)

	// The second line now pays invoices already paid: no proposal; sent back.
	again := r.reviewLines()["STOUR VALLEY "+a+" "+b+" AGAIN"]
	if again.Proposal != nil {
		t.Errorf("a line for paid invoices was proposed as a split: %+v", again.Proposal)
	}
	wantCode(t, r.svc.RefundBankLine(r.ctx, r.actor, again.ID, r.orgID(500501), " "), traded.EINVALID)
	if err := r.svc.RefundBankLine(r.ctx, r.actor, again.ID, r.orgID(500501), "Paid twice"); err != nil {
		t.Fatal(err)
	}
	acct := r.account(500501)
	if acct.Net() != 0 || len(acct.Refunds) != 1 || acct.Refunds[0].Amount != pounds("150") {
		t.Errorf("after sending back the second payment: net %s, refunds %+v", acct.Net(), acct.Refunds)
	}

	// The journal invoice is never paid from the bank, even by a split.
	j := r.reviewLines()["YSGOL GYMRAEG LLYN "+llyn]
	wantCode(t, r.svc.SplitBankLine(r.ctx, r.actor, j.ID, []billing.Split{{InvoiceNumber: llyn, Amount: pounds("315")}}), traded.EINVALID)
	r.wantState(llyn, pounds("315"), billing.StatusIssued)
}

func TestPayerMatches(t *testing.T) {
	for _, c := range []struct {
		desc, name string
		want       bool
	}{
		{"BGC OAK ACADEMY", "Oak Academy", true},
		{"TS000001", "Oak Academy", true},
		{"BGC ST MARY'S ELM ACADEMY", "Elm Academy", true},
		{"YSGOL GYMRAEG LLYN", "Ysgol Gymraeg Llŷn", true},
		{"ZABKA PRIMARY", "Szkoła Żabka Primary", true},
		{"CHELMSF COUNTY HIGH", "Chelmsford County High School", true},
		{"BGC ACME ROOFING LTD", "Oak Academy", false},
		{"FP STOUR VALLEY", "Oak Academy", false},
	} {
		if got := billing.PayerMatches(c.desc, c.name); got != c.want {
			t.Errorf("payerMatches(%q, %q) = %v, want %v", c.desc, c.name, got, c.want)
		}
	}
}
