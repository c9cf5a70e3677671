package traded

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text from people (names, emails, PO numbers, references, reasons) is
// checked once, where it arrives, by one rule: valid UTF-8, no control
// characters, and a length limit counted in characters, not bytes. A line
// (a name, an email, a reference) has no line breaks at all; free text (a
// reason, a note) may have them, and they are kept as "\n". Everything else
// people type (quotes, apostrophes, accents, other scripts, emoji) is
// accepted as typed, and each output encodes it as its format needs.

// Limits for the usual kinds of line.
const (
	MaxName  = 200  // a person's or organisation's name
	MaxEmail = 254  // RFC 5321's limit on an address
	MaxLine  = 200  // a reference, a title, a short reason
	MaxText  = 4000 // a note or a longer reason
	MaxPO    = 50   // a school's purchase-order number
)

// CleanPO is CleanLine for a purchase-order number (field po_number), as a
// booking, a consultancy engagement and a subscription take one.
func CleanPO(po string) (string, error) {
	return CleanLine("po_number", "purchase-order number", po, MaxPO)
}

// CleanLine trims s and returns it, or EINVALID on field (naming it as what)
// when it is not valid UTF-8, holds a line break or another control
// character, or is longer than max characters.
func CleanLine(field, what, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if err := checkText(field, what, s, max, false); err != nil {
		return "", err
	}
	return s, nil
}

// CleanText is CleanLine for free text that may run over several lines: it
// turns CRLF and CR into LF and trims the whole, and refuses any other
// control character but tab.
func CleanText(field, what, s string, max int) (string, error) {
	s = strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n"))
	if err := checkText(field, what, s, max, true); err != nil {
		return "", err
	}
	return s, nil
}

func checkText(field, what, s string, max int, multiline bool) error {
	if !utf8.ValidString(s) {
		return FieldErrorf(field, "The %s is not valid text: type it again.", what)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return FieldErrorf(field, "The %s is %d characters long: it can be at most %d.", what, n, max)
	}
	for _, r := range s {
		switch {
		case r == '\n' || r == '\u2028' || r == '\u2029':
			if !multiline {
				return FieldErrorf(field, "The %s must be on one line.", what)
			}
		case r == '\t' && multiline:
		case unicode.IsControl(r) || isBidiControl(r):
			return FieldErrorf(field, "The %s contains a control character (U+%04X): remove it.", what, r)
		}
	}
	return nil
}

// isBidiControl reports the invisible characters that reorder text as it
// is shown: in a name they can make one name look like another.
func isBidiControl(r rune) bool {
	return r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069'
}

// OneLine folds any line breaks and runs of white space in s into single
// spaces: for an output that must stay on one line (a mail header, a
// journal description) whatever reached it.
func OneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Clip shortens s to at most max characters (not bytes), marking a cut with
// "…": for what a record keeps of text nobody checked, such as the address
// typed into a failed sign-in.
func Clip(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}
