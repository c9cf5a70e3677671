package pricing

import "fmt"

// Item is one thing asked for in a quote.
type Item struct {
	Product string
	// Staff is how many people attend, for products priced by person or by
	// place. Zero means the product's default: one place of a PSA session.
	Staff int
	// AlreadyBooked is how many of the school's staff already hold places on
	// the same moderation event, so the first-person price is charged once
	// per school per event however many bookings it makes.
	AlreadyBooked int
	// FreePlaces is how many staff the school's subscription still admits
	// free to the same PSA session (2 for a subscriber with none booked).
	// Ignored for non-subscribers.
	FreePlaces *int
}

// Line is one priced line of a quote.
type Line struct {
	Product     string
	Description string
	Quantity    int
	Unit        Money
	Amount      Money
}

// Quote is the price of a set of items for one organisation.
type Quote struct {
	Year       AcademicYear
	Tier       Tier
	Subscriber bool
	Lines      []Line
	Total      Money
}

// maxStaff bounds the staff of one item by the most places a session can
// have (catalogue.SessionInput's capacity). Booking prices a school's whole
// party on a session through Quote, so the bound must hold any party a
// session can take: at 500 (the bound until the long crash run of make
// bench booked more), a school with 501 staff on one session could not
// cancel a place.
const maxStaff = 10000

// Quote prices items for an organisation of the given tier that does, or
// does not, hold the year's PSA subscription. It returns a *Error for an
// unknown product, a price missing from the list, or a bad number of staff.
func (pl *PriceList) Quote(tier Tier, subscriber bool, items []Item) (*Quote, error) {
	if len(items) == 0 {
		return nil, &Error{Field: "items", Message: "ask for at least one item"}
	}
	q := &Quote{Year: pl.Year, Tier: tier, Subscriber: subscriber}
	for i, it := range items {
		field := fmt.Sprintf("items[%d]", i)
		p, ok := pl.Products[it.Product]
		if !ok {
			return nil, &Error{Field: field + ".product", Message: fmt.Sprintf("there is no product %q", it.Product)}
		}
		if it.Staff < 0 || it.Staff > maxStaff || it.AlreadyBooked < 0 {
			return nil, &Error{Field: field + ".staff", Message: fmt.Sprintf("staff must be between 1 and %d", maxStaff)}
		}
		lines, err := pl.price(p, tier, subscriber, it, field)
		if err != nil {
			return nil, err
		}
		for _, l := range lines {
			if l.Quantity == 0 {
				continue
			}
			q.Lines = append(q.Lines, l)
			q.Total += l.Amount
		}
	}
	return q, nil
}

func (pl *PriceList) price(p Product, tier Tier, subscriber bool, it Item, field string) ([]Line, error) {
	line := func(desc string, qty int, unit Money) Line {
		return Line{Product: p.Code, Description: desc, Quantity: qty, Unit: unit, Amount: unit * Money(qty)}
	}
	switch p.Kind {
	case KindSubscription:
		unit, err := pl.Price(p.Code, tier, RateUnit)
		if err != nil {
			return nil, err
		}
		return []Line{line(fmt.Sprintf("%s %s", p.Name, pl.Year), 1, unit)}, nil

	case KindSession:
		staff := it.Staff
		if staff == 0 {
			staff = StaffPerPlace
		}
		free := 0
		if subscriber {
			free = StaffPerPlace
			if it.FreePlaces != nil {
				free = max(0, min(*it.FreePlaces, StaffPerPlace))
			}
		}
		unit, err := pl.Price(p.Code, tier, RateUnit)
		if err != nil {
			return nil, err
		}
		covered := min(staff, free)
		paidPlaces := (staff - covered + StaffPerPlace - 1) / StaffPerPlace
		return []Line{
			line(fmt.Sprintf("%s: included in the PSA subscription (%d staff)", p.Name, covered), boolInt(covered > 0), 0),
			line(fmt.Sprintf("%s: one place for up to %d staff", p.Name, StaffPerPlace), paidPlaces, unit),
		}, nil

	case KindModeration:
		if it.Staff < 1 {
			return nil, &Error{Field: field + ".staff", Message: fmt.Sprintf("staff must be between 1 and %d", maxStaff)}
		}
		first, additional := RateFirst, RateAdditional
		if subscriber {
			first, additional = RateFirstSubscriber, RateAdditionalSubscriber
		}
		fp, err := pl.Price(p.Code, tier, first)
		if err != nil {
			return nil, err
		}
		ap, err := pl.Price(p.Code, tier, additional)
		if err != nil {
			return nil, err
		}
		nFirst := 0
		if it.AlreadyBooked == 0 {
			nFirst = 1
		}
		return []Line{
			line(fmt.Sprintf("%s: first member of staff", p.Name), nFirst, fp),
			line(fmt.Sprintf("%s: each additional person", p.Name), it.Staff-nFirst, ap),
		}, nil
	}
	return nil, &Error{Field: field + ".product", Message: fmt.Sprintf("%s cannot be quoted here", p.Name)}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SessionPlaces works out a PSA session booking for a school that already
// has existing delegates and paidPlaces paid single-session places on the
// session: how many of the new staff its subscription covers, and how many
// more paid places (each for up to StaffPerPlace staff) it must buy. A
// subscriber's first StaffPerPlace staff on each session are free; a third
// delegate needs a paid place, which also covers a fourth.
func SessionPlaces(subscriber bool, existing, paidPlaces, newStaff int) (entitled, morePaid int) {
	free := 0
	if subscriber {
		free = StaffPerPlace
	}
	entitled = min(newStaff, max(0, free-existing))
	total := existing + newStaff
	needed := (max(0, total-free) + StaffPerPlace - 1) / StaffPerPlace
	return entitled, max(0, needed-paidPlaces)
}

// PlacesNeeded is how many paid places a school's staff on one PSA session
// need: the staff beyond the subscription's free ones, in pairs.
func PlacesNeeded(subscriber bool, staff int) int {
	_, n := SessionPlaces(subscriber, 0, 0, staff)
	return n
}
