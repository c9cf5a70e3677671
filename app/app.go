package app

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"traded/account"
	"traded/billing"
	"traded/booking"
	"traded/catalogue"
	"traded/consultancy"
	"traded/jobs"
	"traded/mail"
	"traded/notify"
	"traded/organisation"
	"traded/store"
)

// Config is what the services need to know of the deployment.
type Config struct {
	// BaseURL is the public address, for links in mail and calendars.
	BaseURL string
	// Billing is the supplier, bank and payment terms; zero means
	// billing.DefaultConfig.
	Billing billing.Config
	// Card takes card payments (nil: none).
	Card billing.CardPayments
	// BookingRules are the free-cancellation cut-off and the waiting-list
	// offer hold; zero fields take the defaults.
	BookingRules booking.Rules
	// ReminderStages are the days overdue at which payment reminders go
	// (nil: 7, 30 and 60).
	ReminderStages []int
}

// App is Traded's services, built and connected.
type App struct {
	DB *store.DB
	// Organisations are the schools and trusts (GIAS, tiers, settings).
	Organisations *organisation.Service
	// Accounts are the people who sign in, their roles and sessions.
	Accounts *account.Service
	// Catalogue is what is sold: products, price lists, terms, bank holidays.
	Catalogue *catalogue.Service
	Booking   *booking.Service
	// Consultancy is the day-rate support: requests, quotes, visits, the
	// planner.
	Consultancy *consultancy.Service
	Billing     *billing.Service
	Notifier    *notify.Notifier
	cfg         Config
}

// New builds the services over db.
func New(db *store.DB, cfg Config) *App {
	if cfg.Billing.Supplier.Name == "" {
		cfg.Billing = billing.DefaultConfig()
	}
	if cfg.BaseURL != "" {
		cfg.Billing.BaseURL = cfg.BaseURL
	}
	a := Domains(db)
	a.cfg = cfg
	a.Accounts.BaseURL = cfg.BaseURL
	a.Booking.Rules = cfg.BookingRules
	a.Billing = billing.NewService(db, a.Organisations, a.Catalogue, cfg.Billing, cfg.Card)
	a.Billing.Users = a.Accounts
	a.Booking.Charger, a.Booking.Subscriptions = a.Billing, a.Billing
	a.Notifier = notify.New(cfg.BaseURL, cfg.Billing.Supplier.Email, a.Accounts, a.Organisations)
	a.Booking.Notifier = a.Notifier
	a.Consultancy.Notifier = a.Notifier
	return a
}

// BillingConfig is the billing configuration the services run with.
func (a *App) BillingConfig() billing.Config { return a.cfg.Billing }

// Renderers are the attachments rendered when their mail is sent, one for
// each kind the services queue (see mail.Renderer).
func (a *App) Renderers() []mail.Renderer {
	return []mail.Renderer{
		{Kind: billing.InvoiceAttachment, Render: a.Billing.RenderInvoiceAttachment},
		{Kind: notify.InviteAttachment, Render: a.Notifier.RenderInvite(a.Booking)},
	}
}

// Jobs are the services' background work, for a jobs.Runner: every minute
// the waiting-list offers whose time is up end; every hour the schools
// invoiced monthly are billed for bookings confirmed before this month and
// consultancy delivered before it (neither bills anything twice), expired
// web sessions are deleted, and the day-before session reminders and the
// payment reminders due go.
func (a *App) Jobs() []jobs.Job {
	now := a.DB.Now
	return []jobs.Job{
		{Name: "expire waiting-list offers", Every: time.Minute, Run: func(ctx context.Context) (string, error) {
			return "", a.Booking.ExpireOffers(ctx)
		}},
		{Name: "monthly booking invoices", Every: time.Hour, Run: func(ctx context.Context) (string, error) {
			run, err := a.Billing.InvoiceMonthlyBookings(ctx, store.System, billing.StartOfMonth(now()))
			if err != nil || run == nil || len(run.Invoices) == 0 {
				return "", err
			}
			return fmt.Sprintf("%d invoices for %d bookings", len(run.Invoices), run.Bookings), nil
		}},
		{Name: "consultancy invoices", Every: time.Hour, Run: func(ctx context.Context) (string, error) {
			run, err := a.Billing.InvoiceConsultancy(ctx, store.System, billing.StartOfMonth(now()))
			if err != nil || run == nil || len(run.Invoices) == 0 {
				return "", err
			}
			return strconv.Itoa(len(run.Invoices)) + " invoices", nil
		}},
		{Name: "sweep expired sessions", Every: time.Hour, Run: func(ctx context.Context) (string, error) {
			return "", a.Accounts.Sessions().Sweep(ctx)
		}},
		{Name: "session reminders", Every: time.Hour, Run: func(ctx context.Context) (string, error) {
			n, err := a.Booking.SendSessionReminders(ctx, a.Notifier.SessionReminder)
			if err != nil || n == 0 {
				return "", err
			}
			return strconv.Itoa(n) + " reminders", nil
		}},
		{Name: "payment reminders", Every: time.Hour, Run: func(ctx context.Context) (string, error) {
			run, err := a.Billing.SendPaymentReminders(ctx, a.cfg.ReminderStages)
			switch {
			case err != nil || run == nil:
				return "", err
			case run.Held:
				return "held: " + run.Reason, nil
			case run.Sent > 0:
				return strconv.Itoa(run.Sent) + " reminders", nil
			}
			return "", nil
		}},
	}
}

// Domains builds the domain services over db, each given the domains below
// it, but connects neither billing nor mail to booking or consultancy (their
// Charger and Notifiers stay nil): for tests and tools that drive the
// domains alone.
func Domains(db *store.DB) *App {
	a := &App{DB: db, Organisations: organisation.New(db)}
	a.Accounts = account.New(db, a.Organisations)
	a.Catalogue = catalogue.New(db)
	a.Booking = booking.NewService(db, a.Organisations, a.Accounts, a.Catalogue)
	a.Consultancy = consultancy.New(db, a.Organisations, a.Accounts, a.Catalogue)
	return a
}
