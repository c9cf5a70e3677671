package account

import (
	"context"
	"fmt"
	"strings"

	"traded/store"
)

// FindUsersByIDs returns the users with the ids, by id: for a list of
// another domain that names a person on each row (who booked, which
// adviser), in one query for the whole list rather than a join of this
// package's table. Unknown ids are left out.
func (s *Service) FindUsersByIDs(ctx context.Context, ids []int64) (map[int64]*User, error) {
	return s.findUsersByIDs(ctx, nil, ids)
}

// FindUsersByIDsTx is FindUsersByIDs as tx sees it.
func (s *Service) FindUsersByIDsTx(ctx context.Context, tx *store.Tx, ids []int64) (map[int64]*User, error) {
	return s.findUsersByIDs(ctx, tx, ids)
}

func (s *Service) findUsersByIDs(ctx context.Context, tx *store.Tx, ids []int64) (map[int64]*User, error) {
	q := s.queryer(tx)
	out := make(map[int64]*User, len(ids))
	for start := 0; start < len(ids); start += 500 { // within SQLite's bound on parameters
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := q.QueryContext(ctx, `SELECT `+userColumns+userFrom+` WHERE u.id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("find users: %w", err)
		}
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("find users: %w", err)
			}
			out[u.ID] = u
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	us := make([]*User, 0, len(out))
	for _, u := range out {
		us = append(us, u)
	}
	if err := s.nameSchools(ctx, tx, us...); err != nil {
		return nil, err
	}
	return out, nil
}

// queryer is tx, or the readers for a nil tx: a Service's ...Tx methods
// read through tx alone.
func (s *Service) queryer(tx *store.Tx) store.Queryer {
	if tx != nil {
		return tx
	}
	return s.db.Read()
}
