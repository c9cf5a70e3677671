package billing

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"traded"
	"traded/store"
)

// checkoutReuse is how long an open Checkout Session is offered again to a
// payer who comes back to the same invoice, rather than making a second one
// they could also pay. Stripe expires a session after 24 hours.
const checkoutReuse = 12 * time.Hour

// StartCardPayment starts paying an invoice's balance by card and returns
// the card processor's page to send the payer to. The amount is what the
// database says is owed now, never what a browser says. It returns ECONFLICT
// when card payment is off, or the invoice is settled by journal, already
// paid or credited in full, or not issued; and ENOTFOUND for an unknown
// invoice. A failure of the card processor is an internal error.
func (s *Service) StartCardPayment(ctx context.Context, actor store.Actor, number string, successURL, cancelURL, email string) (string, error) {
	if s.card == nil {
		return "", traded.Errorf(traded.ECONFLICT, "Card payment is not available.")
	}
	if successURL == "" || cancelURL == "" {
		return "", errors.New("start card payment: success and cancel URLs are required")
	}
	number = strings.ToUpper(strings.TrimSpace(number))
	email = strings.TrimSpace(email)
	if !strings.Contains(email, "@") || len(email) > 254 {
		email = "" // Stripe refuses a bad address; the payer types theirs instead
	}

	// (a) Record the attempt, with its idempotency key, before calling out:
	// a retry after a crash reuses nothing and a payment always has a row.
	var req CheckoutRequest
	var rowID int64
	var reuse string
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		inv, err := findInvoice(ctx, tx, `i.number = ?`, number)
		if err != nil {
			return err
		}
		if err := cardPayable(inv); err != nil {
			return err
		}
		balance := inv.Balance()
		err = tx.QueryRowContext(ctx, `SELECT url FROM card_checkouts WHERE invoice_id = ? AND status = 'open' AND amount_pence = ?
			AND url <> '' AND created_at > ? ORDER BY id DESC LIMIT 1`,
			inv.ID, int64(balance), store.FormatTime(tx.Now.Add(-checkoutReuse))).Scan(&reuse)
		if err == nil {
			return nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("start card payment for %s: %w", number, err)
		}
		key := "checkout-" + inv.Number + "-" + rand.Text()
		res, err := tx.ExecContext(ctx, `INSERT INTO card_checkouts (invoice_id, idempotency_key, amount_pence, status, created_at, created_by)
			VALUES (?, ?, ?, 'creating', ?, ?)`, inv.ID, key, int64(balance), store.FormatTime(tx.Now), actor.Label())
		if err != nil {
			return fmt.Errorf("start card payment for %s: %w", number, err)
		}
		rowID, _ = res.LastInsertId()
		req = CheckoutRequest{
			InvoiceNumber:  inv.Number,
			Amount:         int64(balance),
			Description:    fmt.Sprintf("%s invoice %s (%s)", inv.SupplierName, inv.Number, inv.CustomerName),
			CustomerEmail:  email,
			SuccessURL:     successURL,
			CancelURL:      cancelURL,
			IdempotencyKey: key,
		}
		return tx.Audit(ctx, actor, "card.checkout_start", "invoice", inv.Number, fmt.Sprintf("checkout %d for %s", rowID, balance))
	})
	if err != nil {
		return "", err
	}
	if reuse != "" {
		return reuse, nil
	}

	// (b) Outside any transaction: the one network call.
	co, cerr := s.card.CreateCheckout(ctx, req)

	// (c) Keep what came back even if the payer has gone: the session can
	// still be paid, and the webhook will want the row.
	wctx := context.WithoutCancel(ctx)
	err = s.db.Write(wctx, func(tx *store.Tx) error {
		if cerr != nil {
			if _, err := tx.ExecContext(wctx, `UPDATE card_checkouts SET status = 'failed' WHERE id = ? AND status = 'creating'`, rowID); err != nil {
				return err
			}
			return tx.Audit(wctx, actor, "card.checkout_failed", "invoice", req.InvoiceNumber, fmt.Sprintf("checkout %d: %s", rowID, clipDetail(cerr.Error(), 300)))
		}
		// The webhook may have got here first (it matches on the key), so
		// a 'paid' row stays paid.
		_, err := tx.ExecContext(wctx, `UPDATE card_checkouts SET stripe_session = ?, url = ?,
			status = CASE status WHEN 'creating' THEN 'open' ELSE status END WHERE id = ?`, co.SessionID, co.URL, rowID)
		return err
	})
	if cerr != nil {
		return "", fmt.Errorf("start card payment for %s: %w", req.InvoiceNumber, cerr)
	}
	if err != nil {
		return "", fmt.Errorf("start card payment for %s: store checkout %d: %w", req.InvoiceNumber, rowID, err)
	}
	return co.URL, nil
}

// cardPayable returns ECONFLICT, with the reason, unless inv can be paid by card.
func cardPayable(inv *Invoice) error {
	switch {
	case inv.Stored != StatusIssued:
		return traded.Errorf(traded.ECONFLICT, "Invoice %s has not been issued yet, so it cannot be paid.", inv.Number)
	case inv.Settlement == "journal":
		return traded.Errorf(traded.ECONFLICT, "Invoice %s is settled by journal transfer from your school's budget: there is nothing to pay by card.", inv.Number)
	case inv.FullyCredited():
		return traded.Errorf(traded.ECONFLICT, "Invoice %s has been credited in full: nothing is owed.", inv.Number)
	case inv.Balance() <= 0:
		return traded.Errorf(traded.ECONFLICT, "Invoice %s has already been paid.", inv.Number)
	}
	return nil
}

// clipDetail shortens s to at most n bytes, for audit details.
func clipDetail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}
