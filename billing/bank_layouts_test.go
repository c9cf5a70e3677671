package billing_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"traded"
	"traded/billing"
)

// TestBank_Layouts imports the committed sample of each UK business bank's
// CSV layout (testdata/banks): each pays invoice TS-000001 and has one
// direct debit, dated 3 and 4 November 2026 day first.
func TestBank_Layouts(t *testing.T) {
	for file, bank := range map[string]string{"lloyds.csv": "Lloyds", "natwest.csv": "NatWest", "barclays.csv": "Barclays",
		"hsbc.csv": "HSBC", "hsbcnet.csv": "HSBC", "santander.csv": "Santander"} {
		t.Run(bank+"_"+file, func(t *testing.T) {
			r := newRecon(t, academy(200001, "Oak Academy"))
			r.on("2026-11-01")
			number := r.subscribe(200001)
			if number != "TS-000001" || r.find(number).Total != pounds("395") {
				t.Fatalf("setup: %s for %s", number, r.find(number).Total)
			}
			r.on("2026-11-20")
			imp := r.importFile(filepath.Join("banks", file))
			if imp.Layout != bank || imp.DateOrder != billing.DayFirst {
				t.Errorf("layout %q date order %q, want %s, day first", imp.Layout, imp.DateOrder, bank)
			}
			if len(imp.Lines) != 2 || imp.Matched != 1 || imp.Ignored != 1 {
				t.Fatalf("lines %+v", imp.Lines)
			}
			paid, out := imp.Lines[0], imp.Lines[1]
			if paid.Date != "2026-11-03" || paid.Amount != pounds("395") || paid.InvoiceNumber != number || !strings.Contains(paid.Description, "OAK ACADEMY") {
				t.Errorf("payment line %+v", paid)
			}
			if out.Date != "2026-11-04" || out.Amount != -pounds("1250") {
				t.Errorf("direct debit line %+v", out)
			}
			r.wantState(number, 0, billing.StatusPaid)
		})
	}
}

// TestBank_DateOrder: a file in no bank's layout whose slashed dates could
// be either way round is refused with a question; said, it is read that
// way; a day or month past 12 settles it.
func TestBank_DateOrder(t *testing.T) {
	r := newRecon(t, academy(200001, "Oak Academy"))
	r.on("2026-11-20")
	ambiguous := "Date,Description,Amount\n03/11/2026,SOMEONE,10.00\n04/11/2026,SOMEONE ELSE,11.00\n"
	_, err := r.svc.ImportBankStatement(r.ctx, r.actor, "a.csv", strings.NewReader(ambiguous))
	wantCode(t, err, traded.EINVALID)
	if e, ok := err.(*traded.Error); !ok || e.Field != "date_order" || !strings.Contains(e.Message, "3 November 2026 or the 11 March 2026") {
		t.Errorf("the question: %v", err)
	}
	if n := r.count(`SELECT count(*) FROM bank_statements`); n != 0 {
		t.Fatalf("a refused file wrote %d statements", n)
	}
	for order, want := range map[string]string{billing.DayFirst: "2026-11-03", billing.MonthFirst: "2026-03-11"} {
		imp, err := r.svc.ImportBankStatementWith(r.ctx, r.actor, order+".csv", strings.NewReader(strings.ReplaceAll(ambiguous, "SOMEONE", order)),
			billing.BankImportOptions{DateOrder: order})
		if err != nil {
			t.Fatal(err)
		}
		if imp.Lines[0].Date != want {
			t.Errorf("%s: %s, want %s", order, imp.Lines[0].Date, want)
		}
	}
	for file, want := range map[string]string{
		"Date,Description,Amount\n03/11/2026,A,1.00\n13/11/2026,B,1.00\n": "2026-11-03", // 13 is a day
		"Date,Description,Amount\n11/03/2026,C,1.00\n11/13/2026,D,1.00\n": "2026-11-03", // 13 is a day, second: month first
	} {
		imp, err := r.svc.ImportBankStatement(r.ctx, r.actor, "p.csv", strings.NewReader(file))
		if err != nil {
			t.Fatalf("%q: %v", file, err)
		}
		if imp.Lines[0].Date != want {
			t.Errorf("%q: first date %s, want %s", file, imp.Lines[0].Date, want)
		}
	}
	_, err = r.svc.ImportBankStatement(r.ctx, r.actor, "mixed.csv", strings.NewReader("Date,Description,Amount\n13/11/2026,E,1.00\n11/13/2026,F,1.00\n"))
	wantCode(t, err, traded.EINVALID)
	if _, err := os.Stat(filepath.Join("testdata", "banks", "README.md")); err != nil {
		t.Error("testdata/banks has no README saying where the samples come from")
	}
}
