package store

import (
	"context"
	"time"
)

// checkpointEvery is how often the checkpointer copies the write-ahead log
// into the database file.
const checkpointEvery = 250 * time.Millisecond

// checkpointer copies committed pages from the write-ahead log into the
// database file, on a reader connection of its own, until Close. SQLite
// would otherwise do it inside whichever COMMIT takes the log past 1,000
// pages, holding up every write queued behind that one: a stall of tens of
// milliseconds a few times a second under load. PASSIVE never waits for
// readers or the writer; what it cannot copy now it copies next time.
//
// SQLite starts the log again from the top only when a write begins with
// every page copied and no reader still in the log, which under steady
// writes does not happen, so the log grows until they pause. Forcing it
// (RESTART, from the writer) was tried: it stalled the writer 10-16 ms each
// time, waiting in SQLite's busy handler for readers to leave the log, and
// made the booking p99 worse than the growth it saved.
func (db *DB) checkpointer() {
	defer close(db.checkpointed)
	ctx := context.Background()
	conn, err := db.r.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-db.closing:
			return
		case <-t.C:
			_, _ = conn.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
		}
	}
}
