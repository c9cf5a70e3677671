package organisation

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"traded/store"
)

// Name is how another domain names an organisation beside its own rows
// (the school of a signed-in user, of each user in a list): its URN and
// name.
type Name struct {
	URN  int64
	Name string
}

// maxNames bounds the copy of names FindNamesByIDs keeps; past it, the
// copy starts again empty.
const maxNames = 10000

// names is the copy of organisations' names that FindNamesByIDs keeps
// while the organisations table is unchanged: it is read on every signed-in
// request, and schools are renamed a few times a year.
type names struct {
	mu    sync.RWMutex
	stamp uint64 // db.Version of organisations when byID was read
	byID  map[int64]Name
}

// FindNamesByIDs returns the URN and name of the organisations with the
// ids, by id, as readers see them: for a domain that names the school of
// each of its rows without joining this package's table. It answers from a
// copy kept until a committed change to organisations (a change by
// another process on the file is noticed within a second, see
// store.DB.Version), so the lookup made on every signed-in request costs no
// query. Unknown ids are left out.
func (s *Service) FindNamesByIDs(ctx context.Context, ids []int64) (map[int64]Name, error) {
	stamp := s.db.Version(ctx, "organisations") // before the rows: see store.DB.Version
	out := make(map[int64]Name, len(ids))
	var missing []int64
	s.names.mu.RLock()
	fresh := s.names.stamp == stamp
	for _, id := range ids {
		if n, ok := s.names.byID[id]; ok && fresh {
			out[id] = n
		} else {
			missing = append(missing, id)
		}
	}
	s.names.mu.RUnlock()
	if len(missing) == 0 {
		return out, nil
	}
	found, err := findNames(ctx, s.db.Read(), missing)
	if err != nil {
		return nil, err
	}
	s.names.mu.Lock()
	if stamp > s.names.stamp || s.names.byID == nil || len(s.names.byID) >= maxNames {
		s.names.stamp, s.names.byID = stamp, make(map[int64]Name, len(found))
	}
	for id, n := range found {
		out[id] = n
		if stamp == s.names.stamp {
			s.names.byID[id] = n
		}
	}
	s.names.mu.Unlock()
	return out, nil
}

// FindNameByID is FindNamesByIDs for one id, without the map: the lookup
// made on every signed-in request. ok is false for an unknown id.
func (s *Service) FindNameByID(ctx context.Context, id int64) (n Name, ok bool, err error) {
	stamp := s.db.Version(ctx, "organisations")
	s.names.mu.RLock()
	if s.names.stamp == stamp {
		n, ok = s.names.byID[id]
	}
	s.names.mu.RUnlock()
	if ok {
		return n, true, nil
	}
	names, err := s.FindNamesByIDs(ctx, []int64{id})
	n, ok = names[id]
	return n, ok, err
}

// FindNamesByIDsTx is FindNamesByIDs as tx sees it, from the writer's
// cache while organisations are unchanged (see store.Tx.Cached).
func (s *Service) FindNamesByIDsTx(ctx context.Context, tx *store.Tx, ids []int64) (map[int64]Name, error) {
	out := make(map[int64]Name, len(ids))
	for _, id := range ids {
		if _, ok := out[id]; ok {
			continue
		}
		v, err := tx.Cached("organisation name "+strconv.FormatInt(id, 10), []string{"organisations"}, func() (any, error) {
			found, err := findNames(ctx, tx, []int64{id})
			if n, ok := found[id]; ok {
				return &n, err
			}
			return (*Name)(nil), err // unknown, until organisations change
		})
		if err != nil {
			return nil, err
		}
		if n := v.(*Name); n != nil {
			out[id] = *n
		}
	}
	return out, nil
}

func findNames(ctx context.Context, q store.Queryer, ids []int64) (map[int64]Name, error) {
	out := make(map[int64]Name, len(ids))
	for start := 0; start < len(ids); start += 500 { // within SQLite's bound on parameters
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := q.QueryContext(ctx, `SELECT id, urn, name FROM organisations WHERE id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("find organisation names: %w", err)
		}
		for rows.Next() {
			var id int64
			var n Name
			if err := rows.Scan(&id, &n.URN, &n.Name); err != nil {
				rows.Close()
				return nil, fmt.Errorf("find organisation names: %w", err)
			}
			out[id] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
