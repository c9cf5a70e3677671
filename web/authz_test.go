package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	wiring "traded/app"
	"traded/billing"
	"traded/booking"
	"traded/catalogue"
	"traded/organisation"
	"traded/store"
	"traded/web"
)

// authzCallers are the columns of authzMatrix, in order. The last, a school
// manager of another organisation (990004), is asked only of routes with a
// parameter naming something owned (an organisation URN, a user id, ...).
var authzCallers = []struct{ name, email string }{
	{"anonymous", ""},
	{"school_manager", managerEmail},
	{"teacher", teacherEmail},
	{"finance", financeEmail},
	{"admin", adminEmail},
	{"adviser", adviserEmail},
	{"other_org_manager", otherManagerEmail},
}

// authzRoute is one row of the matrix: the status each caller gets.
// Parameters are filled in as :urn -> 990001 (the school of the
// school_manager and teacher), :id -> the id of the 990001 teacher, :token
// -> "nonexistent"; a route whose parameters mean something else gives the
// path to request in fill. Forms carry a valid CSRF token, so a status says
// who may do what, not whether the form came from the site; "{caller}" in a
// form value becomes the caller's name.
type authzRoute struct {
	method, path string
	want         string // anonymous school_manager teacher finance admin adviser [other_org_manager]
	fill         string // the path to request, if not path with the usual values
	form         url.Values
	json         string
}

// authzMatrix lists every route the app has. A new route fails
// TestAuthorizationMatrix until it is added here.
//
// Anonymous callers of a page are sent to sign in (303) on GET and refused
// (401) otherwise; the API answers them 401. A signed-in caller without the
// role gets 403; a school user asking for another organisation's things
// gets 404, as if they did not exist.
var authzMatrix = []authzRoute{
	{method: "GET", path: "/healthz", want: "200 200 200 200 200 200"},
	{method: "GET", path: "/robots.txt", want: "301 301 301 301 301 301"},

	{method: "GET", path: "/api/v1/catalogue", want: "200 200 200 200 200 200"},
	{method: "POST", path: "/api/v1/quotes", want: "200 200 200 200 200 200",
		json: quoteJSON},
	{method: "GET", path: "/api/v1/me", want: "401 200 200 200 200 200"},
	{method: "GET", path: "/api/v1/organisations/:urn", want: "401 200 200 200 200 404 404"},

	{method: "GET", path: "/", want: "200 200 200 200 200 200"},
	{method: "GET", path: "/catalogue", want: "200 200 200 200 200 200"},
	{method: "GET", path: "/accessibility", want: "200 200 200 200 200 200"},

	{method: "GET", path: "/sign-in", want: "200 303 303 303 303 303"},
	{method: "POST", path: "/sign-in", want: "422 422 422 422 422 422",
		form: url.Values{"email": {"matrix-{caller}@traded.example"}}},
	{method: "GET", path: "/sign-in/email", want: "200 200 200 200 200 200"},
	{method: "POST", path: "/sign-in/email", want: "200 200 200 200 200 200",
		form: url.Values{"email": {"nobody@traded.example"}}},
	{method: "GET", path: "/sign-in/link/:token", want: "410 410 410 410 410 410"},
	{method: "POST", path: "/sign-in/link/:token", want: "410 410 410 410 410 410"},
	{method: "GET", path: "/forgot-password", want: "200 200 200 200 200 200"},
	{method: "POST", path: "/forgot-password", want: "200 200 200 200 200 200",
		form: url.Values{"email": {"nobody@traded.example"}}},
	{method: "GET", path: "/reset-password/:token", want: "410 410 410 410 410 410"},
	{method: "POST", path: "/reset-password/:token", want: "410 410 410 410 410 410"},
	{method: "GET", path: "/set-password/:token", want: "410 410 410 410 410 410"},
	{method: "POST", path: "/set-password/:token", want: "410 410 410 410 410 410"},
	{method: "POST", path: "/sign-out", want: "200 200 200 200 200 200"},
	{method: "GET", path: "/account", want: "303 200 200 200 200 200"},
	{method: "POST", path: "/account/password", want: "401 422 422 422 422 422",
		form: url.Values{"password": {"mismatched 1"}, "confirm": {"mismatched 2"}}},

	{method: "GET", path: "/school/staff", want: "303 200 403 403 403 403"},
	{method: "POST", path: "/school/staff", want: "401 303 403 403 403 403",
		form: url.Values{"name": {"Matrix Invitee"}, "email": {"matrix-{caller}@chelmervalley.example"}}},
	{method: "POST", path: "/school/staff/:id/deactivate", want: "401 303 403 403 403 403 404"},
	{method: "POST", path: "/school/staff/:id/reactivate", want: "401 303 403 403 403 403 404"},

	// The admin pages are for LA roles; a school manager of any school is
	// refused by role (403) before any question of whose organisation.
	{method: "GET", path: "/admin/organisations", want: "303 403 403 200 200 403"},
	{method: "GET", path: "/admin/organisations/:urn", want: "303 403 403 200 200 403 403"},
	{method: "POST", path: "/admin/organisations/:urn/tier", want: "401 403 403 403 303 403 403",
		form: url.Values{"tier": {"gias"}, "reason": {"authorization matrix"}}},
	{method: "GET", path: "/admin/users", want: "303 403 403 403 200 403"},
	{method: "POST", path: "/admin/users", want: "401 403 403 403 303 403",
		form: url.Values{"name": {"Matrix User"}, "email": {"matrix-{caller}@traded.example"}, "role": {"adviser"}}},
	{method: "POST", path: "/admin/users/:id/role", want: "401 403 403 403 303 403 403",
		form: url.Values{"role": {"teacher"}, "organisation": {"990001"}}},
	{method: "POST", path: "/admin/users/:id/deactivate", want: "401 403 403 403 303 403 403"},
	{method: "POST", path: "/admin/users/:id/reactivate", want: "401 403 403 403 303 403 403"},
	{method: "GET", path: "/admin/audit", want: "303 403 403 403 200 403"},

	// Billing. :number is TS-000001, 990001's subscription invoice (settled
	// by journal: 990001 is maintained); :cn is CN-000001, a credit against it.
	// A school manager buys for their own school; finance and admins for any
	// (990001 has bought by then: 409).
	{method: "POST", path: "/api/v1/subscriptions", want: "401 201 403 409 409 403",
		json: `{"organisation":"990001","academic_year":"2026/27"}`},
	{method: "GET", path: "/api/v1/invoices", want: "401 200 403 200 200 403"},
	{method: "GET", path: "/api/v1/invoices/:number", want: "401 200 404 200 200 404 404"},
	{method: "POST", path: "/api/v1/invoices/:number/payments", want: "401 403 403 201 201 403 403",
		json: `{"method":"bacs","amount_pence":100}`},
	{method: "POST", path: "/api/v1/invoices/:number/credit-notes", want: "401 403 403 201 201 403 403",
		json: `{"reason":"authorization matrix","amount_pence":100}`},
	// No webhook secret is configured here, so there is no webhook.
	{method: "POST", path: "/api/v1/stripe/webhook", want: "404 404 404 404 404 404", json: `{}`},
	{method: "GET", path: "/subscribe", want: "303 200 403 403 403 403"},
	{method: "POST", path: "/subscribe", want: "401 409 403 403 403 403",
		form: url.Values{"academic_year": {"2026/27"}}},
	{method: "GET", path: "/invoices", want: "303 200 403 200 200 403"},
	{method: "GET", path: "/invoices/:number", want: "303 200 404 200 200 404 404"},
	// Card payment is off here (and a journal invoice is never paid by card).
	{method: "POST", path: "/invoices/:number/pay", want: "401 409 403 403 403 403 404"},
	{method: "POST", path: "/invoices/:number/payments", want: "401 403 403 303 303 403 403",
		form: url.Values{"method": {"bacs"}, "amount": {"1.00"}}},
	// 990001 has a school business manager: the invoice can be sent again.
	{method: "POST", path: "/invoices/:number/send", want: "401 403 403 303 303 403 403"},
	{method: "POST", path: "/invoices/:number/credit-notes", want: "401 403 403 303 303 403 403",
		form: url.Values{"reason": {"authorization matrix"}, "credit_amount": {"1.00"}}},
	{method: "GET", path: "/credit-notes/:cn", want: "303 200 404 200 200 404 404"},

	// Finance. :id is no bank line or journal batch: 404 to those allowed.
	{method: "GET", path: "/finance/aged-debt", want: "303 403 403 200 200 403"},
	{method: "GET", path: "/finance/payments", want: "303 403 403 200 200 403"},
	{method: "GET", path: "/finance/bank", want: "303 403 403 200 200 403"},
	{method: "POST", path: "/finance/bank", want: "401 403 403 422 422 403"},
	{method: "POST", path: "/finance/bank/lines/:id/confirm", want: "401 403 403 404 404 403 403",
		form: url.Values{"invoice": {"TS-000001"}}},
	{method: "POST", path: "/finance/bank/lines/:id/dismiss", want: "401 403 403 404 404 403 403",
		form: url.Values{"reason": {"School meals income"}}},
	{method: "POST", path: "/finance/bank/lines/:id/split", want: "401 403 403 404 404 403 403",
		form: url.Values{"splits": {"TS-000001 1.00"}}},
	{method: "POST", path: "/finance/bank/lines/:id/refund", want: "401 403 403 404 404 403 403",
		form: url.Values{"organisation": {"990001"}, "reason": {"Paid twice"}}},
	// Finance batches both 990001 invoices; the admin then finds nothing left.
	// The ledger of 990001. Its one credit note went to its own invoice, so
	// nothing is left to allocate or refund (409); :id is no allocation.
	{method: "GET", path: "/finance/accounts/:urn", want: "303 403 403 200 200 403 403"},
	{method: "POST", path: "/finance/accounts/:urn/receipts", want: "401 403 403 303 303 403 403",
		form: url.Values{"amount": {"1.00"}, "method": {"bacs"}}},
	{method: "POST", path: "/finance/accounts/:urn/allocations", want: "401 403 403 409 409 403 403",
		form: url.Values{"credit": {"CN-000001"}, "invoice": {"TS-000001"}}},
	{method: "POST", path: "/finance/accounts/:urn/allocations/:id/reverse", want: "401 403 403 404 404 403 403",
		fill: "/finance/accounts/990001/allocations/999999/reverse"},
	{method: "POST", path: "/finance/accounts/:urn/refunds", want: "401 403 403 409 409 403 403",
		form: url.Values{"credit": {"CN-000001"}, "method": {"bacs"}, "reason": {"matrix"}}},
	{method: "GET", path: "/api/v1/accounts/:urn", want: "401 403 403 200 200 403 403"},
	{method: "POST", path: "/api/v1/accounts/:urn/receipts", want: "401 403 403 201 201 403 403",
		json: `{"method":"bacs","amount_pence":100}`},
	{method: "POST", path: "/api/v1/accounts/:urn/allocations", want: "401 403 403 409 409 403 403",
		json: `{"credit":"CN-000001","invoice":"TS-000001"}`},
	{method: "POST", path: "/api/v1/accounts/:urn/allocations/:id/reverse", want: "401 403 403 404 404 403 403",
		fill: "/api/v1/accounts/990001/allocations/999999/reverse"},
	{method: "POST", path: "/api/v1/accounts/:urn/refunds", want: "401 403 403 409 409 403 403",
		json: `{"credit":"CN-000001","method":"bacs","reason":"matrix"}`},
	{method: "GET", path: "/finance/journal", want: "303 403 403 200 200 403"},
	{method: "POST", path: "/finance/journal", want: "401 403 403 303 409 403"},
	{method: "GET", path: "/finance/journal/:id/csv", want: "303 403 403 404 404 403 403"},
	{method: "POST", path: "/finance/journal/:id/post", want: "401 403 403 404 404 403 403"},
	{method: "GET", path: "/finance/exports", want: "303 403 403 200 200 403"},
	{method: "GET", path: "/finance/exports/:name", want: "303 403 403 200 200 403 403"},
	{method: "GET", path: "/finance/ledger-codes", want: "303 403 403 200 200 403"},
	{method: "POST", path: "/finance/ledger-codes", want: "401 403 403 422 422 403",
		form: url.Values{"debtors": {"1100"}}},
	{method: "POST", path: "/admin/organisations/:urn/billing", want: "401 403 403 403 303 403 403",
		form: url.Values{"cost_centre": {"CC100"}}},
	// A school's own statement; LA roles name the school (none given: 422).
	{method: "GET", path: "/statement", want: "303 200 403 422 422 403"},
	{method: "GET", path: "/api/v1/aged-debt", want: "401 403 403 200 200 403"},
	{method: "GET", path: "/api/v1/payments", want: "401 403 403 200 200 403"},
	{method: "POST", path: "/api/v1/bank-statements", want: "401 403 403 422 422 403", json: `{}`},
	{method: "GET", path: "/api/v1/exports/:name", want: "401 403 403 200 200 403 403"},
	{method: "GET", path: "/api/v1/vat-summary", want: "401 403 403 200 200 403"},
	{method: "GET", path: "/api/v1/ledger-codes", want: "401 403 403 200 200 403"},
	{method: "PUT", path: "/api/v1/ledger-codes", want: "401 403 403 200 200 403", json: `{"settings":{"bank":"1200"}}`},

	// Booking. :id is the booking of 990001's teacher, and also the user id
	// of that teacher (tests line the two up); :did is its delegate, :session
	// a session open for booking. Pages a caller may not see answer 404.
	{method: "GET", path: "/api/v1/sessions", want: "200 200 200 200 200 200"},
	{method: "GET", path: "/api/v1/sessions/:id", want: "200 200 200 200 200 200 200", fill: "/api/v1/sessions/{session}"},
	{method: "POST", path: "/api/v1/sessions", want: "401 403 403 403 422 403", json: `{"course":"psa-phonics"}`},
	{method: "PATCH", path: "/api/v1/sessions/:id", want: "401 403 403 403 200 403 403", fill: "/api/v1/sessions/{session}", json: `{"presenter":"Matrix"}`},
	{method: "POST", path: "/api/v1/sessions/:id/cancel", want: "401 403 403 403 422 403 403", fill: "/api/v1/sessions/{session}/cancel", json: `{"reason":""}`},
	{method: "GET", path: "/api/v1/sessions/:id/register", want: "401 403 403 403 200 403 403", fill: "/api/v1/sessions/{session}/register"},
	{method: "POST", path: "/api/v1/sessions/:id/attendance", want: "401 403 403 403 422 403 403", fill: "/api/v1/sessions/{session}/attendance", json: `{"marks":[]}`},
	// Each caller books someone new; a teacher books only themselves, and LA finance books nobody.
	{method: "POST", path: "/api/v1/sessions/:id/bookings", want: "401 201 403 403 201 403 404", fill: "/api/v1/sessions/{session}/bookings",
		json: `{"organisation":"990001","delegates":[{"name":"Matrix {caller}","email":"matrix-{caller}@chelmervalley.example"}]}`},
	{method: "GET", path: "/api/v1/bookings", want: "401 200 200 200 200 403"},
	{method: "GET", path: "/api/v1/bookings/:id", want: "401 200 200 200 200 404 404", fill: "/api/v1/bookings/{booking}"},
	{method: "POST", path: "/api/v1/bookings/:id/cancel", want: "401 409 409 404 409 404 404", fill: "/api/v1/bookings/{ended}/cancel", json: `{}`},
	{method: "POST", path: "/api/v1/bookings/:id/accept", want: "401 409 409 404 409 404 404", fill: "/api/v1/bookings/{booking}/accept", json: `{}`},
	{method: "POST", path: "/api/v1/bookings/:id/decline", want: "401 409 409 404 409 404 404", fill: "/api/v1/bookings/{booking}/decline", json: `{}`},
	{method: "POST", path: "/api/v1/bookings/:id/approve", want: "401 409 403 403 403 403 404", fill: "/api/v1/bookings/{booking}/approve", json: `{}`},
	{method: "POST", path: "/api/v1/bookings/:id/reject", want: "401 409 403 403 403 403 404", fill: "/api/v1/bookings/{booking}/reject", json: `{}`},
	{method: "POST", path: "/api/v1/bookings/:id/delegates/:did/cancel", want: "401 404 404 404 404 404 404", fill: "/api/v1/bookings/{booking}/delegates/999999/cancel"},
	{method: "POST", path: "/api/v1/bookings/:id/delegates/:did/swap", want: "401 422 403 404 422 404 404", fill: "/api/v1/bookings/{booking}/delegates/{delegate}/swap", json: `{"name":"","email":""}`},
	{method: "GET", path: "/programme", want: "200 200 200 200 200 200"},
	{method: "GET", path: "/sessions/:id", want: "200 200 200 200 200 200 200", fill: "/sessions/{session}"},
	// The page books as the API does: a teacher only themselves (already
	// booked here: 409), an admin for the school named, LA finance and
	// advisers nobody; another school's manager cannot book for 990001.
	{method: "POST", path: "/sessions/:id/book", want: "401 303 409 403 303 403 404", fill: "/sessions/{session}/book",
		form: url.Values{"organisation": {"990001"}, "name_0": {"Matrix {caller}"}, "email_0": {"matrix-page-{caller}@chelmervalley.example"}}},
	{method: "GET", path: "/bookings", want: "303 200 200 403 403 403"},
	{method: "GET", path: "/bookings/:id", want: "303 200 200 200 200 404 404", fill: "/bookings/{booking}"},
	{method: "POST", path: "/bookings/:id/:action", want: "401 409 409 404 409 404 404", fill: "/bookings/{ended}/cancel"},
	{method: "POST", path: "/bookings/:id/delegates/:did/:action", want: "401 404 404 404 404 404 404", fill: "/bookings/{booking}/delegates/999999/cancel"},
	{method: "GET", path: "/bookings/:id/delegates/:did/certificate.pdf", want: "303 404 404 404 404 404 404", fill: "/bookings/{booking}/delegates/{delegate}/certificate.pdf"},
	{method: "GET", path: "/school/settings", want: "303 200 403 403 403 403"},
	{method: "POST", path: "/school/settings", want: "401 303 403 403 403 403", form: url.Values{"booking_invoices": {"per_booking"}}},
	{method: "GET", path: "/admin/sessions", want: "303 403 403 403 200 403"},
	{method: "POST", path: "/admin/sessions", want: "401 403 403 403 422 403", form: url.Values{"course": {"psa-phonics"}}},
	{method: "GET", path: "/admin/sessions/:id", want: "303 403 403 403 200 403 403", fill: "/admin/sessions/{session}"},
	{method: "POST", path: "/admin/sessions/:id", want: "401 403 403 403 303 403 403", fill: "/admin/sessions/{session}", form: url.Values{"presenter": {"Matrix"}}},
	{method: "POST", path: "/admin/sessions/:id/cancel", want: "401 403 403 403 422 403 403", fill: "/admin/sessions/{session}/cancel"},
	// The session has not started, so the register is not open yet: 409.
	{method: "POST", path: "/admin/sessions/:id/register", want: "401 403 403 403 409 403 403", fill: "/admin/sessions/{session}/register"},
	{method: "POST", path: "/finance/monthly-invoices", want: "401 403 403 303 303 403"},

	// Calendars and mail. The teacher's booking is confirmed, so it has an
	// invite; a feed is reached by its unguessable token alone.
	{method: "GET", path: "/api/v1/bookings/:id/invite.ics", want: "401 200 200 200 200 404 404", fill: "/api/v1/bookings/{booking}/invite.ics"},
	{method: "GET", path: "/bookings/:id/invite.ics", want: "303 200 200 200 200 404 404", fill: "/bookings/{booking}/invite.ics"},
	{method: "GET", path: "/calendar/:token", want: "404 404 404 404 404 404", fill: "/calendar/not-a-feed.ics"},
	{method: "POST", path: "/account/calendar/reset", want: "401 303 303 303 303 303", form: url.Values{"scope": {"mine"}}},
	{method: "GET", path: "/admin/outbox", want: "303 403 403 403 200 403"},
	{method: "GET", path: "/admin/jobs", want: "303 403 403 403 200 403"},
	{method: "GET", path: "/api/v1/jobs", want: "401 403 403 403 200 403"},
	// Message 1 is still queued (no mail worker runs here): 409.
	{method: "POST", path: "/admin/outbox/:id/resend", want: "401 403 403 403 409 403 403", fill: "/admin/outbox/1/resend"},
	{method: "GET", path: "/admin/terms", want: "303 403 403 403 200 403"},
	{method: "POST", path: "/admin/terms", want: "401 403 403 403 422 403", form: url.Values{"year": {"2026/27"}}},
	// Bank holidays: 3 June 2031 is a Tuesday and no bank holiday, so
	// removing it is a 404 to an admin; a bad date is a 422.
	{method: "GET", path: "/admin/bank-holidays", want: "303 403 403 403 200 403"},
	{method: "POST", path: "/admin/bank-holidays", want: "401 403 403 403 422 403", form: url.Values{"date": {"3/6/2031"}, "name": {"Matrix"}}},
	{method: "POST", path: "/admin/bank-holidays/:date/remove", want: "401 403 403 403 404 403 403", fill: "/admin/bank-holidays/2031-06-03/remove"},
	{method: "GET", path: "/api/v1/bank-holidays", want: "401 403 403 403 200 403"},
	{method: "POST", path: "/api/v1/bank-holidays", want: "401 403 403 403 422 403", json: `{"date":"2031-13-01","name":"Matrix"}`},
	{method: "DELETE", path: "/api/v1/bank-holidays/:date", want: "401 403 403 403 404 403 403", fill: "/api/v1/bank-holidays/2031-06-03"},

	// Consultancy. :id is no request: 404 to those allowed to look.
	{method: "GET", path: "/consultancy", want: "303 200 403 200 200 200"},
	{method: "POST", path: "/consultancy", want: "401 422 403 403 403 403", form: url.Values{"service": {"governance-qa"}}},
	{method: "GET", path: "/consultancy/:id", want: "303 404 404 404 404 404 404", fill: "/consultancy/999999"},
	{method: "POST", path: "/consultancy/:id/quote", want: "401 403 403 403 404 403 403", fill: "/consultancy/999999/quote"},
	{method: "POST", path: "/consultancy/:id/:decision", want: "401 404 404 404 404 404 404", fill: "/consultancy/999999/accept"},
	{method: "POST", path: "/consultancy/visits/:vid/deliver", want: "401 404 404 404 404 404 404", fill: "/consultancy/visits/999999/deliver"},
	{method: "POST", path: "/consultancy/visits/:vid/cancel", want: "401 404 404 404 404 404 404", fill: "/consultancy/visits/999999/cancel"},
	{method: "GET", path: "/admin/planner", want: "303 403 403 403 200 403"},
	{method: "POST", path: "/admin/advisers/:id/availability", want: "401 403 403 403 422 403 403", form: url.Values{"year": {"2026/27"}, "autumn1": {"5"}}},
	{method: "POST", path: "/admin/consultancy/rates", want: "401 403 403 403 422 403", form: url.Values{"year": {"2026/27"}}},
	{method: "GET", path: "/admin/consultancy/report", want: "303 403 403 403 200 403"},
	{method: "POST", path: "/finance/consultancy-invoices", want: "401 403 403 303 303 403"},
	{method: "GET", path: "/api/v1/consultancy/services", want: "200 200 200 200 200 200"},
	{method: "GET", path: "/api/v1/consultancy/requests", want: "401 200 403 200 200 200"},
	{method: "POST", path: "/api/v1/consultancy/requests", want: "401 201 403 403 403 403",
		json: `{"service":"governance-qa","need":"A review of our board"}`},
	{method: "GET", path: "/api/v1/consultancy/requests/:id", want: "401 404 404 404 404 404 404", fill: "/api/v1/consultancy/requests/999999"},
}

const quoteJSON = `{"organisation":"990001","academic_year":"2021/22","items":[{"product":"psa-subscription"}]}`

// hasOwnerParam reports whether the path names something that belongs to
// someone: any parameter but an emailed link's token.
func hasOwnerParam(path string) bool {
	return strings.Count(path, ":") > strings.Count(path, ":token")
}

// appRoutes returns "METHOD /path" for every route a request can reach,
// leaving out HEAD (Fiber adds one per GET), middleware and static files.
func appRoutes(app *testApp) map[string]bool {
	out := map[string]bool{}
	for _, r := range app.srv.App().GetRoutes(true) {
		if r.Method == http.MethodHead || r.Method == "USE" || r.Path == "/static" || strings.HasPrefix(r.Path, "/static/") {
			continue
		}
		out[r.Method+" "+r.Path] = true
	}
	return out
}

// checkHeaders checks the headers every answer carries, and that a private
// one (to a signed-in user, or at a secret address) is Cache-Control:
// no-store, so that a shared school computer keeps none of it.
func checkHeaders(t *testing.T, what string, p *page, private bool) {
	t.Helper()
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"} {
		if got := p.header.Get(h); got != want {
			t.Errorf("%s: %s %q, want %q", what, h, got, want)
		}
	}
	if !strings.Contains(p.header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("%s: no Content-Security-Policy", what)
	}
	if got := p.header.Get("Cache-Control"); private && got != "no-store" {
		t.Errorf("%s: Cache-Control %q, want no-store", what, got)
	}
}

func TestAuthorizationMatrix(t *testing.T) {
	// Every caller here comes from one address: lift the link forms' limit.
	app := newAccountsApp(t, web.Config{Dev: true, LinkLimitPerAddress: 1000, Limits: web.LimitsConfig{LinkPerEmail: 1000}})
	ctx := context.Background()
	teacher := app.user(t, teacherEmail)
	org, err := organisation.New(app.db).FindByURN(ctx, 990001)
	if err != nil {
		t.Fatal(err)
	}

	// The table and the app agree on which routes exist.
	routes := appRoutes(app)
	listed := map[string]bool{}
	for _, r := range authzMatrix {
		key := r.method + " " + r.path
		if listed[key] {
			t.Errorf("%s is listed twice", key)
		}
		listed[key] = true
		if !routes[key] {
			t.Errorf("%s is in authzMatrix but not a route of the app", key)
		}
		n := len(strings.Fields(r.want))
		if want := map[bool]int{true: 7, false: 6}[hasOwnerParam(r.path)]; n != want {
			t.Errorf("%s: %d expected statuses, want %d", key, n, want)
		}
	}
	for key := range routes {
		if !listed[key] {
			t.Errorf("route %s is not in authzMatrix: say who may call it", key)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	agents := make([]*userAgent, len(authzCallers))
	signIn := func(i int) {
		agents[i] = app.agent(t)
		if authzCallers[i].email == "" {
			agents[i].get("/sign-in")
		} else {
			agents[i].signIn(authzCallers[i].email)
		}
	}
	for i := range authzCallers {
		signIn(i)
	}
	// restore undoes what an allowed call changed, so the next caller finds
	// the teacher as before: active, a teacher of 990001.
	restore := func() {
		t.Helper()
		if err := app.db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE users SET active = 1, role = 'teacher', organisation_id = ? WHERE id = ?`, org.ID, teacher.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}

	// 990001's subscription invoice, and a credit note against it.
	bill := billing.NewService(app.db, organisation.New(app.db), catalogue.New(app.db), billing.DefaultConfig(), nil)
	sub, err := bill.BuySubscription(ctx, store.System, 990001, 2021, "")
	if err != nil {
		t.Fatal(err)
	}
	cn, err := bill.CreateCreditNote(ctx, store.System, sub.InvoiceNumber, billing.CreditInput{Reason: "matrix", Amount: 100})
	if err != nil {
		t.Fatal(err)
	}

	// A session open for booking, the teacher's booking on it (confirmed,
	// free: the school has the 2021/22 subscription only, so it is priced),
	// and an ended booking.
	bk := wiring.Domains(app.db).Booking
	bk.Charger = bill
	var open *catalogue.Session
	all, err := bk.Catalogue.FindSessions(ctx, catalogue.SessionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range all {
		if x.ProductCode == "psa-session" && x.BookingCutoffAt.After(app.clock.Now()) {
			open = x
			break
		}
	}
	teacherBooking, err := bk.CreateBooking(ctx, teacher, "", booking.BookingRequest{SessionID: open.ID, URN: 990001,
		Delegates: []booking.DelegateInput{{Name: teacher.Name, Email: teacher.Email}}})
	if err != nil {
		t.Fatal(err)
	}
	ended, err := bk.CreateBooking(ctx, teacher, "", booking.BookingRequest{SessionID: all[len(all)-1].ID, URN: 990001,
		Delegates: []booking.DelegateInput{{Name: teacher.Name, Email: teacher.Email}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := bk.CancelBooking(ctx, teacher, "", ended.ID, "matrix"); err != nil {
		t.Fatal(err)
	}
	fills := strings.NewReplacer("{session}", strconv.FormatInt(open.ID, 10), "{booking}", strconv.FormatInt(teacherBooking.ID, 10),
		"{delegate}", strconv.FormatInt(teacherBooking.Delegates[0].ID, 10), "{ended}", strconv.FormatInt(ended.ID, 10))

	path := func(p string) string {
		return strings.NewReplacer(":urn", "990001", ":id", strconv.FormatInt(teacher.ID, 10), ":token", "nonexistent",
			":number", sub.InvoiceNumber, ":cn", cn.Number+".pdf", ":name", "invoices.csv").Replace(p)
	}
	for _, r := range authzMatrix {
		want := strings.Fields(r.want)
		for i, caller := range authzCallers {
			if i >= len(want) {
				break
			}
			u, p := agents[i], path(r.path)
			if r.fill != "" {
				p = fills.Replace(r.fill)
			}
			var got *page
			switch {
			case r.method == "GET":
				got = u.get(p)
			case r.json != "" || r.method == "DELETE":
				got = u.send(r.method, p, strings.NewReader(strings.ReplaceAll(r.json, "{caller}", caller.name)), "application/json", "X-Csrf-Token", u.csrf)
			default:
				form := url.Values{}
				for k, vs := range r.form {
					for _, v := range vs {
						form.Add(k, strings.ReplaceAll(v, "{caller}", caller.name))
					}
				}
				got = u.submit(p, form)
			}
			if strconv.Itoa(got.status) != want[i] {
				t.Errorf("%s %s as %s: %d, want %s: %s", r.method, p, caller.name, got.status, want[i], excerpt(got.body))
			}
			checkHeaders(t, r.method+" "+p+" as "+caller.name, got, caller.email != "" || strings.Contains(r.path, ":token"))
			if caller.email == "" && r.method == "GET" && got.status == http.StatusSeeOther {
				if loc := got.location(); loc != "/sign-in?next="+url.QueryEscape(p) {
					t.Errorf("GET %s as anonymous: sent to %q, want /sign-in?next=%s", p, loc, url.QueryEscape(p))
				}
			}
			if strings.HasPrefix(p, "/api/") && got.status >= 400 {
				if code, msg, _ := jsonError(t, got.body); code == "" || msg == "" {
					t.Errorf("%s %s as %s: error body %s", r.method, p, caller.name, got.body)
				}
			}
			restore()
			if r.path == "/sign-out" && caller.email != "" {
				signIn(i)
			}
			// Deactivating the teacher ended their sessions: restore
			// made them active again, so they sign in again.
			if app.count(t, `SELECT count(*) FROM web_sessions WHERE user_id = ?`, teacher.ID) == 0 {
				signIn(2)
			}
		}
	}

	// Everyone is still who they were: no call above signed anyone out.
	for i, caller := range authzCallers {
		if got := agents[i].signedInAs(); got != caller.email {
			t.Errorf("%s is now signed in as %q", caller.name, got)
		}
	}

	t.Run("OtherOrganisation", func(t *testing.T) {
		// 990004 belongs to other_org_manager; LA finance and admins see it.
		want := map[string]int{"anonymous": 401, "school_manager": 404, "teacher": 404, "finance": 200, "admin": 200, "adviser": 404, "other_org_manager": 200}
		for i, caller := range authzCallers {
			p := agents[i].get("/api/v1/organisations/990004")
			if p.status != want[caller.name] {
				t.Errorf("GET /api/v1/organisations/990004 as %s: %d, want %d", caller.name, p.status, want[caller.name])
			}
			if p.status == http.StatusOK && !strings.Contains(p.body, `"urn":990004`) {
				t.Errorf("as %s: %s", caller.name, p.body)
			}
			if p.status == http.StatusNotFound {
				// Exactly as for a URN that does not exist.
				_, hidden, _ := jsonError(t, p.body)
				_, missing, _ := jsonError(t, agents[i].get("/api/v1/organisations/999999").body)
				if strings.ReplaceAll(hidden, "990004", "N") != strings.ReplaceAll(missing, "999999", "N") {
					t.Errorf("as %s, a hidden organisation answers %q but a missing one %q", caller.name, hidden, missing)
				}
			}
		}
		for _, bad := range []string{"abc", "0", "-1"} {
			if p := agents[4].get("/api/v1/organisations/" + bad); p.status != http.StatusNotFound {
				t.Errorf("GET /api/v1/organisations/%s as admin: %d, want 404", bad, p.status)
			}
		}
	})

	t.Run("BearerTokens", func(t *testing.T) {
		svc := wiring.Domains(app.db).Booking
		cli := store.Actor{Name: "test"}
		org1 := map[string]int{"school_manager": 200, "teacher": 200, "finance": 200, "admin": 200, "adviser": 404, "other_org_manager": 404}
		org4 := map[string]int{"school_manager": 404, "teacher": 404, "finance": 200, "admin": 200, "adviser": 404, "other_org_manager": 200}
		for _, caller := range authzCallers[1:] {
			token, _, err := svc.Accounts.CreateAPIToken(ctx, cli, caller.email, "matrix")
			if err != nil {
				t.Fatal(err)
			}
			auth := "Bearer " + token
			status, body := app.do("GET", "/api/v1/me", "", "Authorization", auth)
			role := caller.name
			if role == "other_org_manager" {
				role = "school_manager"
			}
			if status != http.StatusOK || !strings.Contains(body, `"email":"`+caller.email+`"`) || !strings.Contains(body, `"role":"`+role+`"`) {
				t.Errorf("GET /api/v1/me with %s's token: %d %s", caller.name, status, body)
			}
			if status, _ := app.do("GET", "/api/v1/organisations/990001", "", "Authorization", auth); status != org1[caller.name] {
				t.Errorf("GET /api/v1/organisations/990001 with %s's token: %d, want %d", caller.name, status, org1[caller.name])
			}
			if status, _ := app.do("GET", "/api/v1/organisations/990004", "", "Authorization", auth); status != org4[caller.name] {
				t.Errorf("GET /api/v1/organisations/990004 with %s's token: %d, want %d", caller.name, status, org4[caller.name])
			}
		}

		// A token needs no CSRF token: it is not sent by browsers on their own.
		token, id, err := svc.Accounts.CreateAPIToken(ctx, cli, financeEmail, "revoked soon")
		if err != nil {
			t.Fatal(err)
		}
		status, body := app.do("POST", "/api/v1/quotes", quoteJSON, "Authorization", "Bearer "+token)
		if status != http.StatusOK {
			t.Errorf("POST /api/v1/quotes with a token: %d %s", status, body)
		}
		if err := svc.Accounts.RevokeAPIToken(ctx, cli, id); err != nil {
			t.Fatal(err)
		}
		for name, auth := range map[string]string{
			"revoked":   "Bearer " + token,
			"garbage":   "Bearer garbage",
			"empty":     "Bearer ",
			"basic":     "Basic " + token,
			"no scheme": token,
		} {
			for _, p := range []string{"/api/v1/me", "/api/v1/organisations/990001", "/api/v1/catalogue"} {
				status, body := app.do("GET", p, "", "Authorization", auth)
				if status != http.StatusUnauthorized {
					t.Errorf("GET %s with a %s token: %d, want 401", p, name, status)
					continue
				}
				if code, _, _ := jsonError(t, body); code != "unauthorized" {
					t.Errorf("GET %s with a %s token: code %q", p, name, code)
				}
			}
		}
	})
}
