package web

import (
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"traded"
	"traded/account"
	"traded/booking"
	"traded/catalogue"
	"traded/pricing"
)

// programmeRoutes are the public programme of sessions and a session's
// page, which holds the booking form (bookings.go takes what it sends).
func (s *Server) programmeRoutes(app *fiber.App) {
	app.Get("/programme", s.require(anyone), s.handleProgramme)
	app.Get("/sessions/:id", s.require(anyone), s.handleSessionPage)
}

type termGroup struct {
	Name     string
	Sessions []*catalogue.Session
}

type programmePage struct {
	*Page
	Year   string
	Years  []string
	Terms  []termGroup
	Others []*catalogue.Session
}

// handleProgramme is the public programme: the year's sessions by half-term
// with places left.
func (s *Server) handleProgramme(c *fiber.Ctx) error {
	year, err := s.catalogueYear(c)
	if err != nil {
		return err
	}
	current := pricing.AcademicYearOf(s.now(), traded.London)
	if c.Query("year", c.Query("academic_year")) == "" {
		year = s.programmeYear(c, current)
	}
	return s.public(c, fmt.Sprintf("programme %s %s", year, current), []string{"sessions", "courses", "term_dates"},
		func() error { return s.renderProgramme(c, year, current) })
}

// programmeYear is the year the programme opens on: the current academic
// year while any of its sessions is still to start, else the next year when
// it has sessions (in the summer, when this year's are over and next
// year's programme is published), else the current one.
func (s *Server) programmeYear(c *fiber.Ctx, current pricing.AcademicYear) pricing.AcademicYear {
	if still, err := s.catalogue.HasSessionAfter(c.UserContext(), current, s.now()); err != nil || still {
		return current
	}
	if next, err := s.catalogue.HasSessionAfter(c.UserContext(), current+1, time.Time{}); err == nil && next {
		return current + 1
	}
	return current
}

// renderProgramme renders the programme of year, offering the years around
// current that have sessions.
func (s *Server) renderProgramme(c *fiber.Ctx, year, current pricing.AcademicYear) error {
	ctx := c.UserContext()
	sessions, err := s.catalogue.FindSessions(ctx, catalogue.SessionFilter{Year: &year})
	if err != nil {
		return err
	}
	terms, err := s.catalogue.FindTerms(ctx, year)
	if err != nil {
		return err
	}
	p := &programmePage{Page: s.page(c, "Training programme "+year.String()), Year: year.String()}
	for _, y := range []pricing.AcademicYear{current - 1, current, current + 1} {
		if list, err := s.catalogue.FindSessions(ctx, catalogue.SessionFilter{Year: &y}); err == nil && len(list) > 0 {
			p.Years = append(p.Years, y.String())
		}
	}
	for _, t := range terms {
		g := termGroup{Name: t.Name()}
		for _, x := range sessions {
			day := x.StartsAt.In(traded.London)
			d := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
			if !d.Before(t.StartsOn) && !d.After(t.EndsOn) {
				g.Sessions = append(g.Sessions, x)
			}
		}
		if len(g.Sessions) > 0 {
			p.Terms = append(p.Terms, g)
		}
	}
	placed := map[int64]bool{}
	for _, g := range p.Terms {
		for _, x := range g.Sessions {
			placed[x.ID] = true
		}
	}
	for _, x := range sessions {
		if !placed[x.ID] {
			p.Others = append(p.Others, x)
		}
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Render("programme", p)
}

type sessionPage struct {
	*Page
	Session      *catalogue.Session
	Course       string
	Open         bool
	Full         bool
	CanBook      bool
	Teacher      bool
	Rows         []int
	Quote        []*booking.Charge
	QuoteTotal   pricing.Money
	Subscriber   bool
	SchoolBooked []*booking.Booking
	FreeCancelBy time.Time
	Approval     bool
	// QuoteN is how many people Quote prices: the teacher alone, the rows
	// filled in when the form comes back with an error, else 2.
	QuoteN int
	// PORequired: the school needs a purchase-order number for what it pays.
	PORequired bool
	// ForSchool: the caller (an LA admin) books for a school they name by
	// its URN, on the form's organisation input.
	ForSchool bool
}

// filledRows counts the booking form's delegate rows with anything typed.
func filledRows(c *fiber.Ctx) int {
	n := 0
	for i := 0; i < bookFormRows; i++ {
		if strings.TrimSpace(c.FormValue(fmt.Sprintf("name_%d", i))) != "" || strings.TrimSpace(c.FormValue(fmt.Sprintf("email_%d", i))) != "" {
			n++
		}
	}
	return n
}

func (s *Server) sessionPageData(c *fiber.Ctx) (*sessionPage, error) {
	sess, err := s.sessionParam(c)
	if err != nil {
		return nil, err
	}
	p := &sessionPage{Page: s.page(c, sess.Title), Session: sess, Rows: []int{0, 1, 2, 3},
		FreeCancelBy: s.booking.FreeCancellationUntil(sess)}
	p.Breadcrumbs = []NavItem{{Label: "Home", Href: "/"}, {Label: "Programme", Href: "/programme?year=" + sess.Year.String()}}
	now := s.now()
	p.Open = sess.Status == "scheduled" && now.Before(sess.BookingCutoffAt)
	p.Full = sess.PlacesLeft() == 0
	u := currentUser(c)
	if u != nil && u.Role.School() {
		p.CanBook = p.Open
		p.Teacher = u.Role == account.RoleTeacher
		ctx := c.UserContext()
		if org, err := s.orgs.FindByID(ctx, u.OrganisationID); err == nil {
			p.Approval = p.Teacher && org.TeacherApproval
			p.PORequired = org.PORequired
		}
		n := 2
		if p.Teacher {
			n = 1
		} else if c.Method() == fiber.MethodPost {
			// The form came back: price the people it names.
			n = max(filledRows(c), 1)
		}
		p.QuoteN = n
		if p.CanBook {
			if p.Quote, p.Subscriber, err = s.booking.QuoteBooking(ctx, u.OrganisationURN, sess.ID, n); err == nil {
				for _, q := range p.Quote {
					p.QuoteTotal += q.Amount
				}
			}
		}
		f := booking.BookingFilter{SessionID: sess.ID, OrganisationID: u.OrganisationID}
		if p.Teacher {
			f.Delegate = u.Email
		}
		if p.SchoolBooked, err = s.booking.FindBookings(ctx, f); err != nil {
			return nil, err
		}
		if p.Teacher {
			for _, b := range p.SchoolBooked {
				switch b.Status {
				case booking.StatusConfirmed, booking.StatusRequested, booking.StatusWaitlisted, booking.StatusOffered:
					p.CanBook = false // already booked: nothing more to book
				}
			}
		}
		if p.Teacher {
			p.Form["name_0"], p.Form["email_0"] = u.Name, u.Email
		}
	}
	if u != nil && u.Role == account.RoleAdmin {
		p.CanBook, p.ForSchool, p.QuoteN = p.Open, true, 2
		// The form came back: price the people it names for the school it
		// names, if that is a school. Before then there is no school to price.
		urn, err := formURN(c.FormValue("organisation"))
		if c.Method() == fiber.MethodPost && p.CanBook && err == nil && urn != 0 {
			if org, err := s.ownOrganisation(c, urn); err == nil {
				p.PORequired, p.QuoteN = org.PORequired, max(filledRows(c), 1)
				if p.Quote, p.Subscriber, err = s.booking.QuoteBooking(c.UserContext(), org.URN, sess.ID, p.QuoteN); err == nil {
					for _, q := range p.Quote {
						p.QuoteTotal += q.Amount
					}
				}
			}
		}
	}
	return p, nil
}

func (s *Server) handleSessionPage(c *fiber.Ctx) error {
	p, err := s.sessionPageData(c)
	if err != nil {
		return err
	}
	return s.render(c, "session", p)
}

// sessionJSON is a session as the API gives it.
type sessionJSON struct {
	ID         int64     `json:"id"`
	Course     string    `json:"course"`
	Product    string    `json:"product"`
	Title      string    `json:"title"`
	StartsAt   time.Time `json:"starts_at"`
	EndsAt     time.Time `json:"ends_at"`
	Capacity   int       `json:"capacity"`
	PlacesLeft int       `json:"places_left"`
	Status     string    `json:"status"`
}

func toSessionJSON(x *catalogue.Session) sessionJSON {
	return sessionJSON{ID: x.ID, Course: x.CourseCode, Product: x.ProductCode, Title: x.Title,
		StartsAt: x.StartsAt.UTC(), EndsAt: x.EndsAt().UTC(), Capacity: x.Capacity, PlacesLeft: x.PlacesLeft(), Status: x.Status}
}

func (s *Server) sessionParam(c *fiber.Ctx) (*catalogue.Session, error) {
	id, err := pathID(c, "id", "session")
	if err != nil {
		return nil, err
	}
	return s.catalogue.FindSessionByID(c.UserContext(), id)
}
