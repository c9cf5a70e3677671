// Package billing turns what booking sells into money: invoices and their
// gap-free numbering, credit notes, payments (BACS, journal, card through
// Stripe), the PDF documents, bank reconciliation and finance exports.
//
// It owns the tables invoices, invoice_lines, credit_notes,
// credit_note_lines, payments, allocations, refunds, card_checkouts,
// stripe_events, journal_batches, journal_batch_invoices, bank_statements,
// bank_lines, invoice_reminders, invoices_not_mailed, ledger_settings,
// subscriptions and invoiced_charges: only its SQL writes them.
// invoiced_charges is the charge-to-invoice link for bookings: the invoice
// and line each booking charge was billed on, written as InvoiceBooking and
// InvoiceMonthlyBookings issue the invoice, read by CreditBooking and, for
// booking, InvoicedCharges. It reads booking's bookings, booking_charges
// and sessions to bill them, and still marks consultancy_visits and consultancy_requests
// invoiced (consultancy.go) until consultancy has its own package.
//
// Billing builds on booking (organisations, products, price lists) and is
// used by web; it never imports Fiber.
package billing
