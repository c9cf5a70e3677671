package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// maxBatch is the most write transactions committed together. Pages that
// a batch's writes share (the ends of tables and of indexes in time order)
// are written once per commit, so bigger batches write fewer pages each:
// 32 gave 13% more bookings a second than 16 at 64 connections, with a
// lower p99; 64 gave no more than 32.
const maxBatch = 32

// write is one call of Write, waiting for the writer.
type write struct {
	ctx  context.Context
	fn   func(tx *Tx) error
	err  error
	pnc  any // what fn panicked with, to panic with again in the caller
	done chan struct{}
}

// errClosed is what Write returns once Close has begun.
var errClosed = errors.New("database closed")

// Write runs fn in a write transaction on the one writer connection and
// commits if fn returns nil; if fn fails (or panics), nothing it wrote
// stays. Keep network calls out of fn.
//
// Writes are run one at a time, in the order they arrive, by one goroutine
// (see writer). Those that arrive while a commit is under way are committed
// together: each runs in a SAVEPOINT of one transaction, so each still
// stands or falls alone, and Write returns only once its changes are
// committed. A commit costs more than the rest of a booking, so sharing it
// is what lets bookings from many schools at once go through quickly.
//
// A writer waiting its turn gives up if ctx ends. Once begun, fn runs to its
// end: its statements ignore ctx's cancellation, so a client that goes away
// mid-transaction leaves it committed or rolled back, never interrupted,
// and the statements cost no goroutine each to watch the context.
func (db *DB) Write(ctx context.Context, fn func(tx *Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	w := &write{ctx: ctx, fn: fn, done: make(chan struct{})}
	select {
	case db.queue <- w:
	case <-db.closing:
		return fmt.Errorf("begin: %w", errClosed)
	case <-ctx.Done():
		return fmt.Errorf("begin: %w", ctx.Err())
	}
	<-w.done
	if w.pnc != nil {
		panic(w.pnc)
	}
	return w.err
}

// writer runs the queued writes until Close, taking each time the first
// write and all that are waiting behind it (up to maxBatch).
func (db *DB) writer() {
	defer close(db.stopped)
	for {
		var batch []*write
		select {
		case w := <-db.queue:
			batch = append(batch, w)
		case <-db.closing:
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case w := <-db.queue:
				batch = append(batch, w)
			default:
				break more
			}
		}
		db.commit(batch)
		for _, w := range batch {
			close(w.done)
		}
	}
}

// commit runs a batch of writes in one transaction, each in a savepoint,
// and sets each one's outcome.
func (db *DB) commit(batch []*write) {
	db.wl <- struct{}{}
	defer func() { <-db.wl }()
	if err := db.exec("BEGIN IMMEDIATE"); err != nil {
		for _, w := range batch {
			w.err = fmt.Errorf("begin: %w", err)
		}
		return
	}
	// With the write lock held no other process can commit until this
	// batch does: what Tx.Cached keeps is current if their commits so far
	// are counted.
	if err := db.noteExternal(context.Background(), time.Now().UnixNano()); err != nil {
		db.rollback(batch, fmt.Errorf("begin: %w", err))
		return
	}
	ok := 0
	if len(batch) == 1 { // a transaction of its own: no savepoint needed
		w := batch[0]
		if err := w.ctx.Err(); err != nil {
			w.err = fmt.Errorf("begin: %w", err)
		} else if w.err, w.pnc = db.run(w); w.err == nil && w.pnc == nil {
			ok++
		}
	} else {
		for _, w := range batch {
			if err := w.ctx.Err(); err != nil {
				w.err = fmt.Errorf("begin: %w", err)
				continue
			}
			if err := db.exec("SAVEPOINT write"); err != nil {
				w.err = fmt.Errorf("begin: %w", err)
				continue
			}
			w.err, w.pnc = db.run(w)
			if w.err == nil && w.pnc == nil {
				w.err = db.exec("RELEASE write")
				if w.err == nil {
					ok++
					continue
				}
			}
			if err := db.exec("ROLLBACK TO write"); err != nil {
				// The transaction cannot be trusted: give up the whole batch.
				db.rollback(batch, fmt.Errorf("rollback: %w", err))
				return
			}
			if err := db.exec("RELEASE write"); err != nil {
				db.rollback(batch, fmt.Errorf("rollback: %w", err))
				return
			}
		}
	}
	if ok == 0 {
		db.rollback(batch, nil)
		return
	}
	if err := db.exec("COMMIT"); err != nil {
		db.rollback(batch, fmt.Errorf("commit: %w", err))
		return
	}
	db.versions.committed()
}

// exec runs one of the writer's own statements (BEGIN, SAVEPOINT, COMMIT
// ...), prepared once like the statements of the writes.
func (db *DB) exec(query string) error {
	_, err := (&Tx{db: db}).ExecContext(context.Background(), query)
	return err
}

// run runs one write's fn, catching a panic to hand back to its caller.
func (db *DB) run(w *write) (err error, pnc any) {
	defer func() {
		if p := recover(); p != nil {
			pnc = p
		}
	}()
	return w.fn(&Tx{Now: db.Now(), db: db}), nil
}

// rollback abandons the transaction; every write that had succeeded gets
// err (a nil err leaves them alone: there were none).
func (db *DB) rollback(batch []*write, err error) {
	clear(db.versions.touched)
	_ = db.exec("ROLLBACK")
	if err == nil {
		return
	}
	for _, w := range batch {
		if w.err == nil && w.pnc == nil {
			w.err = err
		}
	}
}
