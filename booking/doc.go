// Package booking is places on training sessions: bookings of the
// catalogue's sessions and their delegates, what a school is entitled to
// (its PSA subscription) and owes for each place, waiting lists and offers,
// changes and cancellations, attendance and certificates, and the calendar
// invites and feeds. (Consultancy is package consultancy's.)
//
// It owns the tables bookings, delegates, booking_charges, calendar_feeds
// and session_reminders. It calls the domains below it (organisation,
// account, catalogue: they never call up), inside its own transactions
// through their ...Tx methods; it reaches billing and mail
// only through the interfaces it declares, Charger and Notifier, which app
// connects. A booking's SQL never names an invoice: billing records which
// invoice each booking charge is on (its table invoiced_charges), booking
// asks its Charger (InvoicedCharges) for the invoice a booking shows, and
// CreditBooking credits only what is invoiced.
//
// Its SQL names no other domain's table. A booking's school (URN, name) and
// booker (name, email) are named after its rows are read, in one
// organisation.FindByIDs and one account.FindUsersByIDs for the whole list
// (their ...Tx forms inside a transaction); a register's schools likewise.
// Whether a school subscribes is billing's to say: booking asks the
// Subscriptions it declares (Service.Subscriptions, else its Charger, which
// in billing implements both), cached in the writer's transaction while
// subscriptions are unchanged; with neither, nobody subscribes.
//
// Lists filtered or ordered by when their session runs (FindBookings,
// CountBookings by year or end, the feeds, PaidBeforeSubscribing, the
// session reminders) first ask catalogue for the sessions that qualify
// (catalogue.FindSessions by year, status, start or end, one query), then
// join that answer, passed as one JSON object of session id to start
// (json_each), to bookings by session_id: ordering and cursor paging by the
// session's start, then the booking's id, stay exact and done by SQLite, in
// one booking query per page. Booking keeps no copy of session times, so a
// rescheduled session needs nothing kept in step, and a database of an
// earlier release takes today's bookings unchanged (billing's migration
// tests book on one).
//
// It may import organisation, account, catalogue, calendar, pricing, mail
// (for the mail it queues itself), store and the root package traded; not
// consultancy, billing, notify, app, web or Fiber (arch_test.go).
//
// A public method owns its transaction; private helpers take (ctx, tx, ...).
package booking
