package account_test

import (
	"context"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"traded/account"
	"traded/app"
	"traded/demo"
	"traded/store"
	"traded/store/storetest"
)

// BenchmarkFindUserByID measures the lookup the web layer makes on every
// signed-in request (the session's user, with their school's URN and name
// for a school user), serially and from many goroutines at once as
// concurrent requests make it.
func BenchmarkFindUserByID(b *testing.B) {
	db, _ := storetest.Open(b)
	svc := app.Domains(db).Accounts
	svc.PasswordCost = bcrypt.MinCost // the set-up's, not what is measured
	ctx := context.Background()
	if err := svc.Organisations.Upsert(ctx, store.System, demo.Schools, "demo"); err != nil {
		b.Fatal(err)
	}
	users := map[string]*account.User{}
	for _, u := range []struct {
		name, email string
		role        account.Role
		urn         int64
	}{{"School", "mo@chelmervalley.example", account.RoleSchoolManager, 990001}, {"LA", "ada@traded.example", account.RoleAdviser, 0}} {
		created, err := svc.CreateUser(ctx, store.System, account.UserInput{Email: u.email, Name: "Bench " + u.name, Role: u.role, URN: u.urn, Password: "correct horse battery"})
		if err != nil {
			b.Fatal(err)
		}
		users[u.name] = created
	}
	for _, name := range []string{"School", "LA"} {
		want := users[name]
		check := func(b *testing.B, u *account.User, err error) {
			if err != nil {
				b.Fatal(err)
			}
			if *u != *want {
				b.Fatalf("got %+v, want %+v", u, want)
			}
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				u, err := svc.FindUserByID(ctx, want.ID)
				check(b, u, err)
			}
		})
		b.Run(name+"Parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					u, err := svc.FindUserByID(ctx, want.ID)
					if err != nil || u.ID != want.ID || u.OrganisationName != want.OrganisationName {
						b.Errorf("got %+v, %v; want %+v", u, err, want)
						return
					}
				}
			})
		})
	}
}
