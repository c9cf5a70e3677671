package store

import (
	"context"
	"database/sql"
	"strings"
	"sync"
)

// maxCachedStatements bounds each pool's statement cache. Traded's queries
// are constant strings, or built from a few fixed fragments, so a few
// hundred cover them; a query met after the cache is full simply runs
// unprepared.
const maxCachedStatements = 512

// stmtCache keeps the reader pool's prepared statements, one per query
// text, so a query is compiled by SQLite once per connection instead of on
// every call: profiling the booking transaction showed statement
// preparation was a third of its CPU. (The writer keeps its own, in DB.ws.)
type stmtCache struct {
	pool  *sql.DB
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, stmts: map[string]*sql.Stmt{}}
}

// cacheable reports whether query is one statement. A prepared statement
// runs only the first statement of a script (a migration, say).
func cacheable(query string) bool {
	return !strings.Contains(strings.TrimRight(query, "; \t\r\n"), ";")
}

// prepare returns query's prepared statement, preparing it now if need be;
// nil if it cannot be cached.
func (c *stmtCache) prepare(ctx context.Context, query string) *sql.Stmt {
	c.mu.Lock()
	st, full := c.stmts[query], len(c.stmts) >= maxCachedStatements
	c.mu.Unlock()
	if st != nil || full || !cacheable(query) {
		return st
	}
	st, err := c.pool.PrepareContext(ctx, query)
	if err != nil {
		return nil // the caller runs the query itself and reports its error
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prior := c.stmts[query]; prior != nil {
		st.Close()
		return prior
	}
	c.stmts[query] = st
	return st
}

// close closes every cached statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		st.Close()
		delete(c.stmts, q)
	}
}

// Reader is the reader pool. Its queries go through prepared statements;
// everything else is *sql.DB's.
type Reader struct {
	*sql.DB
	stmts *stmtCache
}

// QueryContext runs a query through its prepared statement.
func (r *Reader) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := r.stmts.prepare(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return r.DB.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a one-row query through its prepared statement.
func (r *Reader) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := r.stmts.prepare(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return r.DB.QueryRowContext(ctx, query, args...)
}

// stmt returns query's prepared statement on the writer connection, or nil
// to run it unprepared. Running a statement again while rows of it are
// open would reset those rows, so while the rows QueryContext last handed
// out for a query are open, that query runs unprepared.
func (tx *Tx) stmt(ctx context.Context, query string) *sql.Stmt {
	if rows := tx.rows[query]; rows != nil {
		if _, err := rows.Columns(); err == nil {
			return nil // still open
		}
		delete(tx.rows, query)
	}
	if st := tx.db.ws[query]; st != nil {
		return st
	}
	if len(tx.db.ws) >= maxCachedStatements || !cacheable(query) {
		return nil
	}
	st, err := tx.db.wc.PrepareContext(ctx, query)
	if err != nil {
		return nil // run unprepared, to report the error as the caller expects
	}
	tx.db.ws[query] = st
	return st
}

// ExecContext runs a statement through its prepared statement.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = context.WithoutCancel(ctx)
	if st := tx.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.db.wc.ExecContext(ctx, query, args...)
}

// QueryContext runs a query through its prepared statement.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = context.WithoutCancel(ctx)
	if st := tx.stmt(ctx, query); st != nil {
		rows, err := st.QueryContext(ctx, args...)
		if err == nil {
			if tx.rows == nil {
				tx.rows = map[string]*sql.Rows{}
			}
			tx.rows[query] = rows
		}
		return rows, err
	}
	return tx.db.wc.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a one-row query through its prepared statement.
// Its rows close when the row is scanned, before anything else can run.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = context.WithoutCancel(ctx)
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.db.wc.QueryRowContext(ctx, query, args...)
}

// StablePlans reports whether SQLite was built with SQLITE_ENABLE_QPSG, as
// `make` builds it (CGO_CFLAGS in the Makefile). Without it, SQLite 3.54
// marks a statement with `col = ?` terms to be planned again whenever its
// bindings are cleared, and go-sqlite3 clears them before every execution,
// so each prepared statement is compiled afresh on every use: the booking
// transaction ran at about 1,100 a second instead of 2,000. The stability
// guarantee turns off those value-dependent plans (which Traded does not
// need), so a statement is compiled once.
func (db *DB) StablePlans(ctx context.Context) (bool, error) {
	var on bool
	err := db.rs.QueryRowContext(ctx, `SELECT sqlite_compileoption_used('ENABLE_QPSG')`).Scan(&on)
	return on, err
}
