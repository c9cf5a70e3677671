package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"traded"
	"traded/app"
	"traded/catalogue"
	"traded/store"
)

// runBankHolidays handles `traded bank-holidays list|add|remove`: the same
// changes as the admin page, audited as "cli". A running server sees them
// within a second.
func runBankHolidays(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := fmt.Errorf("usage: traded bank-holidays list [--year YYYY] | add --date YYYY-MM-DD --name NAME | remove --date YYYY-MM-DD")
	if len(args) == 0 {
		return usage
	}
	switch args[0] {
	case "list":
		var year *int
		return withDB(args[1:], "bank-holidays list", stderr, func(fs *flag.FlagSet) {
			year = fs.Int("year", time.Now().In(traded.London).Year(), "calendar year")
		}, func(db *store.DB, _ *flag.FlagSet) error {
			y, err := app.Domains(db).Catalogue.FindBankHolidays(ctx, *year)
			if err != nil {
				return err
			}
			from := "the GOV.UK list"
			if !y.Covered {
				from = "the rules (beyond the GOV.UK list)"
			}
			fmt.Fprintf(stdout, "bank holidays in England and Wales, %d, from %s:\n", *year, from)
			for _, b := range y.Holidays {
				fmt.Fprintf(stdout, "%s  %-9s  %s  [%s]\n", b.Date.Format(store.DateFormat), b.Date.Weekday(), b.Name, b.Source)
			}
			for _, b := range y.Removed {
				fmt.Fprintf(stdout, "%s  removed by %s: %s\n", b.Date.Format(store.DateFormat), b.RemovedBy, b.Name)
			}
			return nil
		})
	case "add":
		var date, name *string
		return withDB(args[1:], "bank-holidays add", stderr, func(fs *flag.FlagSet) {
			date = fs.String("date", "", "the day, YYYY-MM-DD (required)")
			name = fs.String("name", "", "its name (required)")
		}, func(db *store.DB, _ *flag.FlagSet) error {
			b, err := app.Domains(db).Catalogue.AddBankHoliday(ctx, cli, catalogue.BankHolidayInput{Date: *date, Name: *name})
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s (%s) is a bank holiday\n", b.Date.Format(store.DateFormat), b.Name)
			return nil
		})
	case "remove":
		var date *string
		return withDB(args[1:], "bank-holidays remove", stderr, func(fs *flag.FlagSet) {
			date = fs.String("date", "", "the day, YYYY-MM-DD (required)")
		}, func(db *store.DB, _ *flag.FlagSet) error {
			if err := app.Domains(db).Catalogue.RemoveBankHoliday(ctx, cli, *date); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s is a working day\n", *date)
			return nil
		})
	}
	return usage
}
