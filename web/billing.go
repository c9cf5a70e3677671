package web

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"traded"
	"traded/account"
	"traded/billing"
	"traded/organisation"
	"traded/pricing"
)

func (s *Server) billingRoutes(app *fiber.App) {
	api := app.Group("/api/v1")
	api.Post("/subscriptions", s.require(signedIn), s.handleSubscriptionCreate)
	api.Get("/invoices", s.require(signedIn), s.handleInvoicesAPI)
	api.Get("/invoices/:number", s.require(signedIn), s.handleInvoiceAPI)
	api.Post("/invoices/:number/payments", s.require(finance), s.handlePaymentCreate)
	api.Post("/invoices/:number/credit-notes", s.require(finance), s.handleCreditNoteCreate)
	api.Post("/stripe/webhook", s.require(anyone), s.handleStripeWebhook)

	app.Get("/subscribe", s.require(manager), s.handleSubscribeForm)
	app.Post("/subscribe", s.require(manager), s.handleSubscriptionCreate)
	app.Get("/invoices", s.require(signedIn), s.handleInvoicesPage)
	app.Get("/invoices/:number", s.require(signedIn), s.handleInvoicePage)
	app.Post("/invoices/:number/pay", s.require(manager), s.handlePayByCard)
	app.Post("/invoices/:number/payments", s.require(finance), s.handlePaymentCreate)
	app.Post("/invoices/:number/send", s.require(finance), s.handleSendInvoice)
	app.Post("/invoices/:number/credit-notes", s.require(finance), s.handleCreditNoteCreate)
	app.Get("/credit-notes/:cn", s.require(signedIn), s.handleCreditNotePDF)
}

// ownInvoice finds an invoice the caller may see, answering ENOTFOUND — as
// for an unknown number — when they may not.
func (s *Server) ownInvoice(c *fiber.Ctx, number string) (*billing.Invoice, error) {
	inv, err := s.billing.FindInvoiceByNumber(c.UserContext(), number)
	if err != nil {
		return nil, err
	}
	if !account.CanSeeBilling(currentUser(c), inv.OrganisationID) {
		return nil, traded.Errorf(traded.ENOTFOUND, "There is no invoice %s.", strings.ToUpper(number))
	}
	return inv, nil
}

// buyerOrganisation resolves the organisation a purchase is for: a school
// manager buys for their own school (another URN answers 404); finance and
// admins may buy for any.
func (s *Server) buyerOrganisation(c *fiber.Ctx, urn int64) (*organisation.Organisation, error) {
	u := currentUser(c)
	switch u.Role {
	case account.RoleSchoolManager, account.RoleFinance, account.RoleAdmin:
	default:
		return nil, traded.Errorf(traded.EFORBIDDEN, "Only a school business manager can buy for a school.")
	}
	if urn == 0 && u.OrganisationURN != 0 {
		urn = u.OrganisationURN
	}
	if urn == 0 {
		return nil, traded.FieldErrorf("organisation", "Give the organisation's URN.")
	}
	return s.ownOrganisation(c, urn)
}

type invoiceLineJSON struct {
	Position     int    `json:"position"`
	Product      string `json:"product"`
	Description  string `json:"description"`
	Quantity     int    `json:"quantity"`
	UnitPence    int64  `json:"unit_pence"`
	NetPence     int64  `json:"net_pence"`
	VATTreatment string `json:"vat_treatment"`
	VATRateBP    int64  `json:"vat_rate_basis_points"`
	VATPence     int64  `json:"vat_pence"`
	VATNote      string `json:"vat_note,omitempty"`
	VATCode      string `json:"vat_code"`
	IncomeCode   string `json:"income_code"`
}

type invoiceJSON struct {
	Number        string       `json:"number"`
	Status        string       `json:"status"`
	Organisation  int64        `json:"organisation"`
	Customer      string       `json:"customer"`
	Address       []string     `json:"customer_address"`
	Tier          pricing.Tier `json:"tier"`
	AcademicYear  string       `json:"academic_year,omitempty"`
	PONumber      string       `json:"po_number"`
	Settlement    string       `json:"settlement"`
	IssueDate     string       `json:"issue_date"`
	TaxPoint      string       `json:"tax_point"`
	DueDate       string       `json:"due_date"`
	Supplier      string       `json:"supplier"`
	SupplierVAT   string       `json:"supplier_vat_number"`
	NetPence      int64        `json:"net_pence"`
	VATPence      int64        `json:"vat_pence"`
	TotalPence    int64        `json:"total_pence"`
	PaidPence     int64        `json:"paid_pence"`
	CreditedPence int64        `json:"credited_pence"`
	// credit notes' credit allocated to it; balance is total less paid and this
	CreditAllocatedPence int64 `json:"credit_allocated_pence"`
	BalancePence         int64 `json:"balance_pence"`
	DaysOverdue          int   `json:"days_overdue"`
	// in lists only: when the last payment reminder went, or null
	LastReminder *time.Time        `json:"last_reminder,omitempty"`
	Lines        []invoiceLineJSON `json:"lines,omitempty"`
}

func (s *Server) toInvoiceJSON(inv *billing.Invoice) invoiceJSON {
	j := invoiceJSON{Number: inv.Number, Status: inv.Status(s.billing.Today()), Organisation: inv.CustomerURN, Customer: inv.CustomerName,
		Address: inv.CustomerAddress, Tier: inv.CustomerTier, AcademicYear: inv.AcademicYear, PONumber: inv.PONumber,
		Settlement: inv.Settlement, IssueDate: inv.IssueDate, TaxPoint: inv.TaxPoint, DueDate: inv.DueDate,
		Supplier: inv.SupplierName, SupplierVAT: inv.SupplierVAT, NetPence: int64(inv.Net), VATPence: int64(inv.VAT),
		TotalPence: int64(inv.Total), PaidPence: int64(inv.Paid), CreditedPence: int64(inv.Credited),
		CreditAllocatedPence: int64(inv.CreditAllocated), BalancePence: int64(inv.Balance()), DaysOverdue: inv.DaysOverdue(s.billing.Today())}
	if !inv.LastReminder.IsZero() {
		j.LastReminder = &inv.LastReminder
	}
	for _, l := range inv.Lines {
		j.Lines = append(j.Lines, invoiceLineJSON{Position: l.Position, Product: l.ProductCode, Description: l.Description,
			Quantity: l.Quantity, UnitPence: int64(l.Unit), NetPence: int64(l.Net), VATTreatment: l.VATTreatment,
			VATRateBP: l.VATRateBP, VATPence: int64(l.VAT), VATNote: l.VATNote, VATCode: l.VATCode, IncomeCode: l.IncomeCode})
	}
	return j
}

// invoiceScope turns ?organisation= into the organisation a caller may list:
// school managers only their own (another URN answers 404).
func (s *Server) invoiceScope(c *fiber.Ctx, param string) (int64, error) {
	u := currentUser(c)
	if u.Role != account.RoleSchoolManager && u.Role != account.RoleFinance && u.Role != account.RoleAdmin {
		return 0, traded.Errorf(traded.EFORBIDDEN, "Your account cannot see invoices.")
	}
	if param == "" {
		if u.Role == account.RoleSchoolManager {
			return u.OrganisationID, nil
		}
		return 0, nil
	}
	urn, err := organisation.ParseURN(param)
	if err != nil {
		return 0, err
	}
	org, err := s.ownOrganisation(c, urn)
	if err != nil {
		return 0, err
	}
	return org.ID, nil
}

// handleInvoicesAPI answers GET /api/v1/invoices?organisation=&status=&q=,
// newest first, a page at a time, with the count of all that match.
func (s *Server) handleInvoicesAPI(c *fiber.Ctx) error {
	orgID, err := s.invoiceScope(c, c.Query("organisation"))
	if err != nil {
		return err
	}
	if c.Query("offset") != "" {
		return traded.FieldErrorf("offset", "offset is not taken: follow \"next\" (or the Link header) with after= for the next page.")
	}
	pg, err := apiPage(c, "invoices")
	if err != nil {
		return err
	}
	invs, total, err := s.billing.FindInvoices(c.UserContext(), billing.InvoiceFilter{OrganisationID: orgID,
		Status: c.Query("status"), Search: c.Query("q"), Limit: pg.Fetch(), After: pg.After})
	if err != nil {
		return err
	}
	invs, next := pageItems(c, pg, invs, (*billing.Invoice).Cursor)
	c.Set("X-Total-Count", strconv.Itoa(total))
	out := []invoiceJSON{}
	for _, inv := range invs {
		j := s.toInvoiceJSON(inv)
		j.Lines = nil
		out = append(out, j)
	}
	return c.JSON(fiber.Map{"invoices": out, "total": total, "next": next})
}

// handleInvoiceAPI answers GET /api/v1/invoices/{number} and {number}.pdf.
func (s *Server) handleInvoiceAPI(c *fiber.Ctx) error {
	number := c.Params("number")
	if strings.HasSuffix(strings.ToLower(number), ".pdf") {
		return s.sendInvoicePDF(c, number[:len(number)-4])
	}
	inv, err := s.ownInvoice(c, number)
	if err != nil {
		return err
	}
	return c.JSON(s.toInvoiceJSON(inv))
}

func (s *Server) sendInvoicePDF(c *fiber.Ctx, number string) error {
	inv, err := s.ownInvoice(c, number)
	if err != nil {
		return err
	}
	if inv.Stored != billing.StatusIssued {
		return traded.Errorf(traded.ENOTFOUND, "There is no invoice %s.", number)
	}
	pdf, err := s.billing.InvoicePDF(inv)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/pdf")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`inline; filename="%s.pdf"`, inv.Number))
	c.Set(fiber.HeaderCacheControl, "no-store") // private (securityHeaders)
	c.Set(fiber.HeaderETag, fmt.Sprintf(`"%s-%d"`, inv.Number, len(pdf)))
	return c.Send(pdf)
}

func (s *Server) handleCreditNotePDF(c *fiber.Ctx) error {
	number := strings.TrimSuffix(strings.ToUpper(c.Params("cn")), ".PDF")
	cn, err := s.billing.FindCreditNote(c.UserContext(), number)
	if err != nil {
		return err
	}
	inv, err := s.billing.FindInvoiceByNumber(c.UserContext(), cn.InvoiceNumber)
	if err != nil {
		return err
	}
	if !account.CanSeeBilling(currentUser(c), inv.OrganisationID) {
		return traded.Errorf(traded.ENOTFOUND, "There is no credit note %s.", number)
	}
	pdf, err := billing.RenderCreditNotePDF(cn, inv, s.billing.Config())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/pdf")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`inline; filename="%s.pdf"`, cn.Number))
	return c.Send(pdf)
}

// handleStripeWebhook answers POST /api/v1/stripe/webhook: Stripe's signed
// events. A bad signature is a 400 and changes nothing.
func (s *Server) handleStripeWebhook(c *fiber.Ctx) error {
	if s.cfg.StripeWebhookSecret == "" {
		return traded.Errorf(traded.ENOTFOUND, "Card payment is not configured.")
	}
	if err := s.billing.HandleStripeWebhook(c.UserContext(), c.Body(), c.Get("Stripe-Signature"), s.cfg.StripeWebhookSecret); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"received": true})
}

type subscribePage struct {
	*Page
	Org        *organisation.Organisation
	Years      []string
	Year       string
	Price      string
	Subscribed bool
	Card       bool
}

func (s *Server) subscribePage(c *fiber.Ctx, yearText string) (*subscribePage, error) {
	u := currentUser(c)
	org, err := s.orgs.FindByID(c.UserContext(), u.OrganisationID)
	if err != nil {
		return nil, err
	}
	p := &subscribePage{Page: s.page(c, "Buy the Primary Statutory Assessment subscription"), Org: org, Card: s.billing.CardEnabled()}
	current := pricing.AcademicYearOf(s.now(), traded.London)
	year := current
	if yearText != "" {
		if year, err = academicYearField(yearText); err != nil {
			return nil, err
		}
	}
	for _, y := range []pricing.AcademicYear{current, current + 1} {
		if _, err := s.catalogue.PriceList(c.UserContext(), y); err == nil {
			p.Years = append(p.Years, y.String())
		}
	}
	p.Year = year.String()
	if pl, err := s.catalogue.PriceList(c.UserContext(), year); err == nil {
		if m, err := pl.Price(pricing.PSASubscription, org.Tier, pricing.RateUnit); err == nil {
			p.Price = m.String()
		}
	}
	p.Subscribed, err = s.booking.IsSubscriber(c.UserContext(), org.ID, year)
	p.Form["po_number"] = c.FormValue("po_number")
	return p, err
}

func (s *Server) handleSubscribeForm(c *fiber.Ctx) error {
	p, err := s.subscribePage(c, c.Query("year"))
	if err != nil {
		return err
	}
	return s.render(c, "subscribe", p)
}

type invoicesPage struct {
	*Page
	Invoices []*billing.Invoice
	Total    int
	Status   string
	Query    string
	Statuses []string
	Finance  bool
	Today    string
	Overdue  bool // some invoice listed is overdue: show days overdue and the last reminder
	Pager    Pager
}

// handleInvoicesPage lists invoices, newest first, a page at a time.
func (s *Server) handleInvoicesPage(c *fiber.Ctx) error {
	orgID, err := s.invoiceScope(c, c.Query("organisation"))
	if err != nil {
		return err
	}
	n, err := pageNumber(c, "page")
	if err != nil {
		return err
	}
	u := currentUser(c)
	p := &invoicesPage{Page: s.page(c, "Invoices"), Status: c.Query("status"), Query: c.Query("q"), Statuses: billing.Statuses,
		Finance: u.Role != account.RoleSchoolManager, Today: s.billing.Today()}
	if p.Status != "" && billing.StatusLabel(p.Status) == "" {
		return traded.FieldErrorf("status", "Choose a status from the list.")
	}
	f := billing.InvoiceFilter{OrganisationID: orgID, Status: p.Status, Search: p.Query, Limit: perPage, Offset: pageOffset(n)}
	if p.Invoices, p.Total, err = s.billing.FindInvoices(c.UserContext(), f); err != nil {
		return err
	}
	p.Pager = pager(c, "/invoices", "page", "Pages of invoices", n, f.Offset+perPage < p.Total)
	p.Wide = p.Finance
	p.Overdue = slices.ContainsFunc(p.Invoices, func(inv *billing.Invoice) bool { return inv.DaysOverdue(p.Today) > 0 })
	return s.render(c, "invoices", p)
}

type invoicePage struct {
	*Page
	Invoice     *billing.Invoice
	Status      string
	Payments    []*billing.Payment
	CreditNotes []*billing.CreditNote
	CanPay      bool
	Finance     bool
	HowToPay    string
	NotMailed   bool // no billing contact when it was issued, and not sent since
}

func (s *Server) invoicePage(c *fiber.Ctx) (*invoicePage, error) {
	inv, err := s.ownInvoice(c, c.Params("number"))
	if err != nil {
		return nil, err
	}
	u := currentUser(c)
	p := &invoicePage{Page: s.page(c, "Invoice "+inv.Number), Invoice: inv, Status: inv.Status(s.billing.Today()),
		Finance: u.Role == account.RoleFinance || u.Role == account.RoleAdmin, HowToPay: s.billing.HowToPay(inv)}
	p.Breadcrumbs = []NavItem{{Label: "Home", Href: "/"}, {Label: "Invoices", Href: "/invoices"}}
	p.CanPay = s.billing.CardEnabled() && u.Role == account.RoleSchoolManager && inv.Settlement != "journal" && inv.Balance() > 0
	if p.Payments, err = s.billing.FindPayments(c.UserContext(), inv.ID); err != nil {
		return nil, err
	}
	if p.CreditNotes, err = s.billing.FindCreditNotes(c.UserContext(), inv.ID); err != nil {
		return nil, err
	}
	if p.Finance {
		if p.NotMailed, err = s.billing.IsNotMailed(c.UserContext(), inv.ID); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// handleSendInvoice emails an invoice again to the school's billing
// contacts: for one flagged as never sent, once a contact is set.
func (s *Server) handleSendInvoice(c *fiber.Ctx) error {
	p, err := s.invoicePage(c)
	if err != nil {
		return err
	}
	if err := s.billing.SendInvoice(c.UserContext(), currentUser(c).Actor(c.IP()), p.Invoice.Number); err != nil {
		return s.renderForm(c, "invoice", p.Page, p, err)
	}
	s.wakeMail()
	s.setFlash(c, "Invoice "+p.Invoice.Number+" has been emailed to the school's billing contacts.")
	return c.Redirect("/invoices/"+p.Invoice.Number, fiber.StatusSeeOther)
}

func (s *Server) handleInvoicePage(c *fiber.Ctx) error {
	if n := c.Params("number"); strings.HasSuffix(strings.ToLower(n), ".pdf") {
		return s.sendInvoicePDF(c, n[:len(n)-4])
	}
	p, err := s.invoicePage(c)
	if err != nil {
		return err
	}
	return s.render(c, "invoice", p)
}

// handlePayByCard starts a Stripe Checkout for what is owed and sends the
// payer there. The amount comes from the invoice, never the browser.
func (s *Server) handlePayByCard(c *fiber.Ctx) error {
	inv, err := s.ownInvoice(c, c.Params("number"))
	if err != nil {
		return err
	}
	base := strings.TrimSuffix(s.cfg.BaseURL, "/") + "/invoices/" + inv.Number
	url, err := s.billing.StartCardPayment(c.UserContext(), currentUser(c).Actor(c.IP()), inv.Number,
		base+"?paid=1", base, currentUser(c).Email)
	if err != nil {
		return err
	}
	return c.Redirect(url, fiber.StatusSeeOther)
}

// academicYearField reads the academic year a purchase is for. It returns
// EINVALID on academic_year for anything but a year such as 2021/22.
func academicYearField(text string) (pricing.AcademicYear, error) {
	year, err := pricing.ParseAcademicYear(text)
	if err != nil {
		return 0, traded.FieldErrorf("academic_year", "Give the academic year, such as 2021/22.")
	}
	return year, nil
}

// Buying the subscription, recording a payment and issuing a credit note
// are one handler each for the API and the pages: each reads the request
// (decodeSubscription, decodePayment, decodeCreditNote) into what the
// billing service takes, which checks it, and only the answer differs.

// subscriptionRequest is a purchase of the subscription, as
// BuySubscription takes it.
type subscriptionRequest struct {
	URN      int64  // 0: the caller's own school
	Year     string // the academic year, such as 2021/22
	PONumber string
}

// decodeSubscription reads a purchase of the subscription: the API's JSON
// {"organisation", "academic_year", "po_number"}, or the subscribe page's
// form, which buys for the manager's own school and, when it names no
// year, for this one (the year it shows first).
func (s *Server) decodeSubscription(c *fiber.Ctx) (subscriptionRequest, error) {
	if !isAPI(c) {
		r := subscriptionRequest{Year: c.FormValue("academic_year"), PONumber: c.FormValue("po_number")}
		if r.Year == "" {
			r.Year = pricing.AcademicYearOf(s.now(), traded.London).String()
		}
		return r, nil
	}
	var j struct {
		Organisation urnParam `json:"organisation"`
		AcademicYear string   `json:"academic_year"`
		PONumber     string   `json:"po_number"`
	}
	if err := decodeJSON(c, &j); err != nil {
		return subscriptionRequest{}, err
	}
	return subscriptionRequest{URN: int64(j.Organisation), Year: j.AcademicYear, PONumber: j.PONumber}, nil
}

// buySubscription buys what the request asks (decodeSubscription) for the
// organisation buyerOrganisation allows, as the caller.
func (s *Server) buySubscription(c *fiber.Ctx) (*billing.Subscription, error) {
	r, err := s.decodeSubscription(c)
	if err != nil {
		return nil, err
	}
	org, err := s.buyerOrganisation(c, r.URN)
	if err != nil {
		return nil, err
	}
	year, err := academicYearField(r.Year)
	if err != nil {
		return nil, err
	}
	sub, err := s.billing.BuySubscription(c.UserContext(), currentUser(c).Actor(c.IP()), org.URN, year, r.PONumber)
	if err != nil {
		return nil, err
	}
	s.wakeMail()
	return sub, nil
}

// handleSubscriptionCreate buys the subscription, the same way from the API
// and the subscribe page. POST /api/v1/subscriptions answers 201 with the
// subscription and its invoice's number; POST /subscribe redirects to the
// invoice with a flash, or shows the page again with the error.
func (s *Server) handleSubscriptionCreate(c *fiber.Ctx) error {
	sub, err := s.buySubscription(c)
	if isAPI(c) {
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(fiber.Map{
			"subscription": fiber.Map{"id": sub.ID, "organisation": sub.URN, "academic_year": sub.Year.String(),
				"status": sub.Status, "po_number": sub.PONumber, "price_pence": int64(sub.Price)},
			"invoice_number": sub.InvoiceNumber,
		})
	}
	if err != nil {
		p, perr := s.subscribePage(c, c.FormValue("academic_year"))
		if perr != nil {
			return perr
		}
		return s.renderForm(c, "subscribe", p.Page, p, err, "po_number")
	}
	s.setFlash(c, fmt.Sprintf("Your school now has the Primary Statutory Assessment subscription for %s. Invoice %s is below and has been emailed to you.", sub.Year, sub.InvoiceNumber))
	return c.Redirect("/invoices/"+sub.InvoiceNumber, fiber.StatusSeeOther)
}

type paymentRequestJSON struct {
	Method      string `json:"method"`
	AmountPence int64  `json:"amount_pence"`
	ReceivedOn  string `json:"received_on"`
	Reference   string `json:"reference"`
}

// decodePayment reads a payment finance records against an invoice: the
// API's JSON (amount_pence; an Idempotency-Key records it once), or the
// invoice page's form (the amount in pounds).
func decodePayment(c *fiber.Ctx) (billing.PaymentInput, error) {
	if !isAPI(c) {
		amount, err := pricing.ParseMoney(c.FormValue("amount"))
		if err != nil {
			return billing.PaymentInput{}, traded.FieldErrorf("amount", "Enter the amount in pounds, like 315.00.")
		}
		return billing.PaymentInput{Method: c.FormValue("method"), Amount: amount, ReceivedOn: c.FormValue("received_on"),
			Reference: c.FormValue("reference")}, nil
	}
	var j paymentRequestJSON
	if err := decodeJSON(c, &j); err != nil {
		return billing.PaymentInput{}, err
	}
	in := billing.PaymentInput{Method: j.Method, Amount: pricing.Money(j.AmountPence), ReceivedOn: j.ReceivedOn, Reference: j.Reference}
	in.IdempotencyKey, in.RequestHash = idempotency(c)
	return in, nil
}

// recordedPayment is a payment recorded: what was asked, what recording it
// did, and the invoice as it now is.
type recordedPayment struct {
	In      billing.PaymentInput
	Result  *billing.PaymentResult
	Invoice *billing.Invoice
}

// recordPayment records the payment the request asks (decodePayment)
// against the invoice in the address, as the caller.
func (s *Server) recordPayment(c *fiber.Ctx) (recordedPayment, error) {
	var p recordedPayment
	var err error
	if p.In, err = decodePayment(c); err != nil {
		return p, err
	}
	if p.Result, err = s.billing.RecordPayment(c.UserContext(), currentUser(c).Actor(c.IP()), c.Params("number"), p.In); err != nil {
		return p, err
	}
	p.Invoice, err = s.billing.FindInvoiceByNumber(c.UserContext(), c.Params("number"))
	return p, err
}

// handlePaymentCreate records a BACS or journal payment against an invoice
// (finance), the same way from the API and the invoice page. POST
// /api/v1/invoices/{number}/payments answers 201 with the payment and the
// invoice; POST /invoices/{number}/payments redirects to the invoice with a
// flash, or shows it again with the error.
func (s *Server) handlePaymentCreate(c *fiber.Ctx) error {
	p, err := s.recordPayment(c)
	if isAPI(c) {
		if err != nil {
			return err
		}
		res := p.Result
		return c.Status(fiber.StatusCreated).JSON(fiber.Map{"payment_id": res.PaymentID, "overpaid": res.Overpaid, "on_account_pence": int64(res.OnAccount), "replayed": res.Replayed,
			"invoice": s.toInvoiceJSON(p.Invoice)})
	}
	if err != nil {
		return s.renderInvoiceError(c, err, "amount", "reference", "received_on", "method")
	}
	msg := "The payment of " + p.In.Amount.String() + " has been recorded."
	if p.Result.Overpaid {
		msg += " It pays " + p.Result.OnAccount.String() + " more than the invoice owed: that is credit on the account, to allocate or refund."
	}
	s.setFlash(c, msg)
	return c.Redirect("/invoices/"+p.Invoice.Number, fiber.StatusSeeOther)
}

// renderInvoiceError shows the invoice page again after one of its forms
// failed with err, keeping what was typed in fields.
func (s *Server) renderInvoiceError(c *fiber.Ctx, err error, fields ...string) error {
	p, perr := s.invoicePage(c)
	if perr != nil {
		return perr
	}
	return s.renderForm(c, "invoice", p.Page, p, err, fields...)
}

// decodeCreditNote reads what to credit on an invoice: the API's JSON
// {"reason", "amount_pence", "lines": [{"position", "amount_pence"}]}
// (nothing but the reason credits all that is left), or the invoice page's
// form, whose amount in pounds is left empty to credit all that is left (so
// a typed 0 is refused: it is not the same).
func decodeCreditNote(c *fiber.Ctx) (billing.CreditInput, error) {
	if !isAPI(c) {
		in := billing.CreditInput{Reason: c.FormValue("reason")}
		if v := strings.TrimSpace(c.FormValue("credit_amount")); v != "" {
			m, err := pricing.ParseMoney(v)
			if err != nil || m == 0 {
				return in, traded.FieldErrorf("credit_amount", "Enter the amount in pounds, like 55.00, or leave it empty to credit the whole invoice.")
			}
			in.Amount = m
		}
		return in, nil
	}
	var j struct {
		Reason      string `json:"reason"`
		AmountPence int64  `json:"amount_pence"`
		Lines       []struct {
			Position    int   `json:"position"`
			AmountPence int64 `json:"amount_pence"`
		} `json:"lines"`
	}
	if err := decodeJSON(c, &j); err != nil {
		return billing.CreditInput{}, err
	}
	in := billing.CreditInput{Reason: j.Reason, Amount: pricing.Money(j.AmountPence)}
	for _, l := range j.Lines {
		in.Lines = append(in.Lines, billing.CreditLineInput{Position: l.Position, Amount: pricing.Money(l.AmountPence)})
	}
	return in, nil
}

// createCreditNote issues the credit note the request asks
// (decodeCreditNote) against the invoice in the address, as the caller.
func (s *Server) createCreditNote(c *fiber.Ctx) (*billing.CreditNote, error) {
	in, err := decodeCreditNote(c)
	if err != nil {
		return nil, err
	}
	cn, err := s.billing.CreateCreditNote(c.UserContext(), currentUser(c).Actor(c.IP()), c.Params("number"), in)
	if err != nil {
		return nil, err
	}
	s.wakeMail()
	return cn, nil
}

// handleCreditNoteCreate issues a credit note against an invoice (finance),
// the same way from the API and the invoice page. POST
// /api/v1/invoices/{number}/credit-notes answers 201 with the credit note;
// POST /invoices/{number}/credit-notes redirects to the invoice with a
// flash, or shows it again with the error beside the input at fault (the
// form's amount is credit_amount: the payment form has the amount input).
func (s *Server) handleCreditNoteCreate(c *fiber.Ctx) error {
	cn, err := s.createCreditNote(c)
	if isAPI(c) {
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(fiber.Map{"number": cn.Number, "invoice": cn.InvoiceNumber,
			"reason": cn.Reason, "net_pence": int64(cn.Net), "vat_pence": int64(cn.VAT), "total_pence": int64(cn.Total), "issue_date": cn.IssueDate})
	}
	if err != nil {
		return s.renderInvoiceError(c, onInputs(err, map[string]string{"amount": "credit_amount"}), "reason", "credit_amount")
	}
	s.setFlash(c, "Credit note "+cn.Number+" for "+cn.Total.String()+" has been issued.")
	return c.Redirect("/invoices/"+cn.InvoiceNumber, fiber.StatusSeeOther)
}
