package account_test

import (
	"context"
	"testing"

	"traded/account"
	"traded/demo"
	"traded/organisation"
	"traded/store"
)

// TestService_SchoolNames: a school user carries their school's URN and
// name wherever they are found (by id, by email, in a list, inside a
// transaction, as a manager notify tells), and a school renamed is named
// anew at once; an LA user has none.
func TestService_SchoolNames(t *testing.T) {
	a := newAccounts(t)
	ctx := context.Background()
	manager := a.user("mo@chelmervalley.example", account.RoleSchoolManager, 990001)
	teacher := a.user("tia@chelmervalley.example", account.RoleTeacher, 990001)
	adviser := a.user("ada@traded.example", account.RoleAdviser, 0)
	if adviser.OrganisationURN != 0 || adviser.OrganisationName != "" {
		t.Errorf("adviser: got URN %d %q, want none", adviser.OrganisationURN, adviser.OrganisationName)
	}
	check := func(when, name string) {
		t.Helper()
		want := func(u *account.User, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			if u.OrganisationURN != 990001 || u.OrganisationName != name {
				t.Errorf("%s: %s has URN %d %q, want 990001 %q", when, u.Email, u.OrganisationURN, u.OrganisationName, name)
			}
		}
		want(a.svc.FindUserByID(ctx, manager.ID))
		want(a.svc.FindUserByEmail(ctx, teacher.Email))
		us, err := a.svc.FindUsers(ctx, account.UserFilter{OrganisationID: &manager.OrganisationID})
		if len(us) != 2 {
			t.Fatalf("%s: FindUsers got %d users, want 2", when, len(us))
		}
		for _, u := range us {
			want(u, err)
		}
		err = a.db.Write(ctx, func(tx *store.Tx) error {
			want(a.svc.UserByIDTx(ctx, tx, teacher.ID))
			ms, err := a.svc.SchoolManagersTx(ctx, tx, manager.OrganisationID)
			if len(ms) != 1 || ms[0].ID != manager.ID {
				t.Errorf("%s: SchoolManagersTx got %+v, want only %s", when, ms, manager.Email)
			} else {
				want(ms[0], err)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check("first", manager.OrganisationName)
	renamed := demo.Schools[0]
	renamed.Name = "Chelmer Valley Primary Academy"
	if err := a.svc.Organisations.Upsert(ctx, store.System, []organisation.Organisation{renamed}, "gias"); err != nil {
		t.Fatal(err)
	}
	check("renamed", renamed.Name)
}
