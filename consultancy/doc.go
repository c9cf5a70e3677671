// Package consultancy is the school-improvement support the LA sells by the
// day: the services on offer with their day and half-day rates (Offering),
// a school's requests (Request), the admin's quote of an adviser and
// proposed visit days, the school's decision that makes a request an
// engagement, its visits and their delivery or cancellation under the
// engagement's terms, the visit invites (InviteConfig.VisitEvent), the
// advisers' availability, planner and utilisation, and the LA's quadrants.
//
// It owns the tables consultancy_services, consultancy_requests,
// consultancy_visits and adviser_availability: only its SQL writes them.
// Billing records the invoice each visit is on in its own table
// (invoiced_visits), and completes an engagement billed on completion, as
// it invoices the last of it, through CompleteTx. It
// reads the domains below it (organisation, account, catalogue: they never
// call up) through their methods, inside its own transactions through their
// ...Tx methods; its SQL names none of their tables. The names a request
// shows (its school, its service, its advisers) are looked up after its
// rows are read, in one organisation.FindByIDs, catalogue.FindProductsByCodes
// and account.FindUsersByIDs for the whole list (nameRequests); the
// services on offer are catalogue.FindProducts' active products, in its
// order, that consultancy_services lists. Request references are numbered by store
// (store.Tx.NextNumber, "consultancy"). It tells people of quotes and
// visits only through the Notifier it declares, which app connects to
// notify.
//
// It may import organisation, account, catalogue, calendar, pricing, mail,
// store and the root package traded; not booking, billing, notify, app, web
// or Fiber (arch_test.go).
//
// A public method owns its transaction; private helpers take (ctx, tx, ...).
package consultancy
