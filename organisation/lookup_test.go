package organisation_test

import (
	"context"
	"testing"

	"traded/demo"
	"traded/organisation"
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
