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
	api.Post("/sessions", s.require(admin), s.handleSessionCreate)
	api.Patch("/sessions/:id", s.require(admin), s.handleSessionUpdate)
	api.Post("/sessions/:id/cancel", s.require(admin), s.handleSessionCancel)
	api.Get("/sessions/:id/register", s.require(admin), s.handleRegisterAPI)
	api.Post("/sessions/:id/attendance", s.require(admin), s.handleAttendanceSave)

	app.Get("/admin/sessions", s.require(admin), s.handleAdminSessions)
	app.Post("/admin/sessions", s.require(admin), s.handleSessionCreate)
	app.Get("/admin/sessions/:id", s.require(admin), s.handleAdminSession)
	app.Post("/admin/sessions/:id", s.require(admin), s.handleSessionUpdate)
	app.Post("/admin/sessions/:id/cancel", s.require(admin), s.handleSessionCancel)
	app.Post("/admin/sessions/:id/register", s.require(admin), s.handleAttendanceSave)
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
	if p.Register, err = s.booking.FindRegister(c.UserContext(), registerFilter(sess.ID, n)); err != nil {
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

// Scheduling, changing and cancelling a session, and taking its register,
// are one handler each for the API and the admin's pages: each reads the
// request (decodeSession, decodeSessionCancel, decodeAttendance) into what
// the domain takes, which checks it, and only the answer differs.

// sessionRequest is a session as the API's JSON or the admin's session
// form gives it: the course (only to schedule one) and the fields to set.
type sessionRequest struct {
	Course string
	catalogue.SessionUpdate
}

// decodeSession reads a session's fields: the API's JSON body (starts_at
// and booking_cutoff_at as RFC 3339 or London wall-clock times, the length
// in duration_minutes), or the admin's session form (the start as a London
// date and time, the length in minutes; a blank input is left out). Only
// their syntax is checked here; the rest is the domain's.
func decodeSession(c *fiber.Ctx) (sessionRequest, error) {
	if !isAPI(c) {
		u, err := sessionForm(c)
		return sessionRequest{Course: c.FormValue("course"), SessionUpdate: u}, err
	}
	var j sessionInputJSON
	if err := decodeJSON(c, &j); err != nil {
		return sessionRequest{}, err
	}
	u, err := j.update()
	return sessionRequest{Course: j.Course, SessionUpdate: u}, err
}

// decodeSessionInput reads a session to schedule (decodeSession): an hour
// long unless it says otherwise.
func decodeSessionInput(c *fiber.Ctx) (catalogue.SessionInput, error) {
	r, err := decodeSession(c)
	if err != nil {
		return catalogue.SessionInput{}, err
	}
	in := catalogue.SessionInput{CourseCode: r.Course, JoiningURL: deref(r.JoiningURL), Presenter: deref(r.Presenter),
		BookingCutoffAt: r.BookingCutoffAt, Duration: time.Hour}
	if r.Title != nil {
		in.Title = *r.Title
	}
	if r.StartsAt != nil {
		in.StartsAt = *r.StartsAt
	}
	if r.Duration != nil {
		in.Duration = *r.Duration
	}
	if r.Capacity != nil {
		in.Capacity = *r.Capacity
	}
	return in, nil
}

// decodeSessionUpdate reads a change to a session (decodeSession), which
// cannot name a course: a session's course does not change.
func decodeSessionUpdate(c *fiber.Ctx) (catalogue.SessionUpdate, error) {
	r, err := decodeSession(c)
	if r.Course != "" {
		return r.SessionUpdate, traded.FieldErrorf("course", "A session's course cannot change: cancel it and schedule another.")
	}
	return r.SessionUpdate, err
}

// createSession schedules the session the request asks (decodeSessionInput)
// as the caller.
func (s *Server) createSession(c *fiber.Ctx) (*catalogue.Session, error) {
	in, err := decodeSessionInput(c)
	if err != nil {
		return nil, err
	}
	return s.catalogue.CreateSession(c.UserContext(), currentUser(c).Actor(c.IP()), in)
}

// handleSessionCreate schedules a session, the same way from the API and
// the admin's sessions page. POST /api/v1/sessions answers 201 with the
// session; POST /admin/sessions redirects to its page with a flash, or
// shows the sessions page again with the error beside the input at fault.
func (s *Server) handleSessionCreate(c *fiber.Ctx) error {
	sess, err := s.createSession(c)
	if isAPI(c) {
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toSessionJSON(sess))
	}
	if err != nil {
		p, perr := s.adminSessionsPage(c)
		if perr != nil {
			return perr
		}
		return s.renderForm(c, "admin-sessions", p.Page, p, onSessionForm(err), "course", "title", "date", "time", "duration", "capacity", "joining_url", "presenter")
	}
	s.setFlash(c, "The session has been scheduled.")
	return c.Redirect(fmt.Sprintf("/admin/sessions/%d", sess.ID), fiber.StatusSeeOther)
}

// onSessionForm puts an error about a session's start on the form's date
// input: the form gives the start as a date and a time.
func onSessionForm(err error) error {
	return onInputs(err, map[string]string{"starts_at": "date"})
}

// updateSession makes the change the request asks (decodeSessionUpdate) to
// the session in the address, as the caller; everyone booked is told of a
// change to what their calendar holds.
func (s *Server) updateSession(c *fiber.Ctx) (*catalogue.Session, error) {
	id, err := pathID(c, "id", "session")
	if err != nil {
		return nil, err
	}
	u, err := decodeSessionUpdate(c)
	if err != nil {
		return nil, err
	}
	sess, err := s.booking.UpdateSession(c.UserContext(), currentUser(c).Actor(c.IP()), id, u)
	if err != nil {
		return nil, err
	}
	s.wakeMail()
	return sess, nil
}

// handleSessionUpdate changes or reschedules a session, the same way from
// the API (PATCH /api/v1/sessions/{id}, answering with the session) and the
// admin's session page (POST /admin/sessions/{id}, redirecting to it with a
// flash, or showing it again with the error).
func (s *Server) handleSessionUpdate(c *fiber.Ctx) error {
	sess, err := s.updateSession(c)
	if isAPI(c) {
		if err != nil {
			return err
		}
		return c.JSON(toSessionJSON(sess))
	}
	if err != nil {
		return s.renderSessionPageError(c, onSessionForm(err), "title", "date", "time", "duration", "capacity", "joining_url", "presenter")
	}
	s.setFlash(c, "The session has been saved; everyone booked is told of any change to its time or link.")
	return c.Redirect(fmt.Sprintf("/admin/sessions/%d", sess.ID), fiber.StatusSeeOther)
}

// renderSessionPageError shows the admin's session page again after one
// of its forms failed with err, keeping what was typed in fields.
func (s *Server) renderSessionPageError(c *fiber.Ctx, err error, fields ...string) error {
	p, perr := s.adminSessionPage(c)
	if perr != nil {
		return perr
	}
	return s.renderForm(c, "admin-session", p.Page, p, err, fields...)
}

// decodeSessionCancel reads why a session is cancelled: the API's JSON
// body {"reason"}, or the admin's cancel form.
func decodeSessionCancel(c *fiber.Ctx) (reason string, err error) {
	if !isAPI(c) {
		return c.FormValue("reason"), nil
	}
	var j struct {
		Reason string `json:"reason"`
	}
	err = decodeJSON(c, &j)
	return j.Reason, err
}

// cancelSession cancels the session in the address for the reason the
// request gives (decodeSessionCancel), as the caller: its bookings end and
// are credited, and everyone is told. It returns the session's id.
func (s *Server) cancelSession(c *fiber.Ctx) (int64, error) {
	id, err := pathID(c, "id", "session")
	if err != nil {
		return 0, err
	}
	reason, err := decodeSessionCancel(c)
	if err != nil {
		return id, err
	}
	if err := s.booking.CancelSession(c.UserContext(), currentUser(c).Actor(c.IP()), id, reason); err != nil {
		return id, err
	}
	s.wakeMail()
	return id, nil
}

// handleSessionCancel cancels a session, the same way from the API (POST
// /api/v1/sessions/{id}/cancel, answering with the session) and the
// admin's session page (redirecting to it with a flash, or showing it again
// with the error).
func (s *Server) handleSessionCancel(c *fiber.Ctx) error {
	id, err := s.cancelSession(c)
	if isAPI(c) {
		if err != nil {
			return err
		}
		sess, err := s.catalogue.FindSessionByID(c.UserContext(), id)
		if err != nil {
			return err
		}
		return c.JSON(toSessionJSON(sess))
	}
	if err != nil {
		return s.renderSessionPageError(c, err, "reason")
	}
	s.setFlash(c, "The session has been cancelled: every booking is cancelled and credited, and everyone is told.")
	return c.Redirect(fmt.Sprintf("/admin/sessions/%d", id), fiber.StatusSeeOther)
}

// registerFilter selects page n of a session's register as the admin's
// session page shows it: the delegates of the bookings that hold places.
func registerFilter(sessionID int64, n int) booking.RegisterFilter {
	return booking.RegisterFilter{SessionID: sessionID, Statuses: []string{booking.StatusConfirmed, booking.StatusRequested, booking.StatusOffered},
		Limit: perPage + 1, Offset: pageOffset(n)}
}

// decodeAttendance reads the register's marks, delegate by delegate: the
// API's {"marks": [{"delegate", "attendance"}]}, which must mark someone,
// or the register form on the admin's session page, one radio group per
// delegate named attendance_ID. The form is read for the delegates of the
// page of the register it showed (its action carries ?page=) only: a mark
// on another page is neither read nor cleared, and a page with nothing
// marked saves nothing. What a mark may be is the domain's to check
// (booking.SetAttendance).
func (s *Server) decodeAttendance(c *fiber.Ctx, sessionID int64) (map[int64]string, error) {
	marks := map[int64]string{}
	if isAPI(c) {
		var j struct {
			Marks []struct {
				Delegate   int64  `json:"delegate"`
				Attendance string `json:"attendance"`
			} `json:"marks"`
		}
		if err := decodeJSON(c, &j); err != nil {
			return nil, err
		}
		for _, m := range j.Marks {
			marks[m.Delegate] = m.Attendance
		}
		if len(marks) == 0 {
			return nil, traded.FieldErrorf("marks", "Mark at least one delegate.")
		}
		return marks, nil
	}
	n, err := pageNumber(c, "page")
	if err != nil {
		return nil, err
	}
	lines, err := s.booking.FindRegister(c.UserContext(), registerFilter(sessionID, n))
	if err != nil {
		return nil, err
	}
	lines, _ = cutPage(lines)
	for _, l := range lines {
		if d := l.Delegate; l.BookingStatus == booking.StatusConfirmed {
			if v := c.FormValue(fmt.Sprintf("attendance_%d", d.ID)); v != "" || d.Attendance != "" {
				marks[d.ID] = v
			}
		}
	}
	return marks, nil
}

// setAttendance takes the register of the session in the address as the
// request marks it (decodeAttendance), as the caller. It returns the
// session's id and the marks.
func (s *Server) setAttendance(c *fiber.Ctx) (int64, map[int64]string, error) {
	id, err := pathID(c, "id", "session")
	if err != nil {
		return 0, nil, err
	}
	marks, err := s.decodeAttendance(c, id)
	if err != nil {
		return id, nil, err
	}
	return id, marks, s.booking.SetAttendance(c.UserContext(), currentUser(c).Actor(c.IP()), id, marks)
}

// handleAttendanceSave takes a session's register, the same way from the
// API (POST /api/v1/sessions/{id}/attendance, answering how many were
// marked) and the admin's session page (POST /admin/sessions/{id}/register,
// redirecting to the register's page with a flash, or showing it again with
// the error).
func (s *Server) handleAttendanceSave(c *fiber.Ctx) error {
	id, marks, err := s.setAttendance(c)
	if isAPI(c) {
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"marked": len(marks)})
	}
	if err != nil {
		return s.renderSessionPageError(c, err)
	}
	s.setFlash(c, fmt.Sprintf("The register has been saved (%d delegates).", len(marks)))
	back := fmt.Sprintf("/admin/sessions/%d", id)
	if n, _ := pageNumber(c, "page"); n > 1 {
		back += fmt.Sprintf("?page=%d", n)
	}
	return c.Redirect(back+"#register", fiber.StatusSeeOther)
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

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
