package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"traded"
	"traded/organisation"
	"traded/store"
)

// runImportSchools is the import-schools subcommand: it loads a GIAS
// all-establishments CSV into db, reports progress on stderr and the outcome
// on stdout. It fails (so the exit status is non-zero) when any row was
// rejected, though the good rows are imported all the same.
func runImportSchools(ctx context.Context, db *store.DB, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import-schools", flag.ContinueOnError)
	fs.SetOutput(stderr)
	effective := fs.String("effective", "", "date (YYYY-MM-DD) from which tier changes take effect; default today")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: traded import-schools [--effective YYYY-MM-DD] FILE.csv")
		fmt.Fprintln(fs.Output(), "Loads the DfE GIAS all-establishments CSV (edubasealldata*.csv).")
		fs.PrintDefaults()
	}
	// flag stops at the first positional argument; parse again after it so
	// "import-schools FILE --effective DATE" works too.
	var files []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(files) != 1 {
		fs.Usage()
		return errors.New("import-schools: give exactly one CSV file")
	}

	f, err := os.Open(files[0])
	if err != nil {
		return fmt.Errorf("import-schools: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("import-schools: %w", err)
	}

	report, err := organisation.New(db).ImportSchools(ctx, f, fi.Size(), organisation.ImportOptions{
		EffectiveFrom: *effective,
		Progress:      stderr,
		Actor:         store.Actor{Name: "cli"},
	})
	if report != nil {
		fmt.Fprintln(stdout, report)
	}
	if code := traded.ErrorCode(err); code != "" && code != traded.EINTERNAL {
		// A person reads this: give them the message, not the code.
		return fmt.Errorf("import-schools %s: %s", files[0], traded.ErrorMessage(err))
	} else if err != nil {
		return fmt.Errorf("import-schools %s: %w", files[0], err)
	}
	if n := len(report.Rejected); n > 0 {
		return fmt.Errorf("import-schools %s: %d rows rejected; the others were imported", files[0], n)
	}
	return nil
}
