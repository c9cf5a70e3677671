package booking_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"traded/app"
	"traded/booking"
	"traded/catalogue"
	"traded/demo"
	"traded/store"
	"traded/store/storetest"
)

// BenchmarkCreateBooking measures Traded's own booking transaction with no
// HTTP: one delegate booked per operation, across many sessions and
// schools, on the single SQLite writer. It is the ceiling the HTTP load
// test is compared with (make bench).
func BenchmarkCreateBooking(b *testing.B) {
	db, _ := storetest.Open(b)
	svc := app.Domains(db).Booking
	svc.Accounts.PasswordCost = 4
	ctx := context.Background()
	if err := demo.LoadBase(ctx, svc); err != nil {
		b.Fatal(err)
	}
	admin, _ := svc.Accounts.FindUserByEmail(ctx, "admin@traded.example")
	var sessions []int64
	for i := 0; i < 20; i++ {
		s, err := svc.Catalogue.CreateSession(ctx, store.System, catalogue.SessionInput{CourseCode: "psa-phonics",
			StartsAt: time.Date(2027, 3, 1+i%20, 16, 0, 0, 0, time.UTC), Duration: time.Hour, Capacity: 10000})
		if err != nil {
			b.Fatal(err)
		}
		sessions = append(sessions, s.ID)
	}
	urns := []int64{990001, 990002, 990003, 990004, 990005, 990006, 990007, 990008, 990009}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		_, err := svc.CreateBooking(ctx, admin, "", booking.BookingRequest{SessionID: sessions[i%len(sessions)], URN: urns[i%len(urns)],
			Delegates: []booking.DelegateInput{{Name: "Bench Delegate", Email: fmt.Sprintf("d%d@bench.example", i)}}})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "bookings/s")
}
