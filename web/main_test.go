package web_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"traded"
	wiring "traded/app"
	"traded/demo"
	"traded/store"
	"traded/store/storetest"
	"traded/web"
)

// testApp is a Traded app over a fresh database with the demo data.
type testApp struct {
	t     *testing.T
	srv   *web.Server
	db    *store.DB
	clock *traded.FixedClock
}

func newTestApp(t *testing.T) *testApp {
	t.Helper()
	db, clock := storetest.Open(t)
	svc := wiring.Domains(db).Booking
	svc.Accounts.PasswordCost = bcrypt.MinCost // demo users' passwords, hashed cheaply
	if err := demo.LoadBase(context.Background(), svc); err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Config{Dev: true, BaseURL: "http://traded.test"}, wiring.New(db, wiring.Config{BaseURL: "http://traded.test"}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return &testApp{t: t, srv: srv, db: db, clock: clock}
}

// do sends a request to the app and returns the status and body.
func (a *testApp) do(method, path, body string, headers ...string) (int, string) {
	a.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := a.srv.App().Test(req, -1)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// jsonError decodes an API error body.
func jsonError(t *testing.T, body string) (code, message, field string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Message, Field string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, body)
	}
	return e.Error.Code, e.Error.Message, e.Error.Field
}

// formAndJSONCase is one bad input given to an action through its page's
// form and through the API: the two must refuse it alike.
type formAndJSONCase struct {
	name string
	json string     // the API's body
	form url.Values // the form's inputs
	// input is the form's input the page puts the message beside ("" when
	// the form has none for it: the error summary or the error page says it).
	input string
}

// wantSameError checks that the page p refused a form as the API refused
// the same input (apiStatus, apiBody): with the same status, the API's
// message on the page, and beside the form's input when input is not "".
func wantSameError(t *testing.T, p *page, apiStatus int, apiBody, input string) {
	t.Helper()
	if apiStatus < 400 {
		t.Fatalf("the API accepted the input: %d %s", apiStatus, apiBody)
	}
	_, want, _ := jsonError(t, apiBody)
	if p.status != apiStatus {
		t.Errorf("the form: %d, the API %d (%q): %s", p.status, apiStatus, want, excerpt(p.body))
	}
	if !strings.Contains(html.UnescapeString(p.body), want) {
		t.Errorf("the page lacks the API's message %q: %s", want, excerpt(p.body))
	}
	if input != "" {
		if got := fieldErrorOf(p.body, input); got != want {
			t.Errorf("the form's %s reads %q, the API's message %q", input, got, want)
		}
	}
}
