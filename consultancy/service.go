package consultancy

import (
	"context"

	"traded/account"
	"traded/catalogue"
	"traded/organisation"
	"traded/store"
)

// Service is the consultancy domain over one database.
type Service struct {
	db *store.DB

	// Organisations are the schools that request consultancy, read inside
	// the service's own transactions (see organisation.Service.ByIDTx).
	Organisations *organisation.Service
	// Accounts are the managers who request, the admins who quote and the
	// advisers who visit.
	Accounts *account.Service
	// Catalogue is what is sold: the services' products, their day rates in
	// the price lists, terms and working days.
	Catalogue *catalogue.Service

	// Notifier tells people of quotes and visits (mail and invites); nil
	// tells nobody.
	Notifier Notifier
}

// New returns a Service over db, selling what cat lists to the
// organisations of orgs, with the advisers and school staff of accounts.
func New(db *store.DB, orgs *organisation.Service, accounts *account.Service, cat *catalogue.Service) *Service {
	return &Service{db: db, Organisations: orgs, Accounts: accounts, Catalogue: cat}
}

// DB returns the database the service works on.
func (s *Service) DB() *store.DB { return s.db }

// Notifier tells people about quotes and visits, inside the transaction
// that makes the change, so the message and the change stand or fall
// together: the mail-and-calendar layer (package notify) implements it.
// Each method gets the request as it is after the change.
type Notifier interface {
	// QuoteSent: the school's managers are told a quote awaits them.
	QuoteSent(ctx context.Context, tx *store.Tx, r *Request) error
	// VisitsChanged: the adviser and the school's managers get an invite for
	// each of the visits (REQUEST while planned, CANCEL once cancelled).
	VisitsChanged(ctx context.Context, tx *store.Tx, r *Request, visits []*Visit) error
}
