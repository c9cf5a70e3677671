package pdffont

import (
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"traded/internal/pdftest"
)

// bidiAlphabet is what the random lines are made of: every class the
// algorithm's rules treat differently, as names and references hold them.
var bidiAlphabet = []string{
	"a", "Ł", "ŵ", "Smith", "Jo", // L
	"ש", "דוד", "כהן", // R
	"ف", "فاطمة", "الزهراء", "لا", // AL
	"1", "42", "2026", // EN
	"٣", "٤٥", // AN
	"+", "-", // ES
	"£", "$", "%", "#", // ET
	".", ",", ":", "/", // CS
	"\u064b", "\u0301", // NSM (fathatan, combining acute)
	" ", " ", " ", "\t", // WS, S
	"(", ")", "[", "]", "{", "}", "<", ">", "«", "»", "!", "&", "'", "\"", "—", // ON
	"🏴", "\U000e0067", "\u00ad", // an emoji; BN (a tag character, soft hyphen)
}

// randomLine joins pieces of bidiAlphabet. A combining mark goes only
// after a letter, as in text people type: after a bracket, a tab or a
// soft hyphen (a defective combining sequence) FriBidi 1.0.8 orders it
// differently from the algorithm (it moves a closing bracket after
// "]\u0301" into the right-to-left run), and no name needs it.
func randomLine(r *rand.Rand) string {
	var b strings.Builder
	prev := ""
	for range 1 + r.IntN(12) {
		p := bidiAlphabet[r.IntN(len(bidiAlphabet))]
		if p == "\u064b" || p == "\u0301" {
			last, _ := utf8.DecodeLastRuneInString(prev)
			if !unicode.IsLetter(last) {
				continue
			}
		}
		b.WriteString(p)
		prev = p
	}
	return b.String()
}

// TestOrder_AgreesWithFriBidi compares the order and levels visual draws
// with GNU FriBidi's (fribidi --ltr --vtol --levels), a conforming
// implementation of UAX #9, over random lines. Levels of boundary
// neutrals (BN) are left to the implementation by X9, so they are not
// compared; their place in the order is.
func TestOrder_AgreesWithFriBidi(t *testing.T) {
	fribidi := pdftest.NeedTool(t, "fribidi")
	r := rand.New(rand.NewPCG(20261203, 15))
	lines := make([]string, 3000)
	for i := range lines {
		lines[i] = randomLine(r)
	}
	lines = append(lines, "דוד כהן (Head) 12", "דוד (כהן) Smith", "فاطمة 🏴 Małgorzata", "فاطمة الزهراء Smith")
	cmd := exec.Command(fribidi, "--ltr", "--nopad", "--nobreak", "--novisual", "--vtol", "--levels")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fribidi: %v", err)
	}
	got := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(got) != 2*len(lines) {
		t.Fatalf("fribidi printed %d lines for %d", len(got), len(lines))
	}
	failed := 0
	for i, line := range lines {
		rs := []rune(line)
		wantPerm, wantLevels := ints(got[2*i]), ints(got[2*i+1])
		perm, levels := order(rs)
		ok := len(wantPerm) == len(rs) && len(wantLevels) == len(rs)
		for k := 0; ok && k < len(rs); k++ {
			ok = perm[k] == wantPerm[k] && (isBN(rs[k]) || levels[k] == wantLevels[k])
		}
		if !ok {
			failed++
			if failed <= 10 {
				t.Errorf("%q (%+q): order %v levels %v, FriBidi %v %v", line, line, perm, levels, wantPerm, wantLevels)
			}
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d lines differ from FriBidi", failed, len(lines))
	}
}

func isBN(r rune) bool { return r == 0xad || r >= 0xe0000 }

func ints(s string) []int {
	var out []int
	for _, f := range strings.Fields(s) {
		n, _ := strconv.Atoi(f)
		out = append(out, n)
	}
	return out
}

// TestVisual is what a reader sees, mirrored brackets included.
func TestVisual(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Seán Ó Briain", "Seán Ó Briain"},
		{"Smith فاطمة", "Smith ةمطاف"},
		{"فاطمة الزهراء Smith", "ءارهزلا ةمطاف Smith"},
		{"דוד כהן (Head) 12", "ןהכ דוד (Head) 12"},
		{"דוד (כהן) Smith", "(ןהכ) דוד Smith"},
		{"שלום 123 עולם", "םלוע 123 םולש"},
		{"فاطمة 🏴 Małgorzata", "ةمطاف 🏴 Małgorzata"},
		{"Jo כהן  ", "Jo ןהכ  "}, // trailing spaces stay at the end (L1)
		{"فاطمة (Head)", "ةمطاف (Head)"},
		{"דוד (כהן)", "(ןהכ) דוד"},
	} {
		if got := visual(c.in); got != c.want {
			t.Errorf("visual(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
