package web

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"traded"
	"traded/booking"
	"traded/catalogue"
)

// sessionRoutes are the training sessions as admins schedule, change and
// cancel them and keep their registers, on pages and through the API.
func (s *Server) sessionRoutes(app *fiber.App) {
	api := app.Group("/api/v1")
	api.Get("/sessions", s.require(anyone), s.handleSessionsAPI)
	api.Get("/sessions/:id", s.require(anyone), s.handleSessionAPI)
	api.Post("/sessions", s.require(admin), s.handleSessionCreateAPI)
	api.Patch("/sessions/:id", s.require(admin), s.handleSessionUpdateAPI)
	api.Post("/sessions/:id/cancel", s.require(admin), s.handleSessionCancelAPI)
	api.Get("/sessions/:id/register", s.require(admin), s.handleRegisterAPI)
	api.Post("/sessions/:id/attendance", s.require(admin), s.handleAttendanceAPI)

	app.Get("/admin/sessions", s.require(admin), s.handleAdminSessions)
	app.Post("/admin/sessions", s.require(admin), s.handleAdminSessionCreate)
	app.Get("/admin/sessions/:id", s.require(admin), s.handleAdminSession)
	app.Post("/admin/sessions/:id", s.require(admin), s.handleAdminSessionUpdate)
	app.Post("/admin/sessions/:id/cancel", s.require(admin), s.handleAdminSessionCancel)
	app.Post("/admin/sessions/:id/register", s.require(admin), s.handleAdminRegister)
}

func (s *Server) sessionParam(c *fiber.Ctx) (*catalogue.Session, error) {
	id, err := pathID(c, "id", "session")
	if err != nil {
		return nil, err
	}
	return s.catalogue.FindSessionByID(c.UserContext(), id)
}

// handleSessionsAPI answers GET /api/v1/sessions?academic_year=, a page at
// a time in start order.
func (s *Server) handleSessionsAPI(c *fiber.Ctx) error {
	year, err := s.catalogueYear(c)
	if err != nil {
		return err
	}
	pg, err := apiPage(c, "sessions")
	if err != nil {
		return err
	}
	sessions, err := s.catalogue.FindSessions(c.UserContext(), catalogue.SessionFilter{Year: &year, Limit: pg.Fetch(), After: pg.After})
	if err != nil {
		return err
	}
	sessions, next := pageItems(c, pg, sessions, (*catalogue.Session).Cursor)
	out := []sessionJSON{}
	for _, x := range sessions {
		out = append(out, toSessionJSON(x))
	}
	return c.JSON(fiber.Map{"academic_year": year.String(), "sessions": out, "next": next})
}

func (s *Server) handleSessionAPI(c *fiber.Ctx) error {
	sess, err := s.sessionParam(c)
	if err != nil {
		return err
	}
	return c.JSON(toSessionJSON(sess))
}

type sessionInputJSON struct {
	Course          string  `json:"course"`
	Title           *string `json:"title"`
	StartsAt        *string `json:"starts_at"`
	DurationMinutes *int    `json:"duration_minutes"`
	Capacity        *int    `json:"capacity"`
	JoiningURL      *string `json:"joining_url"`
	Presenter       *string `json:"presenter"`
	BookingCutoff   *string `json:"booking_cutoff_at"`
}

// parseInstant reads an RFC 3339 instant, or a London wall-clock time
// "2027-01-19T16:00".
func parseInstant(field, v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04", v, traded.London); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, traded.FieldErrorf(field, "%s must be a date and time such as 2027-01-19T16:00 (London time) or RFC 3339.", field)
}

func (j sessionInputJSON) update() (catalogue.SessionUpdate, error) {
	var u catalogue.SessionUpdate
	u.Title, u.Capacity, u.JoiningURL, u.Presenter = j.Title, j.Capacity, j.JoiningURL, j.Presenter
	if j.StartsAt != nil {
		t, err := parseInstant("starts_at", *j.StartsAt)
		if err != nil {
			return u, err
		}
		u.StartsAt = &t
	}
	if j.DurationMinutes != nil {
		d := time.Duration(*j.DurationMinutes) * time.Minute
		u.Duration = &d
	}
	if j.BookingCutoff != nil {
		t, err := parseInstant("booking_cutoff_at", *j.BookingCutoff)
		if err != nil {
			return u, err
		}
		u.BookingCutoffAt = &t
	}
	return u, nil
}

func (s *Server) handleSessionCreateAPI(c *fiber.Ctx) error {
	var j sessionInputJSON
	if err := decodeJSON(c, &j); err != nil {
		return err
	}
	u, err := j.update()
	if err != nil {
		return err
	}
	in := catalogue.SessionInput{CourseCode: j.Course, JoiningURL: deref(u.JoiningURL), Presenter: deref(u.Presenter), BookingCutoffAt: u.BookingCutoffAt}
	if u.Title != nil {
		in.Title = *u.Title
	}
	if u.StartsAt != nil {
		in.StartsAt = *u.StartsAt
	}
	in.Duration = time.Hour
	if u.Duration != nil {
		in.Duration = *u.Duration
	}
	if u.Capacity != nil {
		in.Capacity = *u.Capacity
	}
	sess, err := s.catalogue.CreateSession(c.UserContext(), currentUser(c).Actor(c.IP()), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(toSessionJSON(sess))
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (s *Server) handleSessionUpdateAPI(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "session")
	if err != nil {
		return err
	}
	var j sessionInputJSON
	if err := decodeJSON(c, &j); err != nil {
		return err
	}
	if j.Course != "" {
		return traded.FieldErrorf("course", "A session's course cannot change: cancel it and schedule another.")
	}
	u, err := j.update()
	if err != nil {
		return err
	}
	sess, err := s.booking.UpdateSession(c.UserContext(), currentUser(c).Actor(c.IP()), id, u)
	if err != nil {
		return err
	}
	s.wakeMail()
	return c.JSON(toSessionJSON(sess))
}

func (s *Server) handleSessionCancelAPI(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "session")
	if err != nil {
		return err
	}
	var j struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(c, &j); err != nil {
		return err
	}
	if err := s.booking.CancelSession(c.UserContext(), currentUser(c).Actor(c.IP()), id, j.Reason); err != nil {
		return err
	}
	s.wakeMail()
	sess, err := s.catalogue.FindSessionByID(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(toSessionJSON(sess))
}

// handleRegisterAPI answers GET /api/v1/sessions/{id}/register: the
// delegates of its confirmed bookings, a page at a time.
func (s *Server) handleRegisterAPI(c *fiber.Ctx) error {
	sess, err := s.sessionParam(c)
	if err != nil {
		return err
	}
	pg, err := apiPage(c, "register")
	if err != nil {
		return err
	}
	lines, err := s.booking.FindRegister(c.UserContext(), booking.RegisterFilter{SessionID: sess.ID, Limit: pg.Fetch(), After: pg.After})
	if err != nil {
		return err
	}
	lines, next := pageItems(c, pg, lines, booking.RegisterLine.Cursor)
	out := []fiber.Map{}
	for _, l := range lines {
		d := l.Delegate
		out = append(out, fiber.Map{"delegate": d.ID, "name": d.Name, "email": d.Email, "organisation": l.OrgURN,
			"school": l.OrgName, "booking": l.Reference, "attendance": d.Attendance})
	}
	return c.JSON(fiber.Map{"session": toSessionJSON(sess), "delegates": out, "next": next})
}

func (s *Server) handleAttendanceAPI(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "session")
	if err != nil {
		return err
	}
	var j struct {
		Marks []struct {
			Delegate   int64  `json:"delegate"`
			Attendance string `json:"attendance"`
		} `json:"marks"`
	}
	if err := decodeJSON(c, &j); err != nil {
		return err
	}
	marks := map[int64]string{}
	for _, m := range j.Marks {
		marks[m.Delegate] = m.Attendance
	}
	if len(marks) == 0 {
		return traded.FieldErrorf("marks", "Mark at least one delegate.")
	}
	if err := s.booking.SetAttendance(c.UserContext(), currentUser(c).Actor(c.IP()), id, marks); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"marked": len(marks)})
}

type adminSessionsPage struct {
	*Page
	Year     string
	Sessions []*catalogue.Session
	Courses  []*catalogue.Course
	Pager    Pager
}

// adminSessionsPage is a year's sessions in start order, a page of them.
func (s *Server) adminSessionsPage(c *fiber.Ctx) (*adminSessionsPage, error) {
	year, err := s.catalogueYear(c)
	if err != nil {
		return nil, err
	}
	n, err := pageNumber(c, "page")
	if err != nil {
		return nil, err
	}
	p := &adminSessionsPage{Page: s.page(c, "Sessions "+year.String()), Year: year.String()}
	if p.Sessions, err = s.catalogue.FindSessions(c.UserContext(), catalogue.SessionFilter{Year: &year, Limit: perPage + 1, Offset: pageOffset(n)}); err != nil {
		return nil, err
	}
	var more bool
	p.Sessions, more = cutPage(p.Sessions)
	p.Pager = pager(c, "/admin/sessions", "page", "Pages of sessions", n, more)
	p.Courses, err = s.catalogue.FindCourses(c.UserContext())
	return p, err
}

func (s *Server) handleAdminSessions(c *fiber.Ctx) error {
	p, err := s.adminSessionsPage(c)
	if err != nil {
		return err
	}
	return s.render(c, "admin-sessions", p)
}

// sessionForm reads the admin's session form: the start as a London date
// and time.
func sessionForm(c *fiber.Ctx) (catalogue.SessionUpdate, error) {
	var u catalogue.SessionUpdate
	if v := strings.TrimSpace(c.FormValue("title")); v != "" {
		u.Title = &v
	}
	if d, t := strings.TrimSpace(c.FormValue("date")), strings.TrimSpace(c.FormValue("time")); d != "" || t != "" {
		at, err := time.ParseInLocation("2006-01-02 15:04", d+" "+t, traded.London)
		if err != nil {
			return u, traded.FieldErrorf("date", "Enter the date as YYYY-MM-DD and the time as HH:MM (London time).")
		}
		at = at.UTC()
		u.StartsAt = &at
	}
	if v := strings.TrimSpace(c.FormValue("duration")); v != "" {
		m, err := strconv.Atoi(v)
		if err != nil {
			return u, traded.FieldErrorf("duration", "Enter the length in minutes, like 60.")
		}
		d := time.Duration(m) * time.Minute
		u.Duration = &d
	}
	if v := strings.TrimSpace(c.FormValue("capacity")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return u, traded.FieldErrorf("capacity", "Enter the number of places, like 100.")
		}
		u.Capacity = &n
	}
	url, presenter := strings.TrimSpace(c.FormValue("joining_url")), strings.TrimSpace(c.FormValue("presenter"))
	u.JoiningURL, u.Presenter = &url, &presenter
	return u, nil
}

func (s *Server) handleAdminSessionCreate(c *fiber.Ctx) error {
	p, err := s.adminSessionsPage(c)
	if err != nil {
		return err
	}
	fields := []string{"course", "title", "date", "time", "duration", "capacity", "joining_url", "presenter"}
	u, err := sessionForm(c)
	if err != nil {
		return s.renderForm(c, "admin-sessions", p.Page, p, err, fields...)
	}
	in := catalogue.SessionInput{CourseCode: c.FormValue("course"), JoiningURL: *u.JoiningURL, Presenter: *u.Presenter, Duration: time.Hour}
	if u.Title != nil {
		in.Title = *u.Title
	}
	if u.StartsAt != nil {
		in.StartsAt = *u.StartsAt
	}
	if u.Duration != nil {
		in.Duration = *u.Duration
	}
	if u.Capacity != nil {
		in.Capacity = *u.Capacity
	}
	sess, err := s.catalogue.CreateSession(c.UserContext(), currentUser(c).Actor(c.IP()), in)
	if err != nil {
		return s.renderForm(c, "admin-sessions", p.Page, p, err, fields...)
	}
	s.setFlash(c, "The session has been scheduled.")
	return c.Redirect(fmt.Sprintf("/admin/sessions/%d", sess.ID), fiber.StatusSeeOther)
}

type adminSessionPage struct {
	*Page
	Session *catalogue.Session
	// Register is a page of the delegates of bookings that hold places.
	Register      []booking.RegisterLine
	RegisterPager Pager
	// Waiting is a page of the waiting list.
	Waiting      []*booking.Booking
	WaitingPager Pager
	WaitingFrom  int // the place in the queue of Waiting's first
}

// adminSessionPage is a session with a page of its register (?page=) and
// of its waiting list (?waiting=).
func (s *Server) adminSessionPage(c *fiber.Ctx) (*adminSessionPage, error) {
	sess, err := s.sessionParam(c)
	if err != nil {
		return nil, err
	}
	n, err := pageNumber(c, "page")
	if err != nil {
		return nil, err
	}
	w, err := pageNumber(c, "waiting")
	if err != nil {
		return nil, err
	}
	p := &adminSessionPage{Page: s.page(c, sess.Title), Session: sess, WaitingFrom: pageOffset(w) + 1}
	p.Breadcrumbs = []NavItem{{Label: "Home", Href: "/"}, {Label: "Sessions", Href: "/admin/sessions?year=" + sess.Year.String()}}
	if p.Register, err = s.booking.FindRegister(c.UserContext(), booking.RegisterFilter{SessionID: sess.ID,
		Statuses: []string{booking.StatusConfirmed, booking.StatusRequested, booking.StatusOffered}, Limit: perPage + 1, Offset: pageOffset(n)}); err != nil {
		return nil, err
	}
	var more bool
	p.Register, more = cutPage(p.Register)
	p.RegisterPager = pager(c, fmt.Sprintf("/admin/sessions/%d", sess.ID), "page", "Pages of the register", n, more)
	if p.Waiting, err = s.booking.FindBookings(c.UserContext(), booking.BookingFilter{SessionID: sess.ID,
		Statuses: []string{booking.StatusWaitlisted}, Limit: perPage + 1, Offset: pageOffset(w)}); err != nil {
		return nil, err
	}
	p.Waiting, more = cutPage(p.Waiting)
	p.WaitingPager = pager(c, fmt.Sprintf("/admin/sessions/%d", sess.ID), "waiting", "Pages of the waiting list", w, more)
	local := sess.StartsAt.In(traded.London)
	if len(p.Form) == 0 {
		p.Form = map[string]string{"title": sess.Title, "date": local.Format("2006-01-02"), "time": local.Format("15:04"),
			"duration": strconv.Itoa(int(sess.Duration.Minutes())), "capacity": strconv.Itoa(sess.Capacity),
			"joining_url": sess.JoiningURL, "presenter": sess.Presenter}
	}
	return p, nil
}

func (s *Server) handleAdminSession(c *fiber.Ctx) error {
	p, err := s.adminSessionPage(c)
	if err != nil {
		return err
	}
	return s.render(c, "admin-session", p)
}

func (s *Server) handleAdminSessionUpdate(c *fiber.Ctx) error {
	p, err := s.adminSessionPage(c)
	if err != nil {
		return err
	}
	fields := []string{"title", "date", "time", "duration", "capacity", "joining_url", "presenter"}
	u, err := sessionForm(c)
	if err == nil {
		_, err = s.booking.UpdateSession(c.UserContext(), currentUser(c).Actor(c.IP()), p.Session.ID, u)
	}
	if err != nil {
		return s.renderForm(c, "admin-session", p.Page, p, err, fields...)
	}
	s.wakeMail()
	s.setFlash(c, "The session has been saved; everyone booked is told of any change to its time or link.")
	return c.Redirect(fmt.Sprintf("/admin/sessions/%d", p.Session.ID), fiber.StatusSeeOther)
}

func (s *Server) handleAdminSessionCancel(c *fiber.Ctx) error {
	p, err := s.adminSessionPage(c)
	if err != nil {
		return err
	}
	if err := s.booking.CancelSession(c.UserContext(), currentUser(c).Actor(c.IP()), p.Session.ID, c.FormValue("reason")); err != nil {
		return s.renderForm(c, "admin-session", p.Page, p, err, "reason")
	}
	s.wakeMail()
	s.setFlash(c, "The session has been cancelled: every booking is cancelled and credited, and everyone is told.")
	return c.Redirect(fmt.Sprintf("/admin/sessions/%d", p.Session.ID), fiber.StatusSeeOther)
}

// handleAdminRegister saves the register: one radio group per delegate,
// named attendance_ID.
func (s *Server) handleAdminRegister(c *fiber.Ctx) error {
	p, err := s.adminSessionPage(c)
	if err != nil {
		return err
	}
	// Only the delegates of the page the form showed (its action carries
	// ?page=): a mark on another page is neither read nor cleared.
	marks := map[int64]string{}
	for _, l := range p.Register {
		if d := l.Delegate; l.BookingStatus == booking.StatusConfirmed {
			if v := c.FormValue(fmt.Sprintf("attendance_%d", d.ID)); v != "" || d.Attendance != "" {
				marks[d.ID] = v
			}
		}
	}
	if err := s.booking.SetAttendance(c.UserContext(), currentUser(c).Actor(c.IP()), p.Session.ID, marks); err != nil {
		return s.renderForm(c, "admin-session", p.Page, p, err)
	}
	s.setFlash(c, fmt.Sprintf("The register has been saved (%d delegates).", len(marks)))
	back := fmt.Sprintf("/admin/sessions/%d", p.Session.ID)
	if p.RegisterPager.Number > 1 {
		back += fmt.Sprintf("?page=%d", p.RegisterPager.Number)
	}
	return c.Redirect(back+"#register", fiber.StatusSeeOther)
}
