package pricing

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Product codes of the published tariff.
const (
	PSASubscription = "psa-subscription" // annual PSA subscription
	PSASession      = "psa-session"      // one PSA session for a non-subscriber, for up to 2 staff
	Moderation      = "moderation"       // a moderation training event, priced per person
)

// Kind says how a product is priced.
type Kind string

// The kinds of product.
const (
	KindSubscription Kind = "subscription" // one price a year per organisation
	KindSession      Kind = "session"      // one price per session place, covering StaffPerPlace staff
	KindModeration   Kind = "moderation"   // first member of staff and each additional, per school per event
	KindConsultancy  Kind = "consultancy"  // day and half-day rates
)

// StaffPerPlace is how many staff one PSA session place admits, subscriber or not.
const StaffPerPlace = 2

// Rate names one price of a product: most products have one, moderation has
// four (first and additional, subscriber or not), consultancy two.
type Rate string

// The rates a price list can hold.
const (
	RateUnit                 Rate = "unit"
	RateFirst                Rate = "first"
	RateAdditional           Rate = "additional"
	RateFirstSubscriber      Rate = "first-subscriber"
	RateAdditionalSubscriber Rate = "additional-subscriber"
	RateDay                  Rate = "day"
	RateHalfDay              Rate = "half-day"
)

// Product is one thing the tariff sells.
type Product struct {
	Code string
	Name string
	Kind Kind
}

// PriceKey names one cell of a price list.
type PriceKey struct {
	Product string
	Tier    Tier
	Rate    Rate
}

// Key returns the PriceKey of one cell.
func Key(product string, tier Tier, rate Rate) PriceKey {
	return PriceKey{Product: product, Tier: tier, Rate: rate}
}

// PriceList is one version of the prices for one academic year. Lists are
// never edited: a change is a new version, and issued documents copy the
// amounts they charge, so nothing issued changes when a list does.
type PriceList struct {
	Year     AcademicYear
	Version  int
	Products map[string]Product
	Prices   map[PriceKey]Money
}

// Price returns one cell of the list.
func (pl *PriceList) Price(product string, tier Tier, rate Rate) (Money, error) {
	m, ok := pl.Prices[PriceKey{product, tier, rate}]
	if !ok {
		return 0, &Error{Field: "product", Message: fmt.Sprintf("the %s price list has no %s price for %s at the %s tier", pl.Year, rate, product, tier)}
	}
	return m, nil
}

// Keys returns the list's cells in a stable order: by product, tier, rate.
func (pl *PriceList) Keys() []PriceKey {
	keys := make([]PriceKey, 0, len(pl.Prices))
	for k := range pl.Prices {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.Product != b.Product {
			return a.Product < b.Product
		}
		if a.Tier != b.Tier {
			return a.Tier < b.Tier
		}
		return a.Rate < b.Rate
	})
	return keys
}

// RollForward returns a copy of the list for year to with every price raised
// by uplift (see Uplift.Apply for the rounding).
func (pl *PriceList) RollForward(to AcademicYear, uplift Uplift) *PriceList {
	next := &PriceList{Year: to, Version: 1, Products: pl.Products, Prices: make(map[PriceKey]Money, len(pl.Prices))}
	for k, m := range pl.Prices {
		next.Prices[k] = uplift.Apply(m)
	}
	return next
}

// Uplift is a percentage change in hundredths of a percent (basis points):
// Uplift(350) is 3.5%, Uplift(-200) a 2% cut.
type Uplift int64

// ParseUplift reads "3.5%", "3.5" or "-2%", with at most two decimal places,
// between -50% and +100%.
func ParseUplift(s string) (Uplift, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), "%")
	neg := strings.HasPrefix(t, "-")
	t = strings.TrimPrefix(strings.TrimPrefix(t, "-"), "+")
	whole, frac, _ := strings.Cut(t, ".")
	if whole == "" || len(frac) > 2 || !allDigits(whole) || !allDigits(frac) {
		return 0, fmt.Errorf("%q is not a percentage such as 3.5%%", s)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > 100 {
		return 0, fmt.Errorf("%q is more than a 100%% uplift", s)
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	bp := w*100 + f
	if neg {
		bp = -bp
	}
	if bp < -5000 || bp > 10000 {
		return 0, fmt.Errorf("%q is outside -50%% to +100%%", s)
	}
	return Uplift(bp), nil
}

// String returns the uplift as "3.5%".
func (u Uplift) String() string {
	sign, bp := "", int64(u)
	if bp < 0 {
		sign, bp = "-", -bp
	}
	s := fmt.Sprintf("%s%d.%02d", sign, bp/100, bp%100)
	return strings.TrimSuffix(strings.TrimSuffix(s, "0"), ".0") + "%"
}

// Apply returns m raised by the uplift, rounded to the nearest penny with an
// exact half penny rounded away from zero (£315.00 + 3.5% = £326.025, which
// becomes £326.03). The arithmetic is integer throughout.
func (u Uplift) Apply(m Money) Money {
	if m > math.MaxInt64/20000 {
		panic("pricing: amount too large to uplift")
	}
	num := int64(m) * (10000 + int64(u)) // pence in 1/10000ths
	q, r := num/10000, num%10000
	if r < 0 {
		r = -r
	}
	if r*2 >= 10000 {
		if num < 0 {
			q--
		} else {
			q++
		}
	}
	return Money(q)
}

// Error is a request the tariff cannot price: an unknown product, a missing
// price, a bad number of staff. Field names the input at fault. Callers show
// Message to the user as invalid input.
type Error struct {
	Field   string
	Message string
}

func (e *Error) Error() string { return e.Message }
