package billing_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"traded"
	"traded/billing"
	"traded/catalogue"
	"traded/pricing"
)

// pythonCSV reads a CSV with Python's csv module, a parser Traded does not
// write with, as Excel would: a leading byte order mark means UTF-8. It
// returns the rows and whether the file had the mark.
func pythonCSV(t *testing.T, b []byte) ([][]string, bool) {
	t.Helper()
	const python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("Debian's python3 is missing (apt-get install -y python3): %v", err)
	}
	const script = `import csv, io, json, sys
raw = sys.stdin.buffer.read()
bom = raw.startswith(b"\xef\xbb\xbf")
rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
json.dump({"bom": bom, "rows": rows}, sys.stdout)`
	cmd := exec.Command(python, "-c", script)
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python csv: %v", err)
	}
	var got struct {
		BOM  bool       `json:"bom"`
		Rows [][]string `json:"rows"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	return got.Rows, got.BOM
}

// column returns each row's cells by header name.
func columns(t *testing.T, rows [][]string) []map[string]string {
	t.Helper()
	if len(rows) == 0 {
		t.Fatal("no header row")
	}
	var out []map[string]string
	for _, r := range rows[1:] {
		if len(r) != len(rows[0]) {
			t.Fatalf("row %q has %d cells, the header %d", r, len(r), len(rows[0]))
		}
		m := map[string]string{}
		for i, h := range rows[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func (r *recon) export(name string, p billing.Period, opt billing.ExportOptions) []map[string]string {
	r.t.Helper()
	var buf bytes.Buffer
	if err := r.svc.WriteExport(r.ctx, &buf, name, p, opt); err != nil {
		r.t.Fatalf("export %s: %v", name, err)
	}
	rows, bom := pythonCSV(r.t, buf.Bytes())
	if bom == opt.NoBOM {
		r.t.Errorf("%s: byte order mark %t, want %t", name, bom, !opt.NoBOM)
	}
	return columns(r.t, rows)
}

// ledgerExportWorld is three customers' documents over November and
// December 2026: an academy with a hostile name buying an exempt session
// and standard-rated consultancy on one invoice, part credited and
// overpaid, the overpayment refunded; a maintained school settling by
// journal; an external customer paying in two parts. The income code of
// the session product changes between the invoices.
func ledgerExportWorld(t *testing.T) (*recon, map[string]string) {
	r := newRecon(t,
		reconOrg(700001, "=Ysgol Gymraeg Llanelli's \"Łódź\" 🎓", 881, "Academy converter"),
		reconOrg(700002, "Stour Valley Nursery", 882, "Other independent school"),
		reconOrg(700003, "Maple Primary", 881, "Community school"))
	if err := r.bk.Organisations.SetBillingDetails(r.ctx, r.actor, 700003, "EDU-4471", false, ""); err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{}
	r.on("2026-11-05")
	org := r.orgID(700001)
	mixed, err := r.svc.CreateInvoice(r.ctx, r.actor, billing.InvoiceInput{OrganisationID: org, Source: "manual", Lines: []billing.LineInput{
		{ProductCode: "psa-session", Description: "Training session:\nreading, 2 places", Quantity: 2, Unit: pounds("112.50")},
		{ProductCode: "peer-review", Description: "Peer review support, 1 day", Quantity: 1, Unit: pounds("333.33")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	docs["mixed"] = mixed
	r.on("2026-11-10")
	docs["maple"] = r.invoice(700003, pounds("315"))
	if err := r.bk.Catalogue.SetProductCodes(r.ctx, r.actor, map[string]catalogue.ProductCodes{"psa-session": {IncomeCode: "4025-NEW", VATCode: "E"}}); err != nil {
		t.Fatal(err)
	}
	r.on("2026-11-30")
	docs["stour"] = r.invoice(700002, pounds("95.50"))
	r.pay(docs["stour"], billing.MethodBACS, pounds("50"), "2026-11-30")

	r.on("2026-12-02")
	// 40.00 of the session and 60.00 (50.00 and 10.00 VAT) of the consultancy
	if _, err := r.svc.CreateCreditNote(r.ctx, r.actor, mixed, billing.CreditInput{Reason: "One place unused;\nshorter review",
		Lines: []billing.CreditLineInput{{Position: 1, Amount: pounds("40")}, {Position: 2, Amount: pounds("60")}}}); err != nil {
		t.Fatal(err)
	}
	r.pay(mixed, billing.MethodBACS, pounds("600"), "2026-12-01")
	r.pay(docs["maple"], billing.MethodJournal, pounds("315"), "2026-12-02")
	r.pay(docs["stour"], billing.MethodBACS, pounds("45.50"), "2026-12-02")
	acct := r.account(700001)
	if acct.CreditLeft <= 0 {
		t.Fatalf("the academy should be in credit: %+v", acct)
	}
	var overpaid billing.CreditRef
	for _, c := range acct.Credits {
		if c.Left > 0 {
			overpaid = c.Ref
		}
	}
	if _, err := r.svc.RecordRefund(r.ctx, r.actor, billing.RefundInput{OrganisationID: org, Credit: overpaid, Method: billing.MethodBACS,
		Reason: "Overpaid:\nrefund to the school's account"}); err != nil {
		t.Fatal(err)
	}
	return r, docs
}

func TestLedgerJournal_BalancesAndAgreesWithTheLedger(t *testing.T) {
	r, docs := ledgerExportWorld(t)
	rows := r.export("ledger-journal", billing.Period{}, billing.ExportOptions{})

	// Every document balances, and so does the file.
	type sums struct{ debit, credit pricing.Money }
	byDoc := map[string]*sums{}
	byAccount := map[string]pricing.Money{} // debit less credit
	var order []string
	for _, row := range rows {
		d, c := pounds(row["debit"]), pounds(row["credit"])
		if (d == 0) == (c == 0) {
			t.Errorf("line %q: exactly one of debit and credit must be set", row)
		}
		if strings.ContainsAny(row["description"], "\r\n") {
			t.Errorf("line %q: the description breaks the line", row)
		}
		key := row["document_type"] + " " + row["document"]
		if byDoc[key] == nil {
			byDoc[key], order = &sums{}, append(order, key)
		}
		byDoc[key].debit += d
		byDoc[key].credit += c
		byAccount[row["account"]+"@"+row["cost_centre"]] += d - c
	}
	var total pricing.Money
	for key, s := range byDoc {
		if s.debit != s.credit {
			t.Errorf("%s: debits %s, credits %s", key, s.debit, s.credit)
		}
		total += s.debit - s.credit
	}
	if total != 0 {
		t.Errorf("the journal is out by %s", total)
	}
	wantOrder := []string{"invoice " + docs["mixed"], "invoice " + docs["maple"], "invoice " + docs["stour"], "payment payment-1",
		"payment payment-2", "credit_note CN-000001", "payment payment-3", "payment payment-4", "refund refund-1"}
	if strings.Join(order, ", ") != strings.Join(wantOrder, ", ") {
		t.Errorf("documents in the order\n%s\nwant\n%s", strings.Join(order, ", "), strings.Join(wantOrder, ", "))
	}

	// The debtors control account is what the customer ledger says is
	// owed, less credit on accounts.
	var net pricing.Money
	for _, urn := range []int64{700001, 700002, 700003} {
		net += r.account(urn).Net()
	}
	if got := byAccount["1100@"]; got != net {
		t.Errorf("debtors control %s, the ledger's accounts net %s", got, net)
	}
	// Income by code: the session's first invoice keeps the code it was
	// issued with; the later one has the new code.
	inv := r.find(docs["mixed"])
	session, consultancy := inv.Lines[0], inv.Lines[1]
	if session.IncomeCode != "4020" || consultancy.IncomeCode != "4100" || consultancy.VATCode != "S" || session.VATCode != "E" {
		t.Fatalf("codes at issue: %+v %+v", *session, *consultancy)
	}
	if got := r.find(docs["stour"]).Lines[0].IncomeCode; got != "4025-NEW" {
		t.Errorf("a later invoice has income code %q, want the product's new 4025-NEW", got)
	}
	creditedNet := func(l *billing.Line) pricing.Money { return l.Credited - l.CreditedVAT }
	wantIncome := map[string]pricing.Money{
		// the academy's session less what was credited, and maple's, issued before the change
		"4020@TS100":     -(session.Net - creditedNet(session)) - pounds("315"),
		"4100@TS100":     -(consultancy.Net - creditedNet(consultancy)),
		"4025-NEW@TS100": -pounds("95.50"),
	}
	for k, want := range wantIncome {
		if got := byAccount[k]; got != want {
			t.Errorf("income %s: got %s, want %s", k, got, want)
		}
	}
	vat := r.vatSummary(billing.Period{})
	if got := byAccount["2200@"]; got != -vat.OutputVAT || vat.OutputVAT != consultancy.VAT-consultancy.CreditedVAT || vat.OutputVAT == 0 {
		t.Errorf("VAT output %s, VAT summary box 1 %s, consultancy VAT %s less %s credited", got, vat.OutputVAT, consultancy.VAT,
			consultancy.CreditedVAT)
	}
	// Cash: BACS in less refunds out, the journal recharge at the school's cost centre.
	if got, want := byAccount["1200@"], pounds("600")+pounds("50")+pounds("45.50")-r.refunded(700001); got != want {
		t.Errorf("bank %s, want %s", got, want)
	}
	if got := byAccount["1250@EDU-4471"]; got != pounds("315") {
		t.Errorf("internal recharge at EDU-4471: %s, want 315.00", got)
	}

	// Text from people arrives intact, neutralised for spreadsheets.
	for _, row := range rows {
		if row["customer_urn"] == "700001" && row["customer"] != "'=Ysgol Gymraeg Llanelli's \"Łódź\" 🎓" {
			t.Errorf("customer cell %q", row["customer"])
		}
	}
}

func (r *recon) refunded(urn int64) pricing.Money {
	var sum pricing.Money
	for _, f := range r.account(urn).Refunds {
		sum += f.Amount
	}
	return sum
}

func (r *recon) vatSummary(p billing.Period) *billing.VATSummary {
	r.t.Helper()
	v, err := r.svc.VATSummary(r.ctx, p)
	if err != nil {
		r.t.Fatal(err)
	}
	return v
}

func TestExports_ByPeriod(t *testing.T) {
	r, docs := ledgerExportWorld(t)
	nov, _ := billing.ParsePeriod("2026-11", "2026-11")
	dec, _ := billing.ParsePeriod("2026-12-01", "2026-12-31")
	if nov.From != "2026-11-01" || nov.To != "2026-11-30" {
		t.Fatalf("November is %+v", nov)
	}

	count := func(name string, p billing.Period) int { return len(r.export(name, p, billing.ExportOptions{})) }
	cases := []struct {
		name     string
		nov, dec int
	}{
		{"invoices", 3, 0},
		{"invoice-lines", 4, 0},
		{"credit-notes", 0, 1},
		{"credit-note-lines", 0, 2},
		{"payments", 1, 3},
		{"allocations", 1, 4}, // November: stour's 50; December: the credit note, mixed's payment, maple's journal, stour's rest
		{"refunds", 0, 1},
	}
	for _, c := range cases {
		if got := count(c.name, nov); got != c.nov {
			t.Errorf("%s in November: %d rows, want %d", c.name, got, c.nov)
		}
		if got := count(c.name, dec); got != c.dec {
			t.Errorf("%s in December: %d rows, want %d", c.name, got, c.dec)
		}
	}
	// Allocations in December sum to what December's documents settled.
	var allocated pricing.Money
	for _, row := range r.export("allocations", dec, billing.ExportOptions{}) {
		allocated += pounds(row["amount"])
	}
	mixed := r.find(docs["mixed"])
	if want := mixed.Total + pounds("315") + pounds("45.50"); allocated != want {
		t.Errorf("December's allocations %s, want %s", allocated, want)
	}

	lines := r.export("invoice-lines", nov, billing.ExportOptions{})
	// A line break in a cell is written as CRLF, as a browser's textarea sends it.
	if l := lines[0]; strings.ReplaceAll(l["description"], "\r\n", "\n") != "Training session:\nreading, 2 places" || l["tier"] != "academy" || l["income_code"] != "4020" || l["vat_code"] != "E" ||
		l["quantity"] != "2" || l["unit_price"] != "112.50" || l["vat_rate"] != "0" {
		t.Errorf("first line %q", l)
	}
	if l := lines[1]; l["vat_rate"] != "20" || l["vat"] != "66.67" || l["vat_treatment"] != "standard" {
		t.Errorf("consultancy line %q", l)
	}
	if l := lines[2]; l["cost_centre"] != "EDU-4471" || l["tier"] != "maintained" {
		t.Errorf("maintained line %q", l)
	}
	refund := r.export("refunds", dec, billing.ExportOptions{})[0]
	if strings.ReplaceAll(refund["reason"], "\r\n", "\n") != "Overpaid:\nrefund to the school's account" || refund["status"] != "done" || refund["urn"] != "700001" {
		t.Errorf("refund %q", refund)
	}

	// The journal of a month has only that month's documents, each balanced.
	for _, row := range r.export("ledger-journal", nov, billing.ExportOptions{NoBOM: true}) {
		if !strings.HasPrefix(row["journal_date"], "2026-11-") {
			t.Errorf("a November journal line dated %s", row["journal_date"])
		}
	}

	// The VAT summary: November's consultancy, December's credit note.
	v := r.vatSummary(billing.Period{From: "2026-11-01", To: "2026-12-31"})
	consultancy := mixed.Lines[1]
	var novStandard, decStandard *billing.VATRow
	for i := range v.Rows {
		row := &v.Rows[i]
		if row.VATCode == "S" && row.Month == "2026-11" {
			novStandard = row
		}
		if row.VATCode == "S" && row.Month == "2026-12" {
			decStandard = row
		}
	}
	if novStandard == nil || novStandard.InvoicedVAT != consultancy.VAT || novStandard.InvoicedNet != consultancy.Net {
		t.Errorf("November standard-rated: %+v", novStandard)
	}
	if decStandard == nil || decStandard.CreditedVAT != consultancy.CreditedVAT || decStandard.VAT() != -consultancy.CreditedVAT {
		t.Errorf("December standard-rated: %+v", decStandard)
	}
	var allNet pricing.Money
	for _, inv := range []string{docs["mixed"], docs["maple"], docs["stour"]} {
		allNet += r.find(inv).Net
	}
	if want := allNet - (pounds("100") - consultancy.CreditedVAT); v.Sales != want {
		t.Errorf("box 6: %s, want %s", v.Sales, want)
	}
	vatRows := r.export("vat-summary", billing.Period{From: "2026-11-15", To: "2026-12-31"}, billing.ExportOptions{})
	if len(vatRows) == 0 || vatRows[0]["period_start"] != "2026-11-15" || vatRows[len(vatRows)-1]["period_end"] != "2026-12-31" {
		t.Errorf("VAT rows %q", vatRows)
	}
}

func TestParsePeriod(t *testing.T) {
	for _, c := range []struct{ from, to, field string }{
		{"2026-13-01", "", "from"},
		{"", "31/12/2026", "to"},
		{"2026-12-02", "2026-12-01", "to"},
		{"yesterday", "", "from"},
	} {
		_, err := billing.ParsePeriod(c.from, c.to)
		if traded.ErrorCode(err) != traded.EINVALID || traded.ErrorField(err) != c.field {
			t.Errorf("ParsePeriod(%q, %q): %v, want EINVALID on %s", c.from, c.to, err, c.field)
		}
	}
	if p, err := billing.ParsePeriod(" 2026-04 ", "2027-03"); err != nil || p.From != "2026-04-01" || p.To != "2027-03-31" ||
		p.String() != "2026-04-01_to_2027-03-31" {
		t.Errorf("a financial year by months: %+v %v", p, err)
	}
	_, err := billing.FindExport("ledger")
	wantCode(t, err, traded.ENOTFOUND)
}

func TestLedgerCodes_Settings(t *testing.T) {
	r := newRecon(t)
	wantCode(t, r.svc.SetLedgerSettings(r.ctx, r.actor, map[string]string{"debtors": "11 00"}), traded.EINVALID)
	wantCode(t, r.svc.SetLedgerSettings(r.ctx, r.actor, map[string]string{"suspense": "9999"}), traded.EINVALID)
	wantCode(t, r.bk.Catalogue.SetProductCodes(r.ctx, r.actor, map[string]catalogue.ProductCodes{"psa-session": {IncomeCode: "", VATCode: "E"}}), traded.EINVALID)
	wantCode(t, r.bk.Catalogue.SetProductCodes(r.ctx, r.actor, map[string]catalogue.ProductCodes{"nothing": {IncomeCode: "1", VATCode: "E"}}), traded.EINVALID)
	if err := r.svc.SetLedgerSettings(r.ctx, r.actor, map[string]string{"debtors": " SL-CTRL ", "income_cost_centre": "R1/ED/TS"}); err != nil {
		t.Fatal(err)
	}
	got, err := r.svc.LedgerSettings(r.ctx)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]string{}
	for _, l := range got {
		codes[l.Name] = l.Code
	}
	if codes["debtors"] != "SL-CTRL" || codes["income_cost_centre"] != "R1/ED/TS" || codes["bank"] != "1200" || len(got) != 6 {
		t.Errorf("settings %q", codes)
	}
	if n := r.count(`SELECT count(*) FROM audit_log WHERE action = 'ledger.setting'`); n != 2 {
		t.Errorf("%d audit rows, want 2", n)
	}
}
