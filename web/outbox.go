package web

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"traded"
	"traded/catalogue"
	"traded/mail"
	"traded/pricing"
	"traded/store"
)

func (s *Server) outboxRoutes(app *fiber.App) {
	app.Get("/admin/outbox", s.require(admin), s.handleOutbox)
	app.Post("/admin/outbox/:id/resend", s.require(admin), s.handleResend)
	app.Get("/admin/terms", s.require(admin), s.handleTerms)
	app.Post("/admin/terms", s.require(admin), s.handleTermsSave)
}

type outboxPage struct {
	*Page
	Status   string
	Messages []mail.Queued
	Counts   mail.OutboxCounts
	Pager    Pager
}

// handleOutbox shows the mail outbox: queued, sent and failed messages,
// newest first, a page at a time.
func (s *Server) handleOutbox(c *fiber.Ctx) error {
	p := &outboxPage{Page: s.page(c, "Mail outbox"), Status: c.Query("status")}
	n, err := pageNumber(c, "page")
	if err != nil {
		return err
	}
	if p.Messages, p.Counts, err = mail.FindOutbox(c.UserContext(), s.db, p.Status, perPage+1, pageOffset(n)); err != nil {
		return err
	}
	var more bool
	p.Messages, more = cutPage(p.Messages)
	p.Pager = pager(c, "/admin/outbox", "page", "Pages of messages", n, more)
	return s.render(c, "outbox", p)
}

func (s *Server) handleResend(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "message")
	if err != nil {
		return err
	}
	if err := mail.Resend(c.UserContext(), s.db, currentUser(c).Actor(c.IP()), id); err != nil {
		return err
	}
	s.wakeMail()
	s.setFlash(c, fmt.Sprintf("Message %d is queued to be sent again.", id))
	back := url.Values{"status": {c.FormValue("status")}}
	if n, err := strconv.Atoi(c.FormValue("page")); err == nil && n > 1 && n <= maxPage {
		back.Set("page", strconv.Itoa(n))
	}
	return c.Redirect("/admin/outbox?"+back.Encode(), fiber.StatusSeeOther)
}

type termsPage struct {
	*Page
	Year  string
	Years []string
	Terms []termRow
}

type termRow struct {
	Key, Name, From, To string
}

func (s *Server) termsPage(c *fiber.Ctx, yearText string) (*termsPage, pricing.AcademicYear, error) {
	year := pricing.AcademicYearOf(s.now(), traded.London)
	if yearText != "" {
		y, err := pricing.ParseAcademicYear(yearText)
		if err != nil {
			return nil, 0, traded.FieldErrorf("year", "Choose an academic year such as 2026/27.")
		}
		year = y
	}
	p := &termsPage{Page: s.page(c, "Term dates "+year.String()), Year: year.String()}
	current := pricing.AcademicYearOf(s.now(), traded.London)
	for y := current - 1; y <= current+1; y++ {
		p.Years = append(p.Years, y.String())
	}
	terms, err := s.catalogue.FindTerms(c.UserContext(), year)
	if err != nil {
		return nil, 0, err
	}
	if len(terms) == 0 {
		terms = catalogue.TypicalTerms(year)
		p.Message = "These are typical dates, not yet saved: correct them to the published dates and save."
	}
	for _, t := range terms {
		p.Terms = append(p.Terms, termRow{Key: t.Term, Name: t.Name(), From: t.StartsOn.Format(store.DateFormat), To: t.EndsOn.Format(store.DateFormat)})
	}
	return p, year, nil
}

// handleTerms shows a year's LA term dates for an admin to edit: payment
// reminders never go out in the holidays between them.
func (s *Server) handleTerms(c *fiber.Ctx) error {
	p, _, err := s.termsPage(c, c.Query("year"))
	if err != nil {
		return err
	}
	return s.render(c, "terms", p)
}

func (s *Server) handleTermsSave(c *fiber.Ctx) error {
	p, year, err := s.termsPage(c, c.FormValue("year"))
	if err != nil {
		return err
	}
	var terms []catalogue.Term
	for i, name := range catalogue.Terms {
		from, errFrom := time.Parse(store.DateFormat, c.FormValue(name+"_from"))
		to, errTo := time.Parse(store.DateFormat, c.FormValue(name+"_to"))
		p.Terms[i].From, p.Terms[i].To = c.FormValue(name+"_from"), c.FormValue(name+"_to")
		if errFrom != nil || errTo != nil {
			return s.renderForm(c, "terms", p.Page, p, traded.FieldErrorf(name+"_from", "Enter %s's first and last days as dates.", catalogue.TermNames[name]))
		}
		terms = append(terms, catalogue.Term{Year: year, Term: name, StartsOn: from, EndsOn: to})
	}
	if err := s.catalogue.SetTerms(c.UserContext(), currentUser(c).Actor(c.IP()), year, terms); err != nil {
		if f := traded.ErrorField(err); f != "" {
			err = &traded.Error{Code: traded.ErrorCode(err), Message: traded.ErrorMessage(err), Field: f + "_from"}
		}
		return s.renderForm(c, "terms", p.Page, p, err)
	}
	s.setFlash(c, "The term dates for "+year.String()+" have been saved.")
	return c.Redirect("/admin/terms?year="+year.String(), fiber.StatusSeeOther)
}
