// Package pdffont is the typeface Traded's PDFs are drawn in, embedded in
// the binary: DejaVu Sans regular and bold, version 2.37, copied from
// Debian 12's fonts-dejavu-core (/usr/share/fonts/truetype/dejavu), under
// the Bitstream Vera licence with DejaVu's changes in the public domain
// (LICENSE, from the package's copyright file). Nothing is read from the
// machine at run time.
//
// gofpdf's core Helvetica is Windows-1252 and printed "Łukasz" as ".ukasz".
// The faces are cut, once, to Latin (Welsh, Polish, Irish, Vietnamese...),
// Greek, Cyrillic, Hebrew and Arabic (see scripts), and gofpdf embeds only
// the glyphs a document uses. Missing glyphs: a character outside those
// scripts (Chinese, Devanagari, most symbols) prints as the font's empty
// box, but gofpdf keeps its code in the text, so a reader that copies or
// searches the text (pdftotext, a screen reader, a browser's find) gets the
// name back exactly. A character beyond U+FFFF (most emoji) prints as "�"
// and the text carries the original as ActualText (see Text). gofpdf does
// not join Arabic letters: they print in the right order, unjoined. That is
// the fallback: no second font is carried for scripts that Essex schools'
// names have not needed.
//
// It owns no tables; it imports x/text and internal/gofpdf, nothing of the
// domain.
package pdffont
