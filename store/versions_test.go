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

// cachedNext reads the invoice series' next number through Tx.Cached,
// counting the loads.
func cachedNext(ctx context.Context, db *store.DB, loads *int) (int64, error) {
	var n int64
	err := db.Write(ctx, func(tx *store.Tx) error {
		v, err := tx.Cached("next", []string{"number_series"}, func() (any, error) {
			*loads++
			var n int64
			err := tx.QueryRowContext(ctx, `SELECT next FROM number_series WHERE name = 'invoice'`).Scan(&n)
			return n, err
		})
		if err == nil {
			n = v.(int64)
		}
		return err
	})
	return n, err
}

func bumpInvoiceSeries(ctx context.Context, tx *store.Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE number_series SET next = next + 1 WHERE name = 'invoice'`)
	return err
}

// Cached loads once, keeps the value across transactions while its table
// is unchanged, loads again once a change commits, and never keeps what a
// transaction reads after changing the table itself.
func TestTx_Cached(t *testing.T) {
	db, _ := storetest.Open(t)
	ctx := context.Background()
	loads := 0
	next := func(want int64, wantLoads int, what string) {
		t.Helper()
		n, err := cachedNext(ctx, db, &loads)
		if err != nil || n != want || loads != wantLoads {
			t.Errorf("%s: next %d (%v) after %d loads; want %d after %d", what, n, err, loads, want, wantLoads)
		}
	}
	var first int64
	if err := db.Read().QueryRowContext(ctx, `SELECT next FROM number_series WHERE name = 'invoice'`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	next(first, 1, "first read")
	next(first, 1, "a later transaction")
	if err := db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, actor, action) VALUES ('2026-11-22T10:00:00Z', 'x', 'y')`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	next(first, 1, "after a change to another table")

	errUndo := errors.New("undo")
	if err := db.Write(ctx, func(tx *store.Tx) error {
		if err := bumpInvoiceSeries(ctx, tx); err != nil {
			return err
		}
		return errUndo
	}); !errors.Is(err, errUndo) {
		t.Fatal(err)
	}
	next(first, 1, "after a change rolled back")

	// A transaction that changes the table reads its own change, every time,
	// and what it read is not kept.
	if err := db.Write(ctx, func(tx *store.Tx) error {
		if err := bumpInvoiceSeries(ctx, tx); err != nil {
			return err
		}
		for i := range 2 {
			v, err := tx.Cached("next", []string{"number_series"}, func() (any, error) {
				loads++
				var n int64
				err := tx.QueryRowContext(ctx, `SELECT next FROM number_series WHERE name = 'invoice'`).Scan(&n)
				return n, err
			})
			if err != nil {
				return err
			}
			if v.(int64) != first+1 || loads != 2+i {
				t.Errorf("inside the changing transaction, read %d: %d after %d loads; want %d after %d", i+1, v, loads, first+1, 2+i)
			}
		}
		return errUndo
	}); !errors.Is(err, errUndo) {
		t.Fatal(err)
	}
	next(first, 3, "after that transaction rolled back")

	if err := db.Write(ctx, func(tx *store.Tx) error { return bumpInvoiceSeries(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	next(first+1, 4, "after a change committed")
	next(first+1, 4, "and again")
}

// A change committed by another process is seen by the very next write.
func TestTx_CachedNoticesOtherProcesses(t *testing.T) {
	db, _ := storetest.Open(t)
	ctx := context.Background()
	loads := 0
	first, err := cachedNext(ctx, db, &loads)
	if err != nil {
		t.Fatal(err)
	}
	other, err := store.Open(db.Path, traded.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Write(ctx, func(tx *store.Tx) error { return bumpInvoiceSeries(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	if n, err := cachedNext(ctx, db, &loads); err != nil || n != first+1 || loads != 2 {
		t.Errorf("after another process's change: next %d (%v) after %d loads; want %d after 2", n, err, loads, first+1)
	}
}
