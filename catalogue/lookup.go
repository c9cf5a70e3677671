package catalogue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"traded"
	"traded/pricing"
	"traded/store"
)

// FindProductsByCodes returns the products (active or not) with the codes,
// by code: for a list of another domain that names the product of each of
// its rows, in one query for the whole list rather than a join of this
// package's table. Unknown codes are left out.
func (s *Service) FindProductsByCodes(ctx context.Context, codes []string) (map[string]*Product, error) {
	return findProductsByCodes(ctx, s.db.Read(), codes)
}

// FindProductsByCodesTx is FindProductsByCodes as tx sees it.
func (s *Service) FindProductsByCodesTx(ctx context.Context, tx *store.Tx, codes []string) (map[string]*Product, error) {
	return findProductsByCodes(ctx, tx, codes)
}

func findProductsByCodes(ctx context.Context, q store.Queryer, codes []string) (map[string]*Product, error) {
	out := make(map[string]*Product, len(codes))
	for start := 0; start < len(codes); start += 500 { // within SQLite's bound on parameters
		chunk := codes[start:min(start+500, len(codes))]
		args := make([]any, len(chunk))
		for i, c := range chunk {
			args[i] = c
		}
		rows, err := q.QueryContext(ctx, `SELECT `+productColumns+` FROM products WHERE code IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("find products: %w", err)
		}
		for rows.Next() {
			var p Product
			var kind string
			if err := rows.Scan(&p.Code, &p.Name, &p.Description, &kind, &p.VATTreatment, &p.VATRateBP, &p.VATNote, &p.IncomeCode, &p.VATCode); err != nil {
				rows.Close()
				return nil, fmt.Errorf("find products: %w", err)
			}
			p.Kind = pricing.Kind(kind)
			out[p.Code] = &p
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FindActiveProductTx returns a product still on sale as tx sees it, or
// EINVALID naming a code that is unknown or withdrawn: for another domain
// taking an order for it inside its own transaction.
func (s *Service) FindActiveProductTx(ctx context.Context, tx *store.Tx, code string) (*Product, error) {
	var p Product
	var kind string
	err := tx.QueryRowContext(ctx, `SELECT `+productColumns+` FROM products WHERE code = ? AND active = 1`, code).Scan(
		&p.Code, &p.Name, &p.Description, &kind, &p.VATTreatment, &p.VATRateBP, &p.VATNote, &p.IncomeCode, &p.VATCode)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, traded.FieldErrorf("product", "There is no product %q on sale.", code)
	} else if err != nil {
		return nil, fmt.Errorf("find product: %w", err)
	}
	p.Kind = pricing.Kind(kind)
	return &p, nil
}
