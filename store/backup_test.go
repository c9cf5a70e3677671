package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"traded/store"
	"traded/store/storetest"
)

// TestBackup_UnderLoad takes a backup while writers are busy, restores it
// and checks it: a whole database, every row it holds complete.
func TestBackup_UnderLoad(t *testing.T) {
	db, _ := storetest.Open(t)
	ctx := context.Background()
	stop := make(chan struct{})
	var written atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				err := db.Write(ctx, func(tx *store.Tx) error {
					// Two rows per transaction: a backup must have both or neither.
					if err := tx.Audit(ctx, store.System, "load.a", "w", fmt.Sprint(w), fmt.Sprint(i)); err != nil {
						return err
					}
					return tx.Audit(ctx, store.System, "load.b", "w", fmt.Sprint(w), fmt.Sprint(i))
				})
				if err != nil {
					t.Error(err)
					return
				}
				written.Add(1)
			}
		}(w)
	}
	time.Sleep(100 * time.Millisecond)
	dir := t.TempDir()
	backup := filepath.Join(dir, "backup.db")
	if err := db.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	if written.Load() == 0 {
		t.Fatal("no writes happened during the backup")
	}
	if err := db.Backup(ctx, backup); err == nil {
		t.Error("backing up over an existing file succeeded")
	}

	restored := filepath.Join(dir, "restored.db")
	if err := store.Restore(ctx, backup, restored); err != nil {
		t.Fatal(err)
	}
	rdb, err := store.Open(restored, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	var check string
	var a, b, total int
	rdb.Read().QueryRow(`PRAGMA integrity_check`).Scan(&check)
	rdb.Read().QueryRow(`SELECT count(*) FROM audit_log WHERE action = 'load.a'`).Scan(&a)
	rdb.Read().QueryRow(`SELECT count(*) FROM audit_log WHERE action = 'load.b'`).Scan(&b)
	rdb.Read().QueryRow(`SELECT count(*) FROM prices`).Scan(&total)
	if check != "ok" || a != b || a == 0 || total < 18 {
		t.Errorf("restored: integrity %q, %d and %d halves of transactions, %d prices", check, a, b, total)
	}
	if int64(a) > written.Load() {
		t.Errorf("backup holds %d transactions, more than the %d written", a, written.Load())
	}
}

func TestRestore_RefusesLiveDatabase(t *testing.T) {
	db, _ := storetest.Open(t)
	ctx := context.Background()
	backup := filepath.Join(t.TempDir(), "b.db")
	if err := db.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	lock, err := store.AcquireLock(db.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Restore(ctx, backup, db.Path); err == nil {
		t.Error("restored over a database whose lock a server holds")
	}
	lock.Release()
	junk := filepath.Join(t.TempDir(), "junk.db")
	if err := store.Restore(ctx, junk, filepath.Join(t.TempDir(), "x.db")); err == nil {
		t.Error("restored from a file that does not exist")
	}
}
