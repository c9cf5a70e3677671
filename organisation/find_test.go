package organisation_test

import (
	"context"
	"strings"
	"testing"

	"traded/demo"
	"traded/organisation"
	"traded/store"
	"traded/store/storetest"
)

// TestFindByIDsAsStored: one query returns each known organisation as its
// record holds it (FindByID's, but for the tier history) and leaves unknown
// ids out; FindIDsByName finds by part of the name, whatever its case.
func TestFindByIDsAsStored(t *testing.T) {
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
	got, err := orgs.FindByIDsAsStored(ctx, append(append([]int64{}, ids...), 1_000_000))
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
		o := got[id]
		if o == nil {
			t.Fatalf("organisation %d left out", id)
		}
		o.Tier = one.Tier // the tier history's is FindByID's alone
		if *o != *one {
			t.Errorf("organisation %d: FindByIDsAsStored %+v, FindByID %+v", id, o, one)
		}
	}
	first := got[ids[0]]
	found, err := orgs.FindIDsByName(ctx, " "+strings.ToUpper(first.Name[1:len(first.Name)-1])+" ")
	if err != nil {
		t.Fatal(err)
	}
	hit := false
	for _, id := range found {
		hit = hit || id == first.ID
	}
	if !hit {
		t.Errorf("FindIDsByName(part of %q): got %v, want %d among them", first.Name, found, first.ID)
	}
	if none, err := orgs.FindIDsByName(ctx, "100%_no such school"); err != nil || len(none) != 0 {
		t.Errorf("no such name: got %v, %v", none, err)
	}
}
