package store

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// CheckWritable writes one row (store_health) and reports whether it could:
// a database that opens but cannot be written (a read-only file or folder,
// a full disk, a lock held elsewhere for longer than busy_timeout) fails
// here, at start and on /healthz, not at the first booking. Results are
// kept for healthEvery, so a health check polled often costs one small
// write every few seconds at most.
func (db *DB) CheckWritable(ctx context.Context) error {
	db.health.Lock()
	defer db.health.Unlock()
	now := time.Now()
	if !db.health.at.IsZero() && now.Sub(db.health.at) < healthEvery {
		return db.health.err
	}
	err := db.Write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO store_health (id, checked_at) VALUES (1, ?)
			ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`, FormatTime(tx.Now))
		return err
	})
	if err != nil {
		err = fmt.Errorf("the database %s cannot be written: %w", db.Path, err)
	}
	if ctx.Err() == nil { // a caller that gave up learns nothing about the database
		db.health.at, db.health.err = now, err
	}
	return err
}

// healthEvery is how long CheckWritable's answer stands.
const healthEvery = 5 * time.Second

// healthState is CheckWritable's last answer.
type healthState struct {
	sync.Mutex
	at  time.Time
	err error
}
