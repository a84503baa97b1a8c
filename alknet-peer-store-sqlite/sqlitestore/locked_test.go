package sqlitestore_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-peer-store-sqlite/sqlitestore"
)

// Spec §12 "locked database" and §5.3 step 3: another process holds the file in
// locking_mode=EXCLUSIVE, so Open fails with STORE_BUSY naming the file, and leaves it as it was;
// once the lock is gone, the store opens and still holds its data.
func TestOpenLockedExclusive(t *testing.T) {
	t.Parallel()
	p := storePath(t)
	s := open(t, sqlitestore.Options{Path: p, Create: true, DisableWatch: true})
	if err := s.Identities().PutPeer(t.Context(), peer("keep", fp(1))); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()

	db := plainDB(t, p, false)
	if _, err := db.Exec("PRAGMA locking_mode = EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	// The exclusive lock is taken by the first write and then kept until the connection closes.
	if _, err := db.Exec("UPDATE store_meta SET value = value WHERE key = 'store_id'"); err != nil {
		t.Fatal(err)
	}
	before := fileHash(t, p)
	_, err := sqlitestore.Open(t.Context(), sqlitestore.Options{Path: p, BusyTimeout: 100 * time.Millisecond, DisableWatch: true})
	wantCode(t, err, sqlitestore.CodeBusy)
	if ae, ok := errors.AsType[*alkerr.Error](err); !ok || !strings.Contains(ae.Message, p) {
		t.Errorf("STORE_BUSY message does not name %s: %v", p, err)
	}
	if fileHash(t, p) != before {
		t.Errorf("a store that could not be opened was modified")
	}
	_ = db.Close()
	s2 := open(t, sqlitestore.Options{Path: p, DisableWatch: true})
	if _, ok := resolves(s2, fp(1)); !ok {
		t.Errorf("peer lost after the lock was released")
	}
}

// PSTORE-R26: a backup that cannot be written aborts the migration: Open returns STORE_BACKEND,
// the migration is rolled back (the store stays at version 1 with its data) and no backup file is
// left behind. The directory is made unwritable while another connection keeps the WAL files
// open: with permission bits when not root, with the immutable attribute (chattr +i) as root.
func TestMigrationBackupFailure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "peers.db")
	s := open(t, sqlitestore.Options{Path: p, Create: true, DisableWatch: true})
	if err := s.Identities().PutPeer(t.Context(), peer("keep", fp(1))); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	hold := plainDB(t, p, false) // keeps -wal and -shm in place while the directory is locked
	if _, err := hold.Exec("SELECT count(*) FROM peers"); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
			t.Skipf("cannot make the directory immutable here: %v %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("chattr", "-i", dir).Run() })
	} else {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	}
	o := sqlitestore.WithMigration(sqlitestore.Options{Path: p, AutoMigrate: true, DisableWatch: true}, 2, "notes",
		"CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);")
	_, err := sqlitestore.Open(t.Context(), o)
	wantCode(t, err, alkerr.CodeStoreBackend)
	if ae, ok := errors.AsType[*alkerr.Error](err); !ok || !strings.Contains(ae.Message, "backup") {
		t.Errorf("message does not say the backup failed: %v", err)
	}
	var v, notes int
	if err := hold.QueryRow("SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil || v != 1 {
		t.Errorf("schema version after a failed backup = %d, %v; want 1", v, err)
	}
	if err := hold.QueryRow("SELECT count(*) FROM sqlite_schema WHERE name = 'notes'").Scan(&notes); err != nil || notes != 0 {
		t.Errorf("migration applied without its backup (%d, %v)", notes, err)
	}
	if baks, _ := filepath.Glob(p + ".bak-*"); len(baks) != 0 {
		t.Errorf("partial backup left behind: %v", baks)
	}
}
