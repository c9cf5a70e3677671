package billing

import (
	"context"

	"traded/account"
	"traded/catalogue"
	"traded/organisation"
	"traded/pricing"
	"traded/store"
)

// Supplier is who issues Traded's invoices: what a UK VAT invoice must name.
type Supplier struct {
	Name      string
	Address   []string
	VATNumber string
	Email     string
	Phone     string
}

// Bank is where BACS payments go, printed on every invoice.
type Bank struct {
	AccountName string
	SortCode    string
	Account     string
	BankName    string
}

// Config is billing's settings; cmd/traded fills it from flags.
type Config struct {
	Supplier Supplier
	Bank     Bank
	// PaymentTermsDays is how long after issue an invoice falls due (30).
	PaymentTermsDays int
	// BaseURL is the public address, for links on documents and in mail.
	BaseURL string
}

// DefaultConfig is Essex County Council as supplier. The VAT number and bank
// details are placeholders for a deployment to replace (see README).
func DefaultConfig() Config {
	return Config{
		Supplier: Supplier{
			Name:      "Essex County Council",
			Address:   []string{"County Hall", "Market Road", "Chelmsford", "Essex", "CM1 1QH"},
			VATNumber: "GB 123 4567 89",
			Email:     "traded.services@essex.gov.uk",
			Phone:     "0345 743 0430",
		},
		Bank:             Bank{AccountName: "Essex County Council", SortCode: "00-00-00", Account: "00000000", BankName: "Example Bank plc"},
		PaymentTermsDays: 30,
		BaseURL:          "http://localhost:8080",
	}
}

// Organisations is what billing reads of the organisations it bills
// (organisation.Service implements it). ByIDTx and ByURNTx read inside
// billing's own transaction, so that an invoice carries the school (its
// tier, address and billing details) as the transaction commits.
type Organisations interface {
	FindByID(ctx context.Context, id int64) (*organisation.Organisation, error)
	ByIDTx(ctx context.Context, tx *store.Tx, id int64) (*organisation.Organisation, error)
	ByURNTx(ctx context.Context, tx *store.Tx, urn int64) (*organisation.Organisation, error)
	// FindByIDsAsStored and FindByIDsAsStoredTx name the organisations of
	// a whole list or report in one query (no tier history: nothing listed
	// is priced); FindIDsByName finds those a search names.
	FindByIDsAsStored(ctx context.Context, ids []int64) (map[int64]*organisation.Organisation, error)
	FindByIDsAsStoredTx(ctx context.Context, tx *store.Tx, ids []int64) (map[int64]*organisation.Organisation, error)
	FindIDsByName(ctx context.Context, text string) ([]int64, error)
}

// Users is what billing reads of the people of the organisations it bills
// (account.Service implements it): who gets an invoice when the school has
// no billing email, inside the transaction that issues it.
type Users interface {
	FindUsersTx(ctx context.Context, tx *store.Tx, f account.UserFilter) ([]*account.User, error)
}

// Catalogue is what billing reads of what is sold and when: products and
// their ledger codes (inside billing's transaction, as the invoice line is
// written), price lists, term dates and bank holidays (reminders go on
// working days in term).
type Catalogue interface {
	FindProductTx(ctx context.Context, tx *store.Tx, code string) (*catalogue.Product, error)
	FindAllProducts(ctx context.Context) ([]*catalogue.Product, error)
	PriceList(ctx context.Context, year pricing.AcademicYear) (*pricing.PriceList, error)
	FindTerms(ctx context.Context, year pricing.AcademicYear) ([]catalogue.Term, error)
	Holidays() *catalogue.Holidays
}

// Service is billing over one database.
type Service struct {
	db        *store.DB
	orgs      Organisations
	catalogue Catalogue
	cfg       Config
	card      CardPayments // nil: card payment is off

	// Users are who get invoices of a school with no billing email (its
	// active school business managers); app connects it. Nil: nobody, and
	// such invoices are flagged not mailed.
	Users Users
}

// NewService returns billing over db for the organisations of orgs, selling
// from catalogue. card may be nil: then invoices offer no card payment and
// everything else works.
func NewService(db *store.DB, orgs Organisations, catalogue Catalogue, cfg Config, card CardPayments) *Service {
	if cfg.PaymentTermsDays <= 0 {
		cfg.PaymentTermsDays = 30
	}
	return &Service{db: db, orgs: orgs, catalogue: catalogue, cfg: cfg, card: card}
}

// Config returns the service's settings.
func (s *Service) Config() Config { return s.cfg }

// CardEnabled reports whether card payment is configured.
func (s *Service) CardEnabled() bool { return s.card != nil }

// CardRefundsEnabled reports whether card payments can be refunded to the
// card (the card processor offers refunds).
func (s *Service) CardRefundsEnabled() bool {
	_, ok := s.card.(CardRefunds)
	return ok
}
