package billing_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"traded"
	"traded/account"
	"traded/billing"
	"traded/booking"
	"traded/organisation"
	"traded/pricing"
)

// owes is what an organisation has been invoiced less what it has been
// credited, from the issued documents themselves.
func (f *bookedBilling) owes(urn int64) pricing.Money {
	f.t.Helper()
	var invoiced, credited int64
	if err := f.db.Read().QueryRowContext(f.ctx, `SELECT
			COALESCE((SELECT SUM(total_pence) FROM invoices WHERE organisation_id = o.id AND number IS NOT NULL), 0),
			COALESCE((SELECT SUM(cn.total_pence) FROM credit_notes cn JOIN invoices i ON i.id = cn.invoice_id WHERE i.organisation_id = o.id), 0)
		FROM organisations o WHERE o.urn = ?`, urn).Scan(&invoiced, &credited); err != nil {
		f.t.Fatal(err)
	}
	return pricing.Money(invoiced - credited)
}

// invoicesWithBalance lists the organisation's invoices that still show
// something owed.
func (f *bookedBilling) invoicesWithBalance(urn int64) []string {
	f.t.Helper()
	invs, _, err := f.bill.FindInvoices(f.ctx, billing.InvoiceFilter{OrganisationID: f.orgID(urn)})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, inv := range invs {
		if full, err := f.bill.FindInvoiceByNumber(f.ctx, inv.Number); err != nil {
			f.t.Fatal(err)
		} else if full.Balance() != 0 {
			out = append(out, full.Number+" "+full.Balance().String())
		}
	}
	return out
}

// bookNamed books n staff with names people really have, each with an
// address of their own.
func (f *bookedBilling) bookNamed(by *account.User, urn int64, course string, n int) *booking.Booking {
	f.t.Helper()
	names := []string{"Siân O'Brien", "Łukasz Wójcik", "Ŵyn ap Gruffydd", "Zoë \"Jo\" D'Arcy", "Ngozi Ọkafọr"}
	var ds []booking.DelegateInput
	for i := 0; i < n; i++ {
		f.seq++
		ds = append(ds, booking.DelegateInput{Name: names[f.seq%len(names)], Email: fmt.Sprintf("staff%d@school%d.example", f.seq, urn)})
	}
	b, err := f.svc.CreateBooking(f.ctx, by, "", booking.BookingRequest{SessionID: f.sessionOf(course).ID, URN: urn, Delegates: ds})
	if err != nil {
		f.t.Fatalf("book %d on %s: %v", n, course, err)
	}
	return b
}

func (f *bookedBilling) cancel(by *account.User, b *booking.Booking) {
	f.t.Helper()
	if err := f.svc.CancelBooking(f.ctx, by, "", b.ID, "plans changed"); err != nil {
		f.t.Fatalf("cancel %s: %v", b.Reference, err)
	}
}

// TestMoney_FirstPersonPriceMoves is the history the first release got
// wrong: book 1 on a moderation event, book 2 more, cancel the first in
// time, then the second. The first-person price moves to the second
// booking, and a school that cancels everything in time owes nothing.
func TestMoney_FirstPersonPriceMoves(t *testing.T) {
	f := newBookedBilling(t)
	manager := f.user("manager@chelmervalley.example") // maintained, not a subscriber
	const first, additional = 6210, 1553               // 2026/27: £60 and £15 plus 3.5%
	a := f.bookNamed(manager, 990001, "mod-y2-experienced", 1)
	b := f.bookNamed(manager, 990001, "mod-y2-experienced", 2)
	if a.Price != first || b.Price != 2*additional {
		t.Fatalf("setup: got %s and %s, want %s and %s", a.Price, b.Price, pricing.Money(first), pricing.Money(2*additional))
	}

	f.cancel(manager, a)
	if got := f.reload(a.ID); got.LateCancel {
		t.Errorf("cancelled well before the cut-off: got late_cancel true, want false")
	}
	inv, err := f.bill.FindInvoiceByNumber(f.ctx, a.InvoiceNumber)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Credited != first || inv.Balance() != 0 {
		t.Errorf("first booking's invoice %s: got credited %s, balance %s; want credited %s, balance £0.00", inv.Number, inv.Credited, inv.Balance(), pricing.Money(first))
	}
	if got, want := f.owes(990001), pricing.Money(first+additional); got != want {
		t.Errorf("after cancelling the first booking: school owes %s, want %s (first-person + additional for 2 staff)", got, want)
	}
	moved := f.reload(b.ID)
	if moved.Price != first+additional {
		t.Errorf("second booking now: got price %s, want %s", moved.Price, pricing.Money(first+additional))
	}
	var audit string
	if err := f.db.Read().QueryRowContext(f.ctx, `SELECT detail FROM audit_log WHERE action = 'booking.cancel' AND entity_id = ?`, a.Reference).Scan(&audit); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(audit, "charge stands") {
		t.Errorf("audit of a free cancellation: got %q, want no 'charge stands'", audit)
	}

	f.cancel(manager, moved)
	if got := f.owes(990001); got != 0 {
		t.Errorf("after cancelling everything in time: school owes %s, want £0.00", got)
	}
	if open := f.invoicesWithBalance(990001); len(open) != 0 {
		t.Errorf("invoices still showing a balance: %v", open)
	}
}

// TestMoney_SharedPlaceMoves: a non-subscriber's second booking shares the
// place its first bought; cancelling the first in time moves the place's
// price to the second, once.
func TestMoney_SharedPlaceMoves(t *testing.T) {
	f := newBookedBilling(t)
	manager := f.user("manager@chelmervalley.example")
	const place = 5693 // £55 plus 3.5%
	a := f.bookNamed(manager, 990001, "psa-y2-refresher", 1)
	b := f.bookNamed(manager, 990001, "psa-y2-refresher", 1)
	if a.Price != place || b.Price != 0 {
		t.Fatalf("setup: got %s and %s, want %s and £0.00", a.Price, b.Price, pricing.Money(place))
	}
	f.cancel(manager, a)
	if got := f.owes(990001); got != place {
		t.Errorf("one member of staff left: school owes %s, want %s", got, pricing.Money(place))
	}
	if got := f.reload(b.ID); got.Price != place || got.InvoiceNumber == "" {
		t.Errorf("remaining booking: got price %s invoice %q, want %s on an invoice", got.Price, got.InvoiceNumber, pricing.Money(place))
	}
}

// TestMoney_LateCancellationStands: after the cut-off the charge stands and
// the places still count, so a later free cancellation cannot happen and a
// colleague's booking is not priced again.
func TestMoney_LateCancellationStands(t *testing.T) {
	f := newBookedBilling(t)
	manager := f.user("manager@chelmervalley.example")
	sess := f.sessionOf("mod-y2-experienced")
	a := f.bookNamed(manager, 990001, "mod-y2-experienced", 1)
	b := f.bookNamed(manager, 990001, "mod-y2-experienced", 1)
	f.clock.Set(f.svc.FreeCancellationUntil(sess).Add(time.Minute))
	f.cancel(manager, a)
	if got := f.reload(a.ID); !got.LateCancel {
		t.Errorf("cancelled after the cut-off: got late_cancel false, want true")
	}
	if got, want := f.owes(990001), a.Price+b.Price; got != want {
		t.Errorf("after a late cancellation: school owes %s, want %s", got, want)
	}
}

// TestMoney_LASessionCancelCreditsLateCancellations: the session did not
// run, so even a late cancellation's charge is credited.
func TestMoney_LASessionCancelCreditsLateCancellations(t *testing.T) {
	f := newBookedBilling(t)
	manager := f.user("manager@chelmervalley.example")
	sess := f.sessionOf("mod-y2-experienced")
	a := f.bookNamed(manager, 990001, "mod-y2-experienced", 1)
	f.bookNamed(manager, 990001, "mod-y2-experienced", 2)
	f.clock.Set(f.svc.FreeCancellationUntil(sess).Add(time.Minute))
	f.cancel(manager, a)
	if err := f.svc.CancelSession(f.ctx, f.la, sess.ID, "presenter ill"); err != nil {
		t.Fatal(err)
	}
	if got := f.owes(990001); got != 0 {
		t.Errorf("session cancelled by the LA: school owes %s, want £0.00", got)
	}
}

// TestMoney_TierInForceOnTheDay: a GIAS change imported with a future
// effective date prices nothing before that date.
func TestMoney_TierInForceOnTheDay(t *testing.T) {
	f := newBookedBilling(t)
	manager := f.user("manager@chelmervalley.example")
	org, err := f.svc.Organisations.FindByURN(f.ctx, 990001)
	if err != nil {
		t.Fatal(err)
	}
	org.EstablishmentType = "Academy converter"
	file := giasRow(org)
	if _, err := f.svc.Organisations.ImportSchools(f.ctx, strings.NewReader(file), int64(len(file)), organisation.ImportOptions{EffectiveFrom: "2027-01-01"}); err != nil {
		t.Fatal(err)
	}
	if got, err := f.svc.Organisations.FindByURN(f.ctx, 990001); err != nil || got.Tier != pricing.Maintained {
		t.Fatalf("before the effective date: got tier %v (%v), want maintained", got.Tier, err)
	}
	charges, _, err := f.svc.QuoteBooking(f.ctx, 990001, f.sessionOf("psa-y2-refresher").ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(charges) != 1 || charges[0].Amount != 5693 {
		t.Errorf("quote before the effective date: got %+v, want the maintained £56.93", charges)
	}
	b := f.bookNamed(manager, 990001, "psa-y2-refresher", 1)
	if b.Price != 5693 || b.Tier != pricing.Maintained {
		t.Errorf("booked before the effective date: got %s at %s, want £56.93 at maintained", b.Price, b.Tier)
	}
	f.clock.Set(time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC))
	if got, err := f.svc.Organisations.FindByURN(f.ctx, 990001); err != nil || got.Tier != pricing.Academy {
		t.Errorf("on the effective date: got tier %v (%v), want academy", got.Tier, err)
	}
	later := f.bookNamed(manager, 990001, "psa-y6-refresher", 1)
	if later.Tier != pricing.Academy || later.Price != 6728 {
		t.Errorf("booked on the effective date: got %s at %s, want £67.28 at academy", later.Price, later.Tier)
	}
}

// giasRow is a one-school GIAS file for o.
func giasRow(o *organisation.Organisation) string {
	head := `"URN","LA (code)","LA (name)","EstablishmentNumber","EstablishmentName","TypeOfEstablishment (name)","EstablishmentTypeGroup (name)","EstablishmentStatus (name)","PhaseOfEducation (name)","Street","Locality","Address3","Town","County (name)","Postcode","DistrictAdministrative (name)"`
	q := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	row := strings.Join([]string{q("990001"), q("881"), q(o.LAName), q(o.EstablishmentNumber), q(o.Name), q(o.EstablishmentType), q("Academies"),
		q("Open"), q(o.Phase), q(o.Street), q(o.Locality), q(o.Address3), q(o.Town), q(o.County), q(o.Postcode), q(o.District)}, ",")
	return head + "\r\n" + row + "\r\n"
}

// TestMoney_PORequired: a school that needs a PO cannot commit to paid
// places without one, and the PO reaches the invoice.
func TestMoney_PORequired(t *testing.T) {
	f := newBookedBilling(t)
	manager := f.user("manager@basildonmeadows.example") // academy
	if err := f.svc.Organisations.SetBillingDetails(f.ctx, f.la, 990004, "", true, ""); err != nil {
		t.Fatal(err)
	}
	sess := f.sessionOf("psa-y2-refresher")
	req := booking.BookingRequest{SessionID: sess.ID, URN: 990004, Delegates: []booking.DelegateInput{{Name: "Siân O'Brien", Email: "sian@basildonmeadows.example"}}}
	_, err := f.svc.CreateBooking(f.ctx, manager, "", req)
	if traded.ErrorCode(err) != traded.EINVALID || traded.ErrorField(err) != "po_number" {
		t.Fatalf("paid booking without a PO: got %v, want invalid po_number", err)
	}
	var n int
	if err := f.db.Read().QueryRowContext(f.ctx, `SELECT count(*) FROM bookings`).Scan(&n); err != nil || n != 0 {
		t.Errorf("after a refused booking: got %d bookings (%v), want none half-written", n, err)
	}
	req.PONumber = " PO-4471 "
	b, err := f.svc.CreateBooking(f.ctx, manager, "", req)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := f.bill.FindInvoiceByNumber(f.ctx, b.InvoiceNumber)
	if err != nil {
		t.Fatal(err)
	}
	if inv.PONumber != "PO-4471" || b.PONumber != "PO-4471" {
		t.Errorf("PO: got booking %q invoice %q, want PO-4471", b.PONumber, inv.PONumber)
	}
	found, _, err := f.bill.FindInvoices(f.ctx, billing.InvoiceFilter{Search: "PO-4471"})
	if err != nil || len(found) != 1 || found[0].Number != inv.Number {
		t.Errorf("search by PO: got %d invoices (%v), want %s", len(found), err, inv.Number)
	}
}

// TestMoney_ShownBeforeCommitting: the figure a manager sees before
// approving a request, and a school before taking an offer, is the one
// invoiced.
func TestMoney_ShownBeforeCommitting(t *testing.T) {
	f := newBookedBilling(t)
	manager := f.user("manager@chelmervalley.example")
	if err := f.svc.Organisations.SetBookingSettings(f.ctx, f.la, f.orgID(990001), "per_booking", true); err != nil {
		t.Fatal(err)
	}
	teacher := f.user("teacher@chelmervalley.example")
	sess := f.sessionOf("mod-y6-new")
	req, err := f.svc.CreateBooking(f.ctx, teacher, "", booking.BookingRequest{SessionID: sess.ID, URN: 990001,
		Delegates: []booking.DelegateInput{{Name: teacher.Name, Email: teacher.Email}}})
	if err != nil {
		t.Fatal(err)
	}
	shown := total(t, f, manager, req.ID)
	if shown == 0 {
		t.Fatalf("price shown for approval: got £0.00, want the real price")
	}
	if err := f.svc.ApproveBooking(f.ctx, manager, "", req.ID, ""); err != nil {
		t.Fatal(err)
	}
	if got := f.reload(req.ID); got.Price != shown || f.invoiceTotal(got.InvoiceNumber) != shown {
		t.Errorf("approved: got price %s invoiced %s, want the %s shown", got.Price, f.invoiceTotal(got.InvoiceNumber), shown)
	}
}

func total(t *testing.T, f *bookedBilling, by *account.User, id int64) pricing.Money {
	t.Helper()
	charges, err := f.svc.QuoteConfirmation(f.ctx, by, id)
	if err != nil {
		t.Fatal(err)
	}
	var sum pricing.Money
	for _, c := range charges {
		sum += c.Amount
	}
	return sum
}

func (f *bookedBilling) invoiceTotal(number string) pricing.Money {
	f.t.Helper()
	if number == "" {
		return 0
	}
	inv, err := f.bill.FindInvoiceByNumber(f.ctx, number)
	if err != nil {
		f.t.Fatal(err)
	}
	return inv.Total
}

// TestMoney_PlaceStatus: delegates of bookings that hold no place are not
// shown as booked.
func TestMoney_PlaceStatus(t *testing.T) {
	f := newBookedBilling(t)
	manager := f.user("manager@chelmervalley.example")
	b := f.bookNamed(manager, 990001, "psa-y2-refresher", 2)
	f.cancel(manager, b)
	got := f.reload(b.ID)
	for _, d := range got.Delegates {
		if s := got.PlaceStatus(d); s != booking.StatusCancelled {
			t.Errorf("delegate %s of a cancelled booking: got %q, want cancelled", d.Email, s)
		}
	}
}

// TestMoney_NoFreeCancellationWindow: --cancel-working-days 0 means free
// cancellation lasts until the session starts, not 10 working days.
func TestMoney_NoFreeCancellationWindow(t *testing.T) {
	f := newBookedBilling(t)
	f.svc.Rules.CancelWorkingDays = new(0)
	sess := f.sessionOf("psa-y2-refresher")
	if got := f.svc.FreeCancellationUntil(sess); !got.Equal(sess.StartsAt) {
		t.Errorf("free cancellation with 0 working days: got until %s, want the start %s", got, sess.StartsAt)
	}
	// Thursday 28 January 2027: 3 working days before is Monday 25th, free
	// until that day ends.
	f.svc.Rules.CancelWorkingDays = new(3)
	if got, want := f.svc.FreeCancellationUntil(sess), time.Date(2027, 1, 26, 0, 0, 0, 0, traded.London); !got.Equal(want) {
		t.Errorf("free cancellation with 3 working days: got until %s, want %s", got, want)
	}
}
