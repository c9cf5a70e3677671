// Package billing turns what booking sells into money: invoices and their
// gap-free numbering, credit notes, payments (BACS, journal, card through
// Stripe), the PDF documents, bank reconciliation and finance exports.
//
// It owns the tables invoices, invoice_lines, credit_notes,
// credit_note_lines, payments, allocations, refunds, card_checkouts,
// stripe_events, journal_batches, journal_batch_invoices, bank_statements,
// bank_lines, invoice_reminders, invoices_not_mailed, ledger_settings,
// subscriptions, invoiced_charges and invoiced_visits: only its SQL writes
// them. invoiced_charges is the charge-to-invoice link for bookings: the
// invoice and line each booking charge was billed on, written as
// InvoiceBooking and InvoiceMonthlyBookings issue the invoice, read by
// CreditBooking and, for booking, InvoicedCharges. invoiced_visits is the
// same for consultancy visits, written by InvoiceConsultancy, which
// completes an engagement billed on completion through
// consultancy.CompleteTx. Its SQL names no other package's table: booking
// and consultancy say what is due (booking.ChargesDue,
// consultancy.BillableEngagements) and billing leaves out what its own
// tables say is billed.
//
// It reads organisations, the people who get invoices and the catalogue
// through the interfaces it declares (Organisations, Users, Catalogue): a
// list or report names its schools in one lookup for all its rows, and an
// issued document shows the customer snapshot taken at issue. It may import the domains below it
// (organisation, account, catalogue, booking, consultancy), pricing, mail,
// store and traded; never notify, app, web or Fiber.
package billing
