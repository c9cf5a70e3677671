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
	"traded/organisation"
	"traded/pricing"
	"traded/store"
)

// Invoice statuses. Only draft and issued are stored; the rest follow from
// the payments and credit notes against an issued invoice and its due date.
const (
	StatusDraft    = "draft"
	StatusIssued   = "issued"
	StatusPartPaid = "part_paid"
	StatusPaid     = "paid"
	StatusCredited = "credited"
	StatusOverdue  = "overdue"
)

// Statuses lists them in the order finance pages show them.
var Statuses = []string{StatusDraft, StatusIssued, StatusPartPaid, StatusPaid, StatusCredited, StatusOverdue}

// StatusLabel is a status as people say it.
func StatusLabel(s string) string {
	return map[string]string{StatusDraft: "Draft", StatusIssued: "Issued", StatusPartPaid: "Part paid",
		StatusPaid: "Paid", StatusCredited: "Credited", StatusOverdue: "Overdue"}[s]
}

// Line is one line of an invoice.
type Line struct {
	ID           int64
	Position     int
	ProductCode  string
	Description  string
	Quantity     int
	Unit         pricing.Money
	Net          pricing.Money
	VATTreatment string // exempt, standard, zero, outside_scope
	VATRateBP    int64
	VAT          pricing.Money
	VATNote      string        // why no VAT, on exempt lines
	IncomeCode   string        // the product's income (nominal) code at issue
	VATCode      string        // the product's VAT code at issue
	Credited     pricing.Money // gross credited so far
	CreditedVAT  pricing.Money // the VAT part of Credited
}

// Invoice is a bill to one organisation.
type Invoice struct {
	ID              int64
	Number          string // "" while a draft
	Seq             int64  // the number's place in the series; 0 while a draft
	OrganisationID  int64
	Stored          string // draft or issued
	Source          string
	AcademicYear    string
	PONumber        string
	Settlement      string // journal (maintained schools) or bacs_or_card
	CustomerURN     int64
	CustomerName    string
	CustomerAddress []string
	CustomerTier    pricing.Tier
	CostCentre      string
	SupplierName    string
	SupplierAddress []string
	SupplierVAT     string
	IssueDate       string // YYYY-MM-DD
	TaxPoint        string
	DueDate         string
	Net             pricing.Money
	VAT             pricing.Money
	Total           pricing.Money
	Paid            pricing.Money // payments allocated to it
	CreditAllocated pricing.Money // credit notes' credit allocated to it (its own or others')
	Credited        pricing.Money // credit notes issued against it
	CreatedAt       time.Time
	Lines           []*Line
	LastReminder    time.Time // the last payment reminder sent; FindInvoices fills it
}

// Balance is what is still owed: the total less what has been allocated to
// it. It is never negative: what pays beyond it stays on the account.
func (inv *Invoice) Balance() pricing.Money { return inv.Total - inv.Paid - inv.CreditAllocated }

// DaysOverdue is how many days past its due date the invoice is on the day
// (YYYY-MM-DD), or 0 when it is not overdue then.
func (inv *Invoice) DaysOverdue(today string) int {
	if inv.Status(today) != StatusOverdue {
		return 0
	}
	due, err1 := time.Parse(store.DateFormat, inv.DueDate)
	day, err2 := time.Parse(store.DateFormat, today)
	if err1 != nil || err2 != nil {
		return 0
	}
	return int(day.Sub(due).Hours() / 24)
}

// FullyCredited reports whether credit notes have taken back the whole of a
// non-zero invoice.
func (inv *Invoice) FullyCredited() bool { return inv.Total > 0 && inv.Credited >= inv.Total }

// Status returns the invoice's status on the given day (YYYY-MM-DD).
func (inv *Invoice) Status(today string) string {
	switch {
	case inv.Stored == StatusDraft:
		return StatusDraft
	case inv.FullyCredited():
		return StatusCredited
	case inv.Balance() <= 0:
		return StatusPaid
	case inv.DueDate < today:
		return StatusOverdue
	case inv.Paid > 0:
		return StatusPartPaid
	}
	// A credit note that takes back part of an unpaid invoice lowers what
	// is owed; nothing has been paid, so the invoice is still just issued.
	return StatusIssued
}

// VAT returns the VAT on net at rate (basis points), rounded to the nearest
// penny with half a penny rounded up, as HMRC allows per line.
func VAT(net pricing.Money, rateBP int64) pricing.Money {
	if rateBP == 0 || net == 0 {
		return 0
	}
	v := int64(net) * rateBP
	q := v / 10000
	if r := v % 10000; r*2 >= 10000 {
		q++
	} else if r*2 <= -10000 {
		q--
	}
	return pricing.Money(q)
}

// LineInput is a line to invoice.
type LineInput struct {
	ProductCode string
	Description string
	Quantity    int
	Unit        pricing.Money
}

// InvoiceInput is an order to invoice.
type InvoiceInput struct {
	OrganisationID int64
	Source         string
	AcademicYear   string
	PONumber       string
	Lines          []LineInput
}

// createInvoice writes a draft invoice, with each line's VAT from its
// product's treatment. It returns EINVALID for an order with no lines or a
// line with a bad quantity or unknown product.
func (s *Service) createInvoice(ctx context.Context, tx *store.Tx, in InvoiceInput) (draft, error) {
	if len(in.Lines) == 0 {
		return draft{}, traded.Errorf(traded.EINVALID, "There is nothing to invoice.")
	}
	org, err := s.orgs.ByIDTx(ctx, tx, in.OrganisationID)
	if err != nil {
		return draft{}, err
	}
	settlement := "bacs_or_card"
	if org.Tier == pricing.Maintained {
		settlement = "journal"
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO invoices (organisation_id, source, academic_year, po_number, settlement, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, org.ID, in.Source, in.AcademicYear, strings.TrimSpace(in.PONumber), settlement, store.FormatTime(tx.Now))
	if err != nil {
		return draft{}, fmt.Errorf("create invoice: %w", err)
	}
	d := draft{org: org}
	d.id, _ = res.LastInsertId()
	for i, l := range in.Lines {
		if l.Quantity <= 0 || l.Unit < 0 {
			return draft{}, traded.Errorf(traded.EINVALID, "Line %d has a bad quantity or price.", i+1)
		}
		p, err := s.catalogue.FindProductTx(ctx, tx, l.ProductCode)
		if err != nil {
			return draft{}, err
		}
		rate := p.VATRateBP
		if p.VATTreatment != "standard" {
			rate = 0
		}
		net := l.Unit * pricing.Money(l.Quantity)
		note := ""
		if p.VATTreatment == "exempt" || p.VATTreatment == "outside_scope" {
			note = p.VATNote
		}
		vat := VAT(net, rate)
		if _, err := tx.ExecContext(ctx, `INSERT INTO invoice_lines (invoice_id, position, product_code, description, quantity,
			unit_pence, net_pence, vat_treatment, vat_rate_bp, vat_pence, vat_note, income_code, vat_code)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.id, i+1, l.ProductCode, l.Description, l.Quantity, int64(l.Unit), int64(net), p.VATTreatment, rate, int64(vat), note,
			p.IncomeCode, p.VATCode); err != nil {
			return draft{}, fmt.Errorf("create invoice line: %w", err)
		}
		d.net += net
		d.vat += vat
	}
	return d, nil
}

// draft is an unissued invoice as createInvoice wrote it: its id, its
// customer, and the sums of its lines.
type draft struct {
	id       int64
	org      *organisation.Organisation
	net, vat pricing.Money
}

// issue numbers a draft and freezes it with the customer's and the
// supplier's details as they are today, returning the number.
func (s *Service) issue(ctx context.Context, tx *store.Tx, actor store.Actor, d draft) (string, error) {
	number, seq, err := tx.NextNumber(ctx, "invoice")
	if err != nil {
		return "", err
	}
	org, net, vat := d.org, int64(d.net), int64(d.vat)
	issue := tx.Now.In(traded.London)
	due := issue.AddDate(0, 0, s.cfg.PaymentTermsDays)
	sup := s.cfg.Supplier
	if _, err := tx.ExecContext(ctx, `UPDATE invoices SET number = ?, seq = ?, status = 'issued', customer_urn = ?, customer_name = ?,
		customer_address = ?, customer_tier = ?, cost_centre = ?, supplier_name = ?, supplier_address = ?, supplier_vat = ?,
		issue_date = ?, tax_point = ?, due_date = ?, net_pence = ?, vat_pence = ?, total_pence = ?, issued_at = ? WHERE id = ?`,
		number, seq, org.URN, org.Name, strings.Join(org.AddressLines(), "\n"), string(org.Tier), org.CostCentre,
		sup.Name, strings.Join(sup.Address, "\n"), sup.VATNumber, issue.Format(store.DateFormat), issue.Format(store.DateFormat),
		due.Format(store.DateFormat), net, vat, net+vat, store.FormatTime(tx.Now), d.id); err != nil {
		return "", fmt.Errorf("issue invoice %d: %w", d.id, err)
	}
	if err := tx.Audit(ctx, actor, "invoice.issue", "invoice", number,
		fmt.Sprintf("%s, %s, total %s", org.Name, strconv.FormatInt(org.URN, 10), pricing.Money(net+vat))); err != nil {
		return "", err
	}
	return number, nil
}

// issueNew writes, issues and emails an invoice inside tx: the one way a
// sale becomes a bill. It returns the invoice's id and number.
func (s *Service) issueNew(ctx context.Context, tx *store.Tx, actor store.Actor, in InvoiceInput) (int64, string, error) {
	d, err := s.createInvoice(ctx, tx, in)
	if err != nil {
		return 0, "", err
	}
	number, err := s.issue(ctx, tx, actor, d)
	if err != nil {
		return 0, "", err
	}
	if err := s.queueInvoiceMail(ctx, tx, in.OrganisationID, number); err != nil {
		return 0, "", err
	}
	return d.id, number, nil
}

// CreateInvoice writes, issues and emails an invoice in one transaction,
// returning its number. It returns the errors of the order's validation.
func (s *Service) CreateInvoice(ctx context.Context, actor store.Actor, in InvoiceInput) (string, error) {
	var number string
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		_, number, err = s.issueNew(ctx, tx, actor, in)
		return err
	})
	return number, err
}

const invoiceColumns = `i.id, COALESCE(i.number, ''), i.organisation_id, i.status, i.source, i.academic_year, i.po_number, i.settlement,
	i.customer_urn, i.customer_name, i.customer_address, i.customer_tier, i.cost_centre, i.supplier_name, i.supplier_address,
	i.supplier_vat, i.issue_date, i.tax_point, i.due_date, i.net_pence, i.vat_pence, i.total_pence,
	` + paidSQL + `, ` + creditAllocatedSQL + `, ` + creditedSQL + `, i.created_at, COALESCE(i.seq, 0)`

func scanInvoice(row interface{ Scan(...any) error }) (*Invoice, error) {
	var inv Invoice
	var custAddr, supAddr, tier, created string
	var net, vat, total, paid, creditAllocated, credited int64
	if err := row.Scan(&inv.ID, &inv.Number, &inv.OrganisationID, &inv.Stored, &inv.Source, &inv.AcademicYear, &inv.PONumber,
		&inv.Settlement, &inv.CustomerURN, &inv.CustomerName, &custAddr, &tier, &inv.CostCentre, &inv.SupplierName, &supAddr,
		&inv.SupplierVAT, &inv.IssueDate, &inv.TaxPoint, &inv.DueDate, &net, &vat, &total, &paid, &creditAllocated, &credited, &created, &inv.Seq); err != nil {
		return nil, err
	}
	inv.CustomerAddress, inv.SupplierAddress = splitLines(custAddr), splitLines(supAddr)
	inv.CustomerTier = pricing.Tier(tier)
	inv.Net, inv.VAT, inv.Total = pricing.Money(net), pricing.Money(vat), pricing.Money(total)
	inv.Paid, inv.CreditAllocated, inv.Credited = pricing.Money(paid), pricing.Money(creditAllocated), pricing.Money(credited)
	inv.CreatedAt = store.MustTime(created)
	return &inv, nil
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func findInvoice(ctx context.Context, q queryer, where string, arg any) (*Invoice, error) {
	inv, err := findInvoiceHeader(ctx, q, where, arg)
	if err != nil {
		return nil, err
	}
	if inv.Lines, err = findLines(ctx, q, inv.ID); err != nil {
		return nil, err
	}
	return inv, nil
}

// findInvoiceHeader is findInvoice without the lines.
func findInvoiceHeader(ctx context.Context, q queryer, where string, arg any) (*Invoice, error) {
	inv, err := scanInvoice(q.QueryRowContext(ctx, `SELECT `+invoiceColumns+` FROM invoices i WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, traded.Errorf(traded.ENOTFOUND, "There is no invoice %v.", arg)
	} else if err != nil {
		return nil, fmt.Errorf("find invoice: %w", err)
	}
	return inv, nil
}

func findLines(ctx context.Context, q queryer, invoiceID int64) ([]*Line, error) {
	rows, err := q.QueryContext(ctx, `SELECT l.id, l.position, l.product_code, l.description, l.quantity, l.unit_pence, l.net_pence,
			l.vat_treatment, l.vat_rate_bp, l.vat_pence, l.vat_note, l.income_code, l.vat_code,
			COALESCE((SELECT SUM(c.net_pence + c.vat_pence) FROM credit_note_lines c WHERE c.invoice_line_id = l.id), 0),
			COALESCE((SELECT SUM(c.vat_pence) FROM credit_note_lines c WHERE c.invoice_line_id = l.id), 0)
		FROM invoice_lines l WHERE l.invoice_id = ? ORDER BY l.position`, invoiceID)
	if err != nil {
		return nil, fmt.Errorf("invoice lines: %w", err)
	}
	defer rows.Close()
	var out []*Line
	for rows.Next() {
		var l Line
		var unit, net, vat, credited, creditedVAT int64
		if err := rows.Scan(&l.ID, &l.Position, &l.ProductCode, &l.Description, &l.Quantity, &unit, &net, &l.VATTreatment,
			&l.VATRateBP, &vat, &l.VATNote, &l.IncomeCode, &l.VATCode, &credited, &creditedVAT); err != nil {
			return nil, fmt.Errorf("invoice lines: %w", err)
		}
		l.Unit, l.Net, l.VAT = pricing.Money(unit), pricing.Money(net), pricing.Money(vat)
		l.Credited, l.CreditedVAT = pricing.Money(credited), pricing.Money(creditedVAT)
		out = append(out, &l)
	}
	return out, rows.Err()
}

// FindInvoiceByNumber returns an issued invoice with its lines, or ENOTFOUND.
func (s *Service) FindInvoiceByNumber(ctx context.Context, number string) (*Invoice, error) {
	return findInvoice(ctx, s.db.Read(), `i.number = ?`, strings.ToUpper(strings.TrimSpace(number)))
}

// InvoiceFilter selects invoices. Empty fields do not filter.
type InvoiceFilter struct {
	OrganisationID int64
	Status         string // a derived status, judged today
	Search         string // number, customer name, URN or PO number
	Source         string
	From, To       string // issue dates, both included (YYYY-MM-DD)
	Limit          int    // 0: 100; at most 1000
	Offset         int
	After          *store.Cursor // invoices after this one in FindInvoices' order (Invoice.Cursor)
}

// Cursor is where inv stands in FindInvoices' order, for InvoiceFilter.After:
// drafts first by id, then issued invoices by their number's place in the
// series (Key, in decimal), newest first.
func (inv *Invoice) Cursor() store.Cursor {
	c := store.Cursor{ID: inv.ID}
	if inv.Seq != 0 {
		c.Key = strconv.FormatInt(inv.Seq, 10)
	}
	return c
}

// Today returns today's date in London, as stored.
func (s *Service) Today() string { return s.db.Now().In(traded.London).Format(store.DateFormat) }

// statusSQL is Invoice.Status as SQL over invoiceColumns' aliases.
const statusSQL = `CASE
	WHEN i.status = 'draft' THEN 'draft'
	WHEN i.total_pence > 0 AND cr >= i.total_pence THEN 'credited'
	WHEN i.total_pence - pd - ca <= 0 THEN 'paid'
	WHEN i.due_date < ? THEN 'overdue'
	WHEN pd > 0 THEN 'part_paid'
	ELSE 'issued' END`

// FindInvoices returns invoices matching f, newest first, and how many match
// (f.After and f.Offset aside). It returns EINVALID (status) for an unknown
// status and EINVALID (after) for a cursor that is no place in the list.
func (s *Service) FindInvoices(ctx context.Context, f InvoiceFilter) ([]*Invoice, int, error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.OrganisationID != 0 {
		where, args = append(where, "i.organisation_id = ?"), append(args, f.OrganisationID)
	}
	if f.Source != "" {
		where, args = append(where, "i.source = ?"), append(args, f.Source)
	}
	if f.From != "" {
		where, args = append(where, "i.issue_date >= ?"), append(args, f.From)
	}
	if f.To != "" {
		where, args = append(where, "i.issue_date <= ?"), append(args, f.To)
	}
	if q := strings.TrimSpace(f.Search); q != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q) + "%"
		// A school renamed since it was invoiced is found by either name.
		named, err := s.orgs.FindIDsByName(ctx, q)
		if err != nil {
			return nil, 0, fmt.Errorf("find invoices: %w", err)
		}
		ids := make([]string, len(named))
		for i, id := range named {
			ids[i] = strconv.FormatInt(id, 10)
		}
		where = append(where, `(i.number LIKE ? ESCAPE '\' OR i.customer_name LIKE ? ESCAPE '\' OR i.po_number LIKE ? ESCAPE '\'
			OR CAST(i.customer_urn AS TEXT) = ? OR i.organisation_id IN (SELECT value FROM json_each(?)))`)
		args = append(args, like, like, like, q, "["+strings.Join(ids, ",")+"]")
	}
	statusArgs := []any{s.Today()}
	inner := `SELECT i.*, ` + paidSQL + ` AS pd, ` + creditAllocatedSQL + ` AS ca, ` + creditedSQL + ` AS cr
		FROM invoices i WHERE ` + strings.Join(where, " AND ")
	outer := `FROM (` + inner + `) i`
	cond := "1 = 1"
	if f.Status != "" {
		if StatusLabel(f.Status) == "" {
			return nil, 0, traded.FieldErrorf("status", "%q is not an invoice status (%s).", f.Status, strings.Join(Statuses, ", "))
		}
		cond = statusSQL + ` = ?`
	}
	countArgs := append([]any{}, args...)
	if f.Status != "" {
		countArgs = append(countArgs, statusArgs[0], f.Status)
	}
	var total int
	if err := s.db.Read().QueryRowContext(ctx, `SELECT count(*) `+outer+` WHERE `+cond, countArgs...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count invoices: %w", err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	pageCond, pageArgs := cond, append([]any{}, countArgs...)
	if a := f.After; a != nil {
		if a.Key == "" {
			pageCond += ` AND ((i.seq IS NULL AND i.id < ?) OR i.seq IS NOT NULL)`
			pageArgs = append(pageArgs, a.ID)
		} else if seq, err := strconv.ParseInt(a.Key, 10, 64); err == nil {
			pageCond += ` AND i.seq < ?`
			pageArgs = append(pageArgs, seq)
		} else {
			return nil, 0, traded.FieldErrorf("after", "after is not a place in the list of invoices.")
		}
	}
	rows, err := s.db.Read().QueryContext(ctx, `SELECT `+invoiceColumns+` `+outer+` WHERE `+pageCond+
		` ORDER BY i.seq IS NULL DESC, i.seq DESC, i.id DESC LIMIT ? OFFSET ?`, append(pageArgs, limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("find invoices: %w", err)
	}
	defer rows.Close()
	var out []*Invoice
	for rows.Next() {
		inv, err := scanInvoice(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("find invoices: %w", err)
		}
		out = append(out, inv)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("find invoices: %w", err)
	}
	rows.Close()
	return out, total, lastReminders(ctx, s.db.Read(), out)
}

// lastReminders fills in when each invoice was last reminded.
func lastReminders(ctx context.Context, q queryer, invoices []*Invoice) error {
	if len(invoices) == 0 {
		return nil
	}
	byID := make(map[int64]*Invoice, len(invoices))
	ids := make([]string, 0, len(invoices))
	for _, inv := range invoices {
		byID[inv.ID] = inv
		ids = append(ids, strconv.FormatInt(inv.ID, 10))
	}
	rows, err := q.QueryContext(ctx, `SELECT invoice_id, MAX(sent_at) FROM invoice_reminders
		WHERE invoice_id IN (SELECT value FROM json_each(?)) GROUP BY invoice_id`, "["+strings.Join(ids, ",")+"]")
	if err != nil {
		return fmt.Errorf("last reminders: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var at string
		if err := rows.Scan(&id, &at); err != nil {
			return fmt.Errorf("last reminders: %w", err)
		}
		byID[id].LastReminder = store.MustTime(at)
	}
	return rows.Err()
}

// HasInvoices reports whether any invoice has been made: the demo loads its
// billing data once, into a database with none.
func (s *Service) HasInvoices(ctx context.Context) (bool, error) {
	var has bool
	if err := s.db.Read().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM invoices)`).Scan(&has); err != nil {
		return false, fmt.Errorf("has invoices: %w", err)
	}
	return has, nil
}
