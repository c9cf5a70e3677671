package billing

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"traded/internal/gofpdf"

	"traded/internal/pdffont"
	"traded/pricing"
)

// The PDF documents are drawn in DejaVu Sans, embedded and cut to the
// glyphs each uses (internal/pdffont), so "Łukasz", "Llŷr" and "Γιώργος"
// print as written; text passes through pdffont's Cell and MultiCell, which
// say what happens to a character the font lacks. Every document declares
// its language (en-GB).
//
// The same document gives the same bytes every time: the creation and
// modification dates come from its issue date, catalogues are sorted and
// gofpdf writes an empty file ID; a subset font's tag is a hash of the
// document. Supplier and customer come from the snapshot
// frozen on the invoice at issue, so re-rendering an old invoice after the
// council's details change reproduces what was sent; only the bank details
// and the contact email and phone come from cfg.

// Page geometry, in millimetres on A4 portrait.
const (
	pdfMargin      = 15.0
	pdfPageW       = 210.0
	pdfPageH       = 297.0
	pdfContentW    = pdfPageW - 2*pdfMargin
	pdfBottom      = 22.0 // room for the footer
	pdfLimit       = pdfPageH - pdfBottom
	pdfLineH       = 4.6
	pdfRowPad      = 1.1
	pdfNoteLineH   = 3.8
	pdfRight       = pdfPageW - pdfMargin
	pdfMetaLabelW  = 32.0
	pdfMetaValueW  = 45.0
	pdfMetaX       = pdfRight - pdfMetaLabelW - pdfMetaValueW
	pdfTotalsW     = 75.0
	pdfTotalsX     = pdfRight - pdfTotalsW
	pdfSummaryW    = 95.0
	pdfDateLayout  = "2006-01-02"
	pdfHumanLayout = "2 January 2006"
)

// Colours: one dark blue for headings and rules, greys for labels and fills.
var (
	pdfInk    = [3]int{25, 25, 25}
	pdfBlue   = [3]int{0, 59, 112}
	pdfGrey   = [3]int{95, 99, 104}
	pdfRule   = [3]int{190, 196, 204}
	pdfFill   = [3]int{234, 239, 245}
	pdfFillLt = [3]int{245, 247, 250}
)

// pdfColumn is one column of a lines table.
type pdfColumn struct {
	head  string
	w     float64
	align string // L or R
}

var invoicePDFColumns = []pdfColumn{
	{"Description", 82, "L"},
	{"Qty", 10, "R"},
	{"Unit price", 23, "R"},
	{"Net", 23, "R"},
	{"VAT rate", 19, "R"},
	{"VAT", 23, "R"},
}

var creditPDFColumns = []pdfColumn{
	{"Line", 12, "L"},
	{"Description", 100, "L"},
	{"VAT rate", 20, "R"},
	{"Net", 24, "R"},
	{"VAT", 24, "R"},
}

// doc is one document being drawn.
type doc struct {
	pdf     *gofpdf.Fpdf
	columns []pdfColumn // the table whose header repeats on a new page
}

func newDoc(title, docRef, supplier, issueDate string, fallback time.Time) *doc {
	pdf := gofpdf.New("P", "mm", "A4", "")
	// Page streams are left uncompressed: gofpdf sets up a new zlib writer
	// (about 1 MB) for every page, which was nearly half of the time to
	// render an invoice. An invoice is about 10 KB instead of 4 KB.
	pdf.SetCompression(false)
	pdffont.Add(pdf)
	d := &doc{pdf: pdf}
	stamp := pdfStamp(issueDate, fallback)
	pdf.SetCreationDate(stamp)
	pdf.SetModificationDate(stamp)
	pdf.SetCatalogSort(true)
	pdf.SetTitle(docRef, true)
	pdf.SetAuthor(supplier, true)
	pdf.SetCreator("Traded", true)
	pdf.SetMargins(pdfMargin, pdfMargin, pdfMargin)
	pdf.SetAutoPageBreak(true, pdfBottom)
	pdf.AliasNbPages("")
	pdf.SetHeaderFunc(func() {
		if pdf.PageNo() == 1 {
			return
		}
		d.font("B", 10, pdfBlue)
		d.cell(pdfMargin, pdfMargin, pdfContentW/2, 5, title+" (continued)", "L")
		d.font("", 9, pdfGrey)
		d.cell(pdfMargin+pdfContentW/2, pdfMargin, pdfContentW/2, 5, supplier, "R")
		pdf.SetXY(pdfMargin, pdfMargin+9)
	})
	pdf.SetFooterFunc(func() {
		y := pdfPageH - 15
		d.rule(y, pdfRule)
		d.font("", 8, pdfGrey)
		d.cell(pdfMargin, y+1.5, pdfContentW*2/3, 4, supplier+"  ·  "+docRef, "L")
		d.cell(pdfMargin+pdfContentW*2/3, y+1.5, pdfContentW/3, 4, fmt.Sprintf("Page %d of {nb}", pdf.PageNo()), "R")
	})
	pdf.AddPage()
	return d
}

// pdfStamp is the document's creation date: its issue date at midnight UTC,
// else the fallback's date, so that the same document gives the same bytes.
func pdfStamp(date string, fallback time.Time) time.Time {
	if t, err := time.Parse(pdfDateLayout, date); err == nil {
		return t
	}
	if !fallback.IsZero() {
		f := fallback.UTC()
		return time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, time.UTC)
	}
	return time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
}

func (d *doc) font(style string, size float64, rgb [3]int) {
	d.pdf.SetFont(pdffont.Family(style), "", size)
	d.pdf.SetTextColor(rgb[0], rgb[1], rgb[2])
}

// cell writes one line of text in a box at (x, y).
func (d *doc) cell(x, y, w, h float64, s, align string) {
	d.pdf.SetXY(x, y)
	pdffont.Cell(d.pdf, w, h, s, align, "")
}

// para writes wrapped text in a column w wide from (x, y) and returns the y
// below it.
func (d *doc) para(x, y, w, h float64, s, align string) float64 {
	d.pdf.SetXY(x, y)
	pdffont.MultiCell(d.pdf, w, h, s, align)
	return d.pdf.GetY()
}

// lines is how many lines s wraps to in a column w wide in the current font.
func (d *doc) lines(s string, w float64) int {
	return pdffont.Lines(d.pdf, s, w)
}

func (d *doc) rule(y float64, rgb [3]int) {
	d.pdf.SetDrawColor(rgb[0], rgb[1], rgb[2])
	d.pdf.SetLineWidth(0.25)
	d.pdf.Line(pdfMargin, y, pdfRight, y)
}

// room starts a new page when h more millimetres will not fit on this one,
// repeating the table header if a table is being drawn, and returns the y to
// draw at.
func (d *doc) room(y, h float64) float64 {
	if y+h <= pdfLimit {
		return y
	}
	d.pdf.AddPage()
	y = d.pdf.GetY()
	if d.columns != nil {
		y = d.tableHead(y)
	}
	return y
}

// tableHead draws the header row of d.columns at y and returns the y below.
func (d *doc) tableHead(y float64) float64 {
	const h = 7
	d.pdf.SetFillColor(pdfFill[0], pdfFill[1], pdfFill[2])
	d.pdf.Rect(pdfMargin, y, pdfContentW, h, "F")
	d.font("B", 8.5, pdfBlue)
	x := pdfMargin
	for _, c := range d.columns {
		d.cell(x, y, c.w, h, c.head, c.align)
		x += c.w
	}
	return y + h
}

// tableRow draws one row whose wrapping column is wrap, starting a new page
// first if it will not fit, and returns the y below it.
func (d *doc) tableRow(y float64, cells []string, wrap int) float64 {
	d.font("", 9, pdfInk)
	h := float64(d.lines(cells[wrap], d.columns[wrap].w))*pdfLineH + 2*pdfRowPad
	y = d.room(y, h)
	d.font("", 9, pdfInk)
	x := pdfMargin
	for i, c := range d.columns {
		if i == wrap {
			d.para(x, y+pdfRowPad, c.w, pdfLineH, cells[i], "L")
		} else {
			d.cell(x, y+pdfRowPad, c.w, pdfLineH, cells[i], c.align)
		}
		x += c.w
	}
	y += h
	d.rule(y, pdfRule)
	return y
}

// vatNotes are the reasons no VAT is charged, each printed once below the
// lines table rather than under every line, so a long invoice stays short.
// With more than one reason, each line's rate carries the number of its own.
type vatNotes struct {
	notes []string
	index map[string]int
}

func newVATNotes(notes []string) *vatNotes {
	v := &vatNotes{index: map[string]int{}}
	for _, n := range notes {
		if _, ok := v.index[n]; n != "" && !ok {
			v.index[n] = len(v.notes)
			v.notes = append(v.notes, n)
		}
	}
	return v
}

// rate is a line's VAT rate label, marked with its note's number when the
// document has more than one note.
func (v *vatNotes) rate(treatment string, bp int64, note string) string {
	label := vatRateLabel(treatment, bp)
	if i, ok := v.index[note]; ok && len(v.notes) > 1 {
		label += fmt.Sprintf(" (%d)", i+1)
	}
	return label
}

// draw prints the notes from y and returns the y below them.
func (v *vatNotes) draw(d *doc, y float64) float64 {
	if len(v.notes) == 0 {
		return y
	}
	texts := make([]string, len(v.notes))
	h := 0.0
	d.font("I", 8, pdfGrey)
	for i, n := range v.notes {
		texts[i] = n
		if len(v.notes) > 1 {
			texts[i] = fmt.Sprintf("(%d) %s", i+1, n)
		}
		h += float64(d.lines(texts[i], pdfContentW))*pdfNoteLineH + 0.8
	}
	y = d.room(y+1.5, h)
	for _, t := range texts {
		d.font("I", 8, pdfGrey)
		y = d.para(pdfMargin, y, pdfContentW, pdfNoteLineH, t, "L") + 0.8
	}
	return y
}

// header draws the supplier block on the left and the title at the top
// right, and returns the y below the supplier block.
func (d *doc) header(title, supplier string, address []string, vat string, cfg Config) float64 {
	d.font("B", 15, pdfBlue)
	d.cell(pdfMargin, pdfMargin, 110, 7, supplier, "L")
	d.font("B", 22, pdfBlue)
	d.cell(pdfRight-70, pdfMargin-0.5, 70, 9, title, "R")
	y := pdfMargin + 8.5
	d.font("", 9, pdfInk)
	for _, a := range address {
		d.cell(pdfMargin, y, 100, 4.3, a, "L")
		y += 4.3
	}
	y += 1.5
	d.font("", 8.5, pdfGrey)
	if vat != "" {
		d.cell(pdfMargin, y, 100, 4.2, "VAT registration number: "+vat, "L")
		y += 4.2
	}
	if e := cfg.Supplier.Email; e != "" {
		d.cell(pdfMargin, y, 100, 4.2, "Email: "+e, "L")
		y += 4.2
	}
	if p := cfg.Supplier.Phone; p != "" {
		d.cell(pdfMargin, y, 100, 4.2, "Telephone: "+p, "L")
		y += 4.2
	}
	return y
}

// meta draws label/value pairs at the top right, from y, and returns the y
// below them.
func (d *doc) meta(y float64, pairs [][2]string) float64 {
	for _, p := range pairs {
		d.font("", 8.5, pdfGrey)
		d.cell(pdfMetaX, y, pdfMetaLabelW, 5, p[0], "L")
		d.font("B", 9, pdfInk)
		d.cell(pdfMetaX+pdfMetaLabelW, y, pdfMetaValueW, 5, p[1], "R")
		y += 5
	}
	return y
}

// customer draws the customer block under the label at y and returns the y
// below it.
func (d *doc) customer(y float64, label string, inv *Invoice) float64 {
	d.font("B", 8, pdfGrey)
	d.cell(pdfMargin, y, 90, 4.5, strings.ToUpper(label), "L")
	y += 5
	d.font("B", 10.5, pdfInk)
	y = d.para(pdfMargin, y, 95, 5, inv.CustomerName, "L")
	d.font("", 9, pdfInk)
	for _, a := range inv.CustomerAddress {
		d.cell(pdfMargin, y, 95, 4.3, a, "L")
		y += 4.3
	}
	y += 1
	if inv.CustomerURN != 0 {
		d.cell(pdfMargin, y, 95, 4.3, "URN "+strconv.FormatInt(inv.CustomerURN, 10), "L")
		y += 4.3
	}
	if po := strings.TrimSpace(inv.PONumber); po != "" {
		d.cell(pdfMargin, y, 95, 4.3, "Purchase order "+po, "L")
		y += 4.3
	}
	return y
}

// amountBox draws the shaded headline figure beside the customer block.
func (d *doc) amountBox(y float64, label string, amount pricing.Money, sub string) float64 {
	const w, h = 77.0, 21.0
	x := pdfRight - w
	d.pdf.SetFillColor(pdfFill[0], pdfFill[1], pdfFill[2])
	d.pdf.Rect(x, y, w, h, "F")
	d.font("", 9, pdfGrey)
	d.cell(x+3, y+2.5, w-6, 4.5, label, "L")
	d.font("B", 17, pdfBlue)
	d.cell(x+3, y+7.5, w-6, 7.5, amount.String(), "L")
	d.font("", 8.5, pdfInk)
	d.cell(x+3, y+15, w-6, 4.5, sub, "L")
	return y + h
}

// totals draws label/amount rows at the right, the last in bold above a
// rule, and returns the y below.
func (d *doc) totals(y float64, rows [][2]string) float64 {
	for i, r := range rows {
		last := i == len(rows)-1
		if last {
			d.pdf.SetDrawColor(pdfBlue[0], pdfBlue[1], pdfBlue[2])
			d.pdf.SetLineWidth(0.4)
			d.pdf.Line(pdfTotalsX, y+0.5, pdfRight, y+0.5)
			y += 1.2
			d.font("B", 10.5, pdfBlue)
		} else {
			d.font("", 9, pdfInk)
		}
		d.cell(pdfTotalsX, y, pdfTotalsW-30, 6, r[0], "L")
		d.cell(pdfRight-30, y, 30, 6, r[1], "R")
		y += 6
	}
	return y
}

// section draws a small heading at y and returns the y below it.
func (d *doc) section(y float64, s string) float64 {
	d.font("B", 10, pdfBlue)
	d.cell(pdfMargin, y, pdfContentW, 5.5, s, "L")
	return y + 6.5
}

// bytes finishes the document.
func (d *doc) bytes() ([]byte, error) {
	return pdffont.Output(d.pdf)
}

// humanDate shows a stored YYYY-MM-DD date as people write it: "22 November
// 2026". Anything else is shown as it is.
func humanDate(s string) string {
	t, err := time.Parse(pdfDateLayout, s)
	if err != nil {
		return s
	}
	return t.Format(pdfHumanLayout)
}

// percent shows a rate in basis points: 2000 is "20%", 1750 "17.5%".
func percent(bp int64) string {
	s := strconv.FormatInt(bp/100, 10)
	if f := bp % 100; f != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%02d", f), "0")
	}
	return s + "%"
}

// vatRateLabel is a line's VAT rate as printed in the lines table.
func vatRateLabel(treatment string, bp int64) string {
	switch treatment {
	case "exempt":
		return "Exempt"
	case "outside_scope":
		return "Out of scope"
	case "zero":
		return "0%"
	}
	return percent(bp)
}

// vatGroup is one row of an invoice's VAT summary.
type vatGroup struct {
	treatment string
	rateBP    int64
	net, vat  pricing.Money
}

func (g vatGroup) label() string {
	switch g.treatment {
	case "exempt":
		return "Exempt"
	case "outside_scope":
		return "Outside the scope of VAT"
	case "zero":
		return "Zero rated (0%)"
	case "standard":
		return "Standard rated at " + percent(g.rateBP)
	}
	return g.treatment + " at " + percent(g.rateBP)
}

func (g vatGroup) order() int {
	return map[string]int{"standard": 0, "zero": 1, "exempt": 2, "outside_scope": 3}[g.treatment]
}

// vatSummary groups lines by VAT treatment and rate: standard rates first,
// highest first, then zero rated, exempt and outside the scope.
func vatSummary(lines []*Line) []vatGroup {
	var out []vatGroup
	idx := map[[2]string]int{}
	for _, l := range lines {
		k := [2]string{l.VATTreatment, strconv.FormatInt(l.VATRateBP, 10)}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, vatGroup{treatment: l.VATTreatment, rateBP: l.VATRateBP})
		}
		out[i].net += l.Net
		out[i].vat += l.VAT
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].order() != out[j].order() {
			return out[i].order() < out[j].order()
		}
		return out[i].rateBP > out[j].rateBP
	})
	return out
}

// journalSentence tells a maintained school it need not pay: the council
// recharges its cost centre by internal journal.
func journalSentence(inv *Invoice) string {
	cc := ""
	if inv.CostCentre != "" {
		cc = " " + inv.CostCentre
	}
	return "As an LA-maintained school you do not need to pay this invoice: it will be settled by internal journal recharge to your cost centre" + cc + "."
}

// contactSentence is where to ask about a document, from cfg.
func contactSentence(doc string, cfg Config) string {
	var ways []string
	if e := cfg.Supplier.Email; e != "" {
		ways = append(ways, "email "+e)
	}
	if p := cfg.Supplier.Phone; p != "" {
		ways = append(ways, "call "+p)
	}
	if len(ways) == 0 {
		return ""
	}
	return "Questions about this " + doc + "? Please " + strings.Join(ways, " or ") + "."
}

// RenderInvoicePDF draws inv as an A4 UK VAT invoice: supplier and customer
// as frozen on the invoice at issue, the lines with their VAT rates and any
// exemption reasons, a VAT summary, totals and how to pay (by internal
// journal for a maintained school; otherwise by BACS to cfg.Bank and, when
// payURL is not empty, by card there). The same invoice always gives the
// same bytes. Its errors are internal: a nil invoice or gofpdf's own.
func RenderInvoicePDF(inv *Invoice, cfg Config, payURL string) ([]byte, error) {
	if inv == nil {
		return nil, fmt.Errorf("render invoice pdf: no invoice")
	}
	number, title, ref := inv.Number, "Invoice", "Invoice "+inv.Number
	draft := number == "" || inv.Stored == StatusDraft
	if draft {
		number, title, ref = "Not yet issued", "Draft invoice", "Draft invoice"
	}
	d := newDoc(title, ref, inv.SupplierName, inv.IssueDate, inv.CreatedAt)
	y := d.header(title, inv.SupplierName, inv.SupplierAddress, inv.SupplierVAT, cfg)

	d.meta(pdfMargin+12, [][2]string{
		{"Invoice number", number},
		{"Issue date", humanDate(inv.IssueDate)},
		{"Tax point", humanDate(inv.TaxPoint)},
		{"Due date", humanDate(inv.DueDate)},
	})

	y = max(y, pdfMargin+34) + 7
	top := y
	y = d.customer(y, "Invoice to", inv)
	switch {
	case draft:
		d.amountBox(top, "Total", inv.Total, "Draft: not to be paid")
	case inv.Settlement == "journal":
		d.amountBox(top, "Total", inv.Total, "Settled by internal journal recharge")
	case inv.Balance() <= 0:
		d.amountBox(top, "Amount due", 0, "Nothing is owed on this invoice")
	default:
		// What is left to pay as at the download: a part-paid or part-credited
		// invoice asks only for the rest (the totals below show the sums).
		d.amountBox(top, "Amount due", inv.Balance(), "Please pay by "+humanDate(inv.DueDate))
	}
	y = max(y, top+21) + 8

	var noteList []string
	for _, l := range inv.Lines {
		noteList = append(noteList, l.VATNote)
	}
	notes := newVATNotes(noteList)
	d.columns = invoicePDFColumns
	y = d.tableHead(y)
	for _, l := range inv.Lines {
		y = d.tableRow(y, []string{
			l.Description,
			strconv.Itoa(l.Quantity),
			l.Unit.String(),
			l.Net.String(),
			notes.rate(l.VATTreatment, l.VATRateBP, l.VATNote),
			l.VAT.String(),
		}, 0)
	}
	d.columns = nil
	y = notes.draw(d, y+1)

	// The VAT summary and the totals sit side by side and move to the next
	// page together.
	groups := vatSummary(inv.Lines)
	blockH := 6.5 + 6 + float64(len(groups))*5.5 + 4
	y = d.room(y+5, max(blockH, 6*6+2))
	sy := d.section(y, "VAT summary")
	d.pdf.SetFillColor(pdfFillLt[0], pdfFillLt[1], pdfFillLt[2])
	d.pdf.Rect(pdfMargin, sy, pdfSummaryW, 5.5, "F")
	d.font("B", 8, pdfGrey)
	d.cell(pdfMargin, sy, pdfSummaryW-48, 5.5, "VAT treatment", "L")
	d.cell(pdfMargin+pdfSummaryW-48, sy, 24, 5.5, "Net", "R")
	d.cell(pdfMargin+pdfSummaryW-24, sy, 24, 5.5, "VAT", "R")
	sy += 6
	d.font("", 8.5, pdfInk)
	for _, g := range groups {
		d.cell(pdfMargin, sy, pdfSummaryW-48, 5.5, g.label(), "L")
		d.cell(pdfMargin+pdfSummaryW-48, sy, 24, 5.5, g.net.String(), "R")
		d.cell(pdfMargin+pdfSummaryW-24, sy, 24, 5.5, g.vat.String(), "R")
		sy += 5.5
	}
	rows := [][2]string{
		{"Total net", inv.Net.String()},
		{"Total VAT", inv.VAT.String()},
		{"Total", inv.Total.String()},
	}
	// Credited is the credit notes' credit set against this invoice, so the
	// rows add up to the amount due; credit beyond it is on the account.
	if !draft && (inv.Paid > 0 || inv.CreditAllocated > 0) {
		if inv.CreditAllocated > 0 {
			rows = append(rows, [2]string{"Credited", "-" + inv.CreditAllocated.String()})
		}
		if inv.Paid > 0 {
			rows = append(rows, [2]string{"Paid to date", "-" + inv.Paid.String()})
		}
		rows = append(rows, [2]string{"Amount due", max(inv.Balance(), 0).String()})
	}
	ty := d.totals(y+1, rows)
	y = max(sy, ty) + 8

	if draft {
		d.font("B", 10, pdfBlue)
		d.para(pdfMargin, d.room(y, 10), pdfContentW, 5, "This is a draft. It is not a VAT invoice and should not be paid.", "L")
	} else {
		d.payBox(y, inv, number, cfg, payURL)
	}
	return d.bytes()
}

// payItem is one entry of the payment box: a sentence, or a labelled value
// (bank details, the card link).
type payItem struct {
	label, text, link string
}

// payBox draws how to pay inside a ruled box from y.
func (d *doc) payBox(y float64, inv *Invoice, number string, cfg Config, payURL string) {
	var items []payItem
	if inv.Settlement == "journal" {
		items = append(items, payItem{text: journalSentence(inv)})
	} else {
		b := cfg.Bank
		items = append(items, payItem{text: "Pay by BACS transfer to:"},
			payItem{label: "Account name", text: b.AccountName},
			payItem{label: "Sort code", text: b.SortCode},
			payItem{label: "Account number", text: b.Account})
		if b.BankName != "" {
			items = append(items, payItem{label: "Bank", text: b.BankName})
		}
		items = append(items, payItem{text: "Please quote " + number + " as the reference, so that we can match your payment to this invoice."})
		if payURL != "" {
			items = append(items, payItem{label: "Pay by card:", text: payURL, link: payURL})
		}
	}
	if c := contactSentence("invoice", cfg); c != "" {
		items = append(items, payItem{text: c})
	}
	const textW = pdfContentW - 8
	d.font("", 9, pdfInk)
	h := 2 + 6.5 + 2.5
	for _, it := range items {
		if it.label != "" {
			h += 5.2
		} else {
			h += float64(d.lines(it.text, textW))*4.6 + 0.8
		}
	}
	y = d.room(y, h)
	d.pdf.SetDrawColor(pdfRule[0], pdfRule[1], pdfRule[2])
	d.pdf.SetLineWidth(0.3)
	d.pdf.Rect(pdfMargin, y, pdfContentW, h, "D")
	d.font("B", 10, pdfBlue)
	d.cell(pdfMargin+4, y+2, textW, 5.5, "How to pay", "L")
	y += 2 + 6.5
	x := pdfMargin + 4
	for _, it := range items {
		if it.label == "" {
			d.font("", 9, pdfInk)
			y = d.para(x, y, textW, 4.6, it.text, "L") + 0.8
			continue
		}
		d.font("", 9, pdfGrey)
		d.cell(x+4, y, 30, 4.6, it.label, "L")
		if it.link != "" {
			d.font("", 9, pdfBlue)
		} else {
			d.font("B", 9, pdfInk)
		}
		d.pdf.SetXY(x+36, y)
		pdffont.Cell(d.pdf, textW-36, 4.6, it.text, "L", it.link)
		y += 5.2
	}
}

// RenderCreditNotePDF draws cn, a credit note against inv, as an A4
// document: supplier and customer from the invoice's snapshot, the invoice it
// credits, the reason, the lines credited with their VAT, and totals; cfg
// gives only the contact email and phone. The same credit note always gives
// the same bytes. Its errors are internal: a nil argument, a credit note of
// another invoice, or gofpdf's own.
func RenderCreditNotePDF(cn *CreditNote, inv *Invoice, cfg Config) ([]byte, error) {
	if cn == nil || inv == nil {
		return nil, fmt.Errorf("render credit note pdf: no credit note or invoice")
	}
	if cn.InvoiceNumber != "" && cn.InvoiceNumber != inv.Number {
		return nil, fmt.Errorf("render credit note pdf: credit note %s is of invoice %s, not %s", cn.Number, cn.InvoiceNumber, inv.Number)
	}
	d := newDoc("Credit note", "Credit note "+cn.Number, inv.SupplierName, cn.IssueDate, inv.CreatedAt)
	y := d.header("Credit note", inv.SupplierName, inv.SupplierAddress, inv.SupplierVAT, cfg)
	d.meta(pdfMargin+12, [][2]string{
		{"Credit note number", cn.Number},
		{"Issue date", humanDate(cn.IssueDate)},
		{"Invoice credited", inv.Number},
		{"Invoice date", humanDate(inv.IssueDate)},
	})

	y = max(y, pdfMargin+34) + 7
	top := y
	y = d.customer(y, "Credit to", inv)
	d.amountBox(top, "Total credited", cn.Total, "Credits invoice "+inv.Number)
	y = max(y, top+21) + 8

	d.font("B", 10, pdfBlue)
	d.cell(pdfMargin, y, pdfContentW, 5.5, "Credits invoice "+inv.Number+" of "+humanDate(inv.IssueDate), "L")
	y += 6.5
	d.font("", 9, pdfGrey)
	d.cell(pdfMargin, y, 18, 4.6, "Reason", "L")
	d.font("", 9, pdfInk)
	y = d.para(pdfMargin+18, y, pdfContentW-18, 4.6, cn.Reason, "L") + 6

	byPos := map[int]*Line{}
	for _, l := range inv.Lines {
		byPos[l.Position] = l
	}
	var noteList []string
	for _, cl := range cn.Lines {
		if l := byPos[cl.InvoiceLine]; l != nil {
			noteList = append(noteList, l.VATNote)
		}
	}
	notes := newVATNotes(noteList)
	d.columns = creditPDFColumns
	y = d.tableHead(y)
	for _, cl := range cn.Lines {
		rate := ""
		if l := byPos[cl.InvoiceLine]; l != nil {
			rate = notes.rate(l.VATTreatment, l.VATRateBP, l.VATNote)
		}
		pos := ""
		if cl.InvoiceLine > 0 {
			pos = strconv.Itoa(cl.InvoiceLine)
		}
		y = d.tableRow(y, []string{pos, cl.Description, rate, cl.Net.String(), cl.VAT.String()}, 1)
	}
	d.columns = nil
	y = notes.draw(d, y+1)

	y = d.room(y+4, 3*6+2)
	y = d.totals(y, [][2]string{
		{"Net credited", cn.Net.String()},
		{"VAT credited", cn.VAT.String()},
		{"Total credited", cn.Total.String()},
	}) + 8

	var after []string
	if inv.Settlement == "journal" {
		after = append(after, "This credit note reduces the amount charged on invoice "+inv.Number+
			". As an LA-maintained school, the credit will be returned by internal journal to your cost centre"+
			strings.TrimSuffix(" "+inv.CostCentre, " ")+".")
	} else {
		after = append(after, "This credit note reduces the amount due on invoice "+inv.Number+
			". If you have already paid that invoice, the credit will be refunded to you or set against another invoice.")
	}
	if c := contactSentence("credit note", cfg); c != "" {
		after = append(after, c)
	}
	d.font("", 9, pdfInk)
	h := 0.0
	for _, n := range after {
		h += float64(d.lines(n, pdfContentW))*4.6 + 1.5
	}
	y = d.room(y, h)
	for _, n := range after {
		y = d.para(pdfMargin, y, pdfContentW, 4.6, n, "L") + 1.5
	}
	return d.bytes()
}
