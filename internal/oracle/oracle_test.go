package oracle

import (
	"testing"
	"time"
)

// at is a London wall-clock time in the history, as UTC.
func at(date, clock string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", date+" "+clock, London)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// Sessions of the hand-worked histories, all Thursday 2 December 2021 at
// 16:00 GMT: free cancellation until the end of Thursday 18 November.
var (
	psa  = Session{ID: "psa", Kind: PSASession, Start: at("2021-12-02", "16:00")}
	psa2 = Session{ID: "psa2", Kind: PSASession, Start: at("2021-12-02", "16:00")}
	mod  = Session{ID: "mod", Kind: Moderation, Start: at("2021-12-02", "16:00")}
)

var (
	early  = at("2021-10-01", "09:00") // well before every cut-off
	inTime = at("2021-11-19", "00:00") // the cut-off itself: still free
	late   = at("2021-11-19", "00:01") // a minute after it
)

// The published tariff, one row per cell of DESIGN.md's tables, each
// worked out by a history of one purchase.
func TestPublishedTariffCells(t *testing.T) {
	type cell struct {
		name       string
		tier       Tier
		subscriber bool
		what       string // subscription, session, first, additional
		want       int64
	}
	cells := []cell{
		{"subscription/maintained", Maintained, false, "subscription", 31500},
		{"subscription/academy", Academy, false, "subscription", 39500},
		{"subscription/external", External, false, "subscription", 49500},
		{"session/maintained", Maintained, false, "session", 5500},
		{"session/academy", Academy, false, "session", 6500},
		{"session/external", External, false, "session", 7500},
		{"moderation/essex-subscriber-first/maintained", Maintained, true, "first", 4000},
		{"moderation/essex-subscriber-first/academy", Academy, true, "first", 4000},
		{"moderation/essex-subscriber-additional/maintained", Maintained, true, "additional", 1000},
		{"moderation/essex-subscriber-additional/academy", Academy, true, "additional", 1000},
		{"moderation/essex-first/maintained", Maintained, false, "first", 6000},
		{"moderation/essex-first/academy", Academy, false, "first", 6000},
		{"moderation/essex-additional/maintained", Maintained, false, "additional", 1500},
		{"moderation/essex-additional/academy", Academy, false, "additional", 1500},
		{"moderation/external-subscriber-first", External, true, "first", 5000},
		{"moderation/external-subscriber-additional", External, true, "additional", 2000},
		{"moderation/external-first", External, false, "first", 7000},
		{"moderation/external-additional", External, false, "additional", 2500},
	}
	for _, c := range cells {
		t.Run(c.name, func(t *testing.T) {
			ev := []Event{NewSchool{At: early, School: "S", Tier: c.tier}}
			if c.subscriber || c.what == "subscription" {
				ev = append(ev, Subscribe{At: early, School: "S"})
			}
			var got int64
			switch c.what {
			case "subscription":
				o := mustReplay(t, ev)
				got = o.Owed("S")
			case "session":
				o := mustReplay(t, append(ev, Confirm{At: early, Booking: "b", School: "S", Session: "psa", Places: 1}))
				got = o.Share("b")
			case "first":
				o := mustReplay(t, append(ev, Confirm{At: early, Booking: "b", School: "S", Session: "mod", Places: 1}))
				got = o.Share("b")
			case "additional":
				o := mustReplay(t, append(ev, Confirm{At: early, Booking: "b1", School: "S", Session: "mod", Places: 1},
					Confirm{At: early, Booking: "b2", School: "S", Session: "mod", Places: 1}))
				got = o.Share("b2")
			}
			if got != c.want {
				t.Errorf("got %d, want %d", got, c.want)
			}
		})
	}
}

func mustReplay(t *testing.T, ev []Event) *Oracle {
	t.Helper()
	o, err := Replay(DefaultCancelWorkingDays, []Session{psa, psa2, mod}, ev)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// step is one event of a hand-worked history and what the school owes
// after it.
type step struct {
	e    Event
	owed int64
}

func checkSteps(t *testing.T, school string, steps []step) *Oracle {
	t.Helper()
	o := New(DefaultCancelWorkingDays, psa, psa2, mod)
	for i, s := range steps {
		if err := o.Apply(s.e); err != nil {
			t.Fatalf("step %d %T: %v", i+1, s.e, err)
		}
		if got := o.Owed(school); got != s.owed {
			t.Errorf("after step %d %T: owes %d, want %d", i+1, s.e, got, s.owed)
		}
	}
	return o
}

// Book 1 on a moderation event, then 2 more; cancel the first in time: the
// second booking's first place now pays the first-person price; cancel the
// second in time too: nothing is owed.
func TestModerationCancelFirstThenSecond(t *testing.T) {
	o := checkSteps(t, "A", []step{
		{NewSchool{At: early, School: "A", Tier: Maintained}, 0},
		{Confirm{At: early, Booking: "b1", School: "A", Session: "mod", Places: 1}, 6000},
		{Confirm{At: early.Add(time.Hour), Booking: "b2", School: "A", Session: "mod", Places: 2}, 6000 + 1500 + 1500},
		{CancelBooking{At: inTime, Booking: "b1"}, 6000 + 1500},
		{CancelBooking{At: inTime, Booking: "b2"}, 0},
	})
	for _, id := range []string{"b1", "b2"} {
		if b, _ := o.Booking(id); b.Cancelled != Free || o.Share(id) != 0 || o.Chargeable(id) != 0 {
			t.Errorf("%s: cancelled %q share %d chargeable %d, want free, 0, 0", id, b.Cancelled, o.Share(id), o.Chargeable(id))
		}
	}
}

// A late cancellation changes no price: the place still counts, so the
// next booking pays the additional price.
func TestModerationLateCancelStillCounts(t *testing.T) {
	o := checkSteps(t, "A", []step{
		{NewSchool{At: early, School: "A", Tier: External}, 0},
		{Confirm{At: early, Booking: "b1", School: "A", Session: "mod", Places: 1}, 7000},
		{CancelBooking{At: late, Booking: "b1"}, 7000},
		{Confirm{At: late.Add(time.Hour), Booking: "b2", School: "A", Session: "mod", Places: 1}, 7000 + 2500},
	})
	if b, _ := o.Booking("b1"); b.Cancelled != Late || o.Chargeable("b1") != 1 || o.Share("b1") != 7000 {
		t.Errorf("b1: %q, %d chargeable, share %d; want late, 1, 7000", b.Cancelled, o.Chargeable("b1"), o.Share("b1"))
	}
}

// One place of three cancelled in time comes off at the additional price;
// one cancelled late does not.
func TestModerationCancelPlace(t *testing.T) {
	checkSteps(t, "A", []step{
		{NewSchool{At: early, School: "A", Tier: Academy}, 0},
		{Confirm{At: early, Booking: "b1", School: "A", Session: "mod", Places: 3}, 6000 + 1500 + 1500},
		{CancelPlace{At: inTime, Booking: "b1"}, 6000 + 1500},
		{CancelPlace{At: late, Booking: "b1"}, 6000 + 1500},
		{CancelBooking{At: late, Booking: "b1"}, 6000 + 1500},
	})
}

// Each booking keeps its own rates: a subscriber's second booking is at the
// subscriber's additional price, and once the first is cancelled in time
// it pays the subscriber's first-person price.
func TestModerationRatesKeptPerBooking(t *testing.T) {
	checkSteps(t, "A", []step{
		{NewSchool{At: early, School: "A", Tier: Maintained}, 0},
		{Confirm{At: early, Booking: "b1", School: "A", Session: "mod", Places: 1}, 6000},
		{Subscribe{At: early, School: "A"}, 31500 + 6000},
		{Confirm{At: early, Booking: "b2", School: "A", Session: "mod", Places: 1}, 31500 + 6000 + 1000},
		{CancelBooking{At: early, Booking: "b1"}, 31500 + 4000},
	})
}

// PSA: a subscriber's first 2 staff are free, a third buys a place that also
// covers a fourth in another booking; cancelling the first booking in time
// leaves the later staff free.
func TestPSASubscriber(t *testing.T) {
	checkSteps(t, "A", []step{
		{NewSchool{At: early, School: "A", Tier: Academy}, 0},
		{Subscribe{At: early, School: "A"}, 39500},
		{Confirm{At: early, Booking: "b1", School: "A", Session: "psa", Places: 3}, 39500 + 6500},
		{Confirm{At: early, Booking: "b2", School: "A", Session: "psa", Places: 1}, 39500 + 6500},
		{Confirm{At: early, Booking: "b3", School: "A", Session: "psa", Places: 1}, 39500 + 6500 + 6500},
		{CancelBooking{At: inTime, Booking: "b1"}, 39500},
		{Confirm{At: inTime, Booking: "b4", School: "A", Session: "psa2", Places: 2}, 39500},
	})
}

// PSA non-subscriber: a place for up to 2 staff, shared across bookings; a
// subscription bought later covers only later bookings (nothing refunded),
// and a paid place bought earlier still has room for one of them.
func TestPSANonSubscriberThenSubscribes(t *testing.T) {
	o := checkSteps(t, "A", []step{
		{NewSchool{At: early, School: "A", Tier: External}, 0},
		{Confirm{At: early, Booking: "b1", School: "A", Session: "psa", Places: 1}, 7500},
		{Confirm{At: early, Booking: "b2", School: "A", Session: "psa", Places: 2}, 7500 + 7500},
		{Subscribe{At: early, School: "A"}, 49500 + 15000},
		{Confirm{At: early, Booking: "b3", School: "A", Session: "psa", Places: 3}, 49500 + 15000},
		{Confirm{At: early, Booking: "b4", School: "A", Session: "psa", Places: 1}, 49500 + 15000 + 7500},
	})
	// b1 bought a place (b2's first shares it), b2's second bought one,
	// b3: two free and one sharing b2's place, b4 a new place.
	for id, want := range map[string]int64{"b1": 7500, "b2": 7500, "b3": 0, "b4": 7500} {
		if got := o.Share(id); got != want {
			t.Errorf("%s: share %d, want %d", id, got, want)
		}
	}
}

// A tier change recorded with a future effective date changes nothing until
// that day; a booking confirmed before keeps its rates.
func TestTierFromEffectiveDay(t *testing.T) {
	o := checkSteps(t, "A", []step{
		{NewSchool{At: early, School: "A", Tier: Maintained}, 0},
		{TierFrom{At: early, School: "A", Tier: Academy, EffectiveDay: "2021-11-01"}, 0},
		{Confirm{At: at("2021-10-31", "23:30"), Booking: "b1", School: "A", Session: "psa", Places: 1}, 5500},
		{Confirm{At: at("2021-11-01", "00:00"), Booking: "b2", School: "A", Session: "psa2", Places: 1}, 5500 + 6500},
		{Subscribe{At: at("2021-11-01", "09:00"), School: "A"}, 5500 + 6500 + 39500},
	})
	if got := o.TierOn("A", "2021-10-31"); got != Maintained {
		t.Errorf("tier on 31 October: %s, want maintained", got)
	}
}

// A price list published mid-year prices later bookings; earlier bookings
// keep theirs, also when priced again after a cancellation.
func TestNewPriceListVersion(t *testing.T) {
	v2 := Published()
	v2.Moderation = map[Tier]ModerationRates{Maintained: {4100, 1100, 7000, 2000}, Academy: {4100, 1100, 7000, 2000}, External: {1, 2, 3, 4}}
	v2.Subscription = map[Tier]int64{Maintained: 30000, Academy: 40000, External: 50000}
	checkSteps(t, "A", []step{
		{NewSchool{At: early, School: "A", Tier: Maintained}, 0},
		{Confirm{At: early, Booking: "b1", School: "A", Session: "mod", Places: 1}, 6000},
		{PublishPriceList{At: early, Version: 2, Prices: v2}, 6000},
		{Confirm{At: early, Booking: "b2", School: "A", Session: "mod", Places: 1}, 6000 + 2000},
		{CancelBooking{At: early, Booking: "b1"}, 7000},
		{Subscribe{At: early, School: "A"}, 7000 + 30000},
	})
}

// The LA cancelling a session: nothing is owed for it, late cancellations
// included; other sessions are untouched.
func TestSessionCancelledByLA(t *testing.T) {
	o := checkSteps(t, "A", []step{
		{NewSchool{At: early, School: "A", Tier: Academy}, 0},
		{Confirm{At: early, Booking: "b1", School: "A", Session: "mod", Places: 2}, 6000 + 1500},
		{Confirm{At: early, Booking: "b2", School: "A", Session: "mod", Places: 1}, 6000 + 3000},
		{Confirm{At: early, Booking: "b3", School: "A", Session: "psa", Places: 1}, 9000 + 6500},
		{CancelBooking{At: late, Booking: "b1"}, 9000 + 6500},
		{Swap{At: late, Booking: "b2"}, 9000 + 6500},
		{SessionCancelled{At: late, Session: "mod"}, 6500},
	})
	if b, _ := o.Booking("b2"); b.Cancelled != ByLA {
		t.Errorf("b2: %q, want cancelled by the LA", b.Cancelled)
	}
	if b, _ := o.Booking("b1"); b.Cancelled != Late || o.Chargeable("b1") != 0 {
		t.Errorf("b1: %q with %d chargeable, want late with none (the session did not run)", b.Cancelled, o.Chargeable("b1"))
	}
}

// Schools do not share: another school's first place is its own.
func TestSchoolsApart(t *testing.T) {
	o := mustReplay(t, []Event{
		NewSchool{At: early, School: "A", Tier: Maintained}, NewSchool{At: early, School: "B", Tier: Maintained},
		Confirm{At: early, Booking: "a", School: "A", Session: "mod", Places: 1},
		Confirm{At: early, Booking: "b", School: "B", Session: "mod", Places: 1},
	})
	if o.Owed("A") != 6000 || o.Owed("B") != 6000 {
		t.Errorf("owed A %d, B %d, want 6000 each", o.Owed("A"), o.Owed("B"))
	}
}

func TestFreeCancellationUntil(t *testing.T) {
	for _, tt := range []struct {
		start string
		n     int
		want  string // RFC 3339
	}{
		// Thu 2 Dec 2021: 10 working days back is Thu 18 Nov; free until its midnight (GMT).
		{"2021-12-02 16:00", 10, "2021-11-19T00:00:00Z"},
		// Wed 5 Jan 2022: back over 3 Jan and 27-28 Dec (bank holidays) to Fri 17 Dec.
		{"2022-01-05 16:00", 10, "2021-12-18T00:00:00Z"},
		// Tue 10 May 2022: back over 2 May to Mon 25 Apr; midnight BST.
		{"2022-05-10 16:00", 10, "2022-04-25T23:00:00Z"},
		// Mon 8 Nov 2021, 1 working day: Friday 5 November.
		{"2021-11-08 09:00", 1, "2021-11-06T00:00:00Z"},
		// The clocks go back on Sun 31 Oct 2021: Fri 29 Oct ends at 23:00 UTC (BST).
		{"2021-11-01 16:00", 1, "2021-10-29T23:00:00Z"},
		// 0 working days: until the session starts.
		{"2021-12-02 16:00", 0, "2021-12-02T16:00:00Z"},
	} {
		got, err := FreeCancellationUntil(at(tt.start[:10], tt.start[11:]), tt.n)
		if err != nil {
			t.Fatal(err)
		}
		if got.UTC().Format(time.RFC3339) != tt.want {
			t.Errorf("%s, %d days: got %s, want %s", tt.start, tt.n, got.UTC().Format(time.RFC3339), tt.want)
		}
	}
	if _, err := FreeCancellationUntil(at("2025-01-10", "09:00"), 10); err == nil {
		t.Error("2025: want an error (bank holidays unknown)")
	}
}

// With 0 working days, cancelling is free until the start.
func TestZeroWorkingDays(t *testing.T) {
	o := New(0, mod)
	for _, e := range []Event{
		NewSchool{At: early, School: "A", Tier: Maintained},
		Confirm{At: early, Booking: "b1", School: "A", Session: "mod", Places: 1},
		CancelBooking{At: mod.Start.Add(-time.Minute), Booking: "b1"},
	} {
		if err := o.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	if o.Owed("A") != 0 {
		t.Errorf("owed %d, want 0", o.Owed("A"))
	}
	if err := o.Apply(Confirm{At: mod.Start.Add(-time.Minute), Booking: "b2", School: "A", Session: "mod", Places: 1}); err != nil {
		t.Fatal(err)
	}
	if err := o.Apply(CancelBooking{At: mod.Start, Booking: "b2"}); err == nil {
		t.Error("cancelling at the start: want an error (the session has started)")
	}
}

// Impossible events are refused rather than guessed at.
func TestRefusesImpossible(t *testing.T) {
	base := []Event{NewSchool{At: early, School: "A", Tier: Maintained},
		Confirm{At: early, Booking: "b1", School: "A", Session: "mod", Places: 1}}
	for name, e := range map[string]Event{
		"unknown booking":     CancelBooking{At: early, Booking: "zz"},
		"last place":          CancelPlace{At: early, Booking: "b1"},
		"time backwards":      CancelBooking{At: early.Add(-time.Hour), Booking: "b1"},
		"unknown school":      Confirm{At: early, Booking: "b9", School: "Z", Session: "mod", Places: 1},
		"duplicate booking":   Confirm{At: early, Booking: "b1", School: "A", Session: "mod", Places: 1},
		"no places":           Confirm{At: early, Booking: "b9", School: "A", Session: "mod", Places: 0},
		"after the start":     CancelBooking{At: mod.Start, Booking: "b1"},
		"subscribe twice":     nil,
		"swap with no places": nil,
	} {
		o := mustReplay(t, base)
		switch name {
		case "subscribe twice":
			if err := o.Apply(Subscribe{At: early, School: "A"}); err != nil {
				t.Fatal(err)
			}
			e = Subscribe{At: early, School: "A"}
		case "swap with no places":
			if err := o.Apply(CancelBooking{At: early, Booking: "b1"}); err != nil {
				t.Fatal(err)
			}
			e = Swap{At: early, Booking: "b1"}
		}
		if err := o.Apply(e); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}
