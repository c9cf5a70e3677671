package web

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"traded"
	"traded/billing"
	"traded/catalogue"
	"traded/pricing"
	"traded/store"
)

// Finance's exports for the council's ledger: CSVs by date range (page
// and API), the VAT summary for the VAT return, and the ledger codes they
// are written with (income and VAT codes per product, the control accounts
// of the journal), which finance edits on a page or through the API.
func (s *Server) exportRoutes(app *fiber.App) {
	app.Get("/finance/exports", s.require(finance), s.handleExportsPage)
	app.Get("/finance/exports/:name", s.require(finance), s.handleExport)
	app.Get("/finance/ledger-codes", s.require(finance), s.handleLedgerCodesPage)
	app.Post("/finance/ledger-codes", s.require(finance), s.handleLedgerCodesSave)

	api := app.Group("/api/v1")
	api.Get("/exports/:name", s.require(finance), s.handleExport)
	api.Get("/vat-summary", s.require(finance), s.handleVATSummaryAPI)
	api.Get("/ledger-codes", s.require(finance), s.handleLedgerCodesAPI)
	api.Put("/ledger-codes", s.require(finance), s.handleLedgerCodesSave)
}

// exportPeriod reads ?from= and ?to=.
func exportPeriod(c *fiber.Ctx) (billing.Period, error) {
	return billing.ParsePeriod(c.Query("from"), c.Query("to"))
}

// handleExport sends one export as CSV, for the period ?from= to ?to=;
// ?status= filters invoices, ?bom=no leaves out the byte order mark.
func (s *Server) handleExport(c *fiber.Ctx) error {
	name := strings.TrimSuffix(c.Params("name"), ".csv")
	if _, err := billing.FindExport(name); err != nil {
		return err
	}
	p, err := exportPeriod(c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	opt := billing.ExportOptions{Status: c.Query("status"), NoBOM: c.Query("bom") == "no"}
	if err := s.billing.WriteExport(c.UserContext(), &buf, name, p, opt); err != nil {
		return err
	}
	return sendCSV(c, fmt.Sprintf("%s-%s.csv", name, p), buf.Bytes())
}

func sendCSV(c *fiber.Ctx, filename string, data []byte) error {
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s"`, filename))
	return c.Send(data)
}

type exportsPage struct {
	*Page
	Period  billing.Period
	Exports []billing.Export
	VAT     *billing.VATSummary
	Quick   []NavItem // this month, last month, this financial year
}

// handleExportsPage lists the exports for a period (this month unless
// ?from= and ?to= say otherwise) with the period's VAT summary.
func (s *Server) handleExportsPage(c *fiber.Ctx) error {
	p := &exportsPage{Page: s.widePage(c, "Exports for the finance ledger"), Exports: billing.Exports}
	p.Breadcrumbs = []NavItem{{Label: "Home", Href: "/"}}
	now := s.now().In(traded.London)
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	fy := billing.FinancialYear(pricing.Maintained, now)
	span := func(label string, from, to time.Time) NavItem {
		return NavItem{Label: label, Href: "/finance/exports?from=" + from.Format(store.DateFormat) + "&to=" + to.Format(store.DateFormat)}
	}
	p.Quick = []NavItem{
		span("This month", month, month.AddDate(0, 1, -1)),
		span("Last month", month.AddDate(0, -1, 0), month.AddDate(0, 0, -1)),
		{Label: "Financial year " + fy.Label, Href: "/finance/exports?from=" + fy.From + "&to=" + fy.To},
	}
	from, to := c.Query("from"), c.Query("to")
	if from == "" && to == "" {
		from, to = month.Format(store.DateFormat), month.AddDate(0, 1, -1).Format(store.DateFormat)
	}
	period, err := billing.ParsePeriod(from, to)
	p.Form["from"], p.Form["to"] = from, to
	if err != nil {
		c.Status(p.withError(err, c))
		return s.render(c, "exports", p)
	}
	p.Period = period
	if p.VAT, err = s.billing.VATSummary(c.UserContext(), period); err != nil {
		return err
	}
	return s.render(c, "exports", p)
}

func (s *Server) handleVATSummaryAPI(c *fiber.Ctx) error {
	p, err := exportPeriod(c)
	if err != nil {
		return err
	}
	sum, err := s.billing.VATSummary(c.UserContext(), p)
	if err != nil {
		return err
	}
	rows := []fiber.Map{}
	for _, r := range sum.Rows {
		rows = append(rows, fiber.Map{"month": r.Month, "vat_code": r.VATCode, "vat_treatment": r.Treatment, "vat_rate_basis_points": r.RateBP,
			"invoiced_net_pence": int64(r.InvoicedNet), "invoiced_vat_pence": int64(r.InvoicedVAT),
			"credited_net_pence": int64(r.CreditedNet), "credited_vat_pence": int64(r.CreditedVAT),
			"net_pence": int64(r.Net()), "vat_pence": int64(r.VAT())})
	}
	return c.JSON(fiber.Map{"from": p.From, "to": p.To, "rows": rows,
		"box1_output_vat_pence": int64(sum.OutputVAT), "box6_sales_pence": int64(sum.Sales)})
}

type ledgerCodesPage struct {
	*Page
	Products []*catalogue.Product
	Settings []billing.LedgerSetting
}

func (s *Server) ledgerCodesPage(c *fiber.Ctx) (*ledgerCodesPage, error) {
	p := &ledgerCodesPage{Page: s.widePage(c, "Ledger codes")}
	p.Breadcrumbs = []NavItem{{Label: "Home", Href: "/"}, {Label: "Exports", Href: "/finance/exports"}}
	var err error
	if p.Products, err = s.catalogue.FindProducts(c.UserContext()); err != nil {
		return nil, err
	}
	if p.Settings, err = s.billing.LedgerSettings(c.UserContext()); err != nil {
		return nil, err
	}
	for _, pr := range p.Products {
		p.Form["income_code."+pr.Code], p.Form["vat_code."+pr.Code] = pr.IncomeCode, pr.VATCode
	}
	for _, l := range p.Settings {
		p.Form[l.Name] = l.Code
	}
	return p, nil
}

func (s *Server) handleLedgerCodesPage(c *fiber.Ctx) error {
	p, err := s.ledgerCodesPage(c)
	if err != nil {
		return err
	}
	return s.render(c, "ledger-codes", p)
}

type ledgerCodesJSON struct {
	Products []productCodesJSON `json:"products"`
	Settings map[string]string  `json:"settings"`
}

type productCodesJSON struct {
	Code       string `json:"code"`
	Name       string `json:"name,omitempty"`
	IncomeCode string `json:"income_code"`
	VATCode    string `json:"vat_code"`
}

func (s *Server) handleLedgerCodesAPI(c *fiber.Ctx) error {
	p, err := s.ledgerCodesPage(c)
	if err != nil {
		return err
	}
	out := ledgerCodesJSON{Products: []productCodesJSON{}, Settings: map[string]string{}}
	for _, pr := range p.Products {
		out.Products = append(out.Products, productCodesJSON{Code: pr.Code, Name: pr.Name, IncomeCode: pr.IncomeCode, VATCode: pr.VATCode})
	}
	for _, l := range p.Settings {
		out.Settings[l.Name] = l.Code
	}
	return c.JSON(out)
}

// ledgerCodes are codes to save: products' income and VAT codes by product
// code, and the journal's settings by name.
type ledgerCodes struct {
	Products map[string]catalogue.ProductCodes
	Settings map[string]string
}

// decodeLedgerCodes reads the codes to save: the API's JSON, which names
// the products and settings it changes (a product once), or the ledger
// codes page's form, which holds every code (income_code.PRODUCT,
// vat_code.PRODUCT, and each setting by its name).
func (s *Server) decodeLedgerCodes(c *fiber.Ctx) (ledgerCodes, error) {
	out := ledgerCodes{Products: map[string]catalogue.ProductCodes{}, Settings: map[string]string{}}
	if isAPI(c) {
		var j ledgerCodesJSON
		if err := decodeJSON(c, &j); err != nil {
			return out, err
		}
		for _, pr := range j.Products {
			if _, dup := out.Products[pr.Code]; dup {
				return out, traded.FieldErrorf("products", "Product %q is named twice.", pr.Code)
			}
			out.Products[pr.Code] = catalogue.ProductCodes{IncomeCode: pr.IncomeCode, VATCode: pr.VATCode}
		}
		for name, code := range j.Settings {
			out.Settings[name] = code
		}
		return out, nil
	}
	products, err := s.catalogue.FindProducts(c.UserContext())
	if err != nil {
		return out, err
	}
	settings, err := s.billing.LedgerSettings(c.UserContext())
	if err != nil {
		return out, err
	}
	for _, pr := range products {
		out.Products[pr.Code] = catalogue.ProductCodes{IncomeCode: c.FormValue("income_code." + pr.Code), VATCode: c.FormValue("vat_code." + pr.Code)}
	}
	for _, l := range settings {
		out.Settings[l.Name] = c.FormValue(l.Name)
	}
	return out, nil
}

// saveLedgerCodes saves the codes the request gives (decodeLedgerCodes), as
// the caller. The settings are checked before the products' codes are
// written, so that a bad one leaves those as they were too.
func (s *Server) saveLedgerCodes(c *fiber.Ctx) error {
	codes, err := s.decodeLedgerCodes(c)
	if err != nil {
		return err
	}
	if err := billing.CheckLedgerSettings(codes.Settings); err != nil {
		return err
	}
	actor := currentUser(c).Actor(c.IP())
	if len(codes.Products) > 0 {
		if err := s.catalogue.SetProductCodes(c.UserContext(), actor, codes.Products); err != nil {
			return err
		}
	}
	if len(codes.Settings) > 0 {
		return s.billing.SetLedgerSettings(c.UserContext(), actor, codes.Settings)
	}
	return nil
}

// handleLedgerCodesSave saves ledger codes, the same way from the API and
// the ledger codes page. PUT /api/v1/ledger-codes changes the products and
// settings the body names, leaving the rest, and answers with every code;
// POST /finance/ledger-codes saves every code on the page and redirects to
// it with a flash, or shows it again with the error beside its input.
func (s *Server) handleLedgerCodesSave(c *fiber.Ctx) error {
	err := s.saveLedgerCodes(c)
	if isAPI(c) {
		if err != nil {
			return err
		}
		return s.handleLedgerCodesAPI(c)
	}
	if err != nil {
		p, perr := s.ledgerCodesPage(c)
		if perr != nil {
			return perr
		}
		var fields []string
		for _, pr := range p.Products {
			fields = append(fields, "income_code."+pr.Code, "vat_code."+pr.Code)
		}
		for _, l := range p.Settings {
			fields = append(fields, l.Name)
		}
		return s.renderForm(c, "ledger-codes", p.Page, p, err, fields...)
	}
	s.setFlash(c, "The ledger codes are saved. Invoices issued from now on carry them; those issued before keep theirs.")
	return c.Redirect("/finance/ledger-codes", fiber.StatusSeeOther)
}
