package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"traded/store"
	"traded/store/storetest"
)

// A statement reused while rows of it are still open must not reset them:
// the inner use of the same query runs unprepared.
func TestTx_SameQueryNestedInsideItsOwnRows(t *testing.T) {
	db, _ := storetest.Open(t)
	ctx := context.Background()
	const q = `SELECT value FROM (SELECT 1 AS value UNION ALL SELECT 2 UNION ALL SELECT 3) WHERE value >= ? ORDER BY value`
	var got []string
	err := db.Write(ctx, func(tx *store.Tx) error {
		rows, err := tx.QueryContext(ctx, q, 1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var outer int
			if err := rows.Scan(&outer); err != nil {
				return err
			}
			inner, err := tx.QueryContext(ctx, q, 3)
			if err != nil {
				return err
			}
			n := 0
			for inner.Next() {
				n++
			}
			inner.Close()
			var single int
			if err := tx.QueryRowContext(ctx, q, 2).Scan(&single); err != nil {
				return err
			}
			got = append(got, fmt.Sprintf("%d:%d:%d", outer, n, single))
			if len(got) > 3 {
				break // the outer rows were reset and started again
			}
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[1:1:2 2:1:2 3:1:2]" {
		t.Errorf("outer rows were disturbed by the inner queries: %v", got)
	}
	// Run again, now that every use is prepared.
	for i := 0; i < 3; i++ {
		var n int
		if err := db.Write(ctx, func(tx *store.Tx) error { return tx.QueryRowContext(ctx, q, 3).Scan(&n) }); err != nil || n != 3 {
			t.Fatalf("reuse %d: got %d, %v", i, n, err)
		}
	}
}

// A script of several statements runs whole (a prepared statement would
// run only the first).
func TestTx_ScriptRunsEveryStatement(t *testing.T) {
	db, _ := storetest.Open(t)
	ctx := context.Background()
	err := db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE t1 (x INTEGER); CREATE TABLE t2 (y INTEGER); INSERT INTO t2 VALUES (7);`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var y int
	if err := db.Read().QueryRowContext(ctx, `SELECT y FROM t2`).Scan(&y); err != nil || y != 7 {
		t.Fatalf("second and third statements did not run: %d, %v", y, err)
	}
}

// A failed or panicking transaction is rolled back and the writer goes on.
func TestWrite_RollsBackOnErrorAndPanic(t *testing.T) {
	db, _ := storetest.Open(t)
	ctx := context.Background()
	insert := func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO number_series (name, prefix, next) VALUES ('test', 'T-', 1)`)
		return err
	}
	boom := errors.New("boom")
	if err := db.Write(ctx, func(tx *store.Tx) error {
		if err := insert(tx); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic was swallowed")
			}
		}()
		_ = db.Write(ctx, func(tx *store.Tx) error {
			if err := insert(tx); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	var n int
	if err := db.Read().QueryRowContext(ctx, `SELECT count(*) FROM number_series WHERE name = 'test'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rolled-back rows are present: %d, %v", n, err)
	}
	if err := db.Write(ctx, insert); err != nil {
		t.Fatalf("the writer is unusable after a panic: %v", err)
	}
}

// A writer waiting for the connection gives up when its context ends.
func TestWrite_WaitEndsWithContext(t *testing.T) {
	db, _ := storetest.Open(t)
	ctx := context.Background()
	held, release := make(chan struct{}), make(chan struct{})
	go db.Write(ctx, func(*store.Tx) error { close(held); <-release; return nil })
	<-held
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := db.Write(cctx, func(*store.Tx) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	close(release)
}

// make builds SQLite with the query planner stability guarantee; without it
// every statement is compiled on every use (see DB.StablePlans).
func TestStablePlans(t *testing.T) {
	db, _ := storetest.Open(t)
	on, err := db.StablePlans(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !on {
		t.Fatal("SQLite was built without SQLITE_ENABLE_QPSG: run the tests with make test, or export CGO_CFLAGS='-O2 -g -DSQLITE_ENABLE_QPSG'")
	}
}

// Writes that arrive together are committed together, each standing or
// falling alone: a failed or panicking one leaves nothing, the rest stay.
func TestWrite_ConcurrentWritesStandOrFallAlone(t *testing.T) {
	db, _ := storetest.Open(t)
	ctx := context.Background()
	if err := db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE w (n INTEGER PRIMARY KEY)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	const n = 200
	errs := make([]error, n)
	panicked := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			defer func() { panicked[i] = recover() != nil }()
			errs[i] = db.Write(ctx, func(tx *store.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO w (n) VALUES (?)`, i); err != nil {
					return err
				}
				switch {
				case i%5 == 0:
					return boom
				case i%7 == 0:
					panic("boom")
				}
				return nil
			})
		})
	}
	wg.Wait()
	rows, err := db.Read().QueryContext(ctx, `SELECT n FROM w`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	kept := map[int]bool{}
	for rows.Next() {
		var k int
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		kept[k] = true
	}
	for i := range n {
		fails, panics := i%5 == 0, i%5 != 0 && i%7 == 0
		switch {
		case fails && !errors.Is(errs[i], boom), panics != panicked[i], !fails && !panics && errs[i] != nil:
			t.Errorf("write %d: err %v, panicked %v", i, errs[i], panicked[i])
		case kept[i] != (!fails && !panics):
			t.Errorf("write %d: row kept %v, but it failed %v, panicked %v", i, kept[i], fails, panics)
		}
	}
}

// Close may be called twice (a deferred Close after an explicit one).
func TestClose_Twice(t *testing.T) {
	db, _ := storetest.Open(t)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Write(context.Background(), func(*store.Tx) error { return nil }); err == nil {
		t.Error("a write after Close succeeded")
	}
}
