package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"traded"
	"traded/account"
	"traded/billing"
	"traded/booking"
	"traded/pricing"
	"traded/store"
)

// openCopy copies the fixture database to dest (a consistent copy, as
// `traded backup` takes) and opens it.
func openCopy(ctx context.Context, f *fixture, dest string) (*store.DB, error) {
	src, err := store.Open(f.Path, traded.SystemClock{})
	if err != nil {
		return nil, err
	}
	err = src.Backup(ctx, dest)
	src.Close()
	if err != nil {
		return nil, err
	}
	return store.Open(dest, traded.SystemClock{})
}

// rawBooking is the ceiling for the booking POST: Traded's own booking
// transaction, called as the handler calls it (a school manager booking one
// delegate, priced, invoiced and mailed in one transaction, then read back)
// with no HTTP, for d, by workers goroutines. Each worker books like the
// load test does: a random school on a random session. With as many
// workers as the load test has connections, the writer commits as many
// bookings together as it does behind HTTP, so the ceiling is a fair one.
func rawBooking(ctx context.Context, f *fixture, dest string, workers int, d time.Duration) (result, error) {
	db, err := openCopy(ctx, f, dest)
	if err != nil {
		return result{}, err
	}
	defer db.Close()
	bk, _ := services(db)
	var managers []*account.User
	for _, s := range f.Schools {
		u, err := bk.Accounts.FindUserByEmail(ctx, s.Email)
		if err != nil {
			return result{}, err
		}
		managers = append(managers, u)
	}
	var n, failed atomic.Int64
	lat := make([][]time.Duration, workers)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				u := managers[rand.IntN(len(managers))]
				req := booking.BookingRequest{SessionID: f.Sessions[rand.IntN(len(f.Sessions))], URN: u.OrganisationURN,
					Delegates: []booking.DelegateInput{{Name: "Raw Delegate", Email: fmt.Sprintf("raw%d-%d@load.example", w, i)}}}
				t := time.Now()
				if _, err := bk.CreateBooking(ctx, u, "127.0.0.1", req); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				lat[w] = append(lat[w], time.Since(t))
				n.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, _ := firstErr.Load().(error); err != nil {
		return result{}, fmt.Errorf("raw booking: %d failed, first: %w", failed.Load(), err)
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	r := percentiles(all)
	r.Requests, r.PerSecond = n.Load(), float64(n.Load())/elapsed.Seconds()
	return r, nil
}

// bulkInvoices issues count invoices of three lines each, one transaction
// each, then renders each one's PDF: the month-end run. It reports the
// issue rate and the render rate.
func bulkInvoices(ctx context.Context, f *fixture, dest string, count int) (issue, render result, err error) {
	db, err := openCopy(ctx, f, dest)
	if err != nil {
		return
	}
	defer db.Close()
	bk, bill := services(db)
	year := pricing.AcademicYearOf(db.Now(), traded.London)
	var orgIDs []int64
	for _, s := range f.Schools {
		o, err := bk.Organisations.FindByURN(ctx, s.URN)
		if err != nil {
			return issue, render, err
		}
		orgIDs = append(orgIDs, o.ID)
	}
	actor := store.Actor{Name: "bench"}
	numbers := make([]string, 0, count)
	start := time.Now()
	for i := range count {
		number, err := bill.CreateInvoice(ctx, actor, billing.InvoiceInput{OrganisationID: orgIDs[i%len(orgIDs)], Source: "manual",
			AcademicYear: year.String(), PONumber: fmt.Sprintf("PO-%05d", i), Lines: []billing.LineInput{
				{ProductCode: pricing.PSASubscription, Description: "Primary Statutory Assessment subscription " + year.String(), Quantity: 1, Unit: 32603},
				{ProductCode: pricing.PSASession, Description: "Administering the phonics screening check: extra place", Quantity: 2, Unit: 6728},
				{ProductCode: pricing.Moderation, Description: "Assessment and moderation in Year 6: additional member of staff", Quantity: 3, Unit: 5693},
			}})
		if err != nil {
			return issue, render, fmt.Errorf("issue invoice %d: %w", i+1, err)
		}
		numbers = append(numbers, number)
	}
	issue = result{Requests: int64(count), PerSecond: float64(count) / time.Since(start).Seconds()}
	invoices := make([]*billing.Invoice, 0, count)
	for _, n := range numbers {
		inv, err := bill.FindInvoiceByNumber(ctx, n)
		if err != nil {
			return issue, render, err
		}
		invoices = append(invoices, inv)
	}
	var lat []time.Duration
	start = time.Now()
	for _, inv := range invoices {
		t := time.Now()
		if _, err := bill.InvoicePDF(inv); err != nil {
			return issue, render, fmt.Errorf("render %s: %w", inv.Number, err)
		}
		lat = append(lat, time.Since(t))
	}
	elapsed := time.Since(start)
	render = percentiles(lat)
	render.Requests, render.PerSecond = int64(count), float64(count)/elapsed.Seconds()
	return issue, render, nil
}
