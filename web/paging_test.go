package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"traded/account"
	wiring "traded/app"
	"traded/booking"
	"traded/organisation"
	"traded/store"
	"traded/store/storetest"
)

// Pagination: every API list a page at a time by ?limit= and ?after=, and
// every long page by ?page= under GOV.UK pagination. The fixture writes
// its rows straight into the database, in one transaction, so that three
// pages of everything (and one school's 3,000 bookings) cost a second.

// pagingFixture is a demo database with more than a page of every list.
type pagingFixture struct {
	app       *testApp
	year      string
	register  int64 // a session that has ended, with a register and a waiting list
	chelmer   int64 // organisation ids: 990001, with 3,000 bookings
	basildon  int64 // 990004, with 240 bookings, half of them past
	cedds     int64 // 990002, on the register
	firstSeq  int64 // the last seq the fixture's invoices used
	course    string
	serviceCd string
}

const schoolBookings = 3000

func newPagingFixture(t *testing.T) *pagingFixture {
	t.Helper()
	f := &pagingFixture{app: newTestApp(t), year: "2026/27"}
	ctx := context.Background()
	db := f.app.db
	org := func(urn int64) int64 {
		return int64(f.app.count(t, `SELECT id FROM organisations WHERE urn = ?`, urn))
	}
	f.chelmer, f.basildon, f.cedds = org(990001), org(990004), org(990002)
	if err := db.Read().QueryRow(`SELECT code FROM courses ORDER BY code LIMIT 1`).Scan(&f.course); err != nil {
		t.Fatal(err)
	}
	if err := db.Read().QueryRow(`SELECT product_code FROM consultancy_services ORDER BY product_code LIMIT 1`).Scan(&f.serviceCd); err != nil {
		t.Fatal(err)
	}
	now := store.FormatTime(storetest.Epoch)
	if err := db.Write(ctx, func(tx *store.Tx) error {
		var err error
		exec := func(q string, args ...any) int64 {
			if err != nil {
				return 0
			}
			res, e := tx.ExecContext(ctx, q, args...)
			if e != nil {
				err = fmt.Errorf("%s: %w", q, e)
				return 0
			}
			id, _ := res.LastInsertId()
			return id
		}
		session := func(title string, starts time.Time) int64 {
			return exec(`INSERT INTO sessions (course_code, academic_year, title, starts_at, duration_minutes, capacity, booking_cutoff_at,
				created_at, updated_at) VALUES (?, ?, ?, ?, 90, 10000, ?, ?, ?)`,
				f.course, f.year, title, store.FormatTime(starts), store.FormatTime(starts.Add(-24*time.Hour)), now, now)
		}
		nb := 0
		bookingOf := func(sid, orgID int64, status string, delegates ...string) int64 {
			nb++
			bid := exec(`INSERT INTO bookings (reference, session_id, organisation_id, status, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?)`, fmt.Sprintf("PG-%05d", nb), sid, orgID, status, now, now)
			for i, email := range delegates {
				st := "active"
				if strings.HasPrefix(email, "gone") {
					st = "cancelled"
				}
				exec(`INSERT INTO delegates (booking_id, name, email, status, uid, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
					bid, fmt.Sprintf("Delegate %d-%d", nb, i), email, st, fmt.Sprintf("pg-%d-%d@traded.test", nb, i), now, now)
			}
			return bid
		}
		// 120 sessions, three at each start so that the id breaks ties:
		// 60 before the clock's Sunday 22 November 2026, 60 after.
		var sessions []int64
		for i := range 120 {
			day := storetest.Epoch.AddDate(0, 0, -60+i/3)
			if i >= 60 {
				day = storetest.Epoch.AddDate(0, 0, 10+(i-60)/3)
			}
			sessions = append(sessions, session(fmt.Sprintf("Paging session %03d", i), day.Truncate(24*time.Hour).Add(14*time.Hour)))
		}
		for i := range schoolBookings {
			bookingOf(sessions[(i*7)%len(sessions)], f.chelmer, "confirmed", fmt.Sprintf("chelmer%d@chelmervalley.example", i))
		}
		for i := range 240 {
			bookingOf(sessions[i/2], f.basildon, "confirmed", fmt.Sprintf("basildon%d@basildonmeadows.example", i))
		}
		// The register: a session that ended two days ago, with delegates of
		// confirmed bookings (some two to a booking, some cancelled), a few
		// requests, and a waiting list of 55.
		f.register = session("Paging register", storetest.Epoch.Add(-48*time.Hour))
		for i := range 70 {
			ds := []string{fmt.Sprintf("reg%03da@cedds.example", i)}
			if i%5 == 0 {
				ds = append(ds, fmt.Sprintf("reg%03db@cedds.example", i), fmt.Sprintf("gone%03d@cedds.example", i))
			}
			bookingOf(f.register, f.cedds, "confirmed", ds...)
		}
		for i := range 5 {
			bookingOf(f.register, f.cedds, "requested", fmt.Sprintf("req%03d@cedds.example", i))
		}
		for i := range 55 {
			bookingOf(f.register, f.cedds, "waitlisted", fmt.Sprintf("wait%03d@cedds.example", i))
		}
		// 120 issued invoices and 120 consultancy requests for Chelmer
		// Valley, and 120 entries in the audit log.
		for i := range 120 {
			f.firstSeq = int64(500001 + i)
			exec(`INSERT INTO invoices (number, seq, organisation_id, status, source, settlement, customer_urn, customer_name,
				issue_date, tax_point, due_date, net_pence, total_pence, created_at, issued_at)
				VALUES (?, ?, ?, 'issued', 'manual', 'bacs_or_card', 990001, 'Chelmer Valley', '2026-11-01', '2026-11-01', '2026-12-01', 100, 100, ?, ?)`,
				fmt.Sprintf("TS-%06d", f.firstSeq), f.firstSeq, f.chelmer, now, now)
			exec(`INSERT INTO consultancy_requests (reference, organisation_id, product_code, need, status, created_at, updated_at)
				VALUES (?, ?, ?, 'Paging', 'requested', ?, ?)`, fmt.Sprintf("CR-P%04d", i), f.chelmer, f.serviceCd, now, now)
			if err == nil {
				err = tx.Audit(ctx, store.System, "paging.test", "test", strconv.Itoa(i), fmt.Sprintf("paging entry %d", i))
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// 60 users (each mailed a link: 60 messages in the outbox) and 60
	// organisations, through the service.
	svc := wiring.Domains(db).Booking
	var orgs []organisation.Organisation
	for i := range 60 {
		if _, err := svc.Accounts.CreateUser(ctx, store.System, account.UserInput{Email: fmt.Sprintf("paging%02d@traded.example", i),
			Name: fmt.Sprintf("Paging User %02d", (i*37)%60), Role: account.RoleFinance}); err != nil {
			t.Fatal(err)
		}
		orgs = append(orgs, organisation.Organisation{URN: int64(980001 + i), Name: fmt.Sprintf("Paging Academy %02d", (i*17)%60),
			LACode: 881, LAName: "Essex", EstablishmentType: "Academy converter", TypeGroup: "Academies", Phase: "Primary", Town: "Chelmsford"})
	}
	if err := svc.Organisations.Upsert(ctx, store.System, orgs, "demo"); err != nil {
		t.Fatal(err)
	}
	return f
}

// column is the first column of the query's rows, as text, in their order.
func (a *testApp) column(t *testing.T, query string, args ...any) []string {
	t.Helper()
	rows, err := a.db.Read().Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var linkNext = regexp.MustCompile(`^<([^>]+)>; rel="next"$`)

// apiWalk reads an API list from path a page at a time, following each
// answer's Link header, and returns the idKey of every item of the array
// listKey, in order. Each page must hold limit items but the last, and
// carry "next" exactly when it has a Link, with the Link's after= being
// that cursor. between, when given, runs after each page.
func (a *testApp) apiWalk(t *testing.T, token, path, listKey, idKey string, limit int, between func(page int)) (ids []string, pages int) {
	t.Helper()
	for path != "" {
		pages++
		if pages > 1000 {
			t.Fatalf("%s: more than 1,000 pages", path)
		}
		req := newRequest("GET", path, token)
		resp, err := a.srv.App().Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		raw := readAll(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d: %s", path, resp.StatusCode, raw)
		}
		var body map[string]json.RawMessage
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		nextRaw, ok := body["next"]
		if !ok {
			t.Fatalf("GET %s: no \"next\" in the answer", path)
		}
		var next *string
		if err := json.Unmarshal(nextRaw, &next); err != nil {
			t.Fatalf("GET %s: next is %s, want a string or null", path, nextRaw)
		}
		var items []map[string]any
		dec := json.NewDecoder(bytes.NewReader(body[listKey]))
		dec.UseNumber()
		if err := dec.Decode(&items); err != nil {
			t.Fatalf("GET %s: %s: %v", path, listKey, err)
		}
		for _, it := range items {
			id, ok := it[idKey]
			if !ok {
				t.Fatalf("GET %s: an item without %s: %v", path, idKey, it)
			}
			ids = append(ids, fmt.Sprint(id))
		}
		link := resp.Header.Get("Link")
		switch {
		case next == nil && link != "":
			t.Fatalf("GET %s: last page (next null) with Link %q", path, link)
		case next != nil && link == "":
			t.Fatalf("GET %s: next %q without a Link header", path, *next)
		case next == nil:
			path = ""
		default:
			m := linkNext.FindStringSubmatch(link)
			if m == nil {
				t.Fatalf("GET %s: Link %q, want <URL>; rel=\"next\"", path, link)
			}
			u, err := url.Parse(m[1])
			if err != nil || u.Query().Get("after") != *next {
				t.Fatalf("GET %s: Link %q does not carry after=%s", path, link, *next)
			}
			if len(items) != limit {
				t.Errorf("GET %s: %d items on a page that is not the last, want the limit %d", path, len(items), limit)
			}
			path = m[1]
		}
		if len(items) > limit {
			t.Errorf("GET %s: %d items, more than the limit %d", path, len(items), limit)
		}
		if between != nil {
			between(pages)
		}
	}
	return ids, pages
}

func newRequest(method, path, token string) *http.Request {
	req, _ := http.NewRequest(method, "http://traded.test"+path, nil)
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	return req
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// wantOnce checks got is want: every item once, in want's order.
func wantOnce(t *testing.T, what string, got, want []string) {
	t.Helper()
	seen := map[string]int{}
	for _, id := range got {
		if seen[id]++; seen[id] == 2 {
			t.Errorf("%s: %s came twice", what, id)
		}
	}
	for _, id := range want {
		if seen[id] == 0 {
			t.Errorf("%s: %s never came", what, id)
		}
	}
	if !slices.Equal(got, want) && !t.Failed() {
		t.Errorf("%s: order differs:\n got %v\nwant %v", what, got, want)
	}
	if len(want) == 0 {
		t.Fatalf("%s: the fixture made nothing to list", what)
	}
}

// TestPagination_APILists walks each API list by its Link header, three
// pages and more, and gets every item once, in the list's order.
func TestPagination_APILists(t *testing.T) {
	f := newPagingFixture(t)
	app := f.app
	manager, finance, admin := app.token(t, managerEmail), app.token(t, financeEmail), app.token(t, adminEmail)

	lists := []struct {
		name, token, path, list, id string
		want                        []string
	}{
		{"sessions", managerEmail, "/api/v1/sessions?academic_year=2026/27", "sessions", "id",
			app.column(t, `SELECT id FROM sessions WHERE academic_year = '2026/27' ORDER BY starts_at, id`)},
		{"bookings of one session", financeEmail, fmt.Sprintf("/api/v1/bookings?session=%d", f.register), "bookings", "id",
			app.column(t, `SELECT id FROM bookings WHERE session_id = ? ORDER BY id`, f.register)},
		{"a school's bookings", managerEmail, "/api/v1/bookings", "bookings", "id",
			app.column(t, `SELECT b.id FROM bookings b JOIN sessions s ON s.id = b.session_id WHERE b.organisation_id = ?
				ORDER BY s.starts_at, b.id`, f.chelmer)},
		{"register", adminEmail, fmt.Sprintf("/api/v1/sessions/%d/register", f.register), "delegates", "delegate",
			app.column(t, `SELECT d.id FROM delegates d JOIN bookings b ON b.id = d.booking_id
				WHERE b.session_id = ? AND b.status = 'confirmed' AND d.status = 'active' ORDER BY b.id, d.id`, f.register)},
		{"invoices", financeEmail, "/api/v1/invoices?organisation=990001", "invoices", "number",
			app.column(t, `SELECT COALESCE(number, '') FROM invoices WHERE organisation_id = ? ORDER BY seq IS NULL DESC, seq DESC, id DESC`, f.chelmer)},
		{"consultancy requests", adminEmail, "/api/v1/consultancy/requests", "requests", "id",
			app.column(t, `SELECT id FROM consultancy_requests ORDER BY id DESC`)},
	}
	tokens := map[string]string{managerEmail: manager, financeEmail: finance, adminEmail: admin}
	for _, l := range lists {
		t.Run(l.name, func(t *testing.T) {
			limit := max(1, (len(l.want)+2)/3-1) // three pages and a bit
			if len(l.want) > 600 {
				limit = 500
			}
			sep := "?"
			if strings.Contains(l.path, "?") {
				sep = "&"
			}
			got, pages := app.apiWalk(t, tokens[l.token], l.path+sep+"limit="+strconv.Itoa(limit), l.list, l.id, limit, nil)
			if pages < 3 {
				t.Errorf("%d items at %d a page came in %d pages, want at least 3", len(l.want), limit, pages)
			}
			wantOnce(t, l.name, got, l.want)
		})
	}

	// Rows added while a client walks neither repeat nor push a row off
	// the next page: a new invoice (the newest, before the cursor) and a
	// booking on an early session are not seen; one on a late session is,
	// once, at its place.
	t.Run("StableUnderInserts", func(t *testing.T) {
		wantInv := app.column(t, `SELECT number FROM invoices WHERE organisation_id = ? ORDER BY seq DESC, id DESC`, f.chelmer)
		seq := f.firstSeq + 1000
		got, _ := app.apiWalk(t, finance, "/api/v1/invoices?organisation=990001&limit=25", "invoices", "number", 25, func(int) {
			seq++
			mustExec(t, app, `INSERT INTO invoices (number, seq, organisation_id, status, source, settlement, customer_urn, customer_name,
				issue_date, tax_point, due_date, created_at) VALUES (?, ?, ?, 'issued', 'manual', 'bacs_or_card', 990001, 'Chelmer Valley',
				'2026-11-22', '2026-11-22', '2026-12-22', '2026-11-22T10:00:00Z')`, fmt.Sprintf("TS-%06d", seq), seq, f.chelmer)
		})
		wantOnce(t, "invoices walked while invoices are issued", got, wantInv)

		wantB := app.column(t, `SELECT b.id FROM bookings b JOIN sessions s ON s.id = b.session_id WHERE b.organisation_id = ?
			ORDER BY s.starts_at, b.id`, f.basildon)
		var early, late []int64
		first := app.column(t, `SELECT id FROM sessions WHERE academic_year = '2026/27' ORDER BY starts_at, id LIMIT 1`)[0]
		last := app.column(t, `SELECT id FROM sessions WHERE academic_year = '2026/27' ORDER BY starts_at DESC, id DESC LIMIT 1`)[0]
		basildon := app.token(t, otherManagerEmail)
		got, _ = app.apiWalk(t, basildon, "/api/v1/bookings?limit=60", "bookings", "id", 60, func(page int) {
			now := "2026-11-22T10:00:00Z"
			for _, x := range []struct {
				sid  string
				into *[]int64
			}{{first, &early}, {last, &late}} {
				id := mustExec(t, app, `INSERT INTO bookings (reference, session_id, organisation_id, status, created_at, updated_at)
					VALUES (?, ?, ?, 'confirmed', ?, ?)`, fmt.Sprintf("PG-NEW-%d-%s", page, x.sid), x.sid, f.basildon, now, now)
				*x.into = append(*x.into, id)
			}
		})
		// The late session is the list's last: the bookings made on it
		// before the last page was read come at the end, in id order.
		var want []string
		want = append(want, wantB...)
		for _, id := range late[:len(late)-1] { // the last was added after the last page
			want = append(want, strconv.FormatInt(id, 10))
		}
		wantOnce(t, "bookings walked while bookings are made", got, want)
		for _, id := range early {
			if slices.Contains(got, strconv.FormatInt(id, 10)) {
				t.Errorf("booking %d, made on the first session after its page was read, came", id)
			}
		}
	})
}

func mustExec(t *testing.T, app *testApp, q string, args ...any) int64 {
	t.Helper()
	var id int64
	if err := app.db.Write(context.Background(), func(tx *store.Tx) error {
		res, err := tx.ExecContext(context.Background(), q, args...)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestPagination_BadLimitsAndCursors: a limit out of range or a cursor
// that is not one is a 422 naming the parameter, never a 500; nor is a
// cursor of one list taken by another.
func TestPagination_BadLimitsAndCursors(t *testing.T) {
	app := newTestApp(t)
	tok := map[string]string{"manager": app.token(t, managerEmail), "finance": app.token(t, financeEmail), "admin": app.token(t, adminEmail)}
	sid := app.column(t, `SELECT id FROM sessions ORDER BY id LIMIT 1`)[0]
	lists := []struct{ path, as string }{
		{"/api/v1/sessions", "manager"},
		{"/api/v1/bookings", "manager"},
		{"/api/v1/sessions/" + sid + "/register", "admin"},
		{"/api/v1/invoices", "finance"},
		{"/api/v1/consultancy/requests", "manager"},
	}
	otherList := base64.RawURLEncoding.EncodeToString([]byte(`{"l":"elsewhere","k":"2026-11-22T10:00:00Z","i":5}`))
	for _, l := range lists {
		for _, c := range []struct{ query, field string }{
			{"limit=501", "limit"}, {"limit=0", "limit"}, {"limit=-1", "limit"}, {"limit=abc", "limit"},
			{"limit=99999999999999999999", "limit"}, {"limit=1.5", "limit"},
			{"after=garbage!", "after"}, {"after=" + base64.RawURLEncoding.EncodeToString([]byte("not json")), "after"},
			{"after=" + otherList, "after"}, {"after=" + strings.Repeat("A", 500), "after"},
			{"after=" + base64.RawURLEncoding.EncodeToString([]byte(`{"l":"x","i":0}`)), "after"},
		} {
			path := l.path + "?" + c.query
			status, body := app.do("GET", path, "", "Authorization", tok[l.as])
			if status != http.StatusUnprocessableEntity {
				t.Errorf("GET %s: %d, want 422: %s", path, status, body)
				continue
			}
			if code, msg, field := jsonError(t, body); code != "invalid" || field != c.field || !strings.Contains(msg, c.field) {
				t.Errorf("GET %s: error %s/%s %q, want invalid naming %s", path, code, field, msg, c.field)
			}
		}
		// The largest limit is taken.
		if status, body := app.do("GET", l.path+"?limit=500", "", "Authorization", tok[l.as]); status != http.StatusOK {
			t.Errorf("GET %s?limit=500: %d: %s", l.path, status, body)
		}
	}
	// A cursor whose key is not the list's kind of key: invoices and the
	// register key on numbers.
	for _, l := range []struct{ path, list, as string }{{"/api/v1/invoices", "invoices", "finance"}, {"/api/v1/sessions/" + sid + "/register", "register", "admin"}} {
		cur := base64.RawURLEncoding.EncodeToString([]byte(`{"l":"` + l.list + `","k":"twelve","i":3}`))
		if status, body := app.do("GET", l.path+"?after="+cur, "", "Authorization", tok[l.as]); status != http.StatusUnprocessableEntity {
			t.Errorf("GET %s with a cursor keyed %q: %d, want 422: %s", l.path, "twelve", status, body)
		}
	}
	if status, body := app.do("GET", "/api/v1/invoices?offset=100", "", "Authorization", tok["finance"]); status != http.StatusUnprocessableEntity ||
		!strings.Contains(body, `"field":"offset"`) {
		t.Errorf("GET /api/v1/invoices?offset=100: %d %s, want 422 naming offset", status, body)
	}
}

// TestPagination_SchoolWith3000Bookings: one school's 3,000 bookings come
// 100 to an answer by default (it was all of them, 1.9 MB), and walking
// them at the largest limit gives each once.
func TestPagination_SchoolWith3000Bookings(t *testing.T) {
	f := newPagingFixture(t)
	app := f.app
	manager := app.token(t, managerEmail)
	total := app.count(t, `SELECT count(*) FROM bookings WHERE organisation_id = ?`, f.chelmer)
	if total < schoolBookings {
		t.Fatalf("the school has %d bookings, want %d", total, schoolBookings)
	}
	status, body := app.do("GET", "/api/v1/bookings", "", "Authorization", manager)
	if status != http.StatusOK {
		t.Fatalf("GET /api/v1/bookings: %d: %s", status, body)
	}
	var page struct {
		Bookings []json.RawMessage `json:"bookings"`
		Next     *string           `json:"next"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Bookings) != 100 || page.Next == nil {
		t.Errorf("GET /api/v1/bookings: %d bookings, next %v; want the default page of 100 and a next cursor", len(page.Bookings), page.Next)
	}
	// 100 bookings of 3,000: about a thirtieth of the old answer.
	if len(body) > 1900*1000/20 {
		t.Errorf("GET /api/v1/bookings: %d bytes, want a page, not the school's every booking", len(body))
	}
	t.Logf("GET /api/v1/bookings of a school with %d bookings: %d bookings, %d bytes", total, len(page.Bookings), len(body))
	got, pages := app.apiWalk(t, manager, "/api/v1/bookings?limit=500", "bookings", "id", 500, nil)
	if pages != (total+499)/500 {
		t.Errorf("%d bookings at 500 a page came in %d pages, want %d", total, pages, (total+499)/500)
	}
	wantOnce(t, "a school's bookings", got, app.column(t, `SELECT b.id FROM bookings b JOIN sessions s ON s.id = b.session_id
		WHERE b.organisation_id = ? ORDER BY s.starts_at, b.id`, f.chelmer))

	// The pages a school sees hold a page each too.
	u := app.agent(t)
	u.signIn(managerEmail)
	for _, path := range []string{"/bookings", "/"} {
		p := u.get(path)
		wantStatus(t, "GET "+path, p, http.StatusOK)
		if n := strings.Count(p.body, `href="/bookings/`); n > 2*50 {
			t.Errorf("GET %s: %d bookings, want at most a page of each list", path, n)
		}
	}
}

var (
	paginationNav = regexp.MustCompile(`(?s)<nav class="govuk-pagination" aria-label="([^"]+)">(.*?)</nav>`)
	relLink       = regexp.MustCompile(`href="([^"]+)" rel="(prev|next)"`)
)

// pageLinks are the Previous and Next of the pagination labelled label.
func pageLinks(body, label string) (prev, next string, found bool) {
	for _, m := range paginationNav.FindAllStringSubmatch(body, -1) {
		if m[1] != label {
			continue
		}
		found = true
		for _, l := range relLink.FindAllStringSubmatch(m[2], -1) {
			if l[2] == "prev" {
				prev = html.UnescapeString(l[1])
			} else {
				next = html.UnescapeString(l[1])
			}
		}
	}
	return prev, next, found
}

// pageWalk reads a page and the pages its Next links lead to, and returns
// the first submatch of item in the part of each page section cuts out, in
// order (each once a page). Page 1 must have no Previous; every later page
// a Previous that leads back to the one before.
func pageWalk(t *testing.T, u *userAgent, path, label string, item *regexp.Regexp, section func(string) string) (ids []string, pages int) {
	t.Helper()
	prevPath := ""
	for path != "" {
		pages++
		if pages > 200 {
			t.Fatalf("%s: more than 200 pages", path)
		}
		p := u.get(path)
		wantStatus(t, "GET "+path, p, http.StatusOK)
		prev, next, found := pageLinks(p.body, label)
		if !found && (pages > 1) {
			t.Fatalf("GET %s: no pagination labelled %q", path, label)
		}
		switch {
		case pages == 1 && prev != "":
			t.Errorf("GET %s: the first page has a Previous link %q", path, prev)
		case pages > 1 && prev != prevPath:
			t.Errorf("GET %s: Previous is %q, want %q", path, prev, prevPath)
		}
		body := p.body
		if section != nil {
			body = section(body)
		}
		seen := map[string]bool{}
		for _, m := range item.FindAllStringSubmatch(body, -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				ids = append(ids, m[1])
			}
		}
		if len(seen) > 50 {
			t.Errorf("GET %s: %d rows, more than a page of 50", path, len(seen))
		}
		prevPath, path = path, next
	}
	return ids, pages
}

// between cuts a page from the first from (or the start) to the next to
// after it (or the end).
func between(from, to string) func(string) string {
	return func(body string) string {
		if from != "" {
			i := strings.Index(body, from)
			if i < 0 {
				return ""
			}
			body = body[i+len(from):]
		}
		if j := strings.Index(body, to); to != "" && j >= 0 {
			body = body[:j]
		}
		return body
	}
}

// TestPagination_Pages: each long page shows 50 rows and GOV.UK pagination;
// following Next from the first page shows every row once, in order, with
// Previous leading back, the filters kept.
func TestPagination_Pages(t *testing.T) {
	f := newPagingFixture(t)
	app := f.app
	admin, fin, basildon := app.agent(t), app.agent(t), app.agent(t)
	admin.signIn(adminEmail)
	fin.signIn(financeEmail)
	basildon.signIn(otherManagerEmail)
	now := store.FormatTime(storetest.Epoch)
	endSQL := `strftime('%Y-%m-%dT%H:%M:%SZ', s.starts_at, '+' || s.duration_minutes || ' minutes')`
	pages := []struct {
		name    string
		as      *userAgent
		path    string
		label   string
		item    string
		section func(string) string
		want    []string
	}{
		{"admin sessions", admin, "/admin/sessions?year=2026%2F27", "Pages of sessions", `href="/admin/sessions/(\d+)"`, nil,
			app.column(t, `SELECT id FROM sessions WHERE academic_year = '2026/27' ORDER BY starts_at, id`)},
		{"register", admin, fmt.Sprintf("/admin/sessions/%d", f.register), "Pages of the register", `<span class="govuk-body-s">([a-z0-9]+@cedds\.example)</span>`,
			between(`id="register"`, `Waiting list</h2>`),
			app.column(t, `SELECT d.email FROM delegates d JOIN bookings b ON b.id = d.booking_id WHERE b.session_id = ?
				AND b.status IN ('confirmed', 'requested', 'offered') AND d.status = 'active' ORDER BY b.id, d.id`, f.register)},
		{"waiting list", admin, fmt.Sprintf("/admin/sessions/%d", f.register), "Pages of the waiting list", `<li><a class="govuk-link" href="/bookings/(\d+)">`,
			between(`Waiting list</h2>`, `</ol>`),
			app.column(t, `SELECT id FROM bookings WHERE session_id = ? AND status = 'waitlisted' ORDER BY id`, f.register)},
		{"audit log", admin, "/admin/audit?action=paging", "Pages of the audit log", `paging entry (\d+)`, nil,
			app.column(t, `SELECT entity_id FROM audit_log WHERE action = 'paging.test' ORDER BY id DESC`)},
		{"users", admin, "/admin/users", "Pages of users", `(paging\d+@traded\.example)`, nil,
			app.column(t, `SELECT email FROM users WHERE email LIKE 'paging%' ORDER BY name COLLATE NOCASE, id`)},
		{"outbox", admin, "/admin/outbox", "Pages of messages", `(paging\d+@traded\.example)`, nil,
			app.column(t, `SELECT to_addr FROM outbox WHERE to_addr LIKE 'paging%' ORDER BY id DESC`)},
		{"invoices", fin, "/invoices?organisation=990001", "Pages of invoices", `href="/invoices/(TS-\d{6})"`, nil,
			app.column(t, `SELECT number FROM invoices WHERE organisation_id = ? AND number IS NOT NULL ORDER BY seq DESC, id DESC`, f.chelmer)},
		{"consultancy", admin, "/consultancy", "Pages of requests", `href="/consultancy/(\d+)"`, nil,
			app.column(t, `SELECT id FROM consultancy_requests ORDER BY id DESC`)},
		{"organisations", fin, "/admin/organisations?q=Paging", "Pages of organisations", `href="/admin/organisations/(98\d{4})"`, nil,
			app.column(t, `SELECT urn FROM organisations WHERE name LIKE 'Paging%' ORDER BY name, urn`)},
		{"bookings coming up", basildon, "/bookings", "Pages of bookings coming up", `href="/bookings/(\d+)"`,
			between(`<h2 class="govuk-heading-m">Coming up</h2>`, `<h2 class="govuk-heading-m">Past sessions</h2>`),
			app.column(t, `SELECT b.id FROM bookings b JOIN sessions s ON s.id = b.session_id WHERE b.organisation_id = ? AND `+endSQL+` >= ?
				ORDER BY s.starts_at, b.id`, f.basildon, now)},
		{"past bookings", basildon, "/bookings", "Pages of past bookings", `href="/bookings/(\d+)"`,
			between(`<h2 class="govuk-heading-m">Past sessions</h2>`, ""),
			app.column(t, `SELECT b.id FROM bookings b JOIN sessions s ON s.id = b.session_id WHERE b.organisation_id = ? AND `+endSQL+` < ?
				ORDER BY s.starts_at DESC, b.id DESC`, f.basildon, now)},
	}
	for _, pg := range pages {
		t.Run(pg.name, func(t *testing.T) {
			got, n := pageWalk(t, pg.as, pg.path, pg.label, regexp.MustCompile(pg.item), pg.section)
			if want := (len(pg.want) + 49) / 50; n < want || n < 2 {
				t.Errorf("%d rows came in %d pages, want %d", len(pg.want), n, max(want, 2))
			}
			wantOnce(t, pg.name, got, pg.want)
		})
	}

	t.Run("LinksKeepFilters", func(t *testing.T) {
		p := admin.get("/admin/audit?action=paging&actor=system")
		_, next, _ := pageLinks(p.body, "Pages of the audit log")
		u, err := url.Parse(next)
		if err != nil || u.Path != "/admin/audit" || u.Query().Get("action") != "paging" || u.Query().Get("actor") != "system" || u.Query().Get("page") != "2" {
			t.Errorf("the audit log's Next is %q, want /admin/audit with action=paging, actor=system and page=2", next)
		}
		for _, want := range []string{`class="govuk-pagination__link-title">Next<span class="govuk-visually-hidden"> page</span>`,
			`aria-current="page">1</a>`, `rel="next"`} {
			if !strings.Contains(p.body, want) {
				t.Errorf("the audit log's pagination lacks %s", want)
			}
		}
	})

	t.Run("BadPageNumbers", func(t *testing.T) {
		for _, path := range []string{"/admin/audit?page=0", "/admin/audit?page=-1", "/admin/users?page=abc", "/admin/sessions?page=1e3",
			"/admin/outbox?page=100001", "/invoices?page=99999999999999999999", fmt.Sprintf("/admin/sessions/%d?waiting=x", f.register)} {
			p := admin.get(path)
			if path == "/invoices?page=99999999999999999999" {
				p = fin.get(path)
			}
			if p.status != http.StatusUnprocessableEntity {
				t.Errorf("GET %s: %d, want 422", path, p.status)
			}
		}
		// Past the end: no rows, and the way back.
		p := admin.get("/admin/users?page=50")
		wantStatus(t, "GET /admin/users?page=50", p, http.StatusOK)
		if prev, next, _ := pageLinks(p.body, "Pages of users"); prev != "/admin/users?page=49" || next != "" {
			t.Errorf("/admin/users?page=50: Previous %q, Next %q; want /admin/users?page=49 and none", prev, next)
		}
	})
}

// TestPagination_RegisterKeepsOtherPages: saving the register's second page
// marks its delegates and leaves the first page's marks as they were.
func TestPagination_RegisterKeepsOtherPages(t *testing.T) {
	f := newPagingFixture(t)
	app := f.app
	lines, err := wiring.Domains(app.db).Booking.FindRegister(context.Background(), booking.RegisterFilter{SessionID: f.register})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) <= 50 {
		t.Fatalf("the register has %d confirmed delegates, want more than a page", len(lines))
	}
	first := lines[0].Delegate.ID
	if err := wiring.Domains(app.db).Booking.SetAttendance(context.Background(), store.System, f.register, map[int64]string{first: "attended"}); err != nil {
		t.Fatal(err)
	}
	admin := app.agent(t)
	admin.signIn(adminEmail)
	p := admin.get(fmt.Sprintf("/admin/sessions/%d?page=2", f.register))
	action := fmt.Sprintf(`action="/admin/sessions/%d/register?page=2"`, f.register)
	if !strings.Contains(p.body, action) {
		t.Fatalf("page 2 of the register: no form with %s", action)
	}
	onPage2 := regexp.MustCompile(`name="attendance_(\d+)"`).FindStringSubmatch(p.body)
	if onPage2 == nil {
		t.Fatal("page 2 of the register has no delegate to mark")
	}
	p = admin.submit(fmt.Sprintf("/admin/sessions/%d/register?page=2", f.register), url.Values{"attendance_" + onPage2[1]: {"absent"}})
	if want := fmt.Sprintf("/admin/sessions/%d?page=2#register", f.register); p.status != http.StatusSeeOther || p.location() != want {
		t.Fatalf("save page 2: %d to %q, want 303 to %s", p.status, p.location(), want)
	}
	marks := app.column(t, `SELECT id || ':' || COALESCE(attendance, '') FROM delegates WHERE attendance IS NOT NULL ORDER BY id`)
	want := []string{fmt.Sprintf("%d:attended", first), onPage2[1] + ":absent"}
	slices.Sort(want)
	if !slices.Equal(marks, want) {
		t.Errorf("marks after saving page 2: %v, want %v (page 1's kept)", marks, want)
	}
}
