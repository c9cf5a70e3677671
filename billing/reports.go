package billing

import (
	"context"
	"fmt"
	"sort"
	"time"

	"traded"
	"traded/pricing"
	"traded/store"
)

// AgedBuckets name the aged-debt columns, in order: not yet due, then days
// past the due date.
var AgedBuckets = []string{"current", "1-30", "31-60", "61-90", "90+"}

// agedBucket returns the index in AgedBuckets of a debt daysPastDue days
// past its due date.
func agedBucket(daysPastDue int) int {
	switch {
	case daysPastDue <= 0:
		return 0
	case daysPastDue <= 30:
		return 1
	case daysPastDue <= 60:
		return 2
	case daysPastDue <= 90:
		return 3
	}
	return 4
}

// AgedDebtRow is what one tier (or, in Totals, everyone) owes, by age.
type AgedDebtRow struct {
	Tier     pricing.Tier // "" in Totals
	Buckets  [5]pricing.Money
	Total    pricing.Money
	Invoices int
}

// Bucket returns the amount in the named bucket ("current", "1-30", ...).
func (r AgedDebtRow) Bucket(name string) pricing.Money {
	for i, b := range AgedBuckets {
		if b == name {
			return r.Buckets[i]
		}
	}
	return 0
}

// AgedInvoice is one invoice behind an aged-debt report.
type AgedInvoice struct {
	Number      string
	Customer    string
	URN         int64
	Tier        pricing.Tier
	DueDate     string
	DaysPastDue int // 0 or less: not yet due
	Bucket      string
	Balance     pricing.Money // owed, less any credit on the account set against it
	Credit      pricing.Money // credit on the account that covers part of it
	// LastReminder is when the last payment reminder for it went, as
	// known on the report's day (zero: none).
	LastReminder time.Time
}

// AccountCredit is an organisation whose credit is more than it owes.
type AccountCredit struct {
	Customer string
	URN      int64
	Credit   pricing.Money // what is left once its debts are covered
}

// AgedDebtReport is what is owed on a day, by tier and by how long overdue.
type AgedDebtReport struct {
	AsOf     string
	Rows     []AgedDebtRow // one per tier, in tariff order
	Totals   AgedDebtRow
	Invoices []AgedInvoice // oldest due first
	// CreditApplied is the credit on accounts (payments and credit notes
	// not yet allocated) set against the same accounts' debts: a school in
	// credit owes nothing, whatever its invoices say until finance
	// allocates. InCredit are the accounts with credit left over.
	CreditApplied pricing.Money
	InCredit      []AccountCredit
}

// AgedDebt reports what issued invoices owed at the end of asOf (YYYY-MM-DD
// in London; "" for today), from what the ledger knew then: invoices issued
// by that day, less what had been allocated to them by then, less the
// credit each account held then (payments and credit notes recorded by
// then and not yet allocated or refunded), set against its invoices oldest
// due first. A payment received on a day but recorded later is not known
// on that day. It returns EINVALID for a bad date.
func (s *Service) AgedDebt(ctx context.Context, asOf string) (*AgedDebtReport, error) {
	if asOf == "" {
		asOf = s.Today()
	}
	day, err := time.Parse(store.DateFormat, asOf)
	if err != nil {
		return nil, traded.FieldErrorf("as_of", "Enter the date as YYYY-MM-DD.")
	}
	if asOf > s.Today() {
		return nil, traded.FieldErrorf("as_of", "Aged debt is known up to today: choose today or an earlier day.")
	}
	tx, err := s.db.Read().BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("aged debt: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	cutoff := endOfLondonDay(day)
	open, credit, err := ledgerAsOf(ctx, tx, cutoff)
	if err != nil {
		return nil, err
	}
	rep := &AgedDebtReport{AsOf: asOf}
	byTier := map[pricing.Tier]*AgedDebtRow{}
	for _, t := range pricing.Tiers {
		byTier[t] = &AgedDebtRow{Tier: t}
	}
	var extra []pricing.Tier
	for _, o := range open {
		a := AgedInvoice{Number: o.number, Customer: o.customer, URN: o.urn, Tier: o.tier, DueDate: o.due, Balance: o.balance,
			LastReminder: o.lastReminder}
		if c := credit[o.org]; c > 0 {
			a.Credit = min(c, a.Balance)
			a.Balance -= a.Credit
			credit[o.org] -= a.Credit
			rep.CreditApplied += a.Credit
		}
		if a.Balance == 0 {
			continue
		}
		if due, err := time.Parse(store.DateFormat, a.DueDate); err == nil {
			a.DaysPastDue = int(day.Sub(due).Hours() / 24)
		}
		b := agedBucket(a.DaysPastDue)
		a.Bucket = AgedBuckets[b]
		rep.Invoices = append(rep.Invoices, a)
		row := byTier[a.Tier]
		if row == nil {
			row = &AgedDebtRow{Tier: a.Tier}
			byTier[a.Tier] = row
			extra = append(extra, a.Tier)
		}
		for _, r := range []*AgedDebtRow{row, &rep.Totals} {
			r.Buckets[b] += a.Balance
			r.Total += a.Balance
			r.Invoices++
		}
	}
	for _, t := range append(append([]pricing.Tier{}, pricing.Tiers...), extra...) {
		rep.Rows = append(rep.Rows, *byTier[t])
	}
	if rep.InCredit, err = s.accountsInCredit(ctx, tx, credit); err != nil {
		return nil, err
	}
	return rep, nil
}

// endOfLondonDay is the stored timestamp of the first moment after day
// (a date) ends in London: what was recorded before it was known that day.
func endOfLondonDay(day time.Time) string {
	next := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, traded.London)
	return store.FormatTime(next)
}

// openInvoice is an issued invoice with something owed, as the ledger knew
// it before a cutoff.
type openInvoice struct {
	id, org, urn int64
	number, due  string
	customer     string
	tier         pricing.Tier
	balance      pricing.Money
	lastReminder time.Time
}

// ledgerAsOf returns, from the rows recorded before cutoff (a stored
// timestamp), each issued invoice that owed something, oldest due first,
// and each organisation's credit: its payments and credit notes less what
// had been allocated or refunded.
func ledgerAsOf(ctx context.Context, q queryer, cutoff string) ([]openInvoice, map[int64]pricing.Money, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, organisation_id, customer_urn, number, due_date, customer_name, customer_tier, owing, last
		FROM (SELECT i.id, i.organisation_id, i.customer_urn, i.number, i.due_date, i.customer_name, i.customer_tier, i.seq,
			i.total_pence - COALESCE((SELECT SUM(a.amount_pence) FROM allocations a WHERE a.invoice_id = i.id AND a.created_at < ?1), 0) AS owing,
			COALESCE((SELECT MAX(r.sent_at) FROM invoice_reminders r WHERE r.invoice_id = i.id AND r.sent_at < ?1), '') AS last
			FROM invoices i WHERE i.status = 'issued' AND i.issued_at < ?1)
		WHERE owing > 0 ORDER BY due_date, seq`, cutoff)
	if err != nil {
		return nil, nil, fmt.Errorf("ledger as of %s: %w", cutoff, err)
	}
	defer rows.Close()
	var open []openInvoice
	for rows.Next() {
		var o openInvoice
		var tier, last string
		var owing int64
		if err := rows.Scan(&o.id, &o.org, &o.urn, &o.number, &o.due, &o.customer, &tier, &owing, &last); err != nil {
			return nil, nil, fmt.Errorf("ledger as of %s: %w", cutoff, err)
		}
		o.tier, o.balance = pricing.Tier(tier), pricing.Money(owing)
		if last != "" {
			o.lastReminder = store.MustTime(last)
		}
		open = append(open, o)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("ledger as of %s: %w", cutoff, err)
	}
	rows.Close()
	credit := map[int64]pricing.Money{}
	crows, err := q.QueryContext(ctx, `SELECT org, SUM(x) FROM (
			SELECT organisation_id AS org, amount_pence AS x FROM payments WHERE recorded_at < ?1
			UNION ALL SELECT i.organisation_id, c.total_pence FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id WHERE c.created_at < ?1
			UNION ALL SELECT organisation_id, -amount_pence FROM allocations WHERE created_at < ?1
			UNION ALL SELECT organisation_id, -amount_pence FROM refunds WHERE status <> 'failed' AND created_at < ?1)
		GROUP BY org HAVING SUM(x) > 0`, cutoff)
	if err != nil {
		return nil, nil, fmt.Errorf("credit as of %s: %w", cutoff, err)
	}
	defer crows.Close()
	for crows.Next() {
		var org, x int64
		if err := crows.Scan(&org, &x); err != nil {
			return nil, nil, fmt.Errorf("credit as of %s: %w", cutoff, err)
		}
		credit[org] = pricing.Money(x)
	}
	return open, credit, crows.Err()
}

// accountsInCredit names the organisations with credit left, most first.
func (s *Service) accountsInCredit(ctx context.Context, q queryer, credit map[int64]pricing.Money) ([]AccountCredit, error) {
	var ids []int64
	for org, c := range credit {
		if c > 0 {
			ids = append(ids, org)
		}
	}
	orgs, err := s.organisationsOf(ctx, q, ids)
	if err != nil {
		return nil, fmt.Errorf("accounts in credit: %w", err)
	}
	var out []AccountCredit
	for _, org := range ids {
		o := orgs[org]
		if o == nil {
			return nil, fmt.Errorf("accounts in credit: there is no organisation %d", org)
		}
		out = append(out, AccountCredit{Credit: credit[org], Customer: o.Name, URN: o.URN})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Credit != out[j].Credit {
			return out[i].Credit > out[j].Credit
		}
		return out[i].URN < out[j].URN
	})
	return out, nil
}

// MonthPayments is the money received in one calendar month, by method.
type MonthPayments struct {
	Month   string // YYYY-MM
	BACS    pricing.Money
	Journal pricing.Money
	Card    pricing.Money
	Total   pricing.Money
}

// maxReportMonths bounds a chart: twenty years is plenty.
const maxReportMonths = 240

// PaymentsByMonth sums the payments received in each calendar month from
// from to to inclusive, by method, every month present even when nothing
// came in. Each bound is a month (YYYY-MM) or a day (YYYY-MM-DD); both ""
// mean the council's financial year to date's months (see Payments). It
// returns EINVALID for bad bounds.
func (s *Service) PaymentsByMonth(ctx context.Context, from, to string) ([]MonthPayments, error) {
	r, err := s.Payments(ctx, PaymentsQuery{From: from, To: to})
	if err != nil {
		return nil, err
	}
	return r.Months, nil
}

// PaymentsQuery chooses the months and the customers of a payments report.
type PaymentsQuery struct {
	// Tier keeps the payments of customers of one tier (their tier today);
	// "" keeps everyone's.
	Tier pricing.Tier
	// Year is a financial year ("2026/27") in the tier's reckoning (see
	// FinancialYear; everyone's together follow the council's April to
	// March); "" is the one today is in.
	Year string
	// From and To, when either is set, give the span instead of Year: each
	// a month (YYYY-MM) or a day (YYYY-MM-DD).
	From, To string
}

// PaymentsReport is the money received in each month of a period, by method.
type PaymentsReport struct {
	Period Period // with the financial year's label, when it is one
	Tier   pricing.Tier
	Months []MonthPayments
	Total  pricing.Money
}

// Payments sums the payments received in each month of the query's
// financial year or span, by method, every month present even when nothing
// came in (the months of a year still to come too). It returns EINVALID for
// a bad year, tier or bounds.
func (s *Service) Payments(ctx context.Context, q PaymentsQuery) (*PaymentsReport, error) {
	r := &PaymentsReport{Tier: q.Tier}
	if q.Tier != "" {
		if _, err := pricing.ParseTier(string(q.Tier)); err != nil {
			return nil, traded.FieldErrorf("tier", "Choose a tier: maintained, academy or external.")
		}
	}
	if q.From == "" && q.To == "" {
		fy, err := financialYearNamed(q.Tier, q.Year, s.db.Now().In(traded.London))
		if err != nil {
			return nil, err
		}
		r.Period = fy
	} else {
		start, err := parsePeriodBound(q.From, false)
		if err != nil {
			return nil, traded.FieldErrorf("from", "Enter the first month as YYYY-MM or a day as YYYY-MM-DD.")
		}
		end, err := parsePeriodBound(q.To, true)
		if err != nil {
			return nil, traded.FieldErrorf("to", "Enter the last month as YYYY-MM or a day as YYYY-MM-DD.")
		}
		if end < start {
			return nil, traded.FieldErrorf("to", "The period ends before it starts.")
		}
		r.Period = Period{From: start, To: end}
	}
	startMonth, _ := time.Parse("2006-01", r.Period.From[:7])
	endMonth, _ := time.Parse("2006-01", r.Period.To[:7])
	index := map[string]int{}
	for m := startMonth; !m.After(endMonth); m = m.AddDate(0, 1, 0) {
		if len(r.Months) == maxReportMonths {
			return nil, traded.FieldErrorf("to", "A chart covers at most %d months.", maxReportMonths)
		}
		index[m.Format("2006-01")] = len(r.Months)
		r.Months = append(r.Months, MonthPayments{Month: m.Format("2006-01")})
	}
	// By school too, to keep the schools of the tier asked for (the tier
	// their record holds now).
	rows, err := s.db.Read().QueryContext(ctx, `SELECT substr(p.received_on, 1, 7), p.method, p.organisation_id, SUM(p.amount_pence)
		FROM payments p
		WHERE p.received_on >= ? AND p.received_on <= ? GROUP BY 1, 2, 3`,
		r.Period.From, r.Period.To)
	if err != nil {
		return nil, fmt.Errorf("payments by month: %w", err)
	}
	defer rows.Close()
	type sum struct {
		month, method string
		org, sum      int64
	}
	var sums []sum
	var orgIDs []int64
	for rows.Next() {
		var x sum
		if err := rows.Scan(&x.month, &x.method, &x.org, &x.sum); err != nil {
			return nil, fmt.Errorf("payments by month: %w", err)
		}
		sums, orgIDs = append(sums, x), append(orgIDs, x.org)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("payments by month: %w", err)
	}
	rows.Close()
	orgs, err := s.organisationsOf(ctx, s.db.Read(), orgIDs)
	if err != nil {
		return nil, fmt.Errorf("payments by month: %w", err)
	}
	for _, x := range sums {
		o := orgs[x.org]
		if o == nil || (q.Tier != "" && storedTier(o) != string(q.Tier)) {
			continue
		}
		month, method, sum := x.month, x.method, x.sum
		i, ok := index[month]
		if !ok {
			continue
		}
		m := &r.Months[i]
		switch method {
		case MethodBACS:
			m.BACS += pricing.Money(sum)
		case MethodJournal:
			m.Journal += pricing.Money(sum)
		case MethodCard:
			m.Card += pricing.Money(sum)
		}
		m.Total += pricing.Money(sum)
		r.Total += pricing.Money(sum)
	}
	return r, nil
}

// financialYearNamed is the financial year named like "2026/27" in the
// tier's reckoning, or the one today is in when name is "".
func financialYearNamed(tier pricing.Tier, name string, today time.Time) (Period, error) {
	if name == "" {
		return FinancialYear(tier, today), nil
	}
	y, err := pricing.ParseAcademicYear(name)
	if err != nil {
		return Period{}, traded.FieldErrorf("year", "Enter a financial year such as %s.", FinancialYear(tier, today).Label)
	}
	return FinancialYear(tier, time.Date(int(y), time.September, 1, 0, 0, 0, 0, time.UTC)), nil
}

// parsePeriodBound reads YYYY-MM or YYYY-MM-DD as a day: a month's first
// day, or its last when end is set.
func parsePeriodBound(s string, end bool) (string, error) {
	if t, err := time.Parse(store.DateFormat, s); err == nil {
		return t.Format(store.DateFormat), nil
	}
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return "", err
	}
	if end {
		t = t.AddDate(0, 1, -1)
	}
	return t.Format(store.DateFormat), nil
}

// Period is a span of days, both ends included (YYYY-MM-DD).
type Period struct {
	Label string // "2026/27" for a financial year
	From  string
	To    string
}

// FinancialYear returns the financial year that date falls in for a
// customer of the tier: April to March for maintained schools (the
// council's own year, which external customers are reported in too), and
// September to August, the academic year, for academies. The label names the
// years it spans: "2026/27".
func FinancialYear(tier pricing.Tier, date time.Time) Period {
	startMonth := time.April
	if tier == pricing.Academy {
		startMonth = time.September
	}
	y := date.Year()
	if date.Month() < startMonth {
		y--
	}
	start := time.Date(y, startMonth, 1, 0, 0, 0, 0, time.UTC)
	return Period{
		Label: fmt.Sprintf("%d/%02d", y, (y+1)%100),
		From:  start.Format(store.DateFormat),
		To:    start.AddDate(1, 0, -1).Format(store.DateFormat),
	}
}

// Statement entry kinds.
const (
	EntryInvoice    = "invoice"
	EntryCreditNote = "credit_note"
	EntryPayment    = "payment"
	EntryRefund     = "refund"
)

// StatementEntry is one line of an account statement.
type StatementEntry struct {
	Date          string
	Kind          string // invoice, credit_note, payment or refund
	Reference     string // the invoice or credit note number, or the payment's method
	InvoiceNumber string
	Description   string        // what was invoiced, why it was credited, or the payment's reference
	Debit         pricing.Money // what an invoice or refund adds to the balance
	Credit        pricing.Money // what a credit note or payment takes off
	Balance       pricing.Money // owed after this entry
}

// AccountStatement is an organisation's invoices, credit notes and payments
// over a period, with the balance it owed before, after each, and at the end.
type AccountStatement struct {
	OrganisationID int64
	Organisation   string
	URN            int64
	Tier           pricing.Tier
	Period         Period
	Opening        pricing.Money
	Entries        []StatementEntry
	Closing        pricing.Money
}

// Statement returns an organisation's account from from to to (YYYY-MM-DD,
// inclusive); both "" mean the financial year to date for its tier (see
// FinancialYear). Entries are in date order; on one day invoices come before
// credit notes and payments. It returns ENOTFOUND for an unknown
// organisation and EINVALID for bad dates.
func (s *Service) Statement(ctx context.Context, orgID int64, from, to string) (*AccountStatement, error) {
	org, err := s.orgs.FindByID(ctx, orgID)
	if err != nil {
		return nil, err
	}
	var period Period
	switch {
	case from == "" && to == "":
		period = FinancialYear(org.Tier, s.db.Now().In(traded.London))
		period.To = s.Today()
	case from == "" || to == "":
		return nil, traded.FieldErrorf("from", "Give both the first and the last day of the statement, or neither.")
	default:
		f, err1 := time.Parse(store.DateFormat, from)
		t, err2 := time.Parse(store.DateFormat, to)
		if err1 != nil || err2 != nil {
			return nil, traded.FieldErrorf("from", "Enter the dates as YYYY-MM-DD.")
		}
		if t.Before(f) {
			return nil, traded.FieldErrorf("to", "The statement ends before it starts.")
		}
		period = Period{From: from, To: to}
		if fy := FinancialYear(org.Tier, f); fy.From == from && fy.To == to {
			period.Label = fy.Label
		}
	}
	st := &AccountStatement{OrganisationID: org.ID, Organisation: org.Name, URN: org.URN, Tier: org.Tier, Period: period}

	// One read transaction, so the opening balance and the entries agree.
	tx, err := s.db.Read().BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var opening int64
	if err := tx.QueryRowContext(ctx, `SELECT
			COALESCE((SELECT SUM(total_pence) FROM invoices WHERE organisation_id = ?1 AND status = 'issued' AND issue_date < ?2), 0)
			- COALESCE((SELECT SUM(c.total_pence) FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id
				WHERE i.organisation_id = ?1 AND c.issue_date < ?2), 0)
			- COALESCE((SELECT SUM(amount_pence) FROM payments WHERE organisation_id = ?1 AND received_on < ?2), 0)
			+ COALESCE((SELECT SUM(amount_pence) FROM refunds WHERE organisation_id = ?1 AND status <> 'failed'
				AND refunded_on < ?2), 0)`, org.ID, period.From).Scan(&opening); err != nil {
		return nil, fmt.Errorf("statement opening balance: %w", err)
	}
	st.Opening = pricing.Money(opening)
	rows, err := tx.QueryContext(ctx, `
		SELECT issue_date, 0, seq, 'invoice', number, number, source || CASE WHEN academic_year = '' THEN '' ELSE ' ' || academic_year END,
			total_pence FROM invoices WHERE organisation_id = ?1 AND status = 'issued' AND issue_date BETWEEN ?2 AND ?3
		UNION ALL
		SELECT c.issue_date, 1, c.seq, 'credit_note', c.number, i.number, c.reason, c.total_pence
			FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id
			WHERE i.organisation_id = ?1 AND c.issue_date BETWEEN ?2 AND ?3
		UNION ALL
		SELECT p.received_on, 2, p.id, 'payment', p.method, COALESCE(i.number, ''), p.reference, p.amount_pence
			FROM payments p LEFT JOIN invoices i ON i.id = p.invoice_id
			WHERE p.organisation_id = ?1 AND p.received_on BETWEEN ?2 AND ?3
		UNION ALL
		SELECT r.refunded_on, 3, r.id, 'refund', r.method, '', r.reason, r.amount_pence
			FROM refunds r WHERE r.organisation_id = ?1 AND r.status <> 'failed' AND r.refunded_on BETWEEN ?2 AND ?3
		ORDER BY 1, 2, 3`, org.ID, period.From, period.To)
	if err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	defer rows.Close()
	balance := st.Opening
	for rows.Next() {
		var e StatementEntry
		var order, seq, amount int64
		if err := rows.Scan(&e.Date, &order, &seq, &e.Kind, &e.Reference, &e.InvoiceNumber, &e.Description, &amount); err != nil {
			return nil, fmt.Errorf("statement: %w", err)
		}
		if e.Kind == EntryInvoice || e.Kind == EntryRefund {
			e.Debit = pricing.Money(amount)
			balance += e.Debit
		} else {
			e.Credit = pricing.Money(amount)
			balance -= e.Credit
		}
		e.Balance = balance
		st.Entries = append(st.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	st.Closing = balance
	return st, nil
}
