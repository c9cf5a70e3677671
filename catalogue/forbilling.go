package catalogue

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"traded/pricing"
	"traded/store"
)

// FindAllProducts returns every product, active or not, in catalogue order
// (then by name): for billing's reports, which name the products of
// invoices issued while they were sold.
func (s *Service) FindAllProducts(ctx context.Context) ([]*Product, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT `+productColumns+` FROM products ORDER BY sort, name`)
	if err != nil {
		return nil, fmt.Errorf("find products: %w", err)
	}
	defer rows.Close()
	var out []*Product
	for rows.Next() {
		var p Product
		var kind string
		if err := rows.Scan(&p.Code, &p.Name, &p.Description, &kind, &p.VATTreatment, &p.VATRateBP, &p.VATNote, &p.IncomeCode, &p.VATCode); err != nil {
			return nil, fmt.Errorf("find products: %w", err)
		}
		p.Kind = pricing.Kind(kind)
		out = append(out, &p)
	}
	return out, rows.Err()
}

// SessionYears returns, read through q, the academic year (as stored,
// "2024/25") of each session of ids, by id, in one query: for another
// domain's list that needs the year of each row's session. Unknown ids are
// left out.
func SessionYears(ctx context.Context, q store.Queryer, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	list := make([]string, len(ids))
	for i, id := range ids {
		list[i] = strconv.FormatInt(id, 10)
	}
	rows, err := q.QueryContext(ctx, `SELECT id, academic_year FROM sessions WHERE id IN (SELECT value FROM json_each(?))`,
		"["+strings.Join(list, ",")+"]")
	if err != nil {
		return nil, fmt.Errorf("session years: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var year string
		if err := rows.Scan(&id, &year); err != nil {
			return nil, fmt.Errorf("session years: %w", err)
		}
		out[id] = year
	}
	return out, rows.Err()
}
