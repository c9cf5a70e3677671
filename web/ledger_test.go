package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	wiring "traded/app"
	"traded/billing"
	"traded/pricing"
	"traded/store"
	"traded/web"
)

// ledgerInvoices issues manual invoices of the amounts to the school with urn.
func ledgerInvoices(t *testing.T, app *testApp, urn int64, amounts ...pricing.Money) []string {
	t.Helper()
	ctx := context.Background()
	bk := wiring.Domains(app.db).Booking
	org, err := bk.Organisations.FindByURN(ctx, urn)
	if err != nil {
		t.Fatal(err)
	}
	bill := billing.NewService(app.db, bk.Organisations, bk.Catalogue, billing.DefaultConfig(), nil)
	bill.Users = bk.Accounts
	var out []string
	for _, a := range amounts {
		n, err := bill.CreateInvoice(ctx, store.System, billing.InvoiceInput{OrganisationID: org.ID, Source: "manual",
			Lines: []billing.LineInput{{ProductCode: "psa-session", Description: "Training session", Quantity: 1, Unit: a}}})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// TestReceiptAPI_SplitAndRefund: finance splits one receipt across two
// invoices through the API (an Idempotency-Key records it once), leaving
// credit on the account, and refunds that credit.
func TestReceiptAPI_SplitAndRefund(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	fin := app.token(t, financeEmail)
	inv := ledgerInvoices(t, app, 990004, 12000, 8000)
	call := func(method, path, body string, headers ...string) (int, map[string]any) {
		t.Helper()
		status, b := app.do(method, path, body, append([]string{"Authorization", fin}, headers...)...)
		var m map[string]any
		if err := json.Unmarshal([]byte(b), &m); err != nil {
			t.Fatalf("%s %s: %d %q is not JSON: %v", method, path, status, b, err)
		}
		return status, m
	}
	receipt := fmt.Sprintf(`{"method":"bacs","amount_pence":23000,"reference":"BASILDON MEADOWS %s %s",
		"splits":[{"invoice":%q,"amount_pence":12000},{"invoice":%q,"amount_pence":8000}]}`, inv[0], inv[1], inv[0], inv[1])
	s1, m1 := call("POST", "/api/v1/accounts/990004/receipts", receipt, "Idempotency-Key", "receipt-1")
	s2, m2 := call("POST", "/api/v1/accounts/990004/receipts", receipt, "Idempotency-Key", "receipt-1")
	if s1 != http.StatusCreated || s2 != http.StatusCreated || m1["payment_id"] != m2["payment_id"] || m2["replayed"] != true {
		t.Fatalf("receipt then retry: %d %v, %d %v; want one payment, the second replayed", s1, m1, s2, m2)
	}
	if m1["allocated_pence"] != 20000.0 || m1["on_account_pence"] != 3000.0 {
		t.Errorf("receipt: %v, want £200.00 allocated and £30.00 on account", m1)
	}
	if s, m := call("POST", "/api/v1/accounts/990004/receipts", `{"method":"bacs","amount_pence":100,"splits":[{"invoice":"TS-999999","amount_pence":100}]}`); s != http.StatusNotFound {
		t.Errorf("split to an unknown invoice: %d %v", s, m)
	}
	if s, m := call("POST", "/api/v1/accounts/990001/receipts", receipt); s != http.StatusUnprocessableEntity {
		t.Errorf("another school's invoices: %d %v, want 422", s, m)
	}
	_, acct := call("GET", "/api/v1/accounts/990004", "")
	if acct["owed_pence"] != 0.0 || acct["credit_pence"] != 3000.0 || acct["net_pence"] != -3000.0 {
		t.Errorf("account after the receipt: owed %v credit %v net %v", acct["owed_pence"], acct["credit_pence"], acct["net_pence"])
	}
	_, aged := call("GET", "/api/v1/aged-debt", "")
	if ic, _ := aged["in_credit"].([]any); len(ic) != 1 || ic[0].(map[string]any)["credit_pence"] != 3000.0 {
		t.Errorf("aged debt in credit: %v, want 990004 with £30.00", aged["in_credit"])
	}
	if s, _ := call("GET", "/api/v1/aged-debt?as_of=2099-01-01", ""); s != http.StatusUnprocessableEntity {
		t.Errorf("aged debt in the future: %d, want 422", s)
	}
	fin2 := app.agent(t)
	fin2.signIn(financeEmail)
	if p := fin2.get("/finance/aged-debt"); p.status != http.StatusOK || !strings.Contains(p.body, "Accounts in credit") {
		t.Errorf("aged debt page: %d %s", p.status, excerpt(p.body))
	}
	if p := fin2.get("/finance/aged-debt?as_of=31/12/2026"); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="as_of-error"`) {
		t.Errorf("aged debt page with a bad date: %d %s", p.status, excerpt(p.body))
	}
	credit := m1["credit"].(string)
	if s, m := call("POST", "/api/v1/accounts/990001/refunds", `{"credit":"`+credit+`","method":"bacs","reason":"x"}`); s != http.StatusNotFound {
		t.Errorf("refund of 990004's credit through 990001's account: %d %v, want 404", s, m)
	}
	reason := "Paid twice — Ysgol Llŷn’s \"office\" 👍"
	body, _ := json.Marshal(map[string]any{"credit": credit, "method": "bacs", "reason": reason, "reference": "ECC RFD 1"})
	s, r := call("POST", "/api/v1/accounts/990004/refunds", string(body), "Idempotency-Key", "refund-1")
	if s != http.StatusCreated || r["amount_pence"] != 3000.0 || r["status"] != "done" || r["reason"] != reason {
		t.Fatalf("refund: %d %v", s, r)
	}
	if s, _ := call("POST", "/api/v1/accounts/990004/refunds", string(body), "Idempotency-Key", "refund-1"); s != http.StatusCreated {
		t.Errorf("refund retried: %d", s)
	}
	if n := app.count(t, `SELECT count(*) FROM refunds`); n != 1 {
		t.Errorf("%d refunds after a retry, want 1", n)
	}
	_, acct = call("GET", "/api/v1/accounts/990004", "")
	if acct["net_pence"] != 0.0 || acct["credit_pence"] != 0.0 {
		t.Errorf("after the refund: %v", acct)
	}
}

// TestAccountPage_SplitReceipt: finance records a receipt on the account
// page, splitting it across the open invoices; a double submit of the same
// form records it once; a bad split re-shows the form with the error.
func TestAccountPage_SplitReceipt(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	inv := ledgerInvoices(t, app, 990004, 12000, 8000)
	fin := app.agent(t)
	fin.signIn(financeEmail)
	p := fin.get("/finance/accounts/990004")
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="split-`+inv[1]+`"`) {
		t.Fatalf("account page: %d %s", p.status, excerpt(p.body))
	}
	token := tokenField.FindStringSubmatch(p.body)
	if token == nil {
		t.Fatal("the receipt form has no token")
	}
	bad := fin.submit("/finance/accounts/990004/receipts", url.Values{"token": {token[1]}, "amount": {"100.00"}, "method": {"bacs"},
		"split-" + inv[0]: {"120.00"}})
	if bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.body, "more than the £100.00 received") {
		t.Errorf("splits beyond the receipt: %d %s", bad.status, excerpt(bad.body))
	}
	form := url.Values{"token": {token[1]}, "amount": {"230.00"}, "method": {"bacs"}, "reference": {"BASILDON"},
		"split-" + inv[0]: {"120.00"}, "split-" + inv[1]: {"80"}}
	for i := 0; i < 2; i++ {
		if p := fin.submit("/finance/accounts/990004/receipts", form); p.status != http.StatusSeeOther {
			t.Fatalf("submit %d: %d %s", i+1, p.status, excerpt(p.body))
		}
	}
	if n := app.count(t, `SELECT count(*) FROM payments`); n != 1 {
		t.Errorf("%d payments after a double submit, want 1", n)
	}
	p = fin.get("/finance/accounts/990004")
	for _, want := range []string{"£30.00 left as credit on the account", "Nothing is owed.", "Allocate credit", "Refund credit"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("account page lacks %q", want)
		}
	}
}

var tokenField = regexp.MustCompile(`name="token" value="([^"]+)"`)

// TestBankPage_SplitAndRefund: a statement line naming two invoices for
// their sum is offered as a split on the bank page and recorded from it; a
// line for nothing owed is refunded from it.
func TestBankPage_SplitAndRefund(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	fin := app.token(t, financeEmail)
	inv := ledgerInvoices(t, app, 990004, 12000, 8000)
	csv := "Date,Description,Amount\n" + app.clock.Now().Format("2006-01-02") + ",BASILDON MEADOWS " + inv[0] + " " + inv[1] + ",200.00\n" +
		app.clock.Now().Format("2006-01-02") + ",BASILDON MEADOWS DUPLICATE,55.00\n"
	if status, body := app.do("POST", "/api/v1/bank-statements?filename=lloyds.csv", csv, "Authorization", fin); status != http.StatusCreated ||
		!strings.Contains(body, `"review":2`) {
		t.Fatalf("import: %d %s", status, body)
	}
	ua := app.agent(t)
	ua.signIn(financeEmail)
	p := ua.get("/finance/bank")
	want := inv[0] + " 120.00\n" + inv[1] + " 80.00\n"
	if !strings.Contains(p.body, want) {
		t.Fatalf("the bank page does not propose the split %q: %s", want, excerpt(p.body))
	}
	var ids []string
	for _, m := range regexp.MustCompile(`/finance/bank/lines/(\d+)/split`).FindAllStringSubmatch(p.body, -1) {
		ids = append(ids, m[1])
	}
	if len(ids) != 2 {
		t.Fatalf("split forms for lines %v, want 2", ids)
	}
	// The proposed split is in the form of the line it belongs to: the last
	// split form before it.
	before := regexp.MustCompile(`/finance/bank/lines/(\d+)/split`).FindAllStringSubmatch(p.body[:strings.Index(p.body, want)], -1)
	splitID, refundID := before[len(before)-1][1], ids[0]
	if refundID == splitID {
		refundID = ids[1]
	}
	if bad := ua.submit("/finance/bank/lines/"+splitID+"/split", url.Values{"splits": {inv[0] + " lots"}}); bad.status != http.StatusUnprocessableEntity {
		t.Errorf("a bad split: %d", bad.status)
	}
	if r := ua.submit("/finance/bank/lines/"+splitID+"/split", url.Values{"splits": {want}}); r.status != http.StatusSeeOther {
		t.Fatalf("split: %d %s", r.status, excerpt(r.body))
	}
	if r := ua.submit("/finance/bank/lines/"+refundID+"/refund", url.Values{"organisation": {"990004"}, "reason": {"Paid twice"}}); r.status != http.StatusSeeOther {
		t.Fatalf("refund: %d %s", r.status, excerpt(r.body))
	}
	_, body := app.do("GET", "/api/v1/accounts/990004", "", "Authorization", fin)
	if !strings.Contains(body, `"owed_pence":0`) || !strings.Contains(body, `"net_pence":0`) || !strings.Contains(body, `"amount_pence":5500`) {
		t.Errorf("account after the split and the refund: %s", body)
	}
}

// TestBankImportAPI_DateOrder: an ambiguous file is a 422 naming
// date_order; with ?date_order= it is read that way.
func TestBankImportAPI_DateOrder(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	fin := app.token(t, financeEmail)
	csv := "Date,Description,Amount\n03/11/2026,SOMEONE,10.00\n04/11/2026,SOMEONE ELSE,11.00\n"
	if status, body := app.do("POST", "/api/v1/bank-statements", csv, "Authorization", fin); status != http.StatusUnprocessableEntity ||
		!strings.Contains(body, `"field":"date_order"`) {
		t.Errorf("ambiguous: %d %s", status, body)
	}
	if status, body := app.do("POST", "/api/v1/bank-statements?date_order=dmy", csv, "Authorization", fin); status != http.StatusCreated ||
		!strings.Contains(body, `"date":"2026-11-03"`) {
		t.Errorf("day first: %d %s", status, body)
	}
}

// TestInvoiceNotMailed: an invoice to a school with no billing contact is
// flagged on the finance home page and the invoice, cannot be sent until a
// contact is set, and is sent once it is.
func TestInvoiceNotMailed(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	ctx := context.Background()
	bk := wiring.Domains(app.db).Booking
	// 990002 has no users and no billing email in the demo base.
	org, err := bk.Organisations.FindByURN(ctx, 990002)
	if err != nil {
		t.Fatal(err)
	}
	if n := app.count(t, `SELECT count(*) FROM users WHERE organisation_id = ?`, org.ID); n != 0 || org.BillingEmail != "" {
		t.Fatalf("setup: 990002 has %d users, billing email %q", n, org.BillingEmail)
	}
	number := ledgerInvoices(t, app, 990002, 31500)[0]
	if n := app.count(t, `SELECT count(*) FROM outbox WHERE kind = 'invoice'`); n != 0 {
		t.Fatalf("%d invoice mails queued to nobody", n)
	}
	fin := app.agent(t)
	fin.signIn(financeEmail)
	if p := fin.get("/"); !strings.Contains(p.body, "1 invoice has not been emailed") || !strings.Contains(p.body, number) {
		t.Errorf("finance home does not flag %s: %s", number, excerpt(p.body))
	}
	p := fin.get("/invoices/" + number)
	if !strings.Contains(p.body, "This invoice has not been emailed") {
		t.Errorf("invoice page does not say it was not emailed")
	}
	if r := fin.submit("/invoices/"+number+"/send", nil); r.status != http.StatusConflict {
		t.Errorf("send with no contact: %d", r.status)
	}
	if err := bk.Organisations.SetBillingDetails(ctx, store.System, 990002, "", false, "accounts@ysgol-llyn.example"); err != nil {
		t.Fatal(err)
	}
	if r := fin.submit("/invoices/"+number+"/send", nil); r.status != http.StatusSeeOther {
		t.Fatalf("send: %d %s", r.status, excerpt(r.body))
	}
	if n := app.count(t, `SELECT count(*) FROM outbox WHERE kind = 'invoice' AND to_addr = 'accounts@ysgol-llyn.example'`); n != 1 {
		t.Errorf("%d invoice mails to the new contact, want 1", n)
	}
	if p := fin.get("/"); strings.Contains(p.body, "not been emailed") {
		t.Errorf("the flag stayed after sending")
	}
}

// TestLedgerActions_FormAndJSONAgree: receipts, allocations, their reversal
// and refunds go one way for the account page and the API, so the same bad
// input is refused with the same status and message, beside the form's
// input at fault (the refund form's amount and reference are refund_amount
// and refund_reference: the receipt form has amount and reference).
func TestLedgerActions_FormAndJSONAgree(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	fin := app.token(t, financeEmail)
	inv := ledgerInvoices(t, app, 990004, 12000, 8000)
	var receipt struct {
		Credit string `json:"credit"`
	}
	app.api(t, fin, "POST", "/api/v1/accounts/990004/receipts", `{"method":"bacs","amount_pence":3000,"reference":"ON ACCOUNT"}`, http.StatusCreated, &receipt)
	credit := receipt.Credit // £30.00 on the account
	u := app.agent(t)
	u.signIn(financeEmail)
	u.get("/finance/accounts/990004")
	before := map[string]int{}
	for _, table := range []string{"payments", "allocations", "refunds"} {
		before[table] = app.count(t, `SELECT count(*) FROM `+table)
	}

	for _, tt := range []struct {
		action string
		path   string // after /api/v1/accounts/990004 and /finance/accounts/990004
		cases  []formAndJSONCase
	}{
		{"Receipt", "/receipts", []formAndJSONCase{
			{"Cheque", `{"method":"cheque","amount_pence":100}`, url.Values{"method": {"cheque"}, "amount": {"1.00"}}, "method"},
			{"Nothing", `{"method":"bacs","amount_pence":0}`, url.Values{"method": {"bacs"}, "amount": {"0.00"}}, "amount"},
			{"SplitsBeyond", fmt.Sprintf(`{"method":"bacs","amount_pence":10000,"splits":[{"invoice":%q,"amount_pence":12000}]}`, inv[0]),
				url.Values{"method": {"bacs"}, "amount": {"100.00"}, "split-" + inv[0]: {"120.00"}}, "splits"},
			{"UnknownInvoice", `{"method":"bacs","amount_pence":100,"splits":[{"invoice":"TS-999999","amount_pence":100}]}`,
				url.Values{"method": {"bacs"}, "amount": {"1.00"}, "split-TS-999999": {"1.00"}}, ""},
		}},
		{"Allocation", "/allocations", []formAndJSONCase{
			{"BadCredit", fmt.Sprintf(`{"credit":"nothing","invoice":%q}`, inv[0]), url.Values{"credit": {"nothing"}, "invoice": {inv[0]}}, ""},
			{"MoreThanLeft", fmt.Sprintf(`{"credit":%q,"invoice":%q,"amount_pence":5000}`, credit, inv[0]),
				url.Values{"credit": {credit}, "invoice": {inv[0]}, "amount": {"50.00"}}, "amount"},
		}},
		{"Reverse", "/allocations/999999/reverse", []formAndJSONCase{
			{"NoSuchAllocation", "", nil, ""},
		}},
		{"Refund", "/refunds", []formAndJSONCase{
			{"NoReason", fmt.Sprintf(`{"credit":%q,"method":"bacs"}`, credit), url.Values{"credit": {credit}, "method": {"bacs"}}, "reason"},
			{"Cheque", fmt.Sprintf(`{"credit":%q,"method":"cheque","reason":"Paid twice"}`, credit),
				url.Values{"credit": {credit}, "method": {"cheque"}, "reason": {"Paid twice"}}, ""},
			{"MoreThanLeft", fmt.Sprintf(`{"credit":%q,"method":"bacs","amount_pence":5000,"reason":"Paid twice"}`, credit),
				url.Values{"credit": {credit}, "method": {"bacs"}, "refund_amount": {"50.00"}, "reason": {"Paid twice"}}, "refund_amount"},
			{"LongReference", fmt.Sprintf(`{"credit":%q,"method":"bacs","reference":%q,"reason":"Paid twice"}`, credit, strings.Repeat("R", 201)),
				url.Values{"credit": {credit}, "method": {"bacs"}, "refund_reference": {strings.Repeat("R", 201)}, "reason": {"Paid twice"}}, "refund_reference"},
		}},
	} {
		for _, c := range tt.cases {
			t.Run(tt.action+"/"+c.name, func(t *testing.T) {
				status, body := app.do("POST", "/api/v1/accounts/990004"+tt.path, c.json, "Authorization", fin)
				wantSameError(t, u.submit("/finance/accounts/990004"+tt.path, c.form), status, body, c.input)
			})
		}
	}
	for table, n := range before {
		if got := app.count(t, `SELECT count(*) FROM `+table); got != n {
			t.Errorf("refused requests added %d %s", got-n, table)
		}
	}
}
