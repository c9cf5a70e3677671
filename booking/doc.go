// Package booking is places on training sessions: bookings of the
// catalogue's sessions and their delegates, what a school is entitled to
// (its PSA subscription) and owes for each place, waiting lists and offers,
// changes and cancellations, attendance and certificates, and the calendar
// invites and feeds. (Consultancy is package consultancy's.)
//
// It owns the tables bookings, delegates, booking_charges, calendar_feeds
// and session_reminders. It reads the domains below it directly
// (organisation, account, catalogue: they never call up), inside its own
// transactions through their ...Tx methods; it reaches billing and mail
// only through the interfaces it declares, Charger and Notifier, which app
// connects. A booking's SQL never names an invoice: billing records which
// invoice each booking charge is on (its table invoiced_charges), booking
// asks its Charger (InvoicedCharges) for the invoice a booking shows, and
// CreditBooking credits only what is invoiced.
//
// It may import organisation, account, catalogue, calendar, pricing, mail
// (for the mail it queues itself), store and the root package traded; not
// consultancy, billing, notify, app, web or Fiber (arch_test.go).
//
// A public method owns its transaction; private helpers take (ctx, tx, ...).
package booking
