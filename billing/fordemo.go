package billing

import (
	"context"
	"fmt"
)

// HasInvoices reports whether any invoice has been made: the demo loads its
// billing data once, into a database with none.
func (s *Service) HasInvoices(ctx context.Context) (bool, error) {
	var has bool
	if err := s.db.Read().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM invoices)`).Scan(&has); err != nil {
		return false, fmt.Errorf("has invoices: %w", err)
	}
	return has, nil
}
