package billing

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"traded/internal/pdftest"
	"traded/pricing"
)

const exemptNote = "Exempt: education and vocational training supplied by a local authority (VAT Act 1994, Sch. 9 Group 6)"

// testPDFConfig is the council with bank details unlike the defaults, so a
// test cannot pass on placeholders.
func testPDFConfig() Config {
	cfg := DefaultConfig()
	cfg.Bank = Bank{AccountName: "Essex County Council Traded Services", SortCode: "20-45-77", Account: "43219876", BankName: "Barclays Bank plc"}
	return cfg
}

// testPDFInvoice is an issued BACS invoice with an exempt subscription, a
// standard-rated consultancy line and a zero-rated line: net £1,251.00, VAT
// £180.00, total £1,431.00.
func testPDFInvoice() *Invoice {
	lines := []*Line{
		{Position: 1, ProductCode: "psa-subscription", Quantity: 1, Unit: 31500, Net: 31500, VATTreatment: "exempt", VATNote: exemptNote,
			Description: "Primary Statutory Assessment annual subscription 2026/27: up to 2 members of staff at each of the 10 one-hour virtual training sessions of the academic year"},
		{Position: 2, ProductCode: "consultancy", Quantity: 2, Unit: 45000, Net: 90000, VATTreatment: "standard", VATRateBP: 2000, VAT: 18000,
			Description: "School improvement consultancy: bespoke curriculum review (half day)"},
		{Position: 3, ProductCode: "moderation-pack", Quantity: 3, Unit: 1200, Net: 3600, VATTreatment: "zero",
			Description: "Printed KS2 moderation exemplification pack"},
	}
	inv := &Invoice{
		ID: 7, Number: "TS-000123", OrganisationID: 3, Stored: StatusIssued, Source: "order", AcademicYear: "2026/27",
		PONumber: "PO-4471/26", Settlement: "bacs_or_card", CustomerURN: 114987,
		CustomerName:    "St Mary’s C of E Primary School",
		CustomerAddress: []string{"Church Lane", "Great Baddow", "Chelmsford", "Essex", "CM2 7AA"},
		CustomerTier:    pricing.Academy,
		SupplierName:    "Essex County Council",
		SupplierAddress: []string{"County Hall", "Market Road", "Chelmsford", "Essex", "CM1 1QH"},
		SupplierVAT:     "GB 123 4567 89",
		IssueDate:       "2026-10-23", TaxPoint: "2026-10-23", DueDate: "2026-11-22",
		Lines: lines,
	}
	for _, l := range lines {
		inv.Net += l.Net
		inv.VAT += l.VAT
	}
	inv.Total = inv.Net + inv.VAT
	return inv
}

// needTool fails, never skips, when a checker is missing: a PDF test that
// silently checks nothing is worse than a red one.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed on CI: apt-get install -y poppler-utils qpdf", name)
		}
		t.Fatalf("%s is not installed: apt-get install -y poppler-utils qpdf", name)
	}
	return p
}

// pdfFile writes b to a file in a temporary directory.
func pdfFile(t *testing.T, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if s := os.Getenv("PDF_SAMPLE_DIR"); s != "" {
		// For looking at: PDF_SAMPLE_DIR=/tmp/x go test -run PDF ./billing
		name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()) + ".pdf"
		if err := os.WriteFile(filepath.Join(s, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(needTool(t, name), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// pdfText is what poppler reads from a PDF.
type pdfText struct {
	layout string // pdftotext -layout: the page's columns kept
	raw    string // pdftotext -raw, whitespace collapsed: wrapped text whole
	pages  string // pdfinfo's Pages
}

func (p pdfText) String() string { return p.layout }

func (p pdfText) has(s string) bool {
	return strings.Contains(p.layout, s) || strings.Contains(p.raw, s)
}

// checkPDF runs the PDF through qpdf and poppler and returns its text; it
// fails the test on a malformed file, a page that is not A4 or text
// mis-encoded as UTF-8 read as cp1252.
func checkPDF(t *testing.T, b []byte) pdfText {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("got %q..., want a PDF", b[:min(len(b), 20)])
	}
	path := pdfFile(t, b)
	run(t, "qpdf", "--check", path)
	info := run(t, "pdfinfo", path)
	if !strings.Contains(info, "595.28 x 841.89 pts (A4)") {
		t.Errorf("pdfinfo: got\n%s\nwant page size 595.28 x 841.89 pts (A4)", info)
	}
	pages := ""
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(l, "Pages:"); ok {
			pages = strings.TrimSpace(v)
		}
	}
	// The layout text keeps the page's columns; the raw text, with its
	// whitespace collapsed, keeps a wrapped description or sentence whole.
	text := run(t, "pdftotext", "-layout", path, "-")
	raw := strings.Join(strings.Fields(run(t, "pdftotext", "-raw", path, "-")), " ")
	for _, bad := range []string{"Â", "â€"} {
		if strings.Contains(text, bad) || strings.Contains(raw, bad) {
			t.Errorf("text contains %q (UTF-8 drawn as cp1252):\n%s", bad, text)
		}
	}
	return pdfText{layout: text, raw: raw, pages: pages}
}

// wantText asserts that text, from checkPDF, holds each of want.
func wantText(t *testing.T, text pdfText, want ...string) {
	t.Helper()
	for _, w := range want {
		if !text.has(w) {
			t.Errorf("text lacks %q; got:\n%s", w, text)
		}
	}
}

func wantNoText(t *testing.T, text pdfText, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if text.has(w) {
			t.Errorf("text contains %q, want it absent; got:\n%s", w, text)
		}
	}
}

func TestRenderInvoicePDF(t *testing.T) {
	cfg := testPDFConfig()
	const payURL = "https://traded.essex.gov.uk/invoices/TS-000123"

	t.Run("VATInvoice", func(t *testing.T) {
		inv := testPDFInvoice()
		b, err := RenderInvoicePDF(inv, cfg, payURL)
		if err != nil {
			t.Fatal(err)
		}
		text := checkPDF(t, b)
		if text.pages != "1" {
			t.Errorf("got %s pages, want 1", text.pages)
		}
		wantText(t, text,
			"Invoice", "TS-000123",
			"Essex County Council", "County Hall", "CM1 1QH", "VAT registration number: GB 123 4567 89",
			"23 October 2026", "22 November 2026", "Tax point",
			"St Mary’s C of E Primary School", "Church Lane", "CM2 7AA", "URN 114987", "PO-4471/26",
			inv.Lines[0].Description,
			"School improvement consultancy: bespoke curriculum review (half day)",
			"Printed KS2 moderation exemplification pack",
			"£315.00", "£450.00", "£900.00", "£180.00", "£36.00", "£12.00",
			"Exempt", "20%", "0%", exemptNote,
			"Standard rated at 20%", "Zero rated (0%)",
			"£1,251.00", "£1,431.00",
			"Essex County Council Traded Services", "20-45-77", "43219876",
			"quote TS-000123 as the reference",
			"Pay by card:", payURL,
			"traded.services@essex.gov.uk",
			"Page 1 of 1",
		)
		// The long description wraps (MultiCell) rather than running into Qty.
		if d := inv.Lines[0].Description; strings.Contains(text.layout, d) || !strings.Contains(text.raw, d) {
			t.Errorf("long description did not wrap whole:\n%s", text)
		}
	})

	t.Run("NoCardLink", func(t *testing.T) {
		text := checkPDF(t, renderInvoice(t, testPDFInvoice(), cfg, ""))
		wantText(t, text, "20-45-77", "quote TS-000123 as the reference")
		wantNoText(t, text, "Pay by card", "/invoices/")
	})

	t.Run("Journal", func(t *testing.T) {
		inv := testPDFInvoice()
		inv.Settlement, inv.CostCentre, inv.PONumber = "journal", "E4521-3310", ""
		text := checkPDF(t, renderInvoice(t, inv, cfg, ""))
		if text.pages != "1" {
			t.Errorf("got %s pages, want 1", text.pages)
		}
		wantText(t, text, "internal journal recharge", "cost centre E4521-3310", "£1,431.00")
		wantNoText(t, text, "BACS", "Sort code", "20-45-77", "43219876", "Pay by card", "Purchase order")
	})

	t.Run("PartPaidAndCredited", func(t *testing.T) {
		// Total £1,431.00, £100.00 credited and £331.00 paid: the box asks
		// for the £1,000.00 left, and the totals show how it got there.
		inv := testPDFInvoice()
		inv.Paid, inv.Credited, inv.CreditAllocated = 33100, 10000, 10000
		text := checkPDF(t, renderInvoice(t, inv, cfg, payURL))
		if text.pages != "1" {
			t.Errorf("got %s pages, want 1", text.pages)
		}
		wantText(t, text, "Credited", "-£100.00", "Paid to date", "-£331.00", "£1,000.00", "£1,431.00")
		if box := strings.SplitN(text.layout, "Please pay by", 2)[0]; !strings.Contains(box, "£1,000.00") || strings.Contains(box, "£1,431.00") {
			t.Errorf("the amount due above the lines is not what is left to pay:\n%s", text)
		}
	})

	t.Run("PaidInFull", func(t *testing.T) {
		inv := testPDFInvoice()
		inv.Paid = inv.Total
		text := checkPDF(t, renderInvoice(t, inv, cfg, payURL))
		wantText(t, text, "Nothing is owed on this invoice", "Paid to date", "£0.00")
		wantNoText(t, text, "Please pay by")
	})

	t.Run("Deterministic", func(t *testing.T) {
		a := renderInvoice(t, testPDFInvoice(), cfg, payURL)
		b := renderInvoice(t, testPDFInvoice(), cfg, payURL)
		if !bytes.Equal(a, b) {
			t.Fatalf("two renders differ (%d and %d bytes)", len(a), len(b))
		}
		if !bytes.Contains(a, []byte("D:20261023000000")) {
			t.Errorf("creation date is not the issue date")
		}
	})

	t.Run("SupplierFromSnapshot", func(t *testing.T) {
		// The council moves and re-registers after issue: the invoice
		// re-renders as sent.
		before := renderInvoice(t, testPDFInvoice(), cfg, payURL)
		moved := cfg
		moved.Supplier.Name = "Essex County Council (new)"
		moved.Supplier.Address = []string{"Somewhere else"}
		moved.Supplier.VATNumber = "GB 999 9999 99"
		after := renderInvoice(t, testPDFInvoice(), moved, payURL)
		if !bytes.Equal(before, after) {
			text := checkPDF(t, after)
			t.Fatalf("supplier changed in config changed an issued invoice:\n%s", text)
		}
	})

	t.Run("TwoPages", func(t *testing.T) {
		inv := testPDFInvoice()
		inv.Lines, inv.Net, inv.VAT = nil, 0, 0
		for i := 1; i <= 40; i++ {
			l := &Line{Position: i, Quantity: 1, Unit: 5500, Net: 5500, VATTreatment: "exempt", VATNote: exemptNote,
				Description: fmt.Sprintf("PSA training session %d: one place, up to 2 staff", i)}
			if i%4 == 0 {
				l.VATTreatment, l.VATRateBP, l.VAT, l.VATNote = "standard", 2000, 1100, ""
			}
			inv.Lines = append(inv.Lines, l)
			inv.Net += l.Net
			inv.VAT += l.VAT
		}
		inv.Total = inv.Net + inv.VAT
		text := checkPDF(t, renderInvoice(t, inv, cfg, payURL))
		if text.pages != "2" {
			t.Errorf("got %s pages, want 2", text.pages)
		}
		wantText(t, text, "Page 1 of 2", "Page 2 of 2", "Invoice (continued)",
			"PSA training session 1:", "PSA training session 40:",
			inv.Total.String(), "quote TS-000123 as the reference")
		// The table header repeats on page 2.
		if n := strings.Count(text.layout, "Unit price"); n != 2 {
			t.Errorf("got %d table headers, want 2", n)
		}
	})

	t.Run("Draft", func(t *testing.T) {
		inv := testPDFInvoice()
		inv.Number, inv.Stored, inv.IssueDate, inv.TaxPoint, inv.DueDate = "", StatusDraft, "", "", ""
		text := checkPDF(t, renderInvoice(t, inv, cfg, payURL))
		wantText(t, text, "Draft invoice", "Not yet issued", "should not be paid")
		wantNoText(t, text, "How to pay", "Pay by card", "as the reference")
	})

	t.Run("NilInvoice", func(t *testing.T) {
		if _, err := RenderInvoicePDF(nil, cfg, ""); err == nil {
			t.Fatal("got no error for a nil invoice")
		}
	})
}

func TestRenderCreditNotePDF(t *testing.T) {
	cfg := testPDFConfig()
	inv := testPDFInvoice()
	cn := &CreditNote{
		ID: 1, Number: "CN-000004", InvoiceID: inv.ID, InvoiceNumber: inv.Number, Customer: inv.CustomerName, CustomerURN: inv.CustomerURN,
		Reason:    "Consultancy half day on 12 November 2026 cancelled by the LA (consultant unwell).",
		IssueDate: "2026-11-14", Net: 45000, VAT: 9000, Total: 54000,
		Lines: []CreditNoteLine{{InvoiceLine: 2, Description: inv.Lines[1].Description, Net: 45000, VAT: 9000}},
	}
	b, err := RenderCreditNotePDF(cn, inv, cfg)
	if err != nil {
		t.Fatal(err)
	}
	text := checkPDF(t, b)
	if text.pages != "1" {
		t.Errorf("got %s pages, want 1", text.pages)
	}
	wantText(t, text, "Credit note", "CN-000004", "Credits invoice TS-000123", "14 November 2026",
		"consultant unwell", "School improvement consultancy: bespoke curriculum review (half day)",
		"£450.00", "£90.00", "£540.00", "20%",
		"Essex County Council", "VAT registration number: GB 123 4567 89",
		"St Mary’s C of E Primary School", "URN 114987", "Page 1 of 1")
	wantNoText(t, text, "How to pay")

	if again, err := RenderCreditNotePDF(cn, inv, cfg); err != nil || !bytes.Equal(b, again) {
		t.Errorf("two renders differ (err %v)", err)
	}
	other := *cn
	other.InvoiceNumber = "TS-000999"
	if _, err := RenderCreditNotePDF(&other, inv, cfg); err == nil {
		t.Error("got no error for a credit note of another invoice")
	}
}

func renderInvoice(t *testing.T, inv *Invoice, cfg Config, payURL string) []byte {
	t.Helper()
	b, err := RenderInvoicePDF(inv, cfg, payURL)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// BenchmarkRenderInvoicePDF renders the three-line invoice; compare its
// invoices/s with a headless browser's print to PDF.
func BenchmarkRenderInvoicePDF(b *testing.B) {
	inv, cfg := testPDFInvoice(), testPDFConfig()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := RenderInvoicePDF(inv, cfg, "https://traded.essex.gov.uk/invoices/TS-000123"); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "invoices/s")
}

func TestPDFFormatting(t *testing.T) {
	for bp, want := range map[int64]string{2000: "20%", 1750: "17.5%", 500: "5%", 1: "0.01%", 0: "0%"} {
		if got := percent(bp); got != want {
			t.Errorf("percent(%d): got %q, want %q", bp, got, want)
		}
	}
	for in, want := range map[string]string{"2026-11-22": "22 November 2026", "2027-01-05": "5 January 2027", "": "", "soon": "soon"} {
		if got := humanDate(in); got != want {
			t.Errorf("humanDate(%q): got %q, want %q", in, got, want)
		}
	}

	t.Run("TwoVATNotes", func(t *testing.T) {
		// With two reasons for no VAT, each line points at its own.
		inv := testPDFInvoice()
		inv.Lines[2].VATTreatment, inv.Lines[2].VATNote = "outside_scope", "Outside the scope of VAT: statutory work of the LA"
		text := checkPDF(t, renderInvoice(t, inv, testPDFConfig(), ""))
		wantText(t, text, "Exempt (1)", "Out of scope (2)", "(1) "+exemptNote, "(2) Outside the scope of VAT: statutory work of the LA",
			"Outside the scope of VAT")
	})
}

// unicodeNames are people and schools whose names cp1252 Helvetica printed
// with dots.
var unicodeNames = []string{
	"Ŵyn ap Llŷr", "Łukasz Żółć", "Seán Ó Briain", "محمد علي", "Γιώργος Παπαδόπουλος",
	`Ysgol "Y Ddôl" and O'Neill’s`, "李小龍", "Amy 😀 Smith",
}

func TestRenderPDF_Unicode(t *testing.T) {
	cfg := testPDFConfig()
	for _, name := range unicodeNames {
		t.Run(name, func(t *testing.T) {
			inv := testPDFInvoice()
			inv.CustomerName = name + " Primary School"
			inv.Lines[1].Description = "Consultancy for " + name
			b := renderInvoice(t, inv, cfg, "")
			checkPDF(t, b)
			text := pdftest.Text(t, b)
			// The customer's name is the name and " Primary School": poppler
			// loses the space where Arabic meets English on one line, so
			// the name is looked for on its own there.
			for _, want := range []string{name, inv.Lines[1].Description} {
				if !strings.Contains(text, want) {
					t.Errorf("invoice text lacks %q; got:\n%s", want, text)
				}
			}
			if again := renderInvoice(t, inv, cfg, ""); !bytes.Equal(b, again) {
				t.Errorf("two renders differ (%d and %d bytes)", len(b), len(again))
			}
			if len(b) > 60_000 {
				t.Errorf("invoice is %d bytes, want at most 60,000", len(b))
			}
			pdftest.Fonts(t, b)
			if !bytes.Contains(b, []byte("/Lang (en-GB)")) {
				t.Error("no /Lang (en-GB) in the catalogue")
			}

			cn := &CreditNote{Number: "CN-000005", InvoiceNumber: inv.Number, IssueDate: "2026-11-14",
				Reason: "Cancelled for " + name, Net: 45000, VAT: 9000, Total: 54000,
				Lines: []CreditNoteLine{{InvoiceLine: 2, Description: inv.Lines[1].Description, Net: 45000, VAT: 9000}}}
			cb, err := RenderCreditNotePDF(cn, inv, cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkPDF(t, cb)
			ctext := pdftest.Text(t, cb)
			for _, want := range []string{name, cn.Reason, cn.Lines[0].Description} {
				if !strings.Contains(ctext, want) {
					t.Errorf("credit note text lacks %q; got:\n%s", want, ctext)
				}
			}
			pdftest.Fonts(t, cb)
		})
	}
}
