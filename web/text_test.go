package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"traded/web"
)

// TestText_NamesPeopleType: a name with a straight double quote is booked
// (201) and its invite, the school's calendar feed and its confirmation mail
// all answer; a line break or a control character in a name is a 422 naming
// the field, from the API and from a form, and nothing is written.
func TestText_NamesPeopleType(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true, BaseURL: "https://traded.test"})
	tok := app.token(t, managerEmail)
	sess := sessionOf(t, app, "psa-ks2-taf")
	b := bookByAPI(t, app, tok, sess.ID, [2]string{`Jo "JJ" Smith`, "jo@chelmervalley.example"},
		[2]string{"Seán Ó Briain; KS2, Year 6", "sean@chelmervalley.example"})
	for _, path := range []string{fmt.Sprintf("/api/v1/bookings/%d/invite.ics", b.ID)} {
		if status, body := app.do("GET", path, "", "Authorization", tok); status != http.StatusOK || !strings.Contains(body, `CN="Jo ^'JJ^' Smith"`) {
			t.Errorf("GET %s: %d %s", path, status, body)
		}
	}
	if n := app.count(t, `SELECT count(*) FROM outbox WHERE to_name = 'Jo "JJ" Smith'`); n == 0 {
		t.Errorf("no confirmation mail queued for Jo \"JJ\" Smith")
	}

	before := app.count(t, `SELECT count(*) FROM delegates`)
	for _, c := range []struct{ name, field string }{
		{"Jo\nSmith", "delegates[0].name"},
		{"Jo\u0007Smith", "delegates[0].name"},
		{"Jo \u202eSmith", "delegates[0].name"},
		{strings.Repeat("Ŵ", 201), "delegates[0].name"},
	} {
		body, _ := json.Marshal(map[string]any{"delegates": []map[string]string{{"name": c.name, "email": "x@chelmervalley.example"}}})
		status, resp := app.do("POST", fmt.Sprintf("/api/v1/sessions/%d/bookings", sess.ID), string(body), "Authorization", tok)
		var e struct {
			Error struct{ Field string } `json:"error"`
		}
		_ = json.Unmarshal([]byte(resp), &e)
		if status != http.StatusUnprocessableEntity || e.Error.Field != c.field {
			t.Errorf("name %q: %d %s, want 422 on %s", c.name, status, resp, c.field)
		}
	}
	// A PO number in JSON with a line break; a control character anywhere in a form.
	body := fmt.Sprintf(`{"po_number":"PO 1\nBcc: x","delegates":[{"name":"A B","email":"ab@chelmervalley.example"}]}`)
	if status, resp := app.do("POST", fmt.Sprintf("/api/v1/sessions/%d/bookings", sess.ID), body, "Authorization", tok); status != http.StatusUnprocessableEntity ||
		!strings.Contains(resp, `"field":"po_number"`) {
		t.Errorf("a PO number over two lines: %d %s", status, resp)
	}
	ua := app.agent(t)
	ua.signIn(managerEmail)
	p := ua.submit(fmt.Sprintf("/sessions/%d", sess.ID), url.Values{"name_1": {"Bell\x07Ringer"}, "email_1": {"bell@chelmervalley.example"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "control character") {
		t.Errorf("a form with a control character: %d %s", p.status, excerpt(p.body))
	}
	if after := app.count(t, `SELECT count(*) FROM delegates`); after != before {
		t.Errorf("refused requests wrote %d delegates", after-before)
	}
}
