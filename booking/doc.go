// Package booking is places on training sessions and the school-improvement
// consultancy sold by the day: courses and their sessions, bookings and
// their delegates, what a school is entitled to (its PSA subscription) and
// owes for each place, waiting lists and offers, changes and cancellations,
// attendance and certificates, the calendar feeds, and consultancy requests,
// quotes, visits and the advisers' planner. (Sessions and consultancy are to
// move to their own packages: see the README's tour of the code.)
//
// It owns the tables courses, sessions, bookings, delegates,
// booking_charges, calendar_feeds, session_reminders and the consultancy
// tables. It reads the domains below it directly (organisation, account,
// catalogue: they never call up), inside its own transactions through their
// ...Tx methods; it reaches billing and mail only through the interfaces it
// declares, Charger and Notifier, which app connects. A booking's SQL never
// names an invoice: billing records which invoice each booking charge is on
// (its table invoiced_charges), booking asks its Charger (InvoicedCharges)
// for the invoice a booking shows, and CreditBooking credits only what is
// invoiced. (A consultancy visit still names its invoice, in
// consultancy_visits.invoice_id, until consultancy moves.)
//
// It may import organisation, account, catalogue, calendar, pricing, mail
// (for the mail it queues itself), store and the root package traded; not
// billing, notify, app, web or Fiber (arch_test.go).
//
// A public method owns its transaction; private helpers take (ctx, tx, ...).
package booking
