package billing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// Stripe is the CardPayments adapter for Stripe Checkout. Each Stripe has its
// own client, key and backends: nothing is set on stripe-go's globals, so two
// servers (or two tests) in one process never share a key or an address.
type Stripe struct {
	api *client.API
}

// checkoutCurrency is the one currency Traded asks Stripe for: the webhook
// records no payment in any other.
const checkoutCurrency = stripe.CurrencyGBP

// stripeTimeout bounds one call to Stripe, retries included in spirit: a
// payer is waiting for the redirect.
const stripeTimeout = 30 * time.Second

// NewStripe returns the adapter for the account whose secret key is
// secretKey. apiBaseURL "" means Stripe's real API; tests pass stripe-mock's
// address ("http://127.0.0.1:12111").
func NewStripe(secretKey, apiBaseURL string) *Stripe {
	hc := &http.Client{Timeout: stripeTimeout}
	// GetBackendWithConfig fills in the config it is given, so each backend
	// gets its own. stripe-go's logger is off: its errors come back to the
	// caller, who logs them once, in the server's own log.
	cfg := func(url string) *stripe.BackendConfig {
		c := &stripe.BackendConfig{HTTPClient: hc, LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}}
		if url != "" {
			c.URL = stripe.String(url)
		}
		return c
	}
	backends := &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, cfg(apiBaseURL)),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, cfg("")),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, cfg("")),
	}
	api := &client.API{}
	api.Init(secretKey, backends)
	return &Stripe{api: api}
}

// CreateCheckout creates a Checkout Session in payment mode for one line of
// req.Amount pence in GBP, tagged with the invoice number (as
// client_reference_id and metadata) so the webhook can match the payment. The
// idempotency key makes a retried call return the same session.
func (s *Stripe) CreateCheckout(ctx context.Context, req CheckoutRequest) (*Checkout, error) {
	if req.Amount <= 0 {
		return nil, fmt.Errorf("stripe checkout for %s: amount %d pence is not positive", req.InvoiceNumber, req.Amount)
	}
	// checkout_key names Traded's card_checkouts row, so the webhook finds it
	// even if Traded never got to store the session's ID.
	meta := map[string]string{"invoice_number": req.InvoiceNumber, "checkout_key": req.IdempotencyKey}
	params := &stripe.CheckoutSessionParams{
		Mode:               stripe.String(string(stripe.CheckoutSessionModePayment)),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
		LineItems: []*stripe.CheckoutSessionLineItemParams{{
			Quantity: stripe.Int64(1),
			PriceData: &stripe.CheckoutSessionLineItemPriceDataParams{
				Currency:    stripe.String(string(checkoutCurrency)),
				UnitAmount:  stripe.Int64(req.Amount),
				ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{Name: stripe.String(req.Description)},
			},
		}},
		ClientReferenceID: stripe.String(req.InvoiceNumber),
		Metadata:          meta,
		// The payment itself carries the invoice too, for finance looking at
		// it in Stripe's dashboard or a payout report.
		PaymentIntentData: &stripe.CheckoutSessionPaymentIntentDataParams{
			Description: stripe.String(req.Description),
			Metadata:    map[string]string{"invoice_number": req.InvoiceNumber},
		},
		SuccessURL: stripe.String(req.SuccessURL),
		CancelURL:  stripe.String(req.CancelURL),
	}
	if req.CustomerEmail != "" {
		params.CustomerEmail = stripe.String(req.CustomerEmail)
	}
	params.Context = ctx
	if req.IdempotencyKey != "" {
		params.SetIdempotencyKey(req.IdempotencyKey)
	}
	sess, err := s.api.CheckoutSessions.New(params)
	if err != nil {
		return nil, fmt.Errorf("stripe checkout for %s: %w", req.InvoiceNumber, err)
	}
	if sess.ID == "" || sess.URL == "" {
		return nil, errors.New("stripe checkout for " + req.InvoiceNumber + ": Stripe returned no session ID or URL")
	}
	return &Checkout{SessionID: sess.ID, URL: sess.URL}, nil
}

// RefundCard refunds req.Amount of the payment a Checkout Session took,
// through Stripe's Refunds API, once per idempotency key. A refusal Stripe
// would repeat (a 4xx other than 409 and 429) wraps ErrCardRefused.
func (s *Stripe) RefundCard(ctx context.Context, req CardRefundRequest) (*CardRefund, error) {
	if req.Amount <= 0 || req.CheckoutSessionID == "" {
		return nil, fmt.Errorf("stripe refund: %w: no session or amount", ErrCardRefused)
	}
	sp := &stripe.CheckoutSessionParams{}
	sp.Context = ctx
	sess, err := s.api.CheckoutSessions.Get(req.CheckoutSessionID, sp)
	if err != nil {
		return nil, stripeRefundError("read session "+req.CheckoutSessionID, err)
	}
	if sess.PaymentIntent == nil || sess.PaymentIntent.ID == "" {
		return nil, fmt.Errorf("stripe refund: %w: session %s has no payment", ErrCardRefused, req.CheckoutSessionID)
	}
	params := &stripe.RefundParams{
		PaymentIntent: stripe.String(sess.PaymentIntent.ID),
		Amount:        stripe.Int64(req.Amount),
		Reason:        stripe.String(string(stripe.RefundReasonRequestedByCustomer)),
	}
	params.AddMetadata("checkout_session", req.CheckoutSessionID)
	params.AddMetadata("reason", clipDetail(req.Reason, 400))
	params.Context = ctx
	if req.IdempotencyKey != "" {
		params.SetIdempotencyKey(req.IdempotencyKey)
	}
	r, err := s.api.Refunds.New(params)
	if err != nil {
		return nil, stripeRefundError("refund "+sess.PaymentIntent.ID, err)
	}
	return &CardRefund{ID: r.ID, Status: string(r.Status)}, nil
}

func stripeRefundError(what string, err error) error {
	var se *stripe.Error
	if errors.As(err, &se) && se.HTTPStatusCode >= 400 && se.HTTPStatusCode < 500 &&
		se.HTTPStatusCode != http.StatusConflict && se.HTTPStatusCode != http.StatusTooManyRequests {
		return fmt.Errorf("stripe %s: %w: %v", what, ErrCardRefused, err)
	}
	return fmt.Errorf("stripe %s: %w", what, err)
}
