package pdffont

import (
	"bytes"
	_ "embed"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf16"

	"golang.org/x/text/unicode/bidi"

	"traded/internal/gofpdf"
)

var (
	//go:embed DejaVuSans.ttf
	regularTTF []byte
	//go:embed DejaVuSans-Bold.ttf
	boldTTF []byte
	// License is the fonts' licence, which goes wherever the fonts go.
	//go:embed LICENSE
	License string
)

// Lang is the language every document declares in its catalogue, for
// screen readers and text-to-speech.
const Lang = "en-GB"

// face is one font file and the names it goes by. gofpdf names a UTF-8 font
// "utf8" and its family in lower case and gives a subset no tag, though the
// PDF standard (9.6.4) wants a subset's name to start with one ("ABCDEF+").
// So each face is added under a family of letters as long as its name with
// a tag, and Output writes the tagged name over it: the lengths match, so no
// offset in the cross-reference table moves.
type face struct {
	ttf    []byte
	name   string // PostScript name
	family string // what gofpdf knows it by
	cut    []byte // ttf cut to the scripts below
	parsed *gofpdf.UTF8Font
	err    error
}

var faces = []*face{
	{ttf: regularTTF, name: "DejaVuSans", family: placeholder('r', "DejaVuSans")},
	{ttf: boldTTF, name: "DejaVuSans-Bold", family: placeholder('b', "DejaVuSans-Bold")},
}

// placeholder is a family name which gofpdf turns into "utf8rrr..." exactly
// as long as "ABCDEF+" and name.
func placeholder(c byte, name string) string {
	return strings.Repeat(string(c), len("ABCDEF+")+len(name)-len("utf8"))
}

// scripts are the characters a document can print: Latin (with Welsh's
// ẁ ẃ ẅ ỳ), Greek, Cyrillic, Hebrew, Arabic with its presentation forms,
// punctuation, currency and the replacement character. Each face is cut
// and parsed once per process (see Add); a smaller font is less to parse,
// to hold and to search when subsetting. Anything else DejaVu has (box
// drawing, mathematics, Braille...) prints as a missing glyph.
var scripts = [][2]rune{
	{0x20, 0x7e}, {0xa0, 0x24f}, {0x2b0, 0x36f}, {0x370, 0x52f}, {0x591, 0x5f4},
	{0x600, 0x6ff}, {0x1e00, 0x1eff}, {0x2000, 0x206f}, {0x20a0, 0x20bf},
	{0x2100, 0x215f}, {0xfb1d, 0xfb4f}, {0xfb50, 0xfdff}, {0xfe70, 0xfeff}, {0xfffd, 0xfffd},
}

var cutOnce sync.Once

// cutFaces cuts each face down to scripts and parses it, once: gofpdf's
// UTF8CutFont gives the same bytes every time, and a parsed font is shared
// by every document (internal/gofpdf: upstream parsed it again for each).
func cutFaces() {
	var set []rune
	for _, r := range scripts {
		for c := r[0]; c <= r[1]; c++ {
			set = append(set, c)
		}
	}
	for _, f := range faces {
		f.cut = gofpdf.UTF8CutFont(f.ttf, string(set))
		f.parsed, f.err = gofpdf.ParseUTF8Font(f.cut)
	}
}

// Add makes both faces available to pdf. Call it before drawing any text.
func Add(pdf *gofpdf.Fpdf) {
	cutOnce.Do(cutFaces)
	for _, f := range faces {
		if f.err != nil {
			pdf.SetError(fmt.Errorf("font %s: %w", f.name, f.err))
			return
		}
		// Shared between documents drawn at once: internal/gofpdf no
		// longer writes into a font's bytes while subsetting (upstream's
		// checksums padded table data in place, which raced).
		pdf.AddUTF8FontParsed(f.family, "", f.parsed)
	}
}

// Family is the family to give gofpdf's SetFont, with an empty style, for a
// style of "" or "B". Italic ("I") is drawn upright: no italic face is
// carried, and the few notes set in italic are small and grey already.
func Family(style string) string {
	if strings.Contains(strings.ToUpper(style), "B") {
		return faces[1].family
	}
	return faces[0].family
}

// Text is s, one line, as gofpdf should draw it, and the text a reader
// should copy when that differs ("" when it does not). gofpdf does no
// bidirectional layout: a line with right-to-left runs (Arabic, Hebrew) is
// drawn with each run turned round into the order it is seen in on a
// left-to-right page, which is the order readers (poppler, pdf.js, screen
// readers) expect to find it in; they give it back in logical order
// themselves. gofpdf also writes characters as 16-bit codes and panics on
// one beyond U+FFFF (an emoji): each is drawn as U+FFFD, and the line as it
// was written goes in the PDF as ActualText, which is what poppler, Acrobat
// and screen readers copy.
func Text(s string) (draw, actual string) {
	plain := true
	for _, r := range s {
		if r > 0xffff || isRTL(r) {
			plain = false
			break
		}
	}
	if plain {
		return s, ""
	}
	rs := []rune(visual(s))
	wide := false
	for i, r := range rs {
		if r > 0xffff {
			rs[i], wide = 0xfffd, true
		}
	}
	if wide {
		return string(rs), s
	}
	return string(rs), ""
}

func isRTL(r rune) bool {
	if r < 0x590 {
		return false
	}
	p, _ := bidi.LookupRune(r)
	c := p.Class()
	return c == bidi.R || c == bidi.AL
}

// Cell draws s with pdf.CellFormat, without a border or fill; see Text.
func Cell(pdf *gofpdf.Fpdf, w, h float64, s, align, link string) {
	draw, actual := Text(s)
	open(pdf, actual)
	pdf.CellFormat(w, h, draw, "", 0, align, false, 0, link)
	closeSpan(pdf, actual)
}

// MultiCell draws s wrapped to w, as Lines breaks it, one line under
// another from the current position, and leaves the position at the left
// margin below the last line, as pdf.MultiCell does. Each line is drawn
// with Cell, so it is turned into visual order and carries its logical text
// by itself: a right-to-left name wrapped over two lines reads back line by
// line, in reading order, and no marked span crosses a line or a page. An
// align of "J" (justify) is drawn as "L".
func MultiCell(pdf *gofpdf.Fpdf, w, h float64, s, align string) {
	if align == "J" || align == "" {
		align = "L"
	}
	x := pdf.GetX()
	auto, _ := pdf.GetAutoPageBreak()
	_, ph := pdf.GetPageSize()
	_, _, _, bottom := pdf.GetMargins()
	for _, line := range split(pdf, s, w) {
		// The page break is taken here, before a line's span opens,
		// rather than by CellFormat inside it.
		if auto && pdf.GetY()+h > ph-bottom {
			pdf.AddPage()
		}
		pdf.SetX(x)
		draw, actual := Text(line)
		open(pdf, actual)
		pdf.CellFormat(w, h, draw, "", 2, align, false, 0, "")
		closeSpan(pdf, actual)
	}
	left, _, _, _ := pdf.GetMargins()
	pdf.SetX(left)
}

// Lines is how many lines s wraps to in a column w wide in pdf's current
// font, at least one: exactly the lines MultiCell draws.
func Lines(pdf *gofpdf.Fpdf, s string, w float64) int {
	return len(split(pdf, s, w))
}

// split breaks s, in logical order, into the lines it takes in a column w
// wide in pdf's current font (gofpdf keeps a cell margin inside w each
// side). A line breaks at a line feed; else at the last space that fits,
// the space dropped; else before an ideograph or kana (Chinese and Japanese
// are written without spaces; gofpdf's own MultiCell broke at one and
// dropped it, as if it were a space); else inside a word too long for a
// line. A character gofpdf cannot draw is measured as the font's missing
// glyph, and one beyond U+FFFF as the U+FFFD it is drawn as, so that what
// is measured is what is drawn. There is always one line, perhaps empty.
func split(pdf *gofpdf.Fpdf, s string, w float64) []string {
	_, size := pdf.GetFontSize()
	limit := int((w - 2*pdf.GetCellMargin()) * 1000 / size)
	rs := []rune(strings.TrimRight(strings.ReplaceAll(s, "\r", ""), "\n"))
	var lines []string
	start, width := 0, 0
	space, ideo := -1, -1 // last break points in the current line
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		if c == '\n' {
			lines = append(lines, string(rs[start:i]))
			start, width, space, ideo = i+1, 0, -1, -1
			continue
		}
		if c == ' ' {
			space = i
		} else if breaksBefore(c) && i > start {
			ideo = i
		}
		width += runeWidth(pdf, c)
		if width <= limit || i == start {
			continue
		}
		// Too wide with c: break at the best point before it.
		switch {
		case space > start:
			lines = append(lines, string(rs[start:space]))
			start = space + 1
		case ideo > start:
			lines = append(lines, string(rs[start:ideo]))
			start = ideo
		default: // before c, which may be an ideograph or inside a long word
			lines = append(lines, string(rs[start:i]))
			start = i
		}
		space, ideo = -1, -1
		width = 0
		for k := start; k <= i; k++ {
			width += runeWidth(pdf, rs[k])
			if rs[k] == ' ' {
				space = k
			} else if breaksBefore(rs[k]) && k > start {
				ideo = k
			}
		}
	}
	return append(lines, string(rs[start:]))
}

// breaksBefore is whether a line may break just before r with no space:
// Han ideographs, kana and CJK punctuation.
func breaksBefore(r rune) bool {
	return r >= 0x2e80 && (unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || (r >= 0x3000 && r <= 0x303f))
}

// runeWidth is r's advance in the current font in thousandths of the font
// size, as gofpdf draws it.
func runeWidth(pdf *gofpdf.Fpdf, r rune) int {
	if r > 0xffff {
		r = 0xfffd
	}
	return pdf.GetStringSymbolWidth(string(r))
}

func open(pdf *gofpdf.Fpdf, actual string) {
	if actual == "" {
		return
	}
	var b strings.Builder
	b.WriteString("/Span <</ActualText <FEFF")
	for _, u := range utf16.Encode([]rune(actual)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	b.WriteString(">>> BDC")
	pdf.RawWriteStr(b.String())
}

func closeSpan(pdf *gofpdf.Fpdf, actual string) {
	if actual != "" {
		pdf.RawWriteStr("EMC")
	}
}

// Output finishes pdf and returns its bytes with each face named as a
// subset and the catalogue declaring Lang. The same document gives the same
// bytes: a subset's tag is a hash of the document and the face's name.
// Its errors are gofpdf's own, or a document laid out as gofpdf no longer
// lays one out.
func Output(pdf *gofpdf.Fpdf) ([]byte, error) {
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	sum := fnv.New64a()
	sum.Write(b)
	seed := sum.Sum64()
	for _, f := range faces {
		old := []byte("/utf8" + f.family + "\n")
		h := seed ^ fnvString(f.name)
		named := []byte("/" + subsetTag(h) + "+" + f.name + "\n")
		if n := bytes.Count(b, old); n != 0 && n != 3 {
			return nil, fmt.Errorf("pdf font %s: named %d times, want 3 (BaseFont twice and FontName)", f.name, n)
		}
		b = bytes.ReplaceAll(b, old, named)
	}
	return declareLang(b)
}

// declareLang adds /Lang to the catalogue. gofpdf writes the catalogue as
// the last object, just before the cross-reference table, so only the
// table's own offset (startxref) moves.
func declareLang(b []byte) ([]byte, error) {
	const catalog, startxref = "/Type /Catalog\n", "\nstartxref\n"
	at := bytes.LastIndex(b, []byte(catalog))
	sx := bytes.LastIndex(b, []byte(startxref))
	xref := bytes.LastIndex(b, []byte("\nxref\n"))
	if at < 0 || sx < 0 || xref < at {
		return nil, fmt.Errorf("pdf language: no catalogue before the cross-reference table")
	}
	numAt := sx + len(startxref)
	end := bytes.IndexByte(b[numAt:], '\n')
	if end < 0 {
		return nil, fmt.Errorf("pdf language: no startxref offset")
	}
	offset, err := strconv.Atoi(string(b[numAt : numAt+end]))
	if err != nil || offset != xref+1 {
		return nil, fmt.Errorf("pdf language: startxref %q is not the table at %d", b[numAt:numAt+end], xref+1)
	}
	lang := "/Lang (" + Lang + ")\n"
	out := make([]byte, 0, len(b)+len(lang)+2)
	out = append(out, b[:at+len(catalog)]...)
	out = append(out, lang...)
	out = append(out, b[at+len(catalog):numAt]...)
	out = strconv.AppendInt(out, int64(offset+len(lang)), 10)
	out = append(out, b[numAt+end:]...)
	return out, nil
}

// subsetTag is six capital letters from h.
func subsetTag(h uint64) string {
	var t [6]byte
	for i := range t {
		t[i] = 'A' + byte(h%26)
		h /= 26
	}
	return string(t[:])
}

func fnvString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}
