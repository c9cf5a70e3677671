package web

import (
	"html/template"
	"time"

	"github.com/gofiber/fiber/v2"

	"traded"
	"traded/pricing"
)

// Page is what every template receives: the frame's fields and the page's own.
type Page struct {
	Title       string
	Nav         []NavItem
	Breadcrumbs []NavItem
	Errors      []FieldError
	Flash       string
	Message     string
	Form        map[string]string

	// Data is the page's own content.
	Data any
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

// page returns the frame for a page with the given title.
func (s *Server) page(c *fiber.Ctx, title string) *Page {
	p := &Page{Title: title}
	path := c.Path()
	for _, n := range []NavItem{{Label: "Catalogue", Href: "/catalogue"}} {
		n.Active = path == n.Href
		p.Nav = append(p.Nav, n)
	}
	return p
}

// render executes a page template into the response as HTML.
func (s *Server) render(c *fiber.Ctx, name string, p any) error {
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Render(name, p)
}

func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"londonDateTime": func(t time.Time) string { return t.In(traded.London).Format("Monday 2 January 2006, 3:04pm") },
		"londonDate":     func(t time.Time) string { return t.In(traded.London).Format("2 January 2006") },
		"pounds":         func(p int64) string { return pricing.Money(p).String() },
	}
}
