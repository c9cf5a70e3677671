package account_test

import (
	"context"
	"testing"

	"traded/account"
)

// TestFindUsersByIDs: one call returns each known user by id, as
// FindUserByID does (a school user with their school's URN and name), and
// leaves unknown ids out.
func TestFindUsersByIDs(t *testing.T) {
	a := newAccounts(t)
	ctx := context.Background()
	adviser := a.user("ada@traded.example", account.RoleAdviser, 0)
	manager := a.user("mo@chelmervalley.example", account.RoleSchoolManager, 990001)
	got, err := a.svc.FindUsersByIDs(ctx, []int64{adviser.ID, manager.ID, 999999})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || *got[adviser.ID] != *adviser || *got[manager.ID] != *manager || got[manager.ID].OrganisationURN != 990001 {
		t.Errorf("FindUsersByIDs: %+v, want only %+v and %+v", got, adviser, manager)
	}
}
