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
// consultancy.CompleteTx. It joins booking's and consultancy's tables
// read-only to find what is due (arch_test.go lists each such join).
//
// It reads organisations and the catalogue through the interfaces it
// declares (Organisations, Catalogue), and may import the domains below it
// (organisation, account, catalogue, booking, consultancy), pricing, mail,
// store and traded; never notify, app, web or Fiber.
package billing
