package billing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"traded"
	"traded/app"
	"traded/billing"
	"traded/billing/stripetest"
	"traded/catalogue"
	"traded/organisation"
	"traded/pricing"
	"traded/store"
	"traded/store/storetest"
)

// cardOrgs: academies pay by BACS or card; the community school by journal.
var cardOrgs = []organisation.Organisation{
	{URN: 200001, Name: "Elm Academy", LACode: 881, LAName: "Essex", EstablishmentType: "Academy converter", Town: "Colchester", Postcode: "CO1 1AA"},
	{URN: 200002, Name: "Ash Academy", LACode: 881, LAName: "Essex", EstablishmentType: "Academy converter", Town: "Braintree", Postcode: "CM7 1AA"},
	{URN: 200003, Name: "Birch Academy", LACode: 881, LAName: "Essex", EstablishmentType: "Academy converter", Town: "Witham", Postcode: "CM8 1AA"},
	{URN: 200004, Name: "Cedar Academy", LACode: 881, LAName: "Essex", EstablishmentType: "Academy converter", Town: "Maldon", Postcode: "CM9 1AA"},
	{URN: 200005, Name: "Hazel Academy", LACode: 881, LAName: "Essex", EstablishmentType: "Academy converter", Town: "Epping", Postcode: "CM16 1AA"},
	{URN: 200009, Name: "Rowan Community Primary", LACode: 881, LAName: "Essex", EstablishmentType: "Community school", Town: "Halstead", Postcode: "CO9 1AA"},
}

const (
	cardWebhookSecret = "whsec_test_traded"
	cardSuccessURL    = "https://traded.test/invoices/paid"
	cardCancelURL     = "https://traded.test/invoices/cancelled"
)

type cardFixture struct {
	db      *store.DB
	clock   *traded.FixedClock
	billing *billing.Service
	actor   store.Actor
}

// newCardFixture is a migrated database holding cardOrgs, with card payment
// through card (nil: off).
func newCardFixture(t *testing.T, card billing.CardPayments) *cardFixture {
	t.Helper()
	db, clock := storetest.Open(t)
	bk := app.Domains(db).Booking
	if err := bk.Organisations.Upsert(context.Background(), store.System, cardOrgs, "demo"); err != nil {
		t.Fatal(err)
	}
	f := &cardFixture{db: db, clock: clock, billing: billing.NewService(db, bk.Organisations, bk.Catalogue, billing.DefaultConfig(), card),
		actor: store.Actor{Name: "bursar@elm.test"}}
	f.billing.Users = bk.Accounts
	return f
}

// subscribe buys the 2021/22 subscription for urn and returns its invoice number.
func (f *cardFixture) subscribe(t *testing.T, urn int64) string {
	t.Helper()
	sub, err := f.billing.BuySubscription(context.Background(), f.actor, urn, pricing.AcademicYear(2021), "")
	if err != nil {
		t.Fatal(err)
	}
	return sub.InvoiceNumber
}

// invoice issues a one-line invoice of pence (no VAT) to urn and returns its number.
func (f *cardFixture) invoice(t *testing.T, urn int64, pence pricing.Money) string {
	t.Helper()
	ctx := context.Background()
	o, err := organisation.New(f.db).FindByURN(ctx, urn)
	if err != nil {
		t.Fatal(err)
	}
	number, err := f.billing.CreateInvoice(ctx, store.Actor{Name: "finance@test"}, billing.InvoiceInput{OrganisationID: o.ID, Source: "manual",
		Lines: []billing.LineInput{{ProductCode: "psa-session", Description: "Training session", Quantity: 1, Unit: pence}}})
	if err != nil {
		t.Fatal(err)
	}
	return number
}

func (f *cardFixture) balance(t *testing.T, number string) pricing.Money {
	t.Helper()
	inv, err := f.billing.FindInvoiceByNumber(context.Background(), number)
	if err != nil {
		t.Fatal(err)
	}
	return inv.Balance()
}

// cardPayments returns the payments recorded against an invoice.
func (f *cardFixture) cardPayments(t *testing.T, number string) []*billing.Payment {
	t.Helper()
	inv, err := f.billing.FindInvoiceByNumber(context.Background(), number)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := f.billing.FindPayments(context.Background(), inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

type cardCheckoutRow struct {
	Key, Session, URL, Status string
	Amount                    int64
}

// checkouts returns an invoice's card_checkouts rows, oldest first.
func (f *cardFixture) checkouts(t *testing.T, number string) []cardCheckoutRow {
	t.Helper()
	rows, err := f.db.Read().Query(`SELECT c.idempotency_key, COALESCE(c.stripe_session, ''), c.url, c.status, c.amount_pence
		FROM card_checkouts c JOIN invoices i ON i.id = c.invoice_id WHERE i.number = ? ORDER BY c.id`, number)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []cardCheckoutRow
	for rows.Next() {
		var r cardCheckoutRow
		if err := rows.Scan(&r.Key, &r.Session, &r.URL, &r.Status, &r.Amount); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *cardFixture) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.Read().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *cardFixture) eventOutcome(t *testing.T, id string) string {
	t.Helper()
	var outcome string
	if err := f.db.Read().QueryRow(`SELECT outcome FROM stripe_events WHERE id = ?`, id).Scan(&outcome); err != nil {
		t.Fatalf("stripe event %s: %v", id, err)
	}
	return outcome
}

// stripeRequest is one request as it reached stripe-mock.
type stripeRequest struct {
	Path, Auth, IdempotencyKey string
	Form                       url.Values
}

// stripeRecorder is a proxy in front of stripe-mock that keeps what Traded
// sent: stripe-mock says whether it was valid, the recorder what it said.
func stripeRecorder(t *testing.T, mockURL string) (string, func() []stripeRequest) {
	t.Helper()
	target, _ := url.Parse(mockURL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	var seen []stripeRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		mu.Lock()
		seen = append(seen, stripeRequest{Path: r.URL.Path, Auth: r.Header.Get("Authorization"),
			IdempotencyKey: r.Header.Get("Idempotency-Key"), Form: form})
		mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []stripeRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]stripeRequest(nil), seen...)
	}
}

func TestStripe_CreateCheckout(t *testing.T) {
	mock := stripetest.Start(t)
	proxyURL, sent := stripeRecorder(t, mock)
	card := billing.NewStripe("sk_test_traded", proxyURL)
	co, err := card.CreateCheckout(context.Background(), billing.CheckoutRequest{
		InvoiceNumber: "TS-000042", Amount: 39500, Description: "Invoice TS-000042", CustomerEmail: "bursar@elm.test",
		SuccessURL: cardSuccessURL, CancelURL: cardCancelURL, IdempotencyKey: "checkout-TS-000042-abc",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(co.SessionID, "cs_") || !strings.HasPrefix(co.URL, "https://") {
		t.Errorf("got session %q URL %q, want cs_... and an https URL", co.SessionID, co.URL)
	}
	reqs := sent()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests to Stripe, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Path != "/v1/checkout/sessions" || r.Auth != "Bearer sk_test_traded" || r.IdempotencyKey != "checkout-TS-000042-abc" {
		t.Errorf("got %s auth %q idempotency key %q", r.Path, r.Auth, r.IdempotencyKey)
	}
	for k, want := range map[string]string{
		"mode":                                          "payment",
		"line_items[0][quantity]":                       "1",
		"line_items[0][price_data][currency]":           "gbp",
		"line_items[0][price_data][unit_amount]":        "39500",
		"line_items[0][price_data][product_data][name]": "Invoice TS-000042",
		"client_reference_id":                           "TS-000042",
		"metadata[invoice_number]":                      "TS-000042",
		"customer_email":                                "bursar@elm.test",
		"success_url":                                   cardSuccessURL,
		"cancel_url":                                    cardCancelURL,
		"payment_intent_data[metadata][invoice_number]": "TS-000042",
	} {
		if got := r.Form.Get(k); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}

	t.Run("Separate", func(t *testing.T) {
		// Another instance with another key and address shares nothing.
		other := billing.NewStripe("sk_test_other", mock)
		if _, err := other.CreateCheckout(context.Background(), billing.CheckoutRequest{InvoiceNumber: "TS-000043", Amount: 100,
			Description: "x", SuccessURL: cardSuccessURL, CancelURL: cardCancelURL, IdempotencyKey: "k2"}); err != nil {
			t.Fatal(err)
		}
		if _, err := card.CreateCheckout(context.Background(), billing.CheckoutRequest{InvoiceNumber: "TS-000044", Amount: 100,
			Description: "x", SuccessURL: cardSuccessURL, CancelURL: cardCancelURL, IdempotencyKey: "k3"}); err != nil {
			t.Fatal(err)
		}
		reqs := sent()
		if len(reqs) != 2 || reqs[1].Auth != "Bearer sk_test_traded" {
			t.Errorf("got %d requests through the recorder (last %+v), want 2 with the first instance's key", len(reqs), reqs[len(reqs)-1])
		}
	})

	t.Run("NoAmount", func(t *testing.T) {
		if _, err := card.CreateCheckout(context.Background(), billing.CheckoutRequest{InvoiceNumber: "TS-000045",
			Description: "x", SuccessURL: cardSuccessURL, CancelURL: cardCancelURL, IdempotencyKey: "k4"}); err == nil {
			t.Error("got a checkout for nothing, want an error")
		}
		if n := len(sent()); n != 2 {
			t.Errorf("got %d requests to Stripe, want still 2", n)
		}
	})
}

func TestService_StartCardPayment(t *testing.T) {
	mock := stripetest.Start(t)
	f := newCardFixture(t, billing.NewStripe("sk_test_traded", mock))
	ctx := context.Background()

	t.Run("Open", func(t *testing.T) {
		number := f.subscribe(t, 200001)
		u, err := f.billing.StartCardPayment(ctx, f.actor, number, cardSuccessURL, cardCancelURL, "bursar@elm.test")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u, "https://checkout.stripe.com/") {
			t.Errorf("got URL %q, want Stripe Checkout's", u)
		}
		cs := f.checkouts(t, number)
		if len(cs) != 1 {
			t.Fatalf("got %d checkouts, want 1", len(cs))
		}
		c := cs[0]
		if c.Status != "open" || c.Amount != 39500 || c.URL != u || !strings.HasPrefix(c.Session, "cs_") || !strings.HasPrefix(c.Key, "checkout-"+number+"-") {
			t.Errorf("got checkout %+v, want open for 39500 with the session and URL", c)
		}
		if n := f.count(t, `SELECT count(*) FROM audit_log WHERE action = 'card.checkout_start' AND entity_id = ?`, number); n != 1 {
			t.Errorf("got %d card.checkout_start audit entries, want 1", n)
		}

		// Coming back to the same invoice offers the same session again,
		// rather than a second one that could also be paid.
		again, err := f.billing.StartCardPayment(ctx, f.actor, strings.ToLower(number), cardSuccessURL, cardCancelURL, "")
		if err != nil {
			t.Fatal(err)
		}
		if again != u || len(f.checkouts(t, number)) != 1 {
			t.Errorf("got URL %q and %d checkouts, want the same URL and 1", again, len(f.checkouts(t, number)))
		}
	})

	t.Run("PartPaid", func(t *testing.T) {
		number := f.subscribe(t, 200002)
		if _, err := f.billing.RecordPayment(ctx, store.Actor{Name: "finance@test"}, number,
			billing.PaymentInput{Method: billing.MethodBACS, Amount: 10000, Reference: "BACS 1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.billing.StartCardPayment(ctx, f.actor, number, cardSuccessURL, cardCancelURL, ""); err != nil {
			t.Fatal(err)
		}
		if cs := f.checkouts(t, number); len(cs) != 1 || cs[0].Amount != 29500 || cs[0].Status != "open" {
			t.Errorf("got checkouts %+v, want one open for the balance 29500", cs)
		}
	})

	t.Run("CardOff", func(t *testing.T) {
		off := billing.NewService(f.db, organisation.New(f.db), catalogue.New(f.db), billing.DefaultConfig(), nil)
		number := f.subscribe(t, 200003)
		_, err := off.StartCardPayment(ctx, f.actor, number, cardSuccessURL, cardCancelURL, "")
		if code := traded.ErrorCode(err); code != traded.ECONFLICT {
			t.Errorf("got %q (%v), want %q", code, err, traded.ECONFLICT)
		}
		if len(f.checkouts(t, number)) != 0 {
			t.Error("a checkout row was written with card payment off")
		}
	})

	t.Run("UnknownInvoice", func(t *testing.T) {
		_, err := f.billing.StartCardPayment(ctx, f.actor, "TS-999999", cardSuccessURL, cardCancelURL, "")
		if code := traded.ErrorCode(err); code != traded.ENOTFOUND {
			t.Errorf("got %q (%v), want %q", code, err, traded.ENOTFOUND)
		}
	})

	t.Run("Journal", func(t *testing.T) {
		number := f.subscribe(t, 200009)
		_, err := f.billing.StartCardPayment(ctx, f.actor, number, cardSuccessURL, cardCancelURL, "")
		if code := traded.ErrorCode(err); code != traded.ECONFLICT || !strings.Contains(traded.ErrorMessage(err), "journal") {
			t.Errorf("got %q %q, want %q about the journal", code, traded.ErrorMessage(err), traded.ECONFLICT)
		}
		if len(f.checkouts(t, number)) != 0 {
			t.Error("a checkout row was written for a journal-settled invoice")
		}
	})

	t.Run("Paid", func(t *testing.T) {
		number := f.subscribe(t, 200004)
		if _, err := f.billing.RecordPayment(ctx, store.Actor{Name: "finance@test"}, number,
			billing.PaymentInput{Method: billing.MethodBACS, Amount: 39500, Reference: "BACS 2"}); err != nil {
			t.Fatal(err)
		}
		_, err := f.billing.StartCardPayment(ctx, f.actor, number, cardSuccessURL, cardCancelURL, "")
		if code := traded.ErrorCode(err); code != traded.ECONFLICT || !strings.Contains(traded.ErrorMessage(err), "paid") {
			t.Errorf("got %q %q, want %q: already paid", code, traded.ErrorMessage(err), traded.ECONFLICT)
		}
	})

	t.Run("Credited", func(t *testing.T) {
		number := f.subscribe(t, 200005)
		if _, err := f.billing.CreateCreditNote(ctx, store.Actor{Name: "finance@test"}, number, billing.CreditInput{Reason: "Cancelled"}); err != nil {
			t.Fatal(err)
		}
		_, err := f.billing.StartCardPayment(ctx, f.actor, number, cardSuccessURL, cardCancelURL, "")
		if code := traded.ErrorCode(err); code != traded.ECONFLICT {
			t.Errorf("got %q (%v), want %q", code, err, traded.ECONFLICT)
		}
	})
}

func TestService_StartCardPayment_StripeDown(t *testing.T) {
	// A port nothing listens on: the call fails after the first write, and
	// the attempt is left marked failed, not creating.
	down := fmt.Sprintf("http://127.0.0.1:%d", stripetest.FreePort(t))
	f := newCardFixture(t, billing.NewStripe("sk_test_traded", down))
	number := f.subscribe(t, 200001)
	_, err := f.billing.StartCardPayment(context.Background(), f.actor, number, cardSuccessURL, cardCancelURL, "")
	if code := traded.ErrorCode(err); code != traded.EINTERNAL {
		t.Errorf("got %q (%v), want %q", code, err, traded.EINTERNAL)
	}
	if cs := f.checkouts(t, number); len(cs) != 1 || cs[0].Status != "failed" || cs[0].Session != "" {
		t.Errorf("got checkouts %+v, want one failed without a session", cs)
	}
	if n := f.count(t, `SELECT count(*) FROM audit_log WHERE action = 'card.checkout_failed'`); n != 1 {
		t.Errorf("got %d card.checkout_failed audit entries, want 1", n)
	}
}

// cardSession is a Checkout Session as Stripe puts it in an event.
func cardSession(id, number string, amount int64, paymentStatus string) map[string]any {
	status := "complete"
	if paymentStatus == "unpaid" {
		status = "expired"
	}
	return map[string]any{
		"id": id, "object": "checkout.session", "mode": "payment", "currency": "gbp",
		"amount_total": amount, "amount_subtotal": amount, "payment_status": paymentStatus, "status": status,
		"client_reference_id": number, "metadata": map[string]any{"invoice_number": number},
		"payment_intent": "pi_" + strings.TrimPrefix(id, "cs_"), "livemode": false,
	}
}

// stripeEvent is an event as Stripe posts it.
func stripeEvent(t *testing.T, id, typ string, created time.Time, object map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"id": id, "object": "event", "api_version": "2023-10-16", "type": typ, "created": created.Unix(),
		"livemode": false, "pending_webhooks": 1, "request": map[string]any{"id": nil, "idempotency_key": nil},
		"data": map[string]any{"object": object},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// deliverStripe posts payload as Stripe would, signed with secret at signedAt.
func (f *cardFixture) deliverStripe(payload []byte, secret string, signedAt time.Time) error {
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: signedAt})
	return f.billing.HandleStripeWebhook(context.Background(), payload, signed.Header, cardWebhookSecret)
}

// openCheckout starts a card payment through stripe-mock and returns the
// session it made.
func (f *cardFixture) openCheckout(t *testing.T, number string) string {
	t.Helper()
	if _, err := f.billing.StartCardPayment(context.Background(), f.actor, number, cardSuccessURL, cardCancelURL, ""); err != nil {
		t.Fatal(err)
	}
	cs := f.checkouts(t, number)
	if len(cs) == 0 || cs[len(cs)-1].Session == "" {
		t.Fatalf("no checkout session for %s: %+v", number, cs)
	}
	return cs[len(cs)-1].Session
}

func TestService_HandleStripeWebhook(t *testing.T) {
	mock := stripetest.Start(t)
	f := newCardFixture(t, billing.NewStripe("sk_test_traded", mock))
	ctx := context.Background()
	inv1 := f.subscribe(t, 200001)
	sess1 := f.openCheckout(t, inv1)

	t.Run("CompletedFiveTimes", func(t *testing.T) {
		// 23:30 UTC on 21 November is still the 21st in London (GMT).
		created := time.Date(2026, 11, 21, 23, 30, 0, 0, time.UTC)
		ev := stripeEvent(t, "evt_completed_1", "checkout.session.completed", created, cardSession(sess1, inv1, 39500, "paid"))
		for i := 0; i < 5; i++ {
			if err := f.deliverStripe(ev, cardWebhookSecret, f.clock.Now()); err != nil {
				t.Fatalf("delivery %d: %v", i+1, err)
			}
		}
		ps := f.cardPayments(t, inv1)
		if len(ps) != 1 {
			t.Fatalf("got %d payments, want 1", len(ps))
		}
		p := ps[0]
		if p.Method != billing.MethodCard || p.Amount != 39500 || p.Reference != sess1 || p.ReceivedOn != "2026-11-21" || p.RecordedBy != "stripe" {
			t.Errorf("got payment %+v, want card 39500 ref %s received 2026-11-21 by stripe", p, sess1)
		}
		if b := f.balance(t, inv1); b != 0 {
			t.Errorf("got balance %s, want 0", b)
		}
		if cs := f.checkouts(t, inv1); len(cs) != 1 || cs[0].Status != "paid" {
			t.Errorf("got checkouts %+v, want one paid", cs)
		}
		if n := f.count(t, `SELECT count(*) FROM stripe_events`); n != 1 {
			t.Errorf("got %d stripe_events rows, want 1", n)
		}
		if o := f.eventOutcome(t, "evt_completed_1"); o != "recorded" {
			t.Errorf("got outcome %q, want recorded", o)
		}
	})

	t.Run("AsyncThenExpired", func(t *testing.T) {
		now := f.clock.Now()
		async := stripeEvent(t, "evt_async_1", "checkout.session.async_payment_succeeded", storetest.Epoch, cardSession(sess1, inv1, 39500, "paid"))
		expired := stripeEvent(t, "evt_expired_1", "checkout.session.expired", storetest.Epoch, cardSession(sess1, inv1, 39500, "unpaid"))
		for _, ev := range [][]byte{async, expired} {
			if err := f.deliverStripe(ev, cardWebhookSecret, now); err != nil {
				t.Fatal(err)
			}
		}
		if ps := f.cardPayments(t, inv1); len(ps) != 1 {
			t.Errorf("got %d payments, want 1", len(ps))
		}
		if cs := f.checkouts(t, inv1); len(cs) != 1 || cs[0].Status != "paid" {
			t.Errorf("got checkouts %+v, want one, still paid", cs)
		}
		if o := f.eventOutcome(t, "evt_async_1"); o != "duplicate" {
			t.Errorf("async_payment_succeeded: got outcome %q, want duplicate", o)
		}
	})

	t.Run("OutOfOrder", func(t *testing.T) {
		inv2 := f.subscribe(t, 200002)
		sess2 := f.openCheckout(t, inv2)
		// In summer: 23:30 UTC on 31 May is 1 June in London (BST).
		f.clock.Set(time.Date(2027, 6, 2, 9, 0, 0, 0, time.UTC))
		defer f.clock.Set(storetest.Epoch)
		created := time.Date(2027, 5, 31, 23, 30, 0, 0, time.UTC)
		if err := f.deliverStripe(stripeEvent(t, "evt_expired_2", "checkout.session.expired", created,
			cardSession(sess2, inv2, 39500, "unpaid")), cardWebhookSecret, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if cs := f.checkouts(t, inv2); len(cs) != 1 || cs[0].Status != "failed" {
			t.Errorf("after expired: got checkouts %+v, want one failed", cs)
		}
		if err := f.deliverStripe(stripeEvent(t, "evt_completed_2", "checkout.session.completed", created,
			cardSession(sess2, inv2, 39500, "paid")), cardWebhookSecret, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		ps := f.cardPayments(t, inv2)
		if len(ps) != 1 || ps[0].ReceivedOn != "2027-06-01" {
			t.Errorf("got payments %+v, want one received 2027-06-01", ps)
		}
		if cs := f.checkouts(t, inv2); len(cs) != 1 || cs[0].Status != "paid" {
			t.Errorf("got checkouts %+v, want one paid", cs)
		}
		if b := f.balance(t, inv2); b != 0 {
			t.Errorf("got balance %s, want 0", b)
		}
	})

	t.Run("BadSignature", func(t *testing.T) {
		inv3 := f.subscribe(t, 200003)
		sess3 := f.openCheckout(t, inv3)
		ev := stripeEvent(t, "evt_forged", "checkout.session.completed", storetest.Epoch, cardSession(sess3, inv3, 39500, "paid"))
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: ev, Secret: cardWebhookSecret, Timestamp: f.clock.Now()})
		tampered := bytes.Replace(ev, []byte("39500"), []byte("39501"), 1)
		for name, deliver := range map[string]func() error{
			"WrongSecret": func() error { return f.deliverStripe(ev, "whsec_someone_else", f.clock.Now()) },
			"Tampered": func() error {
				return f.billing.HandleStripeWebhook(ctx, tampered, signed.Header, cardWebhookSecret)
			},
			"NoHeader": func() error { return f.billing.HandleStripeWebhook(ctx, ev, "", cardWebhookSecret) },
			"Garbage":  func() error { return f.billing.HandleStripeWebhook(ctx, ev, "t=1,v1=zz", cardWebhookSecret) },
			"Stale":    func() error { return f.deliverStripe(ev, cardWebhookSecret, f.clock.Now().Add(-301*time.Second)) },
			// stripe-go checks only the past: Traded refuses the future too.
			"Ahead10Minutes": func() error { return f.deliverStripe(ev, cardWebhookSecret, f.clock.Now().Add(10*time.Minute)) },
			"Ahead301s":      func() error { return f.deliverStripe(ev, cardWebhookSecret, f.clock.Now().Add(301*time.Second)) },
			// The last t= is the one signed with, and so the one judged.
			"AheadSecondT": func() error {
				at := f.clock.Now().Add(10 * time.Minute)
				sig := webhook.ComputeSignature(at, ev, cardWebhookSecret)
				header := fmt.Sprintf("t=%d,t=%d,v1=%x", f.clock.Now().Unix(), at.Unix(), sig)
				return f.billing.HandleStripeWebhook(ctx, ev, header, cardWebhookSecret)
			},
		} {
			err := deliver()
			if code := traded.ErrorCode(err); code != traded.EMALFORMED {
				t.Errorf("%s: got %q (%v), want %q", name, code, err, traded.EMALFORMED)
			}
		}
		if n := f.count(t, `SELECT count(*) FROM stripe_events WHERE id = 'evt_forged'`); n != 0 {
			t.Errorf("got %d stripe_events rows for a refused event, want 0", n)
		}
		if ps := f.cardPayments(t, inv3); len(ps) != 0 {
			t.Errorf("got %d payments from a refused event, want 0", len(ps))
		}
		// Within the 300 s tolerance, the same event is accepted, by
		// the database's clock (days from the machine's).
		if err := f.deliverStripe(ev, cardWebhookSecret, f.clock.Now().Add(-4*time.Minute)); err != nil {
			t.Errorf("signed 4 minutes ago: %v", err)
		}
		if ps := f.cardPayments(t, inv3); len(ps) != 1 {
			t.Errorf("got %d payments, want 1", len(ps))
		}
	})

	t.Run("SignedAhead", func(t *testing.T) {
		number := f.invoice(t, 200001, 12000)
		sess := f.openCheckout(t, number)
		ev := stripeEvent(t, "evt_ahead", "checkout.session.completed", storetest.Epoch, cardSession(sess, number, 12000, "paid"))
		err := f.deliverStripe(ev, cardWebhookSecret, f.clock.Now().Add(10*time.Minute))
		if code := traded.ErrorCode(err); code != traded.EMALFORMED {
			t.Errorf("signed 10 minutes ahead: got %q (%v), want %q", code, err, traded.EMALFORMED)
		}
		if n := f.count(t, `SELECT count(*) FROM stripe_events WHERE id = 'evt_ahead'`); n != 0 {
			t.Errorf("got %d stripe_events rows for a refused event, want 0", n)
		}
		if ps := f.cardPayments(t, number); len(ps) != 0 {
			t.Fatalf("got %d payments from an event signed 10 minutes ahead, want 0", len(ps))
		}
		// A clock a minute fast at Stripe's end is within the tolerance.
		if err := f.deliverStripe(ev, cardWebhookSecret, f.clock.Now().Add(time.Minute)); err != nil {
			t.Errorf("signed 1 minute ahead: %v", err)
		}
		if ps := f.cardPayments(t, number); len(ps) != 1 || ps[0].Amount != 12000 {
			t.Errorf("got payments %+v, want one of 12000", ps)
		}
	})

	t.Run("NoSecret", func(t *testing.T) {
		ev := stripeEvent(t, "evt_nosecret", "checkout.session.completed", storetest.Epoch, cardSession("cs_test_x", inv1, 1, "paid"))
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: ev, Secret: "", Timestamp: f.clock.Now()})
		if err := f.billing.HandleStripeWebhook(ctx, ev, signed.Header, ""); err == nil {
			t.Error("an event was accepted with no signing secret configured")
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		inv4 := f.subscribe(t, 200004)
		sess4 := f.openCheckout(t, inv4)
		ev := stripeEvent(t, "evt_concurrent", "checkout.session.completed", storetest.Epoch, cardSession(sess4, inv4, 39500, "paid"))
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- f.deliverStripe(ev, cardWebhookSecret, f.clock.Now())
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		if ps := f.cardPayments(t, inv4); len(ps) != 1 {
			t.Errorf("got %d payments, want 1", len(ps))
		}
		if n := f.count(t, `SELECT count(*) FROM stripe_events WHERE id = 'evt_concurrent'`); n != 1 {
			t.Errorf("got %d stripe_events rows, want 1", n)
		}
		if b := f.balance(t, inv4); b != 0 {
			t.Errorf("got balance %s, want 0", b)
		}
	})

	t.Run("UnknownInvoice", func(t *testing.T) {
		before := f.count(t, `SELECT count(*) FROM payments`)
		ev := stripeEvent(t, "evt_unknown", "checkout.session.completed", storetest.Epoch, cardSession("cs_test_unknown", "TS-999999", 5000, "paid"))
		if err := f.deliverStripe(ev, cardWebhookSecret, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if o := f.eventOutcome(t, "evt_unknown"); !strings.HasPrefix(o, "rejected: Traded started no checkout") {
			t.Errorf("got outcome %q, want rejected: Traded started no checkout...", o)
		}
		if n := f.count(t, `SELECT count(*) FROM payments`); n != before {
			t.Errorf("got %d payments, want %d", n, before)
		}
		if n := f.count(t, `SELECT count(*) FROM audit_log WHERE action = 'card.payment_rejected' AND entity_id = 'cs_test_unknown'`); n != 1 {
			t.Errorf("got %d card.payment_rejected audit entries, want 1", n)
		}
	})

	t.Run("CreditedInFull", func(t *testing.T) {
		inv5 := f.subscribe(t, 200005)
		sess5 := f.openCheckout(t, inv5)
		if _, err := f.billing.CreateCreditNote(ctx, store.Actor{Name: "finance@test"}, inv5, billing.CreditInput{Reason: "Cancelled"}); err != nil {
			t.Fatal(err)
		}
		ev := stripeEvent(t, "evt_credited", "checkout.session.completed", storetest.Epoch, cardSession(sess5, inv5, 39500, "paid"))
		if err := f.deliverStripe(ev, cardWebhookSecret, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if o := f.eventOutcome(t, "evt_credited"); o != "refused" {
			t.Errorf("got outcome %q, want refused", o)
		}
		if ps := f.cardPayments(t, inv5); len(ps) != 0 {
			t.Errorf("got %d payments, want 0", len(ps))
		}
		if n := f.count(t, `SELECT count(*) FROM audit_log WHERE action = 'card.payment_refused' AND entity_id = ?`, inv5); n != 1 {
			t.Errorf("got %d card.payment_refused audit entries, want 1", n)
		}
	})

	t.Run("OtherTypes", func(t *testing.T) {
		ev := stripeEvent(t, "evt_other", "payment_intent.succeeded", storetest.Epoch, map[string]any{"id": "pi_1", "object": "payment_intent"})
		if err := f.deliverStripe(ev, cardWebhookSecret, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if o := f.eventOutcome(t, "evt_other"); o != "ignored" {
			t.Errorf("got outcome %q, want ignored", o)
		}
		unpaid := stripeEvent(t, "evt_unpaid", "checkout.session.completed", storetest.Epoch, cardSession("cs_test_unpaid", inv1, 100, "unpaid"))
		if err := f.deliverStripe(unpaid, cardWebhookSecret, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if o := f.eventOutcome(t, "evt_unpaid"); o != "awaiting payment" {
			t.Errorf("got outcome %q, want awaiting payment", o)
		}
	})
}

// TestService_HandleStripeWebhook_OnlyTradedCheckouts: a correctly signed
// event records money only for a Checkout Session Traded created, for that
// checkout's invoice, in GBP and for no more than it asked. Anything else is
// rejected with its reason, for finance, and changes no money: the webhook
// still answers nil, so Stripe does not retry it.
func TestService_HandleStripeWebhook_OnlyTradedCheckouts(t *testing.T) {
	mock := stripetest.Start(t)
	f := newCardFixture(t, billing.NewStripe("sk_test_traded", mock))
	ctx := context.Background()

	// rejected delivers ev (for session sess) and checks that it was
	// rejected for reason, audited with it, and recorded no payment.
	rejected := func(t *testing.T, id, sess string, ev []byte, reason string, invoices ...string) {
		t.Helper()
		const audited = `SELECT count(*) FROM audit_log WHERE action = 'card.payment_rejected' AND entity = 'stripe_session'
			AND entity_id = ? AND actor = 'stripe' AND instr(detail, ?) > 0`
		entries := f.count(t, audited, sess, reason)
		payments := f.count(t, `SELECT count(*) FROM payments`)
		balances := map[string]pricing.Money{}
		for _, n := range invoices {
			balances[n] = f.balance(t, n)
		}
		for i := 0; i < 2; i++ { // a redelivery changes nothing either
			if err := f.deliverStripe(ev, cardWebhookSecret, f.clock.Now()); err != nil {
				t.Fatalf("delivery %d: got %v, want nil (rejected, not retried)", i+1, err)
			}
		}
		if o := f.eventOutcome(t, id); !strings.HasPrefix(o, "rejected: ") || !strings.Contains(o, reason) {
			t.Errorf("got outcome %q, want rejected: ...%s...", o, reason)
		}
		if n := f.count(t, `SELECT count(*) FROM payments`); n != payments {
			t.Errorf("got %d payments, want %d: a rejected event recorded money", n, payments)
		}
		for n, want := range balances {
			if got := f.balance(t, n); got != want {
				t.Errorf("%s: got balance %s, want %s", n, got, want)
			}
		}
		if n := f.count(t, audited, sess, reason) - entries; n != 1 {
			t.Errorf("got %d new card.payment_rejected audit entries for %s saying %q, want 1", n, sess, reason)
		}
	}

	t.Run("NotTradedCheckout", func(t *testing.T) {
		// Signed with the right secret, naming a real invoice at its
		// exact balance: but Traded never started this checkout.
		number := f.invoice(t, 200001, 39500)
		ev := stripeEvent(t, "evt_forged_session", "checkout.session.completed", storetest.Epoch,
			cardSession("cs_test_not_traded", number, 39500, "paid"))
		rejected(t, "evt_forged_session", "cs_test_not_traded", ev, "Traded started no checkout", number)
		if cs := f.checkouts(t, number); len(cs) != 0 {
			t.Errorf("got checkouts %+v, want none", cs)
		}
	})

	t.Run("OtherInvoice", func(t *testing.T) {
		// A session Traded made for one invoice, claimed for another.
		mine, other := f.invoice(t, 200002, 12000), f.invoice(t, 200003, 12000)
		sess := f.openCheckout(t, mine)
		ev := stripeEvent(t, "evt_other_invoice", "checkout.session.completed", storetest.Epoch, cardSession(sess, other, 12000, "paid"))
		rejected(t, "evt_other_invoice", sess, ev, "the checkout was for invoice "+mine, mine, other)
		// Naming it in only one of the two places is no better.
		half := cardSession(sess, mine, 12000, "paid")
		half["client_reference_id"] = other
		rejected(t, "evt_other_reference", sess, stripeEvent(t, "evt_other_reference", "checkout.session.completed", storetest.Epoch, half),
			"the event names \""+other+"\"", mine, other)
		if cs := f.checkouts(t, mine); len(cs) != 1 || cs[0].Status != "open" {
			t.Errorf("got checkouts %+v, want one, still open", cs)
		}
	})

	t.Run("WrongCurrency", func(t *testing.T) {
		number := f.invoice(t, 200004, 12000)
		sess := f.openCheckout(t, number)
		obj := cardSession(sess, number, 12000, "paid")
		obj["currency"] = "eur"
		rejected(t, "evt_eur", sess, stripeEvent(t, "evt_eur", "checkout.session.completed", storetest.Epoch, obj),
			"paid in \"eur\", the checkout asked for GBP", number)
	})

	t.Run("MoreThanAsked", func(t *testing.T) {
		number := f.invoice(t, 200005, 12000)
		sess := f.openCheckout(t, number)
		ev := stripeEvent(t, "evt_more", "checkout.session.completed", storetest.Epoch, cardSession(sess, number, 12001, "paid"))
		rejected(t, "evt_more", sess, ev, "£120.01 is more than the £120.00 the checkout asked for", number)
		// The same session's async success, for what was asked, is recorded.
		ok := stripeEvent(t, "evt_more_ok", "checkout.session.async_payment_succeeded", storetest.Epoch, cardSession(sess, number, 12000, "paid"))
		if err := f.deliverStripe(ok, cardWebhookSecret, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if ps := f.cardPayments(t, number); len(ps) != 1 || ps[0].Amount != 12000 || ps[0].Reference != sess {
			t.Errorf("got payments %+v, want one of 12000 for %s", ps, sess)
		}
	})

	t.Run("LessThanAsked", func(t *testing.T) {
		// No more than asked may be less (a discount at Stripe's end): it
		// is a part payment, and the invoice still owes the rest.
		number := f.invoice(t, 200001, 20000)
		sess := f.openCheckout(t, number)
		ev := stripeEvent(t, "evt_less", "checkout.session.completed", storetest.Epoch, cardSession(sess, number, 15000, "paid"))
		if err := f.deliverStripe(ev, cardWebhookSecret, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if o := f.eventOutcome(t, "evt_less"); o != "recorded" {
			t.Errorf("got outcome %q, want recorded", o)
		}
		if b := f.balance(t, number); b != 5000 {
			t.Errorf("got balance %s, want £50.00", b)
		}
	})

	t.Run("SessionNotYetStored", func(t *testing.T) {
		// Stripe made the session but Traded never heard back (here: it
		// could not reach Stripe at all). The attempt's key, which only
		// Traded and Stripe know, is in the session's metadata.
		number := f.invoice(t, 200002, 30000)
		down := billing.NewService(f.db, organisation.New(f.db), catalogue.New(f.db), billing.DefaultConfig(),
			billing.NewStripe("sk_test_traded", fmt.Sprintf("http://127.0.0.1:%d", stripetest.FreePort(t))))
		if _, err := down.StartCardPayment(ctx, f.actor, number, cardSuccessURL, cardCancelURL, ""); err == nil {
			t.Fatal("a checkout was started with Stripe down")
		}
		cs := f.checkouts(t, number)
		if len(cs) != 1 || cs[0].Session != "" {
			t.Fatalf("got checkouts %+v, want one without a session", cs)
		}
		withKey := func(sess string, amount int64) map[string]any {
			obj := cardSession(sess, number, amount, "paid")
			obj["metadata"].(map[string]any)["checkout_key"] = cs[0].Key
			return obj
		}
		ev := stripeEvent(t, "evt_lost_reply", "checkout.session.completed", storetest.Epoch, withKey("cs_test_lost_reply", 30000))
		if err := f.deliverStripe(ev, cardWebhookSecret, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if ps := f.cardPayments(t, number); len(ps) != 1 || ps[0].Amount != 30000 {
			t.Errorf("got payments %+v, want one of 30000", ps)
		}
		if cs := f.checkouts(t, number); len(cs) != 1 || cs[0].Session != "cs_test_lost_reply" || cs[0].Status != "paid" {
			t.Errorf("got checkouts %+v, want one paid by cs_test_lost_reply", cs)
		}
		// The key now belongs to that session: another one carrying it is
		// not Traded's.
		again := stripeEvent(t, "evt_key_reused", "checkout.session.completed", storetest.Epoch, withKey("cs_test_key_reused", 30000))
		rejected(t, "evt_key_reused", "cs_test_key_reused", again, "Traded started no checkout", number)
		// A key Traded never made is no key at all.
		other := f.invoice(t, 200003, 30000)
		guess := cardSession("cs_test_guessed_key", other, 30000, "paid")
		guess["metadata"].(map[string]any)["checkout_key"] = "checkout-" + other + "-GUESSED"
		rejected(t, "evt_guessed_key", "cs_test_guessed_key",
			stripeEvent(t, "evt_guessed_key", "checkout.session.completed", storetest.Epoch, guess), "Traded started no checkout", other)
	})

	t.Run("Legitimate", func(t *testing.T) {
		// Among all these, a real payment is recorded, once.
		number := f.invoice(t, 200004, 45000)
		sess := f.openCheckout(t, number)
		ev := stripeEvent(t, "evt_real", "checkout.session.completed", storetest.Epoch, cardSession(sess, number, 45000, "paid"))
		for i := 0; i < 3; i++ {
			if err := f.deliverStripe(ev, cardWebhookSecret, f.clock.Now()); err != nil {
				t.Fatal(err)
			}
		}
		if ps := f.cardPayments(t, number); len(ps) != 1 || ps[0].Amount != 45000 {
			t.Errorf("got payments %+v, want one of 45000", ps)
		}
		if o := f.eventOutcome(t, "evt_real"); o != "recorded" {
			t.Errorf("got outcome %q, want recorded", o)
		}
		if b := f.balance(t, number); b != 0 {
			t.Errorf("got balance %s, want 0", b)
		}
	})
}
