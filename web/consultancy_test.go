package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"traded/account"
	wiring "traded/app"
	"traded/store"
	"traded/web"
)

// School-improvement consultancy by the day, through the pages as each
// role sees them: a school asks, the LA quotes an adviser's days, the school
// accepts, the adviser logs the day, a late cancellation is charged, and
// finance's run invoices the engagement once.
//
// The clock starts at Sunday 22 November 2026 (storetest.Epoch), in
// 2026/27, whose demo consultancy rates are maintained £450.00 a day and
// £250.00 a half day, academy £525.00 and £285.00.

const (
	consultAdviser2Email = "second.adviser@traded.example"
	consultAdviser2Name  = "Bea Second-Adviser"

	// The engagement's visits: a whole day at the school on Wednesday
	// 2 December 2026 and an online morning on Friday 4 December, the
	// week of Monday 30 November.
	consultDay1   = "2026-12-02"
	consultDay2   = "2026-12-04"
	consultWeekOf = "2026-11-30"
)

// consultAgents are the callers, each signed in.
type consultAgents struct {
	manager, other, admin, adviser, adviser2, teacher, finance *userAgent
}

func (a *consultAgents) all() map[string]*userAgent {
	return map[string]*userAgent{managerEmail: a.manager, otherManagerEmail: a.other, adminEmail: a.admin,
		adviserEmail: a.adviser, consultAdviser2Email: a.adviser2, teacherEmail: a.teacher, financeEmail: a.finance}
}

// signInAll signs every caller in afresh: moving the clock ends sessions.
func (a *consultAgents) signInAll() {
	for email, u := range a.all() {
		u.jar, u.csrf = map[string]string{}, ""
		u.signIn(email)
	}
}

// consultRequestJSON is the API's view of a request.
type consultRequestJSON struct {
	ID        int64  `json:"id"`
	Reference string `json:"reference"`
	Status    string `json:"status"`
	Adviser   string `json:"adviser"`
	Service   string `json:"service"`
	Visits    []struct {
		ID            int64  `json:"id"`
		Date          string `json:"date"`
		Part          string `json:"part"`
		Mode          string `json:"mode"`
		Status        string `json:"status"`
		DeliveredHalf int    `json:"delivered_half_days"`
		Note          string `json:"note"`
		ChargedHalf   int    `json:"charged_half_days"`
	} `json:"visits"`
}

func consultDecode(t *testing.T, what string, p *page, v any) {
	t.Helper()
	wantStatus(t, what, p, http.StatusOK)
	if err := json.Unmarshal([]byte(p.body), v); err != nil {
		t.Fatalf("%s: %v: %s", what, err, p.body)
	}
}

// consultRequest reads request id through the API as u.
func consultRequest(t *testing.T, u *userAgent, id int64) consultRequestJSON {
	t.Helper()
	var cr consultRequestJSON
	consultDecode(t, fmt.Sprintf("GET /api/v1/consultancy/requests/%d", id), u.get(fmt.Sprintf("/api/v1/consultancy/requests/%d", id)), &cr)
	return cr
}

var consultRequestPath = regexp.MustCompile(`^/consultancy/(\d+)$`)

// consultRequestID is the id in a 303 to /consultancy/N.
func consultRequestID(t *testing.T, what string, p *page) int64 {
	t.Helper()
	wantStatus(t, what, p, http.StatusSeeOther)
	m := consultRequestPath.FindStringSubmatch(p.location())
	if m == nil {
		t.Fatalf("%s: Location %q, want /consultancy/N", what, p.location())
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

// consultText is the text of a page's main content, tags removed, entities
// decoded and spaces collapsed.
func consultText(body string) string {
	if i := strings.Index(body, `<main`); i >= 0 {
		body = body[i:]
		if j := strings.Index(body, `</main>`); j >= 0 {
			body = body[:j]
		}
	}
	return strings.TrimSpace(spaces.ReplaceAllString(html.UnescapeString(tags.ReplaceAllString(body, " ")), " "))
}

// consultRow is the text of the first table row whose text holds want, or "".
func consultRow(body, want string) string {
	for _, row := range strings.Split(body, `<tr class="govuk-table__row">`)[1:] {
		if i := strings.Index(row, `</tr>`); i >= 0 {
			row = row[:i]
		}
		if text := consultText(row); strings.Contains(text, want) {
			return text
		}
	}
	return ""
}

var consultSummaryLink = regexp.MustCompile(`<a href="#([^"]+)">`)

// consultErrorSummary checks p is a re-shown form with an error summary
// holding want, whose every link leads to an element of the page.
func consultErrorSummary(t *testing.T, what string, p *page, want string) {
	t.Helper()
	i := strings.Index(p.body, `govuk-error-summary`)
	if i < 0 {
		t.Errorf("%s: no error summary: %s", what, excerpt(p.body))
		return
	}
	summary := p.body[i:]
	if j := strings.Index(summary, `</ul>`); j >= 0 {
		summary = summary[:j]
	}
	if !strings.Contains(html.UnescapeString(summary), want) {
		t.Errorf("%s: the error summary lacks %q: %s", what, want, consultText(summary))
	}
	if !strings.Contains(p.body, `<title>Error: `) {
		t.Errorf("%s: the title does not start \"Error: \"", what)
	}
	for _, m := range consultSummaryLink.FindAllStringSubmatch(summary, -1) {
		if !strings.Contains(p.body, `id="`+m[1]+`"`) {
			t.Errorf("%s: the error summary links to #%s, which is not on the page", what, m[1])
		}
	}
}

func TestConsultancy_RequestQuoteDeliverInvoice(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	ctx := context.Background()
	svc := wiring.Domains(app.db).Consultancy
	svc.Accounts.PasswordCost = bcrypt.MinCost
	adviser2, err := svc.Accounts.CreateUser(ctx, store.System, account.UserInput{Email: consultAdviser2Email, Name: consultAdviser2Name,
		Role: account.RoleAdviser, Password: "a long password 1"})
	if err != nil {
		t.Fatal(err)
	}
	adviser1 := app.user(t, adviserEmail)
	ag := &consultAgents{manager: app.agent(t), other: app.agent(t), admin: app.agent(t), adviser: app.agent(t),
		adviser2: app.agent(t), teacher: app.agent(t), finance: app.agent(t)}
	ag.signInAll()

	// --- The request --------------------------------------------------

	ag.manager.get("/consultancy")
	p := ag.manager.submit("/consultancy", url.Values{"service": {"curriculum-review"}, "need": {""}})
	wantStatus(t, "a request with no need", p, http.StatusUnprocessableEntity)
	consultErrorSummary(t, "a request with no need", p, "Tell us what your school needs")

	page0 := ag.manager.get("/consultancy")
	wantStatus(t, "GET /consultancy (manager)", page0, http.StatusOK)
	for _, want := range []string{"Bespoke curriculum review", "£450.00", "£250.00", `action="/consultancy"`} {
		if !strings.Contains(page0.body, want) {
			t.Errorf("the manager's consultancy page lacks %q", want)
		}
	}
	id := consultRequestID(t, "POST /consultancy", ag.manager.submit("/consultancy", url.Values{"service": {"curriculum-review"},
		"need": {"A review of our reading curriculum in key stage 2."}, "preferred": {"Early December"}, "po_number": {"PO-4411"}}))
	reqPath := fmt.Sprintf("/consultancy/%d", id)
	p = ag.manager.get(reqPath)
	wantStatus(t, "GET "+reqPath+" (manager)", p, http.StatusOK)
	for _, want := range []string{"Bespoke curriculum review", "Waiting for a quote", "A review of our reading curriculum in key stage 2.",
		"Early December", "PO-4411", "has gone to the LA"} {
		if !strings.Contains(consultText(p.body), want) {
			t.Errorf("the request page lacks %q: %s", want, excerpt(p.body))
		}
	}
	cr := consultRequest(t, ag.manager, id)
	if cr.Status != "requested" || !strings.HasPrefix(cr.Reference, "CR-") || cr.Service != "curriculum-review" {
		t.Fatalf("the request: %+v", cr)
	}
	ref := cr.Reference

	t.Run("WhoSeesTheRequest", func(t *testing.T) {
		for _, c := range []struct {
			name string
			u    *userAgent
			want int
		}{
			{"manager", ag.manager, 200}, {"admin", ag.admin, 200}, {"finance", ag.finance, 200},
			{"other school's manager", ag.other, 404},
			// A teacher may sign in and so passes signedIn; the request is
			// not theirs to see, so it is not there.
			{"teacher", ag.teacher, 404},
			{"adviser, before being assigned", ag.adviser, 404},
			{"second adviser", ag.adviser2, 404},
		} {
			wantStatus(t, "GET "+reqPath+" as "+c.name, c.u.get(reqPath), c.want)
		}
		var list struct{ Requests []consultRequestJSON }
		consultDecode(t, "GET /api/v1/consultancy/requests (990004)", ag.other.get("/api/v1/consultancy/requests"), &list)
		for _, r := range list.Requests {
			if r.ID == id {
				t.Errorf("990004's manager's API list holds 990001's request %s", ref)
			}
		}
		wantStatus(t, "GET /api/v1/consultancy/requests/id (990004)", ag.other.get(fmt.Sprintf("/api/v1/consultancy/requests/%d", id)), http.StatusNotFound)
		wantStatus(t, "GET /api/v1/consultancy/requests (teacher)", ag.teacher.get("/api/v1/consultancy/requests"), http.StatusForbidden)
		if p := ag.other.get("/consultancy"); strings.Contains(p.body, ref) {
			t.Errorf("990004's consultancy page lists %s", ref)
		}
	})

	// --- The quote ----------------------------------------------------

	quote := func(u *userAgent, id int64, adviser int64, extra url.Values) *page {
		t.Helper()
		u.get(fmt.Sprintf("/consultancy/%d", id))
		f := url.Values{"adviser": {strconv.FormatInt(adviser, 10)}, "billing": {"completion"}, "late_cancel_rule": {"full"},
			"note": {"Ada will meet the English lead first."}}
		for k, v := range extra {
			f[k] = v
		}
		return u.submit(fmt.Sprintf("/consultancy/%d/quote", id), f)
	}
	twoVisits := url.Values{"date_0": {consultDay1}, "part_0": {"day"}, "mode_0": {"onsite"},
		"date_1": {consultDay2}, "part_1": {"am"}, "mode_1": {"virtual"}}

	t.Run("Quote", func(t *testing.T) {
		ap := ag.admin.get(reqPath)
		for _, want := range []string{`action="` + reqPath + `/quote"`, `<option value="` + strconv.FormatInt(adviser1.ID, 10) + `">Ada Adviser</option>`,
			`<option value="` + strconv.FormatInt(adviser2.ID, 10) + `">` + consultAdviser2Name + `</option>`} {
			if !strings.Contains(ap.body, want) {
				t.Errorf("the admin's request page lacks %q", want)
			}
		}
		// The school cannot quote itself.
		ag.manager.get(reqPath)
		wantStatus(t, "a quote by the manager", ag.manager.submit(reqPath+"/quote", twoVisits), http.StatusForbidden)

		p := quote(ag.admin, id, adviser1.ID, twoVisits)
		wantStatus(t, "POST quote (admin)", p, http.StatusSeeOther)
		if p.location() != reqPath {
			t.Errorf("after the quote: Location %q", p.location())
		}
		cr := consultRequest(t, ag.admin, id)
		if cr.Status != "quoted" || cr.Adviser != "Ada Adviser" || len(cr.Visits) != 2 {
			t.Fatalf("after the quote: %+v", cr)
		}
		for i, want := range [][3]string{{consultDay1, "day", "onsite"}, {consultDay2, "am", "virtual"}} {
			v := cr.Visits[i]
			if v.Date != want[0] || v.Part != want[1] || v.Mode != want[2] || v.Status != "proposed" {
				t.Errorf("visit %d: %+v, want %v proposed", i, v, want)
			}
		}

		mp := ag.manager.get(reqPath)
		wantStatus(t, "GET "+reqPath+" (manager, quoted)", mp, http.StatusOK)
		text := consultText(mp.body)
		for _, want := range []string{"Quote to decide", "Ada Adviser", "£450.00 a day, £250.00 a half day (2026/27)",
			"Fee for 1 and a half days £700.00 plus VAT of £140.00", "When the work is complete", "the whole visit is charged",
			"Ada will meet the English lead first.", "2 December 2026 Whole day At the school", "4 December 2026 Morning Online"} {
			if !strings.Contains(text, want) {
				t.Errorf("the manager's quoted page lacks %q: %s", want, text)
			}
		}
		for _, want := range []string{reqPath + "/accept", reqPath + "/decline"} {
			if !strings.Contains(mp.body, `action="`+want+`"`) {
				t.Errorf("the manager's quoted page has no form to %s", want)
			}
		}
		// The assigned adviser now sees it; the other adviser still not.
		wantStatus(t, "GET "+reqPath+" (assigned adviser)", ag.adviser.get(reqPath), http.StatusOK)
		if p := ag.adviser.get("/consultancy"); !strings.Contains(p.body, ref) {
			t.Errorf("the adviser's work list lacks %s", ref)
		}
		wantStatus(t, "GET "+reqPath+" (second adviser)", ag.adviser2.get(reqPath), http.StatusNotFound)
		wantStatus(t, "GET API (second adviser)", ag.adviser2.get(fmt.Sprintf("/api/v1/consultancy/requests/%d", id)), http.StatusNotFound)
	})

	t.Run("DoubleBooking", func(t *testing.T) {
		ag.other.get("/consultancy")
		id2 := consultRequestID(t, "POST /consultancy (990004)", ag.other.submit("/consultancy", url.Values{"service": {"governance-qa"},
			"need": {"A review of our governing board."}}))
		path2 := fmt.Sprintf("/consultancy/%d", id2)
		wantStatus(t, "GET "+path2+" (990004)", ag.other.get(path2), http.StatusOK)
		wantStatus(t, "GET "+path2+" (990001)", ag.manager.get(path2), http.StatusNotFound)

		same := url.Values{"date_0": {consultDay1}, "part_0": {"day"}, "mode_0": {"onsite"}}
		p := quote(ag.admin, id2, adviser1.ID, same)
		wantStatus(t, "a quote double-booking Ada", p, http.StatusConflict)
		consultErrorSummary(t, "a quote double-booking Ada", p, "Ada Adviser is already booked on "+consultDay1)
		if !strings.Contains(p.body, `action="`+path2+`/quote"`) || !strings.Contains(p.body, `value="`+consultDay1+`"`) {
			t.Errorf("the quote form is not re-shown with the date given: %s", excerpt(p.body))
		}
		// Half of Ada's booked day is booked too.
		p = quote(ag.admin, id2, adviser1.ID, url.Values{"date_0": {consultDay1}, "part_0": {"pm"}, "mode_0": {"virtual"}})
		wantStatus(t, "an afternoon quote on Ada's booked day", p, http.StatusConflict)
		if cr := consultRequest(t, ag.admin, id2); cr.Status != "requested" || len(cr.Visits) != 0 {
			t.Errorf("the refused quotes left %+v", cr)
		}

		p = quote(ag.admin, id2, adviser2.ID, same)
		wantStatus(t, "the quote with the second adviser", p, http.StatusSeeOther)
		cr := consultRequest(t, ag.admin, id2)
		if cr.Status != "quoted" || cr.Adviser != consultAdviser2Name || len(cr.Visits) != 1 {
			t.Errorf("the second request: %+v", cr)
		}
		// Academy rates for 990004.
		if text := consultText(ag.other.get(path2).body); !strings.Contains(text, "£525.00 plus VAT of £105.00") {
			t.Errorf("990004's quote: %s", text)
		}
		wantStatus(t, "GET "+path2+" (second adviser, assigned)", ag.adviser2.get(path2), http.StatusOK)
		wantStatus(t, "GET "+path2+" (Ada)", ag.adviser.get(path2), http.StatusNotFound)
		wantStatus(t, "GET "+reqPath+" (second adviser, still)", ag.adviser2.get(reqPath), http.StatusNotFound)
	})

	// --- The decision -------------------------------------------------

	t.Run("Accept", func(t *testing.T) {
		ag.other.get("/consultancy")
		wantStatus(t, "990004 accepts 990001's quote", ag.other.submit(reqPath+"/accept", nil), http.StatusNotFound)
		wantStatus(t, "990004 declines 990001's quote", ag.other.submit(reqPath+"/decline", nil), http.StatusNotFound)
		ag.teacher.get("/")
		wantStatus(t, "the teacher accepts", ag.teacher.submit(reqPath+"/accept", nil), http.StatusNotFound)
		ag.adviser.get(reqPath)
		wantStatus(t, "the adviser accepts", ag.adviser.submit(reqPath+"/accept", nil), http.StatusForbidden)
		if cr := consultRequest(t, ag.admin, id); cr.Status != "quoted" {
			t.Fatalf("after refused decisions the request is %s", cr.Status)
		}

		ag.manager.get(reqPath)
		p := ag.manager.submit(reqPath+"/accept", nil)
		wantStatus(t, "the manager accepts", p, http.StatusSeeOther)
		if p.location() != reqPath {
			t.Errorf("after accepting: Location %q", p.location())
		}
		cr := consultRequest(t, ag.manager, id)
		if cr.Status != "accepted" {
			t.Errorf("after accepting the request is %s", cr.Status)
		}
		for _, v := range cr.Visits {
			if v.Status != "planned" {
				t.Errorf("visit %s %s is %s, want planned", v.Date, v.Part, v.Status)
			}
		}
		mp := ag.manager.get(reqPath)
		text := consultText(mp.body)
		for _, want := range []string{"You have accepted the quote", "Engaged", "Planned"} {
			if !strings.Contains(text, want) {
				t.Errorf("the engaged page lacks %q: %s", want, text)
			}
		}
		if strings.Contains(mp.body, reqPath+"/accept") {
			t.Error("the engaged page still offers to accept")
		}
		// Accepting twice is a conflict.
		wantStatus(t, "accepting again", ag.manager.submit(reqPath+"/accept", nil), http.StatusConflict)

		pp := ag.admin.get("/admin/planner?week=" + consultWeekOf)
		wantStatus(t, "GET /admin/planner", pp, http.StatusOK)
		ada := consultRow(pp.body, "Ada Adviser")
		if !strings.Contains(ada, "All day "+ref) {
			t.Errorf("the planner's row for Ada lacks %q: %s", "All day "+ref, ada)
		}
		// Friday's morning is booked too: the planner must say so rather
		// than show Ada free.
		if !strings.Contains(ada, "Morning "+ref) {
			t.Errorf("the planner's row for Ada lacks %q (Friday 4 December's online morning): %s", "Morning "+ref, ada)
		}
		if second := consultRow(pp.body, consultAdviser2Name); !strings.Contains(second, "All day CR-") {
			t.Errorf("the planner's row for the second adviser lacks the proposed day: %s", second)
		}
		wantStatus(t, "GET /admin/planner (manager)", ag.manager.get("/admin/planner"), http.StatusForbidden)
	})

	cr = consultRequest(t, ag.admin, id)
	if len(cr.Visits) != 2 {
		t.Fatalf("visits: %+v", cr.Visits)
	}
	visit1, visit2 := cr.Visits[0].ID, cr.Visits[1].ID
	deliver := func(v int64) string { return fmt.Sprintf("/consultancy/visits/%d/deliver", v) }
	cancel := func(v int64) string { return fmt.Sprintf("/consultancy/visits/%d/cancel", v) }

	// --- Delivery -----------------------------------------------------

	t.Run("Deliver", func(t *testing.T) {
		ag.adviser.get(reqPath)
		p := ag.adviser.submit(deliver(visit1), url.Values{"half_days": {"2"}, "note": {"Too early."}})
		wantStatus(t, "logging a visit before its day", p, http.StatusUnprocessableEntity)
		consultErrorSummary(t, "logging a visit before its day", p, "A visit can be logged on or after its day")

		// Wednesday 2 December 2026, 10:00 in London (GMT).
		app.clock.Set(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
		ag.signInAll()

		ap := ag.adviser.get(reqPath)
		if !strings.Contains(ap.body, `action="`+deliver(visit1)+`"`) {
			t.Errorf("on the visit's day the adviser's page has no form to log it")
		}
		if strings.Contains(ap.body, `action="`+deliver(visit2)+`"`) {
			t.Errorf("the adviser's page offers to log Friday's visit on Wednesday")
		}
		if mp := ag.manager.get(reqPath); strings.Contains(mp.body, "/deliver") {
			t.Errorf("the manager's page offers to log a visit")
		}

		form := url.Values{"half_days": {"2"}, "note": {"Not theirs to log."}}
		for _, c := range []struct {
			name string
			u    *userAgent
		}{
			// The second adviser cannot see the request at all; the school,
			// its teacher and finance may not log a visit: for each the
			// visit is not there.
			{"second adviser", ag.adviser2}, {"manager", ag.manager}, {"other school's manager", ag.other},
			{"teacher", ag.teacher}, {"finance", ag.finance},
		} {
			c.u.get("/consultancy")
			if c.u.csrf == "" {
				c.u.get("/account")
			}
			wantStatus(t, "logging the visit as "+c.name, c.u.submit(deliver(visit1), form), http.StatusNotFound)
		}
		if v := consultRequest(t, ag.admin, id).Visits[0]; v.Status != "planned" {
			t.Fatalf("after refused logs the visit is %s", v.Status)
		}

		// A blank note is refused, and the form is there to correct.
		ag.adviser.get(reqPath)
		p = ag.adviser.submit(deliver(visit1), url.Values{"half_days": {"2"}, "note": {"   "}})
		wantStatus(t, "logging with a blank note", p, http.StatusUnprocessableEntity)
		consultErrorSummary(t, "logging with a blank note", p, "Write a short note of what was done")
		if !strings.Contains(p.body, `action="`+deliver(visit1)+`"`) {
			t.Errorf("logging with a blank note: the re-shown page has no form to log the visit: %s", excerpt(p.body))
		}
		// More than the visit's half days is refused.
		ag.adviser.get(reqPath)
		wantStatus(t, "logging three half days", ag.adviser.submit(deliver(visit1), url.Values{"half_days": {"3"}, "note": {"x"}}), http.StatusUnprocessableEntity)

		ag.adviser.get(reqPath)
		note := "Met the English lead & observed two reading lessons; report to follow."
		p = ag.adviser.submit(deliver(visit1), url.Values{"half_days": {"2"}, "note": {note}})
		wantStatus(t, "the adviser logs the day", p, http.StatusSeeOther)
		if p.location() != reqPath {
			t.Errorf("after logging: Location %q", p.location())
		}
		v := consultRequest(t, ag.manager, id).Visits[0]
		if v.Status != "delivered" || v.DeliveredHalf != 2 || v.Note != note {
			t.Errorf("the logged visit: %+v", v)
		}
		row := consultRow(ag.manager.get(reqPath).body, "2 December 2026")
		for _, want := range []string{"Delivered", "1 day: " + note} {
			if !strings.Contains(row, want) {
				t.Errorf("the school's row for 2 December lacks %q: %s", want, row)
			}
		}
		ag.adviser.get(reqPath)
		wantStatus(t, "logging it again", ag.adviser.submit(deliver(visit1), url.Values{"half_days": {"2"}, "note": {"again"}}), http.StatusConflict)
	})

	// --- Late cancellation and invoicing ------------------------------

	consultInvoices := func() int {
		return app.count(t, `SELECT count(*) FROM invoices WHERE source = 'consultancy'`)
	}

	t.Run("LateCancellation", func(t *testing.T) {
		mp := ag.manager.get(reqPath)
		row := consultRow(mp.body, "4 December 2026")
		if !strings.Contains(mp.body, `action="`+cancel(visit2)+`"`) || !strings.Contains(row, "This is within 10 working days: the visit is charged in full.") {
			t.Errorf("the manager's row for 4 December: %s", row)
		}
		// With Friday's visit still planned, an engagement billed on
		// completion is not invoiced yet.
		ag.finance.get("/")
		wantStatus(t, "the invoice run with a visit planned", ag.finance.submit("/finance/consultancy-invoices", nil), http.StatusSeeOther)
		if n := consultInvoices(); n != 0 {
			t.Errorf("%d consultancy invoices with a visit still planned", n)
		}

		for _, c := range []struct {
			name string
			u    *userAgent
			want int
		}{
			{"other school's manager", ag.other, 404}, {"second adviser", ag.adviser2, 404},
			{"adviser", ag.adviser, 404}, {"teacher", ag.teacher, 404}, {"finance", ag.finance, 404},
		} {
			c.u.get("/consultancy")
			if c.u.csrf == "" {
				c.u.get("/account")
			}
			wantStatus(t, "cancelling as "+c.name, c.u.submit(cancel(visit2), nil), c.want)
		}

		ag.manager.get(reqPath)
		p := ag.manager.submit(cancel(visit2), url.Values{"reason": {"Staff training day moved."}})
		wantStatus(t, "the manager cancels Friday", p, http.StatusSeeOther)
		v := consultRequest(t, ag.manager, id).Visits[1]
		if v.Status != "cancelled" || v.ChargedHalf != 1 {
			t.Errorf("the cancelled visit: %+v, want cancelled with 1 half day charged", v)
		}
		mp = ag.manager.get(reqPath)
		if !strings.Contains(consultText(mp.body), "The visit has been cancelled.") {
			t.Error("no banner after cancelling")
		}
		if row := consultRow(mp.body, "4 December 2026"); !strings.Contains(row, "Cancelled: half a day charged") {
			t.Errorf("the row for 4 December after the late cancellation: %q", row)
		}
		wantStatus(t, "cancelling it again", ag.manager.submit(cancel(visit2), nil), http.StatusConflict)
		if e := app.audit(t, "consultancy.cancel_visit"); len(e) != 1 || !strings.Contains(e[0].Detail, "1 half day(s) charged") {
			t.Errorf("audit: %+v", e)
		}
	})

	t.Run("Invoice", func(t *testing.T) {
		wantStatus(t, "the invoice run as the manager", ag.manager.submit("/finance/consultancy-invoices", nil), http.StatusForbidden)
		ag.finance.get("/")
		p := ag.finance.submit("/finance/consultancy-invoices", nil)
		wantStatus(t, "the invoice run", p, http.StatusSeeOther)
		if home := ag.finance.get("/"); !strings.Contains(home.body, "Consultancy invoicing: 1 invoice(s).") {
			t.Errorf("the banner after the run: %s", excerpt(home.body))
		}
		if n := consultInvoices(); n != 1 {
			t.Fatalf("%d consultancy invoices, want 1", n)
		}
		var invID int64
		var number, status, po, year string
		var net, vat, total int64
		var urn int64
		if err := app.db.Read().QueryRow(`SELECT i.id, i.number, i.status, i.po_number, i.academic_year, i.net_pence, i.vat_pence, i.total_pence, o.urn
			FROM invoices i JOIN organisations o ON o.id = i.organisation_id WHERE i.source = 'consultancy'`).
			Scan(&invID, &number, &status, &po, &year, &net, &vat, &total, &urn); err != nil {
			t.Fatal(err)
		}
		if urn != 990001 || status != "issued" || po != "PO-4411" || year != "2026/27" || net != 70000 || vat != 14000 || total != 84000 {
			t.Errorf("invoice %s: urn %d, %s, PO %q, %s, net %d, VAT %d, total %d; want 990001, issued, PO-4411, 2026/27, 70000, 14000, 84000",
				number, urn, status, po, year, net, vat, total)
		}
		rows, err := app.db.Read().Query(`SELECT product_code, description, quantity, unit_pence, net_pence, vat_treatment, vat_rate_bp, vat_pence
			FROM invoice_lines WHERE invoice_id = ? ORDER BY position`, invID)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for rows.Next() {
			var code, desc, treatment string
			var qty int
			var unit, lnet, bp, lvat int64
			if err := rows.Scan(&code, &desc, &qty, &unit, &lnet, &treatment, &bp, &lvat); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprintf("%s|%d×%d=%d|%s %d %d|%s", code, qty, unit, lnet, treatment, bp, lvat, desc))
		}
		rows.Close()
		want := []string{
			"curriculum-review|1×45000=45000|standard 2000 9000|Bespoke curriculum review (" + ref + "): one day on 2 December 2026, delivered",
			"curriculum-review|1×25000=25000|standard 2000 5000|Bespoke curriculum review (" + ref + "): half day on 4 December 2026, cancelled within 10 working days: charged under the engagement's terms",
		}
		if strings.Join(lines, "\n") != strings.Join(want, "\n") {
			t.Errorf("invoice lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
		}
		if n := app.count(t, `SELECT count(*) FROM invoiced_visits WHERE invoice_id = ?`, invID); n != 2 {
			t.Errorf("%d visits carry the invoice, want 2", n)
		}
		if cr := consultRequest(t, ag.manager, id); cr.Status != "completed" {
			t.Errorf("after invoicing the engagement is %s, want completed", cr.Status)
		}
		if p := ag.manager.get("/invoices/" + number); p.status != http.StatusOK || !strings.Contains(p.body, "£840.00") {
			t.Errorf("the school's invoice page %s: %d: %s", number, p.status, excerpt(p.body))
		}
		wantStatus(t, "990004 opens 990001's invoice", ag.other.get("/invoices/"+number), http.StatusNotFound)

		// Nothing is billed twice: a second run, and one a month on.
		ag.finance.get("/")
		wantStatus(t, "the second run", ag.finance.submit("/finance/consultancy-invoices", nil), http.StatusSeeOther)
		if n := consultInvoices(); n != 1 {
			t.Errorf("%d consultancy invoices after a second run, want 1", n)
		}
		app.clock.Set(time.Date(2027, 1, 4, 10, 0, 0, 0, time.UTC))
		ag.finance.jar, ag.finance.csrf = map[string]string{}, ""
		ag.finance.signIn(financeEmail)
		ag.finance.get("/")
		wantStatus(t, "the run a month on", ag.finance.submit("/finance/consultancy-invoices", nil), http.StatusSeeOther)
		if n := consultInvoices(); n != 1 {
			t.Errorf("%d consultancy invoices after a run a month on, want 1", n)
		}
		if e := app.audit(t, "consultancy.invoice"); len(e) != 1 {
			t.Errorf("%d consultancy.invoice audit entries, want 1", len(e))
		}
	})

	t.Run("Report", func(t *testing.T) {
		ag.admin.jar, ag.admin.csrf = map[string]string{}, ""
		ag.admin.signIn(adminEmail)
		p := ag.admin.get("/admin/consultancy/report?year=2026/27")
		wantStatus(t, "GET /admin/consultancy/report", p, http.StatusOK)
		if row := consultRow(p.body, "Bespoke curriculum review"); !strings.Contains(row, "£700.00") {
			t.Errorf("the report's income by service: %q", row)
		}
		if row := consultRow(p.body, "Mid"); !strings.Contains(row, "£700.00") {
			t.Errorf("the report's income for Mid (Chelmsford): %q", row)
		}
		if strings.Contains(consultText(p.body), "Quality assurance of governance") {
			t.Error("the report shows income for governance-qa, which was quoted but not invoiced")
		}
		for _, c := range []struct {
			name string
			u    *userAgent
		}{{"manager", ag.manager}, {"finance", ag.finance}, {"adviser", ag.adviser}} {
			c.u.jar, c.u.csrf = map[string]string{}, ""
			c.u.signIn(map[*userAgent]string{ag.manager: managerEmail, ag.finance: financeEmail, ag.adviser: adviserEmail}[c.u])
			wantStatus(t, "the report as "+c.name, c.u.get("/admin/consultancy/report"), http.StatusForbidden)
		}
	})
}

// TestConsultancyRequest_FormAndJSONAgree: asking for consultancy goes one
// way for the page and the API, so the same bad input is refused with the
// same status and message, beside the form's input at fault, and nothing
// is recorded.
func TestConsultancyRequest_FormAndJSONAgree(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	manager := app.agent(t)
	manager.signIn(managerEmail)
	manager.get("/consultancy")
	token := app.token(t, managerEmail)
	before := app.count(t, `SELECT count(*) FROM consultancy_requests`)
	for _, c := range []formAndJSONCase{
		{"NoNeed", `{"service":"curriculum-review","need":""}`, url.Values{"service": {"curriculum-review"}, "need": {""}}, "need"},
		{"UnknownService", `{"service":"astrology","need":"Stars"}`, url.Values{"service": {"astrology"}, "need": {"Stars"}}, "service"},
		{"LongPO", `{"service":"curriculum-review","need":"Reading","po_number":"` + strings.Repeat("P", 51) + `"}`,
			url.Values{"service": {"curriculum-review"}, "need": {"Reading"}, "po_number": {strings.Repeat("P", 51)}}, ""}, // one message for two fields
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := app.do("POST", "/api/v1/consultancy/requests", c.json, "Authorization", token)
			wantSameError(t, manager.submit("/consultancy", c.form), status, body, c.input)
		})
	}
	if n := app.count(t, `SELECT count(*) FROM consultancy_requests`); n != before {
		t.Errorf("refused requests recorded: %d requests, were %d", n, before)
	}
}
