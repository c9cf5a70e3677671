package pricing_test

import (
	"errors"
	"testing"
	"time"

	"traded/pricing"
)

func TestMoney_String(t *testing.T) {
	for _, tt := range []struct {
		m    pricing.Money
		want string
	}{
		{0, "£0.00"}, {5, "£0.05"}, {31500, "£315.00"}, {123450, "£1,234.50"},
		{100000000, "£1,000,000.00"}, {-1250, "-£12.50"}, {99999, "£999.99"},
	} {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("Money(%d).String() = %q, want %q", int64(tt.m), got, tt.want)
		}
	}
	if got := pricing.Money(-123450).Decimal(); got != "-1234.50" {
		t.Errorf("Decimal = %q, want -1234.50", got)
	}
}

func TestParseMoney(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want pricing.Money
	}{
		{"315", 31500}, {"315.5", 31550}, {"315.50", 31550}, {"£1,234.50", 123450},
		{"-12.00", -1200}, {" 0.05 ", 5}, {".5", 50},
	} {
		got, err := pricing.ParseMoney(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "£", "12.345", "1e3", "12,34.5x", "abc", "1.", "99999999999999"} {
		if _, err := pricing.ParseMoney(bad); err == nil {
			t.Errorf("ParseMoney(%q) succeeded, want an error", bad)
		}
	}
}

func TestAcademicYear(t *testing.T) {
	y, err := pricing.ParseAcademicYear("2021/22")
	if err != nil || y != 2021 || y.String() != "2021/22" {
		t.Fatalf("ParseAcademicYear(2021/22) = %v, %v", y, err)
	}
	for _, ok := range []string{"2021-22", "2021/2022", "2099/00"} {
		if _, err := pricing.ParseAcademicYear(ok); err != nil {
			t.Errorf("ParseAcademicYear(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "2021", "2021/23", "21/22", "2021/2023", "abcd/ef", "1999/00"} {
		if _, err := pricing.ParseAcademicYear(bad); err == nil {
			t.Errorf("ParseAcademicYear(%q) succeeded, want an error", bad)
		}
	}
	london, _ := time.LoadLocation("Europe/London")
	// 31 August 23:30 UTC is already 1 September in London (BST).
	if got := pricing.AcademicYearOf(time.Date(2022, 8, 31, 23, 30, 0, 0, time.UTC), london); got != 2022 {
		t.Errorf("AcademicYearOf(31 Aug 23:30 UTC) = %s, want 2022/23", got)
	}
	if got := pricing.AcademicYearOf(time.Date(2022, 8, 31, 22, 30, 0, 0, time.UTC), london); got != 2021 {
		t.Errorf("AcademicYearOf(31 Aug 22:30 UTC) = %s, want 2021/22", got)
	}
}

func TestUplift(t *testing.T) {
	u, err := pricing.ParseUplift("3.5%")
	if err != nil || u != 350 || u.String() != "3.5%" {
		t.Fatalf("ParseUplift(3.5%%) = %d %q, %v", u, u.String(), err)
	}
	for _, tt := range []struct {
		uplift pricing.Uplift
		in     pricing.Money
		want   pricing.Money
	}{
		{350, 31500, 32603}, // 326.025 -> half a penny rounds up
		{350, 5500, 5693},   // 56.925 -> 56.93
		{350, 1000, 1035},
		{350, 1, 1},   // 1.035p -> 1p
		{5000, 1, 2},  // 1.5p -> 2p, away from zero
		{-5000, 1, 1}, // 0.5p -> 1p, away from zero
		{-200, 5000, 4900},
		{0, 12345, 12345},
		{10000, 31500, 63000},
		{333, 299, 309}, // 308.9567 -> 309
	} {
		if got := tt.uplift.Apply(tt.in); got != tt.want {
			t.Errorf("Uplift(%d).Apply(%d) = %d, want %d", tt.uplift, tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"", "%", "3.555%", "abc", "101%", "-51%", "3,5%"} {
		if _, err := pricing.ParseUplift(bad); err == nil {
			t.Errorf("ParseUplift(%q) succeeded, want an error", bad)
		}
	}
}

func testList() *pricing.PriceList {
	pl := &pricing.PriceList{Year: 2021, Version: 1,
		Products: map[string]pricing.Product{
			pricing.PSASubscription: {Code: pricing.PSASubscription, Name: "Subscription", Kind: pricing.KindSubscription},
			pricing.PSASession:      {Code: pricing.PSASession, Name: "Session", Kind: pricing.KindSession},
			pricing.Moderation:      {Code: pricing.Moderation, Name: "Moderation", Kind: pricing.KindModeration},
		},
		Prices: map[pricing.PriceKey]pricing.Money{
			{pricing.PSASubscription, pricing.Academy, pricing.RateUnit}:            39500,
			{pricing.PSASession, pricing.Academy, pricing.RateUnit}:                 6500,
			{pricing.Moderation, pricing.Academy, pricing.RateFirst}:                6000,
			{pricing.Moderation, pricing.Academy, pricing.RateAdditional}:           1500,
			{pricing.Moderation, pricing.Academy, pricing.RateFirstSubscriber}:      4000,
			{pricing.Moderation, pricing.Academy, pricing.RateAdditionalSubscriber}: 1000,
		}}
	return pl
}

func TestPriceList_Quote(t *testing.T) {
	pl := testList()
	two, one, zero := 2, 1, 0
	for _, tt := range []struct {
		name       string
		subscriber bool
		item       pricing.Item
		want       pricing.Money
	}{
		{"SessionNonSubscriberDefault", false, pricing.Item{Product: pricing.PSASession}, 6500},
		{"SessionNonSubscriberTwoStaff", false, pricing.Item{Product: pricing.PSASession, Staff: 2}, 6500},
		{"SessionNonSubscriberThreeStaff", false, pricing.Item{Product: pricing.PSASession, Staff: 3}, 13000},
		{"SessionSubscriberTwoStaff", true, pricing.Item{Product: pricing.PSASession, Staff: 2}, 0},
		{"SessionSubscriberThirdDelegate", true, pricing.Item{Product: pricing.PSASession, Staff: 3}, 6500},
		{"SessionSubscriberOneFreeLeft", true, pricing.Item{Product: pricing.PSASession, Staff: 2, FreePlaces: &one}, 6500},
		{"SessionSubscriberNoneFreeLeft", true, pricing.Item{Product: pricing.PSASession, Staff: 1, FreePlaces: &zero}, 6500},
		{"SessionSubscriberBothFree", true, pricing.Item{Product: pricing.PSASession, Staff: 2, FreePlaces: &two}, 0},
		{"ModerationOne", false, pricing.Item{Product: pricing.Moderation, Staff: 1}, 6000},
		{"ModerationThree", false, pricing.Item{Product: pricing.Moderation, Staff: 3}, 9000},
		{"ModerationSubscriberThree", true, pricing.Item{Product: pricing.Moderation, Staff: 3}, 6000},
		{"ModerationSecondBooking", false, pricing.Item{Product: pricing.Moderation, Staff: 1, AlreadyBooked: 1}, 1500},
		{"Subscription", false, pricing.Item{Product: pricing.PSASubscription}, 39500},
		// A school's whole party on a big session: booking prices it this
		// way when a place is cancelled (found by make bench's crash run).
		{"SessionSixHundredStaff", false, pricing.Item{Product: pricing.PSASession, Staff: 600}, 300 * 6500},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q, err := pl.Quote(pricing.Academy, tt.subscriber, []pricing.Item{tt.item})
			if err != nil {
				t.Fatal(err)
			}
			if q.Total != tt.want {
				t.Errorf("total = %s, want %s (lines %+v)", q.Total, tt.want, q.Lines)
			}
			var sum pricing.Money
			for _, l := range q.Lines {
				if l.Amount != l.Unit*pricing.Money(l.Quantity) {
					t.Errorf("line %q: amount %d != %d x %d", l.Description, l.Amount, l.Quantity, l.Unit)
				}
				sum += l.Amount
			}
			if sum != q.Total {
				t.Errorf("lines add to %s, total %s", sum, q.Total)
			}
		})
	}
	t.Run("Errors", func(t *testing.T) {
		for name, items := range map[string][]pricing.Item{
			"NoItems":           nil,
			"UnknownProduct":    {{Product: "nope"}},
			"ModerationNoStaff": {{Product: pricing.Moderation}},
			"NegativeStaff":     {{Product: pricing.Moderation, Staff: -1}},
			"TooManyStaff":      {{Product: pricing.Moderation, Staff: 10001}},
		} {
			_, err := pl.Quote(pricing.Academy, false, items)
			var pe *pricing.Error
			if !errors.As(err, &pe) {
				t.Errorf("%s: err = %v, want a *pricing.Error", name, err)
			}
		}
		// A tier with no prices in the list.
		if _, err := pl.Quote(pricing.External, false, []pricing.Item{{Product: pricing.PSASession}}); err == nil {
			t.Error("quote for a tier with no prices succeeded")
		}
	})
}

func TestPriceList_RollForward(t *testing.T) {
	pl := testList()
	next := pl.RollForward(2022, 350)
	if next.Year != 2022 || len(next.Prices) != len(pl.Prices) {
		t.Fatalf("rolled list: year %s, %d prices", next.Year, len(next.Prices))
	}
	if got := next.Prices[pricing.Key(pricing.PSASubscription, pricing.Academy, pricing.RateUnit)]; got != 40883 {
		t.Errorf("academy subscription rolled = %d, want 40883 (£395 x 1.035 = £408.825)", got)
	}
	if pl.Prices[pricing.Key(pricing.PSASubscription, pricing.Academy, pricing.RateUnit)] != 39500 {
		t.Error("rolling forward changed the source list")
	}
}

func TestSessionPlaces(t *testing.T) {
	for _, tt := range []struct {
		subscriber                 bool
		existing, paid, staff      int
		wantEntitled, wantMorePaid int
	}{
		{true, 0, 0, 1, 1, 0},
		{true, 0, 0, 2, 2, 0},
		{true, 0, 0, 3, 2, 1}, // the third delegate needs a paid place
		{true, 0, 0, 4, 2, 1}, // which covers a fourth
		{true, 0, 0, 5, 2, 2},
		{true, 2, 0, 1, 0, 1}, // a third delegate booked separately
		{true, 3, 1, 1, 0, 0}, // the fourth is covered by the third's place
		{true, 1, 0, 2, 1, 1},
		{false, 0, 0, 1, 0, 1},
		{false, 0, 0, 2, 0, 1},
		{false, 0, 0, 3, 0, 2},
		{false, 1, 1, 1, 0, 0}, // the second person shares the first's place
		{false, 2, 1, 1, 0, 1},
	} {
		e, p := pricing.SessionPlaces(tt.subscriber, tt.existing, tt.paid, tt.staff)
		if e != tt.wantEntitled || p != tt.wantMorePaid {
			t.Errorf("SessionPlaces(%t, %d, %d, %d) = %d, %d; want %d, %d", tt.subscriber, tt.existing, tt.paid, tt.staff, e, p, tt.wantEntitled, tt.wantMorePaid)
		}
	}
}
