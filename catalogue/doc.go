// Package catalogue is what the LA sells and when: products with their VAT
// treatment and ledger codes, the versioned price lists (rolled forward with
// an uplift; consultancy day rates set as a new version), courses and their
// scheduled sessions, term dates, bank holidays (the embedded GOV.UK list
// plus an admin's one-offs) and working days. A stored price list never
// changes, so lists are cached by id.
//
// It owns the tables products, price_lists, prices, courses, sessions,
// term_dates, bank_holidays and bank_holiday_years: only its SQL writes
// them. Booking and billing read a price list inside their own transaction
// through CurrentListID, CurrentListTx, LoadPriceList and FindProductTx, so
// that a charge is priced by the list the transaction commits with; booking
// holds and frees a session's places (TakePlacesTx, FreePlacesTx) and
// changes or cancels a session (UpdateSessionTx, CancelSessionTx) inside the
// transaction that tells or cancels its bookings.
//
// It may import pricing, store and the root package traded; nothing above
// it (booking, billing, web) and not Fiber.
package catalogue
