package booking_test

import (
	"context"
	"testing"

	"traded"
	"traded/app"
	"traded/booking"
	"traded/demo"
	"traded/pricing"
	"traded/store"
	"traded/store/storetest"
)

// publishedPSA is the PSA table of DESIGN.md, one row per cell.
var publishedPSA = []struct {
	tier    pricing.Tier
	product string
	pence   pricing.Money
}{
	{pricing.Maintained, pricing.PSASubscription, 31500},
	{pricing.Academy, pricing.PSASubscription, 39500},
	{pricing.External, pricing.PSASubscription, 49500},
	{pricing.Maintained, pricing.PSASession, 5500},
	{pricing.Academy, pricing.PSASession, 6500},
	{pricing.External, pricing.PSASession, 7500},
}

// publishedModeration is the moderation table, one row per cell, with both
// Essex tiers for the "Essex (maintained or academy)" rows.
var publishedModeration = []struct {
	tier       pricing.Tier
	subscriber bool
	first      bool
	pence      pricing.Money
}{
	{pricing.Maintained, true, true, 4000}, {pricing.Maintained, true, false, 1000},
	{pricing.Academy, true, true, 4000}, {pricing.Academy, true, false, 1000},
	{pricing.Maintained, false, true, 6000}, {pricing.Maintained, false, false, 1500},
	{pricing.Academy, false, true, 6000}, {pricing.Academy, false, false, 1500},
	{pricing.External, true, true, 5000}, {pricing.External, true, false, 2000},
	{pricing.External, false, true, 7000}, {pricing.External, false, false, 2500},
}

// orgOfTier creates one school of each tier and returns their URNs.
func orgsByTier(t *testing.T, svc *booking.Service) map[pricing.Tier]int64 {
	t.Helper()
	if err := svc.Organisations.Upsert(context.Background(), store.System, demo.Schools, "demo"); err != nil {
		t.Fatal(err)
	}
	return map[pricing.Tier]int64{pricing.Maintained: 990001, pricing.Academy: 990004, pricing.External: 990007}
}

func TestTariff_Published2021(t *testing.T) {
	db, _ := storetest.Open(t)
	svc := app.Domains(db).Booking
	ctx := context.Background()
	pl, err := svc.Catalogue.PriceList(ctx, 2021)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(pl.Prices); n != 18 {
		t.Errorf("2021/22 list has %d prices, want 18", n)
	}
	urns := orgsByTier(t, svc)

	for _, tt := range publishedPSA {
		t.Run(string(tt.tier)+"/"+tt.product, func(t *testing.T) {
			got, err := pl.Price(tt.product, tt.tier, pricing.RateUnit)
			if err != nil || got != tt.pence {
				t.Errorf("list: got %s, %v; want %s", got, err, tt.pence)
			}
			no := false
			q, err := svc.Quote(ctx, booking.QuoteRequest{URN: urns[tt.tier], Year: 2021, AsSubscriber: &no,
				Items: []pricing.Item{{Product: tt.product}}})
			if err != nil {
				t.Fatal(err)
			}
			if q.Total != tt.pence || q.Tier != tt.tier {
				t.Errorf("quote: got %s at %s, want %s at %s", q.Total, q.Tier, tt.pence, tt.tier)
			}
		})
	}
	for _, tt := range publishedModeration {
		name := string(tt.tier)
		if tt.subscriber {
			name += "/subscriber"
		}
		if tt.first {
			name += "/first"
		} else {
			name += "/additional"
		}
		t.Run("moderation/"+name, func(t *testing.T) {
			rate := map[[2]bool]pricing.Rate{
				{true, true}: pricing.RateFirstSubscriber, {true, false}: pricing.RateAdditionalSubscriber,
				{false, true}: pricing.RateFirst, {false, false}: pricing.RateAdditional,
			}[[2]bool{tt.subscriber, tt.first}]
			got, err := pl.Price(pricing.Moderation, tt.tier, rate)
			if err != nil || got != tt.pence {
				t.Errorf("list: got %s, %v; want %s", got, err, tt.pence)
			}
			// Through a quote: the first person alone, or the marginal cost of
			// a second person.
			item := pricing.Item{Product: pricing.Moderation, Staff: 1}
			if !tt.first {
				item.AlreadyBooked = 1
			}
			sub := tt.subscriber
			q, err := svc.Quote(ctx, booking.QuoteRequest{URN: urns[tt.tier], Year: 2021, AsSubscriber: &sub, Items: []pricing.Item{item}})
			if err != nil {
				t.Fatal(err)
			}
			if q.Total != tt.pence {
				t.Errorf("quote: got %s, want %s", q.Total, tt.pence)
			}
		})
	}
}

func TestService_Quote_Errors(t *testing.T) {
	db, _ := storetest.Open(t)
	svc := app.Domains(db).Booking
	ctx := context.Background()
	urns := orgsByTier(t, svc)
	for _, tt := range []struct {
		name string
		req  booking.QuoteRequest
		code string
	}{
		{"UnknownOrganisation", booking.QuoteRequest{URN: 123, Year: 2021, Items: []pricing.Item{{Product: pricing.PSASession}}}, traded.ENOTFOUND},
		{"NoPriceList", booking.QuoteRequest{URN: urns[pricing.Academy], Year: 2019, Items: []pricing.Item{{Product: pricing.PSASession}}}, traded.EINVALID},
		{"UnknownProduct", booking.QuoteRequest{URN: urns[pricing.Academy], Year: 2021, Items: []pricing.Item{{Product: "x"}}}, traded.EINVALID},
		{"NoStaff", booking.QuoteRequest{URN: urns[pricing.Academy], Year: 2021, Items: []pricing.Item{{Product: pricing.Moderation}}}, traded.EINVALID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.Quote(ctx, tt.req)
			if got := traded.ErrorCode(err); got != tt.code {
				t.Errorf("code = %q, want %q (%v)", got, tt.code, err)
			}
		})
	}
}

func TestService_RollForward(t *testing.T) {
	db, _ := storetest.Open(t)
	svc := app.Domains(db).Booking
	ctx := context.Background()
	cli := store.Actor{Name: "cli"}

	info, err := svc.Catalogue.RollForward(ctx, cli, 2021, 2022, 350, false)
	if err != nil {
		t.Fatal(err)
	}
	if info.Year != 2022 || info.Version != 1 {
		t.Errorf("got %s v%d, want 2022/23 v1", info.Year, info.Version)
	}
	pl, err := svc.Catalogue.PriceList(ctx, 2022)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[pricing.PriceKey]pricing.Money{
		pricing.Key(pricing.PSASubscription, pricing.Maintained, pricing.RateUnit):         32603, // 326.025
		pricing.Key(pricing.PSASubscription, pricing.Academy, pricing.RateUnit):            40883, // 408.825
		pricing.Key(pricing.PSASubscription, pricing.External, pricing.RateUnit):           51233, // 512.325
		pricing.Key(pricing.PSASession, pricing.Maintained, pricing.RateUnit):              5693,  // 56.925
		pricing.Key(pricing.Moderation, pricing.External, pricing.RateAdditional):          2588,  // 25.875
		pricing.Key(pricing.Moderation, pricing.Academy, pricing.RateAdditionalSubscriber): 1035,
	} {
		if got := pl.Prices[k]; got != want {
			t.Errorf("%v = %d, want %d", k, got, want)
		}
	}
	orig, _ := svc.Catalogue.PriceList(ctx, 2021)
	if got := orig.Prices[pricing.Key(pricing.PSASubscription, pricing.Maintained, pricing.RateUnit)]; got != 31500 {
		t.Errorf("the 2021/22 list changed: %d", got)
	}

	t.Run("TargetExists", func(t *testing.T) {
		_, err := svc.Catalogue.RollForward(ctx, cli, 2021, 2022, 350, false)
		if code := traded.ErrorCode(err); code != traded.ECONFLICT {
			t.Errorf("code = %q, want conflict", code)
		}
		info, err := svc.Catalogue.RollForward(ctx, cli, 2021, 2022, 500, true)
		if err != nil || info.Version != 2 {
			t.Fatalf("new version: %+v, %v", info, err)
		}
		pl, _ := svc.Catalogue.PriceList(ctx, 2022)
		if pl.Version != 2 || pl.Prices[pricing.Key(pricing.PSASession, pricing.External, pricing.RateUnit)] != 7875 {
			t.Errorf("current 2022/23 list is v%d with session %d, want v2 and 7875", pl.Version, pl.Prices[pricing.Key(pricing.PSASession, pricing.External, pricing.RateUnit)])
		}
	})
	t.Run("NoSource", func(t *testing.T) {
		_, err := svc.Catalogue.RollForward(ctx, cli, 2015, 2016, 350, false)
		if code := traded.ErrorCode(err); code != traded.ENOTFOUND {
			t.Errorf("code = %q, want not_found", code)
		}
	})
	t.Run("Backwards", func(t *testing.T) {
		_, err := svc.Catalogue.RollForward(ctx, cli, 2022, 2021, 350, false)
		if code := traded.ErrorCode(err); code != traded.EINVALID {
			t.Errorf("code = %q, want invalid", code)
		}
	})
	t.Run("PricesAreImmutable", func(t *testing.T) {
		_, err := db.Read().ExecContext(ctx, `UPDATE prices SET amount_pence = 1 WHERE price_list_id = 1`)
		if err == nil {
			t.Fatal("updating a stored price succeeded")
		}
	})
	t.Run("Audited", func(t *testing.T) {
		var n int
		db.Read().QueryRowContext(ctx, `SELECT count(*) FROM audit_log WHERE action = 'prices.roll_forward' AND actor = 'cli'`).Scan(&n)
		if n != 2 {
			t.Errorf("%d roll-forward audit entries, want 2", n)
		}
	})
}
