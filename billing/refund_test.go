package billing_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"

	"traded"
	"traded/billing"
	"traded/billing/stripetest"
)

// TestRefund_Card: an invoice paid by card and then cancelled by the LA is
// put right as a finance team would: the card payment is taken off the
// invoice (the credit note pays it instead) and refunded to the card
// through Stripe's Refunds API, against stripe-mock, once however often it
// is asked. A refund Stripe refuses fails and gives the credit back.
func TestRefund_Card(t *testing.T) {
	mock := stripetest.Start(t)
	recorded, sent := stripeRecorder(t, mock)
	// refuse, when set, answers POST /v1/refunds as Stripe does a refund it
	// will not make.
	var refuse atomic.Bool
	target, _ := url.Parse(recorded)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if refuse.Load() && r.Method == http.MethodPost && r.URL.Path == "/v1/refunds" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":{"type":"invalid_request_error","code":"charge_already_refunded","message":"Charge has already been refunded."}}`))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	f := newCardFixture(t, billing.NewStripe("sk_test_traded", front.URL))
	ctx := context.Background()
	number := f.subscribe(t, 200002)
	sess := f.openCheckout(t, number)
	ev := stripeEvent(t, "evt_refund_1", "checkout.session.completed", f.clock.Now(), cardSession(sess, number, 39500, "paid"))
	// Signed now: stripe-go checks a signature's age against the real clock.
	if err := f.deliverStripe(ev, cardWebhookSecret, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	inv, err := f.billing.FindInvoiceByNumber(ctx, number)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := f.billing.FindAccount(ctx, inv.OrganisationID)
	if err != nil {
		t.Fatal(err)
	}
	if len(acct.Credits) != 1 || len(acct.Allocations) != 1 {
		t.Fatalf("after the card payment: %d credits, %d allocations", len(acct.Credits), len(acct.Allocations))
	}
	pay := acct.Credits[0].Ref
	cn, err := f.billing.CreateCreditNote(ctx, f.actor, number, billing.CreditInput{Reason: "Training cancelled by the LA"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.billing.Unallocate(ctx, f.actor, inv.OrganisationID, acct.Allocations[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := f.billing.Allocate(ctx, f.actor, inv.OrganisationID, billing.CreditRef{CreditNote: cn.Number}, number, 0); err != nil {
		t.Fatal(err)
	}

	in := billing.RefundInput{OrganisationID: inv.OrganisationID, Credit: pay, Method: billing.MethodCard, Amount: 20000,
		Reason: "Training cancelled by the LA", IdempotencyKey: "refund-form-1", RequestHash: "h"}
	refuse.Store(true)
	r, err := f.billing.RecordRefund(ctx, f.actor, in)
	if traded.ErrorCode(err) != traded.ECONFLICT || r == nil || r.Status != billing.RefundFailed {
		t.Fatalf("refused refund: %+v, %v; want failed and a 409", r, err)
	}
	refuse.Store(false)
	in.IdempotencyKey = "refund-form-2"
	r, err = f.billing.RecordRefund(ctx, f.actor, in)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != billing.RefundDone || r.StripeRefundID == "" || r.Amount != 20000 {
		t.Errorf("card refund: %+v, want done with a Stripe refund id", r)
	}
	if again, err := f.billing.RecordRefund(ctx, f.actor, in); err != nil || again.ID != r.ID {
		t.Errorf("asked again: %+v, %v; want refund %d back", again, err, r.ID)
	}
	var refunds []stripeRequest
	for _, q := range sent() {
		if q.Path == "/v1/refunds" {
			refunds = append(refunds, q)
		}
	}
	// The refused call was answered in front of stripe-mock; the one that
	// worked reached it; the repeat asked nothing.
	if len(refunds) != 1 {
		t.Fatalf("stripe-mock was asked for %d refunds, want 1: %+v", len(refunds), refunds)
	}
	last := refunds[0]
	if last.Form.Get("amount") != "20000" || last.Form.Get("payment_intent") == "" || last.IdempotencyKey != "traded-refund-"+strconv.FormatInt(r.ID, 10) {
		t.Errorf("refund request %+v", last)
	}
	acct, err = f.billing.FindAccount(ctx, inv.OrganisationID)
	if err != nil {
		t.Fatal(err)
	}
	// £395.00 paid by card, £200.00 refunded: £195.00 is still credit.
	if acct.CreditLeft != 19500 || acct.Owed != 0 {
		t.Errorf("account: credit %s owed %s, want £195.00 credit", acct.CreditLeft, acct.Owed)
	}
	if _, err := f.billing.RecordRefund(ctx, f.actor, billing.RefundInput{OrganisationID: inv.OrganisationID, Credit: billing.CreditRef{CreditNote: cn.Number},
		Method: billing.MethodCard, Reason: "x"}); traded.ErrorCode(err) != traded.EINVALID && traded.ErrorCode(err) != traded.ECONFLICT {
		t.Errorf("a credit note refunded to a card: %v", err)
	}
}
