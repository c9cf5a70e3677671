package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"traded"
	"traded/account"
	"traded/billing"
	"traded/booking"
	"traded/catalogue"
	"traded/organisation"
	"traded/pricing"
)

func (s *Server) bookingRoutes(app *fiber.App) {
	api := app.Group("/api/v1")
	api.Get("/sessions", s.require(anyone), s.handleSessionsAPI)
	api.Get("/sessions/:id", s.require(anyone), s.handleSessionAPI)
	api.Post("/sessions", s.require(admin), s.handleSessionCreateAPI)
	api.Patch("/sessions/:id", s.require(admin), s.handleSessionUpdateAPI)
	api.Post("/sessions/:id/cancel", s.require(admin), s.handleSessionCancelAPI)
	api.Get("/sessions/:id/register", s.require(admin), s.handleRegisterAPI)
	api.Post("/sessions/:id/attendance", s.require(admin), s.handleAttendanceAPI)
	api.Post("/sessions/:id/bookings", s.require(signedIn), s.handleBookingCreate)
	api.Get("/bookings", s.require(signedIn), s.handleBookingsAPI)
	api.Get("/bookings/:id", s.require(signedIn), s.handleBookingAPI)
	api.Post("/bookings/:id/cancel", s.require(signedIn), s.handleBookingChange)
	api.Post("/bookings/:id/accept", s.require(signedIn), s.handleBookingChange)
	api.Post("/bookings/:id/decline", s.require(signedIn), s.handleBookingChange)
	api.Post("/bookings/:id/approve", s.require(manager), s.handleBookingChange)
	api.Post("/bookings/:id/reject", s.require(manager), s.handleBookingChange)
	api.Post("/bookings/:id/delegates/:did/cancel", s.require(signedIn), s.handlePlaceChange)
	api.Post("/bookings/:id/delegates/:did/swap", s.require(signedIn), s.handlePlaceChange)

	app.Get("/programme", s.require(anyone), s.handleProgramme)
	app.Get("/sessions/:id", s.require(anyone), s.handleSessionPage)
	// Who may book for which school is decided by bookingOrganisation, for
	// the page and the API alike.
	app.Post("/sessions/:id/book", s.require(signedIn), s.handleBookingCreate)
	app.Get("/bookings", s.require(schoolStaff), s.handleBookingsPage)
	app.Get("/bookings/:id", s.require(signedIn), s.handleBookingPage)
	app.Post("/bookings/:id/:action", s.require(signedIn), s.handleBookingChange)
	app.Post("/bookings/:id/delegates/:did/:action", s.require(signedIn), s.handlePlaceChange)
	app.Get("/bookings/:id/delegates/:did/certificate.pdf", s.require(signedIn), s.handleCertificate)
	app.Get("/school/settings", s.require(manager), s.handleSchoolSettings)
	app.Post("/school/settings", s.require(manager), s.handleSchoolSettingsSave)
	app.Get("/admin/sessions", s.require(admin), s.handleAdminSessions)
	app.Post("/admin/sessions", s.require(admin), s.handleAdminSessionCreate)
	app.Get("/admin/sessions/:id", s.require(admin), s.handleAdminSession)
	app.Post("/admin/sessions/:id", s.require(admin), s.handleAdminSessionUpdate)
	app.Post("/admin/sessions/:id/cancel", s.require(admin), s.handleAdminSessionCancel)
	app.Post("/admin/sessions/:id/register", s.require(admin), s.handleAdminRegister)
	app.Post("/finance/monthly-invoices", s.require(finance), s.handleMonthlyInvoices)
}

func pathID(c *fiber.Ctx, name, what string) (int64, error) {
	id, err := strconv.ParseInt(c.Params(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, traded.Errorf(traded.ENOTFOUND, "There is no %s %q.", what, c.Params(name))
	}
	return id, nil
}

// ownBooking finds a booking the caller may see; others get ENOTFOUND, as
// for a booking that does not exist.
func (s *Server) ownBooking(c *fiber.Ctx) (*booking.Booking, error) {
	id, err := pathID(c, "id", "booking")
	if err != nil {
		return nil, err
	}
	b, err := s.booking.FindBookingByID(c.UserContext(), id)
	if err != nil {
		return nil, err
	}
	if !account.CanSeeBooking(currentUser(c), b.Resource()) {
		return nil, traded.Errorf(traded.ENOTFOUND, "There is no booking %d.", id)
	}
	return b, nil
}

func (s *Server) sessionParam(c *fiber.Ctx) (*catalogue.Session, error) {
	id, err := pathID(c, "id", "session")
	if err != nil {
		return nil, err
	}
	return s.catalogue.FindSessionByID(c.UserContext(), id)
}

type chargeJSON struct {
	Product     string `json:"product"`
	Description string `json:"description"`
	Quantity    int    `json:"quantity"`
	UnitPence   int64  `json:"unit_pence"`
	AmountPence int64  `json:"amount_pence"`
}

type delegateJSON struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Email      string `json:"email"`
	Status     string `json:"status"`
	Attendance string `json:"attendance,omitempty"`
}

type bookingJSON struct {
	ID             int64          `json:"id"`
	Reference      string         `json:"reference"`
	Status         string         `json:"status"`
	Session        sessionJSON    `json:"session"`
	Organisation   int64          `json:"organisation"`
	PricePence     int64          `json:"price_pence"`
	InvoiceNumber  string         `json:"invoice_number,omitempty"`
	OfferExpiresAt *time.Time     `json:"offer_expires_at,omitempty"`
	FreeCancelBy   time.Time      `json:"free_cancellation_until"`
	PONumber       string         `json:"po_number"`
	Delegates      []delegateJSON `json:"delegates"`
	Charges        []chargeJSON   `json:"charges"`
	// ToConfirm is what confirming a request or taking an offer now would
	// invoice, the figure approve and accept commit to.
	ToConfirm *confirmQuoteJSON `json:"to_confirm,omitempty"`
}

type confirmQuoteJSON struct {
	PricePence int64        `json:"price_pence"`
	Charges    []chargeJSON `json:"charges"`
}

func (s *Server) toBookingJSON(b *booking.Booking) bookingJSON {
	j := bookingJSON{ID: b.ID, Reference: b.Reference, Status: b.Status, Organisation: b.OrgURN, PricePence: int64(b.Price),
		InvoiceNumber: b.InvoiceNumber, PONumber: b.PONumber, Delegates: []delegateJSON{}, Charges: []chargeJSON{}}
	if b.Session != nil {
		j.Session = toSessionJSON(b.Session)
		j.FreeCancelBy = s.booking.FreeCancellationUntil(b.Session)
	}
	if !b.OfferExpiresAt.IsZero() {
		t := b.OfferExpiresAt
		j.OfferExpiresAt = &t
	}
	for _, d := range b.Delegates {
		j.Delegates = append(j.Delegates, delegateJSON{ID: d.ID, Name: d.Name, Email: d.Email, Status: b.PlaceStatus(d), Attendance: d.Attendance})
	}
	j.Charges = toChargesJSON(b.Charges)
	return j
}

func toChargesJSON(charges []*booking.Charge) []chargeJSON {
	out := []chargeJSON{}
	for _, ch := range charges {
		out = append(out, chargeJSON{Product: ch.ProductCode, Description: ch.Description, Quantity: ch.Quantity,
			UnitPence: int64(ch.Unit), AmountPence: int64(ch.Amount)})
	}
	return out
}

// withToConfirm adds to a request's or an offer's JSON what confirming it
// now would invoice.
func (s *Server) withToConfirm(c *fiber.Ctx, b *booking.Booking, j bookingJSON) (bookingJSON, error) {
	if b.Status != booking.StatusRequested && b.Status != booking.StatusOffered {
		return j, nil
	}
	charges, err := s.booking.QuoteConfirmation(c.UserContext(), currentUser(c), b.ID)
	if err != nil {
		return j, err
	}
	q := &confirmQuoteJSON{Charges: toChargesJSON(charges)}
	for _, ch := range charges {
		q.PricePence += int64(ch.Amount)
	}
	j.ToConfirm = q
	return j, nil
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

// idempotency returns the request's Idempotency-Key ("" when none) and a
// hash of what it asks (path and body), so that a retry with the same key
// is told from a different request that reuses it.
func idempotency(c *fiber.Ctx) (key, hash string) {
	key = strings.TrimSpace(c.Get("Idempotency-Key"))
	if key == "" {
		return "", ""
	}
	sum := sha256.Sum256(append([]byte(c.Path()+"\n"), c.Body()...))
	return key, hex.EncodeToString(sum[:])
}

// bookFormRows is how many delegate rows the session page's booking form
// has: it works without JavaScript, so the rows are fixed.
const bookFormRows = 4

// bookingRequestJSON is the API's body for a booking.
type bookingRequestJSON struct {
	Organisation urnParam `json:"organisation"`
	Delegates    []struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"delegates"`
	Waitlist bool   `json:"waitlist"`
	PONumber string `json:"po_number"`
}

// formURN reads a URN typed into a form's field, "" being none, with the
// message the API gives for a bad one.
func formURN(v string) (int64, error) {
	if strings.TrimSpace(v) == "" {
		return 0, nil
	}
	var u urnParam
	if err := u.UnmarshalJSON([]byte(strconv.Quote(v))); err != nil {
		return 0, err
	}
	return int64(u), nil
}

// decodeBookingRequest reads the booking asked for on session sessionID:
// the API's JSON body, or the session page's form. Both name the school by
// its URN (organisation, none meaning the caller's own), the delegates, the
// waiting-list choice and the PO; neither is checked here beyond its
// syntax, which is the domain's work (booking.CreateBooking). The form's
// rows come in order, blank ones skipped: rows[i] is the form row of
// Delegates[i], so that an error about delegates[i] can be put on its row.
// A teacher's form has no rows: it books the teacher, the one person a
// teacher may book.
func decodeBookingRequest(c *fiber.Ctx, sessionID int64) (req booking.BookingRequest, rows []int, err error) {
	req.SessionID = sessionID
	if isAPI(c) {
		var j bookingRequestJSON
		if err := decodeJSON(c, &j); err != nil {
			return req, nil, err
		}
		req.URN, req.Waitlist, req.PONumber = int64(j.Organisation), j.Waitlist, j.PONumber
		for _, d := range j.Delegates {
			req.Delegates = append(req.Delegates, booking.DelegateInput{Name: d.Name, Email: d.Email})
		}
	} else {
		if req.URN, err = formURN(c.FormValue("organisation")); err != nil {
			return req, nil, err
		}
		req.Waitlist, req.PONumber = c.FormValue("waitlist") == "yes", c.FormValue("po_number")
		for i := 0; i < bookFormRows; i++ {
			name, email := strings.TrimSpace(c.FormValue(fmt.Sprintf("name_%d", i))), strings.TrimSpace(c.FormValue(fmt.Sprintf("email_%d", i)))
			if name == "" && email == "" {
				continue
			}
			req.Delegates = append(req.Delegates, booking.DelegateInput{Name: name, Email: email})
			rows = append(rows, i)
		}
		if u := currentUser(c); u.Role == account.RoleTeacher {
			req.Delegates, rows = []booking.DelegateInput{{Name: u.Name, Email: u.Email}}, nil
		}
	}
	if req.IdempotencyKey, req.RequestHash = idempotency(c); len(req.IdempotencyKey) > 200 {
		return req, rows, traded.FieldErrorf("Idempotency-Key", "An Idempotency-Key has at most 200 characters.")
	}
	return req, rows, nil
}

// bookingOrganisation is the school a booking by the caller is for, given
// the URN the request names (0 for none): school staff book for their own
// school only (another is ENOTFOUND, as if it did not exist); LA admins
// for any school, which they must name (EINVALID on organisation when they
// name none; ENOTFOUND on it for an unknown URN); anyone else may not book
// (EFORBIDDEN).
func (s *Server) bookingOrganisation(c *fiber.Ctx, urn int64) (*organisation.Organisation, error) {
	u := currentUser(c)
	named := urn != 0
	switch {
	case u.Role.School():
		if !named {
			urn = u.OrganisationURN
		}
	case u.Role == account.RoleAdmin:
		if !named {
			return nil, traded.FieldErrorf("organisation", "Enter the URN of the school to book for, such as 115123.")
		}
	default:
		return nil, traded.Errorf(traded.EFORBIDDEN, "Your account (%s) cannot book places.", u.Role.Label())
	}
	org, err := s.ownOrganisation(c, urn)
	if named && traded.ErrorCode(err) == traded.ENOTFOUND {
		return nil, &traded.Error{Code: traded.ENOTFOUND, Message: traded.ErrorMessage(err), Field: "organisation"}
	}
	return org, err
}

// createBooking books what the request asks (decodeBookingRequest) for the
// school bookingOrganisation allows, as the caller; rows are the form rows
// of its delegates.
func (s *Server) createBooking(c *fiber.Ctx) (b *booking.Booking, rows []int, err error) {
	id, err := pathID(c, "id", "session")
	if err != nil {
		return nil, nil, err
	}
	req, rows, err := decodeBookingRequest(c, id)
	if err != nil {
		return nil, rows, err
	}
	org, err := s.bookingOrganisation(c, req.URN)
	if err != nil {
		return nil, rows, err
	}
	req.URN = org.URN
	if b, err = s.booking.CreateBooking(c.UserContext(), currentUser(c), c.IP(), req); err != nil {
		return nil, rows, err
	}
	s.wakeMail()
	return b, rows, nil
}

// handleBookingCreate books places on a session, the same way from the API
// and the session page, which differ only in their answers. POST
// /api/v1/sessions/{id}/bookings answers 201 with the booking, 409 when
// full and not waitlisting; an Idempotency-Key header makes a retried POST
// return the first booking. POST /sessions/{id}/book, the session page's
// form, redirects to the booking with a flash, or shows the page again with
// the error beside the input at fault.
func (s *Server) handleBookingCreate(c *fiber.Ctx) error {
	b, rows, err := s.createBooking(c)
	if isAPI(c) {
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(s.toBookingJSON(b))
	}
	if err != nil {
		return s.renderBookFormError(c, rows, err)
	}
	ref, yours := b.Reference, "Your booking "
	if !currentUser(c).Role.School() { // an admin, booking for the school named
		ref, yours = b.Reference+" for "+b.OrgName, "Booking "
	}
	msg := map[string]string{
		booking.StatusConfirmed:  yours + ref + " is confirmed.",
		booking.StatusRequested:  "Your request " + b.Reference + " has gone to your school business manager for approval.",
		booking.StatusWaitlisted: "The session is full: booking " + ref + " is on the waiting list. We will email you if a place comes up.",
	}[b.Status]
	s.setFlash(c, msg)
	return c.Redirect(fmt.Sprintf("/bookings/%d", b.ID), fiber.StatusSeeOther)
}

// bookingScope is which bookings a caller lists: a school's (managers),
// their own (teachers), or any (LA finance and admins, optionally one
// school's).
func (s *Server) bookingScope(c *fiber.Ctx) (booking.BookingFilter, error) {
	u := currentUser(c)
	var f booking.BookingFilter
	if v := c.Query("session"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return f, traded.FieldErrorf("session", "session must be a session id.")
		}
		f.SessionID = id
	}
	switch u.Role {
	case account.RoleTeacher:
		f.OrganisationID, f.Delegate = u.OrganisationID, u.Email
	case account.RoleSchoolManager, account.RoleFinance, account.RoleAdmin:
		orgID, err := s.invoiceScope(c, c.Query("organisation"))
		if err != nil {
			return f, err
		}
		f.OrganisationID = orgID
	default:
		return f, traded.Errorf(traded.EFORBIDDEN, "Your account cannot see bookings.")
	}
	return f, nil
}

// handleBookingsAPI answers GET /api/v1/bookings, those the caller may see,
// a page at a time, soonest session first.
func (s *Server) handleBookingsAPI(c *fiber.Ctx) error {
	f, err := s.bookingScope(c)
	if err != nil {
		return err
	}
	pg, err := apiPage(c, "bookings")
	if err != nil {
		return err
	}
	f.Limit, f.After = pg.Fetch(), pg.After
	bookings, err := s.booking.FindBookings(c.UserContext(), f)
	if err != nil {
		return err
	}
	bookings, next := pageItems(c, pg, bookings, (*booking.Booking).Cursor)
	out := []bookingJSON{}
	for _, b := range bookings {
		if account.CanSeeBooking(currentUser(c), b.Resource()) {
			out = append(out, s.toBookingJSON(b))
		}
	}
	return c.JSON(fiber.Map{"bookings": out, "next": next})
}

func (s *Server) handleBookingAPI(c *fiber.Ctx) error {
	b, err := s.ownBooking(c)
	if err != nil {
		return err
	}
	j, err := s.withToConfirm(c, b, s.toBookingJSON(b))
	if err != nil {
		return err
	}
	return c.JSON(j)
}

// isAPI reports whether the request came to the JSON API, whose answers
// are JSON, rather than to a page.
func isAPI(c *fiber.Ctx) bool { return strings.HasPrefix(c.Path(), "/api/") }

// routeAction is the action a change route names: the :action parameter
// of a page's route, else the last segment of the route (the API has a
// route per action, each with its own guard).
func routeAction(c *fiber.Ctx) string {
	if a := c.Params("action"); a != "" {
		return a
	}
	return path.Base(c.Route().Path)
}

// bookingChange is a change to a whole booking, as the booking page's
// forms and the API's JSON ask for it.
type bookingChange struct {
	Action   string `json:"-"` // cancel, accept, decline, approve, reject
	Reason   string `json:"reason"`
	PONumber string `json:"po_number"`
}

// decodeBookingChange reads the reason and PO of a change: an optional JSON
// body on the API, the form's inputs on a page.
func decodeBookingChange(c *fiber.Ctx, action string) (bookingChange, error) {
	in := bookingChange{Action: action}
	if !isAPI(c) {
		in.Reason, in.PONumber = c.FormValue("reason"), c.FormValue("po_number")
		return in, nil
	}
	if len(strings.TrimSpace(string(c.Body()))) > 0 {
		if err := decodeJSON(c, &in); err != nil {
			return in, err
		}
	}
	return in, nil
}

// changeBooking makes the change to booking b as the caller; the domain
// decides who may (only a school business manager or an admin approves or
// declines a request, for one).
func (s *Server) changeBooking(c *fiber.Ctx, b *booking.Booking, in bookingChange) error {
	ctx, u, ip := c.UserContext(), currentUser(c), c.IP()
	switch in.Action {
	case "cancel":
		return s.booking.CancelBooking(ctx, u, ip, b.ID, in.Reason)
	case "accept":
		return s.booking.AcceptOffer(ctx, u, ip, b.ID, in.PONumber)
	case "decline":
		return s.booking.DeclineOffer(ctx, u, ip, b.ID)
	case "approve":
		return s.booking.ApproveBooking(ctx, u, ip, b.ID, in.PONumber)
	case "reject":
		return s.booking.DeclineBooking(ctx, u, ip, b.ID, in.Reason)
	}
	return traded.Errorf(traded.ENOTFOUND, "Page not found.")
}

// handleBookingChange cancels a booking, takes or declines an offered
// place, or approves or rejects a request, the same way from the API and
// the booking page: the API answers with the booking as it now is; the
// page redirects to it with a flash, or shows it again with the error.
func (s *Server) handleBookingChange(c *fiber.Ctx) error {
	action := routeAction(c)
	if _, ok := bookingFlash[action]; !ok {
		return traded.Errorf(traded.ENOTFOUND, "Page not found.")
	}
	b, err := s.ownBooking(c)
	if err != nil {
		return err
	}
	in, err := decodeBookingChange(c, action)
	if err != nil {
		return err
	}
	err = s.changeBooking(c, b, in)
	if isAPI(c) {
		if err != nil {
			return err
		}
		return s.respondBooking(c, b.ID)
	}
	if err != nil {
		p, perr := s.bookingPageData(c)
		if perr != nil {
			return perr
		}
		fields := []string{"reason"}
		if action == "approve" || action == "accept" {
			fields = append(fields, "po_number")
		}
		return s.renderForm(c, "booking", p.Page, p, err, fields...)
	}
	s.wakeMail()
	s.setFlash(c, bookingFlash[action])
	return c.Redirect(fmt.Sprintf("/bookings/%d", b.ID), fiber.StatusSeeOther)
}

// placeChange is a change to one delegate's place: cancelling it, or
// giving it to a colleague (swap, to Name and Email).
type placeChange struct {
	Action     string `json:"-"` // cancel, swap
	DelegateID int64  `json:"-"`
	Name       string `json:"name"`
	Email      string `json:"email"`
}

// decodePlaceChange reads a change to delegate did's place: a swap's
// colleague from the API's JSON body, or from the booking page's form,
// whose inputs are swap-name-DID and swap-email-DID.
func decodePlaceChange(c *fiber.Ctx, action string, did int64) (placeChange, error) {
	in := placeChange{Action: action, DelegateID: did}
	switch {
	case action != "cancel" && action != "swap":
		return in, traded.Errorf(traded.ENOTFOUND, "Page not found.")
	case action == "cancel":
	case isAPI(c):
		if err := decodeJSON(c, &in); err != nil {
			return in, err
		}
	default:
		in.Name, in.Email = c.FormValue(fmt.Sprintf("swap-name-%d", did)), c.FormValue(fmt.Sprintf("swap-email-%d", did))
	}
	return in, nil
}

// changePlace makes the change to a place on booking b as the caller.
func (s *Server) changePlace(c *fiber.Ctx, b *booking.Booking, in placeChange) error {
	if in.Action == "swap" {
		return s.booking.SwapDelegate(c.UserContext(), currentUser(c), c.IP(), b.ID, in.DelegateID, in.Name, in.Email)
	}
	return s.booking.CancelPlace(c.UserContext(), currentUser(c), c.IP(), b.ID, in.DelegateID)
}

// handlePlaceChange cancels one delegate's place or gives it to a
// colleague, the same way from the API and the booking page: the API
// answers with the booking as it now is; the page redirects to it with a
// flash, or shows it again with the swap form open and the error on its
// input.
func (s *Server) handlePlaceChange(c *fiber.Ctx) error {
	b, err := s.ownBooking(c)
	if err != nil {
		return err
	}
	did, err := pathID(c, "did", "delegate")
	if err != nil {
		return err
	}
	in, err := decodePlaceChange(c, routeAction(c), did)
	if err != nil {
		return err
	}
	err = s.changePlace(c, b, in)
	if isAPI(c) {
		if err != nil {
			return err
		}
		return s.respondBooking(c, b.ID)
	}
	if err != nil {
		p, perr := s.bookingPageData(c)
		if perr != nil {
			return perr
		}
		if e, ok := err.(*traded.Error); ok && strings.HasPrefix(e.Field, "delegates[") {
			// The swap form's inputs are swap-name-ID and swap-email-ID.
			part := e.Field[strings.LastIndex(e.Field, ".")+1:]
			msg := strings.Replace(strings.Replace(e.Message, "delegate 1's", "your colleague's", 1), "of delegate 1", "of your colleague", 1)
			err = &traded.Error{Code: e.Code, Message: msg, Field: fmt.Sprintf("swap-%s-%d", part, did)}
			p.SwapOpen = did
		}
		return s.renderForm(c, "booking", p.Page, p, err, fmt.Sprintf("swap-name-%d", did), fmt.Sprintf("swap-email-%d", did))
	}
	s.wakeMail()
	msg := "The place has been cancelled."
	if in.Action == "swap" {
		msg = "The place has been given to " + strings.TrimSpace(in.Name) + "."
	}
	s.setFlash(c, msg)
	return c.Redirect(fmt.Sprintf("/bookings/%d", b.ID), fiber.StatusSeeOther)
}

// Pages.

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
	now := s.now()
	list, err := s.catalogue.FindSessions(c.UserContext(), catalogue.SessionFilter{Year: &current})
	if err != nil {
		return current
	}
	for _, x := range list {
		if x.StartsAt.After(now) {
			return current
		}
	}
	next := current + 1
	if more, err := s.catalogue.FindSessions(c.UserContext(), catalogue.SessionFilter{Year: &next}); err == nil && len(more) > 0 {
		return next
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

// renderBookFormError shows the session page again after a booking from
// its form failed with err, the error beside the input at fault: the
// domain names delegates[i].name, the form name_ROW (rows[i] is the row of
// delegate i: blank rows are skipped).
func (s *Server) renderBookFormError(c *fiber.Ctx, rows []int, err error) error {
	p, perr := s.sessionPageData(c)
	if perr != nil {
		return perr
	}
	fields := []string{"organisation", "po_number"}
	for i := 0; i < bookFormRows; i++ {
		fields = append(fields, fmt.Sprintf("name_%d", i), fmt.Sprintf("email_%d", i))
	}
	if e, ok := err.(*traded.Error); ok && strings.HasPrefix(e.Field, "delegates[") {
		var i int
		var part string
		if _, scanErr := fmt.Sscanf(strings.NewReplacer("[", " ", "].", " ").Replace(e.Field), "delegates %d %s", &i, &part); scanErr == nil && i < len(rows) {
			msg := e.Message
			if i != rows[i] {
				msg = strings.Replace(msg, fmt.Sprintf("delegate %d", i+1), fmt.Sprintf("delegate %d", rows[i]+1), 1)
			}
			err = &traded.Error{Code: e.Code, Message: msg, Field: fmt.Sprintf("%s_%d", part, rows[i])}
		}
	} else if ok && e.Field == "delegates" {
		err = &traded.Error{Code: e.Code, Message: e.Message, Field: "name_0"}
	} else if ok && e.Field == "organisation" && !p.ForSchool {
		// Only an admin's form has the school input.
		err = &traded.Error{Code: e.Code, Message: e.Message}
	}
	return s.renderForm(c, "session", p.Page, p, err, fields...)
}

type bookingsPage struct {
	*Page
	Upcoming  []*booking.Booking
	Past      []*booking.Booking
	Requests  []*booking.Booking
	Manager   bool
	NowUnix   int64
	PaidExtra pricing.Money
	// UpcomingPager pages the bookings whose session has not ended (the
	// requests among them and the rest), soonest first; PastPager the
	// others, latest first.
	UpcomingPager, PastPager Pager
}

// handleBookingsPage lists the bookings the caller may see: those coming
// up (?upcoming=N) and those past (?past=N), a page of each.
func (s *Server) handleBookingsPage(c *fiber.Ctx) error {
	f, err := s.bookingScope(c)
	if err != nil {
		return err
	}
	un, err := pageNumber(c, "upcoming")
	if err != nil {
		return err
	}
	pn, err := pageNumber(c, "past")
	if err != nil {
		return err
	}
	u := currentUser(c)
	p := &bookingsPage{Page: s.page(c, "Bookings"), Manager: u.Role == account.RoleSchoolManager}
	if !p.Manager {
		p.Title = "Your bookings"
	}
	now := s.now()
	up, past := f, f
	up.NotEndedBefore, up.Limit, up.Offset = &now, perPage+1, pageOffset(un)
	past.EndedBefore, past.Newest, past.Limit, past.Offset = &now, true, perPage+1, pageOffset(pn)
	upcoming, err := s.booking.FindBookings(c.UserContext(), up)
	if err != nil {
		return err
	}
	var more bool
	upcoming, more = cutPage(upcoming)
	p.UpcomingPager = pager(c, "/bookings", "upcoming", "Pages of bookings coming up", un, more)
	for _, b := range upcoming {
		if b.Status == booking.StatusRequested && p.Manager {
			p.Requests = append(p.Requests, b)
		} else {
			p.Upcoming = append(p.Upcoming, b)
		}
	}
	if p.Past, err = s.booking.FindBookings(c.UserContext(), past); err != nil {
		return err
	}
	p.Past, more = cutPage(p.Past)
	p.PastPager = pager(c, "/bookings", "past", "Pages of past bookings", pn, more)
	return s.render(c, "bookings", p)
}

type bookingPage struct {
	*Page
	GoogleURL    string
	HasInvite    bool
	Booking      *booking.Booking
	FreeCancelBy time.Time
	FreeCancel   bool
	Started      bool
	CanChange    bool
	CanApprove   bool
	CanSwap      bool
	Offer        bool
	// SwapOpen is the delegate whose swap form had an error: it shows open.
	SwapOpen int64
	// ToConfirm is what approving the request or taking the offer would
	// invoice now (QuoteConfirmation), the figure then invoiced; nil for a
	// booking not waiting to be confirmed.
	ToConfirm *confirmQuote
	// PORequired: the school needs a purchase-order number for what it pays.
	PORequired bool
	// Approval: the school's teachers' bookings need the manager's approval.
	Approval bool
}

// confirmQuote is the price of confirming a request or an offer.
type confirmQuote struct {
	Lines []*booking.Charge
	Total pricing.Money
}

func (s *Server) bookingPageData(c *fiber.Ctx) (*bookingPage, error) {
	b, err := s.ownBooking(c)
	if err != nil {
		return nil, err
	}
	u := currentUser(c)
	now := s.now()
	p := &bookingPage{Page: s.page(c, "Booking "+b.Reference), Booking: b}
	p.Breadcrumbs = []NavItem{{Label: "Home", Href: "/"}, {Label: "Bookings", Href: "/bookings"}}
	if b.Session != nil {
		p.FreeCancelBy = s.booking.FreeCancellationUntil(b.Session)
		p.FreeCancel = !now.After(p.FreeCancelBy)
		p.Started = !now.Before(b.Session.StartsAt)
	}
	live := b.Status == booking.StatusConfirmed || b.Status == booking.StatusRequested || b.Status == booking.StatusOffered || b.Status == booking.StatusWaitlisted
	mine := u.Role == account.RoleAdmin || u.Role == account.RoleSchoolManager && u.OrganisationID == b.OrganisationID ||
		u.Role == account.RoleTeacher && b.BookedBy == u.ID
	p.CanChange = live && mine && !p.Started
	p.CanSwap = p.CanChange && u.Role != account.RoleTeacher
	p.CanApprove = b.Status == booking.StatusRequested && (u.Role == account.RoleSchoolManager && u.OrganisationID == b.OrganisationID || u.Role == account.RoleAdmin)
	p.Offer = b.Status == booking.StatusOffered && mine && now.Before(b.OfferExpiresAt)
	p.HasInvite = booking.HasInvite(b) && b.Session != nil
	if p.HasInvite && b.Status == booking.StatusConfirmed {
		p.GoogleURL = s.invites().GoogleCalendarURL(b)
	}
	if b.Status == booking.StatusRequested || b.Status == booking.StatusOffered {
		ctx := c.UserContext()
		charges, err := s.booking.QuoteConfirmation(ctx, u, b.ID)
		if err != nil {
			return nil, err
		}
		p.ToConfirm = &confirmQuote{Lines: charges}
		for _, ch := range charges {
			p.ToConfirm.Total += ch.Amount
		}
		org, err := s.orgs.FindByID(ctx, b.OrganisationID)
		if err != nil {
			return nil, err
		}
		p.PORequired, p.Approval = org.PORequired, org.TeacherApproval
		// The form starts with the booking's PO; a re-shown form keeps what was typed.
		p.Form["po_number"] = b.PONumber
	}
	return p, nil
}

func (s *Server) handleBookingPage(c *fiber.Ctx) error {
	p, err := s.bookingPageData(c)
	if err != nil {
		return err
	}
	return s.render(c, "booking", p)
}

var bookingFlash = map[string]string{
	"cancel":  "The booking has been cancelled.",
	"accept":  "You have taken the place: the booking is confirmed.",
	"decline": "You have turned the place down.",
	"approve": "The booking is approved and confirmed.",
	"reject":  "The request has been declined.",
}

// handleCertificate sends a certificate of attendance for a delegate marked
// attended (or partly attended).
func (s *Server) handleCertificate(c *fiber.Ctx) error {
	b, err := s.ownBooking(c)
	if err != nil {
		return err
	}
	did, err := pathID(c, "did", "delegate")
	if err != nil {
		return err
	}
	var d *booking.Delegate
	for _, x := range b.Delegates {
		if x.ID == did {
			d = x
		}
	}
	if d == nil || (d.Attendance != "attended" && d.Attendance != "partial") || b.Session == nil {
		return traded.Errorf(traded.ENOTFOUND, "There is no certificate: certificates are for delegates the register shows attended.")
	}
	sup := s.billing.Config().Supplier
	pdf, err := booking.RenderCertificate(booking.Certificate{Delegate: d.Name, School: b.OrgName, Course: b.Session.Title,
		StartsAt: b.Session.StartsAt, Duration: b.Session.Duration, Attendance: d.Attendance, Reference: b.Reference,
		Issuer: sup.Name, IssuerDetail: "Primary Statutory Assessment training · " + sup.Email})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/pdf")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`inline; filename="certificate-%s-%d.pdf"`, b.Reference, d.ID))
	return c.Send(pdf)
}

type schoolSettingsPage struct {
	*Page
	Org *organisation.Organisation
}

func (s *Server) handleSchoolSettings(c *fiber.Ctx) error {
	org, err := s.orgs.FindByID(c.UserContext(), currentUser(c).OrganisationID)
	if err != nil {
		return err
	}
	return s.render(c, "school-settings", &schoolSettingsPage{Page: s.page(c, "Booking settings"), Org: org})
}

func (s *Server) handleSchoolSettingsSave(c *fiber.Ctx) error {
	u := currentUser(c)
	if err := s.orgs.SetBookingSettings(c.UserContext(), u.Actor(c.IP()), u.OrganisationID, c.FormValue("booking_invoices"),
		c.FormValue("teacher_approval") == "yes"); err != nil {
		org, ferr := s.orgs.FindByID(c.UserContext(), u.OrganisationID)
		if ferr != nil {
			return ferr
		}
		p := &schoolSettingsPage{Page: s.page(c, "Booking settings"), Org: org}
		return s.renderForm(c, "school-settings", p.Page, p, err)
	}
	s.setFlash(c, "Your booking settings have been saved.")
	return c.Redirect("/school/settings", fiber.StatusSeeOther)
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

// handleMonthlyInvoices bills the bookings of schools invoiced monthly,
// confirmed before the start of this month. The server also runs it on the
// first of each month.
func (s *Server) handleMonthlyInvoices(c *fiber.Ctx) error {
	run, err := s.billing.InvoiceMonthlyBookings(c.UserContext(), currentUser(c).Actor(c.IP()), billing.StartOfMonth(s.now()))
	if err != nil {
		return err
	}
	s.wakeMail()
	s.setFlash(c, fmt.Sprintf("Monthly invoicing: %d invoice(s) for %d booking(s).", len(run.Invoices), run.Bookings))
	return c.Redirect("/", fiber.StatusSeeOther)
}

// respondBooking answers an API change with the booking as it now is, after
// waking the mail worker for the messages the change queued.
func (s *Server) respondBooking(c *fiber.Ctx, id int64) error {
	s.wakeMail()
	b, err := s.booking.FindBookingByID(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(s.toBookingJSON(b))
}
