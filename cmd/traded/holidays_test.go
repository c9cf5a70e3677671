package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"traded"
	"traded/catalogue"
)

// TestCLI_BankHolidays: opening a database loads the shipped list into the
// table, once; add and remove change it as the admin page does.
func TestCLI_BankHolidays(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "traded.db")
	for i := 0; i < 2; i++ {
		if _, _, err := runCLI(t, "migrate", "--db", path); err != nil {
			t.Fatalf("migrate: %v", err)
		}
	}
	db, svc := openTestDB(t, path)
	var rows, loads int
	if err := db.Read().QueryRowContext(ctx, `SELECT count(*) FROM bank_holidays WHERE source = 'govuk'`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if err := db.Read().QueryRowContext(ctx, `SELECT count(*) FROM audit_log WHERE action = 'bank_holidays.load'`).Scan(&loads); err != nil {
		t.Fatal(err)
	}
	if want := len(catalogue.ShippedBankHolidays()); rows != want || loads != 1 {
		t.Errorf("after two starts: %d rows loaded in %d loads, want %d in 1", rows, loads, want)
	}

	if out, _, err := runCLI(t, "bank-holidays", "add", "--db", path, "--date", "2027-06-04", "--name", "Proclaimed bank holiday"); err != nil || out != "2027-06-04 (Proclaimed bank holiday) is a bank holiday\n" {
		t.Errorf("add: %q, %v", out, err)
	}
	if _, _, err := runCLI(t, "bank-holidays", "add", "--db", path, "--date", "2027-06-04", "--name", "Again"); traded.ErrorCode(err) != traded.ECONFLICT {
		t.Errorf("add again: %v, want conflict", err)
	}
	if _, _, err := runCLI(t, "bank-holidays", "remove", "--db", path, "--date", "2027-05-31"); err != nil {
		t.Errorf("remove: %v", err)
	}
	out, _, err := runCLI(t, "bank-holidays", "list", "--db", path, "--year", "2027")
	if err != nil || !strings.Contains(out, "2027-06-04  Friday     Proclaimed bank holiday  [admin]") ||
		!strings.Contains(out, "2027-05-31  removed by cli: Spring bank holiday") {
		t.Errorf("list: %v\n%s", err, out)
	}
	if h := svc.Catalogue.Holidays(); h.IsWorkingDay(date2027(6, 4)) || !h.IsWorkingDay(date2027(5, 31)) {
		t.Error("the server's service does not see the command's changes")
	}
}

func date2027(m, d int) time.Time { return time.Date(2027, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
