package web

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"traded"
	"traded/account"
	"traded/booking"
	"traded/organisation"
	"traded/pricing"
)

// bookingRoutes are bookings: made on a session, listed, changed, and their
// delegates' places and certificates, on pages and through the API.
func (s *Server) bookingRoutes(app *fiber.App) {
	api := app.Group("/api/v1")
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

	// Who may book for which school is decided by bookingOrganisation, for
	// the page and the API alike.
	app.Post("/sessions/:id/book", s.require(signedIn), s.handleBookingCreate)
	app.Get("/bookings", s.require(schoolStaff), s.handleBookingsPage)
	app.Get("/bookings/:id", s.require(signedIn), s.handleBookingPage)
	app.Post("/bookings/:id/:action", s.require(signedIn), s.handleBookingChange)
	app.Post("/bookings/:id/delegates/:did/:action", s.require(signedIn), s.handlePlaceChange)
	app.Get("/bookings/:id/delegates/:did/certificate.pdf", s.require(signedIn), s.handleCertificate)
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
