package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"traded"
	"traded/migrations"
	"traded/store"
)

func TestMigrate_FreshFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nested", "folder", "traded.db")
	db, err := store.Open(path, traded.NewFixedClock(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := migrations.FS.ReadDir(".")
	if len(applied) != len(all) || applied[0] != "0001_foundation.sql" {
		t.Errorf("applied %v, want all %d migrations in order", applied, len(all))
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file not created: %v", err)
	}
	again, err := db.Migrate(ctx)
	if err != nil || len(again) != 0 {
		t.Errorf("second migrate applied %v, %v; want nothing", again, err)
	}
	var n int
	if err := db.Read().QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(all) {
		t.Errorf("schema_migrations has %d rows, %v", n, err)
	}
	for _, table := range []string{"organisations", "organisation_tiers", "products", "price_lists", "prices", "sessions", "courses", "term_dates", "subscriptions", "audit_log"} {
		if err := db.Read().QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
	var check string
	if err := db.Read().QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v", check, err)
	}
}

func TestOpen_Pragmas(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(filepath.Join(t.TempDir(), "t.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	var fk, sync, busy, limit int
	err = db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.QueryRowContext(ctx, `PRAGMA journal_size_limit`).Scan(&limit); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy)
	})
	if err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || fk != 1 || sync != 1 || busy != 5000 || limit != 64<<20 {
		t.Errorf("writer: journal_mode=%s foreign_keys=%d synchronous=%d busy_timeout=%d journal_size_limit=%d; want wal 1 1(NORMAL) 5000 64 MiB",
			mode, fk, sync, busy, limit)
	}
	if err := db.Read().QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("reader foreign_keys = %d, %v", fk, err)
	}
}

func TestOpen_RefusesMemory(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file::memory:"} {
		if _, err := store.Open(p, nil); err == nil {
			t.Errorf("Open(%q) succeeded, want an error", p)
		}
	}
}

func TestWrite_RollsBackOnError(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(filepath.Join(t.TempDir(), "t.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	err = db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.Audit(ctx, store.System, "test", "", "", ""); err != nil {
			return err
		}
		return traded.Errorf(traded.EINVALID, "no")
	})
	if traded.ErrorCode(err) != traded.EINVALID {
		t.Fatalf("err = %v", err)
	}
	var n int
	db.Read().QueryRowContext(ctx, `SELECT count(*) FROM audit_log WHERE action = 'test'`).Scan(&n)
	if n != 0 {
		t.Errorf("a rolled-back write left %d rows", n)
	}
}
