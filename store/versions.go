package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"
)

// versions counts the committed changes to each table, so the web layer can
// cache what it renders from tables that seldom change (the programme, the
// tariff) and know, cheaply and exactly, when a cached copy is stale.
//
// The writer connection's update hook notes each table a transaction
// changes; the counts go up only after COMMIT, so a reader that sees the
// new count also sees the new rows. Changes made by another process on the
// same file (a `traded` command run beside the server) are noticed through
// SQLite's data_version, checked at most once a second, and count as a
// change to every table.
type versions struct {
	mu      sync.Mutex
	counts  map[string]*atomic.Uint64
	touched map[string]int // rows changed per table by the transaction running; only with DB.wl held

	external  atomic.Uint64 // changes by other processes
	checkedAt atomic.Int64  // unix nanoseconds of the last data_version check
	dataVer   int64         // the writer connection's data_version then; only with DB.wl held
}

func newVersions() *versions {
	return &versions{counts: map[string]*atomic.Uint64{}, touched: map[string]int{}}
}

// hook registers the update hook on the writer connection.
func (v *versions) hook(ctx context.Context, wc interface {
	Raw(func(any) error) error
}) error {
	return wc.Raw(func(dc any) error {
		c, ok := dc.(*sqlite3.SQLiteConn)
		if !ok {
			return fmt.Errorf("writer connection is a %T, not go-sqlite3's", dc)
		}
		c.RegisterUpdateHook(func(_ int, _ string, table string, _ int64) { v.touched[table]++ })
		return nil
	})
}

func (v *versions) count(table string) *atomic.Uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	c := v.counts[table]
	if c == nil {
		c = new(atomic.Uint64)
		v.counts[table] = c
	}
	return c
}

// committed counts the tables the transaction just committed changed.
func (v *versions) committed() {
	for t := range v.touched {
		v.count(t).Add(1)
	}
	clear(v.touched)
}

// Version returns a number that changes whenever a committed change to any
// of tables becomes visible to readers, whoever made it (see versions).
// Cache what is read from those tables under it: read the version first,
// then the data.
func (db *DB) Version(ctx context.Context, tables ...string) uint64 {
	v := db.versions
	if now := time.Now().UnixNano(); now-v.checkedAt.Load() > int64(time.Second) {
		db.checkExternal(ctx, now)
	}
	n := v.external.Load()
	for _, t := range tables {
		n += v.count(t).Load()
	}
	return n
}

// checkExternal notices commits by other processes: the writer
// connection's data_version changes when another connection commits. It
// skips the check when the writer is busy (the next call makes it).
func (db *DB) checkExternal(ctx context.Context, now int64) {
	select {
	case db.wl <- struct{}{}:
	default:
		return
	}
	defer func() { <-db.wl }()
	_ = db.noteExternal(ctx, now)
}

// noteExternal counts a change by another process if the writer
// connection's data_version has moved since it last looked; only with wl
// held.
func (db *DB) noteExternal(ctx context.Context, now int64) error {
	var dv int64
	if err := (&Tx{db: db}).QueryRowContext(context.WithoutCancel(ctx), `PRAGMA data_version`).Scan(&dv); err != nil {
		return err
	}
	v := db.versions
	if v.checkedAt.Load() != 0 && dv != v.dataVer {
		v.external.Add(1)
	}
	v.dataVer = dv
	v.checkedAt.Store(now)
	return nil
}

// maxCached bounds the writer's cache (see Cached); past it, the cache
// starts again empty.
const maxCached = 10000

// Cached returns what load returns for key, calling load only when one of
// tables has changed since it last did: for rows nearly every write reads
// and few change (a school, the current price list, a product). A value is
// kept across transactions until a transaction, in this process or
// another, commits a change to one of tables.
//
// Once the transaction running has changed one of tables, load is called
// every time and nothing is kept: until it commits, that change may yet be
// undone (its savepoint, or the whole batch, rolled back). Changes by other
// processes are noticed exactly: each batch checks SQLite's data_version
// once it holds the write lock, before any write reads. What load returns
// must not be modified by its callers.
func (tx *Tx) Cached(key string, tables []string, load func() (any, error)) (any, error) {
	v := tx.db.versions
	for _, t := range tables {
		if v.touched[t] > 0 {
			return load()
		}
	}
	stamp := v.external.Load()
	for _, t := range tables {
		stamp += v.count(t).Load()
	}
	if c, ok := tx.db.cached[key]; ok && c.stamp == stamp {
		return c.value, nil
	}
	val, err := load()
	if err != nil {
		return nil, err
	}
	if len(tx.db.cached) >= maxCached {
		clear(tx.db.cached)
	}
	tx.db.cached[key] = cached{stamp: stamp, value: val}
	return val, nil
}

// cached is a value Cached keeps, with the version of its tables then.
type cached struct {
	stamp uint64
	value any
}
