package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	wiring "traded/app"
)

// TestBankHolidays_Page: an admin adds a proclaimed bank holiday, is told
// of a bad date, a missing name and a duplicate beside the field, and
// removes the day again; the changes are in the audit log.
func TestBankHolidays_Page(t *testing.T) {
	app := newTestApp(t)
	u := app.agent(t)
	u.signIn(adminEmail)

	p := u.get("/admin/bank-holidays?year=2027")
	if p.status != http.StatusOK || !strings.Contains(p.body, "Monday 31 May 2027") || !strings.Contains(p.body, "GOV.UK list") {
		t.Fatalf("2027 page: %d, want 200 with the spring bank holiday from the GOV.UK list: %s", p.status, excerpt(p.body))
	}
	for _, tt := range []struct {
		name  string
		form  url.Values
		want  int
		field string
	}{
		{"BadDate", url.Values{"date": {"4/6/2027"}, "name": {"Proclaimed"}}, http.StatusUnprocessableEntity, "date"},
		{"Saturday", url.Values{"date": {"2027-06-05"}, "name": {"Proclaimed"}}, http.StatusUnprocessableEntity, "date"},
		{"NoName", url.Values{"date": {"2027-06-04"}, "name": {""}}, http.StatusUnprocessableEntity, "name"},
		{"Duplicate", url.Values{"date": {"2027-05-31"}, "name": {"Spring"}}, http.StatusConflict, "date"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := u.submit("/admin/bank-holidays", tt.form)
			if p.status != tt.want {
				t.Fatalf("got %d, want %d: %s", p.status, tt.want, excerpt(p.body))
			}
			for _, s := range []string{`href="#` + tt.field + `"`, `id="` + tt.field + `-error"`, `aria-describedby="` + tt.field + `-hint ` + tt.field + `-error"`} {
				if !strings.Contains(p.body, s) {
					t.Errorf("page lacks %s", s)
				}
			}
		})
	}
	t.Run("Add", func(t *testing.T) {
		p := u.submit("/admin/bank-holidays", url.Values{"date": {"2027-06-04"}, "name": {"Proclaimed bank holiday"}})
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/admin/bank-holidays?year=2027" {
			t.Fatalf("got %d to %q, want 303 to the year", p.status, p.header.Get("Location"))
		}
		p = u.get("/admin/bank-holidays?year=2027")
		if !strings.Contains(p.body, "Friday 4 June 2027") || !strings.Contains(p.body, "Added by "+adminEmail) {
			t.Errorf("the added day is not listed: %s", excerpt(p.body))
		}
	})
	t.Run("Remove", func(t *testing.T) {
		p := u.submit("/admin/bank-holidays/2027-06-04/remove", nil)
		if p.status != http.StatusSeeOther {
			t.Fatalf("got %d, want 303: %s", p.status, excerpt(p.body))
		}
		p = u.get("/admin/bank-holidays?year=2027")
		if !strings.Contains(p.body, "Removed: these days are working days") || !strings.Contains(p.body, "Removed by "+adminEmail) {
			t.Errorf("the removed day is not shown as removed: %s", excerpt(p.body))
		}
		if p := u.submit("/admin/bank-holidays/2027-06-07/remove", nil); p.status != http.StatusNotFound {
			t.Errorf("removing a working day: got %d, want 404", p.status)
		}
	})
	t.Run("BeyondTheList", func(t *testing.T) {
		p := u.get("/admin/bank-holidays?year=2031")
		if !strings.Contains(p.body, "beyond GOV.UK") || !strings.Contains(p.body, "Monday 26 May 2031") {
			t.Errorf("2031 does not show the rules: %s", excerpt(p.body))
		}
		if p := u.get("/admin/bank-holidays?year=twenty"); p.status != http.StatusUnprocessableEntity {
			t.Errorf("?year=twenty: got %d, want 422", p.status)
		}
	})
	t.Run("Audited", func(t *testing.T) {
		for _, action := range []string{"bank_holiday.add", "bank_holiday.remove"} {
			if e := app.audit(t, action); len(e) != 1 || e[0].EntityID != "2027-06-04" || e[0].Actor != adminEmail {
				t.Errorf("%s: got %+v, want one entry for 2027-06-04 by %s", action, e, adminEmail)
			}
		}
	})
	t.Run("NotAdmin_Forbidden", func(t *testing.T) {
		m := app.agent(t)
		m.signIn(managerEmail)
		if p := m.get("/admin/bank-holidays"); p.status != http.StatusForbidden {
			t.Errorf("manager: got %d, want 403", p.status)
		}
	})
}

// TestBankHolidays_API: the list by year, adding (201; a bad date 422
// naming the field; a duplicate 409) and removing (204; again 404), for
// admins only.
func TestBankHolidays_API(t *testing.T) {
	app := newTestApp(t)
	// As traded serve does at start (the page test runs without it).
	if _, err := wiring.Domains(app.db).Catalogue.SeedBankHolidays(context.Background()); err != nil {
		t.Fatal(err)
	}
	admin := app.token(t, adminEmail)
	type holidayJSON struct {
		Date, Name, Source string
		RecordedBy         string `json:"recorded_by"`
	}
	var year struct {
		Year         int
		Covered      bool          `json:"covered_by_list"`
		BankHolidays []holidayJSON `json:"bank_holidays"`
		Removed      []holidayJSON
	}
	app.api(t, admin, "GET", "/api/v1/bank-holidays?year=2022", "", http.StatusOK, &year)
	if !year.Covered || len(year.BankHolidays) != 10 || year.BankHolidays[5] != (holidayJSON{"2022-06-03", "Platinum Jubilee bank holiday", "govuk", "system"}) {
		t.Errorf("2022: got %+v, want the list's 10 days with the Platinum Jubilee", year)
	}
	app.api(t, admin, "GET", "/api/v1/bank-holidays?year=2031", "", http.StatusOK, &year)
	if year.Covered || len(year.BankHolidays) != 8 || year.BankHolidays[0].Source != "rules" {
		t.Errorf("2031: got %+v, want 8 days of the rules", year)
	}

	for _, tt := range []struct {
		body   string
		status int
		field  string
	}{
		{`{"date":"2027-02-30","name":"X"}`, http.StatusUnprocessableEntity, "date"},
		{`{"date":"2027-06-06","name":"Sunday"}`, http.StatusUnprocessableEntity, "date"},
		{`{"date":"2027-06-04"}`, http.StatusUnprocessableEntity, "name"},
		{`{"date":"2027-06-04","name":"X","bunting":true}`, http.StatusUnprocessableEntity, "bunting"},
		{`{"date":"2027-12-27","name":"Christmas"}`, http.StatusConflict, "date"},
	} {
		code, body := app.do("POST", "/api/v1/bank-holidays", tt.body, "Authorization", admin)
		if _, _, field := jsonError(t, body); code != tt.status || field != tt.field {
			t.Errorf("POST %s: got %d on %q, want %d on %q: %s", tt.body, code, field, tt.status, tt.field, body)
		}
	}
	var created holidayJSON
	app.api(t, admin, "POST", "/api/v1/bank-holidays", `{"date":"2027-06-04","name":"Proclaimed bank holiday"}`, http.StatusCreated, &created)
	if created != (holidayJSON{"2027-06-04", "Proclaimed bank holiday", "admin", adminEmail}) {
		t.Errorf("created: got %+v", created)
	}
	if code, body := app.do("POST", "/api/v1/bank-holidays", `{"date":"2027-06-04","name":"Again"}`, "Authorization", admin); code != http.StatusConflict {
		t.Errorf("duplicate: got %d, want 409: %s", code, body)
	}
	app.api(t, admin, "DELETE", "/api/v1/bank-holidays/2027-05-31", "", http.StatusNoContent, nil)
	app.api(t, admin, "DELETE", "/api/v1/bank-holidays/2027-05-31", "", http.StatusNotFound, nil)
	app.api(t, admin, "DELETE", "/api/v1/bank-holidays/31-05-2027", "", http.StatusUnprocessableEntity, nil)
	year.Removed = nil
	app.api(t, admin, "GET", "/api/v1/bank-holidays?year=2027", "", http.StatusOK, &year)
	if len(year.BankHolidays) != 8 || len(year.Removed) != 1 || year.Removed[0].Date != "2027-05-31" {
		t.Errorf("2027: got %+v, want 8 in force (4 June in, 31 May out)", year)
	}
	if code, body := app.do("GET", "/api/v1/bank-holidays?year=27", "", "Authorization", admin); code != http.StatusUnprocessableEntity {
		t.Errorf("?year=27: got %d, want 422: %s", code, body)
	} else if _, _, field := jsonError(t, body); field != "year" {
		t.Errorf("?year=27: field %q, want year", field)
	}

	manager := app.token(t, managerEmail)
	for _, r := range [][2]string{{"GET", "/api/v1/bank-holidays"}, {"POST", "/api/v1/bank-holidays"}, {"DELETE", "/api/v1/bank-holidays/2027-06-04"}} {
		if code, _ := app.do(r[0], r[1], `{"date":"2027-06-07","name":"X"}`, "Authorization", manager); code != http.StatusForbidden {
			t.Errorf("manager %s %s: got %d, want 403", r[0], r[1], code)
		}
	}
}

// TestBankHolidays_FormAndJSONAgree: adding and removing a bank holiday go
// one way for the page and the API, so the same bad date or name is
// refused with the same status and message (beside the form's input), and
// removing a day that is not a bank holiday is the same 404.
func TestBankHolidays_FormAndJSONAgree(t *testing.T) {
	app := newTestApp(t)
	admin := app.token(t, adminEmail)
	u := app.agent(t)
	u.signIn(adminEmail)
	u.get("/admin/bank-holidays?year=2027")
	for _, c := range []formAndJSONCase{
		{"BadDate", `{"date":"4/6/2027","name":"Proclaimed"}`, url.Values{"date": {"4/6/2027"}, "name": {"Proclaimed"}}, "date"},
		{"Saturday", `{"date":"2027-06-05","name":"Proclaimed"}`, url.Values{"date": {"2027-06-05"}, "name": {"Proclaimed"}}, "date"},
		{"NoName", `{"date":"2027-06-04","name":" "}`, url.Values{"date": {"2027-06-04"}, "name": {" "}}, "name"},
		{"LongName", `{"date":"2027-06-04","name":"` + strings.Repeat("n", 101) + `"}`, url.Values{"date": {"2027-06-04"}, "name": {strings.Repeat("n", 101)}}, "name"},
		{"Already", `{"date":"2027-05-31","name":"Spring"}`, url.Values{"date": {"2027-05-31"}, "name": {"Spring"}}, "date"},
	} {
		t.Run("Add/"+c.name, func(t *testing.T) {
			status, body := app.do("POST", "/api/v1/bank-holidays", c.json, "Authorization", admin)
			wantSameError(t, u.submit("/admin/bank-holidays", c.form), status, body, c.input)
		})
	}
	for name, date := range map[string]string{"NotAHoliday": "2027-06-07", "BadDate": "31-05-2027"} {
		t.Run("Remove/"+name, func(t *testing.T) {
			status, body := app.do("DELETE", "/api/v1/bank-holidays/"+date, "", "Authorization", admin)
			wantSameError(t, u.submit("/admin/bank-holidays/"+date+"/remove", nil), status, body, "")
		})
	}
	if n := len(app.audit(t, "bank_holiday.add")) + len(app.audit(t, "bank_holiday.remove")); n != 0 {
		t.Errorf("refused requests made %d changes", n)
	}
}
