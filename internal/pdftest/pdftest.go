package pdftest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// NeedTool fails, never skips, when a checker is missing: a PDF test that
// silently checks nothing is worse than a red one.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: scripts/test-deps.sh installs it", name)
	}
	return p
}

// Run runs a checker and returns its output, failing the test if it fails.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(NeedTool(t, name), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// File writes b to a file in a temporary directory.
func File(t testing.TB, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Text is pdftotext -enc UTF-8 of b without the directional embedding
// marks (U+202A to U+202E) poppler puts round right-to-left text.
func Text(t testing.TB, b []byte) string {
	t.Helper()
	text := Run(t, "pdftotext", "-enc", "UTF-8", File(t, b), "-")
	return strings.Map(func(r rune) rune {
		if r >= 0x202a && r <= 0x202e {
			return -1
		}
		return r
	}, text)
}

// Fonts fails the test unless every font in b is embedded and a subset
// (pdffonts: emb and sub yes, a tagged name) with a ToUnicode map, and
// returns the fonts' names.
func Fonts(t testing.TB, b []byte) []string {
	t.Helper()
	out := Run(t, "pdffonts", File(t, b))
	var names []string
	for _, l := range strings.Split(out, "\n")[2:] {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		names = append(names, f[0])
		n := len(f)
		if n < 6 || f[n-5] != "yes" || f[n-4] != "yes" || f[n-3] != "yes" || len(f[0]) < 8 || f[0][6] != '+' {
			t.Errorf("font %q is not an embedded subset with a ToUnicode map:\n%s", f[0], out)
		}
	}
	if len(names) == 0 {
		t.Errorf("no fonts:\n%s", out)
	}
	return names
}
