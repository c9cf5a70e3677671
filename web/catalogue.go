package web

import (
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"traded"
	"traded/account"
	"traded/booking"
	"traded/catalogue"
	"traded/pricing"
)

// catalogueYear reads ?year= (or ?academic_year=), defaulting to the
// academic year the clock is in.
func (s *Server) catalogueYear(c *fiber.Ctx) (pricing.AcademicYear, error) {
	q := c.Query("year", c.Query("academic_year"))
	if q == "" {
		return pricing.AcademicYearOf(s.now(), traded.London), nil
	}
	y, err := pricing.ParseAcademicYear(q)
	if err != nil {
		return 0, traded.FieldErrorf("year", "%q is not an academic year: write it as 2021/22.", q)
	}
	return y, nil
}

type catalogueProductJSON struct {
	Code         string                                  `json:"code"`
	Name         string                                  `json:"name"`
	Description  string                                  `json:"description"`
	Kind         pricing.Kind                            `json:"kind"`
	VATTreatment string                                  `json:"vat_treatment"`
	VATRateBP    int64                                   `json:"vat_rate_basis_points"`
	Prices       map[pricing.Tier]map[pricing.Rate]int64 `json:"prices_pence"`
}

// handleCatalogueAPI answers GET /api/v1/catalogue?year=2021/22: the products
// with their prices per tier, and the year's sessions.
func (s *Server) handleCatalogueAPI(c *fiber.Ctx) error {
	ctx := c.UserContext()
	year, err := s.catalogueYear(c)
	if err != nil {
		return err
	}
	pl, err := s.catalogue.PriceList(ctx, year)
	if err != nil {
		return err
	}
	products, err := s.catalogue.FindProducts(ctx)
	if err != nil {
		return err
	}
	sessions, err := s.catalogue.FindSessions(ctx, catalogue.SessionFilter{Year: &year})
	if err != nil {
		return err
	}
	out := struct {
		Year     string                 `json:"academic_year"`
		Version  int                    `json:"price_list_version"`
		Products []catalogueProductJSON `json:"products"`
		Sessions []sessionJSON          `json:"sessions"`
	}{Year: year.String(), Version: pl.Version, Products: []catalogueProductJSON{}, Sessions: []sessionJSON{}}
	for _, p := range products {
		cp := catalogueProductJSON{Code: p.Code, Name: p.Name, Description: p.Description, Kind: p.Kind,
			VATTreatment: p.VATTreatment, VATRateBP: p.VATRateBP, Prices: map[pricing.Tier]map[pricing.Rate]int64{}}
		for k, m := range pl.Prices {
			if k.Product != p.Code {
				continue
			}
			if cp.Prices[k.Tier] == nil {
				cp.Prices[k.Tier] = map[pricing.Rate]int64{}
			}
			cp.Prices[k.Tier][k.Rate] = int64(m)
		}
		if len(cp.Prices) > 0 {
			out.Products = append(out.Products, cp)
		}
	}
	for _, x := range sessions {
		out.Sessions = append(out.Sessions, toSessionJSON(x))
	}
	return c.JSON(out)
}

type quoteRequestJSON struct {
	Organisation urnParam `json:"organisation"`
	AcademicYear string   `json:"academic_year"`
	AsSubscriber *bool    `json:"as_subscriber"`
	Items        []struct {
		Product string `json:"product"`
		Staff   *int   `json:"staff"`
	} `json:"items"`
}

type quoteLineJSON struct {
	Product     string `json:"product"`
	Description string `json:"description"`
	Quantity    int    `json:"quantity"`
	UnitPence   int64  `json:"unit_pence"`
	AmountPence int64  `json:"amount_pence"`
}

// handleQuoteCreate answers POST /api/v1/quotes: the price of items for an
// organisation in a year, by its tier and subscription.
func (s *Server) handleQuoteCreate(c *fiber.Ctx) error {
	var req quoteRequestJSON
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Organisation == 0 {
		return traded.FieldErrorf("organisation", "Give the organisation's URN.")
	}
	if req.AcademicYear == "" {
		return traded.FieldErrorf("academic_year", "Give the academic year, such as 2021/22.")
	}
	year, err := pricing.ParseAcademicYear(req.AcademicYear)
	if err != nil {
		return traded.FieldErrorf("academic_year", "%q is not an academic year: write it as 2021/22.", req.AcademicYear)
	}
	in := booking.QuoteRequest{URN: int64(req.Organisation), Year: year, AsSubscriber: req.AsSubscriber}
	for i, it := range req.Items {
		item := pricing.Item{Product: it.Product}
		if it.Product == "" {
			return traded.FieldErrorf("items", "Item %d has no product.", i+1)
		}
		if it.Staff != nil {
			if *it.Staff < 1 {
				return traded.FieldErrorf("items", "Item %d: staff must be at least 1.", i+1)
			}
			item.Staff = *it.Staff
		}
		in.Items = append(in.Items, item)
	}
	// The same request has the same answer until the tariff, the school's
	// tier or its subscriptions change (or the day does, for a tier change
	// dated ahead): answer it from the cache.
	ctx := c.UserContext()
	key := fmt.Sprintf("quote %s %x", s.now().In(traded.London).Format(time.DateOnly), quoteKey(in))
	version := s.db.Version(ctx, "organisations", "organisation_tiers", "subscriptions", "price_lists", "prices", "products")
	if e, ok := s.cache.get(key, version); ok {
		c.Set(fiber.HeaderContentType, e.ctype)
		return c.Send(e.body)
	}
	q, err := s.booking.Quote(ctx, in)
	if err != nil {
		return err
	}
	out := struct {
		Organisation int64           `json:"organisation"`
		Year         string          `json:"academic_year"`
		Tier         pricing.Tier    `json:"tier"`
		Subscriber   bool            `json:"subscriber"`
		Lines        []quoteLineJSON `json:"lines"`
		TotalPence   int64           `json:"total_pence"`
	}{Organisation: in.URN, Year: year.String(), Tier: q.Tier, Subscriber: q.Subscriber, Lines: []quoteLineJSON{}, TotalPence: int64(q.Total)}
	for _, l := range q.Lines {
		out.Lines = append(out.Lines, quoteLineJSON{Product: l.Product, Description: l.Description,
			Quantity: l.Quantity, UnitPence: int64(l.Unit), AmountPence: int64(l.Amount)})
	}
	if err := c.JSON(out); err != nil {
		return err
	}
	s.cache.put(key, version, string(c.Response().Header.ContentType()), c.Response().Body())
	return nil
}

// quoteKey identifies a quote request: its organisation, year, subscriber
// choice and items, hashed.
func quoteKey(in booking.QuoteRequest) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%d|%d|", in.URN, in.Year)
	if in.AsSubscriber != nil {
		fmt.Fprintf(h, "%t", *in.AsSubscriber)
	}
	for _, it := range in.Items {
		fmt.Fprintf(h, "|%+v", it)
	}
	return h.Sum(nil)
}

type cataloguePage struct {
	*Page
	Year       string
	Years      []string
	Version    int
	PSA        []psaRow
	Moderation []moderationRow
	Sessions   []*catalogue.Session
	CanBuy     bool
}

type psaRow struct{ Label, Subscription, Session string }

type moderationRow struct{ Label, First, Additional string }

// handleCataloguePage renders the public catalogue: the products and the
// three tiers' prices in pounds.
func (s *Server) handleCataloguePage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	year, err := s.catalogueYear(c)
	if err != nil {
		return err
	}
	pl, err := s.catalogue.PriceList(ctx, year)
	if err != nil {
		return err
	}
	lists, err := s.catalogue.FindPriceLists(ctx)
	if err != nil {
		return err
	}
	sessions, err := s.catalogue.FindSessions(ctx, catalogue.SessionFilter{Year: &year})
	if err != nil {
		return err
	}
	p := &cataloguePage{Page: s.page(c, "Catalogue and prices "+year.String()), Year: year.String(), Version: pl.Version, Sessions: sessions}
	if u := currentUser(c); u != nil && u.Role == account.RoleSchoolManager && year >= pricing.AcademicYearOf(s.now(), traded.London) {
		subscribed, err := s.booking.IsSubscriber(ctx, u.OrganisationID, year)
		if err != nil {
			return err
		}
		p.CanBuy = !subscribed
	}
	seen := map[string]bool{}
	for _, l := range lists {
		if y := l.Year.String(); !seen[y] {
			seen[y] = true
			p.Years = append(p.Years, y)
		}
	}
	price := func(product string, tier pricing.Tier, rate pricing.Rate) string {
		m, err := pl.Price(product, tier, rate)
		if err != nil {
			return "Not offered"
		}
		return m.String()
	}
	for _, t := range pricing.Tiers {
		p.PSA = append(p.PSA, psaRow{Label: t.Label(), Subscription: price(pricing.PSASubscription, t, pricing.RateUnit),
			Session: price(pricing.PSASession, t, pricing.RateUnit)})
	}
	// The published moderation table has four rows: Essex (maintained and
	// academies alike) and external, each as subscriber and non-subscriber.
	for _, r := range []struct {
		label       string
		tier        pricing.Tier
		first, addl pricing.Rate
	}{
		{"Essex LA-maintained school or academy, subscriber", pricing.Maintained, pricing.RateFirstSubscriber, pricing.RateAdditionalSubscriber},
		{"Essex LA-maintained school or academy, not a subscriber", pricing.Maintained, pricing.RateFirst, pricing.RateAdditional},
		{"Outside Essex, subscriber", pricing.External, pricing.RateFirstSubscriber, pricing.RateAdditionalSubscriber},
		{"Outside Essex, not a subscriber", pricing.External, pricing.RateFirst, pricing.RateAdditional},
	} {
		p.Moderation = append(p.Moderation, moderationRow{Label: r.label, First: price(pricing.Moderation, r.tier, r.first),
			Additional: price(pricing.Moderation, r.tier, r.addl)})
	}
	return s.render(c, "catalogue", p)
}
