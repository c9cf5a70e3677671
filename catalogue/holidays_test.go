package catalogue_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"traded"
	"traded/app"
	"traded/catalogue"
	"traded/store"
	"traded/store/storetest"
)

// TestShippedBankHolidays checks the transcribed GOV.UK list against the
// rules: each date a weekday, and each year the rules' dates but for the
// one-off changes GOV.UK published.
func TestShippedBankHolidays(t *testing.T) {
	events := catalogue.ShippedBankHolidays()
	byYear := map[int]map[string]string{}
	for _, e := range events {
		d := date(e.Date)
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
			t.Errorf("%s (%s) is a %s", e.Date, e.Title, wd)
		}
		if e.Notes != "" && e.Notes != "Substitute day" {
			t.Errorf("%s: notes %q, want \"\" or \"Substitute day\"", e.Date, e.Notes)
		}
		if byYear[d.Year()] == nil {
			byYear[d.Year()] = map[string]string{}
		}
		byYear[d.Year()][e.Date] = e.Title
	}
	for y := 2018; y <= 2027; y++ {
		if byYear[y] == nil {
			t.Errorf("the list does not cover %d", y)
		}
	}
	// What the list has that the rules do not (+) and the reverse (-).
	oneOffs := map[string]string{
		"2020-05-04": "-", "2020-05-08": "+", // VE Day: early May moved to Friday 8 May
		"2022-05-30": "-", "2022-06-02": "+", "2022-06-03": "+", // Platinum Jubilee
		"2022-09-19": "+", // State Funeral of Queen Elizabeth II
		"2023-05-08": "+", // coronation of King Charles III
	}
	for y, listed := range byYear {
		rules := catalogue.RuleBankHolidays(y)
		var diff []string
		for d := range listed {
			if _, ok := rules[d]; !ok {
				diff = append(diff, d+" +")
			}
		}
		for d := range rules {
			if _, ok := listed[d]; !ok {
				diff = append(diff, d+" -")
			}
		}
		for _, got := range diff {
			d, sign, _ := strings.Cut(got, " ")
			if oneOffs[d] != sign {
				t.Errorf("%d: %s differs from the rules (%s) and is not a known one-off", y, d, sign)
			}
		}
	}
	for _, bad := range []string{`{}`, `{"england-and-wales": {"events": [{"title": "X", "date": "2027-13-01"}]}}`,
		`{"england-and-wales": {"events": [{"title": "X", "date": "2027-06-04"}, {"title": "Y", "date": "2027-06-04"}]}}`, `[`} {
		if _, err := catalogue.ParseBankHolidays([]byte(bad)); traded.ErrorCode(err) != traded.EINVALID {
			t.Errorf("ParseBankHolidays(%s): got %v, want invalid", bad, err)
		}
	}
}

func TestService_BankHolidays(t *testing.T) {
	db, clock := storetest.Open(t)
	svc := app.Domains(db)
	ctx := context.Background()
	admin := store.Actor{Name: "admin@traded.example"}
	holiday := func(d string) bool { t.Helper(); return !svc.Catalogue.Holidays().IsWorkingDay(date(d)) }

	t.Run("BeforeLoading_TheEmbeddedList", func(t *testing.T) {
		if !holiday("2023-05-08") || !svc.Catalogue.Holidays().Covers(2027) {
			t.Error("an unloaded database does not follow the embedded list")
		}
	})
	t.Run("Seed_Idempotent", func(t *testing.T) {
		n, err := svc.Catalogue.SeedBankHolidays(ctx)
		if err != nil || n != len(catalogue.ShippedBankHolidays()) {
			t.Fatalf("seed: got %d, %v; want %d", n, err, len(catalogue.ShippedBankHolidays()))
		}
		if n, err := svc.Catalogue.SeedBankHolidays(ctx); err != nil || n != 0 {
			t.Errorf("seed again: got %d, %v; want 0", n, err)
		}
		y, err := svc.Catalogue.FindBankHolidays(ctx, 2022)
		if err != nil || !y.Covered || len(y.Holidays) != 10 || y.Holidays[0].Source != "govuk" {
			t.Errorf("2022: got %+v, %v; want the list's 10 days", y, err)
		}
	})
	t.Run("ListedYear_RemoveMakesAWorkingDay", func(t *testing.T) {
		if !holiday("2027-05-31") {
			t.Fatal("2027-05-31 is not the spring bank holiday")
		}
		clock.Set(clock.Now().Add(time.Hour))
		if err := svc.Catalogue.RemoveBankHoliday(ctx, admin, "2027-05-31"); err != nil {
			t.Fatal(err)
		}
		if holiday("2027-05-31") {
			t.Error("removed 2027-05-31 is still a bank holiday")
		}
		// Neither loading the list again nor the rules bring it back.
		if _, err := svc.Catalogue.SeedBankHolidays(ctx); err != nil {
			t.Fatal(err)
		}
		if holiday("2027-05-31") {
			t.Error("loading the list again brought back 2027-05-31")
		}
		y, _ := svc.Catalogue.FindBankHolidays(ctx, 2027)
		if len(y.Holidays) != 7 || len(y.Removed) != 1 || y.Removed[0].RemovedBy != admin.Name {
			t.Errorf("2027: got %d in force, removed %+v; want 7 and 2027-05-31 removed by %s", len(y.Holidays), y.Removed, admin.Name)
		}
		err := svc.Catalogue.RemoveBankHoliday(ctx, admin, "2027-05-31")
		wantErrCode(t, "remove again", err, traded.ENOTFOUND)
	})
	t.Run("ListedYear_AddOneOff", func(t *testing.T) {
		if _, err := svc.Catalogue.AddBankHoliday(ctx, admin, catalogue.BankHolidayInput{Date: "2027-06-04", Name: "Proclaimed bank holiday"}); err != nil {
			t.Fatal(err)
		}
		if !holiday("2027-06-04") {
			t.Error("added 2027-06-04 is a working day")
		}
		// Re-adding a removed day restores it.
		if _, err := svc.Catalogue.AddBankHoliday(ctx, admin, catalogue.BankHolidayInput{Date: "2027-05-31", Name: "Spring bank holiday"}); err != nil {
			t.Fatal(err)
		}
		if !holiday("2027-05-31") {
			t.Error("re-added 2027-05-31 is a working day")
		}
	})
	t.Run("Refusals", func(t *testing.T) {
		for _, tt := range []struct {
			in    catalogue.BankHolidayInput
			code  string
			field string
		}{
			{catalogue.BankHolidayInput{Date: "2027-06-04", Name: "Again"}, traded.ECONFLICT, "date"},
			{catalogue.BankHolidayInput{Date: "2027-12-27", Name: "Christmas"}, traded.ECONFLICT, "date"},
			{catalogue.BankHolidayInput{Date: "4/6/2027", Name: "X"}, traded.EINVALID, "date"},
			{catalogue.BankHolidayInput{Date: "2027-06-05", Name: "Saturday"}, traded.EINVALID, "date"},
			{catalogue.BankHolidayInput{Date: "2027-06-07", Name: " "}, traded.EINVALID, "name"},
		} {
			_, err := svc.Catalogue.AddBankHoliday(ctx, admin, tt.in)
			if traded.ErrorCode(err) != tt.code || traded.ErrorField(err) != tt.field {
				t.Errorf("add %+v: got %v (field %q), want %s on %q", tt.in, err, traded.ErrorField(err), tt.code, tt.field)
			}
		}
		wantErrCode(t, "remove a working day", svc.Catalogue.RemoveBankHoliday(ctx, admin, "2027-06-07"), traded.ENOTFOUND)
		wantErrCode(t, "remove a bad date", svc.Catalogue.RemoveBankHoliday(ctx, admin, "June"), traded.EINVALID)
	})
	t.Run("BeyondTheList_TheRules", func(t *testing.T) {
		if svc.Catalogue.Holidays().Covers(2030) {
			t.Fatal("the list covers 2030")
		}
		want := catalogue.RuleBankHolidays(2030)
		if got := svc.Catalogue.Holidays().InYear(2030); fmt.Sprint(keys(got)) != fmt.Sprint(keys(want)) {
			t.Errorf("2030: got %v, want the rules' %v", keys(got), keys(want))
		}
		if err := svc.Catalogue.RemoveBankHoliday(ctx, admin, "2030-05-27"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Catalogue.AddBankHoliday(ctx, admin, catalogue.BankHolidayInput{Date: "2030-06-03", Name: "Spring bank holiday (moved)"}); err != nil {
			t.Fatal(err)
		}
		if holiday("2030-05-27") || !holiday("2030-06-03") || !holiday("2030-08-26") {
			t.Errorf("2030: got %v, want the rules with 27 May moved to 3 June", keys(svc.Catalogue.Holidays().InYear(2030)))
		}
		y, _ := svc.Catalogue.FindBankHolidays(ctx, 2030)
		if y.Covered || len(y.Holidays) != 8 || y.Holidays[0].Source != "rules" {
			t.Errorf("2030: got %+v, want 8 days from the rules and admins", y)
		}
	})
	t.Run("Audited", func(t *testing.T) {
		entries, err := db.FindAudit(ctx, store.AuditFilter{Action: "bank_holiday"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Action+" "+e.EntityID)
		}
		sort.Strings(got)
		want := []string{"bank_holiday.add 2027-05-31", "bank_holiday.add 2027-06-04", "bank_holiday.add 2030-06-03",
			"bank_holiday.remove 2027-05-31", "bank_holiday.remove 2030-05-27", "bank_holidays.load "}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("audit: got %q, want %q", got, want)
		}
	})
	t.Run("AnotherProcessSees", func(t *testing.T) {
		// A second service on the same database (as `traded bank-holidays`
		// beside the server) sees the admins' changes.
		other := app.Domains(db).Catalogue
		if other.Holidays().IsWorkingDay(date("2027-06-04")) {
			t.Error("a second service does not see 2027-06-04")
		}
	})
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func wantErrCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := traded.ErrorCode(err); got != code {
		t.Errorf("%s: got error %v (code %q), want code %q", what, err, got, code)
	}
}
