package billing

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"traded"
	"traded/pricing"
	"traded/store"
)

// Refund statuses (see migration 0012).
const (
	RefundPending = "pending"
	RefundDone    = "done"
	RefundFailed  = "failed"
)

// Refund is credit paid back to an organisation.
type Refund struct {
	ID             int64
	OrganisationID int64
	Credit         string // the credit's label
	CreditKey      string
	Method         string // bacs or card
	Amount         pricing.Money
	RefundedOn     string
	Reference      string
	Reason         string
	Status         string
	StripeRefundID string
	Failure        string
	CreatedAt      time.Time
	CreatedBy      string
}

// RefundInput is a refund finance asks for.
type RefundInput struct {
	OrganisationID int64 // the account the credit must be on
	Credit         CreditRef
	Method         string        // bacs, or card (a card payment only, back to the card)
	Amount         pricing.Money // 0: all that is left of the credit
	RefundedOn     string        // a BACS refund's payment date; "" means today
	Reference      string        // a BACS refund's payment reference
	Reason         string
	// IdempotencyKey makes a retry of the same request by the same person
	// answer with the first refund (and, for a card refund still waiting
	// on Stripe, ask Stripe again with the same key); the key on another
	// request is EINVALID. "" gives the request a key of its own.
	IdempotencyKey string
	RequestHash    string
}

// RecordRefund pays credit back: out of what is left of one payment or
// credit note. A BACS refund is recorded as done; a card refund is asked of
// the card processor (once per idempotency key) and is done when it agrees,
// failed (the credit back on the account) when it refuses, and pending,
// still holding the credit, when it does not answer: asking again with the
// same key finishes it. It returns ENOTFOUND for an unknown credit,
// EINVALID for a bad amount, method, date or reason, and ECONFLICT when
// card refunds are off or the credit has nothing left.
func (s *Service) RecordRefund(ctx context.Context, actor store.Actor, in RefundInput) (*Refund, error) {
	in.Reason, in.Reference = strings.TrimSpace(in.Reason), strings.TrimSpace(in.Reference)
	switch {
	case in.Method != MethodBACS && in.Method != MethodCard:
		return nil, traded.FieldErrorf("method", "Choose how the refund is paid: bacs or card.")
	case in.Amount < 0 || in.Amount > pricing.MaxAmount:
		return nil, traded.FieldErrorf("amount", "Enter an amount between £0.01 and %s, or leave it empty to refund all that is left.", pricing.MaxAmount)
	case in.Reason == "":
		return nil, traded.FieldErrorf("reason", "Say why the money is being refunded.")
	case utf8.RuneCountInString(in.Reason) > 200:
		return nil, traded.FieldErrorf("reason", "A reason has at most 200 characters.")
	case utf8.RuneCountInString(in.Reference) > 200:
		return nil, traded.FieldErrorf("reference", "A reference has at most 200 characters.")
	case len(in.IdempotencyKey) > 200:
		return nil, traded.FieldErrorf("Idempotency-Key", "An Idempotency-Key has at most 200 characters.")
	}
	if in.RefundedOn != "" {
		if _, err := time.Parse(store.DateFormat, in.RefundedOn); err != nil {
			return nil, traded.FieldErrorf("refunded_on", "Enter the date refunded as YYYY-MM-DD.")
		}
		if in.RefundedOn > s.Today() {
			return nil, traded.FieldErrorf("refunded_on", "The date refunded cannot be in the future.")
		}
	}
	var cards CardRefunds
	if in.Method == MethodCard {
		var ok bool
		if cards, ok = s.card.(CardRefunds); !ok || s.card == nil {
			return nil, traded.Errorf(traded.ECONFLICT, "Card refunds are not available: refund by BACS instead.")
		}
		in.RefundedOn = "" // a card refund happens today
	}
	key := actor.Label() + " " + in.IdempotencyKey
	if in.IdempotencyKey == "" {
		key = actor.Label() + " refund-" + rand.Text()
	}
	var r *Refund
	var session string
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var hash string
		var err error
		switch err = tx.QueryRowContext(ctx, `SELECT request_hash FROM refunds WHERE idempotency_key = ?`, key).Scan(&hash); {
		case err == nil:
			if hash != in.RequestHash {
				return traded.FieldErrorf("Idempotency-Key", "This Idempotency-Key was used for a different refund: use a new key.")
			}
			refunds, err := findRefunds(ctx, tx, `r.idempotency_key = ?`, key)
			if err != nil {
				return err
			}
			r = refunds[0]
			if r.Status == RefundPending {
				session, err = refundSession(ctx, tx, r.ID)
			}
			return err
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("refund: %w", err)
		}
		c, err := findCredit(ctx, tx, in.Credit)
		if err != nil {
			return err
		}
		if c.organisationID != in.OrganisationID {
			return traded.Errorf(traded.ENOTFOUND, "There is no %s on this account.", in.Credit)
		}
		if in.Method == MethodCard {
			if c.method != MethodCard {
				return traded.FieldErrorf("method", "Only a card payment can be refunded to a card: refund %s by BACS.", in.Credit)
			}
		}
		if c.left() <= 0 {
			return traded.Errorf(traded.ECONFLICT, "Nothing is left of %s to refund.", in.Credit)
		}
		amount := in.Amount
		if amount == 0 {
			amount = c.left()
		}
		if amount > c.left() {
			return traded.FieldErrorf("amount", "Only %s is left of %s to refund.", c.left(), in.Credit)
		}
		on := in.RefundedOn
		if on == "" {
			on = tx.Now.In(traded.London).Format(store.DateFormat)
		}
		status := RefundDone
		if in.Method == MethodCard {
			status = RefundPending
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO refunds (organisation_id, `+c.column()+`, method, amount_pence, refunded_on, reference,
			reason, status, idempotency_key, request_hash, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.organisationID, c.id, in.Method, int64(amount), on, in.Reference, in.Reason, status, key, in.RequestHash,
			store.FormatTime(tx.Now), actor.Label())
		if err != nil {
			return fmt.Errorf("refund: %w", err)
		}
		id, _ := res.LastInsertId()
		if in.Method == MethodCard {
			if session, err = refundSession(ctx, tx, id); err != nil {
				return err
			}
		}
		if err := tx.Audit(ctx, actor, "ledger.refund", "organisation", strconv.FormatInt(c.organisationID, 10),
			fmt.Sprintf("refund %d: %s of %s by %s (%s): %s", id, amount, in.Credit, in.Method, status, in.Reason)); err != nil {
			return err
		}
		refunds, err := findRefunds(ctx, tx, `r.id = ?`, id)
		if err != nil {
			return err
		}
		r = refunds[0]
		return nil
	})
	if err != nil {
		return r, err
	}
	switch r.Status {
	case RefundFailed:
		return r, traded.Errorf(traded.ECONFLICT, "The card refund was refused, so nothing was refunded and the credit is back on the account: %s", r.Failure)
	case RefundDone:
		return r, nil
	}

	// A card refund: the one network call, outside any transaction, then
	// what came back, kept even if the caller has gone.
	cr, cerr := cards.RefundCard(ctx, CardRefundRequest{CheckoutSessionID: session, Amount: int64(r.Amount), Reason: r.Reason,
		IdempotencyKey: fmt.Sprintf("traded-refund-%d", r.ID)})
	if cerr != nil && !errors.Is(cerr, ErrCardRefused) {
		return r, fmt.Errorf("card refund %d is waiting: the card processor did not answer (ask again to finish it): %w", r.ID, cerr)
	}
	wctx := context.WithoutCancel(ctx)
	err = s.db.Write(wctx, func(tx *store.Tx) error {
		var err error
		if cerr != nil {
			_, err = tx.ExecContext(wctx, `UPDATE refunds SET status = 'failed', failure = ? WHERE id = ? AND status = 'pending'`,
				clipDetail(cerr.Error(), 300), r.ID)
		} else {
			_, err = tx.ExecContext(wctx, `UPDATE refunds SET status = 'done', stripe_refund_id = ? WHERE id = ? AND status = 'pending'`,
				cr.ID, r.ID)
		}
		if err != nil {
			return fmt.Errorf("card refund %d: %w", r.ID, err)
		}
		outcome := "done " + clipDetail(func() string {
			if cr != nil {
				return cr.ID
			}
			return ""
		}(), 60)
		if cerr != nil {
			outcome = "failed: " + clipDetail(cerr.Error(), 300)
		}
		return tx.Audit(wctx, actor, "ledger.card_refund", "organisation", strconv.FormatInt(r.OrganisationID, 10),
			fmt.Sprintf("refund %d: %s", r.ID, outcome))
	})
	if err != nil {
		return r, err
	}
	refunds, err := findRefunds(wctx, s.db.Read(), `r.id = ?`, r.ID)
	if err != nil {
		return nil, err
	}
	if r = refunds[0]; r.Status == RefundFailed {
		return r, traded.Errorf(traded.ECONFLICT, "The card refund was refused, so nothing was refunded and the credit is back on the account: %s", r.Failure)
	}
	return r, nil
}

// refundSession returns the Checkout Session that took the payment a card
// refund pays back.
func refundSession(ctx context.Context, q queryer, refundID int64) (string, error) {
	var session sql.NullString
	err := q.QueryRowContext(ctx, `SELECT p.stripe_checkout_id FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE r.id = ?`,
		refundID).Scan(&session)
	if err != nil {
		return "", fmt.Errorf("card refund %d: %w", refundID, err)
	}
	if !session.Valid {
		return "", traded.FieldErrorf("method", "That card payment has no Stripe session to refund through: refund it by BACS.")
	}
	return session.String, nil
}

// findRefunds returns refunds matching where (over refunds r), newest first.
func findRefunds(ctx context.Context, q queryer, where string, arg any) ([]*Refund, error) {
	rows, err := q.QueryContext(ctx, `SELECT r.id, r.organisation_id, COALESCE(r.payment_id, 0), COALESCE(p.method, ''), COALESCE(c.number, ''),
			r.method, r.amount_pence, r.refunded_on, r.reference, r.reason, r.status, COALESCE(r.stripe_refund_id, ''), r.failure,
			r.created_at, r.created_by
		FROM refunds r LEFT JOIN payments p ON p.id = r.payment_id LEFT JOIN credit_notes c ON c.id = r.credit_note_id
		WHERE `+where+` ORDER BY r.id DESC`, arg)
	if err != nil {
		return nil, fmt.Errorf("find refunds: %w", err)
	}
	defer rows.Close()
	var out []*Refund
	for rows.Next() {
		var r Refund
		var c Credit
		var amount int64
		var at string
		if err := rows.Scan(&r.ID, &r.OrganisationID, &c.Ref.PaymentID, &c.Method, &c.Ref.CreditNote, &r.Method, &amount, &r.RefundedOn,
			&r.Reference, &r.Reason, &r.Status, &r.StripeRefundID, &r.Failure, &at, &r.CreatedBy); err != nil {
			return nil, fmt.Errorf("find refunds: %w", err)
		}
		r.Credit, r.CreditKey, r.Amount, r.CreatedAt = c.Label(), c.Key(), pricing.Money(amount), store.MustTime(at)
		out = append(out, &r)
	}
	return out, rows.Err()
}
