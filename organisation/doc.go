// Package organisation is the schools and trusts that buy from the LA: their
// GIAS record, the tier each is priced at and its history, their billing
// details and booking settings, and the GIAS import that creates and updates
// them.
//
// It owns the tables organisations and organisation_tiers: only its SQL
// writes them. Other domains read an organisation through its methods;
// inside their own transaction (a booking priced at the tier in force, an
// invoice carrying the school's address) they call ByIDTx or ByURNTx, the
// one place a *store.Tx crosses into this package, so that the school read
// is the one the transaction commits with.
//
// It may import store, pricing (for tiers) and the root package traded;
// nothing above it (booking, billing, web) and not Fiber.
package organisation
