package catalogue_test

import (
	"context"
	"testing"
	"time"

	"traded"
	"traded/app"
	"traded/catalogue"
	"traded/pricing"
	"traded/store"
	"traded/store/storetest"
)

func date(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestBankHolidays(t *testing.T) {
	// England and Wales, as published.
	h := catalogue.ShippedHolidays()
	want2026 := []string{"2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31", "2026-12-25", "2026-12-28"}
	for name, got := range map[string]map[string]string{"list": h.InYear(2026), "rules": catalogue.RuleBankHolidays(2026)} {
		if len(got) != len(want2026) {
			t.Errorf("%s: 2026 has %d bank holidays, want %d: %v", name, len(got), len(want2026), got)
		}
		for _, d := range want2026 {
			if _, ok := got[d]; !ok {
				t.Errorf("%s: %s missing from 2026", name, d)
			}
		}
	}
	for _, d := range []string{"2020-05-08", "2022-06-02", "2022-06-03", "2022-09-19", "2023-05-08", "2022-12-26", "2022-12-27", "2021-12-27", "2021-12-28"} {
		if h.IsWorkingDay(date(d)) {
			t.Errorf("%s is not a bank holiday", d)
		}
	}
	for _, d := range []string{"2020-05-04", "2022-05-30"} {
		if !h.IsWorkingDay(date(d)) {
			t.Errorf("%s is a bank holiday, but that year's holiday moved", d)
		}
	}
	if e := catalogue.Easter(2027).Format("2006-01-02"); e != "2027-03-28" {
		t.Errorf("Easter 2027 = %s, want 2027-03-28", e)
	}
}

func TestAddWorkingDays(t *testing.T) {
	h := catalogue.ShippedHolidays()
	for _, tt := range []struct {
		from string
		n    int
		want string
	}{
		{"2026-11-23", 1, "2026-11-24"},   // Monday -> Tuesday
		{"2026-11-27", 1, "2026-11-30"},   // Friday -> Monday
		{"2026-12-24", 1, "2026-12-29"},   // over Christmas and the Boxing Day substitute
		{"2027-04-08", -10, "2027-03-23"}, // back over Easter 2027 (26 and 29 March)
		{"2026-06-05", -10, "2026-05-21"}, // back over the spring bank holiday
		{"2022-06-10", -6, "2022-05-31"},  // back over the Platinum Jubilee's 2 and 3 June; 30 May was not a holiday
		{"2031-05-06", -1, "2031-05-02"},  // beyond the list, the rules: early May bank holiday 5 May 2031
	} {
		if got := h.AddWorkingDays(date(tt.from), tt.n).Format("2006-01-02"); got != tt.want {
			t.Errorf("AddWorkingDays(%s, %d) = %s, want %s", tt.from, tt.n, got, tt.want)
		}
	}
}

func TestTerms(t *testing.T) {
	db, _ := storetest.Open(t)
	svc := app.Domains(db)
	ctx := context.Background()
	for y := pricing.AcademicYear(2021); y <= 2030; y++ {
		terms := catalogue.TypicalTerms(y)
		if err := svc.Catalogue.SetTerms(ctx, store.System, y, terms); err != nil {
			t.Fatalf("%s: typical terms refused: %v", y, err)
		}
	}
	got, err := svc.Catalogue.FindTerms(ctx, 2026)
	if err != nil || len(got) != 6 {
		t.Fatalf("FindTerms: %d terms, %v", len(got), err)
	}
	if !catalogue.InTerm(got, date("2026-11-23")) || catalogue.InTerm(got, date("2026-10-28")) || catalogue.InTerm(got, date("2026-12-25")) {
		t.Error("InTerm disagrees with the October half-term or Christmas")
	}
	bad := catalogue.TypicalTerms(2026)
	bad[1].StartsOn = bad[0].EndsOn
	if err := svc.Catalogue.SetTerms(ctx, store.System, 2026, bad); traded.ErrorCode(err) != traded.EINVALID {
		t.Errorf("overlapping terms: %v, want invalid", err)
	}
	if err := svc.Catalogue.SetTerms(ctx, store.System, 2026, bad[:5]); traded.ErrorCode(err) != traded.EINVALID {
		t.Errorf("five terms: %v, want invalid", err)
	}
}
