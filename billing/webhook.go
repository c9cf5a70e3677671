package billing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"traded"
	"traded/pricing"
	"traded/store"
)

// stripeActor is who records what Stripe tells us.
var stripeActor = store.Actor{Name: "stripe"}

// stripeTolerance is how far a signature's time may be from Traded's clock,
// either way. Stripe's default bounds the past; stripe-go does not check the
// future at all, and a signature dated ahead could be replayed until then.
const stripeTolerance = webhook.DefaultTolerance

// errSignedAhead is a signature dated more than stripeTolerance ahead of now.
var errSignedAhead = errors.New("stripe webhook: signature timestamp is in the future")

// HandleStripeWebhook verifies a Stripe event against the endpoint's signing
// secret and applies it exactly once, however often and in whatever order
// Stripe sends it: a paid Checkout Session becomes one card payment on its
// invoice, an expired one marks the attempt failed. It returns EMALFORMED
// for a missing or bad signature, one timed more than 5 minutes before or
// after the database's clock, or an unreadable event, changing nothing.
//
// A paid session is recorded only if Traded created it (its ID, or before
// Traded stored that, the checkout key in its metadata, is a card_checkouts
// row), it names that checkout's invoice, it is in GBP and it took no more
// than the checkout asked for. Anything else is rejected: the event's outcome
// says "rejected: " and why, a card.payment_rejected audit entry tells
// finance to look at it in Stripe, and no money is recorded. Those, and other
// events it cannot apply (an invoice credited in full), return nil: Stripe
// would otherwise retry them for days to no end.
func (s *Service) HandleStripeWebhook(ctx context.Context, payload []byte, sigHeader, secret string) error {
	if secret == "" {
		// An empty secret would accept a signature anyone can compute.
		return errors.New("stripe webhook: no signing secret configured")
	}
	// stripe-go judges the age by the machine's clock and not the future at
	// all; Traded judges both by its own clock, so tests can pin it.
	err := webhook.ValidatePayloadIgnoringTolerance(payload, sigHeader, secret)
	if err == nil {
		err = checkSignedAt(sigHeader, s.db.Clock.Now())
	}
	if err != nil {
		return traded.Errorf(traded.EMALFORMED, "Invalid Stripe signature.")
	}
	var ev stripe.Event
	switch err := json.Unmarshal(payload, &ev); {
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

// cardCheckout is the Pay by card attempt a Checkout Session came from: what
// Traded asked Stripe for.
type cardCheckout struct {
	id      int64
	invoice string
	amount  pricing.Money
}

// findCardCheckout returns the attempt that made sess, and false when Traded
// made no such session. A row is matched by the session's ID or, while Traded
// has not yet stored the ID (the webhook beat the reply, or the reply was
// lost), by the attempt's idempotency key in the session's metadata: a random
// key only Traded and Stripe know, for which Stripe makes one session.
func findCardCheckout(ctx context.Context, tx *store.Tx, sess *stripe.CheckoutSession) (cardCheckout, bool, error) {
	var c cardCheckout
	var amount int64
	err := tx.QueryRowContext(ctx, `SELECT c.id, COALESCE(i.number, ''), c.amount_pence FROM card_checkouts c
		JOIN invoices i ON i.id = c.invoice_id
		WHERE c.stripe_session = ? OR (c.stripe_session IS NULL AND c.idempotency_key = ?)
		ORDER BY c.stripe_session IS NULL LIMIT 1`, sess.ID, checkoutKey(sess)).Scan(&c.id, &c.invoice, &amount)
	if errors.Is(err, sql.ErrNoRows) {
		return cardCheckout{}, false, nil
	} else if err != nil {
		return cardCheckout{}, false, fmt.Errorf("card payment %s: find checkout: %w", sess.ID, err)
	}
	c.amount = pricing.Money(amount)
	return c, true, nil
}

// recordCardPayment records a paid session as a card payment, once: the
// session's ID is unique among payments, so the completed and
// async_payment_succeeded events of one payment make one payment between them.
// The payment is recorded only against what Traded asked for (see
// HandleStripeWebhook); otherwise the event is rejected for finance.
func (s *Service) recordCardPayment(ctx context.Context, tx *store.Tx, ev *stripe.Event, sess *stripe.CheckoutSession) (string, error) {
	amount := pricing.Money(sess.AmountTotal)
	reject := func(reason string) (string, error) {
		paid := fmt.Sprintf("%d in %q minor units", sess.AmountTotal, clipDetail(string(sess.Currency), 10))
		if sess.Currency == checkoutCurrency {
			paid = amount.String()
		}
		return clipDetail("rejected: "+reason, 200), tx.Audit(ctx, stripeActor, "card.payment_rejected", "stripe_session", sess.ID,
			fmt.Sprintf("%s paid by card (Stripe session %s, event %s) not recorded: %s. Check it in Stripe and refund it there if it was taken.",
				paid, clipDetail(sess.ID, 80), clipDetail(ev.ID, 80), reason))
	}
	co, found, err := findCardCheckout(ctx, tx, sess)
	if err != nil {
		return "", err
	}
	if !found {
		return reject(fmt.Sprintf("Traded started no checkout with this session (the event names invoice %s)", quoteName(sessionInvoice(sess))))
	}
	if other, ok := namesOnly(sess, co.invoice); !ok {
		return reject(fmt.Sprintf("the checkout was for invoice %s, the event names %s", co.invoice, quoteName(other)))
	}
	switch {
	case sess.Currency != checkoutCurrency:
		return reject(fmt.Sprintf("paid in %q, the checkout asked for %s", clipDetail(string(sess.Currency), 10), strings.ToUpper(string(checkoutCurrency))))
	case amount <= 0:
		return "no amount", nil
	case amount > co.amount:
		return reject(fmt.Sprintf("%s is more than the %s the checkout asked for", amount, co.amount))
	}
	var seen int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM payments WHERE stripe_checkout_id = ?`, sess.ID).Scan(&seen); err != nil {
		return "", fmt.Errorf("card payment %s: %w", sess.ID, err)
	}
	outcome := "duplicate"
	if seen == 0 {
		res, err := s.recordPayment(ctx, tx, stripeActor, co.invoice, PaymentInput{Method: MethodCard, Amount: amount,
			ReceivedOn: receivedOn(ev.Created, tx.Now), Reference: sess.ID}, sess.ID, 0)
		switch traded.ErrorCode(err) {
		case "":
			outcome = "recorded"
			if res.Overpaid {
				outcome = "recorded (overpaid)"
			}
		case traded.ENOTFOUND:
			return reject(fmt.Sprintf("invoice %q of the checkout cannot be found", co.invoice))
		case traded.ECONFLICT:
			// Already recorded is caught above; anything else (credited in
			// full, say) is money taken that nothing is owed for.
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM payments WHERE stripe_checkout_id = ?`, sess.ID).Scan(&seen); err != nil {
				return "", fmt.Errorf("card payment %s: %w", sess.ID, err)
			}
			if seen > 0 {
				break
			}
			return "refused", tx.Audit(ctx, stripeActor, "card.payment_refused", "invoice", co.invoice,
				fmt.Sprintf("%s paid by card (%s) not recorded: %s Refund it in Stripe.", amount, sess.ID, traded.ErrorMessage(err)))
		default:
			return "", err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE card_checkouts SET status = 'paid', stripe_session = COALESCE(stripe_session, ?) WHERE id = ?`,
		sess.ID, co.id); err != nil {
		return "", fmt.Errorf("card payment %s: mark checkout paid: %w", sess.ID, err)
	}
	return outcome, nil
}

// sessionInvoice is the invoice number a session's event names.
func sessionInvoice(sess *stripe.CheckoutSession) string {
	if n := sess.Metadata["invoice_number"]; n != "" {
		return n
	}
	return sess.ClientReferenceID
}

// namesOnly reports whether the session names invoice number and no other, in
// both places Traded put it (metadata and client_reference_id); if not, it
// returns the other name ("" when it names none).
func namesOnly(sess *stripe.CheckoutSession, number string) (string, bool) {
	named := false
	for _, n := range []string{sess.Metadata["invoice_number"], sess.ClientReferenceID} {
		if n == "" {
			continue
		}
		if n != number {
			return n, false
		}
		named = true
	}
	return "", named
}

// quoteName is an invoice number an event gave, for an audit entry: quoted
// and clipped, since anything could be there.
func quoteName(n string) string {
	if n == "" {
		return "none"
	}
	return strconv.Quote(clipDetail(n, 40))
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

// checkSignedAt refuses a Stripe-Signature header signed more than
// stripeTolerance before or after now. Its time is the header's last t=, the
// one stripe-go checked the signature with; the header has passed that check,
// so each pair has one "=".
func checkSignedAt(header string, now time.Time) error {
	var at int64
	stamped := false
	for _, pair := range strings.Split(header, ",") {
		if k, v, _ := strings.Cut(pair, "="); k == "t" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return webhook.ErrInvalidHeader
			}
			at, stamped = n, true
		}
	}
	if !stamped {
		return webhook.ErrTooOld // stripe-go signs it as of 1970
	}
	switch d := now.Sub(time.Unix(at, 0)); {
	case d > stripeTolerance:
		return webhook.ErrTooOld
	case d < -stripeTolerance:
		return errSignedAhead
	}
	return nil
}

// RejectedCardEvent is a Stripe event that moved money at Stripe but that
// Traded refused to record (see HandleStripeWebhook): finance checks it in
// Stripe's dashboard and refunds it there if it was paid.
type RejectedCardEvent struct {
	ID         string
	Type       string
	ReceivedAt time.Time
	Reason     string
}

// FindRejectedCardEvents returns the Stripe events refused in the 90 days
// before now, newest first, at most 50.
func (s *Service) FindRejectedCardEvents(ctx context.Context) ([]*RejectedCardEvent, error) {
	since := store.FormatTime(s.db.Now().AddDate(0, 0, -90))
	rows, err := s.db.Read().QueryContext(ctx, `SELECT id, type, received_at, outcome FROM stripe_events
		WHERE outcome LIKE 'rejected:%' AND received_at >= ? ORDER BY received_at DESC, id LIMIT 50`, since)
	if err != nil {
		return nil, fmt.Errorf("rejected card events: %w", err)
	}
	defer rows.Close()
	var out []*RejectedCardEvent
	for rows.Next() {
		var e RejectedCardEvent
		var at string
		if err := rows.Scan(&e.ID, &e.Type, &at, &e.Reason); err != nil {
			return nil, fmt.Errorf("rejected card events: %w", err)
		}
		e.ReceivedAt = store.MustTime(at)
		e.Reason = strings.TrimSpace(strings.TrimPrefix(e.Reason, "rejected:"))
		out = append(out, &e)
	}
	return out, rows.Err()
}
