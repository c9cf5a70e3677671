package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"traded"
	"traded/app"
	"traded/billing"
	"traded/booking"
	"traded/demo"
	"traded/pricing"
	"traded/store"
)

func runPrices(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: traded prices roll-forward --from 2021/22 --to 2022/23 --uplift 3.5%% | traded prices show --year 2021/22")
	}
	switch args[0] {
	case "roll-forward":
		var from, to, uplift *string
		var newVersion *bool
		return withDB(args[1:], "prices roll-forward", stderr, func(fs *flag.FlagSet) {
			from = fs.String("from", "", "academic year to copy, such as 2021/22")
			to = fs.String("to", "", "academic year to create, such as 2022/23")
			uplift = fs.String("uplift", "0%", "percentage rise, such as 3.5% (two decimal places at most; negative for a cut)")
			newVersion = fs.Bool("new-version", false, "if the target year already has a list, add a new version of it")
		}, func(db *store.DB, fs *flag.FlagSet) error {
			fy, err := pricing.ParseAcademicYear(*from)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			ty, err := pricing.ParseAcademicYear(*to)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			u, err := pricing.ParseUplift(*uplift)
			if err != nil {
				return fmt.Errorf("--uplift: %w", err)
			}
			svc := app.Domains(db).Booking
			info, err := svc.Catalogue.RollForward(ctx, store.Actor{Name: "cli"}, fy, ty, u, *newVersion)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "created the %s price list, version %d: %s\n", info.Year, info.Version, info.Note)
			return printPriceList(ctx, svc, ty, stdout)
		})
	case "show":
		var year *string
		return withDB(args[1:], "prices show", stderr, func(fs *flag.FlagSet) {
			year = fs.String("year", "", "academic year, such as 2021/22 (default: the current one)")
		}, func(db *store.DB, fs *flag.FlagSet) error {
			y := pricing.AcademicYearOf(db.Now(), traded.London)
			if *year != "" {
				var err error
				if y, err = pricing.ParseAcademicYear(*year); err != nil {
					return fmt.Errorf("--year: %w", err)
				}
			}
			return printPriceList(ctx, app.Domains(db).Booking, y, stdout)
		})
	}
	return fmt.Errorf("unknown prices command %q (roll-forward, show)", args[0])
}

func printPriceList(ctx context.Context, svc *booking.Service, year pricing.AcademicYear, w io.Writer) error {
	pl, err := svc.Catalogue.PriceList(ctx, year)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "product\ttier\trate\tprice\t\n")
	for _, k := range pl.Keys() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", k.Product, k.Tier, k.Rate, pl.Prices[k])
	}
	fmt.Fprintf(w, "%s price list, version %d\n", pl.Year, pl.Version)
	return tw.Flush()
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return withDB(args, "demo", stderr, nil, func(db *store.DB, _ *flag.FlagSet) error {
		if err := demo.Load(ctx, app.Domains(db).Booking, billing.DefaultConfig()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "demo data loaded into %s\n", db.Path)
		return nil
	})
}
