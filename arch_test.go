package traded_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
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
