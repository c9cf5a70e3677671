package web

import (
	"errors"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"traded"
	"traded/account"
	"traded/billing"
	"traded/booking"
	"traded/catalogue"
	"traded/consultancy"
	"traded/pricing"
)

// Page is what every template receives: the frame's fields and the page's own.
type Page struct {
	Title       string
	User        *account.User
	CSRF        string
	Nav         []NavItem
	Breadcrumbs []NavItem
	Errors      []FieldError
	Flash       string
	Message     string
	// Form holds what the user typed, to show it again beside the errors.
	Form map[string]string
	// FieldErrors holds each input's message, by input name.
	FieldErrors map[string]string
	// Wide lays the page out up to 1200px instead of GOV.UK's 960px, for
	// finance's tables: a 1280px window shows them without wrapping a figure.
	Wide bool
}

// NavItem is a link in the header or breadcrumbs.
type NavItem struct {
	Label  string
	Href   string
	Active bool
}

// FieldError is one message in an error summary, linked to its input.
type FieldError struct {
	Field   string
	Message string
}

// navFor is each role's header menu.
var navFor = map[account.Role][]NavItem{
	"": {{Label: "Programme", Href: "/programme"}, {Label: "Catalogue", Href: "/catalogue"}, {Label: "Sign in", Href: "/sign-in"}},
	account.RoleSchoolManager: {{Label: "Home", Href: "/"}, {Label: "Programme", Href: "/programme"}, {Label: "Bookings", Href: "/bookings"},
		{Label: "Consultancy", Href: "/consultancy"}, {Label: "Invoices", Href: "/invoices"}, {Label: "Staff", Href: "/school/staff"},
		{Label: "Your account", Href: "/account"}},
	account.RoleTeacher: {{Label: "Home", Href: "/"}, {Label: "Programme", Href: "/programme"}, {Label: "Your bookings", Href: "/bookings"},
		{Label: "Your account", Href: "/account"}},
	account.RoleFinance: {{Label: "Home", Href: "/"}, {Label: "Invoices", Href: "/invoices"}, {Label: "Organisations", Href: "/admin/organisations"},
		{Label: "Exports", Href: "/finance/exports"},
		{Label: "Catalogue", Href: "/catalogue"}, {Label: "Your account", Href: "/account"}},
	account.RoleAdmin: {{Label: "Home", Href: "/"}, {Label: "Sessions", Href: "/admin/sessions"}, {Label: "Consultancy", Href: "/consultancy"},
		{Label: "Invoices", Href: "/invoices"},
		{Label: "Organisations", Href: "/admin/organisations"}, {Label: "Users", Href: "/admin/users"}, {Label: "Audit log", Href: "/admin/audit"},
		{Label: "Your account", Href: "/account"}},
	account.RoleAdviser: {{Label: "Home", Href: "/"}, {Label: "Consultancy", Href: "/consultancy"}, {Label: "Your account", Href: "/account"}},
}

// page returns the frame for a page with the given title.
// widePage is page laid out wide (Page.Wide), for finance's tables.
func (s *Server) widePage(c *fiber.Ctx, title string) *Page {
	p := s.page(c, title)
	p.Wide = true
	return p
}

func (s *Server) page(c *fiber.Ctx, title string) *Page {
	u := currentUser(c)
	p := &Page{Title: title, User: u, Form: map[string]string{}, FieldErrors: map[string]string{}}
	p.CSRF, _ = c.Locals(localCSRF).(string)
	role := account.Role("")
	if u != nil {
		role = u.Role
	}
	path := c.Path()
	for _, n := range navFor[role] {
		n.Active = path == n.Href || (n.Href != "/" && strings.HasPrefix(path, n.Href+"/"))
		p.Nav = append(p.Nav, n)
	}
	if c.Method() == fiber.MethodGet {
		p.Flash = s.takeFlash(c)
	}
	if expired, _ := c.Locals("traded.expired").(bool); expired && p.Flash == "" {
		p.Flash = "You were signed out because your session ended. Sign in again to carry on."
	}
	return p
}

// withError adds err to the page's error summary and, when it names an
// input, beside that input; it keeps what the user typed. It returns the
// status the page should be sent with.
func (p *Page) withError(err error, c *fiber.Ctx, fields ...string) int {
	for _, f := range fields {
		p.Form[f] = c.FormValue(f)
	}
	field := traded.ErrorField(err)
	p.Errors = append(p.Errors, FieldError{Field: field, Message: traded.ErrorMessage(err)})
	if field != "" {
		p.FieldErrors[field] = traded.ErrorMessage(err)
	}
	return statusOf(traded.ErrorCode(err))
}

// render executes a page template into the response as HTML.
func (s *Server) render(c *fiber.Ctx, name string, p any) error {
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Render(name, p)
}

// renderForm re-renders a form page after err: the status of err's code,
// the error summary, and the user's input kept (never passwords).
func (s *Server) renderForm(c *fiber.Ctx, name string, p *Page, data any, err error, fields ...string) error {
	if traded.ErrorCode(err) == traded.EINTERNAL {
		return err
	}
	c.Status(p.withError(err, c, fields...))
	if data == nil {
		data = p
	}
	return s.render(c, name, data)
}

// onInputs puts an error the domain raised about one of its fields on the
// form's input for it, where the form calls it otherwise: inputs maps the
// domain's field names to the form's.
func onInputs(err error, inputs map[string]string) error {
	var e *traded.Error
	if errors.As(err, &e) {
		if input, ok := inputs[e.Field]; ok {
			return &traded.Error{Code: e.Code, Message: e.Message, Field: input}
		}
	}
	return err
}

// fieldArgs is what the input partial needs.
type fieldArgs struct {
	Name, Label, Type, Hint, Autocomplete, Value, Error string
	Width                                               string
}

func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"londonDateTime": func(t time.Time) string { return t.In(traded.London).Format("Monday 2 January 2006, 3:04pm") },
		"londonDate":     func(t time.Time) string { return t.In(traded.London).Format("2 January 2006") },
		"londonShort":    func(t time.Time) string { return t.In(traded.London).Format("2 Jan 2006 15:04") },
		"pounds":         func(p int64) string { return pricing.Money(p).String() },
		"statusLabel":    billing.StatusLabel,
		"londonTime":     func(t time.Time) string { return t.In(traded.London).Format("3:04pm") },
		"londonShortDay": func(t time.Time) string { return t.In(traded.London).Format("2 Jan 2006") },
		// shortDay shows a stored date in a table: 22 Nov 2026.
		"shortDay": func(d string) string {
			t, err := time.Parse("2006-01-02", d)
			if err != nil {
				return d
			}
			return t.Format("2 Jan 2006")
		},
		// day shows a stored date (YYYY-MM-DD) as people write it: 22 November 2026.
		"day": func(d string) string {
			t, err := time.Parse("2006-01-02", d)
			if err != nil {
				return d
			}
			return t.Format("2 January 2006")
		},
		"inc":   func(i int) int { return i + 1 },
		"add":   func(a, b int) int { return a + b },
		"mul":   func(a, b int) int { return a * b },
		"tiers": func() []pricing.Tier { return pricing.Tiers },
		"halfDays": func(n int) string {
			switch {
			case n == 1:
				return "half a day"
			case n%2 == 0 && n == 2:
				return "1 day"
			case n%2 == 0:
				return fmt.Sprintf("%d days", n/2)
			}
			return fmt.Sprintf("%d and a half days", n/2)
		},
		"partLabel": func(p string) string {
			return map[string]string{"day": "Whole day", "am": "Morning", "pm": "Afternoon"}[p]
		},
		"visitStatus": func(s string) string {
			return map[string]string{"proposed": "Proposed", "planned": "Planned", "delivered": "Delivered", "cancelled": "Cancelled"}[s]
		},
		"consultancyStatus": func(s string) string {
			return map[string]string{"requested": "Waiting for a quote", "quoted": "Quote to decide", "accepted": "Engaged",
				"declined": "Declined", "withdrawn": "Withdrawn", "completed": "Completed", "cancelled": "Cancelled"}[s]
		},
		"consultancyColour": func(s string) string {
			return map[string]string{"requested": "yellow", "quoted": "purple", "accepted": "green", "completed": "blue"}[s] + map[bool]string{true: "grey", false: ""}[s == "declined" || s == "withdrawn" || s == "cancelled"]
		},
		"termName":        func(t string) string { return catalogue.TermNames[t] },
		"chartHeight":     func(bars []bar) int { return max(len(bars)*28, 28) },
		"chartOf":         func(title string, bars []bar) chartArgs { return chartArgs{Title: title, Bars: bars} },
		"visitRow":        func(p *consultancyPage, v *consultancy.Visit) visitRowArgs { return visitRowArgs{Page: p, Visit: v} },
		"attendanceLabel": func(a string) string { return attendanceLabels[a] },
		// cutoffDay names the day a cut-off instant (midnight at its end) closes.
		"cutoffDay":        func(t time.Time) string { return t.Add(-time.Second).In(traded.London).Format("Monday 2 January 2006") },
		"attendanceValues": func() []string { return []string{"attended", "partial", "absent"} },
		"bookingStatus": func(s string) string {
			return map[string]string{"requested": "Waiting for approval", "confirmed": "Confirmed", "waitlisted": "On the waiting list",
				"offered": "Place offered", "cancelled": "Cancelled", "declined": "Declined", "expired": "Offer expired"}[s]
		},
		// placeStatus labels a delegate's place (Booking.PlaceStatus): only a
		// place on a confirmed booking is "Booked".
		"placeStatus": placeStatus,
		// poLabel and poHint are the purchase-order input's label and hint:
		// "(optional)" only for a school that does not need one.
		"poLabel": func(required bool) string {
			if required {
				return "Purchase order number"
			}
			return "Purchase order number (optional)"
		},
		"poHint": func(required bool) string {
			if required {
				return "Your school needs a purchase order number for anything it pays for: we print it on the invoice"
			}
			return "If your school raises purchase orders, we print the number on the invoice"
		},
		// anyPO reports whether any of the bookings has a PO number.
		"anyPO": func(bs []*booking.Booking) bool {
			for _, b := range bs {
				if b.PONumber != "" {
					return true
				}
			}
			return false
		},
		"methodLabel":  billing.MethodLabel,
		"neg":          func(m pricing.Money) pricing.Money { return -m },
		"vatTreatment": billing.VATTreatmentLabel,
		// tierPlural names a tier's customers together: "Essex academies".
		"tierPlural": func(t pricing.Tier) string {
			switch t {
			case pricing.Maintained:
				return "Essex LA-maintained schools"
			case pricing.Academy:
				return "Essex academies"
			case pricing.External:
				return "schools and academies outside Essex"
			}
			return t.Label()
		},
		// vatRate shows a rate in basis points as people write it: 20%, 17.5%.
		"vatRate": func(bp int64) string { return billing.RatePercent(bp) + "%" },

		// width sets the input's width in characters (govuk-input--width-N):
		// {{template "partials/input" (width 10 (field . "amount" ...))}}
		"width": func(n int, f fieldArgs) fieldArgs { f.Width = strconv.Itoa(n); return f },
		// field builds the arguments of partials/input from the page:
		// {{template "partials/input" (field . "email" "Email address" "email" "hint" "autocomplete")}}
		"field": func(p *Page, name, label, typ, hint, autocomplete string) fieldArgs {
			f := fieldArgs{Name: name, Label: label, Type: typ, Hint: hint, Autocomplete: autocomplete}
			if p != nil {
				f.Value, f.Error = p.Form[name], p.FieldErrors[name]
			}
			if typ == "password" {
				f.Value = ""
			}
			return f
		},
	}
}

// chartArgs is what the bar-chart partial needs.
type chartArgs struct {
	Title string
	Bars  []bar
}

// visitRowArgs is what the visit-row partial needs.
type visitRowArgs struct {
	Page  *consultancyPage
	Visit *consultancy.Visit
}

// placeStatus is how a delegate's place reads on a booking page: "Booked"
// (or the register's mark) only while a confirmed booking holds it; a
// request's, an offer's or a waiting booking's delegates are not booked,
// and a place that has ended says how.
func placeStatus(b *booking.Booking, d *booking.Delegate) string {
	switch st := b.PlaceStatus(d); st {
	case "active":
		switch b.Status {
		case booking.StatusRequested:
			return "Awaiting approval"
		case booking.StatusOffered:
			return "Offered"
		}
		if label := attendanceLabels[d.Attendance]; label != "" {
			return label
		}
		return "Booked"
	case booking.StatusWaitlisted:
		return "Waiting list"
	case booking.StatusCancelled:
		return "Cancelled"
	case booking.StatusDeclined:
		return "Declined"
	case booking.StatusExpired:
		return "Expired"
	case "replaced":
		return "Replaced"
	default:
		return st
	}
}

var attendanceLabels = map[string]string{"attended": "Attended", "partial": "Attended in part", "absent": "Absent"}
