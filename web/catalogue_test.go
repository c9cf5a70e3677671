package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

type quoteResponse struct {
	Tier       string `json:"tier"`
	Subscriber bool   `json:"subscriber"`
	Lines      []struct {
		Product     string `json:"product"`
		Description string `json:"description"`
		Quantity    int    `json:"quantity"`
		UnitPence   int64  `json:"unit_pence"`
		AmountPence int64  `json:"amount_pence"`
	} `json:"lines"`
	TotalPence int64 `json:"total_pence"`
}

func TestQuote(t *testing.T) {
	app := newTestApp(t)
	for _, tt := range []struct {
		name  string
		body  string
		tier  string
		total int64
		lines int
	}{
		{"MaintainedSubscription", `{"organisation":"990001","academic_year":"2021/22","items":[{"product":"psa-subscription"}]}`, "maintained", 31500, 1},
		{"AcademyNumberURN", `{"organisation":990004,"academic_year":"2021/22","items":[{"product":"psa-subscription"}]}`, "academy", 39500, 1},
		{"SouthendIsExternal", `{"organisation":"990007","academic_year":"2021/22","items":[{"product":"psa-session"}]}`, "external", 7500, 1},
		{"ThurrockIsExternal", `{"organisation":"990008","academic_year":"2021/22","items":[{"product":"psa-session"}]}`, "external", 7500, 1},
		{"ModerationThreeNonSubscriber", `{"organisation":"990004","academic_year":"2021/22","as_subscriber":false,"items":[{"product":"moderation","staff":3}]}`, "academy", 6000 + 2*1500, 2},
		{"ModerationThreeSubscriber", `{"organisation":"990009","academic_year":"2021/22","as_subscriber":true,"items":[{"product":"moderation","staff":3}]}`, "external", 5000 + 2*2000, 2},
		{"SubscriberSessionFree", `{"organisation":"990001","academic_year":"2021/22","as_subscriber":true,"items":[{"product":"psa-session","staff":2}]}`, "maintained", 0, 1},
		{"SubscriberThirdDelegate", `{"organisation":"990001","academic_year":"2021/22","as_subscriber":true,"items":[{"product":"psa-session","staff":3}]}`, "maintained", 5500, 2},
		{"Several", `{"organisation":"990002","academic_year":"2021/22","items":[{"product":"psa-subscription"},{"product":"moderation","staff":1}]}`, "maintained", 31500 + 6000, 2},
		{"CurrentYearRolledForward", `{"organisation":"990001","academic_year":"2026/27","items":[{"product":"psa-subscription"}]}`, "maintained", 32603, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := app.do("POST", "/api/v1/quotes", tt.body)
			if status != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", status, body)
			}
			var q quoteResponse
			if err := json.Unmarshal([]byte(body), &q); err != nil {
				t.Fatal(err)
			}
			if q.Tier != tt.tier || q.TotalPence != tt.total || len(q.Lines) != tt.lines {
				t.Errorf("got tier %s total %d with %d lines, want %s %d with %d: %s", q.Tier, q.TotalPence, len(q.Lines), tt.tier, tt.total, tt.lines, body)
			}
			var sum int64
			for _, l := range q.Lines {
				if l.AmountPence != l.UnitPence*int64(l.Quantity) || l.Description == "" || l.Product == "" {
					t.Errorf("bad line %+v", l)
				}
				sum += l.AmountPence
			}
			if sum != q.TotalPence {
				t.Errorf("lines add to %d, total %d", sum, q.TotalPence)
			}
		})
	}
}

func TestQuote_BadInput(t *testing.T) {
	app := newTestApp(t)
	for _, tt := range []struct {
		name   string
		body   string
		status int
		code   string
		field  string
	}{
		{"UnknownOrganisation", `{"organisation":"999999","academic_year":"2021/22","items":[{"product":"psa-session"}]}`, 404, "not_found", ""},
		{"OrganisationNotANumber", `{"organisation":"St Mary's","academic_year":"2021/22","items":[{"product":"psa-session"}]}`, 422, "invalid", "organisation"},
		{"NoOrganisation", `{"academic_year":"2021/22","items":[{"product":"psa-session"}]}`, 422, "invalid", "organisation"},
		{"UnknownProduct", `{"organisation":"990001","academic_year":"2021/22","items":[{"product":"platinum"}]}`, 422, "invalid", "items[0].product"},
		{"NoProduct", `{"organisation":"990001","academic_year":"2021/22","items":[{"staff":2}]}`, 422, "invalid", "items"},
		{"YearWithNoPriceList", `{"organisation":"990001","academic_year":"2019/20","items":[{"product":"psa-session"}]}`, 422, "invalid", "academic_year"},
		{"YearMalformed", `{"organisation":"990001","academic_year":"twenty","items":[{"product":"psa-session"}]}`, 422, "invalid", "academic_year"},
		{"NoYear", `{"organisation":"990001","items":[{"product":"psa-session"}]}`, 422, "invalid", "academic_year"},
		{"StaffZero", `{"organisation":"990001","academic_year":"2021/22","items":[{"product":"moderation","staff":0}]}`, 422, "invalid", "items"},
		{"StaffNegative", `{"organisation":"990001","academic_year":"2021/22","items":[{"product":"moderation","staff":-2}]}`, 422, "invalid", "items"},
		{"StaffMissingForModeration", `{"organisation":"990001","academic_year":"2021/22","items":[{"product":"moderation"}]}`, 422, "invalid", "items[0].staff"},
		{"StaffNotANumber", `{"organisation":"990001","academic_year":"2021/22","items":[{"product":"moderation","staff":"two"}]}`, 422, "invalid", "items.staff"},
		{"StaffFraction", `{"organisation":"990001","academic_year":"2021/22","items":[{"product":"moderation","staff":1.5}]}`, 422, "invalid", "items.staff"},
		{"NoItems", `{"organisation":"990001","academic_year":"2021/22","items":[]}`, 422, "invalid", "items"},
		{"UnknownField", `{"organisation":"990001","academic_year":"2021/22","items":[{"product":"psa-session"}],"discount":50}`, 422, "invalid", "discount"},
		{"MalformedJSON", `{"organisation":"990001",`, 400, "malformed", ""},
		{"NotAnObject", `["psa-session"]`, 400, "malformed", ""},
		{"TrailingGarbage", `{"organisation":"990001","academic_year":"2021/22","items":[{"product":"psa-session"}]} x`, 400, "malformed", ""},
		{"Empty", ``, 400, "malformed", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := app.do("POST", "/api/v1/quotes", tt.body, "Content-Type", "application/json")
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			code, msg, field := jsonError(t, body)
			if code != tt.code || field != tt.field || msg == "" {
				t.Errorf("error code %q field %q message %q; want %q %q", code, field, msg, tt.code, tt.field)
			}
			if strings.Contains(strings.ToLower(msg), "sql") || strings.Contains(msg, "json:") {
				t.Errorf("message leaks internals: %q", msg)
			}
		})
	}
	t.Run("WrongMethod", func(t *testing.T) {
		if status, _ := app.do("GET", "/api/v1/quotes", ""); status/100 != 4 {
			t.Errorf("GET /api/v1/quotes: status %d, want 4xx", status)
		}
	})
}

func TestCatalogueAPI(t *testing.T) {
	app := newTestApp(t)
	status, body := app.do("GET", "/api/v1/catalogue?year=2021/22", "")
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	var c struct {
		Year     string `json:"academic_year"`
		Products []struct {
			Code   string                      `json:"code"`
			Prices map[string]map[string]int64 `json:"prices_pence"`
		} `json:"products"`
		Sessions []struct {
			ID         int64  `json:"id"`
			Course     string `json:"course"`
			StartsAt   string `json:"starts_at"`
			PlacesLeft int    `json:"places_left"`
		} `json:"sessions"`
	}
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatal(err)
	}
	if c.Year != "2021/22" || len(c.Products) != 3 || len(c.Sessions) != 14 {
		t.Fatalf("catalogue: year %s, %d products, %d sessions; want 2021/22, 3, 14", c.Year, len(c.Products), len(c.Sessions))
	}
	want := map[string]int64{"psa-subscription/external/unit": 49500, "psa-session/academy/unit": 6500, "moderation/maintained/first-subscriber": 4000}
	for _, p := range c.Products {
		for tier, rates := range p.Prices {
			for rate, pence := range rates {
				if w, ok := want[p.Code+"/"+tier+"/"+rate]; ok && w != pence {
					t.Errorf("%s/%s/%s = %d, want %d", p.Code, tier, rate, pence, w)
				}
			}
		}
	}
	if !strings.HasSuffix(c.Sessions[0].StartsAt, "Z") {
		t.Errorf("starts_at %q is not UTC RFC 3339", c.Sessions[0].StartsAt)
	}
	for path, want := range map[string]int{
		"/api/v1/catalogue":               200, // the current year
		"/api/v1/catalogue?year=2019/20":  404,
		"/api/v1/catalogue?year=nonsense": 422,
		"/api/v1/nothing-here":            404,
	} {
		if status, body := app.do("GET", path, ""); status != want {
			t.Errorf("GET %s: %d, want %d: %s", path, status, want, body)
		}
	}
}

func TestCataloguePage(t *testing.T) {
	app := newTestApp(t)
	status, body := app.do("GET", "/catalogue?year=2021/22", "")
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	for _, want := range []string{"£315.00", "£395.00", "£495.00", "£55.00", "£65.00", "£75.00", "£40.00", "£10.00", "£60.00", "£15.00", "£50.00", "£20.00", "£70.00", "£25.00", "<h1"} {
		if !strings.Contains(body, want) {
			t.Errorf("catalogue page lacks %q", want)
		}
	}
	if status, body := app.do("GET", "/no-such-page", ""); status != 404 || !strings.Contains(body, "Page not found") {
		t.Errorf("unknown page: %d", status)
	}
	if status, _ := app.do("GET", "/healthz", ""); status != 200 {
		t.Errorf("healthz: %d", status)
	}
}
