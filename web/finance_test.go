package web_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"testing"

	"traded/web"
)

// uploadStatement posts a bank statement from the bank page's form: the
// file as the multipart "statement", with the form's date order.
func (u *userAgent) uploadStatement(filename, csv, dateOrder string) *page {
	u.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for name, value := range map[string]string{"_csrf": u.csrf, "date_order": dateOrder} {
		if err := w.WriteField(name, value); err != nil {
			u.t.Fatal(err)
		}
	}
	f, err := w.CreateFormFile("statement", filename)
	if err != nil {
		u.t.Fatal(err)
	}
	if _, err := f.Write([]byte(csv)); err != nil {
		u.t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		u.t.Fatal(err)
	}
	return u.send("POST", "/finance/bank", &body, w.FormDataContentType())
}

// TestBankImport_FormAndJSONAgree: the bank page uploads a statement as a
// multipart form and the API sends it as the body, but both import it one
// way, so the same file is refused with the same status and message, on the
// page beside the file input or the date order it is about.
func TestBankImport_FormAndJSONAgree(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true})
	tok := app.token(t, financeEmail)
	fin := app.agent(t)
	fin.signIn(financeEmail)
	fin.get("/finance/bank")
	ambiguous := "Date,Description,Amount\n03/11/2026,SOMEONE,10.00\n04/11/2026,SOMEONE ELSE,11.00\n"
	for _, c := range []struct {
		name, csv, dateOrder, input string
	}{
		{"Empty", "", "", "statement"},
		{"NotAStatement", "Name,Colour\nAnn,blue\n", "", "statement"},
		{"AmbiguousDates", ambiguous, "", "date_order"},
		{"BadDateOrder", ambiguous, "ymd", "date_order"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := app.do("POST", "/api/v1/bank-statements?filename=lloyds.csv&date_order="+c.dateOrder, c.csv, "Authorization", tok)
			wantSameError(t, fin.uploadStatement("lloyds.csv", c.csv, c.dateOrder), status, body, c.input)
		})
	}
	if n := app.count(t, `SELECT count(*) FROM bank_statements`); n != 0 {
		t.Errorf("refused files imported %d statements", n)
	}
	// What the page alone can get wrong: no file chosen.
	if p := fin.submit("/finance/bank", nil); p.status != http.StatusUnprocessableEntity || fieldErrorOf(p.body, "statement") == "" {
		t.Errorf("no file: %d, want 422 with the error on the file input: %s", p.status, excerpt(p.body))
	}
}
