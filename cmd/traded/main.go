package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"traded"
	"traded/app"
	"traded/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "traded:", userMessage(err))
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// userMessage is what the command line prints for an error: the safe
// message of a traded.Error, or the error itself (the operator may see it).
func userMessage(err error) string {
	if traded.ErrorCode(err) != traded.EINTERNAL {
		return traded.ErrorMessage(err)
	}
	return err.Error()
}

const usage = `usage: traded COMMAND [flags]

commands:
  serve                      serve Traded (--addr, --db, --demo, --dev)
  migrate                    apply database migrations (--db)
  import-schools FILE.csv    create or update organisations from a DfE GIAS CSV
  prices roll-forward        copy a year's price list with an uplift (--from, --to, --uplift)
  prices show                print a year's price list (--year)
  demo                       load the demo data into the database (--db)
  user add                   add a user (--email, --name, --role, --org URN, --password-stdin)
  token create|revoke|list   API bearer tokens (create prints the token once)
  bank-holidays list|add|remove   England and Wales bank holidays (--year; --date, --name)
  backup FILE                a consistent copy of the database, safe while Traded runs
  restore FILE               replace the database with a backup (refused while Traded runs)

Run 'traded COMMAND -h' for a command's flags.`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return flag.ErrHelp
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "migrate":
		return withDB(rest, "migrate", stderr, nil, func(db *store.DB, _ *flag.FlagSet) error {
			fmt.Fprintf(stdout, "database %s is up to date\n", db.Path)
			return nil
		})
	case "import-schools":
		return withDB(rest, "import-schools", stderr, func(fs *flag.FlagSet) {
			fs.String("effective", "", "date a changed tier takes effect (YYYY-MM-DD; default today)")
		},
			func(db *store.DB, fs *flag.FlagSet) error {
				return runImportSchools(ctx, db, flagArgs(fs), stdout, stderr)
			})
	case "prices":
		return runPrices(ctx, rest, stdout, stderr)
	case "demo":
		return runDemo(ctx, rest, stdout, stderr)
	case "user":
		return runUser(ctx, rest, stdin, stdout, stderr)
	case "backup":
		return withDB(rest, "backup", stderr, nil, func(db *store.DB, fs *flag.FlagSet) error {
			if fs.NArg() != 1 {
				return fmt.Errorf("usage: traded backup [--db FILE] BACKUP.db")
			}
			if err := db.Backup(ctx, fs.Arg(0)); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "backed up %s to %s\n", db.Path, fs.Arg(0))
			return nil
		})
	case "restore":
		fs := flag.NewFlagSet("restore", flag.ContinueOnError)
		fs.SetOutput(stderr)
		path := dbFlag(fs)
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return fmt.Errorf("usage: traded restore [--db FILE] BACKUP.db")
		}
		if err := store.Restore(ctx, fs.Arg(0), *path); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "restored %s from %s\n", *path, fs.Arg(0))
		return nil
	case "token":
		return runToken(ctx, rest, stdout, stderr)
	case "bank-holidays":
		return runBankHolidays(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// envBool reads a boolean environment variable ("1", "true", "yes").
func envBool(name string) bool {
	switch strings.ToLower(os.Getenv(name)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// dbFlag adds --db (TRADED_DB) to a flag set.
func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", "./data/traded.db", "SQLite database file, created with its folder if missing (env TRADED_DB)")
}

// openDB opens and migrates the database, on the system clock.
func openDB(ctx context.Context, path string) (*store.DB, error) {
	return openDBWithClock(ctx, path, traded.SystemClock{})
}

// openDBWithClock opens and migrates the database on the given clock, and
// loads what is new in the shipped list of bank holidays (admins' edits
// win; see booking.Service.SeedBankHolidays).
func openDBWithClock(ctx context.Context, path string, clock traded.Clock) (*store.DB, error) {
	db, err := store.Open(path, clock)
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.CheckWritable(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if _, err := app.Domains(db).Catalogue.SeedBankHolidays(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("load bank holidays: %w", err)
	}
	return db, nil
}

// withDB parses a command's flags (--db and any extra added by more), opens
// and migrates the database, and runs fn.
func withDB(args []string, name string, stderr io.Writer, more func(*flag.FlagSet), fn func(*store.DB, *flag.FlagSet) error) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := dbFlag(fs)
	if more != nil {
		more(fs)
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	db, err := openDB(context.Background(), *path)
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(db, fs)
}

// flagArgs rebuilds the command line of a parsed flag set without --db, for
// subcommands that parse their own flags.
func flagArgs(fs *flag.FlagSet) []string {
	var out []string
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "db" {
			out = append(out, "--"+f.Name+"="+f.Value.String())
		}
	})
	return append(out, fs.Args()...)
}

func newLogger(w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if envBool("TRADED_DEBUG") {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}
