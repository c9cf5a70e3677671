package booking

import (
	"traded/account"
	"traded/catalogue"
	"traded/organisation"
	"traded/store"
)

// Service is the booking domain over one database.
type Service struct {
	db *store.DB

	// Organisations are the schools that book, read inside booking's own
	// transactions (see organisation.Service.ByIDTx).
	Organisations *organisation.Service
	// Accounts are the people who book and whom visits name.
	Accounts *account.Service
	// Catalogue is what is sold: products, price lists, terms and working
	// days.
	Catalogue *catalogue.Service

	// Rules are the booking rules (cut-off, offer hold); zero means defaults.
	Rules Rules
	// Charger bills bookings (billing implements it); nil leaves them unbilled.
	Charger Charger
	// Subscriptions says who subscribes (billing implements it); nil asks
	// the Charger when it implements Subscriptions too, else nobody does.
	Subscriptions Subscriptions
	// Notifier tells people of changes (invites and mail); nil tells nobody.
	Notifier Notifier
}

// NewService returns a Service over db, booking for the organisations of
// orgs and the people of accounts what cat sells.
func NewService(db *store.DB, orgs *organisation.Service, accounts *account.Service, cat *catalogue.Service) *Service {
	return &Service{db: db, Organisations: orgs, Accounts: accounts, Catalogue: cat}
}

// DB returns the database the service works on.
func (s *Service) DB() *store.DB { return s.db }
