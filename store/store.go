package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"

	"traded"
	"traded/migrations"
)

// TimeFormat is how instants are stored: UTC, to the second, sortable as text.
const TimeFormat = "2006-01-02T15:04:05Z"

// DateFormat is how calendar dates are stored.
const DateFormat = "2006-01-02"

// DB is an open Traded database.
type DB struct {
	Path  string
	Clock traded.Clock

	w      *sql.DB   // the writer pool, of one connection, held by wc
	wc     *sql.Conn // every write goes through it, in turn
	wl     chan struct{}
	ws     map[string]*sql.Stmt // wc's prepared statements; only with wl held
	cached map[string]cached    // see Tx.Cached; only with wl held
	r      *sql.DB              // readers, concurrent with the writer thanks to WAL
	rs     *Reader

	versions     *versions
	queue        chan *write   // to the writer goroutine
	closing      chan struct{} // closed by Close
	stopped      chan struct{} // closed when the writer goroutine has returned
	checkpointed chan struct{} // closed when the checkpointer has returned

	closeOnce sync.Once
	closeErr  error

	health healthState // CheckWritable's last answer
}

// Open opens (creating it and its folder if need be) the database at path.
// It does not migrate: call Migrate.
func Open(path string, clock traded.Clock) (*DB, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("open database: %q: give a file path", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
	}
	// Pragmas are per connection, so they go in the DSN, never a one-off Exec.
	common := "_busy_timeout=5000&_foreign_keys=on&_journal_mode=WAL&_synchronous=NORMAL"
	w, err := sql.Open("sqlite3", "file:"+url.PathEscape(path)+"?"+common)
	if err != nil {
		return nil, fmt.Errorf("open database writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	wc, err := w.Conn(context.Background())
	if err == nil {
		// Each write in a batch runs in a savepoint, whose undo record
		// SQLite would otherwise spill to a temporary file past 64 KiB.
		_, err = wc.ExecContext(context.Background(), "PRAGMA temp_store = MEMORY")
	}
	if err == nil {
		// The checkpointer goroutine does it, off the writer's path.
		_, err = wc.ExecContext(context.Background(), "PRAGMA wal_autocheckpoint = 0")
	}
	if err == nil {
		// Under steady writes the log cannot start again from the top (see
		// checkpointer) and grows: past 1 GB in the 20-second booking
		// benchmark. It starts again once writes pause; the file is then
		// cut back to 64 MB rather than kept at its largest.
		_, err = wc.ExecContext(context.Background(), "PRAGMA journal_size_limit = 67108864")
	}
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	r, err := sql.Open("sqlite3", "file:"+url.PathEscape(path)+"?_txlock=deferred&"+common)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open database reader: %w", err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	r.SetConnMaxIdleTime(0)
	if clock == nil {
		clock = traded.SystemClock{}
	}
	db := &DB{Path: path, Clock: clock, w: w, wc: wc, wl: make(chan struct{}, 1), ws: map[string]*sql.Stmt{}, cached: map[string]cached{},
		r: r, rs: &Reader{DB: r, stmts: newStmtCache(r)}, versions: newVersions(),
		queue: make(chan *write), closing: make(chan struct{}), stopped: make(chan struct{}), checkpointed: make(chan struct{})}
	go db.writer()
	go db.checkpointer()
	if err := db.versions.hook(context.Background(), wc); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

// Close stops the writer and the checkpointer and closes both pools. Writes
// after Close fail; calling it again does nothing.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		close(db.closing)
		<-db.stopped
		<-db.checkpointed
		db.wl <- struct{}{}
		for _, st := range db.ws {
			st.Close()
		}
		clear(db.ws)
		db.rs.stmts.close()
		db.closeErr = errors.Join(db.r.Close(), db.wc.Close(), db.w.Close())
	})
	return db.closeErr
}

// Now returns the clock's time, in UTC, to the second.
func (db *DB) Now() time.Time { return db.Clock.Now().UTC().Truncate(time.Second) }

// Tx is a write transaction. Now is the clock read once when it began, so
// every row a transaction stamps carries the same instant.
type Tx struct {
	Now time.Time

	db   *DB
	rows map[string]*sql.Rows // the rows last handed out per prepared query
}

// Read returns the reader pool for queries. Use it for anything that does
// not write; it never blocks behind the writer.
func (db *DB) Read() *Reader { return db.rs }

// Migrate applies, in name order, each embedded migration not yet recorded,
// each in its own transaction, and returns the names it applied.
func (db *DB) Migrate(ctx context.Context) ([]string, error) { return db.MigrateTo(ctx, "") }

// MigrateTo is Migrate stopping after the migration named last ("" for
// all): tests use it to build a database as an older release left it.
func (db *DB) MigrateTo(ctx context.Context, last string) ([]string, error) {
	err := db.Write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	sort.Strings(names)
	var applied []string
	for _, name := range names {
		body, err := migrations.FS.ReadFile(name)
		if err != nil {
			return applied, fmt.Errorf("migrate %s: %w", name, err)
		}
		done := false
		err = db.Write(ctx, func(tx *Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, FormatTime(tx.Now)); err != nil {
				return err
			}
			done = true
			return nil
		})
		if err != nil {
			return applied, fmt.Errorf("migrate %s: %w", name, err)
		}
		if done {
			applied = append(applied, name)
		}
		if name == last {
			break
		}
	}
	return applied, nil
}

// FormatTime returns t as stored: UTC, RFC 3339, to the second.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// ParseTime reads an instant as stored.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(TimeFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t, nil
}

// MustTime reads an instant that the database wrote; a malformed one is a
// corrupt database, reported as the zero time.
func MustTime(s string) time.Time {
	t, _ := ParseTime(s)
	return t
}

// IsUniqueViolation reports whether err is SQLite refusing a duplicate key.
func IsUniqueViolation(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrConstraint &&
		(se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey)
}

// Audit records one state change in the audit log, inside the transaction
// that makes the change, so the two stand or fall together.
func (tx *Tx) Audit(ctx context.Context, a Actor, action, entity, entityID, detail string) error {
	var id any
	if a.UserID != 0 {
		id = a.UserID
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, actor_id, actor, action, entity, entity_id, detail, remote_addr)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, FormatTime(tx.Now), id, a.Label(), action, entity, entityID, detail, a.RemoteAddr)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// Actor is who made a change: a signed-in user, or an admin command run on
// the server ("cli"), or the system itself (the demo loader, a worker).
type Actor struct {
	UserID     int64
	Name       string // email of a user, or "cli", "system"
	RemoteAddr string
}

// Label is how the audit log names the actor.
func (a Actor) Label() string {
	if a.Name == "" {
		return "system"
	}
	return a.Name
}

// System is the actor for changes Traded makes on its own.
var System = Actor{Name: "system"}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID         int64
	At         time.Time
	Actor      string
	Action     string
	Entity     string
	EntityID   string
	Detail     string
	RemoteAddr string
}

// AuditFilter selects audit entries. Empty fields do not filter.
type AuditFilter struct {
	Action   string // a prefix: "sign_in" matches sign_in and sign_in.failed
	Actor    string // a substring of the actor
	BeforeID int64  // entries older than this id, for paging back
	Limit    int    // 0 means 50; at most 500
	Offset   int    // entries to skip, for a numbered page
}

// FindAudit returns audit entries, newest first: at most f.Limit of them,
// after skipping f.Offset.
func (db *DB) FindAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.Action != "" {
		where, args = append(where, "action LIKE ? ESCAPE '\\'"), append(args, EscapeLike(f.Action)+"%")
	}
	if f.Actor != "" {
		where, args = append(where, "actor LIKE ? ESCAPE '\\'"), append(args, "%"+EscapeLike(f.Actor)+"%")
	}
	if f.BeforeID > 0 {
		where, args = append(where, "id < ?"), append(args, f.BeforeID)
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	rows, err := db.rs.QueryContext(ctx, `SELECT id, at, actor, action, entity, entity_id, detail, remote_addr FROM audit_log
		WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ? OFFSET ?`, append(args, limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, fmt.Errorf("find audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Entity, &e.EntityID, &e.Detail, &e.RemoteAddr); err != nil {
			return nil, fmt.Errorf("find audit: %w", err)
		}
		e.At = MustTime(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// EscapeLike escapes s for a LIKE pattern written with ESCAPE '\': its
// %, _ and \ match themselves.
func EscapeLike(s string) string { return likeEscaper.Replace(s) }

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// Queryer is what reads run on: the reader pool (DB.Read) or a
// transaction, so one finder serves both.
type Queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// NextNumber takes the next number of the named series (number_series: the
// invoice, credit note, booking and consultancy references) in tx, and
// returns it formatted with the series' prefix ("INV-000042") and bare. The
// series has no gaps: a transaction that rolls back gives its number back.
func (tx *Tx) NextNumber(ctx context.Context, series string) (string, int64, error) {
	var prefix string
	var n int64
	if err := tx.QueryRowContext(ctx, `UPDATE number_series SET next = next + 1 WHERE name = ? RETURNING prefix, next - 1`, series).Scan(&prefix, &n); err != nil {
		return "", 0, fmt.Errorf("number series %s: %w", series, err)
	}
	return fmt.Sprintf("%s%06d", prefix, n), n, nil
}
