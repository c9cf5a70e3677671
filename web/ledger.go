package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"traded"
	"traded/billing"
	"traded/organisation"
	"traded/pricing"
)

// The customer ledger for finance: an organisation's open invoices, its
// credits (payments and credit notes with something left), allocations
// between them and refunds; receipts split across invoices; credit
// allocated, unallocated and refunded. Pages and the API share the billing
// service's rules; every figure on them is derived from the ledger.
func (s *Server) ledgerRoutes(app *fiber.App) {
	app.Get("/finance/accounts/:urn", s.require(finance), s.handleAccountPage)
	app.Post("/finance/accounts/:urn/receipts", s.require(finance), s.handleReceiptForm)
	app.Post("/finance/accounts/:urn/allocations", s.require(finance), s.handleAllocateForm)
	app.Post("/finance/accounts/:urn/allocations/:id/reverse", s.require(finance), s.handleUnallocateForm)
	app.Post("/finance/accounts/:urn/refunds", s.require(finance), s.handleRefundForm)

	api := app.Group("/api/v1")
	api.Get("/accounts/:urn", s.require(finance), s.handleAccountAPI)
	api.Post("/accounts/:urn/receipts", s.require(finance), s.handleReceiptAPI)
	api.Post("/accounts/:urn/allocations", s.require(finance), s.handleAllocateAPI)
	api.Post("/accounts/:urn/allocations/:id/reverse", s.require(finance), s.handleUnallocateAPI)
	api.Post("/accounts/:urn/refunds", s.require(finance), s.handleRefundAPI)
}

type ledgerPage struct {
	*Page
	Org        *organisation.Organisation
	Account    *billing.Account
	Token      string // one per rendering of the forms, so a double submit records once
	CardRefund bool
	Today      string
}

// accountOrg finds the organisation named by :urn.
func (s *Server) accountOrg(c *fiber.Ctx) (*organisation.Organisation, error) {
	urn, err := strconv.ParseInt(c.Params("urn"), 10, 64)
	if err != nil || urn <= 0 {
		return nil, traded.Errorf(traded.ENOTFOUND, "There is no organisation %q.", c.Params("urn"))
	}
	return s.orgs.FindByURN(c.UserContext(), urn)
}

func (s *Server) ledgerPageFor(c *fiber.Ctx) (*ledgerPage, error) {
	org, err := s.accountOrg(c)
	if err != nil {
		return nil, err
	}
	a, err := s.billing.FindAccount(c.UserContext(), org.ID)
	if err != nil {
		return nil, err
	}
	p := &ledgerPage{Page: s.widePage(c, "Account: "+org.Name), Org: org, Account: a, Token: rand.Text(),
		CardRefund: s.billing.CardRefundsEnabled(), Today: s.billing.Today()}
	p.Breadcrumbs = []NavItem{{Label: "Home", Href: "/"}, {Label: "Invoices", Href: "/invoices"}}
	return p, nil
}

func (s *Server) handleAccountPage(c *fiber.Ctx) error {
	p, err := s.ledgerPageFor(c)
	if err != nil {
		return err
	}
	return s.render(c, "ledger", p)
}

// formKey is the idempotency key and request hash of a ledger form: the
// token the page rendered and everything the form sent.
func formKey(c *fiber.Ctx) (string, string) {
	token := strings.TrimSpace(c.FormValue("token"))
	if token == "" {
		return "", ""
	}
	sum := sha256.Sum256(append([]byte(c.Path()+"\n"), c.Body()...))
	return "form-" + token, hex.EncodeToString(sum[:])
}

// ledgerDone re-renders the account page with err, or says msg and shows
// the account again.
func (s *Server) ledgerDone(c *fiber.Ctx, err error, msg string, fields ...string) error {
	if err != nil {
		p, perr := s.ledgerPageFor(c)
		if perr != nil {
			return perr
		}
		return s.renderForm(c, "ledger", p.Page, p, err, fields...)
	}
	s.setFlash(c, msg)
	return c.Redirect("/finance/accounts/"+c.Params("urn"), fiber.StatusSeeOther)
}

// optionalMoney reads pounds from a form field; "" is zero.
func optionalMoney(v, field string) (pricing.Money, error) {
	if strings.TrimSpace(v) == "" {
		return 0, nil
	}
	m, err := pricing.ParseMoney(v)
	if err != nil {
		return 0, traded.FieldErrorf(field, "Enter the amount in pounds, like 315.00.")
	}
	return m, nil
}

// handleReceiptForm records a receipt split across the open invoices: one
// amount field per invoice, named split-TS-000007; what they leave is
// credit on the account.
func (s *Server) handleReceiptForm(c *fiber.Ctx) error {
	org, err := s.accountOrg(c)
	if err != nil {
		return err
	}
	fields := []string{"amount", "method", "received_on", "reference"}
	amount, err := pricing.ParseMoney(c.FormValue("amount"))
	if err != nil {
		return s.ledgerDone(c, traded.FieldErrorf("amount", "Enter the amount received in pounds, like 315.00."), "", fields...)
	}
	in := billing.ReceiptInput{OrganisationID: org.ID, PaymentInput: billing.PaymentInput{Method: c.FormValue("method"), Amount: amount,
		ReceivedOn: c.FormValue("received_on"), Reference: c.FormValue("reference")}}
	var bad error
	c.Request().PostArgs().VisitAll(func(k, v []byte) {
		number, ok := strings.CutPrefix(string(k), "split-")
		if !ok || bad != nil {
			return
		}
		m, err := optionalMoney(string(v), "splits")
		if err != nil {
			bad = traded.FieldErrorf("splits", "Enter the amount for %s in pounds, like 315.00.", number)
		} else if m > 0 {
			in.Splits = append(in.Splits, billing.Split{InvoiceNumber: number, Amount: m})
		}
	})
	if bad != nil {
		return s.ledgerDone(c, bad, "", fields...)
	}
	in.IdempotencyKey, in.RequestHash = formKey(c)
	res, err := s.billing.RecordReceipt(c.UserContext(), currentUser(c).Actor(c.IP()), in)
	if err != nil {
		return s.ledgerDone(c, err, "", fields...)
	}
	msg := fmt.Sprintf("The receipt of %s has been recorded: %s allocated", amount, res.Allocated)
	if res.OnAccount > 0 {
		msg += fmt.Sprintf(", %s left as credit on the account", res.OnAccount)
	}
	return s.ledgerDone(c, nil, msg+".")
}

func (s *Server) handleAllocateForm(c *fiber.Ctx) error {
	org, err := s.accountOrg(c)
	if err != nil {
		return err
	}
	ref, err := billing.ParseCreditRef(c.FormValue("credit"))
	if err != nil {
		return s.ledgerDone(c, err, "", "credit")
	}
	amount, err := optionalMoney(c.FormValue("amount"), "amount")
	if err == nil {
		err = s.billing.Allocate(c.UserContext(), currentUser(c).Actor(c.IP()), org.ID, ref, c.FormValue("invoice"), amount)
	}
	return s.ledgerDone(c, err, "The credit has been allocated.", "credit", "invoice", "amount")
}

func (s *Server) handleUnallocateForm(c *fiber.Ctx) error {
	org, err := s.accountOrg(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "allocation")
	if err != nil {
		return err
	}
	err = s.billing.Unallocate(c.UserContext(), currentUser(c).Actor(c.IP()), org.ID, id)
	return s.ledgerDone(c, err, "The allocation has been reversed: the invoice owes that amount again and the credit is back on the account.")
}

func (s *Server) handleRefundForm(c *fiber.Ctx) error {
	org, err := s.accountOrg(c)
	if err != nil {
		return err
	}
	fields := []string{"credit", "method", "refund_amount", "refunded_on", "refund_reference", "reason"}
	ref, err := billing.ParseCreditRef(c.FormValue("credit"))
	if err != nil {
		return s.ledgerDone(c, err, "", fields...)
	}
	amount, err := optionalMoney(c.FormValue("refund_amount"), "refund_amount")
	if err != nil {
		return s.ledgerDone(c, err, "", fields...)
	}
	in := billing.RefundInput{OrganisationID: org.ID, Credit: ref, Method: c.FormValue("method"), Amount: amount, RefundedOn: c.FormValue("refunded_on"),
		Reference: c.FormValue("refund_reference"), Reason: c.FormValue("reason")}
	in.IdempotencyKey, in.RequestHash = formKey(c)
	r, err := s.billing.RecordRefund(c.UserContext(), currentUser(c).Actor(c.IP()), in)
	if err != nil {
		return s.ledgerDone(c, withField(err, "refund_amount"), "", fields...)
	}
	return s.ledgerDone(c, nil, fmt.Sprintf("The refund of %s has been recorded (%s).", r.Amount, refundStatusLabel(r.Status)))
}

func refundStatusLabel(s string) string {
	return map[string]string{billing.RefundDone: "done", billing.RefundPending: "waiting for the card processor",
		billing.RefundFailed: "refused"}[s]
}

// API

type creditJSON struct {
	Credit         string `json:"credit"` // payment-N or a credit note number
	Date           string `json:"date"`
	Method         string `json:"method,omitempty"`
	Reference      string `json:"reference"`
	Invoice        string `json:"invoice,omitempty"`
	AmountPence    int64  `json:"amount_pence"`
	AllocatedPence int64  `json:"allocated_pence"`
	RefundedPence  int64  `json:"refunded_pence"`
	LeftPence      int64  `json:"left_pence"`
}

func (s *Server) handleAccountAPI(c *fiber.Ctx) error {
	org, err := s.accountOrg(c)
	if err != nil {
		return err
	}
	a, err := s.billing.FindAccount(c.UserContext(), org.ID)
	if err != nil {
		return err
	}
	invoices := []invoiceJSON{}
	for _, inv := range a.Invoices {
		invoices = append(invoices, s.toInvoiceJSON(inv))
	}
	credits := []creditJSON{}
	for _, cr := range a.Credits {
		credits = append(credits, creditJSON{Credit: cr.Key(), Date: cr.Date, Method: cr.Method, Reference: cr.Reference, Invoice: cr.Invoice,
			AmountPence: int64(cr.Amount), AllocatedPence: int64(cr.Allocated), RefundedPence: int64(cr.Refunded), LeftPence: int64(cr.Left)})
	}
	allocations := []fiber.Map{}
	for _, al := range a.Allocations {
		allocations = append(allocations, fiber.Map{"id": al.ID, "invoice": al.Invoice, "credit": al.Credit, "amount_pence": int64(al.Amount),
			"reverses": al.Reverses, "reversed": al.Reversed, "created_at": al.CreatedAt, "created_by": al.CreatedBy})
	}
	refunds := []fiber.Map{}
	for _, r := range a.Refunds {
		refunds = append(refunds, refundJSON(r))
	}
	return c.JSON(fiber.Map{"organisation": org.URN, "name": org.Name, "owed_pence": int64(a.Owed), "credit_pence": int64(a.CreditLeft),
		"net_pence": int64(a.Net()), "open_invoices": invoices, "credits": credits, "allocations": allocations, "refunds": refunds})
}

func refundJSON(r *billing.Refund) fiber.Map {
	return fiber.Map{"id": r.ID, "credit": r.CreditKey, "method": r.Method, "amount_pence": int64(r.Amount), "refunded_on": r.RefundedOn,
		"reference": r.Reference, "reason": r.Reason, "status": r.Status, "stripe_refund_id": r.StripeRefundID, "failure": r.Failure}
}

// handleReceiptAPI answers POST /api/v1/accounts/{urn}/receipts:
// {"method", "amount_pence", "received_on", "reference", "splits":
// [{"invoice", "amount_pence"}]}. An Idempotency-Key records it once.
func (s *Server) handleReceiptAPI(c *fiber.Ctx) error {
	org, err := s.accountOrg(c)
	if err != nil {
		return err
	}
	var req struct {
		Method      string `json:"method"`
		AmountPence int64  `json:"amount_pence"`
		ReceivedOn  string `json:"received_on"`
		Reference   string `json:"reference"`
		Splits      []struct {
			Invoice     string `json:"invoice"`
			AmountPence int64  `json:"amount_pence"`
		} `json:"splits"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	in := billing.ReceiptInput{OrganisationID: org.ID, PaymentInput: billing.PaymentInput{Method: req.Method,
		Amount: pricing.Money(req.AmountPence), ReceivedOn: req.ReceivedOn, Reference: req.Reference}}
	for _, sp := range req.Splits {
		in.Splits = append(in.Splits, billing.Split{InvoiceNumber: sp.Invoice, Amount: pricing.Money(sp.AmountPence)})
	}
	in.IdempotencyKey, in.RequestHash = idempotency(c)
	res, err := s.billing.RecordReceipt(c.UserContext(), currentUser(c).Actor(c.IP()), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"payment_id": res.PaymentID, "credit": "payment-" + strconv.FormatInt(res.PaymentID, 10),
		"allocated_pence": int64(res.Allocated), "on_account_pence": int64(res.OnAccount), "replayed": res.Replayed})
}

// accountRequest reads the organisation in the path and the JSON body into
// req, and the credit that credit (a field of req) names.
func (s *Server) accountRequest(c *fiber.Ctx, req any, credit *string) (*organisation.Organisation, billing.CreditRef, error) {
	org, err := s.accountOrg(c)
	if err != nil {
		return nil, billing.CreditRef{}, err
	}
	if err := decodeJSON(c, req); err != nil {
		return nil, billing.CreditRef{}, err
	}
	ref, err := billing.ParseCreditRef(*credit)
	return org, ref, err
}

func (s *Server) handleAllocateAPI(c *fiber.Ctx) error {
	var req struct {
		Credit      string `json:"credit"`
		Invoice     string `json:"invoice"`
		AmountPence int64  `json:"amount_pence"`
	}
	org, ref, err := s.accountRequest(c, &req, &req.Credit)
	if err != nil {
		return err
	}
	if err := s.billing.Allocate(c.UserContext(), currentUser(c).Actor(c.IP()), org.ID, ref, req.Invoice, pricing.Money(req.AmountPence)); err != nil {
		return err
	}
	return s.handleAccountAPI(c.Status(fiber.StatusCreated))
}

func (s *Server) handleUnallocateAPI(c *fiber.Ctx) error {
	org, err := s.accountOrg(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "allocation")
	if err != nil {
		return err
	}
	if err := s.billing.Unallocate(c.UserContext(), currentUser(c).Actor(c.IP()), org.ID, id); err != nil {
		return err
	}
	return s.handleAccountAPI(c)
}

// handleRefundAPI answers POST /api/v1/accounts/{urn}/refunds: {"credit",
// "method", "amount_pence" (0: all that is left), "refunded_on",
// "reference", "reason"}. An Idempotency-Key makes a retry answer with the
// first refund, and finishes a card refund Stripe did not answer.
func (s *Server) handleRefundAPI(c *fiber.Ctx) error {
	var req struct {
		Credit      string `json:"credit"`
		Method      string `json:"method"`
		AmountPence int64  `json:"amount_pence"`
		RefundedOn  string `json:"refunded_on"`
		Reference   string `json:"reference"`
		Reason      string `json:"reason"`
	}
	org, ref, err := s.accountRequest(c, &req, &req.Credit)
	if err != nil {
		return err
	}
	in := billing.RefundInput{OrganisationID: org.ID, Credit: ref, Method: req.Method, Amount: pricing.Money(req.AmountPence), RefundedOn: req.RefundedOn,
		Reference: req.Reference, Reason: req.Reason}
	in.IdempotencyKey, in.RequestHash = idempotency(c)
	r, err := s.billing.RecordRefund(c.UserContext(), currentUser(c).Actor(c.IP()), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(refundJSON(r))
}
