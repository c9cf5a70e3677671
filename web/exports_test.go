package web_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"traded"
	"traded/billing"
	"traded/catalogue"
	"traded/organisation"
	"traded/store"
	"traded/web"
)

// TestExportsPage_PeriodAndVAT: finance picks a period on the exports page,
// sees its VAT summary and downloads each export for it; a bad date is a
// 422 with the message beside the field; the API takes the same period.
func TestExportsPage_PeriodAndVAT(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	inv := ledgerInvoices(t, app, 990004, 12000)
	today := app.clock.Now().Format("2006-01-02")
	fin := app.agent(t)
	fin.signIn(financeEmail)

	p := fin.get("/finance/exports")
	if p.status != http.StatusOK {
		t.Fatalf("exports page: %d %s", p.status, excerpt(p.body))
	}
	for _, name := range []string{"invoices", "invoice-lines", "credit-notes", "credit-note-lines", "payments", "allocations", "refunds",
		"vat-summary", "ledger-journal"} {
		if !strings.Contains(p.body, `href="/finance/exports/`+name+`.csv?from=`) {
			t.Errorf("the exports page has no link to %s for its period", name)
		}
	}
	if !strings.Contains(p.body, "Box 1: VAT due on sales") || !strings.Contains(p.body, "Financial year") {
		t.Errorf("exports page lacks the VAT boxes or the quick periods: %s", excerpt(p.body))
	}
	if bad := fin.get("/finance/exports?from=2026-12-31&to=2026-12-01"); bad.status != http.StatusUnprocessableEntity ||
		!strings.Contains(bad.body, `id="to-error"`) {
		t.Errorf("a period ending before it starts: %d %s", bad.status, excerpt(bad.body))
	}

	tok := app.token(t, financeEmail)
	status, body := app.do("GET", "/api/v1/exports/invoice-lines.csv?from="+today+"&to="+today, "", "Authorization", tok)
	if status != http.StatusOK || !strings.HasPrefix(body, "\ufeff") {
		t.Fatalf("invoice lines: %d %q", status, body)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
	if err != nil || len(recs) != 2 || recs[1][0] != inv[0] || recs[1][len(recs[1])-1] != "4020" {
		t.Errorf("invoice lines: %q %v", recs, err)
	}
	if status, body := app.do("GET", "/api/v1/exports/ledger-journal.csv?bom=no&from=2020-01-01&to=2020-12-31", "", "Authorization", tok); status != http.StatusOK ||
		strings.HasPrefix(body, "\ufeff") || strings.Count(body, "\r\n") != 1 {
		t.Errorf("an empty year's journal without BOM: %d %q", status, body)
	}
	if status, _ := app.do("GET", "/api/v1/exports/invoices.csv?from=1%2F12%2F2026", "", "Authorization", tok); status != http.StatusUnprocessableEntity {
		t.Errorf("a bad from date: %d, want 422", status)
	}
	if status, _ := app.do("GET", "/api/v1/exports/ledger.csv", "", "Authorization", tok); status != http.StatusNotFound {
		t.Errorf("an unknown export: %d, want 404", status)
	}
	status, body = app.do("GET", "/api/v1/vat-summary?from="+today[:7], "", "Authorization", tok)
	var vat map[string]any
	if err := json.Unmarshal([]byte(body), &vat); status != http.StatusOK || err != nil || vat["box6_sales_pence"] != 12000.0 {
		t.Errorf("VAT summary: %d %s", status, body)
	}
}

// TestLedgerCodes_PageAndAPI: finance changes a product's income code and
// a control account on the page; one bad code re-shows the form and
// changes nothing; the API reads and changes the same codes.
func TestLedgerCodes_PageAndAPI(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	fin := app.agent(t)
	fin.signIn(financeEmail)
	p := fin.get("/finance/ledger-codes")
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="income_code.psa-session" type="text" spellcheck="false" value="4020"`) {
		t.Fatalf("ledger codes page: %d %s", p.status, excerpt(p.body))
	}
	form := url.Values{}
	for _, m := range inputValue.FindAllStringSubmatch(p.body, -1) {
		form.Set(m[1], m[2])
	}
	form.Set("income_code.psa-session", "4021")
	form.Set("debtors", "SL 1100") // a space: refused
	if bad := fin.submit("/finance/ledger-codes", form); bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.body, `id="debtors-error"`) ||
		!strings.Contains(bad.body, `value="SL 1100"`) {
		t.Errorf("a bad control account: %d %s", bad.status, excerpt(bad.body))
	}
	if n := app.count(t, `SELECT count(*) FROM products WHERE income_code = '4021'`); n != 0 {
		t.Errorf("a refused form changed %d products", n)
	}
	form.Set("debtors", "SL-1100")
	if ok := fin.submit("/finance/ledger-codes", form); ok.status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", ok.status, excerpt(ok.body))
	}
	tok := app.token(t, financeEmail)
	status, body := app.do("GET", "/api/v1/ledger-codes", "", "Authorization", tok)
	if status != http.StatusOK || !strings.Contains(body, `"code":"psa-session","name":"Primary Statutory Assessment training session","income_code":"4021"`) ||
		!strings.Contains(body, `"debtors":"SL-1100"`) {
		t.Errorf("ledger codes API: %d %s", status, body)
	}
	status, body = app.do("PUT", "/api/v1/ledger-codes", `{"products":[{"code":"moderation","income_code":"4031","vat_code":"E"}],"settings":{"bank":"1201"}}`,
		"Authorization", tok)
	if status != http.StatusOK || !strings.Contains(body, `"income_code":"4031"`) || !strings.Contains(body, `"bank":"1201"`) {
		t.Errorf("PUT ledger codes: %d %s", status, body)
	}
	for _, bad := range []string{
		`{"settings":{"suspense":"9999"}}`,
		`{"products":[{"code":"nothing","income_code":"1","vat_code":"E"}]}`,
		`{"products":[{"code":"moderation","income_code":"=1+1","vat_code":"E"}]}`,
	} {
		if status, body := app.do("PUT", "/api/v1/ledger-codes", bad, "Authorization", tok); status != http.StatusUnprocessableEntity {
			t.Errorf("PUT %s: %d %s, want 422", bad, status, body)
		}
	}
}

var inputValue = regexp.MustCompile(`name="([^"]+)" type="text" spellcheck="false" value="([^"]*)"`)

// TestPaymentsPage_FinancialYear: the payments chart covers a financial
// year, the council's April to March unless finance picks academies
// (September to August); a bad year is a 422 with this year's chart.
func TestPaymentsPage_FinancialYear(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	fin := app.agent(t)
	fin.signIn(financeEmail)
	now := app.clock.Now()
	y := now.Year()
	if now.Month() < 4 {
		y--
	}
	council := fmt.Sprintf("%d/%02d", y, (y+1)%100)
	if p := fin.get("/finance/payments"); p.status != http.StatusOK || !strings.Contains(p.body, "Payments received in "+council) ||
		!strings.Contains(p.body, fmt.Sprintf("1 April %d", y)) {
		t.Errorf("payments page: %d %s", p.status, excerpt(p.body))
	}
	ay := now.Year()
	if now.Month() < 9 {
		ay--
	}
	if p := fin.get("/finance/payments?tier=academy"); p.status != http.StatusOK || !strings.Contains(p.body, fmt.Sprintf("1 September %d", ay)) ||
		!strings.Contains(p.body, "from Essex academies") {
		t.Errorf("academies' payments: %d %s", p.status, excerpt(p.body))
	}
	if p := fin.get("/finance/payments?year=last"); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "Enter a financial year") {
		t.Errorf("a bad year: %d %s", p.status, excerpt(p.body))
	}
	tok := app.token(t, financeEmail)
	status, body := app.do("GET", fmt.Sprintf("/api/v1/payments?tier=academy&year=%d/%02d", ay-1, ay%100), "", "Authorization", tok)
	var r struct {
		From   string `json:"from"`
		To     string `json:"to"`
		Months []any  `json:"months"`
	}
	if err := json.Unmarshal([]byte(body), &r); status != http.StatusOK || err != nil || r.From != fmt.Sprintf("%d-09-01", ay-1) ||
		r.To != fmt.Sprintf("%d-08-31", ay) || len(r.Months) != 12 {
		t.Errorf("payments API for last academic year: %d %s", status, body)
	}
}

// TestInvoiceList_Overdue: finance's list of overdue invoices says how many
// days past due each is and when the last reminder went, in the wide layout.
func TestInvoiceList_Overdue(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	inv := ledgerInvoices(t, app, 990004, 12000, 8000)
	ctx := context.Background()
	bill := billing.NewService(app.db, organisation.New(app.db), catalogue.New(app.db), billing.DefaultConfig(), nil)
	first, err := bill.FindInvoiceByNumber(ctx, inv[0])
	if err != nil {
		t.Fatal(err)
	}
	due, _ := time.Parse("2006-01-02", first.DueDate)
	// The 7-day reminder went a day late (reminders wait for a school day).
	sent := due.Add(8*24*time.Hour + 10*time.Hour)
	if err := app.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO invoice_reminders (invoice_id, stage, sent_at) VALUES (?, 7, ?)`, first.ID, store.FormatTime(sent))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	app.clock.Set(sent)
	reminded := sent.In(traded.London).Format("2 Jan 2006")
	app.clock.Set(app.clock.Now().Add(3 * 24 * time.Hour))
	fin := app.agent(t)
	fin.signIn(financeEmail)
	p := fin.get("/invoices?status=overdue")
	if p.status != http.StatusOK || !strings.Contains(p.body, "traded-width-container--wide") || !strings.Contains(p.body, "Days overdue") {
		t.Fatalf("overdue invoices: %d %s", p.status, excerpt(p.body))
	}
	row := regexp.MustCompile(`(?s)<tr class="govuk-table__row">\s*<td[^>]*><a class="govuk-link" href="/invoices/` + inv[0] + `">.*?</tr>`).FindString(p.body)
	if !strings.Contains(row, `govuk-table__cell--numeric">11</td>`) || !strings.Contains(row, reminded) {
		t.Errorf("the overdue row does not say 11 days and the reminder of %s: %s", reminded, row)
	}
	// A school sees its own overdue invoices the same way, at the usual width.
	mgr := app.agent(t)
	mgr.signIn(otherManagerEmail)
	if p := mgr.get("/invoices"); p.status != http.StatusOK || strings.Contains(p.body, "traded-width-container--wide") || !strings.Contains(p.body, "Last reminder") {
		t.Errorf("the school's invoices: %d %s", p.status, excerpt(p.body))
	}
}

// TestLedgerCodes_FormAndJSONAgree: the ledger codes page and PUT
// /api/v1/ledger-codes save through one path, checked by the catalogue and
// billing (a setting's code before any product's is written), so the same
// bad code is refused with the same status and message, beside its input.
func TestLedgerCodes_FormAndJSONAgree(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	tok := app.token(t, financeEmail)
	fin := app.agent(t)
	fin.signIn(financeEmail)
	p := fin.get("/finance/ledger-codes")
	page := url.Values{} // every code as the page shows it
	for _, m := range inputValue.FindAllStringSubmatch(p.body, -1) {
		page.Set(m[1], m[2])
	}
	if page.Get("debtors") == "" || page.Get("income_code.psa-session") == "" {
		t.Fatalf("the page's form lacks the codes: %v", page)
	}
	with := func(name, code string) url.Values {
		f := url.Values{}
		for k, v := range page {
			f[k] = v
		}
		f.Set(name, code)
		return f
	}
	for _, c := range []formAndJSONCase{
		{"SettingWithASpace", `{"settings":{"debtors":"SL 1100"}}`, with("debtors", "SL 1100"), "debtors"},
		{"NoSetting", `{"settings":{"bank":" "}}`, with("bank", " "), "bank"},
		{"NoIncomeCode", `{"products":[{"code":"psa-session","income_code":"","vat_code":"E"}]}`, with("income_code.psa-session", ""), "income_code.psa-session"},
		{"BadVATCode", `{"products":[{"code":"psa-session","income_code":"4020","vat_code":"=1+1"}]}`, with("vat_code.psa-session", "=1+1"), "vat_code.psa-session"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := app.do("PUT", "/api/v1/ledger-codes", c.json, "Authorization", tok)
			wantSameError(t, fin.submit("/finance/ledger-codes", c.form), status, body, c.input)
		})
	}
	if n := app.count(t, `SELECT count(*) FROM audit_log WHERE action IN ('product.codes', 'ledger.setting')`); n != 0 {
		t.Errorf("refused codes made %d changes", n)
	}
}
