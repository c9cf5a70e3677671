// Package booking is what Traded sells and to whom: organisations and their
// tiers (loaded from GIAS), the catalogue of products and versioned price
// lists, training sessions, term dates, subscriptions and quotes; and, as
// later issues add them, bookings, waiting lists, attendance and invites.
//
// A public method owns its transaction; private helpers take (ctx, tx, ...).
package booking

import (
	"sync"
	"sync/atomic"

	"traded/account"
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

	// Rules are the booking rules (cut-off, offer hold); zero means defaults.
	Rules Rules
	// Charger bills bookings (billing implements it); nil leaves them unbilled.
	Charger Charger
	// Notifier tells people of changes (invites and mail); nil tells nobody.
	Notifier Notifier

	// priceLists caches loaded lists by id. A stored list never changes (the
	// prices table refuses updates), so a loaded one is good for ever.
	priceLists sync.Map // int64 -> *pricing.PriceList

	// holidays is the bank holidays last read from their tables (see Holidays).
	holidays atomic.Pointer[holidaySnapshot]
}

// NewService returns a Service over db, booking for the organisations of
// orgs and the people of accounts.
func NewService(db *store.DB, orgs *organisation.Service, accounts *account.Service) *Service {
	return &Service{db: db, Organisations: orgs, Accounts: accounts}
}

// DB returns the database the service works on.
func (s *Service) DB() *store.DB { return s.db }
