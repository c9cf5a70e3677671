package booking_test

import (
	"testing"
	"time"

	"traded/catalogue"
	"traded/store"
)

// TestService_FreeCancellationAcrossOneOffHoliday: a bank holiday an admin
// adds moves the free-cancellation deadlines counted across it one working
// day earlier, and a cancellation that was free becomes late.
func TestService_FreeCancellationAcrossOneOffHoliday(t *testing.T) {
	f := newBookingFixture(t)
	admin := store.Actor{Name: adminEmail}
	// Thu 24 June 2027 16:00 BST: 10 working days back is Thu 10 June, so
	// free cancellation ends at midnight BST, 23:00 UTC.
	sess, err := f.svc.Catalogue.CreateSession(f.ctx, f.la, catalogue.SessionInput{CourseCode: "psa-briefing-summer",
		StartsAt: time.Date(2027, 6, 24, 15, 0, 0, 0, time.UTC), Duration: time.Hour, Capacity: 10})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Date(2027, 6, 10, 23, 0, 0, 0, time.UTC)
	if got := f.svc.FreeCancellationUntil(sess); !got.Equal(before) {
		t.Fatalf("free cancellation until: got %s, want %s", got, before)
	}
	manager := f.user(managerMaintained)
	b := f.book(manager, urnMaintained, sess.ID, false, "oneoff@chelmervalley.example")

	// Fri 11 June 2027 is proclaimed a bank holiday: back to Wed 9 June.
	if _, err := f.svc.Catalogue.AddBankHoliday(f.ctx, admin, catalogue.BankHolidayInput{Date: "2027-06-11", Name: "Proclaimed bank holiday"}); err != nil {
		t.Fatal(err)
	}
	after := time.Date(2027, 6, 9, 23, 0, 0, 0, time.UTC)
	if got := f.svc.FreeCancellationUntil(sess); !got.Equal(after) {
		t.Errorf("free cancellation until, after the one-off: got %s, want %s", got, after)
	}
	// Thu 10 June at noon: free before the proclamation, late now.
	f.clock.Set(time.Date(2027, 6, 10, 11, 0, 0, 0, time.UTC))
	if err := f.svc.CancelBooking(f.ctx, manager, "", b.ID, "staff changes"); err != nil {
		t.Fatal(err)
	}
	if got := f.booking(b.ID); !got.LateCancel {
		t.Error("cancelled on 10 June after the one-off: late cancel got false, want true")
	}

	// Removing the day again restores the deadline.
	if err := f.svc.Catalogue.RemoveBankHoliday(f.ctx, admin, "2027-06-11"); err != nil {
		t.Fatal(err)
	}
	if got := f.svc.FreeCancellationUntil(sess); !got.Equal(before) {
		t.Errorf("free cancellation until, the one-off removed: got %s, want %s", got, before)
	}
}
