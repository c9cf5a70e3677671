package account

import (
	"context"
	"fmt"
	"strings"

	"traded/store"
)

// FindUsersTx is FindUsers as tx sees it, for billing naming who gets an
// invoice inside the transaction that issues it.
func (s *Service) FindUsersTx(ctx context.Context, tx *store.Tx, f UserFilter) ([]*User, error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.OrganisationID != nil {
		where, args = append(where, "u.organisation_id = ?"), append(args, *f.OrganisationID)
	}
	if f.Role != nil {
		where, args = append(where, "u.role = ?"), append(args, string(*f.Role))
	}
	if f.Active != nil {
		where, args = append(where, "u.active = ?"), append(args, *f.Active)
	}
	limit, largs := store.LimitSQL(f.Limit, f.Offset)
	rows, err := tx.QueryContext(ctx, `SELECT `+userColumns+userFrom+` WHERE `+strings.Join(where, " AND ")+
		` ORDER BY u.name COLLATE NOCASE, u.id`+limit, append(args, largs...)...)
	if err != nil {
		return nil, fmt.Errorf("find users: %w", err)
	}
	defer rows.Close()
	var out []*User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("find users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
