package booking

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"traded"
	"traded/pricing"
)

// QuoteRequest asks for the price of items for one organisation in one year.
type QuoteRequest struct {
	URN          int64
	Year         pricing.AcademicYear
	AsSubscriber *bool // nil: whether the organisation really subscribes that year
	Items        []pricing.Item
}

// Quote prices a request by the year's current price list and the
// organisation's tier. It returns ENOTFOUND for an unknown organisation,
// EINVALID for a year with no price list, an unknown product or a bad number
// of staff.
func (s *Service) Quote(ctx context.Context, req QuoteRequest) (*pricing.Quote, error) {
	org, err := s.Organisations.FindByURN(ctx, req.URN)
	if err != nil {
		return nil, err
	}
	pl, err := s.Catalogue.PriceList(ctx, req.Year)
	if traded.ErrorCode(err) == traded.ENOTFOUND {
		return nil, traded.FieldErrorf("academic_year", "There is no price list for %s.", req.Year)
	} else if err != nil {
		return nil, err
	}
	subscriber := false
	if req.AsSubscriber != nil {
		subscriber = *req.AsSubscriber
	} else if subscriber, err = s.IsSubscriber(ctx, org.ID, req.Year); err != nil {
		return nil, err
	}
	q, err := pl.Quote(org.Tier, subscriber, req.Items)
	if err != nil {
		return nil, fromPricing(err)
	}
	return q, nil
}

// fromPricing turns the tariff's complaints into user-facing invalid input.
func fromPricing(err error) error {
	var pe *pricing.Error
	if errors.As(err, &pe) {
		return traded.FieldErrorf(pe.Field, "%s", upperFirst(pe.Message))
	}
	return err
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// IsSubscriber reports whether the organisation holds an active PSA
// subscription for the year.
func (s *Service) IsSubscriber(ctx context.Context, orgID int64, year pricing.AcademicYear) (bool, error) {
	var n int
	err := s.db.Read().QueryRowContext(ctx, `SELECT count(*) FROM subscriptions
		WHERE organisation_id = ? AND product_code = ? AND academic_year = ? AND status = 'active'`,
		orgID, pricing.PSASubscription, year.String()).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("is subscriber: %w", err)
	}
	return n > 0, nil
}
