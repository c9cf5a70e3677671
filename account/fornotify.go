package account

import (
	"context"
	"fmt"

	"traded/store"
)

// SchoolManagersTx returns the active school business managers of the
// organisation as tx sees them, oldest account first: whom notify asks to
// approve a teacher's booking or accept a quote, and invites to a visit, in
// the transaction of the change.
func (s *Service) SchoolManagersTx(ctx context.Context, tx *store.Tx, orgID int64) ([]*User, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+userColumns+userFrom+` WHERE u.organisation_id = ? AND u.role = ? AND u.active = 1 ORDER BY u.id`,
		orgID, string(RoleSchoolManager))
	if err != nil {
		return nil, fmt.Errorf("school managers: %w", err)
	}
	defer rows.Close()
	var out []*User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("school managers: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("school managers: %w", err)
	}
	rows.Close()
	if err := s.nameSchools(ctx, tx, out...); err != nil {
		return nil, err
	}
	return out, nil
}
