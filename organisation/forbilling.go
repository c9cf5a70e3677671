package organisation

import (
	"context"
	"fmt"
	"strings"
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
