package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"

	wiring "traded/app"
	"traded/billing"
	"traded/booking"
	"traded/catalogue"
	"traded/mail"
	"traded/organisation"
	"traded/store"
	"traded/web"
)

// Names as people type them, by the piece: scripts, marks and the
// punctuation that breaks formats (quotes for iCalendar parameters and CSV,
// semicolons and commas for iCalendar, backslashes, a caret for RFC 6868,
// formula prefixes for spreadsheets, angle brackets and ampersands for HTML).
var namePieces = [][]string{
	{"Llŷr", "Ŵyn", "Siân", "Dafydd ap Gruffudd", "Rhodri", "Eluned"}, // Welsh
	{"Łukasz", "Żółć", "Grzegorz Brzęczyszczykiewicz", "Małgorzata"},  // Polish
	{"Seán Ó Briain", "Niamh Ní Dhomhnaill", "Pádraig", "O'Neill"},    // Irish
	{"فاطمة الزهراء", "محمد", "عائشة"},                                // Arabic
	{"王小明", "佐藤 花子", "김민준", "李"},                                      // CJK
	{"🎓", "👩🏽‍🏫", "🏴󠁧󠁢󠁷󠁬󠁳󠁿", "😀"},                                     // emoji, a ZWJ sequence, the Welsh flag's tags
	{`"JJ"`, "’", ",", ";", `\`, "^", ":", "<b>", "&amp;", "O’Brien-Smith", "(Head)"},
	{"=1+1", "+44", "-2", "@home"}, // spreadsheet formula prefixes
	{"Jo", "Smith", "Taylor", "Amira", "Chen"},
}

// randomName builds a name from one to five pieces, joined by spaces or
// run together, now and then repeated past a hundred characters; at most
// 200 characters, the limit for a name.
func randomName(rng *rand.Rand) string {
	var b strings.Builder
	n := 1 + rng.IntN(5)
	for i := range n {
		group := namePieces[rng.IntN(len(namePieces))]
		if i > 0 && rng.IntN(4) > 0 {
			b.WriteString(" ")
		}
		b.WriteString(group[rng.IntN(len(group))])
	}
	s := b.String()
	if rng.IntN(10) == 0 {
		for len([]rune(s)) < 120 {
			s += " " + s
		}
	}
	r := []rune(strings.TrimSpace(s))
	if len(r) > 200 {
		r = r[:200]
	}
	return strings.TrimSpace(string(r))
}

// emitterCheck is one read-back for tests/emitters/check.py.
type emitterCheck struct {
	Kind      string `json:"kind"`
	Path      string `json:"path"`
	Want      string `json:"want"`
	Column    string `json:"column,omitempty"`
	KeyColumn string `json:"key_column,omitempty"`
	Key       string `json:"key,omitempty"`
	what      string
}

// TestEmitters_RandomNames is the property test over every output: random
// names (TRADED_EMITTER_NAMES of them, default 30, from
// TRADED_EMITTER_SEED) are booked through the API as delegates and given to
// new organisations that are invoiced; each one's invite (.ics), booking
// page (HTML), invite mail and the invoices export (CSV) is read back by a
// parser Traded does not write with: python3-icalendar and ical.js, Python's
// html.parser, email and csv packages. Every name must come back exactly
// (in the CSV, behind the apostrophe that neutralises a formula), and no
// request may answer 5xx.
func TestEmitters_RandomNames(t *testing.T) {
	count, seed := 30, uint64(20261203)
	if v, err := strconv.Atoi(os.Getenv("TRADED_EMITTER_NAMES")); err == nil && v > 0 {
		count = v
	}
	if v, err := strconv.ParseUint(os.Getenv("TRADED_EMITTER_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("TRADED_EMITTER_NAMES=%d TRADED_EMITTER_SEED=%d", count, seed)
	rng := rand.New(rand.NewPCG(seed, 15))
	root, _ := filepath.Abs("..")
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: the .ics checks need ical.js")
	}
	const python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Fatal("Debian's python3 is missing")
	}

	app := newAccountsApp(t, web.Config{Dev: true, BaseURL: "https://traded.test"})
	ctx := context.Background()
	tok := app.token(t, managerEmail)
	// sessions of 100 places each, taken in turn
	var sessions []*catalogue.Session
	for _, code := range []string{"psa-ks2-taf", "psa-y2-refresher", "psa-y6-refresher", "psa-phonics", "psa-briefing-spring"} {
		sessions = append(sessions, sessionOf(t, app, code))
	}
	manager := app.agent(t)
	manager.signIn(managerEmail)
	bk := wiring.Domains(app.db).Booking
	bill := billing.NewService(app.db, bk.Organisations, bk.Catalogue, billing.DefaultConfig(), nil)
	bill.Users = bk.Accounts
	dir := t.TempDir()
	file := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	var checks []emitterCheck
	var names []string
	invoices := map[string]string{} // invoice number -> customer name
	for i := range count {
		name := randomName(rng)
		names = append(names, name)
		email := fmt.Sprintf("person-%d@chelmervalley.example", i)
		b := bookByAPI(t, app, tok, sessions[i%len(sessions)].ID, [2]string{name, email})

		status, ics := app.do("GET", fmt.Sprintf("/api/v1/bookings/%d/invite.ics", b.ID), "", "Authorization", tok)
		if status != http.StatusOK {
			t.Fatalf("%q: invite.ics answered %d: %s", name, status, ics)
		}
		icsPath := file(fmt.Sprintf("invite-%d.ics", i), []byte(ics))
		checks = append(checks, emitterCheck{Kind: "ics", Path: icsPath, Want: name, what: "invite (python3-icalendar)"})
		jsOut, err := exec.Command(node, filepath.Join(root, "tests", "ics", "check.mjs"), icsPath).Output()
		var js parsedICS
		if err != nil || json.Unmarshal(jsOut, &js) != nil || len(js.Errors) > 0 || len(js.Events) != 1 ||
			len(js.Events[0].AttendeeNames) != 1 || js.Events[0].AttendeeNames[0] != name {
			t.Errorf("%q: ical.js reads the invite as %s (%v)", name, jsOut, err)
		}

		page := manager.get(fmt.Sprintf("/bookings/%d", b.ID))
		if page.status != http.StatusOK {
			t.Fatalf("%q: the booking page answered %d", name, page.status)
		}
		checks = append(checks, emitterCheck{Kind: "html", Path: file(fmt.Sprintf("booking-%d.html", i), []byte(page.body)), Want: name,
			what: "booking page (html.parser)"})

		var m mail.Message
		if err := app.db.Read().QueryRowContext(ctx, `SELECT id, COALESCE(message_id, ''), to_addr, to_name, subject, body_text
			FROM outbox WHERE to_addr = ? ORDER BY id LIMIT 1`, email).Scan(&m.ID, &m.MessageID, &m.To, &m.ToName, &m.Subject, &m.Text); err != nil {
			t.Fatalf("%q: no mail to the delegate: %v", name, err)
		}
		raw, err := mail.Build("traded@essex.gov.uk", "Essex County Council traded services", "traded.test", m, app.clock.Now())
		if err != nil {
			t.Fatalf("%q: mail: %v", name, err)
		}
		checks = append(checks, emitterCheck{Kind: "mail", Path: file(fmt.Sprintf("mail-%d.eml", i), raw), Want: name, what: "mail To (email)"})

		// The same name as a school's, invoiced: the CSV export.
		org := organisation.Organisation{URN: int64(880000 + i), Name: name, LACode: 881, LAName: "Essex", EstablishmentType: "Academy converter",
			Town: "Chelmsford", Postcode: "CM1 1AA"}
		if err := bk.Organisations.Upsert(ctx, store.System, []organisation.Organisation{org}, "demo"); err != nil {
			t.Fatalf("%q: organisation: %v", name, err)
		}
		o, err := bk.Organisations.FindByURN(ctx, org.URN)
		if err != nil {
			t.Fatal(err)
		}
		number, err := bill.CreateInvoice(ctx, store.System, billing.InvoiceInput{OrganisationID: o.ID, Source: "manual",
			Lines: []billing.LineInput{{ProductCode: "psa-session", Description: "Training for " + name, Quantity: 1, Unit: 10000}}})
		if err != nil {
			t.Fatalf("%q: invoice: %v", name, err)
		}
		invoices[number] = name
	}

	// The school's calendar feed holds every one of them.
	feedToken, err := bk.FeedToken(ctx, app.user(t, managerEmail), booking.FeedSchool)
	if err != nil {
		t.Fatal(err)
	}
	status, feed := app.do("GET", "/calendar/"+feedToken+".ics", "")
	if status != http.StatusOK {
		t.Fatalf("the school's feed answered %d: %s", status, feed)
	}
	feedPath := file("feed.ics", []byte(feed))
	for _, name := range names {
		checks = append(checks, emitterCheck{Kind: "ics", Path: feedPath, Want: name, what: "school feed (python3-icalendar)"})
	}
	out, err := exec.Command(node, filepath.Join(root, "tests", "ics", "check.mjs"), feedPath).Output()
	var feedJS parsedICS
	if err != nil || json.Unmarshal(out, &feedJS) != nil || len(feedJS.Errors) > 0 || len(feedJS.Events) != count {
		t.Errorf("ical.js reads the school feed with %d events, errors %v (%v)", len(feedJS.Events), feedJS.Errors, err)
	} else {
		got := map[string]bool{}
		for _, ev := range feedJS.Events {
			for _, n := range ev.AttendeeNames {
				got[n] = true
			}
		}
		for _, name := range names {
			if !got[name] {
				t.Errorf("ical.js does not find %q in the school feed", name)
			}
		}
	}

	fin := app.token(t, financeEmail)
	status, csvBody := app.do("GET", "/api/v1/exports/invoices.csv", "", "Authorization", fin)
	if status != http.StatusOK {
		t.Fatalf("invoices export: %d", status)
	}
	csvPath := file("invoices.csv", []byte(csvBody))
	for number, name := range invoices {
		want := name
		if strings.ContainsAny(name[:1], "=+-@") {
			want = "'" + name
		}
		checks = append(checks, emitterCheck{Kind: "csv", Path: csvPath, Want: want, Column: "customer", KeyColumn: "number", Key: number,
			what: "invoices export (csv)"})
		status, pdf := app.do("GET", "/api/v1/invoices/"+number+".pdf", "", "Authorization", fin)
		if status != http.StatusOK || !strings.HasPrefix(pdf, "%PDF-") {
			t.Fatalf("%s.pdf answered %d", number, status)
		}
		// A name with right-to-left text is checked as it is drawn
		// (pdfminer against GNU FriBidi's order): pdftotext guesses each
		// line's direction and reorders it, and its guesses are its own.
		kind, what := "pdf", "invoice PDF (pdftotext)"
		if strings.IndexFunc(name, func(r rune) bool { return unicode.In(r, unicode.Arabic, unicode.Hebrew) }) >= 0 {
			kind, what = "drawn", "invoice PDF as drawn (pdfminer, fribidi)"
		}
		checks = append(checks, emitterCheck{Kind: kind, Path: file(number+".pdf", []byte(pdf)), Want: name, what: what})
	}

	manifest, _ := json.Marshal(checks)
	out, err = exec.Command(python, filepath.Join(root, "tests", "emitters", "check.py"), file("manifest.json", manifest)).Output()
	if err != nil {
		t.Fatalf("check.py: %v", err)
	}
	var results []struct {
		OK  bool `json:"ok"`
		Got any  `json:"got"`
	}
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(checks) {
		t.Fatalf("check.py printed %d results for %d checks: %v %s", len(results), len(checks), err, out)
	}
	failed := 0
	for i, r := range results {
		if !r.OK {
			failed++
			t.Errorf("%s: want %q, read %v", checks[i].what, checks[i].Want, r.Got)
		}
	}
	t.Logf("%d names, %d read-backs by Python and %d by ical.js (each invite and the school feed), %d failed; for example %q", count, len(checks), count+1, failed, names[:min(5, len(names))])
}

// parsedICS is what tests/ics/check.mjs prints, as far as this test reads it.
type parsedICS struct {
	Errors []string `json:"errors"`
	Events []struct {
		AttendeeNames []string `json:"attendee_names"`
	} `json:"events"`
}
