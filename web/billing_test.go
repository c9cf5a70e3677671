package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	wiring "traded/app"
	"traded/billing"
	"traded/billing/stripetest"
	"traded/store"
	"traded/web"
)

// token makes a bearer token for a demo user.
func (a *testApp) token(t *testing.T, email string) string {
	t.Helper()
	tok, _, err := wiring.Domains(a.db).Accounts.CreateAPIToken(context.Background(), store.Actor{Name: "test"}, email, "test")
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + tok
}

var invoiceLink = regexp.MustCompile(`/invoices/(TS-\d{6})`)

// TestBuySubscription_Pages: a school business manager buys the subscription
// from the catalogue, lands on the invoice and downloads its PDF.
func TestBuySubscription_Pages(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	u := app.agent(t)
	u.signIn(managerEmail)

	if p := u.get("/catalogue"); !strings.Contains(p.body, `href="/subscribe?year=2026%2f27"`) {
		t.Fatalf("the catalogue offers the manager no subscription: %s", excerpt(p.body))
	}
	p := u.get("/subscribe")
	if p.status != 200 || !strings.Contains(p.body, "£326.03") {
		t.Fatalf("subscribe page: %d, price missing: %s", p.status, excerpt(p.body))
	}
	p = u.submit("/subscribe", url.Values{"academic_year": {"2026/27"}, "po_number": {"PO-2026-17"}})
	if p.status != http.StatusSeeOther || !invoiceLink.MatchString(p.location()) {
		t.Fatalf("buy: %d to %q: %s", p.status, p.location(), excerpt(p.body))
	}
	number := invoiceLink.FindStringSubmatch(p.location())[1]
	p = u.get(p.location())
	for _, want := range []string{number, "£326.03", "PO-2026-17", "internal journal", "Exempt", "Your school now has"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("invoice page lacks %q", want)
		}
	}
	if strings.Contains(p.body, "by card") {
		t.Error("a maintained school's invoice (journal) offers card payment")
	}
	pdf := u.get("/invoices/" + number + ".pdf")
	if pdf.status != 200 || pdf.header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(pdf.body, "%PDF-") {
		t.Errorf("PDF: %d %s %q", pdf.status, pdf.header.Get("Content-Type"), excerpt(pdf.body))
	}
	if again := u.get("/invoices/" + number + ".pdf"); again.body != pdf.body {
		t.Error("the same invoice gave different PDF bytes")
	}
	if home := u.get("/"); !strings.Contains(home.body, "Subscribed") || !strings.Contains(home.body, number) {
		t.Errorf("home page does not show the subscription and its invoice")
	}
	// A second purchase is refused with the form re-shown.
	u.get("/subscribe")
	if p := u.submit("/subscribe", url.Values{"academic_year": {"2026/27"}}); p.status != http.StatusConflict {
		t.Errorf("second purchase: %d, want 409", p.status)
	}
	// The invoice was emailed with its PDF.
	if n := app.count(t, `SELECT count(*) FROM outbox WHERE kind = 'invoice' AND to_addr = ? AND attachments LIKE '%application/pdf%'`, managerEmail); n != 1 {
		t.Errorf("%d invoice emails with a PDF, want 1", n)
	}
	// Another school's manager cannot see it.
	other := app.agent(t)
	other.signIn(otherManagerEmail)
	for _, path := range []string{"/invoices/" + number, "/invoices/" + number + ".pdf", "/api/v1/invoices/" + number, "/api/v1/invoices/" + number + ".pdf"} {
		if p := other.get(path); p.status != http.StatusNotFound {
			t.Errorf("GET %s as another school: %d, want 404", path, p.status)
		}
	}
}

func TestBillingAPI(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	manager, other, teacher, fin := app.token(t, managerEmail), app.token(t, otherManagerEmail), app.token(t, teacherEmail), app.token(t, financeEmail)
	post := func(auth, path, body string) (int, map[string]any) {
		t.Helper()
		status, b := app.do("POST", path, body, "Authorization", auth)
		var m map[string]any
		_ = json.Unmarshal([]byte(b), &m)
		return status, m
	}

	status, m := post(other, "/api/v1/subscriptions", `{"organisation":"990004","academic_year":"2021/22","po_number":"PO-9"}`)
	if status != http.StatusCreated || m["invoice_number"] == nil {
		t.Fatalf("buy: %d %v", status, m)
	}
	number := m["invoice_number"].(string)
	if sub := m["subscription"].(map[string]any); sub["price_pence"].(float64) != 39500 || sub["po_number"] != "PO-9" {
		t.Errorf("subscription %v: want £395.00 and PO-9", sub)
	}
	for name, tt := range map[string]struct {
		auth, body string
		status     int
	}{
		"Again":         {other, `{"organisation":"990004","academic_year":"2021/22"}`, http.StatusConflict},
		"OtherSchool":   {manager, `{"organisation":"990004","academic_year":"2021/22"}`, http.StatusNotFound},
		"Teacher":       {teacher, `{"organisation":"990001","academic_year":"2021/22"}`, http.StatusForbidden},
		"NoYear":        {manager, `{"organisation":"990001"}`, http.StatusUnprocessableEntity},
		"YearNoPrices":  {manager, `{"organisation":"990001","academic_year":"2019/20"}`, http.StatusUnprocessableEntity},
		"Malformed":     {manager, `{"organisation":`, http.StatusBadRequest},
		"UnknownField":  {manager, `{"organisation":"990001","academic_year":"2021/22","price":1}`, http.StatusUnprocessableEntity},
		"Anonymous":     {"", `{"organisation":"990001","academic_year":"2021/22"}`, http.StatusUnauthorized},
		"FinanceForAny": {fin, `{"organisation":"990007","academic_year":"2021/22"}`, http.StatusCreated},
	} {
		if got, body := post(tt.auth, "/api/v1/subscriptions", tt.body); got != tt.status {
			t.Errorf("%s: %d, want %d: %v", name, got, tt.status, body)
		}
	}

	// The invoice, as JSON, to its school and to finance; 404 to others.
	get := func(auth, path string) (int, string) {
		t.Helper()
		return app.do("GET", path, "", "Authorization", auth)
	}
	status, body := get(other, "/api/v1/invoices/"+number)
	var inv struct {
		Number       string `json:"number"`
		Status       string `json:"status"`
		TotalPence   int64  `json:"total_pence"`
		BalancePence int64  `json:"balance_pence"`
		Lines        []struct {
			VATTreatment string `json:"vat_treatment"`
			AmountPence  int64  `json:"net_pence"`
		} `json:"lines"`
	}
	if err := json.Unmarshal([]byte(body), &inv); err != nil || status != 200 {
		t.Fatalf("invoice JSON: %d %s", status, body)
	}
	if inv.Number != number || inv.Status != "issued" || inv.TotalPence != 39500 || inv.BalancePence != 39500 || len(inv.Lines) != 1 || inv.Lines[0].VATTreatment != "exempt" {
		t.Errorf("invoice %+v", inv)
	}
	if status, _ := get(manager, "/api/v1/invoices/"+number); status != http.StatusNotFound {
		t.Errorf("another school's invoice: %d, want 404", status)
	}
	if status, _ := get(manager, "/api/v1/invoices?organisation=990004"); status != http.StatusNotFound {
		t.Errorf("another school's invoice list: %d, want 404", status)
	}
	if _, body := get(manager, "/api/v1/invoices"); strings.Contains(body, number) {
		t.Errorf("a school's own list shows another school's invoice")
	}
	if status, body := get(fin, "/api/v1/invoices?status=issued"); status != 200 || !strings.Contains(body, number) || !strings.Contains(body, `"total":2`) {
		t.Errorf("finance list: %d %s", status, body)
	}
	if status, _ := get(fin, "/api/v1/invoices?status=lost"); status != http.StatusUnprocessableEntity {
		t.Errorf("bad status filter: %d", status)
	}

	// Finance records a part payment and a credit note; the balance follows.
	if status, m := post(other, "/api/v1/invoices/"+number+"/payments", `{"method":"bacs","amount_pence":100}`); status != http.StatusForbidden {
		t.Errorf("a school recording its own payment: %d %v", status, m)
	}
	status, m = post(fin, "/api/v1/invoices/"+number+"/payments", `{"method":"bacs","amount_pence":20000,"reference":"BACS 123"}`)
	if status != http.StatusCreated || m["invoice"].(map[string]any)["balance_pence"].(float64) != 19500 || m["invoice"].(map[string]any)["status"] != "part_paid" {
		t.Errorf("payment: %d %v", status, m)
	}
	status, m = post(fin, "/api/v1/invoices/"+number+"/credit-notes", `{"reason":"Goodwill","amount_pence":4500}`)
	if status != http.StatusCreated || m["number"] != "CN-000001" || m["total_pence"].(float64) != 4500 {
		t.Errorf("credit note: %d %v", status, m)
	}
	for body, want := range map[string]int{
		`{"method":"cash","amount_pence":100}`: http.StatusUnprocessableEntity,
		`{"method":"bacs","amount_pence":0}`:   http.StatusUnprocessableEntity,
		`{"method":"bacs","amount_pence":"1"}`: http.StatusUnprocessableEntity,
		`not json`:                             http.StatusBadRequest,
	} {
		if status, m := post(fin, "/api/v1/invoices/"+number+"/payments", body); status != want {
			t.Errorf("payment %s: %d, want %d: %v", body, status, want, m)
		}
	}
	if status, _ := post(fin, "/api/v1/invoices/TS-999999/payments", `{"method":"bacs","amount_pence":100}`); status != http.StatusNotFound {
		t.Errorf("payment to an unknown invoice: %d", status)
	}
	if status, m := post(fin, "/api/v1/invoices/"+number+"/credit-notes", `{"reason":"too much","amount_pence":999999}`); status != http.StatusUnprocessableEntity {
		t.Errorf("over-credit: %d %v", status, m)
	}
	_, body = get(fin, "/api/v1/invoices/"+number)
	if !strings.Contains(body, `"balance_pence":15000`) || !strings.Contains(body, `"credited_pence":4500`) {
		t.Errorf("after payment and credit: %s", body)
	}
	if status, body := get(other, "/api/v1/invoices/"+number+".pdf"); status != 200 || !strings.HasPrefix(body, "%PDF-") {
		t.Errorf("PDF through the API: %d", status)
	}
}

// TestPaymentAPI_IdempotencyKey: the same payment POSTed twice with one
// Idempotency-Key (a client retrying after a timeout) is recorded once and
// answered with the first payment; the key on a different payment is a 422
// naming it; without a key each POST is a payment.
func TestPaymentAPI_IdempotencyKey(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	fin := app.token(t, financeEmail)
	status, body := app.do("POST", "/api/v1/subscriptions", `{"organisation":"990004","academic_year":"2021/22","po_number":"PO-9"}`,
		"Authorization", app.token(t, otherManagerEmail))
	if status != http.StatusCreated {
		t.Fatalf("buy: %d %s", status, body)
	}
	number := regexp.MustCompile(`TS-\d{6}`).FindString(body)
	pay := func(body string, headers ...string) (int, map[string]any) {
		t.Helper()
		status, b := app.do("POST", "/api/v1/invoices/"+number+"/payments", body, append([]string{"Authorization", fin}, headers...)...)
		var m map[string]any
		_ = json.Unmarshal([]byte(b), &m)
		return status, m
	}
	const first = `{"method":"bacs","amount_pence":10000,"reference":"BASILDON 1"}`
	s1, m1 := pay(first, "Idempotency-Key", "pay-1")
	s2, m2 := pay(first, "Idempotency-Key", "pay-1")
	if s1 != http.StatusCreated || s2 != http.StatusCreated || m1["payment_id"] != m2["payment_id"] || m2["replayed"] != true {
		t.Errorf("retry: %d %v then %d %v; want 201 twice with one payment_id, the second replayed", s1, m1, s2, m2)
	}
	if s, m := pay(`{"method":"bacs","amount_pence":5000}`, "Idempotency-Key", "pay-1"); s != http.StatusUnprocessableEntity ||
		!strings.Contains(fmt.Sprint(m), "Idempotency-Key") {
		t.Errorf("key reused on another payment: %d %v, want 422 naming Idempotency-Key", s, m)
	}
	if s, m := pay(first); s != http.StatusCreated || m["payment_id"] == m1["payment_id"] {
		t.Errorf("the same payment without a key: %d %v, want a second payment", s, m)
	}
	_, b := app.do("GET", "/api/v1/invoices/"+number, "", "Authorization", fin)
	if !strings.Contains(b, `"paid_pence":20000`) {
		t.Errorf("after two payments of £100.00 (one retried): %s", b)
	}
}

// TestStripeWebhook_HTTP: the webhook endpoint checks Stripe's signature and
// answers 400 to a forged or future-dated one, changing nothing; a Checkout
// Session the school started with Pay by card (Traded, against stripe-mock)
// is recorded once; a correctly signed event for a session Traded never made
// is a 200 that records nothing, and the admins' audit log shows why.
func TestStripeWebhook_HTTP(t *testing.T) {
	const secret = "whsec_test_secret"
	app := newAccountsAppWith(t, web.Config{Dev: true, StripeWebhookSecret: secret},
		wiring.Config{Card: billing.NewStripe("sk_test_traded", stripetest.Start(t))}, io.Discard)
	subscribe := func(email, urn string) string {
		t.Helper()
		status, m := app.do("POST", "/api/v1/subscriptions", `{"organisation":"`+urn+`","academic_year":"2021/22"}`, "Authorization", app.token(t, email))
		if status != http.StatusCreated {
			t.Fatalf("buy: %d %s", status, m)
		}
		return regexp.MustCompile(`TS-\d{6}`).FindString(m)
	}
	number := subscribe(otherManagerEmail, "990004")

	// Pay by card, as the school's manager does: Traded makes the session.
	manager := app.agent(t)
	manager.signIn(otherManagerEmail)
	manager.get("/invoices/" + number)
	if p := manager.submit("/invoices/"+number+"/pay", nil); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "https://checkout.stripe.com/") {
		t.Fatalf("pay by card: %d to %q, want 303 to Stripe Checkout", p.status, p.location())
	}
	var session string
	if err := app.db.Read().QueryRow(`SELECT c.stripe_session FROM card_checkouts c JOIN invoices i ON i.id = c.invoice_id
		WHERE i.number = ?`, number).Scan(&session); err != nil {
		t.Fatal(err)
	}
	completed := func(id, session, number string) string {
		return fmt.Sprintf(`{"id":%q,"object":"event","api_version":"2023-10-16","created":%d,"type":"checkout.session.completed",
		"data":{"object":{"id":%q,"object":"checkout.session","amount_total":39500,"currency":"gbp","payment_status":"paid",
		"client_reference_id":%q,"metadata":{"invoice_number":%q}}}}`, id, app.clock.Now().Unix(), session, number, number)
	}
	sign := func(event, secret string, at time.Time) string {
		return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(event), Secret: secret, Timestamp: at}).Header
	}
	event := completed("evt_web_1", session, number)

	for name, header := range map[string]string{
		"WrongSecret":    sign(event, "whsec_wrong", app.clock.Now()),
		"Ahead10Minutes": sign(event, secret, app.clock.Now().Add(10*time.Minute)),
	} {
		if status, body := app.do("POST", "/api/v1/stripe/webhook", event, "Stripe-Signature", header); status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, status, body)
		}
	}
	if n := app.count(t, `SELECT count(*) FROM payments`); n != 0 {
		t.Fatalf("a refused event recorded %d payments", n)
	}
	signed := sign(event, secret, app.clock.Now())
	for i := 0; i < 3; i++ {
		if status, body := app.do("POST", "/api/v1/stripe/webhook", event, "Stripe-Signature", signed); status != http.StatusOK {
			t.Errorf("delivery %d: %d %s", i+1, status, body)
		}
	}
	if n := app.count(t, `SELECT count(*) FROM payments WHERE method = 'card'`); n != 1 {
		t.Errorf("%d card payments after 3 deliveries, want 1", n)
	}
	if status, body := app.do("GET", "/api/v1/invoices/"+number, "", "Authorization", app.token(t, financeEmail)); status != 200 || !strings.Contains(body, `"status":"paid"`) {
		t.Errorf("invoice after card payment: %s", body)
	}

	t.Run("NotTradedCheckout", func(t *testing.T) {
		// Correctly signed, naming a real invoice at its balance, for a
		// session Traded never made: 200, so Stripe stops, and no money.
		other := subscribe(managerEmail, "990001")
		forged := completed("evt_web_forged", "cs_test_not_traded", other)
		if status, body := app.do("POST", "/api/v1/stripe/webhook", forged, "Stripe-Signature", sign(forged, secret, app.clock.Now())); status != http.StatusOK {
			t.Errorf("forged session: %d %s, want 200", status, body)
		}
		if n := app.count(t, `SELECT count(*) FROM payments WHERE method = 'card'`); n != 1 {
			t.Errorf("%d card payments, want still 1", n)
		}
		if status, body := app.do("GET", "/api/v1/invoices/"+other, "", "Authorization", app.token(t, financeEmail)); status != 200 || !strings.Contains(body, `"paid_pence":0`) {
			t.Errorf("invoice after a forged session: %s", body)
		}
		// The admins' audit log is where it shows, with the reason.
		admin := app.agent(t)
		admin.signIn(adminEmail)
		p := admin.get("/admin/audit?action=card.payment_rejected")
		for _, want := range []string{"card.payment_rejected", "cs_test_not_traded", "£395.00 paid by card", "Traded started no checkout with this session"} {
			if p.status != http.StatusOK || !strings.Contains(p.body, want) {
				t.Errorf("audit log: %d, want it to show %q", p.status, want)
			}
		}
		// And finance's home page lists it, to check and refund in Stripe.
		fin := app.agent(t)
		fin.signIn(financeEmail)
		p = fin.get("/")
		for _, want := range []string{"Card payments not recorded", "1 card payment reported by Stripe", "refund it there", "Traded started no checkout with this session"} {
			if p.status != http.StatusOK || !strings.Contains(p.body, want) {
				t.Errorf("finance home: %d, want it to show %q", p.status, want)
			}
		}
	})
}

// TestBillingActions_FormAndJSONAgree: recording a payment, issuing a
// credit note and buying the subscription go one way for the pages and
// the API, so the same bad input is refused with the same status and
// message, beside the form's input at fault (the credit note form's amount
// is credit_amount: the payment form's is amount).
func TestBillingActions_FormAndJSONAgree(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	number := ledgerInvoices(t, app, 990004, 12000)[0] // 990004 is an academy: BACS, not journal
	tomorrow := app.clock.Now().AddDate(0, 0, 1).Format("2006-01-02")
	fin := app.agent(t)
	fin.signIn(financeEmail)
	fin.get("/invoices/" + number)
	manager := app.agent(t)
	manager.signIn(managerEmail)
	manager.get("/subscribe")
	before := map[string]int{}
	for _, table := range []string{"payments", "credit_notes", "subscriptions"} {
		before[table] = app.count(t, `SELECT count(*) FROM `+table)
	}

	for _, tt := range []struct {
		action            string
		as                *userAgent
		token             string
		apiPath, pagePath string
		cases             []formAndJSONCase
	}{
		{"Payment", fin, app.token(t, financeEmail), "/api/v1/invoices/" + number + "/payments", "/invoices/" + number + "/payments", []formAndJSONCase{
			{"Cheque", `{"method":"cheque","amount_pence":100}`, url.Values{"method": {"cheque"}, "amount": {"1.00"}}, ""},
			{"Nothing", `{"method":"bacs","amount_pence":0}`, url.Values{"method": {"bacs"}, "amount": {"0.00"}}, "amount"},
			{"Tomorrow", `{"method":"bacs","amount_pence":100,"received_on":"` + tomorrow + `"}`,
				url.Values{"method": {"bacs"}, "amount": {"1.00"}, "received_on": {tomorrow}}, "received_on"},
			{"JournalForAnAcademy", `{"method":"journal","amount_pence":100}`, url.Values{"method": {"journal"}, "amount": {"1.00"}}, ""},
		}},
		{"CreditNote", fin, app.token(t, financeEmail), "/api/v1/invoices/" + number + "/credit-notes", "/invoices/" + number + "/credit-notes", []formAndJSONCase{
			{"NoReason", `{"amount_pence":100}`, url.Values{"credit_amount": {"1.00"}}, "reason"},
			{"Negative", `{"reason":"Goodwill","amount_pence":-100}`, url.Values{"reason": {"Goodwill"}, "credit_amount": {"-1.00"}}, "credit_amount"},
			{"MoreThanLeft", `{"reason":"Goodwill","amount_pence":20000}`, url.Values{"reason": {"Goodwill"}, "credit_amount": {"200.00"}}, "credit_amount"},
		}},
		// The form buys for the manager's own school, as the API does when
		// the body names none; a bad year leaves no form to show again.
		{"Subscription", manager, app.token(t, managerEmail), "/api/v1/subscriptions", "/subscribe", []formAndJSONCase{
			{"BadYear", `{"academic_year":"2026/28"}`, url.Values{"academic_year": {"2026/28"}}, ""},
			{"NotOnSale", `{"academic_year":"2019/20"}`, url.Values{"academic_year": {"2019/20"}}, ""},
			{"LongPO", `{"academic_year":"2026/27","po_number":"` + strings.Repeat("P", 51) + `"}`,
				url.Values{"academic_year": {"2026/27"}, "po_number": {strings.Repeat("P", 51)}}, "po_number"},
		}},
	} {
		for _, c := range tt.cases {
			t.Run(tt.action+"/"+c.name, func(t *testing.T) {
				status, body := app.do("POST", tt.apiPath, c.json, "Authorization", tt.token)
				wantSameError(t, tt.as.submit(tt.pagePath, c.form), status, body, c.input)
			})
		}
	}
	for table, n := range before {
		if got := app.count(t, `SELECT count(*) FROM `+table); got != n {
			t.Errorf("refused requests added %d %s", got-n, table)
		}
	}
}
