package organisation_test

import (
	"context"
	"testing"

	"traded/demo"
	"traded/organisation"
	"traded/pricing"
	"traded/store"
	"traded/store/storetest"
)

// TestFindByIDs: one call returns each known organisation by id, as
// FindByID does, and leaves unknown ids out; lists longer than one query's
// parameters are read in parts.
func TestFindByIDs(t *testing.T) {
	db, _ := storetest.Open(t)
	ctx := context.Background()
	orgs := organisation.New(db)
	if err := orgs.Upsert(ctx, store.System, demo.Schools, "demo"); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, s := range demo.Schools {
		o, err := orgs.FindByURN(ctx, s.URN)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ID)
	}
	// Tier histories beyond the first entry: an override from today; an
	// override cleared, then a change effective in 2099 (not in force); a
	// change recorded later but effective in 2000 (in force).
	if err := orgs.SetTierOverride(ctx, store.System, demo.Schools[0].URN, pricing.External, "test"); err != nil {
		t.Fatal(err)
	}
	if err := orgs.SetTierOverride(ctx, store.System, demo.Schools[1].URN, pricing.External, "test"); err != nil {
		t.Fatal(err)
	}
	if err := orgs.SetTierOverride(ctx, store.System, demo.Schools[1].URN, "", "cleared"); err != nil {
		t.Fatal(err)
	}
	if err := db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO organisation_tiers (organisation_id, tier, effective_from, source, reason, recorded_at)
			VALUES (?1, 'academy', '2099-01-01', 'gias', 'future', ?3), (?2, 'academy', '2000-01-01', 'gias', 'long ago', ?3)`,
			ids[1], ids[2], store.FormatTime(tx.Now))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	many := append([]int64{}, ids...)
	for i := 0; i < 1200; i++ {
		many = append(many, 1_000_000+int64(i)) // unknown
	}
	got, err := orgs.FindByIDs(ctx, many)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) {
		t.Fatalf("got %d organisations, want %d", len(got), len(ids))
	}
	for _, id := range ids {
		one, err := orgs.FindByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if o := got[id]; o == nil || *o != *one {
			t.Errorf("organisation %d: FindByIDs %+v, FindByID %+v", id, o, one)
		}
	}
	if none, err := orgs.FindByIDs(ctx, nil); err != nil || len(none) != 0 {
		t.Errorf("no ids: %v, %v", none, err)
	}
}
