package booking

import (
	"fmt"
	"time"

	"traded"
	"traded/internal/gofpdf"
	"traded/internal/pdffont"
)

// Certificate is what a certificate of attendance says.
type Certificate struct {
	Delegate     string
	School       string
	Course       string
	StartsAt     time.Time
	Duration     time.Duration
	Attendance   string // attended or partial
	Reference    string // booking reference
	Issuer       string // the council
	IssuerDetail string
}

// RenderCertificate draws an A4 landscape certificate of attendance with
// gofpdf, in DejaVu Sans (internal/pdffont: a delegate's name prints as
// written, in any script the font covers, and reads back exactly). The same
// certificate always gives the same bytes. Its errors are gofpdf's own.
func RenderCertificate(c Certificate) ([]byte, error) {
	pdf := gofpdf.New("L", "mm", "A4", "")
	pdffont.Add(pdf)
	stamp := time.Date(c.StartsAt.Year(), c.StartsAt.Month(), c.StartsAt.Day(), 0, 0, 0, 0, time.UTC)
	pdf.SetCreationDate(stamp)
	pdf.SetModificationDate(stamp)
	pdf.SetCatalogSort(true)
	pdf.SetTitle("Certificate of attendance", true)
	pdf.SetAuthor(c.Issuer, true)
	pdf.SetMargins(20, 20, 20)
	pdf.SetAutoPageBreak(false, 0)
	pdf.AddPage()
	w, h := pdf.GetPageSize()

	pdf.SetDrawColor(0, 48, 120)
	pdf.SetLineWidth(1.2)
	pdf.Rect(10, 10, w-20, h-20, "D")
	pdf.SetLineWidth(0.3)
	pdf.Rect(13, 13, w-26, h-26, "D")

	center := func(y float64, size float64, style, text string, r, g, b int) {
		pdf.SetFont(pdffont.Family(style), "", size)
		pdf.SetTextColor(r, g, b)
		pdf.SetXY(20, y)
		pdffont.Cell(pdf, w-40, size*0.5, text, "C", "")
	}
	center(28, 16, "B", c.Issuer, 0, 48, 120)
	center(40, 32, "B", "Certificate of attendance", 11, 12, 12)
	center(62, 14, "", "This is to certify that", 80, 80, 80)
	center(76, 28, "B", c.Delegate, 11, 12, 12)
	center(94, 14, "", "of "+c.School, 80, 80, 80)
	what := "attended"
	if c.Attendance == "partial" {
		what = "attended part of"
	}
	center(110, 14, "", what, 80, 80, 80)
	pdf.SetFont(pdffont.Family("B"), "", 18)
	pdf.SetTextColor(11, 12, 12)
	pdf.SetXY(30, 120)
	pdffont.MultiCell(pdf, w-60, 9, c.Course, "C")
	start := c.StartsAt.In(traded.London)
	end := start.Add(c.Duration)
	center(pdf.GetY()+6, 14, "", fmt.Sprintf("on %s, %s to %s", start.Format("Monday 2 January 2006"),
		start.Format("3:04pm"), end.Format("3:04pm")), 80, 80, 80)

	center(pdf.GetY()+12, 12, "", "Duration: "+durationText(c.Duration), 80, 80, 80)
	center(h-40, 10, "", c.IssuerDetail, 100, 100, 100)
	center(h-32, 10, "", "Booking reference "+c.Reference, 100, 100, 100)

	b, err := pdffont.Output(pdf)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	return b, nil
}

func durationText(d time.Duration) string {
	m := int(d.Minutes())
	unit := func(n int, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	switch h, rest := m/60, m%60; {
	case h == 0:
		return unit(rest, "minute", "minutes")
	case rest == 0:
		return unit(h, "hour", "hours")
	default:
		return unit(h, "hour", "hours") + " " + unit(rest, "minute", "minutes")
	}
}
