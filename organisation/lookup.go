package organisation

import (
	"context"
	"fmt"
	"strings"

	"traded/store"
)

// FindByIDs returns the organisations with the ids, by id, with the tier
// in force today: for a list or report of another domain that names the
// school of each of its rows, in one query for the whole list rather than
// a join of this package's table. Unknown ids are left out.
func (s *Service) FindByIDs(ctx context.Context, ids []int64) (map[int64]*Organisation, error) {
	return findByIDs(ctx, s.db.Read(), ids, Today(s.db.Clock.Now()))
}

// FindByIDsTx is FindByIDs as tx sees it, with the tier in force on tx's
// day, for a domain naming schools inside its own transaction.
func (s *Service) FindByIDsTx(ctx context.Context, tx *store.Tx, ids []int64) (map[int64]*Organisation, error) {
	return findByIDs(ctx, tx, ids, Today(tx.Now))
}

func findByIDs(ctx context.Context, q store.Queryer, ids []int64, day string) (map[int64]*Organisation, error) {
	out := make(map[int64]*Organisation, len(ids))
	for start := 0; start < len(ids); start += 500 { // within SQLite's bound on parameters
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := q.QueryContext(ctx, `SELECT `+orgColumns+` FROM organisations WHERE id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("find organisations: %w", err)
		}
		for rows.Next() {
			o, err := scanOrganisation(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("find organisations: %w", err)
			}
			out[o.ID] = o
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	for _, o := range out {
		if err := tierOn(ctx, q, o, day); err != nil {
			return nil, err
		}
	}
	return out, nil
}
