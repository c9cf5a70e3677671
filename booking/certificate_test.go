package booking_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"traded/booking"
	"traded/internal/pdftest"
)

func testCertificate(delegate string) booking.Certificate {
	return booking.Certificate{Delegate: delegate, School: "St Mary’s C of E Primary School", Course: "Phonics screening check: administering the check",
		StartsAt: time.Date(2026, 11, 12, 16, 0, 0, 0, time.UTC), Duration: 90 * time.Minute, Attendance: "attended",
		Reference: "BK-000042", Issuer: "Essex County Council", IssuerDetail: "Traded Services, County Hall, Chelmsford CM1 1QH"}
}

func TestRenderCertificate_Unicode(t *testing.T) {
	for _, name := range []string{"Ŵyn ap Llŷr", "Łukasz Żółć", "Seán Ó Briain", "محمد علي", "Γιώργος Παπαδόπουλος",
		`Siân "Sia" O'Neill’s`, "李小龍", "Amy 😀 Smith"} {
		t.Run(name, func(t *testing.T) {
			b, err := booking.RenderCertificate(testCertificate(name))
			if err != nil {
				t.Fatal(err)
			}
			pdftest.Run(t, "qpdf", "--check", pdftest.File(t, b))
			text := pdftest.Text(t, b)
			for _, want := range []string{name, "St Mary’s C of E Primary School", "Certificate of attendance", "BK-000042"} {
				if !strings.Contains(text, want) {
					t.Errorf("text lacks %q; got:\n%s", want, text)
				}
			}
			for _, bad := range []string{"Â", "â€"} {
				if strings.Contains(text, bad) {
					t.Errorf("text contains %q (UTF-8 drawn as cp1252):\n%s", bad, text)
				}
			}
			pdftest.Fonts(t, b)
			if !bytes.Contains(b, []byte("/Lang (en-GB)")) {
				t.Error("no /Lang (en-GB) in the catalogue")
			}
			again, err := booking.RenderCertificate(testCertificate(name))
			if err != nil || !bytes.Equal(b, again) {
				t.Errorf("two renders differ (err %v)", err)
			}
		})
	}
}

// BenchmarkRenderCertificate renders one certificate of attendance.
func BenchmarkRenderCertificate(b *testing.B) {
	c := testCertificate("Łukasz Żółć")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := booking.RenderCertificate(c); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDurationText(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Minute: "1 minute", 45 * time.Minute: "45 minutes", time.Hour: "1 hour", 2 * time.Hour: "2 hours",
		90 * time.Minute: "1 hour 30 minutes", 121 * time.Minute: "2 hours 1 minute",
	} {
		if got := booking.DurationText(d); got != want {
			t.Errorf("DurationText(%s) = %q, want %q", d, got, want)
		}
	}
}
