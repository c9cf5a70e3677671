package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"traded"
	"traded/pricing"
	"traded/store"
)

// stripeActor is who records what Stripe tells us.
var stripeActor = store.Actor{Name: "stripe"}

// HandleStripeWebhook verifies a Stripe event against the endpoint's signing
// secret and applies it exactly once, however often and in whatever order
// Stripe sends it: a paid Checkout Session becomes one card payment on its
// invoice, an expired one marks the attempt failed. It returns EMALFORMED
// for a missing, bad or stale (over 5 minutes) signature or an unreadable
// event, changing nothing. Events it cannot apply (an unknown invoice, one
// credited in full) are recorded with their outcome and audited for finance,
// and return nil: Stripe would otherwise retry them for days to no end.
func (s *Service) HandleStripeWebhook(ctx context.Context, payload []byte, sigHeader, secret string) error {
	if secret == "" {
		// An empty secret would accept a signature anyone can compute.
		return errors.New("stripe webhook: no signing secret configured")
	}
	ev, err := webhook.ConstructEventWithOptions(payload, sigHeader, secret, webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	switch {
	case errors.Is(err, webhook.ErrNotSigned), errors.Is(err, webhook.ErrInvalidHeader),
		errors.Is(err, webhook.ErrNoValidSignature), errors.Is(err, webhook.ErrTooOld):
		return traded.Errorf(traded.EMALFORMED, "Invalid Stripe signature.")
	case err != nil:
		return traded.Errorf(traded.EMALFORMED, "Malformed Stripe event.")
	case ev.ID == "" || ev.Type == "":
		return traded.Errorf(traded.EMALFORMED, "Malformed Stripe event: no id or type.")
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		// The event's row is the lock: a second delivery, even one racing
		// this, finds it (one writer, BEGIN IMMEDIATE) and does nothing.
		_, err := tx.ExecContext(ctx, `INSERT INTO stripe_events (id, type, received_at, outcome) VALUES (?, ?, ?, 'processing')`,
			ev.ID, string(ev.Type), store.FormatTime(tx.Now))
		if store.IsUniqueViolation(err) {
			return nil
		} else if err != nil {
			return err
		}
		outcome, err := s.applyStripeEvent(ctx, tx, &ev)
		if err != nil {
			return err // rolled back with the event's row, so Stripe's retry tries again
		}
		_, err = tx.ExecContext(ctx, `UPDATE stripe_events SET outcome = ? WHERE id = ?`, outcome, ev.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("stripe event %s: %w", ev.ID, err)
	}
	return nil
}

// applyStripeEvent does what one new event asks, inside tx, and returns its
// outcome for stripe_events.
func (s *Service) applyStripeEvent(ctx context.Context, tx *store.Tx, ev *stripe.Event) (string, error) {
	switch ev.Type {
	case stripe.EventTypeCheckoutSessionCompleted, stripe.EventTypeCheckoutSessionAsyncPaymentSucceeded:
		sess, ok := eventSession(ev)
		if !ok {
			return "malformed session", nil
		}
		switch sess.PaymentStatus {
		case stripe.CheckoutSessionPaymentStatusPaid:
			return s.recordCardPayment(ctx, tx, ev, sess)
		case stripe.CheckoutSessionPaymentStatusUnpaid:
			// A delayed method: async_payment_succeeded follows if it clears.
			return "awaiting payment", nil
		}
		return "ignored", nil
	case stripe.EventTypeCheckoutSessionExpired, stripe.EventTypeCheckoutSessionAsyncPaymentFailed:
		sess, ok := eventSession(ev)
		if !ok {
			return "malformed session", nil
		}
		// Events come in any order: a session already paid stays paid.
		res, err := tx.ExecContext(ctx, `UPDATE card_checkouts SET status = 'failed' WHERE status <> 'paid'
			AND (stripe_session = ? OR (stripe_session IS NULL AND idempotency_key = ?))`, sess.ID, checkoutKey(sess))
		if err != nil {
			return "", fmt.Errorf("checkout %s failed: %w", sess.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return "no open checkout", nil
		}
		return "checkout failed", nil
	}
	return "ignored", nil
}

// recordCardPayment records a paid session as a card payment, once: the
// session's ID is unique among payments, so the completed and
// async_payment_succeeded events of one payment make one payment between them.
func (s *Service) recordCardPayment(ctx context.Context, tx *store.Tx, ev *stripe.Event, sess *stripe.CheckoutSession) (string, error) {
	number := sess.Metadata["invoice_number"]
	if number == "" {
		number = sess.ClientReferenceID
	}
	amount := pricing.Money(sess.AmountTotal)
	switch {
	case sess.Currency != stripe.CurrencyGBP:
		return "unexpected currency", tx.Audit(ctx, stripeActor, "card.payment_unmatched", "stripe_session", sess.ID,
			fmt.Sprintf("paid in %q, not GBP, for invoice %q: refund it in Stripe", clipDetail(string(sess.Currency), 10), clipDetail(number, 40)))
	case amount <= 0:
		return "no amount", nil
	case amount > pricing.MaxAmount:
		return "refused", tx.Audit(ctx, stripeActor, "card.payment_refused", "stripe_session", sess.ID,
			fmt.Sprintf("an amount over %s for invoice %q: check and refund it in Stripe", pricing.MaxAmount, clipDetail(number, 40)))
	case number == "":
		return "unknown invoice", tx.Audit(ctx, stripeActor, "card.payment_unmatched", "stripe_session", sess.ID,
			fmt.Sprintf("%s paid with no invoice number: allocate or refund it", amount))
	}
	var seen int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM payments WHERE stripe_checkout_id = ?`, sess.ID).Scan(&seen); err != nil {
		return "", fmt.Errorf("card payment %s: %w", sess.ID, err)
	}
	outcome := "duplicate"
	if seen == 0 {
		res, err := s.recordPayment(ctx, tx, stripeActor, number, PaymentInput{Method: MethodCard, Amount: amount,
			ReceivedOn: receivedOn(ev.Created, tx.Now), Reference: sess.ID}, sess.ID, 0)
		switch traded.ErrorCode(err) {
		case "":
			outcome = "recorded"
			if res.Overpaid {
				outcome = "recorded (overpaid)"
			}
		case traded.ENOTFOUND:
			return "unknown invoice", tx.Audit(ctx, stripeActor, "card.payment_unmatched", "stripe_session", sess.ID,
				fmt.Sprintf("%s paid for unknown invoice %q: allocate or refund it", amount, clipDetail(number, 40)))
		case traded.ECONFLICT:
			// Already recorded is caught above; anything else (credited in
			// full, say) is money taken that nothing is owed for.
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM payments WHERE stripe_checkout_id = ?`, sess.ID).Scan(&seen); err != nil {
				return "", fmt.Errorf("card payment %s: %w", sess.ID, err)
			}
			if seen > 0 {
				break
			}
			return "refused", tx.Audit(ctx, stripeActor, "card.payment_refused", "invoice", number,
				fmt.Sprintf("%s paid by card (%s) not recorded: %s Refund it in Stripe.", amount, sess.ID, traded.ErrorMessage(err)))
		default:
			return "", err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE card_checkouts SET status = 'paid', stripe_session = COALESCE(stripe_session, ?)
		WHERE stripe_session = ? OR (stripe_session IS NULL AND idempotency_key = ?)`, sess.ID, sess.ID, checkoutKey(sess)); err != nil {
		return "", fmt.Errorf("card payment %s: mark checkout paid: %w", sess.ID, err)
	}
	return outcome, nil
}

// eventSession reads the Checkout Session an event carries.
func eventSession(ev *stripe.Event) (*stripe.CheckoutSession, bool) {
	if ev.Data == nil || len(ev.Data.Raw) == 0 {
		return nil, false
	}
	var sess stripe.CheckoutSession
	if err := json.Unmarshal(ev.Data.Raw, &sess); err != nil || sess.ID == "" {
		return nil, false
	}
	return &sess, true
}

// checkoutKey is the card_checkouts key a session was made with, or a value
// no row has.
func checkoutKey(sess *stripe.CheckoutSession) string {
	if k := sess.Metadata["checkout_key"]; k != "" {
		return k
	}
	return "\x00none"
}

// receivedOn is the London date of a payment Stripe says it took at created
// (unix seconds): the event's time is good for the day, no more, and never
// later than now.
func receivedOn(created int64, now time.Time) string {
	t := time.Unix(created, 0)
	if created <= 0 || t.After(now) {
		t = now
	}
	return t.In(traded.London).Format(store.DateFormat)
}
