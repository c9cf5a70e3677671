package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"traded"
	"traded/booking"
	"traded/pricing"
	"traded/store"
)

// Subscription is an organisation's PSA subscription for a year.
type Subscription struct {
	ID            int64
	URN           int64
	Organisation  string
	Year          pricing.AcademicYear
	Status        string
	PONumber      string
	InvoiceNumber string
	Price         pricing.Money
	CreatedAt     time.Time
}

// BuySubscription subscribes an organisation to the PSA package for a year
// at its tier's price in that year's price list, and issues the invoice, in
// one transaction. It returns ENOTFOUND for an unknown organisation,
// EINVALID for a year with no price list or a missing PO number where the
// school needs one, and ECONFLICT when the organisation already subscribes.
func (s *Service) BuySubscription(ctx context.Context, actor store.Actor, urn int64, year pricing.AcademicYear, po string) (*Subscription, error) {
	po, err := traded.CleanPO(po)
	if err != nil {
		return nil, err
	}
	pl, err := s.catalogue.PriceList(ctx, year)
	if traded.ErrorCode(err) == traded.ENOTFOUND {
		return nil, traded.FieldErrorf("academic_year", "The subscription for %s is not on sale: there is no price list for that year.", year)
	} else if err != nil {
		return nil, err
	}
	var subID int64
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		org, err := s.orgs.ByURNTx(ctx, tx, urn)
		if err != nil {
			return err
		}
		if org.PORequired && po == "" {
			return traded.FieldErrorf("po_number", "Your school needs a purchase-order number on its invoices: enter it.")
		}
		price, err := pl.Price(pricing.PSASubscription, org.Tier, pricing.RateUnit)
		if err != nil {
			return traded.Errorf(traded.EINVALID, "The subscription has no %s price for %s.", org.Tier, year)
		}
		now := store.FormatTime(tx.Now)
		res, err := tx.ExecContext(ctx, `INSERT INTO subscriptions (organisation_id, product_code, academic_year, status, po_number, created_at, updated_at)
			VALUES (?, ?, ?, 'active', ?, ?, ?)`, org.ID, pricing.PSASubscription, year.String(), po, now, now)
		if store.IsUniqueViolation(err) {
			return traded.Errorf(traded.ECONFLICT, "%s already has the Primary Statutory Assessment subscription for %s.", org.Name, year)
		} else if err != nil {
			return fmt.Errorf("buy subscription: %w", err)
		}
		subID, _ = res.LastInsertId()
		invID, number, err := s.issueNew(ctx, tx, actor, InvoiceInput{OrganisationID: org.ID, Source: "subscription", AcademicYear: year.String(),
			PONumber: po, Lines: []LineInput{{ProductCode: pricing.PSASubscription, Quantity: 1, Unit: price,
				Description: fmt.Sprintf("Primary Statutory Assessment annual subscription %s: up to 2 staff at each of the 10 training sessions", year)}}})
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE subscriptions SET invoice_id = ? WHERE id = ?`, invID, subID); err != nil {
			return fmt.Errorf("buy subscription: %w", err)
		}
		return tx.Audit(ctx, actor, "subscription.buy", "subscription", strconv.FormatInt(subID, 10),
			fmt.Sprintf("%s (URN %d) %s at %s, invoice %s", org.Name, org.URN, year, price, number))
	})
	if err != nil {
		return nil, err
	}
	return s.findSubscription(ctx, `s.id = ?`, subID)
}

// FindSubscription returns an organisation's active subscription for a
// year, or ENOTFOUND.
func (s *Service) FindSubscription(ctx context.Context, orgID int64, year pricing.AcademicYear) (*Subscription, error) {
	return s.findSubscription(ctx, `s.organisation_id = ? AND s.academic_year = ? AND s.status = 'active'`, orgID, year.String())
}

func (s *Service) findSubscription(ctx context.Context, where string, args ...any) (*Subscription, error) {
	var sub Subscription
	var year, created string
	var price int64
	var orgID int64
	err := s.db.Read().QueryRowContext(ctx, `SELECT s.id, s.organisation_id, s.academic_year, s.status, s.po_number,
			COALESCE(i.number, ''), COALESCE(i.total_pence, 0), s.created_at
		FROM subscriptions s LEFT JOIN invoices i ON i.id = s.invoice_id
		WHERE `+where, args...).Scan(&sub.ID, &orgID, &year, &sub.Status, &sub.PONumber, &sub.InvoiceNumber, &price, &created)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, traded.Errorf(traded.ENOTFOUND, "There is no such subscription.")
		}
		return nil, fmt.Errorf("find subscription: %w", err)
	}
	orgs, err := s.organisationsOf(ctx, s.db.Read(), []int64{orgID})
	if err != nil {
		return nil, fmt.Errorf("find subscription: %w", err)
	}
	org := orgs[orgID]
	if org == nil {
		return nil, traded.Errorf(traded.ENOTFOUND, "There is no such subscription.")
	}
	sub.URN, sub.Organisation = org.URN, org.Name
	sub.Year, _ = pricing.ParseAcademicYear(year)
	sub.Price, sub.CreatedAt = pricing.Money(price), store.MustTime(created)
	return &sub, nil
}

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
