package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	wiring "traded/app"
	"traded/booking"
	"traded/organisation"
	"traded/pricing"
	"traded/store"
	"traded/web"
)

// Purchase orders, prices before committing and place statuses on the
// booking pages, as each role sees them. The clock starts at Sunday
// 22 November 2026 (storetest.Epoch): the spring sessions of 2026/27 are
// open for booking. In the demo fixture no school has the subscription and
// none needs a PO until a test says so.

var (
	bookingPathRE = regexp.MustCompile(`^/bookings/(\d+)$`)
	sessionQuote  = regexp.MustCompile(`For (\d+) members? of staff, your school would pay <strong>(£[\d,]+\.\d\d)</strong>`)
	confirmFigure = regexp.MustCompile(`(?s)<p class="govuk-body" id="to-confirm">.*?<strong>(£[\d,]+\.\d\d)</strong>`)
)

// needPO marks the school as needing a purchase-order number, as an admin
// would on its organisation page.
func needPO(t *testing.T, app *testApp, urn int64) {
	t.Helper()
	if err := organisation.New(app.db).SetBillingDetails(context.Background(), store.System, urn, "", true, ""); err != nil {
		t.Fatal(err)
	}
}

// bookingIDOf is the id in a 303 to /bookings/N.
func bookingIDOf(t *testing.T, what string, p *page) int64 {
	t.Helper()
	wantStatus(t, what, p, http.StatusSeeOther)
	m := bookingPathRE.FindStringSubmatch(p.location())
	if m == nil {
		t.Fatalf("%s: Location %q, want /bookings/N", what, p.location())
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

// placeCell is the Status cell of the delegate with the email in a booking
// page's Delegates table ("" when there is no such row).
func placeCell(body, email string) string {
	re := regexp.MustCompile(`<td class="govuk-table__cell">` + regexp.QuoteMeta(email) + `</td>\s*<td class="govuk-table__cell">([^<]*)</td>`)
	if m := re.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

// poLabelOf is the text of the label of the po_number input, or "" when
// the page has none.
func poLabelOf(body string) string {
	m := regexp.MustCompile(`<label class="govuk-label" for="po_number">([^<]*)</label>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// wantPOError checks p is the form shown again with a 422, the error
// summary linking to the PO input and the input's own message.
func wantPOError(t *testing.T, what string, p *page) {
	t.Helper()
	wantStatus(t, what, p, http.StatusUnprocessableEntity)
	consultErrorSummary(t, what, p, "needs a purchase-order number")
	for _, want := range []string{`<a href="#po_number">`, `id="po_number-error"`, `aria-describedby="po_number-hint po_number-error"`,
		`govuk-input govuk-input--error" id="po_number"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("%s: the page lacks %s", what, want)
		}
	}
}

// apiBooking is the API's view of a booking.
type apiBooking struct {
	ID            int64  `json:"id"`
	Status        string `json:"status"`
	PricePence    int64  `json:"price_pence"`
	InvoiceNumber string `json:"invoice_number"`
	PONumber      string `json:"po_number"`
	Delegates     []struct {
		ID     int64  `json:"id"`
		Email  string `json:"email"`
		Status string `json:"status"`
	} `json:"delegates"`
	ToConfirm *struct {
		PricePence int64 `json:"price_pence"`
	} `json:"to_confirm"`
}

// api calls the JSON API with a bearer token and decodes the answer into v
// (when given), failing unless it answers status.
func (a *testApp) api(t *testing.T, token, method, path, body string, status int, v any) {
	t.Helper()
	code, resp := a.do(method, path, body, "Authorization", token)
	if code != status {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, code, status, resp)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(resp), v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, resp)
		}
	}
}

func (a *testApp) getBooking(t *testing.T, token string, id int64) apiBooking {
	t.Helper()
	var b apiBooking
	a.api(t, token, "GET", fmt.Sprintf("/api/v1/bookings/%d", id), "", http.StatusOK, &b)
	return b
}

// invoiceTotal is the total of an issued invoice and its PO number.
func (a *testApp) invoiceTotal(t *testing.T, token, number string) (pricing.Money, string) {
	t.Helper()
	var inv struct {
		TotalPence int64  `json:"total_pence"`
		PONumber   string `json:"po_number"`
	}
	a.api(t, token, "GET", "/api/v1/invoices/"+number, "", http.StatusOK, &inv)
	return pricing.Money(inv.TotalPence), inv.PONumber
}

func quoteTotal(t *testing.T, app *testApp, urn, sessionID int64, n int) (pricing.Money, []*booking.Charge) {
	t.Helper()
	lines, _, err := wiring.Domains(app.db).Booking.QuoteBooking(context.Background(), urn, sessionID, n)
	if err != nil {
		t.Fatal(err)
	}
	var total pricing.Money
	for _, l := range lines {
		total += l.Amount
	}
	return total, lines
}

// TestBookForm_PONumber: the session page's booking form asks for a PO,
// as required only where the school needs one; a missing required PO shows
// the form again with the error and what was typed, priced for the people
// named; the booking made carries the PO, and the booking page and list
// show it, escaped.
func TestBookForm_PONumber(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	needPO(t, app, 990004)
	sess := sessionOf(t, app, "mod-y2-new")
	path := fmt.Sprintf("/sessions/%d", sess.ID)

	chelmer := app.agent(t)
	chelmer.signIn(managerEmail)
	if got := poLabelOf(chelmer.get(path).body); got != "Purchase order number (optional)" {
		t.Errorf("the booking form of a school that needs no PO labels it %q", got)
	}
	teacher := app.agent(t)
	teacher.signIn(teacherEmail)
	if got := poLabelOf(teacher.get(path).body); got != "Purchase order number (optional)" {
		t.Errorf("the teacher's booking form labels the PO %q", got)
	}

	u := app.agent(t)
	u.signIn(otherManagerEmail)
	p := u.get(path)
	wantStatus(t, "GET "+path, p, http.StatusOK)
	if got := poLabelOf(p.body); got != "Purchase order number" {
		t.Errorf("the booking form of a school that needs a PO labels it %q, want it required", got)
	}
	// Before booking: the price of 2, the quote's lines and its total.
	two, lines := quoteTotal(t, app, 990004, sess.ID, 2)
	if m := sessionQuote.FindStringSubmatch(p.body); m == nil || m[1] != "2" || m[2] != two.String() {
		t.Errorf("the session page's quote: %v, want 2 members of staff at %s: %s", m, two, excerpt(p.body))
	}
	for _, l := range lines {
		if want := html.EscapeString(l.Description) + ": " + l.Amount.String(); !strings.Contains(p.body, want) {
			t.Errorf("the session page lacks the line %q", want)
		}
	}

	form := url.Values{"name_0": {"Robin Reader"}, "email_0": {"robin@basildonmeadows.example"},
		"name_1": {"Sam Scorer"}, "email_1": {"sam@basildonmeadows.example"},
		"name_2": {"Alex Assessor"}, "email_2": {"alex@basildonmeadows.example"}, "waitlist": {"yes"}}
	p = u.submit(path+"/book", form)
	wantPOError(t, "a booking with no PO", p)
	for _, want := range []string{`value="Robin Reader"`, `value="sam@basildonmeadows.example"`, `value="Alex Assessor"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the form shown again lost %s", want)
		}
	}
	three, _ := quoteTotal(t, app, 990004, sess.ID, 3)
	if m := sessionQuote.FindStringSubmatch(p.body); m == nil || m[1] != "3" || m[2] != three.String() {
		t.Errorf("the form shown again prices %v, want 3 members of staff at %s", m, three)
	}
	if n := app.count(t, `SELECT count(*) FROM bookings`); n != 0 {
		t.Fatalf("a refused booking left %d bookings", n)
	}

	form.Set("po_number", "BMA-<b>42</b>")
	id := bookingIDOf(t, "a booking with a PO", u.submit(path+"/book", form))
	tok := app.token(t, otherManagerEmail)
	b := app.getBooking(t, tok, id)
	if b.Status != booking.StatusConfirmed || b.PONumber != "BMA-<b>42</b>" || pricing.Money(b.PricePence) != three {
		t.Fatalf("the booking: %+v, want confirmed at %s with the PO", b, three)
	}
	if total, po := app.invoiceTotal(t, tok, b.InvoiceNumber); total != three || po != "BMA-<b>42</b>" {
		t.Errorf("invoice %s: %s with PO %q, want %s, the price shown before booking", b.InvoiceNumber, total, po, three)
	}
	bp := u.get(fmt.Sprintf("/bookings/%d", id))
	if !strings.Contains(bp.body, `<dt class="govuk-summary-list__key">Purchase order</dt><dd class="govuk-summary-list__value">BMA-&lt;b&gt;42&lt;/b&gt;</dd>`) {
		t.Errorf("the booking page does not show the PO, escaped: %s", excerpt(bp.body))
	}
	list := u.get("/bookings")
	if !strings.Contains(list.body, `<th scope="col" class="govuk-table__header">Purchase order</th>`) ||
		!strings.Contains(list.body, `<td class="govuk-table__cell">BMA-&lt;b&gt;42&lt;/b&gt;</td>`) {
		t.Errorf("the bookings list does not show the PO: %s", excerpt(list.body))
	}
	if strings.Contains(bp.body+list.body, "<b>42</b>") {
		t.Error("the PO reached a page unescaped")
	}
	// A school whose bookings have no PO gets no empty column.
	if p := chelmer.get("/bookings"); strings.Contains(p.body, ">Purchase order</th>") {
		t.Error("the bookings list of a school with no PO has a Purchase order column")
	}
}

// TestBookingPage_ApprovalPriceAndPO: a teacher's request shows the price
// QuoteConfirmation gives (here the additional-person price, because the
// school's own booking on the event, confirmed since the request, took the
// first-person price) to the teacher and, beside Approve with a PO input,
// to the manager; approving needs the PO the school requires and invoices
// exactly the figure shown.
func TestBookingPage_ApprovalPriceAndPO(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	ctx := context.Background()
	needPO(t, app, 990001)
	org := app.user(t, managerEmail).OrganisationID
	if err := organisation.New(app.db).SetBookingSettings(ctx, store.System, org, "per_booking", true); err != nil {
		t.Fatal(err)
	}
	sess := sessionOf(t, app, "mod-y6-new")
	path := fmt.Sprintf("/sessions/%d", sess.ID)

	teacher := app.agent(t)
	teacher.signIn(teacherEmail)
	p := teacher.get(path)
	if got := poLabelOf(p.body); got != "Purchase order number" {
		t.Errorf("the teacher's form, for a school that needs a PO, labels it %q", got)
	}
	id := bookingIDOf(t, "the teacher's request", teacher.submit(path+"/book", url.Values{"waitlist": {"yes"}}))
	mtok := app.token(t, managerEmail)
	if b := app.getBooking(t, mtok, id); b.Status != booking.StatusRequested {
		t.Fatalf("the teacher's booking is %s, want requested", b.Status)
	}
	first, _ := quoteTotal(t, app, 990001, sess.ID, 1)

	// The manager books a colleague straight away, with a PO: that booking
	// is confirmed first and pays the first-person price.
	manager := app.agent(t)
	manager.signIn(managerEmail)
	manager.get(path)
	own := bookingIDOf(t, "the manager's booking", manager.submit(path+"/book", url.Values{"name_0": {"Morgan Manager"},
		"email_0": {"manager@chelmervalley.example"}, "po_number": {"CV-PO-1"}, "waitlist": {"yes"}}))
	if b := app.getBooking(t, mtok, own); b.Status != booking.StatusConfirmed || pricing.Money(b.PricePence) != first {
		t.Fatalf("the manager's booking: %+v, want confirmed at %s", b, first)
	}

	charges, err := wiring.Domains(app.db).Booking.QuoteConfirmation(ctx, nil, id)
	if err != nil {
		t.Fatal(err)
	}
	var want pricing.Money
	for _, c := range charges {
		want += c.Amount
	}
	if want == 0 || want == first {
		t.Fatalf("approving would cost %s: the test needs the additional-person price, not %s", want, first)
	}

	bookingPath := fmt.Sprintf("/bookings/%d", id)
	tp := teacher.get(bookingPath)
	if m := confirmFigure.FindStringSubmatch(tp.body); m == nil || m[1] != want.String() {
		t.Errorf("the teacher's request shows %v, want %s: %s", m, want, excerpt(tp.body))
	}
	if !strings.Contains(consultText(tp.body), "When the school business manager approves it, the booking is confirmed and your school will be charged "+want.String()) {
		t.Errorf("the teacher is not told what the school will be charged: %s", consultText(tp.body))
	}
	if strings.Contains(tp.body, `action="`+bookingPath+`/approve"`) || poLabelOf(tp.body) != "" {
		t.Error("the teacher's own request offers them Approve or a PO input")
	}
	if got := placeCell(tp.body, teacherEmail); got != "Awaiting approval" {
		t.Errorf("the teacher's place on the request reads %q, want Awaiting approval", got)
	}

	mp := manager.get(bookingPath)
	wantStatus(t, "GET "+bookingPath+" (manager)", mp, http.StatusOK)
	if m := confirmFigure.FindStringSubmatch(mp.body); m == nil || m[1] != want.String() {
		t.Errorf("the manager's request page shows %v, want %s", m, want)
	}
	for _, c := range charges {
		if row := consultRow(mp.body, c.Description); !strings.Contains(row, c.Amount.String()) {
			t.Errorf("the manager's page has no line %q at %s: %q", c.Description, c.Amount, row)
		}
	}
	if row := consultRow(mp.body, "Total"); row != "Total "+want.String() {
		t.Errorf("the total row reads %q, want Total %s", row, want)
	}
	approveForm := regexp.MustCompile(`(?s)<form method="post" action="` + bookingPath + `/approve" novalidate>.*?</form>`).FindString(mp.body)
	if !strings.Contains(approveForm, `name="po_number"`) || !strings.Contains(approveForm, `>Approve</button>`) {
		t.Errorf("the approve form has no PO input beside Approve: %s", approveForm)
	}
	if got := poLabelOf(mp.body); got != "Purchase order number" {
		t.Errorf("the approve form labels the PO %q, want it required", got)
	}

	p = manager.submit(bookingPath+"/approve", url.Values{"po_number": {" "}})
	wantPOError(t, "approving with no PO", p)
	if m := confirmFigure.FindStringSubmatch(p.body); m == nil || m[1] != want.String() {
		t.Errorf("the page shown again lost the price: %v", m)
	}
	if b := app.getBooking(t, mtok, id); b.Status != booking.StatusRequested {
		t.Fatalf("a refused approval left the booking %s", b.Status)
	}

	wantStatus(t, "approving with a PO", manager.submit(bookingPath+"/approve", url.Values{"po_number": {"CV-PO-77"}}), http.StatusSeeOther)
	b := app.getBooking(t, mtok, id)
	if b.Status != booking.StatusConfirmed || b.PONumber != "CV-PO-77" || b.InvoiceNumber == "" {
		t.Fatalf("after approval: %+v", b)
	}
	if total, po := app.invoiceTotal(t, mtok, b.InvoiceNumber); total != want || po != "CV-PO-77" {
		t.Errorf("invoice %s: %s with PO %q, want %s (the figure shown) with CV-PO-77", b.InvoiceNumber, total, po, want)
	}
	mp = manager.get(bookingPath)
	if !strings.Contains(consultText(mp.body), "Purchase order CV-PO-77") {
		t.Errorf("the approved booking's page does not show its PO: %s", excerpt(mp.body))
	}
	if got := placeCell(mp.body, teacherEmail); got != "Booked" {
		t.Errorf("the approved place reads %q, want Booked", got)
	}
	if confirmFigure.MatchString(mp.body) {
		t.Error("the confirmed booking still shows the price of approving it")
	}
	if list := manager.get("/bookings"); consultRow(list.body, "CV-PO-77") == "" {
		t.Error("the bookings list does not show the approved booking's PO")
	}
}

// TestBookingPage_OfferPriceAndPO: a waiting-list offer shows the school
// what taking it costs, beside Take the place with a PO input; taking it
// needs the PO the school requires and invoices the figure shown.
func TestBookingPage_OfferPriceAndPO(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	needPO(t, app, 990004)
	sess := sessionOf(t, app, "psa-ks2-taf")
	admin, chelmer, basildon := app.token(t, adminEmail), app.token(t, managerEmail), app.token(t, otherManagerEmail)
	app.api(t, admin, "PATCH", fmt.Sprintf("/api/v1/sessions/%d", sess.ID), `{"capacity":1}`, http.StatusOK, nil)
	taken := bookByAPI(t, app, chelmer, sess.ID, [2]string{"Chris Chelmer", "chris@chelmervalley.example"})

	u := app.agent(t)
	u.signIn(otherManagerEmail)
	path := fmt.Sprintf("/sessions/%d", sess.ID)
	u.get(path)
	id := bookingIDOf(t, "joining the waiting list", u.submit(path+"/book", url.Values{"name_0": {"Wendy Waiting"},
		"email_0": {"wendy@basildonmeadows.example"}, "waitlist": {"yes"}}))
	bookingPath := fmt.Sprintf("/bookings/%d", id)
	p := u.get(bookingPath)
	if got := placeCell(p.body, "wendy@basildonmeadows.example"); got != "Waiting list" {
		t.Errorf("a waiting booking's place reads %q, want Waiting list", got)
	}

	app.api(t, chelmer, "POST", fmt.Sprintf("/api/v1/bookings/%d/cancel", taken.ID), `{}`, http.StatusOK, nil)
	b := app.getBooking(t, basildon, id)
	if b.Status != booking.StatusOffered || b.ToConfirm == nil || b.ToConfirm.PricePence == 0 {
		t.Fatalf("after the cancellation the waiting booking is %+v, want offered at a price", b)
	}
	want := pricing.Money(b.ToConfirm.PricePence)

	p = u.get(bookingPath)
	if m := confirmFigure.FindStringSubmatch(p.body); m == nil || m[1] != want.String() {
		t.Errorf("the offer shows %v, want %s: %s", m, want, excerpt(p.body))
	}
	if !strings.Contains(consultText(p.body), "When you take the place, the booking is confirmed and your school will be charged "+want.String()) {
		t.Errorf("the offer does not say what taking it costs: %s", consultText(p.body))
	}
	if got := consultRow(p.body, "Total"); got != "Total "+want.String() {
		t.Errorf("the offer's total row reads %q", got)
	}
	acceptForm := regexp.MustCompile(`(?s)<form method="post" action="` + bookingPath + `/accept" novalidate>.*?</form>`).FindString(p.body)
	if !strings.Contains(acceptForm, `name="po_number"`) || !strings.Contains(acceptForm, `>Take the place</button>`) ||
		!strings.Contains(acceptForm, `formaction="`+bookingPath+`/decline"`) {
		t.Errorf("the offer's form lacks the PO input, Take the place or No thanks: %s", acceptForm)
	}
	if got := poLabelOf(p.body); got != "Purchase order number" {
		t.Errorf("the offer labels the PO %q, want it required", got)
	}
	if got := placeCell(p.body, "wendy@basildonmeadows.example"); got != "Offered" {
		t.Errorf("an offered place reads %q, want Offered", got)
	}

	wantPOError(t, "taking the place with no PO", u.submit(bookingPath+"/accept", nil))
	wantStatus(t, "taking the place with a PO", u.submit(bookingPath+"/accept", url.Values{"po_number": {"BMA-PO-9"}}), http.StatusSeeOther)
	b = app.getBooking(t, basildon, id)
	if b.Status != booking.StatusConfirmed || b.InvoiceNumber == "" {
		t.Fatalf("after taking the place: %+v", b)
	}
	if total, po := app.invoiceTotal(t, basildon, b.InvoiceNumber); total != want || po != "BMA-PO-9" {
		t.Errorf("invoice %s: %s with PO %q, want %s (the figure shown) with BMA-PO-9", b.InvoiceNumber, total, po, want)
	}
	if p := u.get(bookingPath); placeCell(p.body, "wendy@basildonmeadows.example") != "Booked" || !strings.Contains(consultText(p.body), "Purchase order BMA-PO-9") {
		t.Errorf("the booking taken up: %s", excerpt(p.body))
	}
}

// TestBookingPage_PlaceStatus: a delegate reads "Booked" only while a
// confirmed booking holds the place; every other place says what it is.
func TestBookingPage_PlaceStatus(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	ctx := context.Background()
	org := app.user(t, managerEmail).OrganisationID
	if err := organisation.New(app.db).SetBookingSettings(ctx, store.System, org, "per_booking", true); err != nil {
		t.Fatal(err)
	}
	admin, chelmer, basildon, teacherTok := app.token(t, adminEmail), app.token(t, managerEmail), app.token(t, otherManagerEmail), app.token(t, teacherEmail)
	book := func(token string, sessionID int64, waitlist bool, people ...string) apiBooking {
		t.Helper()
		var ds []map[string]string
		for _, email := range people {
			ds = append(ds, map[string]string{"name": strings.Split(email, "@")[0], "email": email})
		}
		body, _ := json.Marshal(map[string]any{"delegates": ds, "waitlist": waitlist})
		var b apiBooking
		app.api(t, token, "POST", fmt.Sprintf("/api/v1/sessions/%d/bookings", sessionID), string(body), http.StatusCreated, &b)
		return b
	}
	post := func(token, path string) {
		t.Helper()
		app.api(t, token, "POST", path, `{}`, http.StatusOK, nil)
	}

	// Confirmed, with a place given to a colleague and one cancelled.
	s1 := sessionOf(t, app, "psa-y6-refresher")
	kept := book(chelmer, s1.ID, false, "ann@chelmervalley.example", "ben@chelmervalley.example", "cat@chelmervalley.example")
	app.api(t, chelmer, "POST", fmt.Sprintf("/api/v1/bookings/%d/delegates/%d/swap", kept.ID, kept.Delegates[1].ID),
		`{"name":"Dan","email":"dan@chelmervalley.example"}`, http.StatusOK, nil)
	post(chelmer, fmt.Sprintf("/api/v1/bookings/%d/delegates/%d/cancel", kept.ID, kept.Delegates[2].ID))
	// Cancelled whole.
	s2 := sessionOf(t, app, "psa-phonics")
	cancelled := book(chelmer, s2.ID, false, "eve@chelmervalley.example")
	post(chelmer, fmt.Sprintf("/api/v1/bookings/%d/cancel", cancelled.ID))
	// A teacher's request, and one declined.
	s3 := sessionOf(t, app, "psa-mtc")
	requested := book(teacherTok, s3.ID, false, teacherEmail)
	s4 := sessionOf(t, app, "psa-briefing-spring")
	declined := book(teacherTok, s4.ID, false, teacherEmail)
	post(chelmer, fmt.Sprintf("/api/v1/bookings/%d/reject", declined.ID))
	// On a one-place event: an offer, a booking still waiting, and then
	// (once the offer has lapsed) an expired one.
	s5 := sessionOf(t, app, "mod-y2-experienced")
	app.api(t, admin, "PATCH", fmt.Sprintf("/api/v1/sessions/%d", s5.ID), `{"capacity":1}`, http.StatusOK, nil)
	holder := book(basildon, s5.ID, false, "holly@basildonmeadows.example")
	offered := book(chelmer, s5.ID, true, "olive@chelmervalley.example")
	waiting := book(basildon, s5.ID, true, "walt@basildonmeadows.example")
	post(basildon, fmt.Sprintf("/api/v1/bookings/%d/cancel", holder.ID))
	if b := app.getBooking(t, chelmer, offered.ID); b.Status != booking.StatusOffered {
		t.Fatalf("the first waiting booking is %s, want offered", b.Status)
	}

	cases := []struct {
		token string
		id    int64
		email string
		want  string
	}{
		{chelmer, kept.ID, "ann@chelmervalley.example", "Booked"},
		{chelmer, kept.ID, "ben@chelmervalley.example", "Replaced"},
		{chelmer, kept.ID, "dan@chelmervalley.example", "Booked"},
		{chelmer, kept.ID, "cat@chelmervalley.example", "Cancelled"},
		{chelmer, cancelled.ID, "eve@chelmervalley.example", "Cancelled"},
		{chelmer, requested.ID, teacherEmail, "Awaiting approval"},
		{chelmer, declined.ID, teacherEmail, "Declined"},
		{chelmer, offered.ID, "olive@chelmervalley.example", "Offered"},
		{basildon, holder.ID, "holly@basildonmeadows.example", "Cancelled"},
		{basildon, waiting.ID, "walt@basildonmeadows.example", "Waiting list"},
	}
	check := func(token string, id int64, email, want string) {
		t.Helper()
		who := map[string]string{chelmer: managerEmail, basildon: otherManagerEmail}[token]
		u := app.agent(t)
		u.signIn(who)
		path := fmt.Sprintf("/bookings/%d", id)
		p := u.get(path)
		wantStatus(t, "GET "+path, p, http.StatusOK)
		if got := placeCell(p.body, email); got != want {
			t.Errorf("%s: %s reads %q, want %q", path, email, got, want)
		}
		// The API says the same.
		for _, d := range app.getBooking(t, token, id).Delegates {
			if d.Email == email && (d.Status == "active") != (want == "Booked" || want == "Awaiting approval" || want == "Offered") {
				t.Errorf("the API has %s on booking %d %s, the page %q", email, id, d.Status, want)
			}
		}
	}
	for _, c := range cases {
		check(c.token, c.id, c.email, c.want)
	}

	// The offer lapses.
	app.clock.Advance(49 * time.Hour)
	if err := wiring.Domains(app.db).Booking.ExpireOffers(ctx); err != nil {
		t.Fatal(err)
	}
	if b := app.getBooking(t, chelmer, offered.ID); b.Status != booking.StatusExpired {
		t.Fatalf("the lapsed offer is %s, want expired", b.Status)
	}
	check(chelmer, offered.ID, "olive@chelmervalley.example", "Expired")
}

// TestSubscribe_POLabel: the subscribe form marks the PO "(optional)" only
// for a school that does not need one, and refuses a purchase without it
// where it is needed, showing the form again.
func TestSubscribe_POLabel(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	needPO(t, app, 990004)
	chelmer := app.agent(t)
	chelmer.signIn(managerEmail)
	if got := poLabelOf(chelmer.get("/subscribe").body); got != "Purchase order number (optional)" {
		t.Errorf("the subscribe form of a school that needs no PO labels it %q", got)
	}
	u := app.agent(t)
	u.signIn(otherManagerEmail)
	p := u.get("/subscribe")
	wantStatus(t, "GET /subscribe", p, http.StatusOK)
	if got := poLabelOf(p.body); got != "Purchase order number" {
		t.Errorf("the subscribe form of a school that needs a PO labels it %q, want it required", got)
	}
	p = u.submit("/subscribe", url.Values{"academic_year": {"2026/27"}})
	wantStatus(t, "subscribing with no PO", p, http.StatusUnprocessableEntity)
	if !strings.Contains(p.body, `<a href="#po_number">`) || !strings.Contains(p.body, `id="po_number-error"`) ||
		poLabelOf(p.body) != "Purchase order number" {
		t.Errorf("the subscribe form shown again lacks the PO error: %s", excerpt(p.body))
	}
	wantStatus(t, "subscribing with a PO", u.submit("/subscribe", url.Values{"academic_year": {"2026/27"}, "po_number": {"BMA-77"}}), http.StatusSeeOther)
}

// TestConsultancy_AcceptFormPO: the quote's accept form has a PO input,
// filled with the request's PO and required where the school needs one;
// accepting with none is refused on that input, and the PO given is kept.
func TestConsultancy_AcceptFormPO(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	needPO(t, app, 990004)
	adviser := app.user(t, adviserEmail)
	admin := app.agent(t)
	admin.signIn(adminEmail)
	request := func(u *userAgent, po, date string) (int64, string) {
		t.Helper()
		u.get("/consultancy")
		id := consultRequestID(t, "POST /consultancy", u.submit("/consultancy", url.Values{"service": {"governance-qa"},
			"need": {"A review of our governing board."}, "po_number": {po}}))
		path := fmt.Sprintf("/consultancy/%d", id)
		admin.get(path)
		wantStatus(t, "the quote", admin.submit(path+"/quote", url.Values{"adviser": {strconv.FormatInt(adviser.ID, 10)},
			"billing": {"completion"}, "late_cancel_rule": {"full"}, "date_0": {date}, "part_0": {"day"}, "mode_0": {"onsite"}}), http.StatusSeeOther)
		return id, path
	}
	acceptForm := func(body, path string) string {
		return regexp.MustCompile(`(?s)<form method="post" action="` + path + `/accept" novalidate>.*?</form>`).FindString(body)
	}

	chelmer := app.agent(t)
	chelmer.signIn(managerEmail)
	_, cpath := request(chelmer, "", "2026-12-01")
	if got := poLabelOf(chelmer.get(cpath).body); got != "Purchase order number (optional)" {
		t.Errorf("the accept form of a school that needs no PO labels it %q", got)
	}

	u := app.agent(t)
	u.signIn(otherManagerEmail)
	_, path := request(u, "BMA-PO-1", "2026-12-02")
	p := u.get(path)
	form := acceptForm(p.body, path)
	if !strings.Contains(form, `name="po_number" type="text" value="BMA-PO-1"`) || !strings.Contains(form, ">Accept the quote</button>") {
		t.Errorf("the accept form is not filled with the request's PO: %s", form)
	}
	if got := poLabelOf(p.body); got != "Purchase order number" {
		t.Errorf("the accept form labels the PO %q, want it required", got)
	}

	id2, path2 := request(u, "", "2026-12-03")
	p = u.get(path2)
	if form := acceptForm(p.body, path2); !strings.Contains(form, `name="po_number" type="text" autocomplete="off"`) {
		t.Errorf("the accept form of a request with no PO is not empty: %s", form)
	}
	wantPOError(t, "accepting with no PO", u.submit(path2+"/accept", url.Values{"po_number": {""}}))
	wantStatus(t, "accepting with a PO", u.submit(path2+"/accept", url.Values{"po_number": {"BMA-PO-2"}}), http.StatusSeeOther)
	if cr := consultRequest(t, u, id2); cr.Status != "accepted" {
		t.Errorf("after accepting: %+v", cr)
	}
	if !strings.Contains(consultText(u.get(path2).body), "Purchase order BMA-PO-2") {
		t.Error("the engagement's page does not show the PO given on accepting")
	}
}

// fieldErrorOf is the message the page shows beside the input called name
// ("" when there is none).
func fieldErrorOf(body, name string) string {
	m := regexp.MustCompile(`<p id="` + regexp.QuoteMeta(name) + `-error" class="govuk-error-message"><span class="govuk-visually-hidden">Error:</span> ([^<]*)</p>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// TestBookForm_AdminForASchool: an LA admin books from the session page
// for the school whose URN they give, as they can through the API; the
// booking is the school's, and its manager sees it. Without a school, or
// with one that does not exist, the form comes back with the error on the
// school input and nothing is booked.
func TestBookForm_AdminForASchool(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	sess := sessionOf(t, app, "mod-y2-new")
	path := fmt.Sprintf("/sessions/%d", sess.ID)
	var school string
	if err := app.db.Read().QueryRow(`SELECT name FROM organisations WHERE urn = 990004`).Scan(&school); err != nil {
		t.Fatal(err)
	}

	u := app.agent(t)
	u.signIn(adminEmail)
	p := u.get(path)
	wantStatus(t, "GET "+path+" (admin)", p, http.StatusOK)
	for _, want := range []string{`action="` + path + `/book"`, `<label class="govuk-label" for="organisation">School URN</label>`,
		`name="organisation"`, `name="name_1"`, `Book places for a school's staff`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the admin's session page lacks %s: %s", want, excerpt(p.body))
		}
	}
	two := url.Values{"name_0": {"Robin Reader"}, "email_0": {"robin@basildonmeadows.example"},
		"name_1": {"Sam Scorer"}, "email_1": {"sam@basildonmeadows.example"}, "waitlist": {"yes"}}

	t.Run("NoSchool", func(t *testing.T) {
		p := u.submit(path+"/book", two)
		wantStatus(t, "an admin's booking naming no school", p, http.StatusUnprocessableEntity)
		consultErrorSummary(t, "an admin's booking naming no school", p, "Enter the URN of the school to book for")
		if got := fieldErrorOf(p.body, "organisation"); !strings.HasPrefix(got, "Enter the URN of the school to book for") {
			t.Errorf("the school input's error reads %q", got)
		}
		for _, want := range []string{`<a href="#organisation">`, `value="Robin Reader"`, `value="sam@basildonmeadows.example"`} {
			if !strings.Contains(p.body, want) {
				t.Errorf("the form shown again lacks %s", want)
			}
		}
	})
	t.Run("BadSchool", func(t *testing.T) {
		for urn, status := range map[string]int{"abc": http.StatusUnprocessableEntity, "999999": http.StatusNotFound} {
			f := url.Values{"organisation": {urn}}
			for k, v := range two {
				f[k] = v
			}
			p := u.submit(path+"/book", f)
			wantStatus(t, "an admin's booking for school "+urn, p, status)
			if fieldErrorOf(p.body, "organisation") == "" || !strings.Contains(p.body, `value="`+urn+`"`) {
				t.Errorf("school %s: the form shown again has no error on the school input, or lost it: %s", urn, excerpt(p.body))
			}
		}
	})
	t.Run("PricedForTheSchool", func(t *testing.T) {
		// The form shown again prices the people named for the school named.
		f := url.Values{"organisation": {"990004"}, "name_0": {"Robin Reader"}, "email_0": {"robin@"},
			"name_1": {"Sam Scorer"}, "email_1": {"sam@basildonmeadows.example"}, "waitlist": {"yes"}}
		p := u.submit(path+"/book", f)
		wantStatus(t, "an admin's booking with a bad email", p, http.StatusUnprocessableEntity)
		if fieldErrorOf(p.body, "email_0") == "" {
			t.Errorf("no error beside email_0: %s", excerpt(p.body))
		}
		total, _ := quoteTotal(t, app, 990004, sess.ID, 2)
		if want := "For 2 members of staff, the school would pay <strong>" + total.String() + "</strong>"; !strings.Contains(p.body, want) {
			t.Errorf("the form shown again lacks %q: %s", want, excerpt(p.body))
		}
	})
	if n := app.count(t, `SELECT count(*) FROM bookings`); n != 0 {
		t.Fatalf("refused bookings left %d bookings", n)
	}

	f := url.Values{"organisation": {"990004"}}
	for k, v := range two {
		f[k] = v
	}
	id := bookingIDOf(t, "the admin's booking for 990004", u.submit(path+"/book", f))
	bp := u.get(fmt.Sprintf("/bookings/%d", id))
	wantStatus(t, "the admin's booking page", bp, http.StatusOK)
	if msg := "for " + school + " is confirmed."; !strings.Contains(html.UnescapeString(bp.body), msg) {
		t.Errorf("the admin is not told %q: %s", msg, excerpt(bp.body))
	}
	for _, email := range []string{"robin@basildonmeadows.example", "sam@basildonmeadows.example"} {
		if got := placeCell(bp.body, email); got != "Booked" {
			t.Errorf("the admin's booking page has %s %q, want Booked", email, got)
		}
	}
	var org int64
	if err := app.db.Read().QueryRow(`SELECT o.urn FROM bookings b JOIN organisations o ON o.id = b.organisation_id WHERE b.id = ?`, id).Scan(&org); err != nil || org != 990004 {
		t.Fatalf("the booking is for %d (%v), want 990004", org, err)
	}
	m := app.agent(t)
	m.signIn(otherManagerEmail)
	if sp := m.get(path); !strings.Contains(sp.body, fmt.Sprintf(`href="/bookings/%d"`, id)) {
		t.Errorf("the school's manager does not see the admin's booking on the session page: %s", excerpt(sp.body))
	}
}

// TestBookingCreate_FormAndJSONAgree: the session page's form and the API
// book through one path, so the same bad input is refused with the same
// message (the form puts it beside the input at fault), and who may book
// for which school is the same for both.
func TestBookingCreate_FormAndJSONAgree(t *testing.T) {
	app := newAccountsAppWith(t, web.Config{Dev: true}, wiring.Config{BookingRules: booking.Rules{MaxDelegates: 2}}, io.Discard)
	sess := sessionOf(t, app, "mod-y2-new")
	path := fmt.Sprintf("/sessions/%d", sess.ID)
	agents := map[string]*userAgent{}
	for _, email := range []string{managerEmail, adminEmail, financeEmail, adviserEmail} {
		agents[email] = app.agent(t)
		agents[email].signIn(email)
		agents[email].get(path)
	}
	type delegate struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	}
	cases := []struct {
		name         string
		as           string
		organisation string
		delegates    []delegate
		status       int
		field        string // the form's input the error is put beside, "" for none
	}{
		{"BadEmail", managerEmail, "", []delegate{{"Ann Lee", "ann@chelmervalley.example"}, {"Bo Bell", "not-an-email"}}, http.StatusUnprocessableEntity, "email_1"},
		{"NoName", managerEmail, "", []delegate{{"", "ann@chelmervalley.example"}}, http.StatusUnprocessableEntity, "name_0"},
		{"NamedTwice", adminEmail, "990001", []delegate{{"Ann Lee", "ann@chelmervalley.example"}, {"Ann Lee", "ANN@chelmervalley.example"}}, http.StatusUnprocessableEntity, "email_1"},
		{"TooMany", managerEmail, "", []delegate{{"Ann", "ann@chelmervalley.example"}, {"Bo", "bo@chelmervalley.example"}, {"Cy", "cy@chelmervalley.example"}}, http.StatusUnprocessableEntity, "name_0"},
		{"AdminNoSchool", adminEmail, "", []delegate{{"Ann Lee", "ann@chelmervalley.example"}}, http.StatusUnprocessableEntity, "organisation"},
		{"AdminBadURN", adminEmail, "12x", []delegate{{"Ann Lee", "ann@chelmervalley.example"}}, http.StatusUnprocessableEntity, "organisation"},
		// A school's own form has no school input: the error is in the summary only.
		{"OtherSchool", managerEmail, "990004", []delegate{{"Ann Lee", "ann@chelmervalley.example"}}, http.StatusNotFound, ""},
		{"Finance", financeEmail, "990001", []delegate{{"Ann Lee", "ann@chelmervalley.example"}}, http.StatusForbidden, ""},
		{"Adviser", adviserEmail, "990001", []delegate{{"Ann Lee", "ann@chelmervalley.example"}}, http.StatusForbidden, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"organisation": c.organisation, "delegates": c.delegates, "waitlist": true})
			if c.organisation == "" {
				body, _ = json.Marshal(map[string]any{"delegates": c.delegates, "waitlist": true})
			}
			status, resp := app.do("POST", "/api/v1/sessions/"+strconv.FormatInt(sess.ID, 10)+"/bookings", string(body), "Authorization", app.token(t, c.as))
			if status != c.status {
				t.Fatalf("JSON: %d, want %d: %s", status, c.status, resp)
			}
			_, want, _ := jsonError(t, resp)

			form := url.Values{"organisation": {c.organisation}, "waitlist": {"yes"}}
			for i, d := range c.delegates {
				if i < 4 {
					form.Set(fmt.Sprintf("name_%d", i), d.Name)
					form.Set(fmt.Sprintf("email_%d", i), d.Email)
				}
			}
			p := agents[c.as].submit(path+"/book", form)
			wantStatus(t, "the form", p, c.status)
			consultErrorSummary(t, "the form", p, want)
			if c.field != "" {
				if got := fieldErrorOf(p.body, c.field); got != want {
					t.Errorf("the form's %s reads %q, the API's error %q", c.field, got, want)
				}
			}
		})
	}
	if n := app.count(t, `SELECT count(*) FROM bookings`); n != 0 {
		t.Fatalf("refused bookings left %d bookings", n)
	}
}
