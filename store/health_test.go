package store_test

import (
	"context"
	"strings"
	"testing"

	"traded/store"
	"traded/store/storetest"
)

// refuseWrites makes every later write to table fail, as a read-only file or
// a full disk would (root, which runs the tests, ignores file permissions).
func refuseWrites(t *testing.T, db *store.DB, table string) {
	t.Helper()
	ctx := context.Background()
	if err := db.Write(ctx, func(tx *store.Tx) error {
		for _, op := range []string{"INSERT", "UPDATE"} {
			if _, err := tx.ExecContext(ctx, `CREATE TRIGGER refuse_`+strings.ToLower(op)+`_`+table+` BEFORE `+op+` ON `+table+
				` BEGIN SELECT RAISE(ABORT, 'attempt to write a readonly database'); END`); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestCheckWritable(t *testing.T) {
	db, _ := storetest.Open(t)
	if err := db.CheckWritable(context.Background()); err != nil {
		t.Fatalf("a fresh database: %v", err)
	}
	bad, _ := storetest.Open(t)
	refuseWrites(t, bad, "store_health")
	err := bad.CheckWritable(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot be written") || !strings.Contains(err.Error(), "readonly") {
		t.Errorf("an unwritable database: %v", err)
	}
}
