package icstest

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"traded/calendar"
)

// The names Parse gives each parser's reading.
const (
	ICALJS = "ical.js"
	Python = "python3-icalendar"
)

// Calendar is what tests/ics/check.mjs (ical.js) and check.py
// (python3-icalendar) print for one .ics file.
type Calendar struct {
	Parser    string   `json:"parser"`
	Method    string   `json:"method"`
	Timezones []string `json:"timezones"`
	Events    []Event  `json:"events"`
	Errors    []string `json:"errors"`
}

// Event is one VEVENT as a parser read it.
type Event struct {
	UID        string   `json:"uid"`
	Sequence   *int     `json:"sequence"`
	Status     string   `json:"status"`
	Summary    string   `json:"summary"`
	StartUTC   string   `json:"dtstart_utc"`
	EndUTC     string   `json:"dtend_utc"`
	StartZone  string   `json:"dtstart_zone"`      // ical.js: the zone the start resolved to ("floating" if none)
	StartOlson string   `json:"dtstart_utc_olson"` // python: the start by the TZID's name alone (pytz)
	TZID       string   `json:"tzid"`
	Organizer  string   `json:"organizer"`
	Attendee   string   `json:"attendee"`
	Attendees  []string `json:"attendees"`
	// the CN parameters, RFC 6868 decoded
	OrganizerName *string   `json:"organizer_name"`
	AttendeeNames []*string `json:"attendee_names"`
	Location      string    `json:"location"`
	URL           string    `json:"url"`
	Description   string    `json:"description"`
	Alarms        []string  `json:"alarms"`
}

// parser is a command that takes an .ics path and prints a Calendar.
type parser struct {
	name string
	cmd  func(path string) *exec.Cmd
}

var (
	parsersOnce sync.Once
	parsers     []parser
	parsersErr  string
)

// findParsers locates node with ical.js and Debian's python3-icalendar.
func findParsers(tb testing.TB) []parser {
	tb.Helper()
	parsersOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			parsersErr = err.Error()
			return
		}
		node, err := exec.LookPath("node")
		if err != nil {
			parsersErr = "node is not installed: the .ics checks need it (apt-get install nodejs, then npm ci)"
			return
		}
		if _, err := os.Stat(filepath.Join(root, "node_modules", "ical.js", "package.json")); err != nil {
			parsersErr = "node_modules/ical.js is missing: run npm ci in " + root
			return
		}
		const python = "/usr/bin/python3"
		if out, err := exec.Command(python, "-c", "import icalendar").CombinedOutput(); err != nil {
			parsersErr = "python3-icalendar is missing (apt-get install -y python3-icalendar): " + strings.TrimSpace(string(out))
			return
		}
		mjs, py := filepath.Join(root, "tests", "ics", "check.mjs"), filepath.Join(root, "tests", "ics", "check.py")
		parsers = []parser{
			{ICALJS, func(path string) *exec.Cmd { return exec.Command(node, mjs, path) }},
			{Python, func(path string) *exec.Cmd { return exec.Command(python, py, path) }},
		}
	})
	if parsersErr != "" {
		tb.Fatal(parsersErr)
	}
	return parsers
}

// moduleRoot is the nearest directory above the test's own that holds
// go.mod: where tests/ics and node_modules are.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("icstest: no go.mod above the test's directory")
		}
		dir = up
	}
}

// Parse writes cal to a file and has both parsers read it, at once: their
// readings by parser name (ICALJS, Python).
func Parse(tb testing.TB, cal []byte) map[string]*Calendar {
	tb.Helper()
	ps := findParsers(tb)
	path := filepath.Join(tb.TempDir(), "invite.ics")
	if err := os.WriteFile(path, cal, 0o600); err != nil {
		tb.Fatal(err)
	}
	out := make([]*Calendar, len(ps))
	errs := make([]string, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = run(p, path)
		}()
	}
	wg.Wait()
	res := map[string]*Calendar{}
	for i, p := range ps {
		if errs[i] != "" {
			tb.Fatal(errs[i])
		}
		res[p.name] = out[i]
	}
	return res
}

// run has one parser read the file at path.
func run(p parser, path string) (*Calendar, string) {
	var stderr bytes.Buffer
	cmd := p.cmd(path)
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		return nil, p.name + ": " + err.Error() + ": " + stderr.String()
	}
	var c Calendar
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, p.name + ": output is not JSON: " + err.Error() + ": " + string(raw)
	}
	return &c, ""
}

// CheckFolded checks a generated calendar's lines: CRLF, at most 75 octets,
// whole UTF-8 characters on each, and unfolding then folding again gives
// the same bytes.
func CheckFolded(tb testing.TB, what string, cal []byte) {
	tb.Helper()
	s := string(cal)
	if !strings.HasSuffix(s, "\r\n") {
		tb.Errorf("%s: does not end in CRLF", what)
	}
	if bare := strings.ReplaceAll(s, "\r\n", ""); strings.ContainsAny(bare, "\r\n") {
		tb.Errorf("%s: has a bare LF or CR", what)
	}
	for i, line := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
		if len(line) > 75 {
			tb.Errorf("%s line %d: %d octets, over 75: %q", what, i+1, len(line), line)
		}
		if !utf8.ValidString(line) {
			tb.Errorf("%s line %d: splits a UTF-8 character: %q", what, i+1, line)
		}
	}
	if !bytes.Equal(calendar.Fold(Unfold(cal)), cal) {
		tb.Errorf("%s: folding the unfolded calendar again does not give the same bytes", what)
	}
}

// Unfold undoes RFC 5545 folding: a CRLF followed by one space or tab.
func Unfold(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n "), nil)
	return bytes.ReplaceAll(b, []byte("\r\n\t"), nil)
}
