package main

import (
	"context"
	"fmt"
	"time"

	"traded"
	"traded/account"
	"traded/app"
	"traded/billing"
	"traded/booking"
	"traded/catalogue"
	"traded/demo"
	"traded/notify"
	"traded/organisation"
	"traded/pricing"
	"traded/store"
)

// fixture is a database for the load test: the demo data, and then many
// schools (each with a manager and an API token) and many sessions with
// room for every booking the run can make.
type fixture struct {
	Path       string
	Schools    []school
	Sessions   []int64
	Finance    string // finance's API token
	Invoice    string // an issued invoice, for the PDF download
	Invite     string // a booking's invite path, for the invite download
	InviteAuth string // the token that may fetch it
}

type school struct {
	URN   int64
	Email string
	Token string
}

const (
	benchSchools  = 60
	benchSessions = 40
)

// services wires the booking and billing services as the server does
// (web.New): bookings are priced, invoiced and mailed in one transaction.
func services(db *store.DB) (*booking.Service, *billing.Service) {
	bk := app.Domains(db).Booking
	bk.Accounts.PasswordCost = 4 // demo accounts only; bcrypt's cost is not what is measured
	bill := billing.NewService(db, bk.Organisations, bk.Catalogue, billing.DefaultConfig(), nil)
	bill.Users = bk.Accounts
	bk.Charger = bill
	n := notify.New("http://localhost", billing.DefaultConfig().Supplier.Email, bk.Accounts, bk.Organisations)
	bk.Notifier = n
	return bk, bill
}

// buildFixture writes the fixture database at path.
func buildFixture(ctx context.Context, path string) (*fixture, error) {
	db, err := store.Open(path, traded.SystemClock{})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return nil, err
	}
	bk, bill := services(db)
	if err := demo.Load(ctx, bk, billing.DefaultConfig()); err != nil {
		return nil, fmt.Errorf("demo data: %w", err)
	}
	f := &fixture{Path: path}
	actor := store.Actor{Name: "bench"}

	// Schools of each tier, as GIAS would describe them.
	kinds := []struct {
		la                 int
		laName, typ, group string
	}{
		{881, "Essex", "Community school", "Local authority maintained schools"},
		{881, "Essex", "Academy converter", "Academies"},
		{882, "Southend-on-Sea", "Community school", "Local authority maintained schools"},
	}
	var orgs []organisation.Organisation
	for i := range benchSchools {
		k := kinds[i%len(kinds)]
		orgs = append(orgs, organisation.Organisation{URN: int64(991001 + i), Name: fmt.Sprintf("Bench Primary School %d", i+1),
			LACode: k.la, LAName: k.laName, EstablishmentType: k.typ, TypeGroup: k.group, Phase: "Primary",
			Street: "High Street", Town: "Chelmsford", County: "Essex", Postcode: "CM1 1AA", District: "Chelmsford"})
	}
	if err := bk.Organisations.Upsert(ctx, actor, orgs, "demo"); err != nil {
		return nil, fmt.Errorf("schools: %w", err)
	}
	for _, o := range orgs {
		email := fmt.Sprintf("manager%d@bench.example", o.URN)
		if _, err := bk.Accounts.CreateUser(ctx, actor, account.UserInput{Email: email, Name: "Bench Manager", Role: account.RoleSchoolManager,
			URN: o.URN, Password: demo.Password}); err != nil {
			return nil, fmt.Errorf("manager: %w", err)
		}
		token, _, err := bk.Accounts.CreateAPIToken(ctx, actor, email, "bench")
		if err != nil {
			return nil, err
		}
		f.Schools = append(f.Schools, school{URN: o.URN, Email: email, Token: token})
	}
	// A third of the schools subscribe, so bookings are a mix of free
	// places and places invoiced at once.
	year := pricing.AcademicYearOf(db.Now(), traded.London)
	for i, s := range f.Schools {
		if i%3 != 0 {
			continue
		}
		if _, err := bill.BuySubscription(ctx, actor, s.URN, year, "PO-BENCH"); err != nil {
			return nil, fmt.Errorf("subscribe: %w", err)
		}
	}

	// Sessions in the spring and summer terms, with room for every booking.
	courses := []string{"psa-phonics", "psa-mtc", "psa-ks1-taf", "psa-ks2-taf", "psa-managing-ks1-ks2", "mod-y2-new", "mod-y6-new", "psa-y6-refresher"}
	first := time.Date(int(year)+1, 2, 1, 16, 0, 0, 0, time.UTC)
	for i := range benchSessions {
		s, err := bk.Catalogue.CreateSession(ctx, actor, catalogue.SessionInput{CourseCode: courses[i%len(courses)],
			StartsAt: first.AddDate(0, 0, 2*i), Duration: time.Hour, Capacity: 10000, Presenter: "Bench"})
		if err != nil {
			return nil, fmt.Errorf("session: %w", err)
		}
		f.Sessions = append(f.Sessions, s.ID)
	}

	if f.Finance, _, err = bk.Accounts.CreateAPIToken(ctx, actor, "finance@traded.example", "bench"); err != nil {
		return nil, err
	}
	invoices, _, err := bill.FindInvoices(ctx, billing.InvoiceFilter{Limit: 1})
	if err != nil || len(invoices) == 0 {
		return nil, fmt.Errorf("no invoice to download: %v", err)
	}
	f.Invoice = invoices[0].Number
	manager, err := bk.Accounts.FindUserByEmail(ctx, f.Schools[1].Email)
	if err != nil {
		return nil, err
	}
	b, err := bk.CreateBooking(ctx, manager, "", booking.BookingRequest{SessionID: f.Sessions[0], URN: f.Schools[1].URN,
		Delegates: []booking.DelegateInput{{Name: "Invite Delegate", Email: "invite@bench.example"}, {Name: "Second Delegate", Email: "second@bench.example"}}})
	if err != nil {
		return nil, fmt.Errorf("booking for the invite: %w", err)
	}
	f.Invite, f.InviteAuth = fmt.Sprintf("/api/v1/bookings/%d/invite.ics", b.ID), f.Schools[1].Token
	return f, nil
}
