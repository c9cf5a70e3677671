package billing

import (
	"context"
	"errors"
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

// CardRefundRequest is one refund of a card payment, back to the card.
type CardRefundRequest struct {
	CheckoutSessionID string // the Checkout Session that took the payment
	Amount            int64  // pence
	Reason            string
	IdempotencyKey    string // one per refund, so a retried call refunds once
}

// CardRefund is what the card processor says of a refund.
type CardRefund struct {
	ID     string
	Status string // pending, succeeded, failed, ...
}

// ErrCardRefused wraps a refund the card processor refused outright (an
// error it will give again): the refund failed and its credit comes back.
// Any other error leaves the outcome unknown, and the refund is tried again
// with the same idempotency key.
var ErrCardRefused = errors.New("the card processor refused the refund")

// CardRefunds is the card processor's refunds, where it offers them.
type CardRefunds interface {
	RefundCard(ctx context.Context, req CardRefundRequest) (*CardRefund, error)
}
