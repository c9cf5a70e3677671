// Package billing turns what booking sells into money: invoices and their
// gap-free numbering, credit notes, payments (BACS, journal, card through
// Stripe), the PDF documents, bank reconciliation and finance exports.
//
// Billing builds on booking (organisations, products, price lists) and is
// used by web; it never imports Fiber.
package billing
