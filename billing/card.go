package billing

import (
	"context"
)

// CheckoutRequest is one attempt to take a card payment for an invoice.
// Amount and invoice number always come from the server's own records.
type CheckoutRequest struct {
	InvoiceNumber  string
	Amount         int64 // pence
	Description    string
	CustomerEmail  string
	SuccessURL     string
	CancelURL      string
	IdempotencyKey string // one per attempt, so a retried call makes no second session
}

// Checkout is what the card processor gives back: where to send the payer.
type Checkout struct {
	SessionID string
	URL       string
}

// CardPayments is the card processor as billing needs it. The Stripe
// adapter (stripe.go) implements it; with none configured, card payment is
// off and everything else works.
type CardPayments interface {
	CreateCheckout(ctx context.Context, req CheckoutRequest) (*Checkout, error)
}
