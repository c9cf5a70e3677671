package organisation

import (
	"context"
	"fmt"
	"strings"

	"traded/pricing"
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
	if err := tiersOn(ctx, q, out, day); err != nil {
		return nil, err
	}
	return out, nil
}

// tiersOn is tierOn for many organisations in one query per 500: each gets
// the latest entry of its tier history effective on or before day (ties:
// the latest recorded), its first entry holding from the start; one with
// no history keeps the tier it has.
func tiersOn(ctx context.Context, q store.Queryer, orgs map[int64]*Organisation, day string) error {
	ids := make([]int64, 0, len(orgs))
	for id := range orgs {
		ids = append(ids, id)
	}
	type best struct {
		key  string // "" for the first entry, else its effective date
		id   int64
		tier string
	}
	chosen := map[int64]best{}
	first := map[int64]bool{}
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := q.QueryContext(ctx, `SELECT organisation_id, id, tier, effective_from FROM organisation_tiers
			WHERE organisation_id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`) ORDER BY organisation_id, id`, args...)
		if err != nil {
			return fmt.Errorf("tiers in force: %w", err)
		}
		for rows.Next() {
			var org, id int64
			var tier, from string
			if err := rows.Scan(&org, &id, &tier, &from); err != nil {
				rows.Close()
				return fmt.Errorf("tiers in force: %w", err)
			}
			key := from
			if !first[org] { // rows come in id order: the first is the school as first loaded
				first[org], key = true, ""
			} else if from > day {
				continue
			}
			if b, ok := chosen[org]; !ok || key > b.key || key == b.key && id > b.id {
				chosen[org] = best{key: key, id: id, tier: tier}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	for id, b := range chosen {
		orgs[id].Tier = pricing.Tier(b.tier)
	}
	return nil
}
