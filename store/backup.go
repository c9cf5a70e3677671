package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/mattn/go-sqlite3"
)

// Backup writes a consistent copy of the database to dest while it is in
// use: VACUUM INTO reads one snapshot (WAL readers never block the writer)
// and writes a compact, complete database file. dest must not exist.
func (db *DB) Backup(ctx context.Context, dest string) error {
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("backup: %s already exists", dest)
	}
	if dir := filepath.Dir(dest); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	}
	if _, err := db.r.ExecContext(ctx, `VACUUM INTO ?`, dest); err != nil {
		return fmt.Errorf("backup to %s: %w", dest, err)
	}
	return nil
}

// Lock is an exclusive advisory lock on a database, held by a running
// server so that nothing restores over the file it is using.
type Lock struct{ f *os.File }

// LockFile is where a database's lock lives.
func LockFile(path string) string { return path + ".lock" }

// AcquireLock takes the database's lock, failing at once if another process
// holds it.
func AcquireLock(path string) (*Lock, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(LockFile(path), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("database %s is in use by a running Traded (lock held): stop it first", path)
	}
	return &Lock{f: f}, nil
}

// Release lets the lock go.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	return l.f.Close()
}

// Restore replaces the database at dest with the backup src. It refuses
// while a server holds dest's lock, and checks the backup first: it must be
// an SQLite database that passes integrity_check and has Traded's schema.
// The copy goes to a temporary file and is renamed into place, and dest's
// old WAL and shared-memory files are removed, so a crash leaves either the
// old database or the new one.
func Restore(ctx context.Context, src, dest string) error {
	lock, err := AcquireLock(dest)
	if err != nil {
		return err
	}
	defer lock.Release()
	if err := checkBackup(ctx, src); err != nil {
		return err
	}
	tmp := dest + ".restoring"
	if err := copyFile(src, tmp); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(dest + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			os.Remove(tmp)
			return fmt.Errorf("restore: %w", err)
		}
	}
	if err := os.Rename(tmp, dest); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}

func checkBackup(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil {
		var se sqlite3.Error
		if errors.As(err, &se) {
			return fmt.Errorf("restore: %s is not a database: %w", path, err)
		}
		return fmt.Errorf("restore: %w", err)
	}
	if check != "ok" {
		return fmt.Errorf("restore: %s fails its integrity check: %s", path, check)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n == 0 {
		return fmt.Errorf("restore: %s is not a Traded database", path)
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
