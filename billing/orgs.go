package billing

import (
	"context"
	"sort"

	"traded/organisation"
	"traded/store"
)

// organisationsOf names the organisations of ids (repeats allowed) in one
// lookup through s.orgs: inside tx when q is billing's transaction, so a
// list names its schools as the transaction sees them, else on a snapshot
// as the list's own query read.
func (s *Service) organisationsOf(ctx context.Context, q queryer, ids []int64) (map[int64]*organisation.Organisation, error) {
	seen := make(map[int64]bool, len(ids))
	unique := make([]int64, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			unique = append(unique, id)
		}
	}
	sort.Slice(unique, func(i, j int) bool { return unique[i] < unique[j] })
	if len(unique) == 0 {
		return map[int64]*organisation.Organisation{}, nil
	}
	if tx, ok := q.(*store.Tx); ok {
		return s.orgs.FindByIDsAsStoredTx(ctx, tx, unique)
	}
	return s.orgs.FindByIDsAsStored(ctx, unique)
}

// organisationExists reports whether tx sees an organisation with the id.
func (s *Service) organisationExists(ctx context.Context, tx *store.Tx, id int64) (bool, error) {
	orgs, err := s.orgs.FindByIDsAsStoredTx(ctx, tx, []int64{id})
	if err != nil {
		return false, err
	}
	return orgs[id] != nil, nil
}

// storedTier is the tier an organisation's row holds (an admin's override,
// else the one GIAS implies), not the tier history's of a day: what
// FindByIDsAsStored gives as Tier, said again so as not to depend on it.
func storedTier(o *organisation.Organisation) string {
	if o.TierOverride != "" {
		return string(o.TierOverride)
	}
	return string(o.DerivedTier)
}
