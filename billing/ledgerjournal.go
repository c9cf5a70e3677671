package billing

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"traded"
	"traded/pricing"
)

// The ledger journal is what Traded's documents post to the council's
// general ledger, in double entry: every document's debits equal its
// credits, so the file as a whole balances. Allocations move money between
// documents of one customer inside the sales ledger and post nothing.
//
//	invoice      Dr debtors control (total)  Cr income code per line (net)   Cr VAT output per VAT code (VAT)
//	credit note  Dr income code per line     Dr VAT output per VAT code      Cr debtors control (total)
//	payment      Dr bank (BACS), card clearing (card) or internal recharge at the school's cost centre (journal)
//	             Cr debtors control
//	refund       Dr debtors control          Cr bank (BACS) or card clearing (card); only refunds that are done
//
// Income lines carry the traded service's cost centre; the internal
// recharge line carries the maintained school's cost centre (as on the
// invoice). Codes come from the ledger settings and from each invoice line
// (the codes its product had when the invoice was issued).

// JournalCSVHeader is the header row of the ledger journal export, the
// layout a finance system's journal import maps:
//
//	journal_date   YYYY-MM-DD, the document's date (issue, received, refunded)
//	document_type  invoice, credit_note, payment or refund
//	document       TS-000123, CN-000045, payment-67 or refund-8
//	line           1, 2, ... within the document
//	account        the nominal code
//	cost_centre    the cost centre, or empty for a balance-sheet account
//	vat_code       the VAT code of an income or VAT line, else empty
//	debit, credit  amounts in pounds ("1234.50"); one of them is 0.00
//	description    one line of text
//	customer_urn   the customer's URN (or the council's own number)
//	customer       the customer's name
var JournalCSVHeader = []string{"journal_date", "document_type", "document", "line", "account", "cost_centre", "vat_code",
	"debit", "credit", "description", "customer_urn", "customer"}

// Journal document types.
const (
	DocInvoice    = "invoice"
	DocCreditNote = "credit_note"
	DocPayment    = "payment"
	DocRefund     = "refund"
)

// JournalLine is one line of the ledger journal.
type JournalLine struct {
	Date          string
	DocumentType  string
	Document      string
	Line          int
	Account       string
	CostCentre    string
	VATCode       string
	Debit, Credit pricing.Money
	Description   string
	URN           int64
	Customer      string
}

// journalDoc collects one document's lines.
type journalDoc struct {
	lines          []JournalLine
	debit, credit  pricing.Money
	date, kind, id string
	urn            int64
	customer       string
}

func (d *journalDoc) add(account, costCentre, vatCode string, debit, credit pricing.Money, desc string) {
	if debit == 0 && credit == 0 {
		return
	}
	d.lines = append(d.lines, JournalLine{Date: d.date, DocumentType: d.kind, Document: d.id, Line: len(d.lines) + 1,
		Account: account, CostCentre: costCentre, VATCode: vatCode, Debit: debit, Credit: credit,
		Description: traded.OneLine(desc), URN: d.urn, Customer: d.customer})
	d.debit, d.credit = d.debit+debit, d.credit+credit
}

// vatPart sums one document's VAT by code and rate, in order of appearance.
type vatPart struct {
	code string
	rate int64
	vat  pricing.Money
}

func addVAT(parts []vatPart, code string, rate int64, vat pricing.Money) []vatPart {
	for i := range parts {
		if parts[i].code == code && parts[i].rate == rate {
			parts[i].vat += vat
			return parts
		}
	}
	return append(parts, vatPart{code, rate, vat})
}

// LedgerJournal returns the journal of the documents dated in the period,
// in date order (on one day: invoices, credit notes, payments, refunds). It
// returns an error, and no journal, if any document would not balance.
func (s *Service) LedgerJournal(ctx context.Context, p Period) ([]JournalLine, error) {
	tx, err := s.db.Read().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("ledger journal: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	codes, err := ledgerCodes(ctx, tx)
	if err != nil {
		return nil, err
	}
	from, to := p.days()
	var docs []*journalDoc
	add := func(more []*journalDoc, err error) error {
		docs = append(docs, more...)
		return err
	}
	if err := add(journalInvoices(ctx, tx, codes, from, to)); err != nil {
		return nil, err
	}
	if err := add(journalCreditNotes(ctx, tx, codes, from, to)); err != nil {
		return nil, err
	}
	if err := add(s.journalPayments(ctx, tx, codes, from, to)); err != nil {
		return nil, err
	}
	if err := add(s.journalRefunds(ctx, tx, codes, from, to)); err != nil {
		return nil, err
	}
	rank := map[string]int{DocInvoice: 0, DocCreditNote: 1, DocPayment: 2, DocRefund: 3}
	slices.SortStableFunc(docs, func(a, b *journalDoc) int {
		if c := strings.Compare(a.date, b.date); c != 0 {
			return c
		}
		return rank[a.kind] - rank[b.kind]
	})
	var out []JournalLine
	for _, d := range docs {
		if d.debit != d.credit {
			return nil, fmt.Errorf("ledger journal: %s %s does not balance (debits %s, credits %s)", d.kind, d.id, d.debit, d.credit)
		}
		out = append(out, d.lines...)
	}
	return out, nil
}

func journalInvoices(ctx context.Context, q queryer, codes map[string]string, from, to string) ([]*journalDoc, error) {
	rows, err := q.QueryContext(ctx, `SELECT i.number, i.issue_date, i.customer_urn, i.customer_name, i.total_pence,
			l.description, l.income_code, l.vat_code, l.vat_rate_bp, l.net_pence, l.vat_pence
		FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id
		WHERE i.status = 'issued' AND i.issue_date BETWEEN ? AND ? ORDER BY i.seq, l.position`, from, to)
	if err != nil {
		return nil, fmt.Errorf("ledger journal invoices: %w", err)
	}
	defer rows.Close()
	var docs []*journalDoc
	var d *journalDoc
	var vat []vatPart
	finish := func() {
		if d == nil {
			return
		}
		for _, v := range vat {
			d.add(codes[LedgerVATOutput], "", v.code, 0, v.vat, fmt.Sprintf("VAT at %s%% on %s", RatePercent(v.rate), d.id))
		}
		docs, vat = append(docs, d), nil
	}
	for rows.Next() {
		var number, date, customer, desc, income, vatCode string
		var urnN, total, rate, net, lineVAT int64
		if err := rows.Scan(&number, &date, &urnN, &customer, &total, &desc, &income, &vatCode, &rate, &net, &lineVAT); err != nil {
			return nil, fmt.Errorf("ledger journal invoices: %w", err)
		}
		if d == nil || d.id != number {
			finish()
			d = &journalDoc{date: date, kind: DocInvoice, id: number, urn: urnN, customer: customer}
			d.add(codes[LedgerDebtors], "", "", pricing.Money(total), 0, "Invoice "+number+" to "+customer)
		}
		d.add(income, codes[LedgerIncomeCostCentre], vatCode, 0, pricing.Money(net), desc)
		vat = addVAT(vat, vatCode, rate, pricing.Money(lineVAT))
	}
	finish()
	return docs, rows.Err()
}

func journalCreditNotes(ctx context.Context, q queryer, codes map[string]string, from, to string) ([]*journalDoc, error) {
	rows, err := q.QueryContext(ctx, `SELECT c.number, c.issue_date, i.customer_urn, i.customer_name, c.total_pence, i.number,
			cl.description, l.income_code, l.vat_code, l.vat_rate_bp, cl.net_pence, cl.vat_pence
		FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id JOIN credit_note_lines cl ON cl.credit_note_id = c.id
		JOIN invoice_lines l ON l.id = cl.invoice_line_id
		WHERE c.issue_date BETWEEN ? AND ? ORDER BY c.seq, cl.id`, from, to)
	if err != nil {
		return nil, fmt.Errorf("ledger journal credit notes: %w", err)
	}
	defer rows.Close()
	var docs []*journalDoc
	var d *journalDoc
	var vat []vatPart
	var total pricing.Money
	var invoice string
	finish := func() {
		if d == nil {
			return
		}
		for _, v := range vat {
			d.add(codes[LedgerVATOutput], "", v.code, v.vat, 0, fmt.Sprintf("VAT at %s%% credited on %s", RatePercent(v.rate), d.id))
		}
		d.add(codes[LedgerDebtors], "", "", 0, total, "Credit note "+d.id+" against "+invoice)
		docs, vat = append(docs, d), nil
	}
	for rows.Next() {
		var number, date, customer, inv, desc, income, vatCode string
		var urnN, tot, rate, net, lineVAT int64
		if err := rows.Scan(&number, &date, &urnN, &customer, &tot, &inv, &desc, &income, &vatCode, &rate, &net, &lineVAT); err != nil {
			return nil, fmt.Errorf("ledger journal credit notes: %w", err)
		}
		if d == nil || d.id != number {
			finish()
			d = &journalDoc{date: date, kind: DocCreditNote, id: number, urn: urnN, customer: customer}
			total, invoice = pricing.Money(tot), inv
		}
		d.add(income, codes[LedgerIncomeCostCentre], vatCode, pricing.Money(net), 0, desc)
		vat = addVAT(vat, vatCode, rate, pricing.Money(lineVAT))
	}
	finish()
	return docs, rows.Err()
}

func (s *Service) journalPayments(ctx context.Context, q queryer, codes map[string]string, from, to string) ([]*journalDoc, error) {
	rows, err := q.QueryContext(ctx, `SELECT p.id, p.received_on, p.method, p.amount_pence, p.reference, p.organisation_id,
			COALESCE(i.cost_centre, ''), COALESCE(i.number, '')
		FROM payments p LEFT JOIN invoices i ON i.id = p.invoice_id
		WHERE p.received_on BETWEEN ? AND ? ORDER BY p.received_on, p.id`, from, to)
	if err != nil {
		return nil, fmt.Errorf("ledger journal payments: %w", err)
	}
	defer rows.Close()
	type payment struct {
		id, amount, org                       int64
		date, method, ref, invoiceCC, invoice string
	}
	var found []payment
	var orgIDs []int64
	for rows.Next() {
		var p payment
		if err := rows.Scan(&p.id, &p.date, &p.method, &p.amount, &p.ref, &p.org, &p.invoiceCC, &p.invoice); err != nil {
			return nil, fmt.Errorf("ledger journal payments: %w", err)
		}
		found, orgIDs = append(found, p), append(orgIDs, p.org)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger journal payments: %w", err)
	}
	rows.Close()
	orgs, err := s.organisationsOf(ctx, q, orgIDs)
	if err != nil {
		return nil, fmt.Errorf("ledger journal payments: %w", err)
	}
	var docs []*journalDoc
	for _, p := range found {
		o := orgs[p.org]
		if o == nil {
			continue
		}
		// The invoice's cost centre at issue, else the school's now.
		costCentre := p.invoiceCC
		if costCentre == "" {
			costCentre = o.CostCentre
		}
		id, amount, date, method, ref, invoice := p.id, p.amount, p.date, p.method, p.ref, p.invoice
		d := &journalDoc{date: date, kind: DocPayment, id: "payment-" + strconv.FormatInt(id, 10), urn: o.URN, customer: o.Name}
		desc := strings.TrimSpace(MethodLabel(method) + " receipt " + ref)
		if invoice != "" && !strings.Contains(ref, invoice) {
			desc += " for " + invoice
		}
		account, cc := codes[LedgerBank], ""
		switch method {
		case MethodCard:
			account = codes[LedgerCardClearing]
		case MethodJournal:
			account, cc = codes[LedgerInternalRecharge], costCentre
		}
		d.add(account, cc, "", pricing.Money(amount), 0, desc)
		d.add(codes[LedgerDebtors], "", "", 0, pricing.Money(amount), desc)
		docs = append(docs, d)
	}
	return docs, nil
}

func (s *Service) journalRefunds(ctx context.Context, q queryer, codes map[string]string, from, to string) ([]*journalDoc, error) {
	rows, err := q.QueryContext(ctx, `SELECT r.id, r.refunded_on, r.method, r.amount_pence, r.reason, r.organisation_id
		FROM refunds r
		WHERE r.status = 'done' AND r.refunded_on BETWEEN ? AND ? ORDER BY r.refunded_on, r.id`, from, to)
	if err != nil {
		return nil, fmt.Errorf("ledger journal refunds: %w", err)
	}
	defer rows.Close()
	type refund struct {
		id, amount, org      int64
		date, method, reason string
	}
	var found []refund
	var orgIDs []int64
	for rows.Next() {
		var r refund
		if err := rows.Scan(&r.id, &r.date, &r.method, &r.amount, &r.reason, &r.org); err != nil {
			return nil, fmt.Errorf("ledger journal refunds: %w", err)
		}
		found, orgIDs = append(found, r), append(orgIDs, r.org)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger journal refunds: %w", err)
	}
	rows.Close()
	orgs, err := s.organisationsOf(ctx, q, orgIDs)
	if err != nil {
		return nil, fmt.Errorf("ledger journal refunds: %w", err)
	}
	var docs []*journalDoc
	for _, r := range found {
		o := orgs[r.org]
		if o == nil {
			continue
		}
		d := &journalDoc{date: r.date, kind: DocRefund, id: "refund-" + strconv.FormatInt(r.id, 10), urn: o.URN, customer: o.Name}
		account := codes[LedgerBank]
		if r.method == MethodCard {
			account = codes[LedgerCardClearing]
		}
		desc := MethodLabel(r.method) + " refund: " + r.reason
		d.add(codes[LedgerDebtors], "", "", pricing.Money(r.amount), 0, desc)
		d.add(account, "", "", 0, pricing.Money(r.amount), desc)
		docs = append(docs, d)
	}
	return docs, nil
}

func (s *Service) exportLedgerJournal(ctx context.Context, cw *csv.Writer, p Period) error {
	lines, err := s.LedgerJournal(ctx, p)
	if err != nil {
		return err
	}
	_ = cw.Write(JournalCSVHeader)
	for _, l := range lines {
		_ = cw.Write([]string{l.Date, l.DocumentType, l.Document, strconv.Itoa(l.Line), cell(l.Account), cell(l.CostCentre), cell(l.VATCode),
			l.Debit.Decimal(), l.Credit.Decimal(), cell(l.Description), urn(l.URN), cell(l.Customer)})
	}
	return nil
}

// VATRow is the net and VAT of one month's documents with one VAT code.
type VATRow struct {
	Month       string // YYYY-MM
	VATCode     string
	Treatment   string
	RateBP      int64
	InvoicedNet pricing.Money
	InvoicedVAT pricing.Money
	CreditedNet pricing.Money
	CreditedVAT pricing.Money
}

// Net is the month's sales with the code, less what was credited.
func (r VATRow) Net() pricing.Money { return r.InvoicedNet - r.CreditedNet }

// VAT is the month's output VAT with the code, less what was credited.
func (r VATRow) VAT() pricing.Money { return r.InvoicedVAT - r.CreditedVAT }

// VATSummary is what the VAT return needs from Traded for a period.
type VATSummary struct {
	Period Period
	Rows   []VATRow
	// OutputVAT is box 1 of the VAT return: VAT due on sales, net of credit notes.
	OutputVAT pricing.Money
	// Sales is box 6: sales excluding VAT (standard, zero-rated and
	// exempt; supplies outside the scope of VAT are not reported).
	Sales pricing.Money
}

// VATSummary sums invoice lines by tax point and credit note lines by issue
// date, by month and VAT code, for the days of the period.
func (s *Service) VATSummary(ctx context.Context, p Period) (*VATSummary, error) {
	from, to := p.days()
	rows, err := s.db.Read().QueryContext(ctx, `
		SELECT substr(i.tax_point, 1, 7), l.vat_code, l.vat_treatment, l.vat_rate_bp, SUM(l.net_pence), SUM(l.vat_pence), 0, 0
		FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
		WHERE i.status = 'issued' AND i.tax_point BETWEEN ?1 AND ?2 GROUP BY 1, 2, 3, 4
		UNION ALL
		SELECT substr(c.issue_date, 1, 7), l.vat_code, l.vat_treatment, l.vat_rate_bp, 0, 0, SUM(cl.net_pence), SUM(cl.vat_pence)
		FROM credit_note_lines cl JOIN credit_notes c ON c.id = cl.credit_note_id JOIN invoice_lines l ON l.id = cl.invoice_line_id
		WHERE c.issue_date BETWEEN ?1 AND ?2 GROUP BY 1, 2, 3, 4`, from, to)
	if err != nil {
		return nil, fmt.Errorf("VAT summary: %w", err)
	}
	defer rows.Close()
	sum := &VATSummary{Period: p}
	index := map[VATRow]int{}
	for rows.Next() {
		var r VATRow
		var in, inVAT, cr, crVAT int64
		if err := rows.Scan(&r.Month, &r.VATCode, &r.Treatment, &r.RateBP, &in, &inVAT, &cr, &crVAT); err != nil {
			return nil, fmt.Errorf("VAT summary: %w", err)
		}
		i, ok := index[r]
		if !ok {
			i, index[r] = len(sum.Rows), len(sum.Rows)
			sum.Rows = append(sum.Rows, r)
		}
		row := &sum.Rows[i]
		row.InvoicedNet, row.InvoicedVAT = row.InvoicedNet+pricing.Money(in), row.InvoicedVAT+pricing.Money(inVAT)
		row.CreditedNet, row.CreditedVAT = row.CreditedNet+pricing.Money(cr), row.CreditedVAT+pricing.Money(crVAT)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("VAT summary: %w", err)
	}
	slices.SortFunc(sum.Rows, func(a, b VATRow) int {
		if c := strings.Compare(a.Month, b.Month); c != 0 {
			return c
		}
		if c := strings.Compare(a.VATCode, b.VATCode); c != 0 {
			return c
		}
		if c := strings.Compare(a.Treatment, b.Treatment); c != 0 {
			return c
		}
		return int(a.RateBP - b.RateBP)
	})
	for _, r := range sum.Rows {
		sum.OutputVAT += r.VAT()
		if r.Treatment != "outside_scope" {
			sum.Sales += r.Net()
		}
	}
	return sum, nil
}

// VATCSVHeader is the header row of the VAT summary export.
var VATCSVHeader = []string{"month", "period_start", "period_end", "vat_code", "vat_treatment", "vat_rate", "invoiced_net", "invoiced_vat",
	"credited_net", "credited_vat", "net", "vat"}

func (s *Service) exportVATSummary(ctx context.Context, cw *csv.Writer, p Period) error {
	sum, err := s.VATSummary(ctx, p)
	if err != nil {
		return err
	}
	_ = cw.Write(VATCSVHeader)
	for _, r := range sum.Rows {
		start, _ := parsePeriodBound(r.Month, false)
		end, _ := parsePeriodBound(r.Month, true)
		start = max(start, p.From)
		if p.To != "" {
			end = min(end, p.To)
		}
		_ = cw.Write([]string{r.Month, start, end, cell(r.VATCode), r.Treatment, RatePercent(r.RateBP), r.InvoicedNet.Decimal(),
			r.InvoicedVAT.Decimal(), r.CreditedNet.Decimal(), r.CreditedVAT.Decimal(), r.Net().Decimal(), r.VAT().Decimal()})
	}
	return nil
}
