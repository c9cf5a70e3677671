package organisation_test

import (
	"context"
	"testing"

	"traded/demo"
	"traded/organisation"
	"traded/store"
	"traded/store/storetest"
)

// TestFindNamesByIDs: each known organisation's URN and name by id, as
// readers and as a transaction see them, unknown ids left out; a school
// renamed, by this Service or another over the same database, is named
// anew at once, and inside the transaction that renames it.
func TestFindNamesByIDs(t *testing.T) {
	db, _ := storetest.Open(t)
	ctx := context.Background()
	orgs := organisation.New(db)
	if err := orgs.Upsert(ctx, store.System, demo.Schools, "demo"); err != nil {
		t.Fatal(err)
	}
	o, err := orgs.FindByURN(ctx, 990001)
	if err != nil {
		t.Fatal(err)
	}
	check := func(when, name string) {
		t.Helper()
		got, err := orgs.FindNamesByIDs(ctx, []int64{o.ID, 999999, o.ID})
		if err != nil {
			t.Fatal(err)
		}
		if want := (organisation.Name{URN: 990001, Name: name}); len(got) != 1 || got[o.ID] != want {
			t.Errorf("%s: FindNamesByIDs got %+v, want only %+v", when, got, want)
		}
		if n, ok, err := orgs.FindNameByID(ctx, o.ID); err != nil || !ok || n != (organisation.Name{URN: 990001, Name: name}) {
			t.Errorf("%s: FindNameByID got %+v, %t, %v; want %q", when, n, ok, err, name)
		}
		if n, ok, err := orgs.FindNameByID(ctx, 999999); err != nil || ok {
			t.Errorf("%s: FindNameByID(unknown) got %+v, %t, %v; want none", when, n, ok, err)
		}
		err = db.Write(ctx, func(tx *store.Tx) error {
			got, err := orgs.FindNamesByIDsTx(ctx, tx, []int64{999999, o.ID})
			if want := (organisation.Name{URN: 990001, Name: name}); len(got) != 1 || got[o.ID] != want {
				t.Errorf("%s: FindNamesByIDsTx got %+v, want only %+v", when, got, want)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check("first", o.Name)
	check("again", o.Name) // from the copies kept

	renamed := demo.Schools[0]
	renamed.Name = "Chelmer Valley Primary Academy"
	if err := organisation.New(db).Upsert(ctx, store.System, []organisation.Organisation{renamed}, "gias"); err != nil {
		t.Fatal(err)
	}
	check("renamed", renamed.Name)

	renamed.Name = "Chelmer Valley Primary"
	err = db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE organisations SET name = ? WHERE id = ?`, renamed.Name, o.ID); err != nil {
			return err
		}
		got, err := orgs.FindNamesByIDsTx(ctx, tx, []int64{o.ID})
		if got[o.ID].Name != renamed.Name {
			t.Errorf("inside the renaming transaction: got %+v, want %q", got[o.ID], renamed.Name)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	check("renamed in a transaction", renamed.Name)
}
