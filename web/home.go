package web

import (
	"github.com/gofiber/fiber/v2"

	"traded"
	"traded/account"
	"traded/billing"
	"traded/booking"
	"traded/catalogue"
	"traded/organisation"
	"traded/pricing"
)

type homePage struct {
	*Page
	Year        string
	Org         *organisation.Organisation
	Subscriber  bool
	Staff       []*account.User
	Upcoming    []*catalogue.Session
	PriceLists  []*catalogue.PriceListInfo
	Sessions    []*catalogue.Session
	TierCounts  []tierCount
	TotalOrgs   int
	ActiveUsers int

	// Billing, for school managers and finance.
	Subscription *billing.Subscription
	Invoices     []*billing.Invoice
	Today        string
	StatusCounts []statusCount
	AgedDebt     *billing.AgedDebtReport
	NotMailed    []*billing.NotMailed // invoices no one was sent: no billing contact
	// RejectedCard are Stripe payments Traded refused to record (90 days).
	RejectedCard []*billing.RejectedCardEvent
	CanBuy       bool

	// Bookings, for school staff.
	Bookings     []*booking.Booking
	MoreBookings bool // more come up than Bookings holds
	Requests     int
	PaidExtra    pricing.Money
	PaidPlaces   int
}

// statusCount is one row of the finance dashboard's invoice table.
type statusCount struct {
	Status string
	Count  int
}

// handleHome shows each role its own home: the public start page, a school
// summary, a teacher's bookings, the finance dashboard, or the admin's
// catalogue and sessions.
func (s *Server) handleHome(c *fiber.Ctx) error {
	u := currentUser(c)
	if u == nil {
		return s.render(c, "home", s.page(c, "Traded services for schools"))
	}
	ctx := c.UserContext()
	year := pricing.AcademicYearOf(s.now(), traded.London)
	p := &homePage{Page: s.page(c, "Home"), Year: year.String()}
	sessions, err := s.catalogue.FindSessions(ctx, catalogue.SessionFilter{Year: &year})
	if err != nil {
		return err
	}
	now := s.now()
	for _, x := range sessions {
		if x.StartsAt.After(now) && x.Status == "scheduled" && len(p.Upcoming) < 5 {
			p.Upcoming = append(p.Upcoming, x)
		}
	}
	switch u.Role {
	case account.RoleSchoolManager, account.RoleTeacher:
		if p.Org, err = s.orgs.FindByID(ctx, u.OrganisationID); err != nil {
			return err
		}
		if p.Subscriber, err = s.booking.IsSubscriber(ctx, p.Org.ID, year); err != nil {
			return err
		}
		if u.Role == account.RoleSchoolManager {
			p.Title = p.Org.Name
			if p.Staff, err = s.accounts.FindUsers(ctx, account.UserFilter{OrganisationID: &p.Org.ID}); err != nil {
				return err
			}
			if p.Subscription, err = s.billing.FindSubscription(ctx, p.Org.ID, year); err != nil && traded.ErrorCode(err) != traded.ENOTFOUND {
				return err
			}
			_, err := s.catalogue.PriceList(ctx, year)
			p.CanBuy = err == nil && p.Subscription == nil
			p.Today = s.billing.Today()
			if p.Invoices, _, err = s.billing.FindInvoices(ctx, billing.InvoiceFilter{OrganisationID: p.Org.ID, Limit: 5}); err != nil {
				return err
			}
			if err := s.upcomingBookings(c, p, booking.BookingFilter{OrganisationID: p.Org.ID, Year: &year}); err != nil {
				return err
			}
			if p.Subscriber {
				if p.PaidExtra, p.PaidPlaces, err = s.booking.PaidBeforeSubscribing(ctx, p.Org.ID, year); err != nil {
					return err
				}
			}
			return s.render(c, "home-manager", p)
		}
		p.Title = "Your bookings"
		if err := s.upcomingBookings(c, p, booking.BookingFilter{OrganisationID: p.Org.ID, Delegate: u.Email}); err != nil {
			return err
		}
		return s.render(c, "home-teacher", p)
	case account.RoleFinance:
		p.Title = "Billing"
		if err := s.countOrganisations(c, p); err != nil {
			return err
		}
		for _, st := range billing.Statuses {
			_, n, err := s.billing.FindInvoices(ctx, billing.InvoiceFilter{Status: st, Limit: 1})
			if err != nil {
				return err
			}
			p.StatusCounts = append(p.StatusCounts, statusCount{st, n})
		}
		if p.AgedDebt, err = s.billing.AgedDebt(ctx, ""); err != nil {
			return err
		}
		if p.NotMailed, err = s.billing.FindNotMailed(ctx); err != nil {
			return err
		}
		if p.RejectedCard, err = s.billing.FindRejectedCardEvents(ctx); err != nil {
			return err
		}
		return s.render(c, "home-finance", p)
	case account.RoleAdmin:
		p.Title = "Catalogue and sessions"
		p.Sessions = sessions
		if p.PriceLists, err = s.catalogue.FindPriceLists(ctx); err != nil {
			return err
		}
		if err := s.countOrganisations(c, p); err != nil {
			return err
		}
		return s.render(c, "home-admin", p)
	}
	p.Title = "Your consultancy work"
	return s.render(c, "home-adviser", p)
}

// tierCount is one row of the organisations-by-tier table.
type tierCount struct {
	Tier  pricing.Tier
	Count int
}

func (s *Server) countOrganisations(c *fiber.Ctx, p *homePage) error {
	for _, t := range pricing.Tiers {
		tier := t
		_, n, err := s.orgs.Find(c.UserContext(), organisation.Filter{Tier: &tier, OpenOnly: true, Limit: 1})
		if err != nil {
			return err
		}
		p.TierCounts = append(p.TierCounts, tierCount{Tier: t, Count: n})
		p.TotalOrgs += n
	}
	return nil
}

func (s *Server) handleAccessibility(c *fiber.Ctx) error {
	return s.render(c, "accessibility", s.page(c, "Accessibility statement"))
}

type orgJSON struct {
	URN               int64        `json:"urn"`
	Name              string       `json:"name"`
	Tier              pricing.Tier `json:"tier"`
	LACode            int          `json:"la_code"`
	LAName            string       `json:"la_name"`
	EstablishmentType string       `json:"establishment_type"`
	Status            string       `json:"status"`
	District          string       `json:"district"`
	Address           struct {
		Street   string   `json:"street"`
		Locality string   `json:"locality"`
		Address3 string   `json:"address3"`
		Town     string   `json:"town"`
		County   string   `json:"county"`
		Postcode string   `json:"postcode"`
		Lines    []string `json:"lines"`
	} `json:"address"`
}

func toOrgJSON(o *organisation.Organisation) orgJSON {
	j := orgJSON{URN: o.URN, Name: o.Name, Tier: o.Tier, LACode: o.LACode, LAName: o.LAName,
		EstablishmentType: o.EstablishmentType, Status: o.Status, District: o.District}
	j.Address.Street, j.Address.Locality, j.Address.Address3 = o.Street, o.Locality, o.Address3
	j.Address.Town, j.Address.County, j.Address.Postcode = o.Town, o.County, o.Postcode
	j.Address.Lines = o.AddressLines()
	return j
}

// handleOrganisationAPI answers GET /api/v1/organisations/{urn} to those who
// may see the organisation, and 404 to everyone else.
func (s *Server) handleOrganisationAPI(c *fiber.Ctx) error {
	urn, err := organisation.ParseURN(c.Params("urn"))
	if err != nil {
		return traded.Errorf(traded.ENOTFOUND, "There is no organisation with URN %q.", c.Params("urn"))
	}
	org, err := s.ownOrganisation(c, urn)
	if err != nil {
		return err
	}
	return c.JSON(toOrgJSON(org))
}

// handleMe answers GET /api/v1/me: the caller's user and role.
func (s *Server) handleMe(c *fiber.Ctx) error {
	u := currentUser(c)
	out := fiber.Map{"id": u.ID, "email": u.Email, "name": u.Name, "role": u.Role, "organisation": nil}
	if u.OrganisationID != 0 {
		out["organisation"] = fiber.Map{"urn": u.OrganisationURN, "name": u.OrganisationName}
	}
	return c.JSON(out)
}

// upcomingBookings fills the home page's bookings: the first page of those
// whose session has not ended, soonest first, and how many of them wait for
// approval. The bookings page lists them all.
func (s *Server) upcomingBookings(c *fiber.Ctx, p *homePage, f booking.BookingFilter) error {
	now := s.now()
	f.NotEndedBefore = &now
	requests := f
	requests.Statuses = []string{booking.StatusRequested}
	var err error
	if p.Requests, err = s.booking.CountBookings(c.UserContext(), requests); err != nil {
		return err
	}
	f.Statuses = []string{booking.StatusRequested, booking.StatusConfirmed, booking.StatusWaitlisted, booking.StatusOffered}
	f.Limit = perPage + 1
	if p.Bookings, err = s.booking.FindBookings(c.UserContext(), f); err != nil {
		return err
	}
	p.Bookings, p.MoreBookings = cutPage(p.Bookings)
	return nil
}
