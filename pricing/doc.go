// Package pricing is Traded's tariff arithmetic: money in integer pence, the
// three customer tiers, academic years, versioned price lists and quotes.
//
// It does no I/O, owns no tables and imports only the standard library:
// package catalogue loads price lists from the database and hands them here.
package pricing
