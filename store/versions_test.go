package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"traded"
	"traded/store"
	"traded/store/storetest"
)

func TestVersion_CountsCommittedChangesPerTable(t *testing.T) {
	db, _ := storetest.Open(t)
	ctx := context.Background()
	exec := func(q string, fail bool) {
		t.Helper()
		err := db.Write(ctx, func(tx *store.Tx) error {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
			if fail {
				return errors.New("roll back")
			}
			return nil
		})
		if (err != nil) != fail {
			t.Fatal(err)
		}
	}
	v0 := db.Version(ctx, "number_series")
	exec(`UPDATE number_series SET next = next + 1 WHERE name = 'invoice'`, false)
	v1 := db.Version(ctx, "number_series")
	if v1 == v0 {
		t.Fatal("a committed change did not change the version")
	}
	exec(`UPDATE number_series SET next = next + 1 WHERE name = 'invoice'`, true)
	exec(`INSERT INTO audit_log (at, actor, action, entity, entity_id, detail) VALUES ('2026-11-22T10:00:00Z', 'x', 'y', 'z', '1', '')`, false)
	if v := db.Version(ctx, "number_series"); v != v1 {
		t.Errorf("a rolled-back change, or one to another table, changed the version: %d -> %d", v1, v)
	}
	if v := db.Version(ctx, "number_series", "audit_log"); v == v1 {
		t.Error("the version of two tables missed the change to one of them")
	}
}

// A change made by another process is noticed within about a second.
func TestVersion_NoticesOtherProcesses(t *testing.T) {
	db, _ := storetest.Open(t)
	ctx := context.Background()
	v0 := db.Version(ctx, "number_series")
	other, err := store.Open(db.Path, traded.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE number_series SET next = next + 1 WHERE name = 'invoice'`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for db.Version(ctx, "number_series") == v0 {
		if time.Now().After(deadline) {
			t.Fatal("a change by another connection was not noticed")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Memo loads once per transaction, and again after the transaction changes
// one of the tables named.
func TestTx_MemoForgetsWhatTheTransactionChanges(t *testing.T) {
	db, _ := storetest.Open(t)
	ctx := context.Background()
	err := db.Write(ctx, func(tx *store.Tx) error {
		loads := 0
		next := func() (int64, error) {
			v, err := tx.Memo("next", []string{"number_series"}, func() (any, error) {
				loads++
				var n int64
				err := tx.QueryRowContext(ctx, `SELECT next FROM number_series WHERE name = 'invoice'`).Scan(&n)
				return n, err
			})
			if err != nil {
				return 0, err
			}
			return v.(int64), nil
		}
		a, _ := next()
		b, _ := next()
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, actor, action) VALUES ('2026-11-22T10:00:00Z', 'x', 'y')`); err != nil {
			return err
		}
		c, _ := next()
		if loads != 1 || a != b || b != c {
			t.Errorf("before any change: %d loads (%d, %d, %d), want 1", loads, a, b, c)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE number_series SET next = next + 1 WHERE name = 'invoice'`); err != nil {
			return err
		}
		if d, _ := next(); loads != 2 || d != a+1 {
			t.Errorf("after the change: %d loads, next %d; want 2 loads and %d", loads, d, a+1)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
