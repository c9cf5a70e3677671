package organisation

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"traded/store"
)

// FindIDsByName returns the ids of the organisations whose name contains
// text (case-insensitively, as SQL's LIKE compares), in id order: for a
// search of another domain's list by its schools' names today. Empty text
// matches none.
func (s *Service) FindIDsByName(ctx context.Context, text string) ([]int64, error) {
	text = strings.TrimSpace(text)
	ids := []int64{}
	if text == "" {
		return ids, nil
	}
	rows, err := s.db.Read().QueryContext(ctx, `SELECT id FROM organisations WHERE name LIKE ? ESCAPE '\' ORDER BY id`,
		"%"+strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(text)+"%")
	if err != nil {
		return nil, fmt.Errorf("find organisations by name: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("find organisations by name: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// FindByIDsAsStored is FindByIDs without the tier history: each
// organisation's Tier is the one its record holds (an admin's override,
// else GIAS's), so a whole list takes one query however many schools it
// names. For lists and reports that show a school's name, URN, district or
// cost centre, not the tier it is priced at on a day.
func (s *Service) FindByIDsAsStored(ctx context.Context, ids []int64) (map[int64]*Organisation, error) {
	return findByIDsAsStored(ctx, s.db.Read(), ids)
}

// FindByIDsAsStoredTx is FindByIDsAsStored as tx sees it.
func (s *Service) FindByIDsAsStoredTx(ctx context.Context, tx *store.Tx, ids []int64) (map[int64]*Organisation, error) {
	return findByIDsAsStored(ctx, tx, ids)
}

func findByIDsAsStored(ctx context.Context, q store.Queryer, ids []int64) (map[int64]*Organisation, error) {
	out := make(map[int64]*Organisation, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	list := make([]string, len(ids))
	for i, id := range ids {
		list[i] = strconv.FormatInt(id, 10)
	}
	rows, err := q.QueryContext(ctx, `SELECT `+orgColumns+` FROM organisations WHERE id IN (SELECT value FROM json_each(?))`,
		"["+strings.Join(list, ",")+"]")
	if err != nil {
		return nil, fmt.Errorf("find organisations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		o, err := scanOrganisation(rows)
		if err != nil {
			return nil, fmt.Errorf("find organisations: %w", err)
		}
		out[o.ID] = o
	}
	return out, rows.Err()
}
