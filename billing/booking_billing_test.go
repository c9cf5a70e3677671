package billing_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"traded"
	"traded/account"
	"traded/app"
	"traded/billing"
	"traded/booking"
	"traded/catalogue"
	"traded/demo"
	"traded/pricing"
	"traded/store"
	"traded/store/storetest"
)

// bookedBilling is the demo catalogue, 2026/27 sessions, schools and users,
// with billing as the booking service's Charger.
type bookedBilling struct {
	t     *testing.T
	ctx   context.Context
	db    *store.DB
	clock *traded.FixedClock
	svc   *booking.Service
	bill  *billing.Service
	la    store.Actor
	seq   int
}

func newBookedBilling(t *testing.T) *bookedBilling {
	t.Helper()
	db, clock := storetest.Open(t)
	svc := app.Domains(db).Booking
	svc.Accounts.PasswordCost = 4
	ctx := context.Background()
	if err := demo.LoadBase(ctx, svc); err != nil {
		t.Fatal(err)
	}
	bill := billing.NewService(db, svc.Organisations, svc.Catalogue, billing.DefaultConfig(), nil)
	bill.Users = svc.Accounts
	svc.Charger = bill
	return &bookedBilling{t: t, ctx: ctx, db: db, clock: clock, svc: svc, bill: bill, la: store.Actor{Name: "finance@test"}}
}

func (f *bookedBilling) user(email string) *account.User {
	f.t.Helper()
	u, err := f.svc.Accounts.FindUserByEmail(f.ctx, email)
	if err != nil {
		f.t.Fatalf("user %s: %v", email, err)
	}
	return u
}

func (f *bookedBilling) orgID(urn int64) int64 {
	f.t.Helper()
	o, err := f.svc.Organisations.FindByURN(f.ctx, urn)
	if err != nil {
		f.t.Fatal(err)
	}
	return o.ID
}

// sessionOf returns the 2026/27 demo session of a course.
func (f *bookedBilling) sessionOf(course string) *catalogue.Session {
	f.t.Helper()
	year := pricing.AcademicYear(2026)
	sessions, err := f.svc.Catalogue.FindSessions(f.ctx, catalogue.SessionFilter{Year: &year})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, s := range sessions {
		if s.CourseCode == course {
			return s
		}
	}
	f.t.Fatalf("no 2026/27 session of %s", course)
	return nil
}

func (f *bookedBilling) book(by *account.User, urn int64, course string, n int) *booking.Booking {
	f.t.Helper()
	var ds []booking.DelegateInput
	for i := 0; i < n; i++ {
		ds = append(ds, booking.DelegateInput{Name: fmt.Sprintf("Staff %s %d", course, i+1), Email: fmt.Sprintf("%s-%d@school%d.example", course, i+1, urn)})
	}
	b, err := f.svc.CreateBooking(f.ctx, by, "", booking.BookingRequest{SessionID: f.sessionOf(course).ID, URN: urn, Delegates: ds})
	if err != nil {
		f.t.Fatalf("book %d on %s: %v", n, course, err)
	}
	return b
}

func (f *bookedBilling) reload(id int64) *booking.Booking {
	f.t.Helper()
	b, err := f.svc.FindBookingByID(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *bookedBilling) bookingInvoices() int {
	f.t.Helper()
	var n int
	if err := f.db.Read().QueryRowContext(f.ctx, `SELECT count(*) FROM invoices WHERE source = 'booking'`).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// TestService_InvoiceMonthlyBookings: a school invoiced monthly gets one
// invoice a month for the paid charges of bookings confirmed before the
// month began, never twice.
func TestService_InvoiceMonthlyBookings(t *testing.T) {
	f := newBookedBilling(t)
	manager := f.user("manager@chelmervalley.example")
	academy := f.user("manager@basildonmeadows.example")
	for _, urn := range []int64{990001, 990004} {
		if err := f.svc.Organisations.SetBookingSettings(f.ctx, f.la, f.orgID(urn), "monthly", false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.bill.BuySubscription(f.ctx, f.la, 990001, 2026, ""); err != nil {
		t.Fatal(err)
	}

	// Sunday 22 November 2026. Chelmer Valley (maintained, subscriber):
	psa3 := f.book(manager, 990001, "psa-ks2-taf", 3)         // 2 included + 1 paid place: £56.93
	mod2 := f.book(manager, 990001, "mod-y2-new", 2)          // subscriber first £41.40 + additional £10.35
	free := f.book(manager, 990001, "psa-y2-refresher", 2)    // entitlement only: £0
	late := f.book(manager, 990001, "psa-ks1-taf", 3)         // Thu 3 Dec: free cancellation ended 19 Nov
	early := f.book(manager, 990001, "mod-y2-experienced", 1) // cancelled in the free window
	// Basildon Meadows (academy, not a subscriber):
	acad := f.book(academy, 990004, "psa-ks2-taf", 1) // £67.28

	t.Run("NoInvoiceUntilTheRun", func(t *testing.T) {
		for _, b := range []*booking.Booking{psa3, mod2, free, late, early, acad} {
			if b.InvoiceID != 0 || b.InvoiceNumber != "" {
				t.Errorf("booking %s: got invoice %q, want none before the monthly run", b.Reference, b.InvoiceNumber)
			}
			for _, c := range b.Charges {
				if c.InvoiceID != 0 {
					t.Errorf("booking %s charge %d: got invoice %d, want none", b.Reference, c.Position, c.InvoiceID)
				}
			}
		}
		if want := []pricing.Money{5693, 4140 + 1035, 0, 5693, 4140, 6728}; psa3.Price != want[0] || mod2.Price != want[1] ||
			free.Price != want[2] || late.Price != want[3] || early.Price != want[4] || acad.Price != want[5] {
			t.Errorf("prices: got %s %s %s %s %s %s, want %v", psa3.Price, mod2.Price, free.Price, late.Price, early.Price, acad.Price, want)
		}
		if n := f.bookingInvoices(); n != 0 {
			t.Errorf("booking invoices: got %d, want 0", n)
		}
	})
	t.Run("CancelLate_StillBilled_CancelEarly_NotBilled", func(t *testing.T) {
		if err := f.svc.CancelBooking(f.ctx, manager, "", late.ID, "changed plans"); err != nil {
			t.Fatal(err)
		}
		if b := f.reload(late.ID); !b.LateCancel {
			t.Errorf("booking %s: got late_cancel false, want true", b.Reference)
		}
		if err := f.svc.CancelBooking(f.ctx, manager, "", early.ID, "changed plans"); err != nil {
			t.Fatal(err)
		}
		if b := f.reload(early.ID); b.LateCancel {
			t.Errorf("booking %s: got late_cancel true, want false", b.Reference)
		}
	})

	var run *billing.MonthlyRun
	f.clock.Set(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	dec := billing.StartOfMonth(f.clock.Now())
	// Tuesday 1 December: booked after the month began, so billed in January.
	december := f.book(academy, 990004, "mod-y2-new", 1)

	t.Run("DecemberRun_OneInvoicePerSchool", func(t *testing.T) {
		if want := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC); !dec.Equal(want) {
			t.Errorf("start of month: got %s, want %s", dec, want)
		}
		var err error
		run, err = f.bill.InvoiceMonthlyBookings(f.ctx, f.la, dec)
		if err != nil {
			t.Fatal(err)
		}
		if len(run.Invoices) != 2 || run.Bookings != 4 {
			t.Fatalf("run: got %d invoices for %d bookings, want 2 for 4", len(run.Invoices), run.Bookings)
		}
		byURN := map[int64]*billing.Invoice{}
		for _, num := range run.Invoices {
			inv, err := f.bill.FindInvoiceByNumber(f.ctx, num)
			if err != nil {
				t.Fatal(err)
			}
			byURN[inv.CustomerURN] = inv
		}
		cv := byURN[990001]
		if cv == nil {
			t.Fatalf("no invoice for 990001 in %v", run.Invoices)
		}
		wantTotal := pricing.Money(5693 + 4140 + 1035 + 5693)
		if cv.Total != wantTotal || cv.VAT != 0 || cv.Source != "booking" || cv.IssueDate != "2026-12-01" {
			t.Errorf("990001 invoice %s: got total %s VAT %s source %s issued %s, want %s, £0.00, booking, 2026-12-01",
				cv.Number, cv.Total, cv.VAT, cv.Source, cv.IssueDate, wantTotal)
		}
		if len(cv.Lines) != 4 {
			t.Errorf("990001 invoice lines: got %d, want 4 (psa place, moderation first + additional, late-cancelled place)", len(cv.Lines))
		}
		for _, l := range cv.Lines {
			if l.Unit == 0 || l.VATTreatment != "exempt" {
				t.Errorf("990001 line %d %q: got unit %s VAT %s, want a paid, exempt line", l.Position, l.Description, l.Unit, l.VATTreatment)
			}
			for _, b := range []*booking.Booking{free, early} {
				if strings.Contains(l.Description, b.Reference) {
					t.Errorf("990001 line %d bills booking %s (%s), want not", l.Position, b.Reference, l.Description)
				}
			}
		}
		if a := byURN[990004]; a == nil || a.Total != 6728 || len(a.Lines) != 1 {
			t.Errorf("990004 invoice: got %+v, want one line of £67.28", a)
		}
		for _, b := range []*booking.Booking{psa3, mod2, late} {
			got := f.reload(b.ID)
			if got.InvoiceID != cv.ID || got.InvoiceNumber != cv.Number {
				t.Errorf("booking %s: got invoice %q, want %s", got.Reference, got.InvoiceNumber, cv.Number)
			}
			for _, c := range got.Charges {
				if c.Amount > 0 && c.InvoiceID != cv.ID {
					t.Errorf("booking %s charge %d: got invoice id %d, want %d", got.Reference, c.Position, c.InvoiceID, cv.ID)
				}
			}
		}
		for _, b := range []*booking.Booking{free, early, december} {
			if got := f.reload(b.ID); got.InvoiceID != 0 {
				t.Errorf("booking %s: got invoice %q, want none", got.Reference, got.InvoiceNumber)
			}
		}
	})
	t.Run("NeverTwice", func(t *testing.T) {
		again, err := f.bill.InvoiceMonthlyBookings(f.ctx, f.la, dec)
		if err != nil {
			t.Fatal(err)
		}
		if len(again.Invoices) != 0 || again.Bookings != 0 {
			t.Errorf("same month again: got %v for %d bookings, want nothing", again.Invoices, again.Bookings)
		}
		f.clock.Set(time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC))
		jan, err := f.bill.InvoiceMonthlyBookings(f.ctx, f.la, billing.StartOfMonth(f.clock.Now()))
		if err != nil {
			t.Fatal(err)
		}
		// Only the booking made on 1 December is new.
		if len(jan.Invoices) != 1 || jan.Bookings != 1 {
			t.Fatalf("January run: got %v for %d bookings, want 1 invoice for 1", jan.Invoices, jan.Bookings)
		}
		if got := f.reload(december.ID); got.InvoiceNumber != jan.Invoices[0] {
			t.Errorf("booking %s: got invoice %q, want %s", got.Reference, got.InvoiceNumber, jan.Invoices[0])
		}
		feb, err := f.bill.InvoiceMonthlyBookings(f.ctx, f.la, time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		if len(feb.Invoices) != 0 {
			t.Errorf("February run: got %v, want nothing", feb.Invoices)
		}
		if n := f.bookingInvoices(); n != 3 {
			t.Errorf("booking invoices in all: got %d, want 3", n)
		}
	})
	t.Run("EntitlementOnlyNeverInvoiced", func(t *testing.T) {
		var n int
		if err := f.db.Read().QueryRow(`SELECT count(*) FROM booking_charges c JOIN invoiced_charges ic
			ON ic.booking_id = c.booking_id AND ic.position = c.position WHERE c.amount_pence = 0`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("£0 charges on invoices: got %d, want 0", n)
		}
		f.db.Read().QueryRow(`SELECT count(*) FROM invoice_lines WHERE unit_pence = 0`).Scan(&n)
		if n != 0 {
			t.Errorf("£0 invoice lines: got %d, want 0", n)
		}
	})
}

// TestService_InvoiceMonthlyBookings_PlaceCancelledInFreeWindow: a school
// invoiced monthly that cancels one place of a booking before the
// free-cancellation cut-off, and before the monthly run, must not be billed
// for that place (a per-booking school would get a credit note for it).
func TestService_InvoiceMonthlyBookings_PlaceCancelledInFreeWindow(t *testing.T) {
	for _, tt := range []struct {
		name   string
		course string
		n      int
		want   pricing.Money // the price of the places left
	}{
		{"Moderation3To2", "mod-y2-new", 3, 6210 + 1553},
		{"PSA3To2", "psa-ks2-taf", 3, 5693},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newBookedBilling(t)
			manager := f.user("manager@chelmervalley.example")
			if err := f.svc.Organisations.SetBookingSettings(f.ctx, f.la, f.orgID(990001), "monthly", false); err != nil {
				t.Fatal(err)
			}
			b := f.book(manager, 990001, tt.course, tt.n)
			if err := f.svc.CancelPlace(f.ctx, manager, "", b.ID, b.Delegates[tt.n-1].ID); err != nil {
				t.Fatal(err)
			}
			f.clock.Set(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
			run, err := f.bill.InvoiceMonthlyBookings(f.ctx, f.la, billing.StartOfMonth(f.clock.Now()))
			if err != nil {
				t.Fatal(err)
			}
			if len(run.Invoices) != 1 {
				t.Fatalf("run: got %v, want one invoice", run.Invoices)
			}
			inv, err := f.bill.FindInvoiceByNumber(f.ctx, run.Invoices[0])
			if err != nil {
				t.Fatal(err)
			}
			if billed := inv.Total - inv.Credited; billed != tt.want {
				t.Errorf("billed for %d staff after 1 of %d cancelled free: got %s, want %s", tt.n-1, tt.n, billed, tt.want)
			}
		})
	}
}

// A booking whose invoice line finance has already credited in part (or in
// full) by hand can still be cancelled: its credit note takes back what is
// left of the line, and no more.
func TestService_CancelBookingAfterAManualCredit(t *testing.T) {
	for _, tt := range []struct {
		name   string
		manual pricing.Money // credited by hand first; 0 means the whole line
	}{
		{"PartCredited", 1000},
		{"FullyCredited", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newBookedBilling(t)
			manager := f.user("manager@leighcliffs.example") // external, invoiced per booking
			b := f.book(manager, 990007, "psa-ks2-taf", 1)
			if b.InvoiceNumber == "" {
				t.Fatalf("booking %s was not invoiced", b.Reference)
			}
			inv, err := f.bill.FindInvoiceByNumber(f.ctx, b.InvoiceNumber)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.bill.CreateCreditNote(f.ctx, f.la, inv.Number, billing.CreditInput{Reason: "goodwill",
				Lines: []billing.CreditLineInput{{Position: 1, Amount: tt.manual}}}); err != nil {
				t.Fatal(err)
			}
			if err := f.svc.CancelBooking(f.ctx, manager, "", b.ID, "no longer needed"); err != nil {
				t.Fatalf("cancel after a manual credit: %v", err)
			}
			inv, err = f.bill.FindInvoiceByNumber(f.ctx, inv.Number)
			if err != nil {
				t.Fatal(err)
			}
			if inv.Credited != inv.Total {
				t.Errorf("invoice %s: %s credited of %s, want all of it and no more", inv.Number, inv.Credited, inv.Total)
			}
		})
	}
}
