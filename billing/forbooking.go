package billing

import (
	"context"
	"fmt"

	"traded/booking"
	"traded/pricing"
	"traded/store"
)

// Billing tells booking who subscribes (booking.Subscriptions), through its
// Charger: the subscriptions are billing's.
var _ booking.Subscriptions = (*Service)(nil)

// Subscribes reports, read through q (the caller's transaction, or the
// reader pool), whether the organisation holds an active PSA subscription
// for the year: what a booking is entitled to. Booking caches the answer in
// its transaction while subscriptions are unchanged.
func (s *Service) Subscribes(ctx context.Context, q store.Queryer, orgID int64, year pricing.AcademicYear) (bool, error) {
	var ok bool
	if err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM subscriptions WHERE organisation_id = ? AND product_code = ?
		AND academic_year = ? AND status = 'active')`, orgID, pricing.PSASubscription, year.String()).Scan(&ok); err != nil {
		return false, fmt.Errorf("is subscriber: %w", err)
	}
	return ok, nil
}
