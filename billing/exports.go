package billing

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"traded"
	"traded/pricing"
	"traded/store"
)

// Finance exports are opened in spreadsheets and imported by the council's
// finance system, so each is a header row and one row per record, amounts
// as plain decimals ("1234.50"), dates as YYYY-MM-DD (London), CRLF line
// endings and, unless asked otherwise, the UTF-8 byte order mark. Free text
// that a spreadsheet would take for a formula (a customer name or reference
// starting =, +, - or @) is prefixed with an apostrophe, as OWASP advises
// for CSV injection. Every export takes a period of days, both ends
// included: invoices by issue date, credit notes by issue date, payments by
// the day received, allocations by the day made, refunds by the day paid.

// Export is one of the finance exports.
type Export struct {
	Name        string // in the URL: /finance/exports/{name}.csv
	Title       string
	Description string
}

// Exports lists the finance exports in the order the exports page shows them.
var Exports = []Export{
	{"invoices", "Invoices", "One row per issued invoice: totals, what is paid and credited, the balance and status today."},
	{"invoice-lines", "Invoice lines", "One row per invoice line, with its income code, VAT code and the customer's cost centre."},
	{"credit-notes", "Credit notes", "One row per credit note, with its totals and reason."},
	{"credit-note-lines", "Credit note lines", "One row per credit note line, with the codes of the invoice line it takes back."},
	{"payments", "Payments", "One row per payment received, by BACS, card or internal journal."},
	{"allocations", "Allocations", "Every payment or credit note set against an invoice; a reversal is a row with the opposite amount."},
	{"refunds", "Refunds", "Credit paid back to customers, with its status (a card refund waits for the card processor)."},
	{"vat-summary", "VAT summary", "Net and VAT by month and VAT code, invoices less credit notes, for the VAT return."},
	{"ledger-journal", "Ledger journal", "A balanced double-entry journal (debtors, income, VAT, bank) for the finance ledger to import."},
}

// FindExport returns the export with the name, or ENOTFOUND naming them all.
func FindExport(name string) (Export, error) {
	for _, e := range Exports {
		if e.Name == name {
			return e, nil
		}
	}
	names := make([]string, len(Exports))
	for i, e := range Exports {
		names[i] = e.Name
	}
	return Export{}, traded.Errorf(traded.ENOTFOUND, "There is no export %q: choose %s.", name, strings.Join(names, ", "))
}

// ExportOptions are what an export request may set besides its period.
type ExportOptions struct {
	Status string // invoices: only those in this status today
	NoBOM  bool   // leave out the byte order mark (for an import that does not expect one)
}

// WriteExport writes the export named name for the period to w. It returns
// ENOTFOUND for an unknown export and EINVALID for a bad option.
func (s *Service) WriteExport(ctx context.Context, w io.Writer, name string, p Period, opt ExportOptions) error {
	if _, err := FindExport(name); err != nil {
		return err
	}
	cw := newCSV(w, !opt.NoBOM)
	var err error
	switch name {
	case "invoices":
		err = s.exportInvoices(ctx, cw, InvoiceFilter{Status: opt.Status, From: p.From, To: p.To})
	case "invoice-lines":
		err = s.exportInvoiceLines(ctx, cw, p)
	case "credit-notes":
		err = s.exportCreditNotes(ctx, cw, p)
	case "credit-note-lines":
		err = s.exportCreditNoteLines(ctx, cw, p)
	case "payments":
		err = s.exportPayments(ctx, cw, p)
	case "allocations":
		err = s.exportAllocations(ctx, cw, p)
	case "refunds":
		err = s.exportRefunds(ctx, cw, p)
	case "vat-summary":
		err = s.exportVATSummary(ctx, cw, p)
	case "ledger-journal":
		err = s.exportLedgerJournal(ctx, cw, p)
	}
	if err != nil {
		return err
	}
	return flush(cw, name)
}

// ParsePeriod reads an export's period: from and to are each a day
// (YYYY-MM-DD), a month (YYYY-MM: its first or last day) or "" (open). It
// returns EINVALID on the field that is wrong.
func ParsePeriod(from, to string) (Period, error) {
	var p Period
	var err error
	if from = strings.TrimSpace(from); from != "" {
		if p.From, err = parsePeriodBound(from, false); err != nil {
			return Period{}, traded.FieldErrorf("from", "Enter the first day as YYYY-MM-DD (or a month as YYYY-MM).")
		}
	}
	if to = strings.TrimSpace(to); to != "" {
		if p.To, err = parsePeriodBound(to, true); err != nil {
			return Period{}, traded.FieldErrorf("to", "Enter the last day as YYYY-MM-DD (or a month as YYYY-MM).")
		}
	}
	if p.From != "" && p.To != "" && p.To < p.From {
		return Period{}, traded.FieldErrorf("to", "The period ends before it starts.")
	}
	return p, nil
}

// days is the period as bounds for a date column: open ends cover every day.
func (p Period) days() (string, string) {
	from, to := p.From, p.To
	if from == "" {
		from = "0000-01-01"
	}
	if to == "" {
		to = "9999-12-31"
	}
	return from, to
}

// instants is the period as bounds for a stored timestamp: from the start
// of its first London day to the end of its last.
func (p Period) instants() (string, string) {
	from, to := "", "9999"
	if p.From != "" {
		d, _ := time.Parse(store.DateFormat, p.From)
		from = store.FormatTime(time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, traded.London))
	}
	if p.To != "" {
		d, _ := time.Parse(store.DateFormat, p.To)
		to = endOfLondonDay(d)
	}
	return from, to
}

// String names the period in a file name: "2026-04-01_to_2027-03-31",
// "from_2026-04-01", "all".
func (p Period) String() string {
	switch {
	case p.From == "" && p.To == "":
		return "all"
	case p.From == p.To:
		return p.From
	case p.To == "":
		return "from_" + p.From
	case p.From == "":
		return "to_" + p.To
	}
	return p.From + "_to_" + p.To
}

// InvoiceCSVHeader is the header row of the invoices export.
var InvoiceCSVHeader = []string{"number", "issue_date", "due_date", "customer", "urn", "tier", "po_number",
	"net", "vat", "total", "paid", "credited", "balance", "status", "cost_centre"}

// InvoiceLineCSVHeader is the header row of the invoice lines export.
var InvoiceLineCSVHeader = []string{"invoice_number", "issue_date", "tax_point", "customer", "urn", "tier", "cost_centre", "po_number",
	"line", "product", "description", "quantity", "unit_price", "net", "vat_treatment", "vat_rate", "vat", "vat_code", "income_code"}

// CreditNoteCSVHeader is the header row of the credit notes export.
var CreditNoteCSVHeader = []string{"number", "issue_date", "invoice_number", "customer", "urn", "reason", "net", "vat", "total", "created_by"}

// CreditNoteLineCSVHeader is the header row of the credit note lines export.
var CreditNoteLineCSVHeader = []string{"credit_note_number", "issue_date", "invoice_number", "customer", "urn", "tier", "cost_centre",
	"invoice_line", "product", "description", "net", "vat_treatment", "vat_rate", "vat", "vat_code", "income_code", "reason"}

// PaymentCSVHeader is the header row of the payments export. invoice_number
// is the invoice the payment quoted, if any; allocated is what of it is set
// against invoices now.
var PaymentCSVHeader = []string{"id", "received_on", "invoice_number", "customer", "method", "amount", "reference", "recorded_by",
	"urn", "allocated"}

// AllocationCSVHeader is the header row of the allocations export.
var AllocationCSVHeader = []string{"id", "date", "customer", "urn", "credit", "invoice_number", "amount", "reverses", "recorded_by"}

// RefundCSVHeader is the header row of the refunds export.
var RefundCSVHeader = []string{"id", "refunded_on", "customer", "urn", "credit", "method", "amount", "status", "reference", "reason",
	"recorded_by"}

// exportPage is how many invoices an export reads at a time.
const exportPage = 1000

// ExportInvoicesCSV writes the invoices f selects, in number order, to w;
// f's Limit and Offset are ignored: every match is written. Status is each
// invoice's status today. It returns EINVALID for a bad status filter.
func (s *Service) ExportInvoicesCSV(ctx context.Context, w io.Writer, f InvoiceFilter) error {
	cw := newCSV(w, true)
	if err := s.exportInvoices(ctx, cw, f); err != nil {
		return err
	}
	return flush(cw, "invoices")
}

func (s *Service) exportInvoices(ctx context.Context, cw *csv.Writer, f InvoiceFilter) error {
	var all []*Invoice
	f.Limit = exportPage
	for f.Offset = 0; ; f.Offset += exportPage {
		page, total, err := s.FindInvoices(ctx, f)
		if err != nil {
			return err
		}
		all = append(all, page...)
		if len(page) < exportPage || f.Offset+len(page) >= total {
			break
		}
	}
	slices.Reverse(all) // FindInvoices gives the newest first
	today := s.Today()
	_ = cw.Write(InvoiceCSVHeader)
	for _, inv := range all {
		if inv.Number == "" {
			continue // a draft is not a document yet
		}
		_ = cw.Write([]string{inv.Number, inv.IssueDate, inv.DueDate, cell(inv.CustomerName), urn(inv.CustomerURN),
			string(inv.CustomerTier), cell(inv.PONumber), inv.Net.Decimal(), inv.VAT.Decimal(), inv.Total.Decimal(),
			inv.Paid.Decimal(), inv.Credited.Decimal(), inv.Balance().Decimal(), inv.Status(today), cell(inv.CostCentre)})
	}
	return nil
}

// exportRows writes the header, then one row per result of query.
func (s *Service) exportRows(ctx context.Context, cw *csv.Writer, header []string, query string, args []any,
	row func(*sql.Rows) ([]string, error)) error {
	_ = cw.Write(header)
	rows, err := s.db.Read().QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		rec, err := row(rows)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		_ = cw.Write(rec)
	}
	return rows.Err()
}

// exportRowsNamed is exportRows for rows that name their organisation as it
// is now: row reads the organisation's id and returns the record given its
// name and URN; the organisations of all rows are looked up at once.
func (s *Service) exportRowsNamed(ctx context.Context, cw *csv.Writer, header []string, query string, args []any,
	row func(*sql.Rows) (int64, func(name string, urn int64) []string, error)) error {
	_ = cw.Write(header)
	rows, err := s.db.Read().QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer rows.Close()
	var ids []int64
	var recs []func(string, int64) []string
	for rows.Next() {
		id, rec, err := row(rows)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		ids, recs = append(ids, id), append(recs, rec)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	orgs, err := s.organisationsOf(ctx, s.db.Read(), ids)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	for i, rec := range recs {
		if o := orgs[ids[i]]; o != nil {
			_ = cw.Write(rec(o.Name, o.URN))
		}
	}
	return nil
}

func (s *Service) exportInvoiceLines(ctx context.Context, cw *csv.Writer, p Period) error {
	from, to := p.days()
	return s.exportRows(ctx, cw, InvoiceLineCSVHeader, `SELECT i.number, i.issue_date, i.tax_point, i.customer_name, i.customer_urn,
			i.customer_tier, i.cost_centre, i.po_number, l.position, l.product_code, l.description, l.quantity, l.unit_pence, l.net_pence,
			l.vat_treatment, l.vat_rate_bp, l.vat_pence, l.vat_code, l.income_code
		FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
		WHERE i.status = 'issued' AND i.issue_date BETWEEN ? AND ? ORDER BY i.seq, l.position`, []any{from, to},
		func(rows *sql.Rows) ([]string, error) {
			var number, issue, taxPoint, customer, tier, cc, po, product, desc, treatment, vatCode, income string
			var urnN, unit, net, rate, vat int64
			var line, qty int
			if err := rows.Scan(&number, &issue, &taxPoint, &customer, &urnN, &tier, &cc, &po, &line, &product, &desc, &qty, &unit, &net,
				&treatment, &rate, &vat, &vatCode, &income); err != nil {
				return nil, err
			}
			return []string{number, issue, taxPoint, cell(customer), urn(urnN), tier, cell(cc), cell(po), strconv.Itoa(line), product,
				cell(desc), strconv.Itoa(qty), pricing.Money(unit).Decimal(), pricing.Money(net).Decimal(), treatment, RatePercent(rate),
				pricing.Money(vat).Decimal(), cell(vatCode), cell(income)}, nil
		})
}

func (s *Service) exportCreditNotes(ctx context.Context, cw *csv.Writer, p Period) error {
	from, to := p.days()
	return s.exportRows(ctx, cw, CreditNoteCSVHeader, `SELECT c.number, c.issue_date, i.number, i.customer_name, i.customer_urn, c.reason,
			c.net_pence, c.vat_pence, c.total_pence, c.created_by
		FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id WHERE c.issue_date BETWEEN ? AND ? ORDER BY c.seq`, []any{from, to},
		func(rows *sql.Rows) ([]string, error) {
			var number, issue, invoice, customer, reason, by string
			var urnN, net, vat, total int64
			if err := rows.Scan(&number, &issue, &invoice, &customer, &urnN, &reason, &net, &vat, &total, &by); err != nil {
				return nil, err
			}
			return []string{number, issue, invoice, cell(customer), urn(urnN), cell(reason), pricing.Money(net).Decimal(),
				pricing.Money(vat).Decimal(), pricing.Money(total).Decimal(), cell(by)}, nil
		})
}

// ExportCreditNotesCSV writes every credit note of the period, in number
// order, to w.
func (s *Service) ExportCreditNotesCSV(ctx context.Context, w io.Writer, p Period) error {
	return s.WriteExport(ctx, w, "credit-notes", p, ExportOptions{})
}

// ExportPaymentsCSV writes every payment received in the period, oldest
// first, to w.
func (s *Service) ExportPaymentsCSV(ctx context.Context, w io.Writer, p Period) error {
	return s.WriteExport(ctx, w, "payments", p, ExportOptions{})
}

func (s *Service) exportCreditNoteLines(ctx context.Context, cw *csv.Writer, p Period) error {
	from, to := p.days()
	return s.exportRows(ctx, cw, CreditNoteLineCSVHeader, `SELECT c.number, c.issue_date, i.number, i.customer_name, i.customer_urn,
			i.customer_tier, i.cost_centre, l.position, l.product_code, cl.description, cl.net_pence, l.vat_treatment, l.vat_rate_bp,
			cl.vat_pence, l.vat_code, l.income_code, c.reason
		FROM credit_note_lines cl JOIN credit_notes c ON c.id = cl.credit_note_id JOIN invoice_lines l ON l.id = cl.invoice_line_id
		JOIN invoices i ON i.id = c.invoice_id
		WHERE c.issue_date BETWEEN ? AND ? ORDER BY c.seq, cl.id`, []any{from, to},
		func(rows *sql.Rows) ([]string, error) {
			var number, issue, invoice, customer, tier, cc, product, desc, treatment, vatCode, income, reason string
			var urnN, net, rate, vat int64
			var line int
			if err := rows.Scan(&number, &issue, &invoice, &customer, &urnN, &tier, &cc, &line, &product, &desc, &net, &treatment, &rate,
				&vat, &vatCode, &income, &reason); err != nil {
				return nil, err
			}
			return []string{number, issue, invoice, cell(customer), urn(urnN), tier, cell(cc), strconv.Itoa(line), product, cell(desc),
				pricing.Money(net).Decimal(), treatment, RatePercent(rate), pricing.Money(vat).Decimal(), cell(vatCode), cell(income),
				cell(reason)}, nil
		})
}

func (s *Service) exportPayments(ctx context.Context, cw *csv.Writer, p Period) error {
	from, to := p.days()
	return s.exportRowsNamed(ctx, cw, PaymentCSVHeader, `SELECT p.id, p.received_on, COALESCE(i.number, ''), p.organisation_id, p.method, p.amount_pence,
			p.reference, p.recorded_by, COALESCE((SELECT SUM(a.amount_pence) FROM allocations a WHERE a.payment_id = p.id), 0)
		FROM payments p LEFT JOIN invoices i ON i.id = p.invoice_id
		WHERE p.received_on BETWEEN ? AND ? ORDER BY p.received_on, p.id`, []any{from, to},
		func(rows *sql.Rows) (int64, func(string, int64) []string, error) {
			var id, org, amount, allocated int64
			var received, invoice, method, ref, by string
			if err := rows.Scan(&id, &received, &invoice, &org, &method, &amount, &ref, &by, &allocated); err != nil {
				return 0, nil, err
			}
			return org, func(customer string, urnN int64) []string {
				return []string{strconv.FormatInt(id, 10), received, invoice, cell(customer), method, pricing.Money(amount).Decimal(),
					cell(ref), cell(by), urn(urnN), pricing.Money(allocated).Decimal()}
			}, nil
		})
}

func (s *Service) exportAllocations(ctx context.Context, cw *csv.Writer, p Period) error {
	from, to := p.instants()
	return s.exportRowsNamed(ctx, cw, AllocationCSVHeader, `SELECT a.id, a.created_at, a.organisation_id, COALESCE(a.payment_id, 0),
			COALESCE(c.number, ''), i.number, a.amount_pence, COALESCE(a.reverses, 0), a.created_by
		FROM allocations a JOIN invoices i ON i.id = a.invoice_id
		LEFT JOIN credit_notes c ON c.id = a.credit_note_id
		WHERE a.created_at >= ? AND a.created_at < ? ORDER BY a.id`, []any{from, to},
		func(rows *sql.Rows) (int64, func(string, int64) []string, error) {
			var id, org, paymentID, amount, reverses int64
			var at, note, invoice, by string
			if err := rows.Scan(&id, &at, &org, &paymentID, &note, &invoice, &amount, &reverses, &by); err != nil {
				return 0, nil, err
			}
			reversed := ""
			if reverses != 0 {
				reversed = strconv.FormatInt(reverses, 10)
			}
			return org, func(customer string, urnN int64) []string {
				return []string{strconv.FormatInt(id, 10), londonDate(at), cell(customer), urn(urnN),
					(&Credit{Ref: CreditRef{PaymentID: paymentID, CreditNote: note}}).Key(), invoice, pricing.Money(amount).Decimal(), reversed, cell(by)}
			}, nil
		})
}

func (s *Service) exportRefunds(ctx context.Context, cw *csv.Writer, p Period) error {
	from, to := p.days()
	return s.exportRowsNamed(ctx, cw, RefundCSVHeader, `SELECT r.id, r.refunded_on, r.organisation_id, COALESCE(r.payment_id, 0), COALESCE(c.number, ''),
			r.method, r.amount_pence, r.status, r.reference, r.reason, r.created_by
		FROM refunds r LEFT JOIN credit_notes c ON c.id = r.credit_note_id
		WHERE r.refunded_on BETWEEN ? AND ? ORDER BY r.refunded_on, r.id`, []any{from, to},
		func(rows *sql.Rows) (int64, func(string, int64) []string, error) {
			var id, org, paymentID, amount int64
			var on, note, method, status, ref, reason, by string
			if err := rows.Scan(&id, &on, &org, &paymentID, &note, &method, &amount, &status, &ref, &reason, &by); err != nil {
				return 0, nil, err
			}
			return org, func(customer string, urnN int64) []string {
				return []string{strconv.FormatInt(id, 10), on, cell(customer), urn(urnN), (&Credit{Ref: CreditRef{PaymentID: paymentID, CreditNote: note}}).Key(),
					method, pricing.Money(amount).Decimal(), status, cell(ref), cell(reason), cell(by)}
			}, nil
		})
}

// londonDate is a stored timestamp's day in London.
func londonDate(stored string) string {
	return store.MustTime(stored).In(traded.London).Format(store.DateFormat)
}

// VATTreatmentLabel is a VAT treatment as people say it.
func VATTreatmentLabel(t string) string {
	switch t {
	case "standard":
		return "Standard rate"
	case "zero":
		return "Zero rate"
	case "exempt":
		return "Exempt"
	case "outside_scope":
		return "Outside the scope of VAT"
	}
	return t
}

// RatePercent is a VAT rate in basis points as a percentage: "20", "17.5".
func RatePercent(bp int64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%d.%02d", bp/100, bp%100), "0"), ".")
}

// newCSV starts an export. With bom, it first writes the UTF-8 byte order
// mark, without which Excel reads the file as Windows-1252 ("Â£", broken
// apostrophes and Welsh letters). The journal batch CSV, a file the
// recharge system imports, has none.
func newCSV(w io.Writer, bom bool) *csv.Writer {
	if bom {
		_, _ = io.WriteString(w, "\ufeff")
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	return cw
}

func flush(cw *csv.Writer, what string) error {
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("export %s: %w", what, err)
	}
	return nil
}

func urn(n int64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

// cell makes free text safe to open in a spreadsheet: text a spreadsheet
// would run as a formula gets a leading apostrophe.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
