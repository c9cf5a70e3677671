package traded_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// houseRules are the imports the house forbids (README, "A tour of the
// code"): for each package (its directory), the import paths, or path
// prefixes ending in "/", that its non-test files may not use. "traded/"
// forbids every package of ours.
var houseRules = map[string][]string{
	"pricing": {"traded/", "github.com/gofiber/"},
	"jobs":    {"traded/", "github.com/gofiber/"},
	"store": {"traded/app", "traded/billing", "traded/booking", "traded/consultancy", "traded/organisation", "traded/account", "traded/catalogue",
		"traded/calendar", "traded/mail", "traded/notify", "traded/pricing", "traded/web", "github.com/gofiber/"},
	// The domains below booking import nothing above them.
	"organisation": {"traded/account", "traded/catalogue", "traded/mail", "traded/booking", "traded/consultancy", "traded/billing", "traded/notify", "traded/app", "traded/web", "traded/demo", "github.com/gofiber/"},
	"account":      {"traded/catalogue", "traded/booking", "traded/consultancy", "traded/billing", "traded/notify", "traded/app", "traded/web", "traded/demo", "github.com/gofiber/"},
	"catalogue":    {"traded/organisation", "traded/account", "traded/mail", "traded/booking", "traded/consultancy", "traded/billing", "traded/notify", "traded/app", "traded/web", "traded/demo", "github.com/gofiber/"},
	"booking":      {"traded/consultancy", "traded/billing", "traded/notify", "traded/app", "traded/web", "traded/demo", "github.com/gofiber/"},
	"consultancy":  {"traded/booking", "traded/billing", "traded/notify", "traded/app", "traded/web", "traded/demo", "github.com/gofiber/"},
	"billing":      {"traded/notify", "traded/app", "traded/web", "traded/demo", "github.com/gofiber/"},
	"notify":       {"traded/billing", "traded/app", "traded/web", "github.com/gofiber/"},
	"mail":         {"traded/app", "traded/billing", "traded/booking", "traded/consultancy", "traded/notify", "traded/web", "github.com/gofiber/"},
	"app":          {"traded/web", "github.com/gofiber/"},
	"demo":         {"traded/web", "traded/app", "github.com/gofiber/"},
	"internal":     {"traded/app", "traded/billing", "traded/booking", "traded/consultancy", "traded/web", "github.com/gofiber/"},
	// calendar writes iCalendar for whoever fills its events: go-ical, the
	// standard library and the root package only. Its test helper reads
	// the output back, so it may use calendar itself.
	"calendar": {"traded/", "github.com/gofiber/"},
	"calendar/icstest": {"traded/app", "traded/billing", "traded/booking", "traded/consultancy", "traded/demo", "traded/jobs", "traded/mail", "traded/notify",
		"traded/pricing", "traded/store", "traded/web", "traded/internal/", "github.com/gofiber/"},
}

// TestHouse_Imports fails when a package imports what the house forbids:
// a domain package importing Fiber or the web layer, pricing or jobs
// importing anything of ours, booking or consultancy importing what it
// declares interfaces for. Only cmd imports web.
func TestHouse_Imports(t *testing.T) {
	imports := map[string]map[string]bool{} // directory -> import paths
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (path == "node_modules" || path == "tests" || strings.HasPrefix(d.Name(), ".")) && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		if imports[dir] == nil {
			imports[dir] = map[string]bool{}
		}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			imports[dir][p] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, must := range []string{"pricing", "organisation", "account", "catalogue", "calendar", "booking", "consultancy", "billing", "web", "app", "jobs", "cmd/traded"} {
		if imports[must] == nil {
			t.Fatalf("no Go files found in %s: is the test run from the module root?", must)
		}
	}
	for dir, ims := range imports {
		top, _, _ := strings.Cut(dir, "/")
		rules := houseRules[dir]
		if rules == nil {
			rules = houseRules[top]
		}
		for im := range ims {
			for _, bad := range rules {
				if im == bad || (strings.HasSuffix(bad, "/") && strings.HasPrefix(im, bad)) {
					if bad == "traded/" && dir == "internal/gofpdf" {
						continue
					}
					t.Errorf("%s imports %s, which the house forbids (README, A tour of the code)", dir, im)
				}
			}
			if im == "traded/web" && top != "cmd" {
				t.Errorf("%s imports traded/web: only cmd may", dir)
			}
		}
	}
}

// tableOwners is which package owns each table: only its SQL writes it
// (each package's doc.go names its tables). store owns its own machinery
// and the numbering every domain takes from (store.Tx.NextNumber).
var tableOwners = map[string][]string{
	"organisation": {"organisations", "organisation_tiers"},
	"account":      {"users", "link_tokens", "api_tokens", "web_sessions"},
	"catalogue":    {"products", "price_lists", "prices", "courses", "sessions", "term_dates", "bank_holidays", "bank_holiday_years"},
	"booking":      {"bookings", "delegates", "booking_charges", "calendar_feeds", "session_reminders"},
	"consultancy":  {"consultancy_services", "consultancy_requests", "consultancy_visits", "adviser_availability"},
	"billing": {"invoices", "invoice_lines", "credit_notes", "credit_note_lines", "payments", "allocations", "refunds",
		"card_checkouts", "stripe_events", "bank_statements", "bank_lines", "journal_batches", "journal_batch_invoices",
		"ledger_settings", "invoice_reminders", "invoices_not_mailed", "subscriptions", "invoiced_charges", "invoiced_visits"},
	"mail":  {"outbox"},
	"store": {"audit_log", "schema_migrations", "store_health", "number_series"},
	"web":   {"web_secrets"},
}

// crossWrites are the writes to another package's table still to move,
// "package table": a reason each. None is left (issue 17 moved the last,
// billing's invoice links, into billing's own tables).
var crossWrites = map[string]string{}

// crossReads are read-only joins of another package's table, "package
// table", each to be added here on purpose with its reason. None is left:
// a list that names another domain's things asks that domain once for the
// whole list (organisation.FindByIDs, account.FindUsersByIDs, ...).
var crossReads = map[string]bool{}

var (
	sqlWrite = regexp.MustCompile(`\b(?:INSERT (?:OR \w+ )?INTO|UPDATE|DELETE FROM|REPLACE INTO)\s+([a-z_]+)`)
	sqlRead  = regexp.MustCompile(`\b(?:FROM|JOIN)\s+([a-z_]+)`)
)

// TestHouse_TablesHaveOneOwner fails when a package's SQL writes a table
// another package owns (but for the moves listed in crossWrites), reads one
// it has not declared in crossReads, or names a table no package owns.
func TestHouse_TablesHaveOneOwner(t *testing.T) {
	owner := map[string]string{}
	for pkg, tables := range tableOwners {
		for _, tb := range tables {
			owner[tb] = pkg
		}
	}
	seen := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (path == "node_modules" || path == "tests" || path == "internal" || strings.HasPrefix(d.Name(), ".")) && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		pkg, _, _ := strings.Cut(filepath.ToSlash(path), "/")
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range sqlWrite.FindAllSubmatch(b, -1) {
			tb := string(m[1])
			if o, ok := owner[tb]; ok && o != pkg && crossWrites[pkg+" "+tb] == "" {
				t.Errorf("%s writes %s, which %s owns: call %s instead", path, tb, o, o)
			}
			seen[pkg+" write "+tb] = true
		}
		for _, m := range sqlRead.FindAllSubmatch(b, -1) {
			tb := string(m[1])
			if o, ok := owner[tb]; ok && o != pkg {
				if !crossReads[pkg+" "+tb] {
					t.Errorf("%s reads %s, which %s owns: call %s, or declare the join in crossReads", path, tb, o, o)
				}
				seen[pkg+" "+tb] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The lists shrink as the moves land: an entry nothing needs fails too.
	for k := range crossWrites {
		pkg, tb, _ := strings.Cut(k, " ")
		if !seen[pkg+" write "+tb] {
			t.Errorf("crossWrites lists %q, which no longer happens: remove it", k)
		}
	}
	for k := range crossReads {
		if !seen[k] {
			t.Errorf("crossReads lists %q, which no longer happens: remove it", k)
		}
	}
	// Every table the migrations create has an owner (but for the copies
	// that a migration renames to the table it rebuilds).
	migs, err := filepath.Glob("migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	create := regexp.MustCompile(`CREATE TABLE (?:IF NOT EXISTS )?([a-z_0-9]+)`)
	rename := regexp.MustCompile(`ALTER TABLE ([a-z_0-9]+) RENAME TO`)
	for _, m := range migs {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		renamed := map[string]bool{}
		for _, r := range rename.FindAllSubmatch(b, -1) {
			renamed[string(r[1])] = true
		}
		for _, c := range create.FindAllSubmatch(b, -1) {
			if tb := string(c[1]); owner[tb] == "" && !renamed[tb] {
				t.Errorf("%s creates %s, which no package owns: add it to tableOwners", m, tb)
			}
		}
	}
}

// TestHouse_DocGo fails when a package of ours has no doc.go: each says
// what the package owns and what it may import (internal/gofpdf is a copy
// of upstream, with upstream's layout).
func TestHouse_DocGo(t *testing.T) {
	dirs := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (path == "node_modules" || path == "tests" || path == "internal/gofpdf" || strings.HasPrefix(d.Name(), ".")) && path != "." {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			dirs[filepath.Dir(path)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "doc.go"))
		if err != nil {
			t.Errorf("%s has no doc.go saying what it owns and what it may import", dir)
			continue
		}
		if !strings.Contains(string(b), "// Package ") && !strings.Contains(string(b), "// Command ") {
			t.Errorf("%s/doc.go has no package comment", dir)
		}
	}
}
