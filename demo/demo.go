package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"traded"
	"traded/account"
	"traded/billing"
	"traded/booking"
	"traded/catalogue"
	"traded/consultancy"
	"traded/organisation"
	"traded/pricing"
	"traded/store"
)

// Uplift is the rise applied when the demo rolls the 2021/22 tariff forward
// to the current year.
const Uplift = pricing.Uplift(350)

// Published is the year of the published tariff that every database holds.
const Published = pricing.AcademicYear(2021)

// actor is who the audit log says made the demo data.
var actor = store.Actor{Name: "demo"}

// Schools are the demo organisations: fictional names and URNs (99xxxx, not
// real DfE numbers) in real Essex districts, with two outside Essex.
var Schools = []organisation.Organisation{
	{URN: 990001, Name: "Chelmer Valley Community Primary School", LACode: 881, LAName: "Essex", EstablishmentType: "Community school", TypeGroup: "Local authority maintained schools", Phase: "Primary", Street: "Broomfield Road", Town: "Chelmsford", County: "Essex", Postcode: "CM1 7AA", District: "Chelmsford"},
	{URN: 990002, Name: "St Cedd’s Church of England Primary School", LACode: 881, LAName: "Essex", EstablishmentType: "Voluntary aided school", TypeGroup: "Local authority maintained schools", Phase: "Primary", Street: "Church Lane", Town: "Braintree", County: "Essex", Postcode: "CM7 1AA", District: "Braintree"},
	{URN: 990003, Name: "Harwich Road Infant School", LACode: 881, LAName: "Essex", EstablishmentType: "Foundation school", TypeGroup: "Local authority maintained schools", Phase: "Primary", Street: "Harwich Road", Town: "Colchester", County: "Essex", Postcode: "CO4 3AA", District: "Colchester"},
	{URN: 990004, Name: "Basildon Meadows Academy", LACode: 881, LAName: "Essex", EstablishmentType: "Academy converter", TypeGroup: "Academies", Phase: "Primary", Street: "Meadow Way", Town: "Basildon", County: "Essex", Postcode: "SS14 1AA", District: "Basildon"},
	{URN: 990005, Name: "Harlow Forest Free School", LACode: 881, LAName: "Essex", EstablishmentType: "Free schools", TypeGroup: "Free Schools", Phase: "Primary", Street: "Forest Drive", Town: "Harlow", County: "Essex", Postcode: "CM20 1AA", District: "Harlow"},
	{URN: 990006, Name: "Tendring Coast Primary Academy", LACode: 881, LAName: "Essex", EstablishmentType: "Academy sponsor led", TypeGroup: "Academies", Phase: "Primary", Street: "Marine Parade", Town: "Clacton-on-Sea", County: "Essex", Postcode: "CO15 1AA", District: "Tendring"},
	{URN: 990007, Name: "Leigh Cliffs Primary School", LACode: 882, LAName: "Southend-on-Sea", EstablishmentType: "Community school", TypeGroup: "Local authority maintained schools", Phase: "Primary", Street: "Cliff Road", Town: "Leigh-on-Sea", County: "Essex", Postcode: "SS9 1AA", District: "Southend-on-Sea"},
	{URN: 990008, Name: "Grays Riverside Academy", LACode: 883, LAName: "Thurrock", EstablishmentType: "Academy converter", TypeGroup: "Academies", Phase: "Primary", Street: "River View", Town: "Grays", County: "Essex", Postcode: "RM17 1AA", District: "Thurrock"},
	{URN: 990009, Name: "Stour Valley Primary School", LACode: 935, LAName: "Suffolk", EstablishmentType: "Community school", TypeGroup: "Local authority maintained schools", Phase: "Primary", Street: "Stour Street", Town: "Sudbury", County: "Suffolk", Postcode: "CO10 1AA", District: "Babergh"},
}

// slot places a session: the weekday of the given week (1-based) of a
// half-term, at a London wall-clock time.
type slot struct {
	course   string
	term     string
	week     int
	weekday  time.Weekday
	hh, mm   int
	capacity int
}

// programme is one year's 10 PSA sessions and 4 moderation events. Phonics
// and multiplication tables check administration come before the June checks.
var programme = []slot{
	{"psa-managing-ks1-ks2", "autumn1", 5, time.Tuesday, 16, 0, 100},
	{"psa-briefing-autumn", "autumn2", 2, time.Tuesday, 16, 0, 100},
	{"psa-ks1-taf", "autumn2", 5, time.Thursday, 16, 0, 100},
	{"psa-ks2-taf", "spring1", 2, time.Tuesday, 16, 0, 100},
	{"mod-y2-new", "spring1", 2, time.Wednesday, 13, 30, 40},
	{"psa-y2-refresher", "spring1", 3, time.Thursday, 16, 0, 100},
	{"mod-y2-experienced", "spring1", 3, time.Wednesday, 13, 30, 40},
	{"psa-y6-refresher", "spring1", 4, time.Tuesday, 16, 0, 100},
	{"psa-phonics", "spring2", 2, time.Tuesday, 16, 0, 100},
	{"mod-y6-new", "spring2", 1, time.Wednesday, 13, 30, 40},
	{"psa-briefing-spring", "spring2", 3, time.Thursday, 16, 0, 100},
	{"mod-y6-experienced", "spring2", 2, time.Wednesday, 13, 30, 40},
	{"psa-mtc", "summer1", 1, time.Tuesday, 16, 0, 100},
	{"psa-briefing-summer", "summer1", 3, time.Thursday, 16, 0, 100},
}

// Load puts all the demo data into the database behind svc: LoadBase, then
// a few subscriptions, invoices and a payment.
func Load(ctx context.Context, svc *booking.Service, cfg billing.Config) error {
	if err := LoadBase(ctx, svc); err != nil {
		return err
	}
	if err := loadUpcoming(ctx, svc); err != nil {
		return fmt.Errorf("demo upcoming sessions: %w", err)
	}
	return loadBilling(ctx, svc, cfg, pricing.AcademicYearOf(svc.DB().Now(), traded.London))
}

// upcoming are the extra sessions the demo adds ahead of the clock it
// starts with, so that whatever the day there are PSA sessions and
// moderation events of the current academic year to book, with time to
// cancel free: the programme by term alone has no moderation after early
// March and nothing at all after May. The term-based programme stays as it
// is (tests of fixed dates rely on it).
var upcoming = []struct {
	course   string
	weeks    int // ahead of the day the demo is loaded
	weekday  time.Weekday
	hh, mm   int
	capacity int
}{
	{"psa-y6-refresher", 3, time.Tuesday, 16, 0, 100},
	{"mod-y2-new", 3, time.Wednesday, 13, 30, 40},
	{"psa-ks2-taf", 4, time.Thursday, 16, 0, 100},
	{"mod-y6-new", 4, time.Wednesday, 13, 30, 40},
}

// loadUpcoming adds the upcoming sessions once (a database that has them is
// left alone), each on the weekday of its week ahead, moved to a working
// day, and only while that is still in the current academic year.
func loadUpcoming(ctx context.Context, svc *booking.Service) error {
	now := svc.DB().Now().In(traded.London)
	year := pricing.AcademicYearOf(now, traded.London)
	existing, err := svc.Catalogue.FindSessions(ctx, catalogue.SessionFilter{Year: &year})
	if err != nil {
		return err
	}
	for _, x := range existing {
		if strings.HasSuffix(x.JoiningURL, "-upcoming") {
			return nil
		}
	}
	holidays := svc.Catalogue.Holidays()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	for _, u := range upcoming {
		d := today.AddDate(0, 0, 7*u.weeks)
		for d.Weekday() != u.weekday {
			d = d.AddDate(0, 0, 1)
		}
		for !holidays.IsWorkingDay(d) {
			d = d.AddDate(0, 0, 1)
		}
		at := time.Date(d.Year(), d.Month(), d.Day(), u.hh, u.mm, 0, 0, traded.London)
		if pricing.AcademicYearOf(at, traded.London) != year {
			continue // the year ends first: next year's programme is ahead instead
		}
		if _, err := svc.Catalogue.CreateSession(ctx, actor, catalogue.SessionInput{
			CourseCode: u.course, StartsAt: at.UTC(), Duration: time.Hour, Capacity: u.capacity,
			JoiningURL: fmt.Sprintf("https://meet.essex.example/traded/%s-%d-upcoming", u.course, int(year)),
			Presenter:  "Essex Primary Assessment Team",
		}); err != nil {
			return err
		}
	}
	return nil
}

// LoadBase puts the demo catalogue, term dates, sessions, schools and users
// into the database, with no sales: the fixture the web tests start from.
func LoadBase(ctx context.Context, svc *booking.Service) error {
	// The demo is laid out from the clock it starts with: the published
	// 2021/22 year (all past), the current academic year, and the next one,
	// whose programme a council publishes before the summer, so that on any
	// day of the year there are sessions and events ahead to book.
	current := pricing.AcademicYearOf(svc.DB().Now(), traded.London)
	for _, y := range []struct{ from, to pricing.AcademicYear }{{Published, current}, {current, current + 1}} {
		if _, err := svc.Catalogue.PriceList(ctx, y.to); traded.ErrorCode(err) == traded.ENOTFOUND {
			if _, err := svc.Catalogue.RollForward(ctx, actor, y.from, y.to, Uplift, false); err != nil {
				return fmt.Errorf("demo price list %s: %w", y.to, err)
			}
		} else if err != nil {
			return err
		}
	}
	for _, year := range []pricing.AcademicYear{Published, current, current + 1} {
		if err := loadYear(ctx, svc, year); err != nil {
			return fmt.Errorf("demo %s: %w", year, err)
		}
	}
	if err := svc.Organisations.Upsert(ctx, actor, Schools, "demo"); err != nil {
		return fmt.Errorf("demo schools: %w", err)
	}
	if err := loadUsers(ctx, svc); err != nil {
		return err
	}
	return loadConsultancyRates(ctx, svc, current)
}

// consultancyRates are the demo's day and half-day rates, the same for
// every service: the LA sets its own.
var consultancyRates = map[pricing.Tier][2]pricing.Money{
	pricing.Maintained: {45000, 25000},
	pricing.Academy:    {52500, 28500},
	pricing.External:   {62500, 34000},
}

// loadConsultancyRates gives every consultancy service its demo rates in
// the current year's list, once.
func loadConsultancyRates(ctx context.Context, svc *booking.Service, year pricing.AcademicYear) error {
	services, err := consultancy.New(svc.DB(), svc.Organisations, svc.Accounts, svc.Catalogue).FindOfferings(ctx, year)
	if err != nil || len(services) == 0 || len(services[0].Day) > 0 {
		return err
	}
	var rates []catalogue.ConsultancyRate
	for _, s := range services {
		for _, t := range pricing.Tiers {
			r := consultancyRates[t]
			rates = append(rates, catalogue.ConsultancyRate{Product: s.Code, Tier: t, Day: r[0], HalfDay: r[1]})
		}
	}
	return svc.Catalogue.SetConsultancyRates(ctx, actor, year, rates)
}

// loadBilling gives finance something to look at: subscriptions bought by a
// maintained school (settled by journal), an academy that has paid part by
// BACS, and an external school that has not paid. It runs once: a database
// with any invoice is left alone.
func loadBilling(ctx context.Context, svc *booking.Service, cfg billing.Config, year pricing.AcademicYear) error {
	bill := billing.NewService(svc.DB(), svc.Organisations, svc.Catalogue, cfg, nil)
	bill.Users = svc.Accounts
	if has, err := bill.HasInvoices(ctx); err != nil || has {
		return err
	}
	if err := svc.Organisations.SetBillingDetails(ctx, actor, 990001, "ECC-PRI-0417", false, ""); err != nil {
		return err
	}
	if err := svc.Organisations.SetBillingDetails(ctx, actor, 990004, "", true, ""); err != nil {
		return err
	}
	for _, b := range []struct {
		urn int64
		po  string
	}{{990001, ""}, {990004, "BMA-PO-2231"}, {990008, "GRA-4410"}} {
		if _, err := bill.BuySubscription(ctx, actor, b.urn, year, b.po); err != nil {
			return fmt.Errorf("demo subscription %d: %w", b.urn, err)
		}
	}
	_, err := bill.RecordPayment(ctx, actor, "TS-000002", billing.PaymentInput{Method: billing.MethodBACS, Amount: 20000, Reference: "BASILDON MEADOWS TS-000002 PART"})
	return err
}

func loadYear(ctx context.Context, svc *booking.Service, year pricing.AcademicYear) error {
	terms, err := svc.Catalogue.FindTerms(ctx, year)
	if err != nil {
		return err
	}
	if len(terms) == 0 {
		if err := svc.Catalogue.SetTerms(ctx, actor, year, catalogue.TypicalTerms(year)); err != nil {
			return err
		}
		if terms, err = svc.Catalogue.FindTerms(ctx, year); err != nil {
			return err
		}
	}
	existing, err := svc.Catalogue.FindSessions(ctx, catalogue.SessionFilter{Year: &year})
	if err != nil || len(existing) > 0 {
		return err
	}
	byTerm := map[string]catalogue.Term{}
	for _, t := range terms {
		byTerm[t.Term] = t
	}
	holidays := svc.Catalogue.Holidays()
	for _, sl := range programme {
		start := sessionDate(holidays, byTerm[sl.term], sl.week, sl.weekday)
		at := time.Date(start.Year(), start.Month(), start.Day(), sl.hh, sl.mm, 0, 0, traded.London)
		_, err := svc.Catalogue.CreateSession(ctx, actor, catalogue.SessionInput{
			CourseCode: sl.course,
			StartsAt:   at.UTC(),
			Duration:   time.Hour,
			Capacity:   sl.capacity,
			JoiningURL: fmt.Sprintf("https://meet.essex.example/traded/%s-%d", sl.course, int(year)),
			Presenter:  "Essex Primary Assessment Team",
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// sessionDate returns the weekday of the week'th week of the term, moved a
// week on if that falls before the term starts, and kept to a working day.
func sessionDate(holidays *catalogue.Holidays, t catalogue.Term, week int, wd time.Weekday) time.Time {
	monday := t.StartsOn
	for monday.Weekday() != time.Monday {
		monday = monday.AddDate(0, 0, -1)
	}
	d := monday.AddDate(0, 0, 7*(week-1)+int(wd-time.Monday))
	if d.Before(t.StartsOn) {
		d = d.AddDate(0, 0, 7)
	}
	for !holidays.IsWorkingDay(d) {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// Password is every demo account's password. Demo data is for trying the
// service on a laptop, never for a real deployment.
const Password = "demo-password-2026"

// Users are the demo accounts, one or more per role.
var Users = []account.UserInput{
	{Email: "admin@traded.example", Name: "Alex Admin", Role: account.RoleAdmin},
	{Email: "finance@traded.example", Name: "Fran Finance", Role: account.RoleFinance},
	{Email: "manager@chelmervalley.example", Name: "Morgan Manager", Role: account.RoleSchoolManager, URN: 990001},
	{Email: "teacher@chelmervalley.example", Name: "Taylor Teacher", Role: account.RoleTeacher, URN: 990001},
	{Email: "manager@basildonmeadows.example", Name: "Sam Bursar", Role: account.RoleSchoolManager, URN: 990004},
	{Email: "manager@leighcliffs.example", Name: "Jo Business", Role: account.RoleSchoolManager, URN: 990007},
	{Email: "adviser@traded.example", Name: "Ada Adviser", Role: account.RoleAdviser},
}

func loadUsers(ctx context.Context, svc *booking.Service) error {
	for _, in := range Users {
		if _, err := svc.Accounts.FindUserByEmail(ctx, in.Email); err == nil {
			continue
		} else if traded.ErrorCode(err) != traded.ENOTFOUND {
			return err
		}
		in.Password = Password
		if _, err := svc.Accounts.CreateUser(ctx, actor, in); err != nil {
			return fmt.Errorf("demo user %s: %w", in.Email, err)
		}
	}
	return nil
}
