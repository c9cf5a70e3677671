package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"traded"
	"traded/pricing"
	"traded/store"
)

// The customer ledger (migration 0012). An organisation's account is its
// invoices and refunds (debits) and its payments and credit notes
// (credits). An allocation sets part of one payment or credit note against
// one invoice; what a payment or credit note has neither allocated nor
// refunded is credit on the account, for finance to allocate or refund.
// Nothing here stores a balance: every figure is a sum of those rows, and
// the schema's triggers refuse an allocation or refund beyond what a
// document holds, whatever path wrote it.

// SQL over invoices aliased i: what payments and credit notes have been
// allocated to the invoice, and the credit notes issued against it.
const (
	paidSQL            = `COALESCE((SELECT SUM(a.amount_pence) FROM allocations a WHERE a.invoice_id = i.id AND a.payment_id IS NOT NULL), 0)`
	creditAllocatedSQL = `COALESCE((SELECT SUM(a.amount_pence) FROM allocations a WHERE a.invoice_id = i.id AND a.credit_note_id IS NOT NULL), 0)`
	creditedSQL        = `COALESCE((SELECT SUM(c.total_pence) FROM credit_notes c WHERE c.invoice_id = i.id), 0)`
	// owingSQL is what an issued invoice still owes.
	owingSQL = `(i.total_pence - COALESCE((SELECT SUM(a.amount_pence) FROM allocations a WHERE a.invoice_id = i.id), 0))`
)

// CreditRef names a credit on an account: a payment by its id, or a credit
// note by its number. Exactly one is set.
type CreditRef struct {
	PaymentID  int64
	CreditNote string
}

func (r CreditRef) String() string {
	if r.PaymentID != 0 {
		return "payment " + strconv.FormatInt(r.PaymentID, 10)
	}
	return r.CreditNote
}

// ParseCreditRef reads a credit as pages and the API name it: "payment-12"
// (or "12") for a payment, "CN-000004" for a credit note.
func ParseCreditRef(s string) (CreditRef, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(strings.TrimPrefix(strings.ToLower(s), "payment-"), 10, 64); err == nil && n > 0 {
		return CreditRef{PaymentID: n}, nil
	}
	if u := strings.ToUpper(s); strings.HasPrefix(u, "CN-") && len(u) > 3 {
		return CreditRef{CreditNote: u}, nil
	}
	return CreditRef{}, traded.FieldErrorf("credit", "Name the credit as payment-N or a credit note number such as CN-000004.")
}

// credit is one payment or credit note as the ledger sees it.
type credit struct {
	ref            CreditRef
	id             int64 // the payment's or credit note's id
	organisationID int64
	amount         pricing.Money
	used           pricing.Money // allocated (net of reversals) and refunded (unless failed)
	method         string        // a payment's method; "" for a credit note
}

func (c *credit) left() pricing.Money { return c.amount - c.used }

// column is the allocations/refunds column that names this kind of credit.
func (c *credit) column() string {
	if c.ref.PaymentID != 0 {
		return "payment_id"
	}
	return "credit_note_id"
}

// findCredit reads a credit and how much of it is used, or ENOTFOUND.
func findCredit(ctx context.Context, q queryer, ref CreditRef) (*credit, error) {
	c := &credit{ref: ref}
	var amount, used int64
	var err error
	if ref.PaymentID != 0 {
		err = q.QueryRowContext(ctx, `SELECT p.id, p.organisation_id, p.amount_pence, p.method,
				COALESCE((SELECT SUM(amount_pence) FROM allocations WHERE payment_id = p.id), 0)
				+ COALESCE((SELECT SUM(amount_pence) FROM refunds WHERE payment_id = p.id AND status <> 'failed'), 0)
			FROM payments p WHERE p.id = ?`, ref.PaymentID).Scan(&c.id, &c.organisationID, &amount, &c.method, &used)
	} else {
		err = q.QueryRowContext(ctx, `SELECT c.id, i.organisation_id, c.total_pence,
				COALESCE((SELECT SUM(amount_pence) FROM allocations WHERE credit_note_id = c.id), 0)
				+ COALESCE((SELECT SUM(amount_pence) FROM refunds WHERE credit_note_id = c.id AND status <> 'failed'), 0)
			FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id WHERE c.number = ?`, ref.CreditNote).
			Scan(&c.id, &c.organisationID, &amount, &used)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, traded.Errorf(traded.ENOTFOUND, "There is no %s.", ref)
	} else if err != nil {
		return nil, fmt.Errorf("find %s: %w", ref, err)
	}
	c.amount, c.used = pricing.Money(amount), pricing.Money(used)
	return c, nil
}

// allocate sets amount of credit c against invoice inv, inside tx, and
// audits it. Callers check the amount; the triggers check it again.
func allocate(ctx context.Context, tx *store.Tx, actor store.Actor, c *credit, inv *Invoice, amount pricing.Money) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO allocations (organisation_id, invoice_id, `+c.column()+`, amount_pence, created_at, created_by)
		VALUES (?, ?, ?, ?, ?, ?)`, inv.OrganisationID, inv.ID, c.id, int64(amount), store.FormatTime(tx.Now), actor.Label()); err != nil {
		return fmt.Errorf("allocate %s to %s: %w", c.ref, inv.Number, err)
	}
	c.used += amount
	return tx.Audit(ctx, actor, "ledger.allocate", "invoice", inv.Number, fmt.Sprintf("%s of %s", amount, c.ref))
}

// allocatable returns ECONFLICT unless credit can be allocated to inv.
func allocatable(inv *Invoice) error {
	switch {
	case inv.Stored != StatusIssued:
		return traded.Errorf(traded.ECONFLICT, "Invoice %s has not been issued.", inv.Number)
	case inv.Balance() <= 0:
		return traded.Errorf(traded.ECONFLICT, "Invoice %s owes nothing.", inv.Number)
	}
	return nil
}

// Allocate sets amount (0: as much as both allow) of a credit on
// organisation orgID's account against one of its invoices. It returns
// ENOTFOUND for an unknown credit or invoice, or a credit on another account, EINVALID for an amount more than the
// credit has left or the invoice owes, and ECONFLICT for credits and
// invoices of different organisations or an invoice that owes nothing.
func (s *Service) Allocate(ctx context.Context, actor store.Actor, orgID int64, ref CreditRef, invoiceNumber string, amount pricing.Money) error {
	if amount < 0 || amount > pricing.MaxAmount {
		return traded.FieldErrorf("amount", "Enter an amount between £0.01 and %s, or leave it empty for as much as possible.", pricing.MaxAmount)
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		c, err := findCredit(ctx, tx, ref)
		if err != nil {
			return err
		}
		if c.organisationID != orgID {
			return traded.Errorf(traded.ENOTFOUND, "There is no %s on this account.", ref)
		}
		inv, err := findInvoiceHeader(ctx, tx, `i.number = ?`, normaliseInvoiceNumber(invoiceNumber))
		if err != nil {
			return err
		}
		if inv.OrganisationID != c.organisationID {
			return traded.Errorf(traded.ECONFLICT, "%s and invoice %s are on different organisations' accounts.", ref, inv.Number)
		}
		if err := allocatable(inv); err != nil {
			return err
		}
		if c.left() <= 0 {
			return traded.Errorf(traded.ECONFLICT, "Nothing is left of %s to allocate.", ref)
		}
		if amount == 0 {
			amount = min(c.left(), inv.Balance())
		}
		switch {
		case amount > c.left():
			return traded.FieldErrorf("amount", "Only %s is left of %s.", c.left(), ref)
		case amount > inv.Balance():
			return traded.FieldErrorf("amount", "Invoice %s owes %s.", inv.Number, inv.Balance())
		}
		return allocate(ctx, tx, actor, c, inv, amount)
	})
}

// Unallocate reverses an allocation: the invoice owes that amount again and
// the credit has it back to allocate or refund. It returns ENOTFOUND for an
// unknown allocation (or one on another account than orgID's) and ECONFLICT
// for one already reversed (or a reversal).
func (s *Service) Unallocate(ctx context.Context, actor store.Actor, orgID, allocationID int64) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		var orgIDOf, invoiceID, amount int64
		var paymentID, creditNoteID sql.NullInt64
		var reverses sql.NullInt64
		var reversed bool
		var number string
		err := tx.QueryRowContext(ctx, `SELECT a.organisation_id, a.invoice_id, a.payment_id, a.credit_note_id, a.amount_pence, a.reverses,
				EXISTS (SELECT 1 FROM allocations r WHERE r.reverses = a.id), i.number
			FROM allocations a JOIN invoices i ON i.id = a.invoice_id WHERE a.id = ?`, allocationID).
			Scan(&orgIDOf, &invoiceID, &paymentID, &creditNoteID, &amount, &reverses, &reversed, &number)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && orgID != orgIDOf) {
			return traded.Errorf(traded.ENOTFOUND, "There is no allocation %d on this account.", allocationID)
		} else if err != nil {
			return fmt.Errorf("unallocate %d: %w", allocationID, err)
		}
		if reverses.Valid || reversed {
			return traded.Errorf(traded.ECONFLICT, "Allocation %d has already been reversed.", allocationID)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO allocations (organisation_id, invoice_id, payment_id, credit_note_id, amount_pence,
			reverses, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, orgID, invoiceID, paymentID, creditNoteID, -amount,
			allocationID, store.FormatTime(tx.Now), actor.Label()); err != nil {
			return fmt.Errorf("unallocate %d: %w", allocationID, err)
		}
		return tx.Audit(ctx, actor, "ledger.unallocate", "invoice", number,
			fmt.Sprintf("allocation %d of %s reversed", allocationID, pricing.Money(amount)))
	})
}

// Split is part of a receipt set against one invoice.
type Split struct {
	InvoiceNumber string
	Amount        pricing.Money
}

// ReceiptInput is money received from one organisation, split across its
// invoices; what the splits leave is credit on its account.
type ReceiptInput struct {
	OrganisationID int64
	PaymentInput
	Splits []Split
}

// ReceiptResult says what recording a receipt did.
type ReceiptResult struct {
	PaymentID int64
	Allocated pricing.Money
	OnAccount pricing.Money // left as credit on the account
	Replayed  bool
}

// RecordReceipt records a BACS or journal receipt from an organisation and
// allocates it as the splits say (each invoice once, each at most what it
// owes, together at most the receipt); the rest is credit on the account.
// A journal receipt must be split in full across journal-settled invoices.
// It returns ENOTFOUND for an unknown organisation or invoice, EINVALID for
// bad splits, and ECONFLICT for an invoice that cannot take payment.
func (s *Service) RecordReceipt(ctx context.Context, actor store.Actor, in ReceiptInput) (*ReceiptResult, error) {
	if err := checkPaymentInput(in.PaymentInput, s.Today()); err != nil {
		return nil, err
	}
	if len(in.Splits) > 100 {
		return nil, traded.FieldErrorf("splits", "A receipt is split across at most 100 invoices.")
	}
	var res *ReceiptResult
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if in.IdempotencyKey != "" {
			if id, err := replayedPayment(ctx, tx, actor, in.PaymentInput); err != nil || id != 0 {
				if id != 0 {
					res = &ReceiptResult{PaymentID: id, Replayed: true}
					c, err := findCredit(ctx, tx, CreditRef{PaymentID: id})
					if err != nil {
						return err
					}
					res.Allocated, res.OnAccount = c.used, c.left()
				}
				return err
			}
		}
		var err error
		res, err = s.receipt(ctx, tx, actor, in, 0)
		return err
	})
	return res, err
}

// receipt is RecordReceipt inside tx, for a receipt that may come from a
// bank statement line (bankLine, 0 for none).
func (s *Service) receipt(ctx context.Context, tx *store.Tx, actor store.Actor, in ReceiptInput, bankLine int64) (*ReceiptResult, error) {
	exists, err := s.organisationExists(ctx, tx, in.OrganisationID)
	if err != nil {
		return nil, fmt.Errorf("record receipt: %w", err)
	}
	if !exists {
		return nil, traded.Errorf(traded.ENOTFOUND, "There is no organisation %d.", in.OrganisationID)
	}
	var total pricing.Money
	seen := map[string]bool{}
	invoices := make([]*Invoice, len(in.Splits))
	for k, sp := range in.Splits {
		inv, err := findInvoiceHeader(ctx, tx, `i.number = ?`, normaliseInvoiceNumber(sp.InvoiceNumber))
		if err != nil {
			return nil, err
		}
		switch {
		case inv.OrganisationID != in.OrganisationID:
			return nil, traded.FieldErrorf("splits", "Invoice %s is not on this organisation's account.", inv.Number)
		case seen[inv.Number]:
			return nil, traded.FieldErrorf("splits", "Invoice %s is named twice: name each invoice once.", inv.Number)
		case in.Method == MethodJournal && inv.Settlement != "journal":
			return nil, traded.FieldErrorf("method", "Invoice %s is paid by BACS or card: an internal journal settles only maintained schools' invoices.", inv.Number)
		case sp.Amount <= 0:
			return nil, traded.FieldErrorf("splits", "Enter how much of the receipt pays invoice %s.", inv.Number)
		}
		if err := allocatable(inv); err != nil {
			return nil, err
		}
		if sp.Amount > inv.Balance() {
			return nil, traded.FieldErrorf("splits", "Invoice %s owes %s: split at most that to it.", inv.Number, inv.Balance())
		}
		seen[inv.Number] = true
		invoices[k] = inv
		total += sp.Amount
	}
	if total > in.Amount {
		return nil, traded.FieldErrorf("splits", "The splits add up to %s, more than the %s received.", total, in.Amount)
	}
	if in.Method == MethodJournal && total != in.Amount {
		return nil, traded.FieldErrorf("splits", "A journal settles named invoices: split all %s across them.", in.Amount)
	}
	var quoted int64
	if len(invoices) == 1 {
		quoted = invoices[0].ID
	}
	c, err := insertPayment(ctx, tx, actor, in.OrganisationID, quoted, in.PaymentInput, "", bankLine, 0)
	if err != nil {
		return nil, err
	}
	for k, inv := range invoices {
		if err := allocate(ctx, tx, actor, c, inv, in.Splits[k].Amount); err != nil {
			return nil, err
		}
	}
	res := &ReceiptResult{PaymentID: c.id, Allocated: c.used, OnAccount: c.left()}
	return res, tx.Audit(ctx, actor, "payment.record", "organisation", strconv.FormatInt(in.OrganisationID, 10),
		fmt.Sprintf("%s %s received %s ref %q; %s allocated to %d invoices, %s on account", in.Method, in.Amount, in.ReceivedOn,
			in.Reference, c.used, len(invoices), c.left()))
}

// checkPaymentInput checks what every hand-recorded payment must have.
func checkPaymentInput(in PaymentInput, today string) error {
	if in.Method != MethodBACS && in.Method != MethodJournal {
		return traded.FieldErrorf("method", "Choose how it was paid: bacs or journal.")
	}
	if in.Amount <= 0 {
		return traded.FieldErrorf("amount", "Enter an amount more than £0.00.")
	}
	if in.Amount > pricing.MaxAmount {
		return traded.FieldErrorf("amount", "Enter an amount of at most %s.", pricing.MaxAmount)
	}
	if _, err := traded.CleanLine("reference", "reference", in.Reference, traded.MaxLine); err != nil {
		return err
	}
	if in.ReceivedOn != "" {
		if _, err := time.Parse(store.DateFormat, in.ReceivedOn); err != nil {
			return traded.FieldErrorf("received_on", "Enter the date received as YYYY-MM-DD.")
		}
		if in.ReceivedOn > today {
			return traded.FieldErrorf("received_on", "The date received cannot be in the future.")
		}
	}
	if len(in.Reference) > 200 {
		return traded.FieldErrorf("reference", "A reference has at most 200 characters.")
	}
	if len(in.IdempotencyKey) > 200 {
		return traded.FieldErrorf("Idempotency-Key", "An Idempotency-Key has at most 200 characters.")
	}
	return nil
}

// insertPayment writes a payment row on an organisation's account and
// returns it as a credit with nothing yet allocated. quoted is the invoice
// it was received against (0: none); checkoutID, bankLine and batchID make
// it unique to its source.
func insertPayment(ctx context.Context, tx *store.Tx, actor store.Actor, orgID, quoted int64, in PaymentInput, checkoutID string, bankLine, batchID int64) (*credit, error) {
	if in.Amount <= 0 || in.Amount > pricing.MaxAmount {
		return nil, traded.FieldErrorf("amount", "A payment must be between £0.01 and %s.", pricing.MaxAmount)
	}
	received := in.ReceivedOn
	if received == "" {
		received = tx.Now.In(traded.London).Format(store.DateFormat)
	}
	nullable := func(ok bool, v any) any {
		if ok {
			return v
		}
		return nil
	}
	r, err := tx.ExecContext(ctx, `INSERT INTO payments (organisation_id, invoice_id, method, amount_pence, received_on, reference,
		stripe_checkout_id, bank_line_id, journal_batch_id, recorded_at, recorded_by, idempotency_key, request_hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		orgID, nullable(quoted != 0, quoted), in.Method, int64(in.Amount), received, strings.TrimSpace(in.Reference),
		nullable(checkoutID != "", checkoutID), nullable(bankLine != 0, bankLine), nullable(batchID != 0, batchID),
		store.FormatTime(tx.Now), actor.Label(), nullable(in.IdempotencyKey != "", in.IdempotencyKey), in.RequestHash)
	if store.IsUniqueViolation(err) {
		return nil, traded.Errorf(traded.ECONFLICT, "That payment has already been recorded.")
	} else if err != nil {
		return nil, fmt.Errorf("record payment: %w", err)
	}
	id, _ := r.LastInsertId()
	return &credit{ref: CreditRef{PaymentID: id}, id: id, organisationID: orgID, amount: in.Amount, method: in.Method}, nil
}

// replayedPayment returns the payment an earlier request with the same
// Idempotency-Key recorded (0 when the key is new); EINVALID when the key
// was used for a different request.
func replayedPayment(ctx context.Context, tx *store.Tx, actor store.Actor, in PaymentInput) (int64, error) {
	var id int64
	var hash string
	err := tx.QueryRowContext(ctx, `SELECT id, request_hash FROM payments WHERE recorded_by = ? AND idempotency_key = ?`,
		actor.Label(), in.IdempotencyKey).Scan(&id, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("payment idempotency: %w", err)
	}
	if hash != in.RequestHash {
		return 0, traded.FieldErrorf("Idempotency-Key", "This Idempotency-Key was used for a different payment: use a new key.")
	}
	return id, nil
}

// Credit is a payment or credit note on an account, with what is left of it.
type Credit struct {
	Ref       CreditRef
	Date      string // received, or issued
	Method    string // a payment's method; "" for a credit note
	Reference string // a payment's reference, or a credit note's reason
	Invoice   string // the invoice it was received or issued against, if any
	Amount    pricing.Money
	Allocated pricing.Money
	Refunded  pricing.Money // done or waiting on the card processor
	Left      pricing.Money
}

// Label names the credit for people: "Payment 12 (BACS)" or "CN-000004".
func (c *Credit) Label() string {
	if c.Ref.PaymentID != 0 {
		return fmt.Sprintf("Payment %d (%s)", c.Ref.PaymentID, MethodLabel(c.Method))
	}
	return c.Ref.CreditNote
}

// Key is the credit as forms and the API name it (see ParseCreditRef).
func (c *Credit) Key() string {
	if c.Ref.PaymentID != 0 {
		return "payment-" + strconv.FormatInt(c.Ref.PaymentID, 10)
	}
	return c.Ref.CreditNote
}

// MethodLabel is a payment method as people say it.
func MethodLabel(m string) string {
	switch m {
	case MethodBACS:
		return "BACS"
	case MethodJournal:
		return "Internal journal"
	case MethodCard:
		return "Card"
	}
	return m
}

// Allocation is one row of the ledger's allocations.
type Allocation struct {
	ID        int64
	Invoice   string
	Credit    string // the credit's label
	Amount    pricing.Money
	Reverses  int64 // a reversal names the allocation it undoes
	Reversed  bool  // a later row undid this one
	CreatedAt time.Time
	CreatedBy string
}

// Account is an organisation's ledger: its open invoices, its credits, the
// allocations between them and its refunds, with the figures derived from
// them.
type Account struct {
	OrganisationID int64
	Invoices       []*Invoice // issued invoices that still owe something, oldest due first
	Credits        []*Credit  // every payment and credit note, newest first
	Allocations    []*Allocation
	Refunds        []*Refund
	Owed           pricing.Money // what the open invoices owe
	CreditLeft     pricing.Money // what the credits have neither allocated nor refunded
}

// Net is what the organisation owes once its credit is used: negative when
// it is in credit. It equals everything invoiced and refunded less
// everything paid and credited.
func (a *Account) Net() pricing.Money { return a.Owed - a.CreditLeft }

// FindAccount returns an organisation's ledger. It returns ENOTFOUND for an
// unknown organisation.
func (s *Service) FindAccount(ctx context.Context, orgID int64) (*Account, error) {
	if _, err := s.orgs.FindByID(ctx, orgID); err != nil {
		return nil, err
	}
	tx, err := s.db.Read().BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	a := &Account{OrganisationID: orgID}
	rows, err := tx.QueryContext(ctx, `SELECT `+invoiceColumns+` FROM invoices i
		WHERE i.organisation_id = ? AND i.status = 'issued' AND `+owingSQL+` > 0 ORDER BY i.due_date, i.seq`, orgID)
	if err != nil {
		return nil, fmt.Errorf("account invoices: %w", err)
	}
	for rows.Next() {
		inv, err := scanInvoice(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("account invoices: %w", err)
		}
		a.Invoices, a.Owed = append(a.Invoices, inv), a.Owed+inv.Balance()
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("account invoices: %w", err)
	}
	if a.Credits, err = findCredits(ctx, tx, orgID); err != nil {
		return nil, err
	}
	for _, c := range a.Credits {
		a.CreditLeft += c.Left
	}
	if a.Allocations, err = findAllocations(ctx, tx, orgID); err != nil {
		return nil, err
	}
	if a.Refunds, err = findRefunds(ctx, tx, `r.organisation_id = ?`, orgID); err != nil {
		return nil, err
	}
	return a, nil
}

// findCredits returns an organisation's payments and credit notes, newest first.
func findCredits(ctx context.Context, q queryer, orgID int64) ([]*Credit, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT p.id, '', p.received_on, p.method, p.reference, COALESCE(i.number, ''), p.amount_pence,
			COALESCE((SELECT SUM(amount_pence) FROM allocations WHERE payment_id = p.id), 0),
			COALESCE((SELECT SUM(amount_pence) FROM refunds WHERE payment_id = p.id AND status <> 'failed'), 0), p.recorded_at
		FROM payments p LEFT JOIN invoices i ON i.id = p.invoice_id WHERE p.organisation_id = ?1
		UNION ALL
		SELECT 0, c.number, c.issue_date, '', c.reason, i.number, c.total_pence,
			COALESCE((SELECT SUM(amount_pence) FROM allocations WHERE credit_note_id = c.id), 0),
			COALESCE((SELECT SUM(amount_pence) FROM refunds WHERE credit_note_id = c.id AND status <> 'failed'), 0), c.created_at
		FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id WHERE i.organisation_id = ?1
		ORDER BY 3 DESC, 10 DESC`, orgID)
	if err != nil {
		return nil, fmt.Errorf("account credits: %w", err)
	}
	defer rows.Close()
	var out []*Credit
	for rows.Next() {
		var c Credit
		var amount, allocated, refunded int64
		var at string
		if err := rows.Scan(&c.Ref.PaymentID, &c.Ref.CreditNote, &c.Date, &c.Method, &c.Reference, &c.Invoice, &amount, &allocated,
			&refunded, &at); err != nil {
			return nil, fmt.Errorf("account credits: %w", err)
		}
		c.Amount, c.Allocated, c.Refunded = pricing.Money(amount), pricing.Money(allocated), pricing.Money(refunded)
		c.Left = c.Amount - c.Allocated - c.Refunded
		out = append(out, &c)
	}
	return out, rows.Err()
}

// findAllocations returns an organisation's allocations, newest first.
func findAllocations(ctx context.Context, q queryer, orgID int64) ([]*Allocation, error) {
	rows, err := q.QueryContext(ctx, `SELECT a.id, i.number, COALESCE(a.payment_id, 0), COALESCE(p.method, ''), COALESCE(c.number, ''),
			a.amount_pence, COALESCE(a.reverses, 0), EXISTS (SELECT 1 FROM allocations r WHERE r.reverses = a.id), a.created_at, a.created_by
		FROM allocations a JOIN invoices i ON i.id = a.invoice_id LEFT JOIN payments p ON p.id = a.payment_id
		LEFT JOIN credit_notes c ON c.id = a.credit_note_id
		WHERE a.organisation_id = ? ORDER BY a.id DESC`, orgID)
	if err != nil {
		return nil, fmt.Errorf("account allocations: %w", err)
	}
	defer rows.Close()
	var out []*Allocation
	for rows.Next() {
		var a Allocation
		var c Credit
		var amount int64
		var at string
		if err := rows.Scan(&a.ID, &a.Invoice, &c.Ref.PaymentID, &c.Method, &c.Ref.CreditNote, &amount, &a.Reverses, &a.Reversed, &at,
			&a.CreatedBy); err != nil {
			return nil, fmt.Errorf("account allocations: %w", err)
		}
		a.Credit, a.Amount, a.CreatedAt = c.Label(), pricing.Money(amount), store.MustTime(at)
		out = append(out, &a)
	}
	return out, rows.Err()
}
