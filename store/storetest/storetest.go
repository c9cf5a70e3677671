package storetest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"traded"
	"traded/store"
)

// Epoch is the fixed time test databases start at: Sunday 22 November 2026,
// 10:00 UTC (GMT), in the autumn term of 2026/27.
var Epoch = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// Open returns a migrated database in a temporary folder with a fixed clock
// set to Epoch, closed when the test ends.
func Open(tb testing.TB) (*store.DB, *traded.FixedClock) {
	tb.Helper()
	clock := traded.NewFixedClock(Epoch)
	db, err := store.Open(filepath.Join(tb.TempDir(), "traded.db"), clock)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return db, clock
}
