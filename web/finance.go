package web

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"traded"
	"traded/billing"
	"traded/organisation"
	"traded/pricing"
	"traded/store"
)

func (s *Server) financeRoutes(app *fiber.App) {
	app.Get("/finance/aged-debt", s.require(finance), s.handleAgedDebtPage)
	app.Get("/finance/payments", s.require(finance), s.handlePaymentsPage)
	app.Get("/finance/bank", s.require(finance), s.handleBankPage)
	app.Post("/finance/bank", s.require(finance), s.handleBankImport)
	app.Post("/finance/bank/lines/:id/confirm", s.require(finance), s.handleBankConfirm)
	app.Post("/finance/bank/lines/:id/dismiss", s.require(finance), s.handleBankDismiss)
	app.Post("/finance/bank/lines/:id/split", s.require(finance), s.handleBankSplit)
	app.Post("/finance/bank/lines/:id/refund", s.require(finance), s.handleBankRefund)
	app.Get("/finance/journal", s.require(finance), s.handleJournalPage)
	app.Post("/finance/journal", s.require(finance), s.handleJournalCreate)
	app.Get("/finance/journal/:id/csv", s.require(finance), s.handleJournalCSV)
	app.Post("/finance/journal/:id/post", s.require(finance), s.handleJournalPost)
	app.Post("/admin/organisations/:urn/billing", s.require(admin), s.handleBillingDetails)
	app.Get("/statement", s.require(signedIn), s.handleStatement)
	app.Post("/finance/monthly-invoices", s.require(finance), s.handleMonthlyInvoices)

	api := app.Group("/api/v1")
	api.Get("/aged-debt", s.require(finance), s.handleAgedDebtAPI)
	api.Get("/payments", s.require(finance), s.handlePaymentsAPI)
	api.Post("/bank-statements", s.require(finance), s.handleBankImport)
}

type agedDebtPage struct {
	*Page
	Report  *billing.AgedDebtReport
	Buckets []string
}

func (s *Server) handleAgedDebtPage(c *fiber.Ctx) error {
	r, err := s.billing.AgedDebt(c.UserContext(), c.Query("as_of"))
	if traded.ErrorCode(err) == traded.EINVALID {
		// a bad date: today's report, with the error on the date field
		p := &agedDebtPage{Page: s.widePage(c, "Aged debt"), Buckets: billing.AgedBuckets}
		if p.Report, _ = s.billing.AgedDebt(c.UserContext(), ""); p.Report == nil {
			return err
		}
		return s.renderForm(c, "aged-debt", p.Page, p, err, "as_of")
	}
	if err != nil {
		return err
	}
	return s.render(c, "aged-debt", &agedDebtPage{Page: s.widePage(c, "Aged debt"), Report: r, Buckets: billing.AgedBuckets})
}

func (s *Server) handleAgedDebtAPI(c *fiber.Ctx) error {
	r, err := s.billing.AgedDebt(c.UserContext(), c.Query("as_of"))
	if err != nil {
		return err
	}
	row := func(x billing.AgedDebtRow) fiber.Map {
		m := fiber.Map{"total_pence": int64(x.Total), "invoices": x.Invoices}
		for i, b := range billing.AgedBuckets {
			m[b+"_pence"] = int64(x.Buckets[i])
		}
		return m
	}
	tiers := fiber.Map{}
	for _, x := range r.Rows {
		tiers[string(x.Tier)] = row(x)
	}
	invoices := []fiber.Map{}
	for _, a := range r.Invoices {
		m := fiber.Map{"invoice": a.Number, "customer": a.Customer, "organisation": a.URN, "tier": a.Tier, "due_date": a.DueDate,
			"days_past_due": a.DaysPastDue, "bucket": a.Bucket, "balance_pence": int64(a.Balance), "credit_pence": int64(a.Credit),
			"last_reminder": nil}
		if !a.LastReminder.IsZero() {
			m["last_reminder"] = a.LastReminder
		}
		invoices = append(invoices, m)
	}
	inCredit := []fiber.Map{}
	for _, a := range r.InCredit {
		inCredit = append(inCredit, fiber.Map{"organisation": a.URN, "customer": a.Customer, "credit_pence": int64(a.Credit)})
	}
	return c.JSON(fiber.Map{"as_of": r.AsOf, "tiers": tiers, "total": row(r.Totals), "credit_applied_pence": int64(r.CreditApplied),
		"in_credit": inCredit, "invoices": invoices})
}

type paymentsPage struct {
	*Page
	Report *billing.PaymentsReport
	Months []billing.MonthPayments
	Chart  chart
	Total  pricing.Money
	Tier   string
	Tiers  []pricing.Tier
	Years  []string // financial years to choose from
}

// chart is a stacked bar chart drawn as inline SVG: payments per month by
// method. The same figures are in the table beside it.
type chart struct {
	Width, Height int
	Bars          []chartBar
	Legend        []chartKey
	Ticks         []chartTick
}

type chartBar struct {
	X, Width, Center int
	Label            string
	Parts            []chartPart
}

type chartPart struct {
	Y, Height int
	Class     string
	Title     string
}

type chartKey struct{ Class, Label string }

type chartTick struct {
	Y     int
	Label string
}

var methodClasses = []struct{ class, label string }{
	{"traded-chart--bacs", "BACS"}, {"traded-chart--journal", "Journal"}, {"traded-chart--card", "Card"},
}

func paymentsChart(months []billing.MonthPayments) chart {
	ch := chart{Width: 720, Height: 300}
	var top pricing.Money
	for _, m := range months {
		top = max(top, m.Total)
	}
	if top == 0 {
		top = 100
	}
	const left, bottom, plot = 70, 270, 250
	slot := (ch.Width - left) / max(len(months), 1)
	for i, m := range months {
		bar := chartBar{X: left + i*slot + slot/6, Width: slot * 2 / 3, Label: m.Month}
		bar.Center = bar.X + bar.Width/2
		y := bottom
		for j, amount := range []pricing.Money{m.BACS, m.Journal, m.Card} {
			h := int(int64(amount) * plot / int64(top))
			if h == 0 && amount > 0 {
				h = 1
			}
			y -= h
			bar.Parts = append(bar.Parts, chartPart{Y: y, Height: h, Class: methodClasses[j].class,
				Title: fmt.Sprintf("%s %s: %s", m.Month, methodClasses[j].label, amount)})
		}
		ch.Bars = append(ch.Bars, bar)
	}
	for _, k := range methodClasses {
		ch.Legend = append(ch.Legend, chartKey{k.class, k.label})
	}
	for i := 0; i <= 4; i++ {
		ch.Ticks = append(ch.Ticks, chartTick{Y: bottom - i*plot/4, Label: (top * pricing.Money(i) / 4).String()})
	}
	return ch
}

// paymentsQuery reads ?tier=, ?year= (a financial year) and ?from= and ?to=.
func paymentsQuery(c *fiber.Ctx) billing.PaymentsQuery {
	return billing.PaymentsQuery{Tier: pricing.Tier(c.Query("tier")), Year: c.Query("year"), From: c.Query("from"), To: c.Query("to")}
}

func (s *Server) handlePaymentsPage(c *fiber.Ctx) error {
	q := paymentsQuery(c)
	p := &paymentsPage{Page: s.page(c, "Payments received"), Tier: string(q.Tier), Tiers: pricing.Tiers}
	r, err := s.billing.Payments(c.UserContext(), q)
	if err != nil {
		if traded.ErrorCode(err) != traded.EINVALID {
			return err
		}
		c.Status(p.withError(err, c))
		q = billing.PaymentsQuery{}
		if r, err = s.billing.Payments(c.UserContext(), q); err != nil {
			return err
		}
		p.Tier = ""
	}
	p.Report, p.Months, p.Chart, p.Total = r, r.Months, paymentsChart(r.Months), r.Total
	// the financial years to choose from: this one and the four before, in the tier's reckoning
	now := s.now().In(traded.London)
	for i := range 5 {
		p.Years = append(p.Years, billing.FinancialYear(q.Tier, now.AddDate(-i, 0, 0)).Label)
	}
	return s.render(c, "payments", p)
}

func (s *Server) handlePaymentsAPI(c *fiber.Ctx) error {
	r, err := s.billing.Payments(c.UserContext(), paymentsQuery(c))
	if err != nil {
		return err
	}
	out := []fiber.Map{}
	for _, m := range r.Months {
		out = append(out, fiber.Map{"month": m.Month, "bacs_pence": int64(m.BACS), "journal_pence": int64(m.Journal),
			"card_pence": int64(m.Card), "total_pence": int64(m.Total)})
	}
	return c.JSON(fiber.Map{"from": r.Period.From, "to": r.Period.To, "financial_year": r.Period.Label, "tier": r.Tier,
		"total_pence": int64(r.Total), "months": out})
}

type bankPage struct {
	*Page
	Import *billing.BankImport
	Review []*billing.BankLine
}

func (s *Server) bankPage(c *fiber.Ctx) (*bankPage, error) {
	p := &bankPage{Page: s.widePage(c, "Bank statements")}
	var err error
	p.Review, err = s.billing.FindBankLines(c.UserContext(), billing.BankLineReview)
	return p, err
}

func (s *Server) handleBankPage(c *fiber.Ctx) error {
	p, err := s.bankPage(c)
	if err != nil {
		return err
	}
	return s.render(c, "bank", p)
}

// bankStatement is a bank statement file to import and what finance says
// of it.
type bankStatement struct {
	Filename string
	File     io.ReadCloser
	Options  billing.BankImportOptions
}

// decodeBankStatement reads a statement to import. The API and the bank
// page send it differently, so each has its own reading: the API's body is
// the file itself (?filename= names it, ?date_order= says how its dates
// are written), while the page uploads it as the multipart form's
// "statement" with the form's date_order. What the file holds, and its
// size, are the import's to check (billing.ImportBankStatementWith).
func decodeBankStatement(c *fiber.Ctx) (bankStatement, error) {
	if isAPI(c) {
		return bankStatement{Filename: c.Query("filename", "statement.csv"), File: io.NopCloser(bytes.NewReader(c.Body())),
			Options: billing.BankImportOptions{DateOrder: c.Query("date_order")}}, nil
	}
	fh, err := c.FormFile("statement")
	if err != nil {
		return bankStatement{}, traded.FieldErrorf("statement", "Choose the bank statement CSV file to import.")
	}
	f, err := fh.Open()
	if err != nil {
		return bankStatement{}, err
	}
	return bankStatement{Filename: fh.Filename, File: f, Options: billing.BankImportOptions{DateOrder: c.FormValue("date_order")}}, nil
}

// importBankStatement imports the statement the request sends
// (decodeBankStatement), as the caller.
func (s *Server) importBankStatement(c *fiber.Ctx) (*billing.BankImport, error) {
	st, err := decodeBankStatement(c)
	if err != nil {
		return nil, err
	}
	defer st.File.Close()
	return s.billing.ImportBankStatementWith(c.UserContext(), currentUser(c).Actor(c.IP()), st.Filename, st.File, st.Options)
}

// handleBankImport imports a bank statement, matching its lines to
// invoices, the same way from the API and the bank page. POST
// /api/v1/bank-statements answers 201 with every line's outcome; POST
// /finance/bank shows the bank page with what the import did, or with the
// error on the file input (the import calls the file "file").
func (s *Server) handleBankImport(c *fiber.Ctx) error {
	imp, err := s.importBankStatement(c)
	if isAPI(c) {
		if err != nil {
			return err
		}
		lines := []fiber.Map{}
		for _, l := range imp.Lines {
			lines = append(lines, fiber.Map{"line": l.LineNo, "date": l.Date, "description": l.Description, "amount_pence": int64(l.Amount),
				"outcome": l.Outcome, "invoice": l.InvoiceNumber, "note": l.Note})
		}
		return c.Status(fiber.StatusCreated).JSON(fiber.Map{"statement_id": imp.StatementID, "layout": imp.Layout, "date_order": imp.DateOrder,
			"matched": imp.Matched, "review": imp.Review,
			"already_imported": imp.AlreadyImported, "ignored": imp.Ignored, "rejected": imp.Rejected, "lines": lines})
	}
	p, perr := s.bankPage(c)
	if perr != nil {
		return perr
	}
	if err != nil {
		return s.renderForm(c, "bank", p.Page, p, withField(onInputs(err, map[string]string{"file": "statement"}), "statement"), "date_order")
	}
	p.Import = imp
	p.Flash = fmt.Sprintf("Imported %s: %d matched, %d to review, %d already imported, %d ignored, %d rejected.",
		imp.Filename, imp.Matched, imp.Review, imp.AlreadyImported, imp.Ignored, imp.Rejected)
	return s.render(c, "bank", p)
}

// withField names the input an error belongs to, when it names none.
func withField(err error, field string) error {
	if e, ok := err.(*traded.Error); ok && e.Field == "" && e.Code == traded.EINVALID {
		return &traded.Error{Code: e.Code, Message: e.Message, Field: field}
	}
	return err
}

func (s *Server) handleBankConfirm(c *fiber.Ctx) error {
	return s.bankLineAction(c, "The payment has been recorded against the invoice.", func(actor store.Actor, id int64) error {
		return s.billing.ConfirmBankLine(c.UserContext(), actor, id, strings.TrimSpace(c.FormValue("invoice")))
	})
}

// handleBankSplit settles a review line as a receipt split across
// invoices: the form's "splits" has one "TS-000007 120.00" a line.
func (s *Server) handleBankSplit(c *fiber.Ctx) error {
	return s.bankLineAction(c, "The line has been recorded as one receipt split across the invoices.", func(actor store.Actor, id int64) error {
		splits, err := parseSplits(c.FormValue("splits"))
		if err != nil {
			return err
		}
		return s.billing.SplitBankLine(c.UserContext(), actor, id, splits)
	})
}

// parseSplits reads lines of "invoice amount" (amount in pounds).
func parseSplits(text string) ([]billing.Split, error) {
	var out []billing.Split
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(strings.NewReplacer(",", " ", "£", " ").Replace(line))
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, traded.FieldErrorf("splits", "Write each split as an invoice number and an amount, like TS-000007 120.00: %q is not.", strings.TrimSpace(line))
		}
		m, err := pricing.ParseMoney(f[1])
		if err != nil {
			return nil, traded.FieldErrorf("splits", "%q is not an amount in pounds, like 120.00.", f[1])
		}
		out = append(out, billing.Split{InvoiceNumber: f[0], Amount: m})
	}
	if len(out) > 100 {
		return nil, traded.FieldErrorf("splits", "A line is split across at most 100 invoices.")
	}
	return out, nil
}

// handleBankRefund records a review line as money received from an
// organisation (by URN) and refunded to it in full.
func (s *Server) handleBankRefund(c *fiber.Ctx) error {
	return s.bankLineAction(c, "The line has been recorded on the account and refunded by BACS.", func(actor store.Actor, id int64) error {
		urn, err := strconv.ParseInt(strings.TrimSpace(c.FormValue("organisation")), 10, 64)
		if err != nil || urn <= 0 {
			return traded.FieldErrorf("organisation", "Enter the URN of the organisation the money came from.")
		}
		org, err := s.orgs.FindByURN(c.UserContext(), urn)
		if traded.ErrorCode(err) == traded.ENOTFOUND {
			return traded.FieldErrorf("organisation", "There is no organisation with URN %d.", urn)
		} else if err != nil {
			return err
		}
		return s.billing.RefundBankLine(c.UserContext(), actor, id, org.ID, c.FormValue("reason"))
	})
}

// handleBankDismiss marks a review line "not ours", with a reason.
func (s *Server) handleBankDismiss(c *fiber.Ctx) error {
	return s.bankLineAction(c, "The line is marked not ours: it no longer waits for review.", func(actor store.Actor, id int64) error {
		return s.billing.DismissBankLine(c.UserContext(), actor, id, c.FormValue("reason"))
	})
}

// bankLineAction runs act on the bank line in the address: on success it
// flashes done and goes back to the bank page; a rule broken shows the bank
// page again with the error.
func (s *Server) bankLineAction(c *fiber.Ctx, done string, act func(actor store.Actor, id int64) error) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return traded.Errorf(traded.ENOTFOUND, "There is no such bank line.")
	}
	if err := act(currentUser(c).Actor(c.IP()), id); err != nil {
		if traded.ErrorCode(err) == traded.EINTERNAL {
			return err
		}
		p, perr := s.bankPage(c)
		if perr != nil {
			return perr
		}
		return s.renderForm(c, "bank", p.Page, p, err)
	}
	s.setFlash(c, done)
	return c.Redirect("/finance/bank", fiber.StatusSeeOther)
}

type journalPage struct {
	*Page
	Batches []*billing.JournalBatch
}

func (s *Server) handleJournalPage(c *fiber.Ctx) error {
	p := &journalPage{Page: s.page(c, "Journal recharges")}
	var err error
	if p.Batches, err = s.billing.FindJournalBatches(c.UserContext()); err != nil {
		return err
	}
	return s.render(c, "journal", p)
}

func (s *Server) handleJournalCreate(c *fiber.Ctx) error {
	b, err := s.billing.CreateJournalBatch(c.UserContext(), currentUser(c).Actor(c.IP()))
	if err != nil {
		if traded.ErrorCode(err) == traded.EINTERNAL {
			return err
		}
		p := &journalPage{Page: s.page(c, "Journal recharges")}
		p.Batches, _ = s.billing.FindJournalBatches(c.UserContext())
		return s.renderForm(c, "journal", p.Page, p, err)
	}
	s.setFlash(c, fmt.Sprintf("Journal batch %d made: %d invoice%s, %s.", b.ID, len(b.Items), map[bool]string{true: "", false: "s"}[len(b.Items) == 1], b.Total))
	return c.Redirect("/finance/journal", fiber.StatusSeeOther)
}

func batchID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, traded.Errorf(traded.ENOTFOUND, "There is no such journal batch.")
	}
	return id, nil
}

func (s *Server) handleJournalCSV(c *fiber.Ctx) error {
	id, err := batchID(c)
	if err != nil {
		return err
	}
	data, err := s.billing.JournalCSV(c.UserContext(), id)
	if err != nil {
		return err
	}
	return sendCSV(c, fmt.Sprintf("journal-batch-%d.csv", id), data)
}

func (s *Server) handleJournalPost(c *fiber.Ctx) error {
	id, err := batchID(c)
	if err != nil {
		return err
	}
	if err := s.billing.PostJournalBatch(c.UserContext(), currentUser(c).Actor(c.IP()), id); err != nil {
		if traded.ErrorCode(err) == traded.EINTERNAL {
			return err
		}
		p := &journalPage{Page: s.page(c, "Journal recharges")}
		p.Batches, _ = s.billing.FindJournalBatches(c.UserContext())
		return s.renderForm(c, "journal", p.Page, p, err)
	}
	s.setFlash(c, fmt.Sprintf("Journal batch %d is posted: its invoices are paid.", id))
	return c.Redirect("/finance/journal", fiber.StatusSeeOther)
}

func (s *Server) handleBillingDetails(c *fiber.Ctx) error {
	p, err := s.organisationPage(c)
	if err != nil {
		return err
	}
	err = s.orgs.SetBillingDetails(c.UserContext(), currentUser(c).Actor(c.IP()), p.Org.URN,
		c.FormValue("cost_centre"), c.FormValue("po_required") == "yes", c.FormValue("billing_email"))
	if err != nil {
		return s.renderForm(c, "organisation", p.Page, p, err, "cost_centre", "billing_email")
	}
	s.setFlash(c, "The billing details have been saved.")
	return c.Redirect(fmt.Sprintf("/admin/organisations/%d", p.Org.URN), fiber.StatusSeeOther)
}

type statementPage struct {
	*Page
	Org       *organisation.Organisation
	Statement *billing.AccountStatement
	From, To  string
}

// handleStatement shows an organisation's account: invoices, credit notes
// and payments with a running balance, for its financial year to date
// (April to March for maintained schools, September to August for
// academies) unless ?from= and ?to= say otherwise.
func (s *Server) handleStatement(c *fiber.Ctx) error {
	orgID, err := s.invoiceScope(c, c.Query("organisation"))
	if err != nil {
		return err
	}
	if orgID == 0 {
		return traded.FieldErrorf("organisation", "Choose an organisation: add ?organisation=URN.")
	}
	org, err := s.orgs.FindByID(c.UserContext(), orgID)
	if err != nil {
		return err
	}
	from, to := c.Query("from"), c.Query("to")
	st, err := s.billing.Statement(c.UserContext(), org.ID, from, to)
	if err != nil {
		return err
	}
	p := &statementPage{Page: s.page(c, "Statement: "+org.Name), Org: org, Statement: st, From: from, To: to}
	return s.render(c, "statement", p)
}

// handleMonthlyInvoices bills the bookings of schools invoiced monthly,
// confirmed before the start of this month. The server also runs it on the
// first of each month.
func (s *Server) handleMonthlyInvoices(c *fiber.Ctx) error {
	run, err := s.billing.InvoiceMonthlyBookings(c.UserContext(), currentUser(c).Actor(c.IP()), billing.StartOfMonth(s.now()))
	if err != nil {
		return err
	}
	s.wakeMail()
	s.setFlash(c, fmt.Sprintf("Monthly invoicing: %d invoice(s) for %d booking(s).", len(run.Invoices), run.Bookings))
	return c.Redirect("/", fiber.StatusSeeOther)
}
