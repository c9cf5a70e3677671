package billing

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Finance exports are opened in spreadsheets, so each is a header row and
// one row per record, amounts as plain decimals ("1234.50"), dates as
// YYYY-MM-DD and CRLF line endings. Free text that a spreadsheet would take
// for a formula (a customer name or reference starting =, +, - or @) is
// prefixed with an apostrophe, as OWASP advises for CSV injection.

// InvoiceCSVHeader is the header row of ExportInvoicesCSV.
var InvoiceCSVHeader = []string{"number", "issue_date", "due_date", "customer", "urn", "tier", "po_number",
	"net", "vat", "total", "paid", "credited", "balance", "status"}

// CreditNoteCSVHeader is the header row of ExportCreditNotesCSV.
var CreditNoteCSVHeader = []string{"number", "issue_date", "invoice_number", "customer", "urn", "reason", "net", "vat", "total", "created_by"}

// PaymentCSVHeader is the header row of ExportPaymentsCSV.
var PaymentCSVHeader = []string{"id", "received_on", "invoice_number", "customer", "method", "amount", "reference", "recorded_by"}

// exportPage is how many invoices an export reads at a time.
const exportPage = 1000

// ExportInvoicesCSV writes the invoices f selects, in number order, to w;
// f's Limit and Offset are ignored: every match is written. Status is each
// invoice's status today. It returns EINVALID for a bad status filter.
func (s *Service) ExportInvoicesCSV(ctx context.Context, w io.Writer, f InvoiceFilter) error {
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
	cw := newExportWriter(w)
	_ = cw.Write(InvoiceCSVHeader)
	for _, inv := range all {
		_ = cw.Write([]string{inv.Number, inv.IssueDate, inv.DueDate, cell(inv.CustomerName), urn(inv.CustomerURN),
			string(inv.CustomerTier), cell(inv.PONumber), inv.Net.Decimal(), inv.VAT.Decimal(), inv.Total.Decimal(),
			inv.Paid.Decimal(), inv.Credited.Decimal(), inv.Balance().Decimal(), inv.Status(today)})
	}
	return flush(cw, "invoices")
}

// ExportCreditNotesCSV writes every credit note, in number order, to w.
func (s *Service) ExportCreditNotesCSV(ctx context.Context, w io.Writer) error {
	notes, err := s.FindCreditNotes(ctx, 0)
	if err != nil {
		return err
	}
	slices.Reverse(notes)
	cw := newExportWriter(w)
	_ = cw.Write(CreditNoteCSVHeader)
	for _, c := range notes {
		_ = cw.Write([]string{c.Number, c.IssueDate, c.InvoiceNumber, cell(c.Customer), urn(c.CustomerURN), cell(c.Reason),
			c.Net.Decimal(), c.VAT.Decimal(), c.Total.Decimal(), cell(c.CreatedBy)})
	}
	return flush(cw, "credit notes")
}

// ExportPaymentsCSV writes every payment, oldest received first, to w.
func (s *Service) ExportPaymentsCSV(ctx context.Context, w io.Writer) error {
	payments, err := s.FindPayments(ctx, 0)
	if err != nil {
		return err
	}
	slices.Reverse(payments)
	cw := newExportWriter(w)
	_ = cw.Write(PaymentCSVHeader)
	for _, p := range payments {
		_ = cw.Write([]string{strconv.FormatInt(p.ID, 10), p.ReceivedOn, p.InvoiceNumber, cell(p.Customer), p.Method,
			p.Amount.Decimal(), cell(p.Reference), cell(p.RecordedBy)})
	}
	return flush(cw, "payments")
}

// newExportWriter starts an export for people to open: with the UTF-8 byte
// order mark, without which Excel reads the file as Windows-1252 ("Â£",
// broken apostrophes and Welsh letters). The journal CSV, a file the
// finance system imports, has none.
func newExportWriter(w io.Writer) *csv.Writer {
	_, _ = io.WriteString(w, "\ufeff")
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
