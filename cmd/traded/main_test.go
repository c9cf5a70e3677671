package main

import (
	"bytes"
	"context"
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"traded"
	"traded/store"
)

func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestCLI(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sub", "traded.db")

	if out, _, err := runCLI(t, "migrate", "--db", db); err != nil || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: %q, %v", out, err)
	}
	out, _, err := runCLI(t, "prices", "roll-forward", "--db", db, "--from", "2021/22", "--to", "2022/23", "--uplift", "3.5%")
	if err != nil {
		t.Fatalf("roll-forward: %v", err)
	}
	for _, want := range []string{"2022/23 price list, version 1", "£326.03", "£56.93"} {
		if !strings.Contains(out, want) {
			t.Errorf("roll-forward output lacks %q:\n%s", want, out)
		}
	}
	if _, _, err := runCLI(t, "prices", "roll-forward", "--db", db, "--from", "2021/22", "--to", "2022/23", "--uplift", "3.5%"); err == nil || !strings.Contains(userMessage(err), "already has a price list") {
		t.Errorf("second roll-forward: %v, want a refusal", err)
	}
	for _, bad := range [][]string{
		{"--from", "2021/22", "--to", "2022/23", "--uplift", "lots"},
		{"--from", "2021", "--to", "2022/23"},
		{"--from", "2015/16", "--to", "2016/17"},
	} {
		if _, _, err := runCLI(t, append([]string{"prices", "roll-forward", "--db", db}, bad...)...); err == nil {
			t.Errorf("roll-forward %v succeeded", bad)
		}
	}
	if out, _, err := runCLI(t, "prices", "show", "--db", db, "--year", "2021/22"); err != nil || !strings.Contains(out, "£315.00") {
		t.Errorf("show: %v\n%s", err, out)
	}

	// GIAS import: the sample has rejected rows, so the command fails after
	// importing the good ones; a second run reports everything unchanged.
	sample := filepath.Join("..", "..", "organisation", "testdata", "gias_sample.csv")
	out, _, err = runCLI(t, "import-schools", "--db", db, sample)
	if err == nil || !strings.Contains(out, "created 8") || !strings.Contains(out, "line 9") {
		t.Errorf("import: %v\n%s", err, out)
	}
	out, _, _ = runCLI(t, "import-schools", "--db", db, "--effective", "2026-12-01", sample)
	if !strings.Contains(out, "created 0, updated 0, unchanged 8") {
		t.Errorf("re-import:\n%s", out)
	}
	if _, _, err := runCLI(t, "import-schools", "--db", db, "no-such-file.csv"); err == nil {
		t.Error("import of a missing file succeeded")
	}
	if _, _, err := runCLI(t, "demo", "--db", db); err != nil {
		t.Errorf("demo: %v", err)
	}
	if _, _, err := runCLI(t, "frobnicate"); err == nil {
		t.Error("unknown command succeeded")
	}
}

func TestCLI_BackupRestore(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "traded.db")
	if _, _, err := runCLI(t, "migrate", "--db", db); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "backup.db")
	if out, _, err := runCLI(t, "backup", "--db", db, backup); err != nil || !strings.Contains(out, "backed up") {
		t.Fatalf("backup: %q %v", out, err)
	}
	if _, _, err := runCLI(t, "backup", "--db", db, backup); err == nil {
		t.Error("backup over an existing file succeeded")
	}
	restored := filepath.Join(dir, "restored.db")
	if out, _, err := runCLI(t, "restore", "--db", restored, backup); err != nil || !strings.Contains(out, "restored") {
		t.Fatalf("restore: %q %v", out, err)
	}
	lock, err := store.AcquireLock(restored)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	if _, _, err := runCLI(t, "restore", "--db", restored, backup); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("restore over a running database: %v, want a refusal", err)
	}
}

// TestCLI_DemoClock checks serve refuses a moved clock on live data and an
// unreadable instant, before it opens anything.
func TestCLI_DemoClock(t *testing.T) {
	db := filepath.Join(t.TempDir(), "traded.db")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--demo-clock", "2027-01-13T08:00:00Z"}, "needs --demo"},
		{[]string{"--demo", "--demo-clock", "13/01/2027"}, "not an RFC 3339 instant"},
	} {
		_, _, err := runCLI(t, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve %v: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}

func TestOffsetClock(t *testing.T) {
	start := time.Date(2027, 1, 13, 8, 0, 0, 0, time.UTC)
	now := traded.NewOffsetClock(start).Now()
	if d := now.Sub(start); d < 0 || d > time.Minute {
		t.Errorf("the clock started at %s reads %s", start, now)
	}
}

// TestOpen_RefusesUnwritableDatabase: a database that opens but cannot be
// written stops every command at start with a message saying so, rather
// than a server that answers healthy and fails at the first booking.
func TestOpen_RefusesUnwritableDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traded.db")
	db, err := openDB(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Write(context.Background(), func(tx *store.Tx) error {
		_, err := tx.ExecContext(context.Background(), `CREATE TRIGGER health_readonly BEFORE UPDATE ON store_health
			BEGIN SELECT RAISE(ABORT, 'attempt to write a readonly database'); END`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, stderr, err := runCLI(t, "serve", "--db", path, "--addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error()+stderr, "cannot be written") {
		t.Errorf("serve on an unwritable database: %v %q", err, stderr)
	}
}

// TestConfig_Strict: a malformed environment value stops start-up with a
// message naming the variable; so does an out-of-range one; the command
// line wins over the environment; yes/no words work for booleans.
func TestConfig_Strict(t *testing.T) {
	db := filepath.Join(t.TempDir(), "traded.db")
	for _, tc := range []struct{ env, value, want string }{
		{"TRADED_OFFER_HOLD", "abc", `TRADED_OFFER_HOLD="abc" is not a valid --offer-hold`},
		{"TRADED_OFFER_HOLD", "0s", "--offer-hold (TRADED_OFFER_HOLD) must be more than 0"},
		{"TRADED_SMTP_PORT", "twenty-five", `TRADED_SMTP_PORT="twenty-five" is not a valid --smtp-port`},
		{"TRADED_SMTP_PORT", "70000", "--smtp-port (TRADED_SMTP_PORT) must be between 1 and 65535"},
		{"TRADED_CANCEL_WORKING_DAYS", "ten", `TRADED_CANCEL_WORKING_DAYS="ten" is not a valid --cancel-working-days`},
		{"TRADED_DEMO", "maybe", `TRADED_DEMO="maybe" is not a valid --demo`},
		{"TRADED_PAYMENT_TERMS_DAYS", "30d", `TRADED_PAYMENT_TERMS_DAYS="30d" is not a valid --payment-terms`},
	} {
		t.Run(tc.env+"="+tc.value, func(t *testing.T) {
			t.Setenv(tc.env, tc.value)
			_, _, err := runCLI(t, "serve", "--addr", "127.0.0.1:0", "--db", db)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("serve with %s=%q: %v, want %q", tc.env, tc.value, err, tc.want)
			}
		})
	}
	t.Run("CommandLineWins", func(t *testing.T) {
		t.Setenv("TRADED_OFFER_HOLD", "abc") // refused before the command line is read
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		hold := fs.Duration("offer-hold", time.Hour, "")
		demo := fs.Bool("demo", false, "")
		if err := parseFlags(fs, []string{"--offer-hold", "2h"}); err == nil {
			t.Errorf("a bad variable is refused even when the flag is given: got no error")
		}
		t.Setenv("TRADED_OFFER_HOLD", "30m")
		t.Setenv("TRADED_DEMO", "yes")
		if err := parseFlags(fs, []string{"--offer-hold", "2h"}); err != nil || *hold != 2*time.Hour || !*demo {
			t.Errorf("env 30m, flag 2h, TRADED_DEMO=yes: %v, hold %s, demo %t", err, *hold, *demo)
		}
	})
}
