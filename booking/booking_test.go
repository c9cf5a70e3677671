package booking_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"traded"
	"traded/account"
	"traded/app"
	"traded/billing"
	"traded/booking"
	"traded/catalogue"
	"traded/demo"
	"traded/organisation"
	"traded/pricing"
	"traded/store"
	"traded/store/storetest"
)

// The demo price list for 2026/27: the published 2021/22 tariff plus 3.5%.
const (
	psaMaintained pricing.Money = 5693
	psaAcademy    pricing.Money = 6728
	psaExternal   pricing.Money = 7763

	modFirst       pricing.Money = 6210 // Essex (maintained or academy), non-subscriber
	modAdditional  pricing.Money = 1553
	modFirstSub    pricing.Money = 4140 // Essex subscriber
	modAddSub      pricing.Money = 1035
	modExtFirst    pricing.Money = 7245 // external, non-subscriber
	modExtAdd      pricing.Money = 2588
	modExtFirstSub pricing.Money = 5175 // external subscriber
	modExtAddSub   pricing.Money = 2070
)

// Demo schools and accounts.
const (
	urnMaintained = 990001 // Chelmer Valley Community Primary
	urnAcademy    = 990004 // Basildon Meadows Academy
	urnSouthend   = 990007 // external (Southend-on-Sea)
	urnThurrock   = 990008 // external (Thurrock)

	managerMaintained = "manager@chelmervalley.example"
	teacherMaintained = "teacher@chelmervalley.example"
	managerAcademy    = "manager@basildonmeadows.example"
	managerSouthend   = "manager@leighcliffs.example"
	adminEmail        = "admin@traded.example"
)

// Demo 2026/27 courses whose sessions are after the fixture's clock.
const (
	coursePSA        = "psa-ks2-taf"      // Tue 19 Jan 2027 16:00 GMT
	coursePSA2       = "psa-y2-refresher" // Thu 28 Jan 2027 16:00 GMT
	courseModeration = "mod-y2-new"       // Wed 20 Jan 2027 13:30 GMT
)

// bookingFixture is a migrated database holding the demo catalogue, the
// 2026/27 sessions, schools and users, with billing as the Charger.
type bookingFixture struct {
	t     *testing.T
	ctx   context.Context
	db    *store.DB
	clock *traded.FixedClock
	svc   *booking.Service
	bill  *billing.Service
	la    store.Actor
}

func newBookingFixture(t *testing.T) *bookingFixture {
	t.Helper()
	db, clock := storetest.Open(t)
	svc := app.Domains(db).Booking
	svc.Accounts.PasswordCost = 4
	ctx := context.Background()
	if err := demo.LoadBase(ctx, svc); err != nil {
		t.Fatal(err)
	}
	bill := billing.NewService(db, svc.Organisations, svc.Catalogue, billing.DefaultConfig(), nil)
	svc.Charger = bill
	return &bookingFixture{t: t, ctx: ctx, db: db, clock: clock, svc: svc, bill: bill, la: store.Actor{Name: "admin@test"}}
}

func (f *bookingFixture) user(email string) *account.User {
	f.t.Helper()
	u, err := f.svc.Accounts.FindUserByEmail(f.ctx, email)
	if err != nil {
		f.t.Fatalf("user %s: %v", email, err)
	}
	return u
}

func (f *bookingFixture) org(urn int64) *organisation.Organisation {
	f.t.Helper()
	o, err := f.svc.Organisations.FindByURN(f.ctx, urn)
	if err != nil {
		f.t.Fatalf("organisation %d: %v", urn, err)
	}
	return o
}

// course returns the 2026/27 demo session of a course.
func (f *bookingFixture) course(code string) *catalogue.Session {
	f.t.Helper()
	year := pricing.AcademicYear(2026)
	sessions, err := f.svc.Catalogue.FindSessions(f.ctx, catalogue.SessionFilter{Year: &year})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, s := range sessions {
		if s.CourseCode == code {
			return s
		}
	}
	f.t.Fatalf("no 2026/27 session of %s", code)
	return nil
}

// withCapacity returns the course's session with its capacity set to n.
func (f *bookingFixture) withCapacity(code string, n int) *catalogue.Session {
	f.t.Helper()
	s, err := f.svc.UpdateSession(f.ctx, f.la, f.course(code).ID, catalogue.SessionUpdate{Capacity: &n})
	if err != nil {
		f.t.Fatalf("set capacity %d: %v", n, err)
	}
	return s
}

func (f *bookingFixture) session(id int64) *catalogue.Session {
	f.t.Helper()
	s, err := f.svc.Catalogue.FindSessionByID(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (f *bookingFixture) booking(id int64) *booking.Booking {
	f.t.Helper()
	b, err := f.svc.FindBookingByID(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *bookingFixture) invoice(number string) *billing.Invoice {
	f.t.Helper()
	inv, err := f.bill.FindInvoiceByNumber(f.ctx, number)
	if err != nil {
		f.t.Fatalf("invoice %q: %v", number, err)
	}
	return inv
}

func (f *bookingFixture) subscribe(urn int64) {
	f.t.Helper()
	if _, err := f.bill.BuySubscription(f.ctx, f.la, urn, 2026, ""); err != nil {
		f.t.Fatalf("subscribe %d: %v", urn, err)
	}
}

// delegates names people by email; the name is made from the address.
func delegates(emails ...string) []booking.DelegateInput {
	out := make([]booking.DelegateInput, len(emails))
	for i, e := range emails {
		out[i] = booking.DelegateInput{Name: "Staff " + strings.Split(e, "@")[0], Email: e}
	}
	return out
}

// staff returns n distinct delegate emails for a school, tagged so that
// separate calls do not collide.
func staff(tag string, urn int64, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d@school%d.example", tag, i+1, urn)
	}
	return out
}

func (f *bookingFixture) tryBook(by *account.User, urn, sessionID int64, waitlist bool, emails ...string) (*booking.Booking, error) {
	return f.svc.CreateBooking(f.ctx, by, "127.0.0.1", booking.BookingRequest{
		SessionID: sessionID, URN: urn, Delegates: delegates(emails...), Waitlist: waitlist})
}

// book makes a booking and fails the test if it cannot.
func (f *bookingFixture) book(by *account.User, urn, sessionID int64, waitlist bool, emails ...string) *booking.Booking {
	f.t.Helper()
	b, err := f.tryBook(by, urn, sessionID, waitlist, emails...)
	if err != nil {
		f.t.Fatalf("book %v on session %d for %d: %v", emails, sessionID, urn, err)
	}
	return b
}

// checkAsStored fails the test unless b, as CreateBooking returned it, is
// exactly the booking as stored: CreateBooking builds what it returns from
// what it wrote rather than reading the booking back.
func (f *bookingFixture) checkAsStored(b *booking.Booking) {
	f.t.Helper()
	stored := f.booking(b.ID)
	if !reflect.DeepEqual(b, stored) {
		got, _ := json.MarshalIndent(b, "", " ")
		want, _ := json.MarshalIndent(stored, "", " ")
		f.t.Errorf("booking %s as returned differs from the stored one:\nreturned %s\nstored %s", b.Reference, got, want)
	}
}

// heldPlaces counts the active delegates of bookings that hold places.
func (f *bookingFixture) heldPlaces(sessionID int64) int {
	f.t.Helper()
	var n int
	if err := f.db.Read().QueryRowContext(f.ctx, `SELECT count(*) FROM delegates d JOIN bookings b ON b.id = d.booking_id
		WHERE b.session_id = ? AND d.status = 'active' AND b.status IN ('confirmed', 'requested', 'offered')`, sessionID).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// checkPlaces checks a session's places_taken, and that it agrees with the
// delegates holding places and never exceeds the capacity.
func (f *bookingFixture) checkPlaces(sessionID int64, want int) {
	f.t.Helper()
	s := f.session(sessionID)
	if s.PlacesTaken != want {
		f.t.Errorf("places taken: got %d, want %d", s.PlacesTaken, want)
	}
	if held := f.heldPlaces(sessionID); held != s.PlacesTaken {
		f.t.Errorf("delegates holding places: got %d, want places_taken %d", held, s.PlacesTaken)
	}
	if s.PlacesTaken > s.Capacity {
		f.t.Errorf("places taken %d over capacity %d", s.PlacesTaken, s.Capacity)
	}
}

func (f *bookingFixture) creditNotes(invoiceID int64) []*billing.CreditNote {
	f.t.Helper()
	notes, err := f.bill.FindCreditNotes(f.ctx, invoiceID)
	if err != nil {
		f.t.Fatal(err)
	}
	return notes
}

func wantErrCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := traded.ErrorCode(err); got != code {
		t.Errorf("%s: got error %v (code %q), want code %q", what, err, got, code)
	}
}

func wantStatus(t *testing.T, b *booking.Booking, status string) {
	t.Helper()
	if b.Status != status {
		t.Errorf("booking %s status: got %s, want %s", b.Reference, b.Status, status)
	}
}

// chargeWant is one expected charge line: quantity, unit price, and words
// its description must contain.
type chargeWant struct {
	qty  int
	unit pricing.Money
	says string
}

const (
	saysIncluded = "included in the PSA subscription"
	saysPlace    = "single-session place"
	saysCovered  = "covered by the school's single-session place"
	saysFirst    = "first member of staff"
	saysAddl     = "each additional person"
)

func checkCharges(t *testing.T, what string, got []*booking.Charge, want []chargeWant) {
	t.Helper()
	if len(got) != len(want) {
		var desc []string
		for _, c := range got {
			desc = append(desc, fmt.Sprintf("%d x %s %q", c.Quantity, c.Unit, c.Description))
		}
		t.Errorf("%s: got %d charge lines %v, want %d", what, len(got), desc, len(want))
		return
	}
	for i, w := range want {
		c := got[i]
		if c.Quantity != w.qty || c.Unit != w.unit || c.Amount != w.unit*pricing.Money(w.qty) {
			t.Errorf("%s line %d: got %d x %s = %s, want %d x %s = %s", what, i+1, c.Quantity, c.Unit, c.Amount, w.qty, w.unit, w.unit*pricing.Money(w.qty))
		}
		if !strings.Contains(c.Description, w.says) {
			t.Errorf("%s line %d: got description %q, want it to say %q", what, i+1, c.Description, w.says)
		}
	}
}

// checkInvoiced checks a booking's billing: a paid booking (per-booking
// invoicing) has an issued, VAT-exempt invoice for its price; an
// entitlement-only one has none.
func (f *bookingFixture) checkInvoiced(b *booking.Booking) {
	f.t.Helper()
	if b.Price == 0 {
		if b.InvoiceID != 0 || b.InvoiceNumber != "" {
			f.t.Errorf("£0 booking %s: got invoice %q, want none", b.Reference, b.InvoiceNumber)
		}
		for _, c := range b.Charges {
			if c.InvoiceID != 0 {
				f.t.Errorf("£0 booking %s: charge %d invoiced on %d, want not invoiced", b.Reference, c.Position, c.InvoiceID)
			}
		}
		return
	}
	if b.InvoiceNumber == "" {
		f.t.Errorf("paid booking %s (%s): got no invoice, want one", b.Reference, b.Price)
		return
	}
	inv := f.invoice(b.InvoiceNumber)
	if inv.Total != b.Price || inv.Net != b.Price || inv.VAT != 0 {
		f.t.Errorf("invoice %s: got net %s VAT %s total %s, want %s, £0.00 VAT, %s", inv.Number, inv.Net, inv.VAT, inv.Total, b.Price, b.Price)
	}
	if st := inv.Status(f.bill.Today()); st != billing.StatusIssued {
		f.t.Errorf("invoice %s: got status %s, want %s", inv.Number, st, billing.StatusIssued)
	}
	if inv.Source != "booking" || inv.CustomerURN != b.OrgURN {
		f.t.Errorf("invoice %s: got source %q customer %d, want booking, %d", inv.Number, inv.Source, inv.CustomerURN, b.OrgURN)
	}
	var paid int
	for _, c := range b.Charges {
		if c.Amount > 0 {
			paid++
			if c.InvoiceID != inv.ID {
				f.t.Errorf("charge %d: got invoice id %d, want %d", c.Position, c.InvoiceID, inv.ID)
			}
		}
	}
	if len(inv.Lines) != paid {
		f.t.Errorf("invoice %s: got %d lines, want %d (one per paid charge)", inv.Number, len(inv.Lines), paid)
	}
	for _, l := range inv.Lines {
		if l.VATTreatment != "exempt" || l.VAT != 0 {
			f.t.Errorf("invoice %s line %d: got VAT %s %s, want exempt £0.00", inv.Number, l.Position, l.VATTreatment, l.VAT)
		}
		if !strings.Contains(l.Description, b.Reference) {
			f.t.Errorf("invoice %s line %d: got %q, want it to name booking %s", inv.Number, l.Position, l.Description, b.Reference)
		}
	}
}

// TestService_CreateBooking_Pricing books by the tariff, one row per case.
// A PSA "place" is for up to 2 staff: a subscriber's first 2 staff on each
// session are free; moderation is charged per person, the first-person
// price once per school per event across all its bookings.
func TestService_CreateBooking_Pricing(t *testing.T) {
	type step struct {
		by    string // the booker's email
		urn   int64
		staff int
		want  pricing.Money
		lines []chargeWant
	}
	tests := []struct {
		name       string
		course     string
		subscriber []int64
		steps      []step
	}{
		{"PSA/Subscriber/1Delegate_Free", coursePSA, []int64{urnMaintained}, []step{
			{managerMaintained, urnMaintained, 1, 0, []chargeWant{{1, 0, saysIncluded}}}}},
		{"PSA/Subscriber/2Delegates_Free", coursePSA, []int64{urnMaintained}, []step{
			{managerMaintained, urnMaintained, 2, 0, []chargeWant{{2, 0, saysIncluded}}}}},
		{"PSA/Subscriber/3DelegatesInOneBooking_OnePaidPlace", coursePSA, []int64{urnMaintained}, []step{
			{managerMaintained, urnMaintained, 3, psaMaintained, []chargeWant{{2, 0, saysIncluded}, {1, psaMaintained, saysPlace}}}}},
		{"PSA/Subscriber/ThirdBookedLater_OnePaidPlace_FourthCovered", coursePSA, []int64{urnMaintained}, []step{
			{managerMaintained, urnMaintained, 2, 0, []chargeWant{{2, 0, saysIncluded}}},
			{managerMaintained, urnMaintained, 1, psaMaintained, []chargeWant{{1, psaMaintained, saysPlace}}},
			{teacherMaintained, urnMaintained, 1, 0, []chargeWant{{1, 0, saysCovered}}},
			{managerMaintained, urnMaintained, 1, psaMaintained, []chargeWant{{1, psaMaintained, saysPlace}}}}},
		{"PSA/NonSubscriber/1Delegate_OnePlace", coursePSA, nil, []step{
			{managerMaintained, urnMaintained, 1, psaMaintained, []chargeWant{{1, psaMaintained, saysPlace}}}}},
		{"PSA/NonSubscriber/2Delegates_OnePlace", coursePSA, nil, []step{
			{managerMaintained, urnMaintained, 2, psaMaintained, []chargeWant{{1, psaMaintained, saysPlace}}}}},
		{"PSA/NonSubscriber/3Delegates_TwoPlaces", coursePSA, nil, []step{
			{managerMaintained, urnMaintained, 3, 2 * psaMaintained, []chargeWant{{2, psaMaintained, saysPlace}}}}},
		{"PSA/NonSubscriber/SecondDelegateLater_SharesThePlace", coursePSA, nil, []step{
			{managerMaintained, urnMaintained, 1, psaMaintained, []chargeWant{{1, psaMaintained, saysPlace}}},
			{teacherMaintained, urnMaintained, 1, 0, []chargeWant{{1, 0, saysCovered}}}}},
		{"PSA/Academy/NonSubscriber", coursePSA, nil, []step{
			{managerAcademy, urnAcademy, 2, psaAcademy, []chargeWant{{1, psaAcademy, saysPlace}}}}},
		{"PSA/Academy/Subscriber3Delegates", coursePSA, []int64{urnAcademy}, []step{
			{managerAcademy, urnAcademy, 3, psaAcademy, []chargeWant{{2, 0, saysIncluded}, {1, psaAcademy, saysPlace}}}}},
		{"PSA/External/NonSubscriber", coursePSA, nil, []step{
			{managerSouthend, urnSouthend, 1, psaExternal, []chargeWant{{1, psaExternal, saysPlace}}},
			{adminEmail, urnThurrock, 4, 2 * psaExternal, []chargeWant{{2, psaExternal, saysPlace}}}}},
		{"PSA/AcademyAndMaintainedSameSession_EachPayOwnPlace", coursePSA, nil, []step{
			{managerMaintained, urnMaintained, 1, psaMaintained, []chargeWant{{1, psaMaintained, saysPlace}}},
			{managerAcademy, urnAcademy, 1, psaAcademy, []chargeWant{{1, psaAcademy, saysPlace}}}}},

		{"Moderation/NonSubscriber/3InOneBooking_FirstPlus2Additional", courseModeration, nil, []step{
			{managerMaintained, urnMaintained, 3, modFirst + 2*modAdditional, []chargeWant{{1, modFirst, saysFirst}, {2, modAdditional, saysAddl}}}}},
		{"Moderation/NonSubscriber/SecondBookingSameSchool_AdditionalOnly", courseModeration, nil, []step{
			{managerMaintained, urnMaintained, 1, modFirst, []chargeWant{{1, modFirst, saysFirst}}},
			{managerMaintained, urnMaintained, 1, modAdditional, []chargeWant{{1, modAdditional, saysAddl}}}}},
		{"Moderation/NonSubscriber/SecondBookingByAnotherUserOfSchool_AdditionalOnly", courseModeration, nil, []step{
			{managerMaintained, urnMaintained, 2, modFirst + modAdditional, []chargeWant{{1, modFirst, saysFirst}, {1, modAdditional, saysAddl}}},
			{teacherMaintained, urnMaintained, 1, modAdditional, []chargeWant{{1, modAdditional, saysAddl}}}}},
		{"Moderation/Subscriber/EssexRates", courseModeration, []int64{urnMaintained}, []step{
			{managerMaintained, urnMaintained, 3, modFirstSub + 2*modAddSub, []chargeWant{{1, modFirstSub, saysFirst}, {2, modAddSub, saysAddl}}},
			{teacherMaintained, urnMaintained, 1, modAddSub, []chargeWant{{1, modAddSub, saysAddl}}}}},
		{"Moderation/Subscriber/Academy", courseModeration, []int64{urnAcademy}, []step{
			{managerAcademy, urnAcademy, 1, modFirstSub, []chargeWant{{1, modFirstSub, saysFirst}}}}},
		{"Moderation/External/NonSubscriber", courseModeration, nil, []step{
			{managerSouthend, urnSouthend, 2, modExtFirst + modExtAdd, []chargeWant{{1, modExtFirst, saysFirst}, {1, modExtAdd, saysAddl}}},
			{managerSouthend, urnSouthend, 1, modExtAdd, []chargeWant{{1, modExtAdd, saysAddl}}}}},
		{"Moderation/External/Subscriber", courseModeration, []int64{urnThurrock}, []step{
			{adminEmail, urnThurrock, 2, modExtFirstSub + modExtAddSub, []chargeWant{{1, modExtFirstSub, saysFirst}, {1, modExtAddSub, saysAddl}}}}},
		{"Moderation/AcademyAndMaintainedSameEvent_EachPayOwnFirst", courseModeration, nil, []step{
			{managerMaintained, urnMaintained, 1, modFirst, []chargeWant{{1, modFirst, saysFirst}}},
			{managerAcademy, urnAcademy, 1, modFirst, []chargeWant{{1, modFirst, saysFirst}}},
			{managerSouthend, urnSouthend, 1, modExtFirst, []chargeWant{{1, modExtFirst, saysFirst}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newBookingFixture(t)
			for _, urn := range tt.subscriber {
				f.subscribe(urn)
			}
			sess := f.course(tt.course)
			for i, st := range tt.steps {
				what := fmt.Sprintf("step %d (%d staff of %d)", i+1, st.staff, st.urn)
				quote, subscriber, err := f.svc.QuoteBooking(f.ctx, st.urn, sess.ID, st.staff)
				if err != nil {
					t.Fatalf("%s: quote: %v", what, err)
				}
				var quoted pricing.Money
				for _, c := range quote {
					quoted += c.Amount
				}
				if quoted != st.want {
					t.Errorf("%s: quote got %s, want %s", what, quoted, st.want)
				}
				checkCharges(t, what+" quote", quote, st.lines)

				by := f.user(st.by)
				emails := staff(fmt.Sprintf("s%d", i), st.urn, st.staff)
				if by.Role == account.RoleTeacher {
					emails = []string{by.Email}
				}
				b := f.book(by, st.urn, sess.ID, false, emails...)
				wantStatus(t, b, booking.StatusConfirmed)
				f.checkAsStored(b)
				if b.Price != st.want {
					t.Errorf("%s: price got %s, want %s", what, b.Price, st.want)
				}
				if b.Price != quoted {
					t.Errorf("%s: price got %s, want the quote %s", what, b.Price, quoted)
				}
				if b.Subscriber != subscriber {
					t.Errorf("%s: subscriber got %t, want %t", what, b.Subscriber, subscriber)
				}
				if b.Entitled() != (st.want == 0) {
					t.Errorf("%s: Entitled() got %t, want %t", what, b.Entitled(), st.want == 0)
				}
				checkCharges(t, what, b.Charges, st.lines)
				f.checkInvoiced(b)
			}
		})
	}
}

// TestService_CreateBooking_Monthly: a school invoiced monthly gets a
// priced booking with no invoice yet, returned as stored.
func TestService_CreateBooking_Monthly(t *testing.T) {
	f := newBookingFixture(t)
	if err := f.svc.Organisations.SetBookingSettings(f.ctx, f.la, f.org(urnMaintained).ID, "monthly", false); err != nil {
		t.Fatal(err)
	}
	b := f.book(f.user(managerMaintained), urnMaintained, f.course(coursePSA).ID, false, "monthly@chelmervalley.example")
	wantStatus(t, b, booking.StatusConfirmed)
	if b.Price != psaMaintained || b.InvoiceID != 0 || len(b.Charges) != 1 || b.Charges[0].InvoiceID != 0 {
		t.Errorf("monthly booking: got price %s invoice %d charges %+v, want %s and no invoice", b.Price, b.InvoiceID, b.Charges, psaMaintained)
	}
	f.checkAsStored(b)
}

// TestService_CreateBooking_PricesFollowChanges: the writer keeps the
// school, the current price list and whether the school subscribes between
// transactions (store.Tx.Cached); a booking after any of them changes is
// priced by the new state.
func TestService_CreateBooking_PricesFollowChanges(t *testing.T) {
	f := newBookingFixture(t)
	manager := f.user(managerMaintained)
	if _, _, err := f.svc.QuoteBooking(f.ctx, urnMaintained, f.course(coursePSA).ID, 1); err != nil {
		t.Fatal(err)
	}
	if b := f.book(manager, urnMaintained, f.course(coursePSA).ID, false, "before@chelmervalley.example"); b.Price != psaMaintained || b.Subscriber {
		t.Fatalf("before subscribing: price %s subscriber %t, want %s and false", b.Price, b.Subscriber, psaMaintained)
	}
	f.subscribe(urnMaintained)
	if b := f.book(manager, urnMaintained, f.course(coursePSA2).ID, false, "after@chelmervalley.example"); b.Price != 0 || !b.Subscriber {
		t.Errorf("after subscribing: price %s subscriber %t, want 0 and true", b.Price, b.Subscriber)
	}

	// A new version of the year's price list: the 2021/22 tariff as is.
	if _, err := f.svc.Catalogue.RollForward(f.ctx, f.la, 2021, 2026, 0, true); err != nil {
		t.Fatal(err)
	}
	pl, err := f.svc.Catalogue.PriceList(f.ctx, 2026)
	if err != nil {
		t.Fatal(err)
	}
	want, err := pl.Price(pricing.PSASession, pricing.Academy, pricing.RateUnit)
	if err != nil || want == psaAcademy {
		t.Fatalf("new list: academy place %s (%v), want a price other than %s", want, err, psaAcademy)
	}
	if b := f.book(f.user(managerAcademy), urnAcademy, f.course(coursePSA).ID, false, "new@basildonmeadows.example"); b.Price != want {
		t.Errorf("after a new price list: price %s, want %s", b.Price, want)
	}
}

// TestService_CreateBooking_CapacityRace: 300 requests race for the last 5
// places; exactly 5 are confirmed, the rest wait or are refused, and the
// session is never over capacity.
func TestService_CreateBooking_CapacityRace(t *testing.T) {
	f := newBookingFixture(t)
	manager := f.user(managerMaintained)
	sess := f.course(coursePSA)
	f.book(manager, urnMaintained, sess.ID, false, staff("first", urnMaintained, 3)...)
	sess = f.withCapacity(coursePSA, 8)
	if left := sess.PlacesLeft(); left != 5 {
		t.Fatalf("places left: got %d, want 5", left)
	}

	const n = 300
	type result struct {
		waitlist bool
		b        *booking.Booking
		err      error
	}
	results := make([]result, n)
	stop := make(chan struct{})
	var watcher sync.WaitGroup
	var overbooked int
	watcher.Add(1)
	go func() { // reads while the writers race: never over capacity
		defer watcher.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			var taken, capacity int
			if err := f.db.Read().QueryRowContext(f.ctx, `SELECT places_taken, capacity FROM sessions WHERE id = ?`, sess.ID).Scan(&taken, &capacity); err == nil && taken > capacity {
				overbooked++
			}
			time.Sleep(time.Millisecond)
		}
	}()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			w := i%2 == 0
			b, err := f.tryBook(manager, urnMaintained, sess.ID, w, fmt.Sprintf("race-%03d@chelmervalley.example", i))
			results[i] = result{w, b, err}
		}(i)
	}
	wg.Wait()
	close(stop)
	watcher.Wait()

	var confirmed, waitlisted, refused int
	for i, r := range results {
		switch {
		case r.err == nil && r.b.Status == booking.StatusConfirmed:
			confirmed++
		case r.err == nil && r.b.Status == booking.StatusWaitlisted && r.waitlist:
			waitlisted++
		case r.err != nil && traded.ErrorCode(r.err) == traded.ECONFLICT && !r.waitlist:
			refused++
		case r.err != nil:
			t.Errorf("request %d (waitlist %t): got error %v, want confirmed, waitlisted or conflict", i, r.waitlist, r.err)
		default:
			t.Errorf("request %d (waitlist %t): got status %s", i, r.waitlist, r.b.Status)
		}
	}
	if confirmed != 5 {
		t.Errorf("confirmed: got %d, want 5", confirmed)
	}
	if confirmed+waitlisted+refused != n {
		t.Errorf("outcomes: got %d confirmed + %d waitlisted + %d refused, want %d in all", confirmed, waitlisted, refused, n)
	}
	if overbooked > 0 {
		t.Errorf("a reader saw the session over capacity %d times, want never", overbooked)
	}
	f.checkPlaces(sess.ID, 8)
	// 8 staff of one non-subscribing school need 4 paid places in all.
	var paid int
	bookings, err := f.svc.FindBookings(f.ctx, booking.BookingFilter{SessionID: sess.ID, Statuses: []string{booking.StatusConfirmed}})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bookings {
		for _, c := range b.Charges {
			if c.Unit > 0 {
				paid += c.Quantity
			}
		}
	}
	if paid != 4 {
		t.Errorf("paid places for 8 staff: got %d, want 4", paid)
	}
}

// TestService_CreateBooking_Idempotency: a retried request answers with the
// first booking.
func TestService_CreateBooking_Idempotency(t *testing.T) {
	f := newBookingFixture(t)
	manager := f.user(managerMaintained)
	sess := f.course(coursePSA)
	req := func(key, hash string) booking.BookingRequest {
		return booking.BookingRequest{SessionID: sess.ID, URN: urnMaintained, Delegates: delegates("idem@chelmervalley.example"),
			IdempotencyKey: key, RequestHash: hash}
	}
	count := func() int {
		var n int
		f.db.Read().QueryRow(`SELECT count(*) FROM bookings WHERE session_id = ?`, sess.ID).Scan(&n)
		return n
	}

	t.Run("SameKeyTwice_OneBooking", func(t *testing.T) {
		first, err := f.svc.CreateBooking(f.ctx, manager, "", req("key-1", "hash-1"))
		if err != nil {
			t.Fatal(err)
		}
		again, err := f.svc.CreateBooking(f.ctx, manager, "", req("key-1", "hash-1"))
		if err != nil {
			t.Fatalf("retry: got %v, want the first booking", err)
		}
		if again.ID != first.ID {
			t.Errorf("retry: got booking %d, want %d", again.ID, first.ID)
		}
		if n := count(); n != 1 {
			t.Errorf("bookings: got %d, want 1", n)
		}
		var invoices int
		f.db.Read().QueryRow(`SELECT count(*) FROM invoices WHERE source = 'booking'`).Scan(&invoices)
		if invoices != 1 {
			t.Errorf("booking invoices: got %d, want 1", invoices)
		}
	})
	t.Run("SameKeyDifferentRequest_Invalid", func(t *testing.T) {
		_, err := f.svc.CreateBooking(f.ctx, manager, "", req("key-1", "hash-2"))
		wantErrCode(t, "same key, other request", err, traded.EINVALID)
	})
	t.Run("Concurrent20_OneBooking", func(t *testing.T) {
		var wg sync.WaitGroup
		ids := make([]int64, 20)
		errs := make([]error, 20)
		r := req("key-2", "hash-x")
		r.Delegates = delegates("idem2@chelmervalley.example")
		for i := range ids {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				b, err := f.svc.CreateBooking(f.ctx, manager, "", r)
				errs[i] = err
				if err == nil {
					ids[i] = b.ID
				}
			}(i)
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil {
				t.Errorf("request %d: got %v, want the booking", i, errs[i])
			} else if ids[i] != ids[0] {
				t.Errorf("request %d: got booking %d, want %d", i, ids[i], ids[0])
			}
		}
		if n := count(); n != 2 {
			t.Errorf("bookings: got %d, want 2", n)
		}
	})
}

// TestService_CreateBooking_Refusals: bad requests get a clear code and
// leave nothing behind.
func TestService_CreateBooking_Refusals(t *testing.T) {
	f := newBookingFixture(t)
	manager := f.user(managerMaintained)
	sess := f.course(coursePSA)
	f.book(manager, urnMaintained, sess.ID, false, "booked@chelmervalley.example")
	count := func() (bookings, dels int) {
		f.db.Read().QueryRow(`SELECT count(*) FROM bookings`).Scan(&bookings)
		f.db.Read().QueryRow(`SELECT count(*) FROM delegates`).Scan(&dels)
		return
	}
	nb, nd := count()
	for _, tt := range []struct {
		name      string
		urn       int64
		sessionID int64
		dels      []booking.DelegateInput
		code      string
	}{
		{"AlreadyBooked_AnyCase_Conflict", urnMaintained, sess.ID, delegates("BOOKED@ChelmerValley.example"), traded.ECONFLICT},
		{"OneOfTwoAlreadyBooked_Conflict", urnMaintained, sess.ID, delegates("new@chelmervalley.example", "booked@chelmervalley.example"), traded.ECONFLICT},
		{"NoDelegates_Invalid", urnMaintained, sess.ID, nil, traded.EINVALID},
		{"SamePersonTwice_Invalid", urnMaintained, sess.ID, delegates("twice@chelmervalley.example", "Twice@chelmervalley.example"), traded.EINVALID},
		{"BadEmail_Invalid", urnMaintained, sess.ID, delegates("not-an-email"), traded.EINVALID},
		{"NoName_Invalid", urnMaintained, sess.ID, []booking.DelegateInput{{Name: " ", Email: "noname@chelmervalley.example"}}, traded.EINVALID},
		{"UnknownSession_NotFound", urnMaintained, 99999, delegates("x@chelmervalley.example"), traded.ENOTFOUND},
		{"ManagerForAnotherSchool_NotFound", urnAcademy, sess.ID, delegates("x@basildonmeadows.example"), traded.ENOTFOUND},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.CreateBooking(f.ctx, manager, "", booking.BookingRequest{SessionID: tt.sessionID, URN: tt.urn, Delegates: tt.dels, Waitlist: true})
			wantErrCode(t, tt.name, err, tt.code)
		})
	}
	t.Run("AfterBookingCutoff_Conflict", func(t *testing.T) {
		f.clock.Set(sess.BookingCutoffAt)
		defer f.clock.Set(storetest.Epoch)
		_, err := f.tryBook(manager, urnMaintained, sess.ID, true, "closed@chelmervalley.example")
		wantErrCode(t, "book at the booking cut-off", err, traded.ECONFLICT)
		f.clock.Set(sess.BookingCutoffAt.Add(-time.Second))
		f.book(manager, urnMaintained, sess.ID, false, "justintime@chelmervalley.example")
		nb, nd = nb+1, nd+1
	})
	t.Run("NothingHalfWritten", func(t *testing.T) {
		if b, d := count(); b != nb || d != nd {
			t.Errorf("after refusals: got %d bookings %d delegates, want %d and %d", b, d, nb, nd)
		}
		f.checkPlaces(sess.ID, 2)
	})
}

// TestService_FreeCancellationCutoff: free cancellation ends at midnight,
// London time, at the end of the working day 10 working days (not weekends,
// not bank holidays) before the session's date.
func TestService_FreeCancellationCutoff(t *testing.T) {
	f := newBookingFixture(t)
	london := func(y int, m time.Month, d, hh, mm int) time.Time {
		return time.Date(y, m, d, hh, mm, 0, 0, traded.London)
	}
	mtc := f.course("psa-mtc")
	create := func(at time.Time) *catalogue.Session {
		t.Helper()
		s, err := f.svc.Catalogue.CreateSession(f.ctx, f.la, catalogue.SessionInput{CourseCode: "psa-briefing-summer", StartsAt: at.UTC(), Duration: time.Hour, Capacity: 100})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, tt := range []struct {
		name    string
		session *catalogue.Session
		want    time.Time
	}{
		// Tue 30 Mar 2027, the day after Easter Monday: back past Easter
		// Monday 29 Mar and Good Friday 26 Mar to Fri 12 Mar (GMT).
		{"TuesdayAfterEaster2027_SkipsBankHolidays", create(london(2027, time.March, 30, 16, 0)), time.Date(2027, 3, 13, 0, 0, 0, 0, time.UTC)},
		// Tue 13 Apr 2027 (demo MTC session): Tue 30 Mar, in BST.
		{"MTC13April2027_CutoffInBST", mtc, time.Date(2027, 3, 30, 23, 0, 0, 0, time.UTC)},
		// Tue 3 Nov 2026, the week after BST ended on 25 Oct: Tue 20 Oct,
		// still BST, so midnight London is 23:00 UTC.
		{"WeekAfterClocksGoBack_CutoffInBST", create(london(2026, time.November, 3, 16, 0)), time.Date(2026, 10, 20, 23, 0, 0, 0, time.UTC)},
		// Tue 19 Jan 2027: Tue 5 Jan (after New Year's Day), GMT.
		{"KS2TAF19January2027_GMT", f.course(coursePSA), time.Date(2027, 1, 6, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := f.svc.FreeCancellationUntil(tt.session); !got.Equal(tt.want) {
				t.Errorf("free cancellation until: got %s (%s London), want %s", got.UTC(), got.In(traded.London), tt.want)
			}
		})
	}
	t.Run("SessionStoredInUTC", func(t *testing.T) {
		s := create(london(2026, time.November, 3, 16, 0))
		if want := time.Date(2026, 11, 3, 16, 0, 0, 0, time.UTC); !s.StartsAt.Equal(want) {
			t.Errorf("starts at: got %s, want %s (GMT)", s.StartsAt, want)
		}
	})
}

// TestService_CancelBooking: a paid booking cancelled up to the cut-off is
// credited in full; after it the charge stands.
func TestService_CancelBooking(t *testing.T) {
	f := newBookingFixture(t)
	manager := f.user(managerMaintained)
	sess := f.course(coursePSA)
	cutoff := f.svc.FreeCancellationUntil(sess)
	early := f.book(manager, urnMaintained, sess.ID, false, "early@chelmervalley.example")
	late := f.book(f.user(managerAcademy), urnAcademy, sess.ID, false, "late@basildonmeadows.example")
	f.checkPlaces(sess.ID, 2)

	t.Run("OneSecondBeforeCutoff_CreditedInFull", func(t *testing.T) {
		f.clock.Set(cutoff.Add(-time.Second))
		if err := f.svc.CancelBooking(f.ctx, manager, "", early.ID, "staff changes"); err != nil {
			t.Fatal(err)
		}
		b := f.booking(early.ID)
		wantStatus(t, b, booking.StatusCancelled)
		if b.LateCancel {
			t.Errorf("late cancel: got true, want false")
		}
		inv := f.invoice(early.InvoiceNumber)
		if inv.Credited != inv.Total || inv.Total != psaMaintained {
			t.Errorf("invoice %s: got credited %s of %s, want %s of %s", inv.Number, inv.Credited, inv.Total, psaMaintained, psaMaintained)
		}
		if st := inv.Status(f.bill.Today()); st != billing.StatusCredited {
			t.Errorf("invoice %s status: got %s, want %s", inv.Number, st, billing.StatusCredited)
		}
		if notes := f.creditNotes(inv.ID); len(notes) != 1 || notes[0].Total != psaMaintained {
			t.Errorf("credit notes: got %d, want 1 for %s", len(notes), psaMaintained)
		}
		for _, c := range b.Charges {
			if c.Credited != c.Amount {
				t.Errorf("charge %d: got credited %s, want %s", c.Position, c.Credited, c.Amount)
			}
		}
		f.checkPlaces(sess.ID, 1)
	})
	t.Run("OneSecondAfterCutoff_ChargeStands", func(t *testing.T) {
		f.clock.Set(cutoff.Add(time.Second))
		if err := f.svc.CancelBooking(f.ctx, f.user(managerAcademy), "", late.ID, ""); err != nil {
			t.Fatal(err)
		}
		b := f.booking(late.ID)
		wantStatus(t, b, booking.StatusCancelled)
		if !b.LateCancel {
			t.Errorf("late cancel: got false, want true")
		}
		inv := f.invoice(late.InvoiceNumber)
		if inv.Credited != 0 || inv.Balance() != psaAcademy {
			t.Errorf("invoice %s: got credited %s balance %s, want £0.00 and %s owed", inv.Number, inv.Credited, inv.Balance(), psaAcademy)
		}
		if st := inv.Status(f.bill.Today()); st != billing.StatusIssued && st != billing.StatusOverdue {
			t.Errorf("invoice %s status: got %s, want owed (issued or overdue)", inv.Number, st)
		}
		if notes := f.creditNotes(inv.ID); len(notes) != 0 {
			t.Errorf("credit notes: got %d, want none", len(notes))
		}
		f.checkPlaces(sess.ID, 0)
	})
	t.Run("AgainIsConflict", func(t *testing.T) {
		err := f.svc.CancelBooking(f.ctx, manager, "", early.ID, "")
		wantErrCode(t, "cancel twice", err, traded.ECONFLICT)
	})
	t.Run("OtherSchoolNotFound", func(t *testing.T) {
		f.clock.Set(storetest.Epoch)
		b := f.book(manager, urnMaintained, sess.ID, false, "other@chelmervalley.example")
		err := f.svc.CancelBooking(f.ctx, f.user(managerAcademy), "", b.ID, "")
		wantErrCode(t, "another school's manager", err, traded.ENOTFOUND)
	})
	// A school's later booking can share a place (PSA) or skip the
	// first-person price (moderation) because of an earlier booking. If the
	// earlier one is then cancelled and credited in full, the staff still
	// booked must not end up attending for less than the tariff.
	for _, tt := range []struct {
		name   string
		course string
		want   pricing.Money // what one member of staff costs on their own
	}{
		{"CancelBookingWhosePlaceAnotherShares_RemainingStaffStillPay/PSA", coursePSA, psaMaintained},
		{"CancelBookingWhosePlaceAnotherShares_RemainingStaffStillPay/Moderation", courseModeration, modFirst},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := newBookingFixture(t)
			manager := g.user(managerMaintained)
			s := g.course(tt.course)
			first := g.book(manager, urnMaintained, s.ID, false, "first@chelmervalley.example")
			second := g.book(manager, urnMaintained, s.ID, false, "second@chelmervalley.example")
			if second.Price >= first.Price {
				t.Fatalf("setup: second booking %s, want less than the first %s", second.Price, first.Price)
			}
			if err := g.svc.CancelBooking(g.ctx, manager, "", first.ID, "first person left"); err != nil {
				t.Fatal(err)
			}
			var net pricing.Money
			bookings, err := g.svc.FindBookings(g.ctx, booking.BookingFilter{SessionID: s.ID})
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range bookings {
				for _, c := range b.Charges {
					net += c.Amount - c.Credited
				}
			}
			if net < tt.want {
				t.Errorf("school's net charge for 1 member of staff still booked: got %s, want %s", net, tt.want)
			}
		})
	}
	t.Run("AfterStartIsConflict", func(t *testing.T) {
		b := f.book(manager, urnMaintained, sess.ID, false, "started@chelmervalley.example")
		f.clock.Set(sess.StartsAt)
		err := f.svc.CancelBooking(f.ctx, manager, "", b.ID, "")
		wantErrCode(t, "cancel once started", err, traded.ECONFLICT)
	})
}

// TestService_BookingWaitlist covers the waiting list: first come first
// served, offers held for 48 hours, and an offer made only to a waiting
// booking whose delegates all fit in the places freed.
func TestService_BookingWaitlist(t *testing.T) {
	t.Run("OfferAcceptExpireInOrder", func(t *testing.T) {
		f := newBookingFixture(t)
		mm, ma, ms := f.user(managerMaintained), f.user(managerAcademy), f.user(managerSouthend)
		admin := f.user(adminEmail)
		sess := f.withCapacity(coursePSA, 3)
		a := f.book(admin, urnThurrock, sess.ID, false, "a@thurrock.example")
		b1 := f.book(admin, urnThurrock, sess.ID, false, "b1@thurrock.example")
		f.book(admin, urnThurrock, sess.ID, false, "b2@thurrock.example")
		if _, err := f.tryBook(mm, urnMaintained, sess.ID, false, "nowait@chelmervalley.example"); traded.ErrorCode(err) != traded.ECONFLICT {
			t.Errorf("full session without waitlist: got %v, want conflict", err)
		}
		w1 := f.book(ma, urnAcademy, sess.ID, true, "w1@basildonmeadows.example")
		w2 := f.book(mm, urnMaintained, sess.ID, true, "w2@chelmervalley.example")
		w3 := f.book(ms, urnSouthend, sess.ID, true, "w3@leighcliffs.example")
		for _, w := range []*booking.Booking{w1, w2, w3} {
			wantStatus(t, w, booking.StatusWaitlisted)
			f.checkAsStored(w)
			if w.Price != 0 || w.InvoiceID != 0 || len(w.Charges) != 0 {
				t.Errorf("waiting booking %s: got price %s invoice %d charges %d, want none", w.Reference, w.Price, w.InvoiceID, len(w.Charges))
			}
		}
		f.checkPlaces(sess.ID, 3)

		if err := f.svc.CancelBooking(f.ctx, admin, "", a.ID, ""); err != nil {
			t.Fatal(err)
		}
		got := f.booking(w1.ID)
		wantStatus(t, got, booking.StatusOffered)
		if want := f.clock.Now().Add(48 * time.Hour); !got.OfferExpiresAt.Equal(want) {
			t.Errorf("offer expires: got %s, want %s", got.OfferExpiresAt, want)
		}
		wantStatus(t, f.booking(w2.ID), booking.StatusWaitlisted)
		f.checkPlaces(sess.ID, 3)
		if _, err := f.tryBook(mm, urnMaintained, sess.ID, false, "sneak@chelmervalley.example"); traded.ErrorCode(err) != traded.ECONFLICT {
			t.Errorf("booking a place held for an offer: got %v, want conflict", err)
		}

		if err := f.svc.AcceptOffer(f.ctx, ma, "", w1.ID, ""); err != nil {
			t.Fatal(err)
		}
		got = f.booking(w1.ID)
		wantStatus(t, got, booking.StatusConfirmed)
		if got.Price != psaAcademy || !got.OfferExpiresAt.IsZero() {
			t.Errorf("accepted offer: got price %s offer expiry %s, want %s and none", got.Price, got.OfferExpiresAt, psaAcademy)
		}
		f.checkInvoiced(got)
		f.checkPlaces(sess.ID, 3)

		if err := f.svc.CancelBooking(f.ctx, admin, "", b1.ID, ""); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, f.booking(w2.ID), booking.StatusOffered)
		wantStatus(t, f.booking(w3.ID), booking.StatusWaitlisted)

		f.clock.Advance(48*time.Hour + time.Second)
		if err := f.svc.ExpireOffers(f.ctx); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, f.booking(w2.ID), booking.StatusExpired)
		got = f.booking(w3.ID)
		wantStatus(t, got, booking.StatusOffered)
		if want := f.clock.Now().Add(48 * time.Hour); !got.OfferExpiresAt.Equal(want) {
			t.Errorf("next offer expires: got %s, want %s", got.OfferExpiresAt, want)
		}
		f.checkPlaces(sess.ID, 3)
		wantErrCode(t, "accept an expired offer", f.svc.AcceptOffer(f.ctx, mm, "", w2.ID, ""), traded.ECONFLICT)

		f.clock.Advance(48*time.Hour + time.Second)
		wantErrCode(t, "accept an offer past its time", f.svc.AcceptOffer(f.ctx, ms, "", w3.ID, ""), traded.ECONFLICT)
		if err := f.svc.ExpireOffers(f.ctx); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, f.booking(w3.ID), booking.StatusExpired)
		f.checkPlaces(sess.ID, 2) // nobody left waiting: the place is free
		b := f.book(mm, urnMaintained, sess.ID, false, "free@chelmervalley.example")
		wantStatus(t, b, booking.StatusConfirmed)
	})

	t.Run("OfferGoesToFirstWaitingBookingThatFits_Size3SkippedFor1", func(t *testing.T) {
		f := newBookingFixture(t)
		mm, ma := f.user(managerMaintained), f.user(managerAcademy)
		admin := f.user(adminEmail)
		sess := f.withCapacity(coursePSA, 3)
		a := f.book(admin, urnThurrock, sess.ID, false, "a@thurrock.example")
		b := f.book(admin, urnThurrock, sess.ID, false, "b1@thurrock.example", "b2@thurrock.example")
		big := f.book(mm, urnMaintained, sess.ID, true, staff("big", urnMaintained, 3)...)
		small := f.book(ma, urnAcademy, sess.ID, true, "small@basildonmeadows.example")
		small2 := f.book(admin, urnSouthend, sess.ID, true, "small2@leighcliffs.example")

		if err := f.svc.CancelBooking(f.ctx, admin, "", a.ID, ""); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, f.booking(big.ID), booking.StatusWaitlisted)
		wantStatus(t, f.booking(small.ID), booking.StatusOffered)
		wantStatus(t, f.booking(small2.ID), booking.StatusWaitlisted)
		f.checkPlaces(sess.ID, 3)

		// DeclineOffer: the next that fits (small2) is offered.
		if err := f.svc.DeclineOffer(f.ctx, ma, "", small.ID); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, f.booking(small.ID), booking.StatusDeclined)
		wantStatus(t, f.booking(small2.ID), booking.StatusOffered)
		wantStatus(t, f.booking(big.ID), booking.StatusWaitlisted)
		f.checkPlaces(sess.ID, 3)

		// Two places free: still too few for the booking of 3.
		if err := f.svc.CancelBooking(f.ctx, admin, "", b.ID, ""); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, f.booking(big.ID), booking.StatusWaitlisted)
		f.checkPlaces(sess.ID, 1)

		if err := f.svc.DeclineOffer(f.ctx, admin, "", small2.ID); err != nil {
			t.Fatal(err)
		}
		got := f.booking(big.ID)
		wantStatus(t, got, booking.StatusOffered)
		f.checkPlaces(sess.ID, 3)
		if err := f.svc.AcceptOffer(f.ctx, mm, "", big.ID, ""); err != nil {
			t.Fatal(err)
		}
		got = f.booking(big.ID)
		if got.Price != 2*psaMaintained {
			t.Errorf("accepted offer of 3: got %s, want %s", got.Price, 2*psaMaintained)
		}
		f.checkInvoiced(got)
		wantErrCode(t, "decline a confirmed booking's offer", f.svc.DeclineOffer(f.ctx, mm, "", big.ID), traded.ECONFLICT)
	})

	t.Run("CapacityRaised_OffersWaitingList", func(t *testing.T) {
		f := newBookingFixture(t)
		admin := f.user(adminEmail)
		sess := f.withCapacity(coursePSA, 1)
		f.book(admin, urnThurrock, sess.ID, false, "a@thurrock.example")
		w := f.book(admin, urnSouthend, sess.ID, true, "w@leighcliffs.example")
		f.withCapacity(coursePSA, 2)
		wantStatus(t, f.booking(w.ID), booking.StatusOffered)
		f.checkPlaces(sess.ID, 2)
	})
}

// TestService_BookingApproval: a school that asks for it approves its
// teachers' bookings; a request holds places but is not billed.
func TestService_BookingApproval(t *testing.T) {
	f := newBookingFixture(t)
	manager, teacher := f.user(managerMaintained), f.user(teacherMaintained)
	org := f.org(urnMaintained)
	if err := f.svc.Organisations.SetBookingSettings(f.ctx, f.la, org.ID, "per_booking", true); err != nil {
		t.Fatal(err)
	}
	sess := f.course(coursePSA)
	sess2 := f.course(coursePSA2)

	var req *booking.Booking
	t.Run("TeacherBooks_Requested_HoldsPlace_NoInvoice", func(t *testing.T) {
		req = f.book(teacher, urnMaintained, sess.ID, false, teacher.Email)
		wantStatus(t, req, booking.StatusRequested)
		f.checkAsStored(req)
		if req.Price != 0 || req.InvoiceID != 0 || len(req.Charges) != 0 {
			t.Errorf("request: got price %s invoice %d %d charges, want none", req.Price, req.InvoiceID, len(req.Charges))
		}
		f.checkPlaces(sess.ID, 1)
	})
	t.Run("ManagerBookingNeedsNoApproval", func(t *testing.T) {
		b := f.book(manager, urnMaintained, sess2.ID, false, "colleague@chelmervalley.example")
		wantStatus(t, b, booking.StatusConfirmed)
	})
	t.Run("TeacherCannotApprove", func(t *testing.T) {
		wantErrCode(t, "teacher approves", f.svc.ApproveBooking(f.ctx, teacher, "", req.ID, ""), traded.EFORBIDDEN)
	})
	t.Run("OtherSchoolsManagerCannotSee", func(t *testing.T) {
		wantErrCode(t, "other school approves", f.svc.ApproveBooking(f.ctx, f.user(managerAcademy), "", req.ID, ""), traded.ENOTFOUND)
	})
	t.Run("ManagerApproves_ConfirmedPricedInvoiced", func(t *testing.T) {
		if err := f.svc.ApproveBooking(f.ctx, manager, "", req.ID, ""); err != nil {
			t.Fatal(err)
		}
		b := f.booking(req.ID)
		wantStatus(t, b, booking.StatusConfirmed)
		if b.Price != psaMaintained {
			t.Errorf("approved: got price %s, want %s", b.Price, psaMaintained)
		}
		f.checkInvoiced(b)
		f.checkPlaces(sess.ID, 1)
		wantErrCode(t, "approve twice", f.svc.ApproveBooking(f.ctx, manager, "", req.ID, ""), traded.ECONFLICT)
	})
	t.Run("ManagerDeclines_PlacesFreed", func(t *testing.T) {
		r := f.book(teacher, urnMaintained, sess2.ID, false, teacher.Email)
		wantStatus(t, r, booking.StatusRequested)
		f.checkPlaces(sess2.ID, 2)
		if err := f.svc.DeclineBooking(f.ctx, manager, "", r.ID, "not this term"); err != nil {
			t.Fatal(err)
		}
		b := f.booking(r.ID)
		wantStatus(t, b, booking.StatusDeclined)
		if b.Price != 0 || b.InvoiceID != 0 {
			t.Errorf("declined: got price %s invoice %d, want none", b.Price, b.InvoiceID)
		}
		f.checkPlaces(sess2.ID, 1)
	})
	t.Run("TeacherBookingSomeoneElse_Forbidden", func(t *testing.T) {
		_, err := f.tryBook(teacher, urnMaintained, sess2.ID, false, "colleague2@chelmervalley.example")
		wantErrCode(t, "teacher books a colleague", err, traded.EFORBIDDEN)
		_, err = f.tryBook(teacher, urnMaintained, sess2.ID, false, teacher.Email, "colleague2@chelmervalley.example")
		wantErrCode(t, "teacher books self and a colleague", err, traded.EFORBIDDEN)
	})
	t.Run("TeacherBookingForAnotherSchool_NotFound", func(t *testing.T) {
		_, err := f.tryBook(teacher, urnAcademy, sess2.ID, false, teacher.Email)
		wantErrCode(t, "teacher books for 990004", err, traded.ENOTFOUND)
	})
	// A teacher whose school approves bookings should not be able to get a
	// confirmed, billed booking without approval by joining the waiting list
	// and accepting the offer.
	t.Run("TeacherWaitlistOffer_StillNeedsApproval", func(t *testing.T) {
		g := newBookingFixture(t)
		teacher := g.user(teacherMaintained)
		if err := g.svc.Organisations.SetBookingSettings(g.ctx, g.la, g.org(urnMaintained).ID, "per_booking", true); err != nil {
			t.Fatal(err)
		}
		s := g.withCapacity(coursePSA, 1)
		first := g.book(g.user(adminEmail), urnThurrock, s.ID, false, "a@thurrock.example")
		w := g.book(teacher, urnMaintained, s.ID, true, teacher.Email)
		wantStatus(t, w, booking.StatusWaitlisted)
		if err := g.svc.CancelBooking(g.ctx, g.user(adminEmail), "", first.ID, ""); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, g.booking(w.ID), booking.StatusOffered)
		err := g.svc.AcceptOffer(g.ctx, teacher, "", w.ID, "")
		b := g.booking(w.ID)
		if err == nil && b.Status == booking.StatusConfirmed {
			t.Errorf("teacher accepted an offer without the manager's approval: got status %s price %s invoice %q, want a request for approval (or refused)",
				b.Status, b.Price, b.InvoiceNumber)
		}
	})
}

// TestService_SwapAndCancelPlace: changing who attends, and cancelling one
// place of several.
func TestService_SwapAndCancelPlace(t *testing.T) {
	f := newBookingFixture(t)
	manager := f.user(managerMaintained)
	psa := f.course(coursePSA)
	mod := f.course(courseModeration)

	t.Run("SwapDelegate_NewUID_PriceUnchanged_NoCredit", func(t *testing.T) {
		b := f.book(manager, urnMaintained, psa.ID, false, "old@chelmervalley.example", "keep@chelmervalley.example")
		old := b.Delegates[0]
		if err := f.svc.SwapDelegate(f.ctx, manager, "", b.ID, old.ID, "New Person", "new@chelmervalley.example"); err != nil {
			t.Fatal(err)
		}
		got := f.booking(b.ID)
		if len(got.Delegates) != 3 || len(got.Active()) != 2 {
			t.Fatalf("delegates: got %d (%d active), want 3 (2 active)", len(got.Delegates), len(got.Active()))
		}
		if got.Delegates[0].Status != "replaced" {
			t.Errorf("old delegate: got status %s, want replaced", got.Delegates[0].Status)
		}
		nd := got.Delegates[2]
		if nd.Email != "new@chelmervalley.example" || nd.Status != "active" || nd.ReplacesID != old.ID {
			t.Errorf("new delegate: got %s %s replaces %d, want new@chelmervalley.example active replaces %d", nd.Email, nd.Status, nd.ReplacesID, old.ID)
		}
		if nd.UID == "" || nd.UID == old.UID {
			t.Errorf("new delegate UID: got %q, want a new one (old %q)", nd.UID, old.UID)
		}
		if got.Price != b.Price || got.InvoiceNumber != b.InvoiceNumber {
			t.Errorf("after swap: got price %s invoice %s, want %s %s", got.Price, got.InvoiceNumber, b.Price, b.InvoiceNumber)
		}
		if notes := f.creditNotes(got.InvoiceID); len(notes) != 0 {
			t.Errorf("credit notes after a swap: got %d, want none", len(notes))
		}
		f.checkPlaces(psa.ID, 2)

		wantErrCode(t, "swap to someone already booked",
			f.svc.SwapDelegate(f.ctx, manager, "", b.ID, got.Delegates[1].ID, "New Person", "NEW@chelmervalley.example"), traded.ECONFLICT)
		wantErrCode(t, "swap a replaced delegate",
			f.svc.SwapDelegate(f.ctx, manager, "", b.ID, old.ID, "Other", "other@chelmervalley.example"), traded.ENOTFOUND)
		wantErrCode(t, "swap to a bad email",
			f.svc.SwapDelegate(f.ctx, manager, "", b.ID, nd.ID, "Other", "not-an-email"), traded.EINVALID)
		other := f.book(f.user(managerAcademy), urnAcademy, psa.ID, false, "taken@basildonmeadows.example")
		wantErrCode(t, "swap to someone booked by another school",
			f.svc.SwapDelegate(f.ctx, manager, "", b.ID, nd.ID, "Taken", "taken@basildonmeadows.example"), traded.ECONFLICT)
		wantErrCode(t, "swap on another school's booking",
			f.svc.SwapDelegate(f.ctx, manager, "", other.ID, other.Delegates[0].ID, "X", "x@chelmervalley.example"), traded.ENOTFOUND)
	})

	t.Run("CancelPlace_Moderation_CreditsOneAdditional_LastCancelsBooking", func(t *testing.T) {
		b := f.book(manager, urnMaintained, mod.ID, false, staff("mod", urnMaintained, 3)...)
		if b.Price != modFirst+2*modAdditional {
			t.Fatalf("moderation for 3: got %s, want %s", b.Price, modFirst+2*modAdditional)
		}
		inv := f.invoice(b.InvoiceNumber)
		if err := f.svc.CancelPlace(f.ctx, manager, "", b.ID, b.Delegates[2].ID); err != nil {
			t.Fatal(err)
		}
		notes := f.creditNotes(inv.ID)
		if len(notes) != 1 || notes[0].Total != modAdditional {
			var totals []pricing.Money
			for _, n := range notes {
				totals = append(totals, n.Total)
			}
			t.Errorf("credit notes: got %v, want one for %s", totals, modAdditional)
		}
		got := f.booking(b.ID)
		wantStatus(t, got, booking.StatusConfirmed)
		if len(got.Active()) != 2 || got.Delegates[2].Status != "cancelled" {
			t.Errorf("after cancelling a place: got %d active, cancelled delegate %s", len(got.Active()), got.Delegates[2].Status)
		}
		f.checkPlaces(mod.ID, 2)

		if err := f.svc.CancelPlace(f.ctx, manager, "", b.ID, b.Delegates[1].ID); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.CancelPlace(f.ctx, manager, "", b.ID, b.Delegates[0].ID); err != nil {
			t.Fatal(err)
		}
		got = f.booking(b.ID)
		wantStatus(t, got, booking.StatusCancelled)
		inv = f.invoice(b.InvoiceNumber)
		if inv.Credited != inv.Total {
			t.Errorf("after every place went: got credited %s of %s, want all", inv.Credited, inv.Total)
		}
		if n := len(f.creditNotes(inv.ID)); n != 3 {
			t.Errorf("credit notes: got %d, want 3", n)
		}
		f.checkPlaces(mod.ID, 0)
		wantErrCode(t, "cancel a place of a cancelled booking",
			f.svc.CancelPlace(f.ctx, manager, "", b.ID, b.Delegates[0].ID), traded.ECONFLICT)
	})

	t.Run("CancelPlace_PSA3Delegates_CreditsOnePlace", func(t *testing.T) {
		b := f.book(manager, urnMaintained, f.course(coursePSA2).ID, false, staff("psa3", urnMaintained, 3)...)
		if err := f.svc.CancelPlace(f.ctx, manager, "", b.ID, b.Delegates[0].ID); err != nil {
			t.Fatal(err)
		}
		if notes := f.creditNotes(b.InvoiceID); len(notes) != 1 || notes[0].Total != psaMaintained {
			t.Errorf("credit notes: got %d, want one for %s", len(notes), psaMaintained)
		}
		// Two staff still share the remaining place: no credit.
		if err := f.svc.CancelPlace(f.ctx, manager, "", b.ID, b.Delegates[1].ID); err != nil {
			t.Fatal(err)
		}
		if notes := f.creditNotes(b.InvoiceID); len(notes) != 1 {
			t.Errorf("credit notes after 3 -> 1 staff: got %d, want 1", len(notes))
		}
	})

	t.Run("CancelPlace_AfterCutoff_NoCredit", func(t *testing.T) {
		b := f.book(manager, urnMaintained, f.course("mod-y2-experienced").ID, false, staff("modlate", urnMaintained, 2)...)
		f.clock.Set(f.svc.FreeCancellationUntil(b.Session).Add(time.Second))
		defer f.clock.Set(storetest.Epoch)
		if err := f.svc.CancelPlace(f.ctx, manager, "", b.ID, b.Delegates[1].ID); err != nil {
			t.Fatal(err)
		}
		if notes := f.creditNotes(b.InvoiceID); len(notes) != 0 {
			t.Errorf("credit notes after the cut-off: got %d, want none", len(notes))
		}
	})
}

// TestService_UpdateAndCancelSession: the LA reschedules, resizes and
// cancels sessions.
func TestService_UpdateAndCancelSession(t *testing.T) {
	f := newBookingFixture(t)
	admin := f.user(adminEmail)
	sess := f.withCapacity(coursePSA2, 2)

	paid := f.book(f.user(managerMaintained), urnMaintained, sess.ID, false, "paid@chelmervalley.example")
	f.subscribe(urnAcademy)
	free := f.book(f.user(managerAcademy), urnAcademy, sess.ID, false, "free@basildonmeadows.example")
	waiting := f.book(admin, urnSouthend, sess.ID, true, "wait@leighcliffs.example")
	if paid.Price != psaMaintained || free.Price != 0 || waiting.Status != booking.StatusWaitlisted {
		t.Fatalf("setup: got %s, %s, %s; want %s, £0.00, waitlisted", paid.Price, free.Price, waiting.Status, psaMaintained)
	}

	t.Run("Reschedule_SequenceUp_CutoffsMove", func(t *testing.T) {
		before := f.session(sess.ID)
		freeBefore := f.svc.FreeCancellationUntil(before)
		at := before.StartsAt.AddDate(0, 0, 7)
		after, err := f.svc.UpdateSession(f.ctx, f.la, sess.ID, catalogue.SessionUpdate{StartsAt: &at})
		if err != nil {
			t.Fatal(err)
		}
		if after.Sequence != before.Sequence+1 {
			t.Errorf("sequence: got %d, want %d", after.Sequence, before.Sequence+1)
		}
		if want := before.BookingCutoffAt.AddDate(0, 0, 7); !after.BookingCutoffAt.Equal(want) {
			t.Errorf("booking cut-off: got %s, want %s", after.BookingCutoffAt, want)
		}
		if got, want := f.svc.FreeCancellationUntil(f.booking(paid.ID).Session), freeBefore.AddDate(0, 0, 7); !got.Equal(want) {
			t.Errorf("free cancellation until: got %s, want %s", got, want)
		}
		n := 5
		again, err := f.svc.UpdateSession(f.ctx, f.la, sess.ID, catalogue.SessionUpdate{Capacity: &n})
		if err != nil {
			t.Fatal(err)
		}
		if again.Sequence != after.Sequence {
			t.Errorf("sequence after a capacity change: got %d, want %d (invites unchanged)", again.Sequence, after.Sequence)
		}
		// The extra capacity went to the waiting list.
		wantStatus(t, f.booking(waiting.ID), booking.StatusOffered)
		f.checkPlaces(sess.ID, 3)
	})
	t.Run("SameStartGivenInLondonZone_NoSequenceBump", func(t *testing.T) {
		before := f.session(sess.ID)
		same := before.StartsAt.In(traded.London) // the same instant, as a London wall-clock time
		presenter := "Another presenter"
		after, err := f.svc.UpdateSession(f.ctx, f.la, sess.ID, catalogue.SessionUpdate{StartsAt: &same, Presenter: &presenter})
		if err != nil {
			t.Fatal(err)
		}
		if after.Sequence != before.Sequence || !after.StartsAt.Equal(before.StartsAt) {
			t.Errorf("same start, new presenter: got sequence %d start %s, want %d %s (nothing in the invite changed)",
				after.Sequence, after.StartsAt, before.Sequence, before.StartsAt)
		}
	})
	t.Run("CapacityBelowPlacesHeld_Invalid", func(t *testing.T) {
		n := 2
		_, err := f.svc.UpdateSession(f.ctx, f.la, sess.ID, catalogue.SessionUpdate{Capacity: &n})
		wantErrCode(t, "capacity 2 with 3 held", err, traded.EINVALID)
		if got := f.session(sess.ID).Capacity; got != 5 {
			t.Errorf("capacity after refusal: got %d, want 5", got)
		}
	})
	t.Run("CancelSession_AfterCutoff_AllCancelled_PaidCreditedInFull", func(t *testing.T) {
		s := f.session(sess.ID)
		f.clock.Set(f.svc.FreeCancellationUntil(s).Add(24 * time.Hour))
		if !f.clock.Now().Before(s.StartsAt) {
			t.Fatalf("clock %s is not before the session %s", f.clock.Now(), s.StartsAt)
		}
		wantErrCode(t, "cancel with no reason", f.svc.CancelSession(f.ctx, f.la, sess.ID, " "), traded.EINVALID)
		if err := f.svc.CancelSession(f.ctx, f.la, sess.ID, "presenter ill"); err != nil {
			t.Fatal(err)
		}
		for _, id := range []int64{paid.ID, free.ID, waiting.ID} {
			b := f.booking(id)
			wantStatus(t, b, booking.StatusCancelled)
			if b.LateCancel {
				t.Errorf("booking %s: got late cancel, want not (the LA cancelled)", b.Reference)
			}
			if !strings.Contains(b.CancelReason, "presenter ill") {
				t.Errorf("booking %s reason: got %q, want it to give the reason", b.Reference, b.CancelReason)
			}
		}
		inv := f.invoice(paid.InvoiceNumber)
		if inv.Credited != psaMaintained || inv.Status(f.bill.Today()) != billing.StatusCredited {
			t.Errorf("paid booking's invoice: got credited %s status %s, want %s credited", inv.Credited, inv.Status(f.bill.Today()), psaMaintained)
		}
		var notes int
		f.db.Read().QueryRow(`SELECT count(*) FROM credit_notes`).Scan(&notes)
		if notes != 1 {
			t.Errorf("credit notes: got %d, want 1 (only the paid booking)", notes)
		}
		got := f.session(sess.ID)
		if got.Status != "cancelled" || got.Sequence != s.Sequence+1 || got.PlacesTaken != 0 {
			t.Errorf("session: got status %s sequence %d places %d, want cancelled %d 0", got.Status, got.Sequence, got.PlacesTaken, s.Sequence+1)
		}
		f.checkPlaces(sess.ID, 0)
	})
	t.Run("CancelAgain_Conflict", func(t *testing.T) {
		wantErrCode(t, "cancel a cancelled session", f.svc.CancelSession(f.ctx, f.la, sess.ID, "again"), traded.ECONFLICT)
	})
	t.Run("BookCancelledSession_Conflict", func(t *testing.T) {
		_, err := f.tryBook(admin, urnThurrock, sess.ID, true, "late@thurrock.example")
		wantErrCode(t, "book a cancelled session", err, traded.ECONFLICT)
		n := 10
		_, err = f.svc.UpdateSession(f.ctx, f.la, sess.ID, catalogue.SessionUpdate{Capacity: &n})
		wantErrCode(t, "update a cancelled session", err, traded.ECONFLICT)
	})
	t.Run("UnknownSession_NotFound", func(t *testing.T) {
		wantErrCode(t, "cancel session 9999", f.svc.CancelSession(f.ctx, f.la, 9999, "x"), traded.ENOTFOUND)
	})
}

// TestService_SetAttendance takes the register.
func TestService_SetAttendance(t *testing.T) {
	f := newBookingFixture(t)
	manager := f.user(managerMaintained)
	sess := f.course(coursePSA)
	b := f.book(manager, urnMaintained, sess.ID, false, staff("reg", urnMaintained, 3)...)
	elsewhere := f.book(manager, urnMaintained, f.course(coursePSA2).ID, false, "elsewhere@chelmervalley.example")
	f.withCapacity(coursePSA, 3)
	waiting := f.book(f.user(managerAcademy), urnAcademy, sess.ID, true, "waiting@basildonmeadows.example")
	d := b.Delegates

	t.Run("BeforeStart_Conflict", func(t *testing.T) {
		f.clock.Set(sess.StartsAt.Add(-time.Minute))
		err := f.svc.SetAttendance(f.ctx, f.la, sess.ID, map[int64]string{d[0].ID: "attended"})
		wantErrCode(t, "register before the session starts", err, traded.ECONFLICT)
		if got := f.booking(b.ID); got.Delegates[0].Attendance != "" {
			t.Errorf("attendance before the start: got %q, want none", got.Delegates[0].Attendance)
		}
	})
	f.clock.Set(sess.StartsAt)

	t.Run("MarksAttendedAbsentPartial", func(t *testing.T) {
		if err := f.svc.SetAttendance(f.ctx, f.la, sess.ID, map[int64]string{d[0].ID: "attended", d[1].ID: "absent", d[2].ID: "partial"}); err != nil {
			t.Fatal(err)
		}
		got := f.booking(b.ID)
		for i, want := range []string{"attended", "absent", "partial"} {
			if got.Delegates[i].Attendance != want {
				t.Errorf("delegate %d: got %q, want %q", i+1, got.Delegates[i].Attendance, want)
			}
		}
	})
	t.Run("DelegateOfAnotherSession_Invalid", func(t *testing.T) {
		err := f.svc.SetAttendance(f.ctx, f.la, sess.ID, map[int64]string{elsewhere.Delegates[0].ID: "attended"})
		wantErrCode(t, "delegate of another session", err, traded.EINVALID)
	})
	t.Run("WaitingDelegate_Invalid", func(t *testing.T) {
		err := f.svc.SetAttendance(f.ctx, f.la, sess.ID, map[int64]string{waiting.Delegates[0].ID: "attended"})
		wantErrCode(t, "delegate on the waiting list", err, traded.EINVALID)
	})
	t.Run("BadValue_Invalid_NothingWritten", func(t *testing.T) {
		err := f.svc.SetAttendance(f.ctx, f.la, sess.ID, map[int64]string{d[0].ID: "absent", d[1].ID: "late"})
		wantErrCode(t, "mark late", err, traded.EINVALID)
		got := f.booking(b.ID)
		if got.Delegates[0].Attendance != "attended" || got.Delegates[1].Attendance != "absent" {
			t.Errorf("after a refused register: got %q, %q, want attended, absent unchanged", got.Delegates[0].Attendance, got.Delegates[1].Attendance)
		}
	})
	t.Run("EmptyClears", func(t *testing.T) {
		if err := f.svc.SetAttendance(f.ctx, f.la, sess.ID, map[int64]string{d[2].ID: ""}); err != nil {
			t.Fatal(err)
		}
		if got := f.booking(b.ID).Delegates[2].Attendance; got != "" {
			t.Errorf("cleared mark: got %q, want \"\"", got)
		}
	})
}

// TestService_BookingPaidBeforeSubscribing: what a school paid for PSA
// places this year that a subscription bought later would have covered.
func TestService_BookingPaidBeforeSubscribing(t *testing.T) {
	f := newBookingFixture(t)
	manager := f.user(managerMaintained)
	org := f.org(urnMaintained)
	one := f.book(manager, urnMaintained, f.course(coursePSA).ID, false, "one@chelmervalley.example")
	three := f.book(manager, urnMaintained, f.course(coursePSA2).ID, false, staff("three", urnMaintained, 3)...)
	if one.Price != psaMaintained || three.Price != 2*psaMaintained {
		t.Fatalf("setup: got %s and %s, want %s and %s", one.Price, three.Price, psaMaintained, 2*psaMaintained)
	}
	t.Run("AfterSubscribing_TwoPlaces", func(t *testing.T) {
		f.subscribe(urnMaintained)
		amount, places, err := f.svc.PaidBeforeSubscribing(f.ctx, org.ID, 2026)
		if err != nil {
			t.Fatal(err)
		}
		// 1 staff needs 0 places as a subscriber (1 paid); 3 staff need 1 (2 paid).
		if places != 2 || amount != 2*psaMaintained {
			t.Errorf("paid before subscribing: got %d places %s, want 2 places %s", places, amount, 2*psaMaintained)
		}
	})
	t.Run("CreditedPlaceNotCounted", func(t *testing.T) {
		if err := f.svc.CancelPlace(f.ctx, manager, "", three.ID, three.Delegates[2].ID); err != nil {
			t.Fatal(err)
		}
		amount, places, err := f.svc.PaidBeforeSubscribing(f.ctx, org.ID, 2026)
		if err != nil {
			t.Fatal(err)
		}
		// 2 staff on the second session, 1 place left paid: a subscriber needs none.
		if places != 2 || amount != 2*psaMaintained {
			t.Errorf("after a place was credited: got %d places %s, want 2 places %s", places, amount, 2*psaMaintained)
		}
	})
}
