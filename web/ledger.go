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
	app.Post("/finance/accounts/:urn/receipts", s.require(finance), s.handleReceiptCreate)
	app.Post("/finance/accounts/:urn/allocations", s.require(finance), s.handleAllocationCreate)
	app.Post("/finance/accounts/:urn/allocations/:id/reverse", s.require(finance), s.handleAllocationReverse)
	app.Post("/finance/accounts/:urn/refunds", s.require(finance), s.handleRefundCreate)

	api := app.Group("/api/v1")
	api.Get("/accounts/:urn", s.require(finance), s.handleAccountAPI)
	api.Post("/accounts/:urn/receipts", s.require(finance), s.handleReceiptCreate)
	api.Post("/accounts/:urn/allocations", s.require(finance), s.handleAllocationCreate)
	api.Post("/accounts/:urn/allocations/:id/reverse", s.require(finance), s.handleAllocationReverse)
	api.Post("/accounts/:urn/refunds", s.require(finance), s.handleRefundCreate)
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

// Receipts, allocations, their reversal and refunds are one handler each
// for the API and the account page: each reads the request (decodeReceipt,
// decodeAllocation, decodeRefund) into what the billing service takes,
// which checks it, and only the answer differs. The organisation is the
// one in the address (accountOrg) for both.

// decodeReceipt reads a receipt from the organisation orgID: the API's
// JSON {"method", "amount_pence", "received_on", "reference", "splits":
// [{"invoice", "amount_pence"}]}, which an Idempotency-Key records once; or
// the account page's form, whose amounts are in pounds, with one split
// input per open invoice (split-TS-000007; an empty one splits nothing to
// it) and the token the page rendered, which records a double submit once.
func decodeReceipt(c *fiber.Ctx, orgID int64) (billing.ReceiptInput, error) {
	in := billing.ReceiptInput{OrganisationID: orgID}
	if isAPI(c) {
		var j struct {
			Method      string `json:"method"`
			AmountPence int64  `json:"amount_pence"`
			ReceivedOn  string `json:"received_on"`
			Reference   string `json:"reference"`
			Splits      []struct {
				Invoice     string `json:"invoice"`
				AmountPence int64  `json:"amount_pence"`
			} `json:"splits"`
		}
		if err := decodeJSON(c, &j); err != nil {
			return in, err
		}
		in.PaymentInput = billing.PaymentInput{Method: j.Method, Amount: pricing.Money(j.AmountPence), ReceivedOn: j.ReceivedOn, Reference: j.Reference}
		for _, sp := range j.Splits {
			in.Splits = append(in.Splits, billing.Split{InvoiceNumber: sp.Invoice, Amount: pricing.Money(sp.AmountPence)})
		}
		in.IdempotencyKey, in.RequestHash = idempotency(c)
		return in, nil
	}
	amount, err := pricing.ParseMoney(c.FormValue("amount"))
	if err != nil {
		return in, traded.FieldErrorf("amount", "Enter the amount received in pounds, like 315.00.")
	}
	in.PaymentInput = billing.PaymentInput{Method: c.FormValue("method"), Amount: amount, ReceivedOn: c.FormValue("received_on"), Reference: c.FormValue("reference")}
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
		return in, bad
	}
	in.IdempotencyKey, in.RequestHash = formKey(c)
	return in, nil
}

// recordReceipt records the receipt the request asks (decodeReceipt) from
// org, as the caller.
func (s *Server) recordReceipt(c *fiber.Ctx, org *organisation.Organisation) (billing.ReceiptInput, *billing.ReceiptResult, error) {
	in, err := decodeReceipt(c, org.ID)
	if err != nil {
		return in, nil, err
	}
	res, err := s.billing.RecordReceipt(c.UserContext(), currentUser(c).Actor(c.IP()), in)
	return in, res, err
}

// handleReceiptCreate records a receipt split across an organisation's
// open invoices, what the splits leave being credit on the account, the
// same way from the API (POST /api/v1/accounts/{urn}/receipts, answering
// 201) and the account page (redirecting to it with a flash, or showing it
// again with the error).
func (s *Server) handleReceiptCreate(c *fiber.Ctx) error {
	org, err := s.accountOrg(c)
	if err != nil {
		return err
	}
	in, res, err := s.recordReceipt(c, org)
	if isAPI(c) {
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(fiber.Map{"payment_id": res.PaymentID, "credit": "payment-" + strconv.FormatInt(res.PaymentID, 10),
			"allocated_pence": int64(res.Allocated), "on_account_pence": int64(res.OnAccount), "replayed": res.Replayed})
	}
	if err != nil {
		return s.ledgerDone(c, err, "", "amount", "method", "received_on", "reference")
	}
	msg := fmt.Sprintf("The receipt of %s has been recorded: %s allocated", in.Amount, res.Allocated)
	if res.OnAccount > 0 {
		msg += fmt.Sprintf(", %s left as credit on the account", res.OnAccount)
	}
	return s.ledgerDone(c, nil, msg+".")
}

// allocation is credit to allocate to an invoice, as Allocate takes it.
type allocation struct {
	Credit  billing.CreditRef
	Invoice string
	Amount  pricing.Money // 0: as much as both allow
}

// decodeAllocation reads an allocation: the API's JSON {"credit",
// "invoice", "amount_pence"}, or the account page's form (the amount in
// pounds, empty for as much as both allow). Either names the credit as
// payment-N or a credit note's number.
func decodeAllocation(c *fiber.Ctx) (allocation, error) {
	var credit string
	var a allocation
	if isAPI(c) {
		var j struct {
			Credit      string `json:"credit"`
			Invoice     string `json:"invoice"`
			AmountPence int64  `json:"amount_pence"`
		}
		if err := decodeJSON(c, &j); err != nil {
			return a, err
		}
		credit, a.Invoice, a.Amount = j.Credit, j.Invoice, pricing.Money(j.AmountPence)
	} else {
		credit, a.Invoice = c.FormValue("credit"), c.FormValue("invoice")
	}
	ref, err := billing.ParseCreditRef(credit)
	if err != nil {
		return a, err
	}
	a.Credit = ref
	if !isAPI(c) {
		if a.Amount, err = optionalMoney(c.FormValue("amount"), "amount"); err != nil {
			return a, err
		}
	}
	return a, nil
}

// allocate allocates the credit the request names (decodeAllocation) on
// org's account, as the caller.
func (s *Server) allocate(c *fiber.Ctx, org *organisation.Organisation) error {
	a, err := decodeAllocation(c)
	if err != nil {
		return err
	}
	return s.billing.Allocate(c.UserContext(), currentUser(c).Actor(c.IP()), org.ID, a.Credit, a.Invoice, a.Amount)
}

// handleAllocationCreate allocates credit on an organisation's account to
// one of its invoices, the same way from the API (POST
// /api/v1/accounts/{urn}/allocations, answering 201 with the account) and
// the account page (redirecting to it with a flash, or showing it again
// with the error).
func (s *Server) handleAllocationCreate(c *fiber.Ctx) error {
	org, err := s.accountOrg(c)
	if err != nil {
		return err
	}
	err = s.allocate(c, org)
	if isAPI(c) {
		if err != nil {
			return err
		}
		return s.handleAccountAPI(c.Status(fiber.StatusCreated))
	}
	return s.ledgerDone(c, err, "The credit has been allocated.", "credit", "invoice", "amount")
}

// handleAllocationReverse reverses the allocation in the address, the same
// way from the API (answering with the account) and the account page
// (redirecting to it with a flash, or showing it again with the error):
// the invoice owes that amount again and the credit is back on the account.
func (s *Server) handleAllocationReverse(c *fiber.Ctx) error {
	org, err := s.accountOrg(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "allocation")
	if err != nil {
		return err
	}
	err = s.billing.Unallocate(c.UserContext(), currentUser(c).Actor(c.IP()), org.ID, id)
	if isAPI(c) {
		if err != nil {
			return err
		}
		return s.handleAccountAPI(c)
	}
	return s.ledgerDone(c, err, "The allocation has been reversed: the invoice owes that amount again and the credit is back on the account.")
}

// decodeRefund reads a refund of credit on the organisation orgID: the
// API's JSON {"credit", "method", "amount_pence" (0: all that is left),
// "refunded_on", "reference", "reason"}, which an Idempotency-Key records
// once; or the account page's refund form (refund_amount in pounds, empty
// for all that is left, and refund_reference), with the token the page
// rendered, which records a double submit once.
func decodeRefund(c *fiber.Ctx, orgID int64) (billing.RefundInput, error) {
	in := billing.RefundInput{OrganisationID: orgID}
	var credit string
	if isAPI(c) {
		var j struct {
			Credit      string `json:"credit"`
			Method      string `json:"method"`
			AmountPence int64  `json:"amount_pence"`
			RefundedOn  string `json:"refunded_on"`
			Reference   string `json:"reference"`
			Reason      string `json:"reason"`
		}
		if err := decodeJSON(c, &j); err != nil {
			return in, err
		}
		credit, in.Method, in.Amount, in.RefundedOn, in.Reference, in.Reason = j.Credit, j.Method, pricing.Money(j.AmountPence), j.RefundedOn, j.Reference, j.Reason
		in.IdempotencyKey, in.RequestHash = idempotency(c)
	} else {
		credit = c.FormValue("credit")
		in.Method, in.RefundedOn, in.Reference, in.Reason = c.FormValue("method"), c.FormValue("refunded_on"), c.FormValue("refund_reference"), c.FormValue("reason")
		in.IdempotencyKey, in.RequestHash = formKey(c)
	}
	ref, err := billing.ParseCreditRef(credit)
	if err != nil {
		return in, err
	}
	in.Credit = ref
	if !isAPI(c) {
		if in.Amount, err = optionalMoney(c.FormValue("refund_amount"), "refund_amount"); err != nil {
			return in, err
		}
	}
	return in, nil
}

// recordRefund pays back the credit the request names (decodeRefund) on
// org's account, as the caller.
func (s *Server) recordRefund(c *fiber.Ctx, org *organisation.Organisation) (*billing.Refund, error) {
	in, err := decodeRefund(c, org.ID)
	if err != nil {
		return nil, err
	}
	return s.billing.RecordRefund(c.UserContext(), currentUser(c).Actor(c.IP()), in)
}

// handleRefundCreate refunds credit on an organisation's account, the same
// way from the API (POST /api/v1/accounts/{urn}/refunds, answering 201 with
// the refund; a retry with the Idempotency-Key answers with the first, and
// finishes a card refund Stripe did not answer) and the account page
// (redirecting to it with a flash, or showing it again with the error
// beside the refund form's input).
func (s *Server) handleRefundCreate(c *fiber.Ctx) error {
	org, err := s.accountOrg(c)
	if err != nil {
		return err
	}
	r, err := s.recordRefund(c, org)
	if isAPI(c) {
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(refundJSON(r))
	}
	if err != nil {
		err = withField(onInputs(err, map[string]string{"amount": "refund_amount", "reference": "refund_reference"}), "refund_amount")
		return s.ledgerDone(c, err, "", "credit", "method", "refund_amount", "refunded_on", "refund_reference", "reason")
	}
	return s.ledgerDone(c, nil, fmt.Sprintf("The refund of %s has been recorded (%s).", r.Amount, refundStatusLabel(r.Status)))
}
