package billing

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"traded"
	"traded/pricing"
	"traded/store"
)

// Payment methods.
const (
	MethodBACS    = "bacs"
	MethodJournal = "journal"
	MethodCard    = "card"
)

// Payment is money received against an invoice.
type Payment struct {
	ID            int64
	InvoiceNumber string
	Customer      string
	Method        string
	Amount        pricing.Money
	ReceivedOn    string
	Reference     string
	RecordedAt    time.Time
	RecordedBy    string
}

// PaymentInput is a payment finance records by hand.
type PaymentInput struct {
	Method     string // bacs or journal
	Amount     pricing.Money
	ReceivedOn string // YYYY-MM-DD; "" means today
	Reference  string
	// IdempotencyKey, when set, makes a retry of the same request (same
	// RequestHash) by the same person answer with the first payment
	// instead of recording another; the key on another request is EINVALID.
	IdempotencyKey string
	RequestHash    string
}

// PaymentResult says what recording a payment did.
type PaymentResult struct {
	PaymentID int64
	Balance   pricing.Money // what the invoice still owes
	// OnAccount is what the payment paid beyond what the invoice owed: it
	// is credit on the organisation's account, for finance to allocate to
	// another invoice or refund. Overpaid says it is more than nothing.
	OnAccount pricing.Money
	Overpaid  bool
	// Replayed is set when an Idempotency-Key matched an earlier payment:
	// nothing new was recorded and PaymentID is that payment.
	Replayed bool
}

// RecordPayment records a BACS or journal payment against an issued invoice
// (partial payments allowed; what pays beyond the balance is recorded as
// credit on the account and flagged). It returns ENOTFOUND for an unknown
// invoice, EINVALID for a bad method, amount or date, and ECONFLICT for a
// draft or a fully credited invoice.
func (s *Service) RecordPayment(ctx context.Context, actor store.Actor, number string, in PaymentInput) (*PaymentResult, error) {
	if err := checkPaymentInput(in, s.Today()); err != nil {
		return nil, err
	}
	var res *PaymentResult
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if in.IdempotencyKey != "" {
			var err error
			if res, err = replayPayment(ctx, tx, actor, in); res != nil || err != nil {
				return err
			}
		}
		var err error
		res, err = s.recordPayment(ctx, tx, actor, number, in, "", 0)
		return err
	})
	return res, err
}

// replayPayment returns the payment an earlier request with the same
// Idempotency-Key recorded, with its invoice's balance now; nil when the
// key is new, EINVALID when it was used for a different request.
func replayPayment(ctx context.Context, tx *store.Tx, actor store.Actor, in PaymentInput) (*PaymentResult, error) {
	id, err := replayedPayment(ctx, tx, actor, in)
	if err != nil || id == 0 {
		return nil, err
	}
	var invoiceID sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT invoice_id FROM payments WHERE id = ?`, id).Scan(&invoiceID); err != nil {
		return nil, fmt.Errorf("payment idempotency: %w", err)
	}
	c, err := findCredit(ctx, tx, CreditRef{PaymentID: id})
	if err != nil {
		return nil, err
	}
	res := &PaymentResult{PaymentID: id, OnAccount: c.left(), Overpaid: c.left() > 0, Replayed: true}
	if invoiceID.Valid {
		inv, err := findInvoiceHeader(ctx, tx, `i.id = ?`, invoiceID.Int64)
		if err != nil {
			return nil, err
		}
		res.Balance = inv.Balance()
	}
	return res, nil
}

// recordPayment is RecordPayment inside tx: the payment is allocated to the
// invoice up to what it owes. checkoutID (card) and bankLine (a statement
// line) make the payment unique to its source.
func (s *Service) recordPayment(ctx context.Context, tx *store.Tx, actor store.Actor, number string, in PaymentInput, checkoutID string, bankLine int64) (*PaymentResult, error) {
	// Every path (finance, bank lines, Stripe) is bounded, so sums of
	// payments can never overflow.
	if in.Amount <= 0 || in.Amount > pricing.MaxAmount {
		return nil, traded.FieldErrorf("amount", "A payment must be between £0.01 and %s.", pricing.MaxAmount)
	}
	inv, err := findInvoiceHeader(ctx, tx, `i.number = ?`, strings.ToUpper(strings.TrimSpace(number)))
	if err != nil {
		return nil, err
	}
	if inv.Stored != StatusIssued {
		return nil, traded.Errorf(traded.ECONFLICT, "Invoice %s has not been issued.", number)
	}
	if inv.FullyCredited() {
		return nil, traded.Errorf(traded.ECONFLICT, "Invoice %s has been credited in full: nothing is owed.", inv.Number)
	}
	if in.Method == MethodJournal && inv.Settlement != "journal" {
		return nil, traded.FieldErrorf("method", "Invoice %s is paid by BACS or card: an internal journal settles only maintained schools' invoices.", inv.Number)
	}
	c, err := insertPayment(ctx, tx, actor, inv.OrganisationID, inv.ID, in, checkoutID, bankLine, 0)
	if err != nil {
		return nil, err
	}
	return settleFrom(ctx, tx, actor, c, inv, in)
}

// settleFrom allocates a new payment to the invoice it was received
// against, up to what the invoice owes, audits the payment and says what is
// left on the account.
func settleFrom(ctx context.Context, tx *store.Tx, actor store.Actor, c *credit, inv *Invoice, in PaymentInput) (*PaymentResult, error) {
	if take := min(c.left(), max(inv.Balance(), 0)); take > 0 {
		if err := allocate(ctx, tx, actor, c, inv, take); err != nil {
			return nil, err
		}
		inv.Paid += take
	}
	res := &PaymentResult{PaymentID: c.id, Balance: inv.Balance(), OnAccount: c.left(), Overpaid: c.left() > 0}
	detail := fmt.Sprintf("%s %s received %s ref %q; balance %s", in.Method, in.Amount, in.ReceivedOn, in.Reference, res.Balance)
	if res.Overpaid {
		detail += fmt.Sprintf(" (OVERPAID: %s on account)", res.OnAccount)
	}
	if err := tx.Audit(ctx, actor, "payment.record", "invoice", inv.Number, detail); err != nil {
		return nil, err
	}
	return res, nil
}

// FindPayments returns payments, newest first: of one invoice, or all.
func (s *Service) FindPayments(ctx context.Context, invoiceID int64) ([]*Payment, error) {
	where, args := "1 = 1", []any{}
	if invoiceID != 0 {
		// a payment allocated to the invoice, or received against it
		where, args = "(p.invoice_id = ? OR p.id IN (SELECT payment_id FROM allocations WHERE invoice_id = ?))", append(args, invoiceID, invoiceID)
	}
	rows, err := s.db.Read().QueryContext(ctx, `SELECT p.id, COALESCE(i.number, ''), p.organisation_id, p.method, p.amount_pence, p.received_on,
		p.reference, p.recorded_at, p.recorded_by FROM payments p
		LEFT JOIN invoices i ON i.id = p.invoice_id
		WHERE `+where+` ORDER BY p.received_on DESC, p.id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("find payments: %w", err)
	}
	defer rows.Close()
	var out []*Payment
	var orgIDs []int64
	for rows.Next() {
		var p Payment
		var amount, org int64
		var at string
		if err := rows.Scan(&p.ID, &p.InvoiceNumber, &org, &p.Method, &amount, &p.ReceivedOn, &p.Reference, &at, &p.RecordedBy); err != nil {
			return nil, fmt.Errorf("find payments: %w", err)
		}
		p.Amount, p.RecordedAt = pricing.Money(amount), store.MustTime(at)
		out, orgIDs = append(out, &p), append(orgIDs, org)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find payments: %w", err)
	}
	rows.Close()
	orgs, err := s.organisationsOf(ctx, s.db.Read(), orgIDs)
	if err != nil {
		return nil, fmt.Errorf("find payments: %w", err)
	}
	named := out[:0]
	for i, p := range out {
		if o := orgs[orgIDs[i]]; o != nil {
			p.Customer = o.Name
			named = append(named, p)
		}
	}
	return named, nil
}

// CreditNote is a correction of an issued invoice.
type CreditNote struct {
	ID            int64
	Number        string
	InvoiceID     int64
	InvoiceNumber string
	Customer      string
	CustomerURN   int64
	Reason        string
	IssueDate     string
	Net           pricing.Money
	VAT           pricing.Money
	Total         pricing.Money
	CreatedBy     string
	Lines         []CreditNoteLine
}

// CreditNoteLine is the part of one invoice line a credit note takes back.
type CreditNoteLine struct {
	InvoiceLine int // the line's position on the invoice
	Description string
	Net         pricing.Money
	VAT         pricing.Money
}

// CreditInput says what to credit: whole invoice when Lines and Amount are
// both empty; an amount (gross, including VAT) taken from the lines in
// order; or amounts per line.
type CreditInput struct {
	Reason string
	Amount pricing.Money
	Lines  []CreditLineInput
}

// CreditLineInput credits Amount (gross) of the invoice line at Position;
// zero Amount means all that is left of it.
type CreditLineInput struct {
	Position int
	Amount   pricing.Money
}

// CreateCreditNote issues a credit note against an issued invoice, numbered
// in its own gap-free series. It returns ENOTFOUND for an unknown invoice,
// EINVALID for a missing reason or an amount more than is left to credit,
// and ECONFLICT for a draft or an invoice already credited in full.
func (s *Service) CreateCreditNote(ctx context.Context, actor store.Actor, number string, in CreditInput) (*CreditNote, error) {
	var cn *CreditNote
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		cn, err = s.createCreditNote(ctx, tx, actor, number, in)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.FindCreditNote(ctx, cn.Number)
}

// createCreditNote is CreateCreditNote inside tx.
func (s *Service) createCreditNote(ctx context.Context, tx *store.Tx, actor store.Actor, number string, in CreditInput) (*CreditNote, error) {
	reason, err := traded.CleanText("reason", "reason", in.Reason, 500)
	if err != nil {
		return nil, err
	}
	if reason == "" {
		return nil, traded.FieldErrorf("reason", "Give the reason for the credit note.")
	}
	if in.Amount < 0 {
		return nil, traded.FieldErrorf("amount", "Enter an amount more than £0.00.")
	}
	inv, err := findInvoice(ctx, tx, `i.number = ?`, strings.ToUpper(strings.TrimSpace(number)))
	if err != nil {
		return nil, err
	}
	if inv.Stored != StatusIssued {
		return nil, traded.Errorf(traded.ECONFLICT, "Invoice %s has not been issued.", number)
	}
	if inv.FullyCredited() {
		return nil, traded.Errorf(traded.ECONFLICT, "Invoice %s has already been credited in full.", inv.Number)
	}
	plan, err := planCredit(inv, in)
	if err != nil {
		return nil, err
	}
	var net, vat pricing.Money
	for _, p := range plan {
		net, vat = net+p.net, vat+p.vat
	}
	cnNumber, seq, err := tx.NextNumber(ctx, "credit_note")
	if err != nil {
		return nil, err
	}
	issue := tx.Now.In(traded.London).Format(store.DateFormat)
	res, err := tx.ExecContext(ctx, `INSERT INTO credit_notes (number, seq, invoice_id, reason, issue_date, net_pence, vat_pence, total_pence,
		created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		cnNumber, seq, inv.ID, reason, issue, int64(net), int64(vat), int64(net+vat), store.FormatTime(tx.Now), actor.Label())
	if err != nil {
		return nil, fmt.Errorf("create credit note: %w", err)
	}
	id, _ := res.LastInsertId()
	for _, p := range plan {
		if _, err := tx.ExecContext(ctx, `INSERT INTO credit_note_lines (credit_note_id, invoice_line_id, description, net_pence, vat_pence)
			VALUES (?, ?, ?, ?, ?)`, id, p.line.ID, p.line.Description, int64(p.net), int64(p.vat)); err != nil {
			return nil, fmt.Errorf("create credit note line: %w", err)
		}
	}
	// The credit note pays what is left of its own invoice; what it credits
	// beyond that (the invoice was paid) is credit on the account.
	if take := min(net+vat, max(inv.Balance(), 0)); take > 0 {
		c := &credit{ref: CreditRef{CreditNote: cnNumber}, id: id, organisationID: inv.OrganisationID, amount: net + vat}
		if err := allocate(ctx, tx, actor, c, inv, take); err != nil {
			return nil, err
		}
	}
	if err := tx.Audit(ctx, actor, "credit_note.issue", "invoice", inv.Number,
		fmt.Sprintf("%s for %s: %s", cnNumber, net+vat, reason)); err != nil {
		return nil, err
	}
	cn := &CreditNote{ID: id, Number: cnNumber, InvoiceID: inv.ID, InvoiceNumber: inv.Number, Customer: inv.CustomerName,
		CustomerURN: inv.CustomerURN, Reason: reason, IssueDate: issue, Net: net, VAT: vat, Total: net + vat, CreatedBy: actor.Label()}
	for _, p := range plan {
		cn.Lines = append(cn.Lines, CreditNoteLine{InvoiceLine: p.line.Position, Description: p.line.Description, Net: p.net, VAT: p.vat})
	}
	if err := s.queueCreditNoteMail(ctx, tx, inv, cn); err != nil {
		return nil, err
	}
	return cn, nil
}

type creditPart struct {
	line     *Line
	net, vat pricing.Money
}

// planCredit works out how much of each line a credit takes back, never more
// than is left of a line. A gross amount splits into net and VAT at the
// line's rate, the VAT rounded as on the invoice.
func planCredit(inv *Invoice, in CreditInput) ([]creditPart, error) {
	left := func(l *Line) pricing.Money { return l.Net + l.VAT - l.Credited }
	split := func(l *Line, gross pricing.Money) creditPart {
		if gross == left(l) {
			// The rest of the line: exactly what is left of its net and VAT.
			return creditPart{line: l, net: gross - (l.VAT - l.CreditedVAT), vat: l.VAT - l.CreditedVAT}
		}
		net := gross
		if l.VATRateBP > 0 {
			net = pricing.Money((int64(gross)*10000 + (10000+l.VATRateBP)/2) / (10000 + l.VATRateBP))
		}
		return creditPart{line: l, net: net, vat: gross - net}
	}
	var plan []creditPart
	switch {
	case len(in.Lines) > 0:
		seen := map[int]bool{}
		for _, cl := range in.Lines {
			var l *Line
			for _, x := range inv.Lines {
				if x.Position == cl.Position {
					l = x
				}
			}
			if l == nil {
				return nil, traded.FieldErrorf("lines", "Invoice %s has no line %d.", inv.Number, cl.Position)
			}
			if seen[cl.Position] {
				return nil, traded.FieldErrorf("lines", "Line %d is named twice: name each line once.", cl.Position)
			}
			seen[cl.Position] = true
			amount := cl.Amount
			if amount == 0 {
				amount = left(l)
			}
			if amount <= 0 || amount > left(l) {
				return nil, traded.FieldErrorf("lines", "Line %d has %s left to credit.", l.Position, left(l))
			}
			plan = append(plan, split(l, amount))
		}
	case in.Amount > 0:
		remaining := in.Amount
		var total pricing.Money
		for _, l := range inv.Lines {
			total += left(l)
		}
		if in.Amount > total {
			return nil, traded.FieldErrorf("amount", "Only %s is left to credit on invoice %s.", total, inv.Number)
		}
		for _, l := range inv.Lines {
			if remaining == 0 {
				break
			}
			take := min(remaining, left(l))
			if take > 0 {
				plan = append(plan, split(l, take))
				remaining -= take
			}
		}
	default:
		for _, l := range inv.Lines {
			if left(l) > 0 {
				plan = append(plan, split(l, left(l)))
			}
		}
	}
	if len(plan) == 0 {
		return nil, traded.Errorf(traded.ECONFLICT, "Nothing is left to credit on invoice %s.", inv.Number)
	}
	return plan, nil
}

// FindCreditNote returns a credit note with its lines, or ENOTFOUND.
func (s *Service) FindCreditNote(ctx context.Context, number string) (*CreditNote, error) {
	notes, err := s.findCreditNotes(ctx, `c.number = ?`, strings.ToUpper(strings.TrimSpace(number)))
	if err != nil {
		return nil, err
	}
	if len(notes) == 0 {
		return nil, traded.Errorf(traded.ENOTFOUND, "There is no credit note %s.", number)
	}
	cn := notes[0]
	rows, err := s.db.Read().QueryContext(ctx, `SELECT l.position, c.description, c.net_pence, c.vat_pence FROM credit_note_lines c
		JOIN invoice_lines l ON l.id = c.invoice_line_id WHERE c.credit_note_id = ? ORDER BY c.id`, cn.ID)
	if err != nil {
		return nil, fmt.Errorf("credit note lines: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l CreditNoteLine
		var net, vat int64
		if err := rows.Scan(&l.InvoiceLine, &l.Description, &net, &vat); err != nil {
			return nil, fmt.Errorf("credit note lines: %w", err)
		}
		l.Net, l.VAT = pricing.Money(net), pricing.Money(vat)
		cn.Lines = append(cn.Lines, l)
	}
	return cn, rows.Err()
}

// FindCreditNotes returns the credit notes of one invoice (0: all), newest first.
func (s *Service) FindCreditNotes(ctx context.Context, invoiceID int64) ([]*CreditNote, error) {
	if invoiceID == 0 {
		return s.findCreditNotes(ctx, `1 = ?`, 1)
	}
	return s.findCreditNotes(ctx, `c.invoice_id = ?`, invoiceID)
}

func (s *Service) findCreditNotes(ctx context.Context, where string, arg any) ([]*CreditNote, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT c.id, c.number, c.invoice_id, i.number, i.customer_name, i.customer_urn, c.reason,
		c.issue_date, c.net_pence, c.vat_pence, c.total_pence, c.created_by FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id
		WHERE `+where+` ORDER BY c.seq DESC`, arg)
	if err != nil {
		return nil, fmt.Errorf("find credit notes: %w", err)
	}
	defer rows.Close()
	var out []*CreditNote
	for rows.Next() {
		var c CreditNote
		var net, vat, total int64
		if err := rows.Scan(&c.ID, &c.Number, &c.InvoiceID, &c.InvoiceNumber, &c.Customer, &c.CustomerURN, &c.Reason, &c.IssueDate,
			&net, &vat, &total, &c.CreatedBy); err != nil {
			return nil, fmt.Errorf("find credit notes: %w", err)
		}
		c.Net, c.VAT, c.Total = pricing.Money(net), pricing.Money(vat), pricing.Money(total)
		out = append(out, &c)
	}
	return out, rows.Err()
}
