package web

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"traded"
	"traded/account"
	"traded/billing"
	"traded/catalogue"
	"traded/consultancy"
	"traded/pricing"
	"traded/store"
)

func (s *Server) consultancyRoutes(app *fiber.App) {
	app.Get("/consultancy", s.require(signedIn), s.handleConsultancy)
	consultancyLimits := s.consultancyLimits()
	app.Post("/consultancy", with(s.handleConsultancyRequest, []fiber.Handler{s.require(manager)}, consultancyLimits)...)
	app.Get("/consultancy/:id", s.require(signedIn), s.handleConsultancyPage)
	app.Post("/consultancy/:id/quote", s.require(admin), s.handleConsultancyQuote)
	app.Post("/consultancy/:id/:decision", s.require(signedIn), s.handleConsultancyDecision)
	app.Post("/consultancy/visits/:vid/deliver", s.require(signedIn), s.handleVisitDeliver)
	app.Post("/consultancy/visits/:vid/cancel", s.require(signedIn), s.handleVisitCancel)
	app.Get("/admin/planner", s.require(admin), s.handlePlanner)
	app.Post("/admin/advisers/:id/availability", s.require(admin), s.handleAvailability)
	app.Post("/admin/consultancy/rates", s.require(admin), s.handleConsultancyRates)
	app.Get("/admin/consultancy/report", s.require(admin), s.handleConsultancyReport)
	app.Post("/finance/consultancy-invoices", s.require(finance), s.handleConsultancyInvoices)

	api := app.Group("/api/v1/consultancy")
	api.Get("/services", s.require(anyone), s.handleConsultancyServicesAPI)
	api.Get("/requests", s.require(signedIn), s.handleConsultanciesAPI)
	api.Post("/requests", with(s.handleConsultancyRequest, []fiber.Handler{s.require(manager)}, consultancyLimits)...)
	api.Get("/requests/:id", s.require(signedIn), s.handleConsultancyAPI)
}

func (s *Server) ownConsultancy(c *fiber.Ctx) (*consultancy.Request, error) {
	id, err := pathID(c, "id", "consultancy request")
	if err != nil {
		return nil, err
	}
	cr, err := s.consultancy.FindByID(c.UserContext(), id)
	if err != nil {
		return nil, err
	}
	if !account.CanSeeConsultancy(currentUser(c), cr.Resource()) {
		return nil, traded.Errorf(traded.ENOTFOUND, "There is no consultancy request %d.", id)
	}
	return cr, nil
}

type consultancyListPage struct {
	*Page
	Year     string
	Tier     pricing.Tier
	Services []*consultancy.Offering
	Requests []*consultancy.Request
	Manager  bool
	Adviser  bool
	Admin    bool
	Status   string
	Pager    Pager
}

// consultancyList is the consultancy page with its list of requests, a page
// of them (?page=).
func (s *Server) consultancyList(c *fiber.Ctx) (*consultancyListPage, error) {
	n, err := pageNumber(c, "page")
	if err != nil {
		return nil, err
	}
	p, f, err := s.consultancyScope(c)
	if err != nil {
		return nil, err
	}
	f.Limit, f.Offset = perPage+1, pageOffset(n)
	if p.Requests, err = s.consultancy.Find(c.UserContext(), f); err != nil {
		return nil, err
	}
	var more bool
	p.Requests, more = cutPage(p.Requests)
	p.Pager = pager(c, "/consultancy", "page", "Pages of requests", n, more)
	return p, nil
}

// consultancyScope is the consultancy page without its list, and the filter
// of the requests the caller may see.
func (s *Server) consultancyScope(c *fiber.Ctx) (*consultancyListPage, consultancy.Filter, error) {
	u := currentUser(c)
	ctx := c.UserContext()
	year := pricing.AcademicYearOf(s.now(), traded.London)
	p := &consultancyListPage{Page: s.page(c, "School-improvement support"), Year: year.String(), Status: c.Query("status"),
		Manager: u.Role == account.RoleSchoolManager, Adviser: u.Role == account.RoleAdviser, Admin: u.Role == account.RoleAdmin}
	var err error
	f := consultancy.Filter{Status: p.Status}
	if p.Services, err = s.consultancy.FindOfferings(ctx, year); err != nil {
		return nil, f, err
	}
	switch u.Role {
	case account.RoleSchoolManager:
		f.OrganisationID = u.OrganisationID
		org, err := s.orgs.FindByID(ctx, u.OrganisationID)
		if err != nil {
			return nil, f, err
		}
		p.Tier = org.Tier
	case account.RoleAdviser:
		f.AdviserID = u.ID
		p.Title = "Your consultancy work"
	case account.RoleAdmin, account.RoleFinance:
		p.Title = "Consultancy requests and engagements"
	default:
		return nil, f, traded.Errorf(traded.EFORBIDDEN, "Your account cannot see consultancy.")
	}
	return p, f, nil
}

// handleConsultancy is the school's request page, the adviser's work list,
// and the LA's list of requests.
func (s *Server) handleConsultancy(c *fiber.Ctx) error {
	p, err := s.consultancyList(c)
	if err != nil {
		return err
	}
	return s.render(c, "consultancy", p)
}

// consultancyRequest is a school's request for consultancy as the page's
// form or the API's JSON gives it; the domain checks it
// (consultancy.Service.CreateRequest).
type consultancyRequest struct {
	Service   string `json:"service"`
	Need      string `json:"need"`
	Preferred string `json:"preferred"`
	PONumber  string `json:"po_number"`
}

func decodeConsultancyRequest(c *fiber.Ctx) (consultancyRequest, error) {
	var in consultancyRequest
	if isAPI(c) {
		return in, decodeJSON(c, &in)
	}
	return consultancyRequest{Service: c.FormValue("service"), Need: c.FormValue("need"), Preferred: c.FormValue("preferred"),
		PONumber: c.FormValue("po_number")}, nil
}

// handleConsultancyRequest answers POST /consultancy (the form) and POST
// /api/v1/consultancy/requests: a school business manager asks for
// consultancy for their school. The API answers 201 with the request; the
// page goes to it, or shows the form again with the error by its input.
func (s *Server) handleConsultancyRequest(c *fiber.Ctx) error {
	in, err := decodeConsultancyRequest(c)
	if err != nil {
		return err
	}
	u := currentUser(c)
	cr, err := s.consultancy.CreateRequest(c.UserContext(), u, c.IP(), u.OrganisationURN, in.Service, in.Need, in.Preferred, in.PONumber)
	if isAPI(c) {
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(consultancyJSON(cr))
	}
	if err != nil {
		p, perr := s.consultancyList(c)
		if perr != nil {
			return perr
		}
		return s.renderForm(c, "consultancy", p.Page, p, err, "service", "need", "preferred", "po_number")
	}
	s.setFlash(c, "Your request "+cr.Reference+" has gone to the LA, who will send you a quote.")
	return c.Redirect(fmt.Sprintf("/consultancy/%d", cr.ID), fiber.StatusSeeOther)
}

type consultancyPage struct {
	*Page
	C         *consultancy.Request
	Advisers  []*account.User
	Rows      []int
	CanDecide bool
	CanQuote  bool
	IsAdviser bool
	CanCancel bool
	Fee       pricing.Money
	VAT       pricing.Money
	Today     string
	LateFrom  map[int64]bool
	// PORequired: the school needs a purchase-order number to accept a quote.
	PORequired bool
}

func (s *Server) consultancyPageData(c *fiber.Ctx) (*consultancyPage, error) {
	cr, err := s.ownConsultancy(c)
	if err != nil {
		return nil, err
	}
	return s.consultancyPageFor(c, cr)
}

// consultancyPageFor builds a request's page for the caller, who may see it.
func (s *Server) consultancyPageFor(c *fiber.Ctx, cr *consultancy.Request) (*consultancyPage, error) {
	var err error
	u := currentUser(c)
	p := &consultancyPage{Page: s.page(c, cr.ServiceName), C: cr, Rows: []int{0, 1, 2, 3, 4}, LateFrom: map[int64]bool{}}
	p.Breadcrumbs = []NavItem{{Label: "Home", Href: "/"}, {Label: "Consultancy", Href: "/consultancy"}}
	p.CanDecide = cr.Status == consultancy.StatusQuoted && (u.Role == account.RoleSchoolManager || u.Role == account.RoleAdmin)
	p.CanQuote = u.Role == account.RoleAdmin && (cr.Status == consultancy.StatusRequested || cr.Status == consultancy.StatusQuoted)
	p.IsAdviser = u.Role == account.RoleAdviser || u.Role == account.RoleAdmin
	p.CanCancel = cr.Status == consultancy.StatusAccepted && (u.Role == account.RoleSchoolManager || u.Role == account.RoleAdmin)
	p.Fee = cr.QuotedFee()
	p.VAT = billing.VAT(p.Fee, 2000)
	now := s.now().In(traded.London)
	p.Today = now.Format(store.DateFormat)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	holidays := s.catalogue.Holidays()
	for _, v := range cr.Visits {
		if d, err := time.Parse(store.DateFormat, v.Date); err == nil && !today.Before(holidays.AddWorkingDays(d, -10)) {
			p.LateFrom[v.ID] = true
		}
	}
	if p.CanDecide {
		org, err := s.orgs.FindByID(c.UserContext(), cr.OrganisationID)
		if err != nil {
			return nil, err
		}
		p.PORequired = org.PORequired
		// The accept form starts with the request's PO; a re-shown form
		// keeps what was typed.
		p.Form["po_number"] = cr.PONumber
	}
	if p.CanQuote {
		role := account.RoleAdviser
		active := true
		if p.Advisers, err = s.accounts.FindUsers(c.UserContext(), account.UserFilter{Role: &role, Active: &active}); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (s *Server) handleConsultancyPage(c *fiber.Ctx) error {
	p, err := s.consultancyPageData(c)
	if err != nil {
		return err
	}
	return s.render(c, "consultancy-request", p)
}

// handleConsultancyQuote is an admin's quote: an adviser and up to five
// proposed visit rows (blank rows ignored).
func (s *Server) handleConsultancyQuote(c *fiber.Ctx) error {
	p, err := s.consultancyPageData(c)
	if err != nil {
		return err
	}
	in := consultancy.QuoteInput{Billing: c.FormValue("billing"), LateCancelRule: c.FormValue("late_cancel_rule"), Note: c.FormValue("note")}
	in.AdviserID, _ = strconv.ParseInt(c.FormValue("adviser"), 10, 64)
	fields := []string{"note"}
	for i := 0; i < 5; i++ {
		date := strings.TrimSpace(c.FormValue(fmt.Sprintf("date_%d", i)))
		fields = append(fields, fmt.Sprintf("date_%d", i))
		if date == "" {
			continue
		}
		in.Visits = append(in.Visits, consultancy.VisitInput{Date: date, Part: c.FormValue(fmt.Sprintf("part_%d", i)), Mode: c.FormValue(fmt.Sprintf("mode_%d", i))})
	}
	if err := s.consultancy.Quote(c.UserContext(), currentUser(c), c.IP(), p.C.ID, in); err != nil {
		if f := traded.ErrorField(err); f == "visits" {
			err = &traded.Error{Code: traded.ErrorCode(err), Message: traded.ErrorMessage(err), Field: "date_0"}
		}
		return s.renderForm(c, "consultancy-request", p.Page, p, err, fields...)
	}
	s.setFlash(c, "The quote has been sent to the school.")
	return c.Redirect(fmt.Sprintf("/consultancy/%d", p.C.ID), fiber.StatusSeeOther)
}

func (s *Server) handleConsultancyDecision(c *fiber.Ctx) error {
	decision := c.Params("decision")
	if decision != "accept" && decision != "decline" {
		return traded.Errorf(traded.ENOTFOUND, "Page not found.")
	}
	p, err := s.consultancyPageData(c)
	if err != nil {
		return err
	}
	if u := currentUser(c); u.Role != account.RoleSchoolManager && u.Role != account.RoleAdmin {
		return traded.Errorf(traded.EFORBIDDEN, "Only the school's business manager can accept or decline a quote.")
	}
	if err := s.consultancy.DecideQuote(c.UserContext(), currentUser(c), c.IP(), p.C.ID, decision == "accept", c.FormValue("po_number")); err != nil {
		return s.renderForm(c, "consultancy-request", p.Page, p, err, "po_number")
	}
	s.wakeMail()
	s.setFlash(c, map[string]string{"accept": "You have accepted the quote: the visit days are booked.", "decline": "You have declined the quote."}[decision])
	return c.Redirect(fmt.Sprintf("/consultancy/%d", p.C.ID), fiber.StatusSeeOther)
}

// visitRequest finds the request a visit belongs to, if the caller may see it.
func (s *Server) visitRequest(c *fiber.Ctx) (*consultancy.Request, int64, error) {
	vid, err := pathID(c, "vid", "visit")
	if err != nil {
		return nil, 0, err
	}
	cr, err := s.consultancy.FindByVisit(c.UserContext(), vid)
	if err != nil {
		return nil, 0, err
	}
	if !account.CanSeeConsultancy(currentUser(c), cr.Resource()) {
		return nil, 0, traded.Errorf(traded.ENOTFOUND, "There is no visit %d.", vid)
	}
	return cr, vid, nil
}

func (s *Server) handleVisitDeliver(c *fiber.Ctx) error {
	cr, vid, err := s.visitRequest(c)
	if err != nil {
		return err
	}
	half, _ := strconv.Atoi(c.FormValue("half_days"))
	if err := s.consultancy.LogDelivery(c.UserContext(), currentUser(c), c.IP(), vid, half, c.FormValue("note")); err != nil {
		if traded.ErrorCode(err) == traded.EINTERNAL || traded.ErrorCode(err) == traded.ENOTFOUND {
			return err
		}
		p, perr := s.consultancyPageFor(c, cr)
		if perr != nil {
			return perr
		}
		// The visit's inputs are note-ID and half-ID.
		if f := traded.ErrorField(err); f == "note" || f == "half_days" {
			name := map[string]string{"note": "note", "half_days": "half"}[f]
			err = &traded.Error{Code: traded.ErrorCode(err), Message: traded.ErrorMessage(err), Field: fmt.Sprintf("%s-%d", name, vid)}
		}
		return s.renderForm(c, "consultancy-request", p.Page, p, err)
	}
	s.setFlash(c, "The visit has been logged.")
	return c.Redirect(fmt.Sprintf("/consultancy/%d", cr.ID), fiber.StatusSeeOther)
}

func (s *Server) handleVisitCancel(c *fiber.Ctx) error {
	cr, vid, err := s.visitRequest(c)
	if err != nil {
		return err
	}
	if err := s.consultancy.CancelVisit(c.UserContext(), currentUser(c), c.IP(), vid, c.FormValue("reason")); err != nil {
		return err
	}
	s.wakeMail()
	s.setFlash(c, "The visit has been cancelled.")
	return c.Redirect(fmt.Sprintf("/consultancy/%d", cr.ID), fiber.StatusSeeOther)
}

type plannerPage struct {
	*Page
	Week     string
	Prev     string
	Next     string
	Days     []string
	DayNames []string
	Advisers []plannerRow
}

type plannerRow struct {
	Adviser *account.User
	Cells   []plannerCell
}

type plannerCell struct {
	Label string
	Free  bool
}

// handlePlanner shows advisers' booked and free days, a week at a time.
func (s *Server) handlePlanner(c *fiber.Ctx) error {
	start := s.now().In(traded.London)
	if w := c.Query("week"); w != "" {
		d, err := time.Parse(store.DateFormat, w)
		if err != nil {
			return traded.FieldErrorf("week", "Give the week as a date, YYYY-MM-DD.")
		}
		start = d
	}
	monday := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
	for monday.Weekday() != time.Monday {
		monday = monday.AddDate(0, 0, -1)
	}
	p := &plannerPage{Page: s.page(c, "Advisers' planner"), Week: monday.Format(store.DateFormat),
		Prev: monday.AddDate(0, 0, -7).Format(store.DateFormat), Next: monday.AddDate(0, 0, 7).Format(store.DateFormat)}
	for i := 0; i < 5; i++ {
		d := monday.AddDate(0, 0, i)
		p.Days = append(p.Days, d.Format(store.DateFormat))
		p.DayNames = append(p.DayNames, d.Format("Mon 2 Jan"))
	}
	plan, err := s.consultancy.Planner(c.UserContext(), p.Days[0], p.Days[4])
	if err != nil {
		return err
	}
	role := account.RoleAdviser
	advisers, err := s.accounts.FindUsers(c.UserContext(), account.UserFilter{Role: &role})
	if err != nil {
		return err
	}
	holidays := s.catalogue.Holidays()
	for _, a := range advisers {
		row := plannerRow{Adviser: a}
		for i, day := range p.Days {
			cell := plannerCell{Free: true, Label: "Free"}
			d, _ := time.Parse(store.DateFormat, day)
			if !holidays.IsWorkingDay(d) {
				cell = plannerCell{Label: "Bank holiday"}
			} else if ad := plan[a.ID][day]; ad != nil {
				var parts []string
				for _, part := range []string{"day", "am", "pm"} {
					if ref, ok := ad.Parts[part]; ok {
						parts = append(parts, map[string]string{"day": "All day", "am": "Morning", "pm": "Afternoon"}[part]+" "+ref)
					}
				}
				cell = plannerCell{Label: strings.Join(parts, "; ")}
			}
			_ = i
			row.Cells = append(row.Cells, cell)
		}
		p.Advisers = append(p.Advisers, row)
	}
	return s.render(c, "planner", p)
}

func (s *Server) handleAvailability(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "adviser")
	if err != nil {
		return err
	}
	year, err := pricing.ParseAcademicYear(c.FormValue("year"))
	if err != nil {
		return traded.FieldErrorf("year", "Choose an academic year.")
	}
	days := map[string]int{}
	for _, t := range catalogue.Terms {
		if v := strings.TrimSpace(c.FormValue(t)); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return traded.FieldErrorf(t, "Give %s's days as a whole number.", catalogue.TermNames[t])
			}
			days[t] = n
		}
	}
	if err := s.consultancy.SetAvailability(c.UserContext(), currentUser(c).Actor(c.IP()), id, year, days); err != nil {
		return err
	}
	s.setFlash(c, "The adviser's days have been saved.")
	return c.Redirect("/admin/consultancy/report?year="+year.String(), fiber.StatusSeeOther)
}

func (s *Server) handleConsultancyRates(c *fiber.Ctx) error {
	year, err := pricing.ParseAcademicYear(c.FormValue("year"))
	if err != nil {
		return traded.FieldErrorf("year", "Choose an academic year.")
	}
	var rates []catalogue.ConsultancyRate
	for _, t := range pricing.Tiers {
		day, err1 := pricing.ParseMoney(c.FormValue("day_" + string(t)))
		half, err2 := pricing.ParseMoney(c.FormValue("half_" + string(t)))
		if err1 != nil || err2 != nil {
			return traded.FieldErrorf("day_"+string(t), "Enter the %s day and half-day rates in pounds.", t)
		}
		rates = append(rates, catalogue.ConsultancyRate{Product: c.FormValue("service"), Tier: t, Day: day, HalfDay: half})
	}
	if err := s.catalogue.SetConsultancyRates(c.UserContext(), currentUser(c).Actor(c.IP()), year, rates); err != nil {
		return err
	}
	s.setFlash(c, "The rates have been saved as a new version of the "+year.String()+" price list.")
	return c.Redirect("/consultancy", fiber.StatusSeeOther)
}

func (s *Server) handleConsultancyInvoices(c *fiber.Ctx) error {
	run, err := s.billing.InvoiceConsultancy(c.UserContext(), currentUser(c).Actor(c.IP()), billing.StartOfMonth(s.now()))
	if err != nil {
		return err
	}
	s.wakeMail()
	s.setFlash(c, fmt.Sprintf("Consultancy invoicing: %d invoice(s).", len(run.Invoices)))
	return c.Redirect("/", fiber.StatusSeeOther)
}

// API.

func (s *Server) handleConsultancyServicesAPI(c *fiber.Ctx) error {
	year, err := s.catalogueYear(c)
	if err != nil {
		return err
	}
	services, err := s.consultancy.FindOfferings(c.UserContext(), year)
	if err != nil {
		return err
	}
	out := []fiber.Map{}
	for _, cs := range services {
		rates := fiber.Map{}
		for _, t := range pricing.Tiers {
			if d, ok := cs.Day[t]; ok {
				rates[string(t)] = fiber.Map{"day_pence": int64(d), "half_day_pence": int64(cs.HalfDay[t])}
			}
		}
		out = append(out, fiber.Map{"code": cs.Code, "name": cs.Name, "description": cs.Description,
			"typical_days": float64(cs.TypicalHalfDays) / 2, "vat_treatment": cs.VATTreatment, "vat_rate_basis_points": cs.VATRateBP, "rates": rates})
	}
	return c.JSON(fiber.Map{"academic_year": year.String(), "services": out})
}

func consultancyJSON(cr *consultancy.Request) fiber.Map {
	visits := []fiber.Map{}
	for _, v := range cr.Visits {
		visits = append(visits, fiber.Map{"id": v.ID, "date": v.Date, "part": v.Part, "mode": v.Mode, "status": v.Status,
			"delivered_half_days": v.DeliveredHalf, "note": v.DeliveryNote, "charged_half_days": v.ChargeHalfDays})
	}
	return fiber.Map{"id": cr.ID, "reference": cr.Reference, "organisation": cr.OrgURN, "service": cr.Product, "status": cr.Status,
		"need": cr.Need, "preferred": cr.Preferred, "po_number": cr.PONumber, "adviser": cr.AdviserName,
		"day_pence": int64(cr.DayRate), "half_day_pence": int64(cr.HalfDayRate), "quoted_half_days": cr.QuotedHalfDays(),
		"quoted_net_pence": int64(cr.QuotedFee()), "billing": cr.Billing, "late_cancel_rule": cr.LateCancelRule, "visits": visits}
}

// handleConsultanciesAPI answers GET /api/v1/requests: the requests the
// caller may see, a page at a time, newest first.
func (s *Server) handleConsultanciesAPI(c *fiber.Ctx) error {
	pg, err := apiPage(c, "requests")
	if err != nil {
		return err
	}
	_, f, err := s.consultancyScope(c)
	if err != nil {
		return err
	}
	f.Limit, f.After = pg.Fetch(), pg.After
	requests, err := s.consultancy.Find(c.UserContext(), f)
	if err != nil {
		return err
	}
	requests, next := pageItems(c, pg, requests, (*consultancy.Request).Cursor)
	out := []fiber.Map{}
	for _, cr := range requests {
		out = append(out, consultancyJSON(cr))
	}
	return c.JSON(fiber.Map{"requests": out, "next": next})
}

func (s *Server) handleConsultancyAPI(c *fiber.Ctx) error {
	cr, err := s.ownConsultancy(c)
	if err != nil {
		return err
	}
	return c.JSON(consultancyJSON(cr))
}

type consultancyReportPage struct {
	*Page
	Year        string
	ByService   []billing.IncomeRow
	ByQuadrant  []billing.IncomeRow
	Utilisation []consultancy.Utilisation
	Services    []*consultancy.Offering
	Advisers    []*account.User
	Terms       []string
	ServiceBars []bar
	QuadBars    []bar
	UseBars     []bar
}

// bar is one horizontal bar of a report chart, as a share of the widest.
type bar struct {
	Label string
	Value string
	Width int // per cent of the chart's width
	Y     int
}

func bars(rows []billing.IncomeRow) []bar {
	var top pricing.Money
	for _, r := range rows {
		top = max(top, r.Net)
	}
	var out []bar
	for i, r := range rows {
		w := 0
		if top > 0 {
			w = int(int64(r.Net) * 100 / int64(top))
		}
		out = append(out, bar{Label: r.Label, Value: r.Net.String(), Width: w, Y: i * 28})
	}
	return out
}

// handleConsultancyReport shows income by service and by quadrant, and
// advisers' utilisation by half-term, each as a chart and a table.
func (s *Server) handleConsultancyReport(c *fiber.Ctx) error {
	year, err := s.catalogueYear(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	p := &consultancyReportPage{Page: s.page(c, "Consultancy report "+year.String()), Year: year.String(), Terms: catalogue.Terms}
	if p.ByService, p.ByQuadrant, err = s.billing.ConsultancyIncome(ctx, year, consultancy.Quadrant); err != nil {
		return err
	}
	if p.Utilisation, err = s.consultancy.AdviserUtilisation(ctx, year); err != nil {
		return err
	}
	if p.Services, err = s.consultancy.FindOfferings(ctx, year); err != nil {
		return err
	}
	role := account.RoleAdviser
	if p.Advisers, err = s.accounts.FindUsers(ctx, account.UserFilter{Role: &role}); err != nil {
		return err
	}
	p.ServiceBars, p.QuadBars = bars(p.ByService), bars(p.ByQuadrant)
	for i, u := range p.Utilisation {
		p.UseBars = append(p.UseBars, bar{Label: u.Adviser + ", " + catalogue.TermNames[u.Term], Value: fmt.Sprintf("%d%%", u.PercentUsed),
			Width: min(u.PercentUsed, 100), Y: i * 28})
	}
	return s.render(c, "consultancy-report", p)
}
