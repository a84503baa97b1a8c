package sqlitestore_test

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/store"
	"github.com/alknet/alknet/alknet-peer-store-sqlite/sqlitestore"
	"github.com/mattn/go-sqlite3"
)

// plainDB opens a plain database/sql connection to path, like a hand edit with the sqlite3
// shell (foreign keys off unless asked for).
func plainDB(t testing.TB, path string, fk bool) *sql.DB {
	t.Helper()
	dsn := "file:" + path + "?_busy_timeout=10000"
	if fk {
		dsn += "&_foreign_keys=1"
	}
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func fileHash(t testing.TB, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func mode(t testing.TB, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// PSTORE-T1
func TestOpenCreatesSecureWALStore(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "missing", "dir")
	p := filepath.Join(dir, "peers.db")
	s := open(t, sqlitestore.Options{Path: p, Create: true})
	if got := mode(t, dir); got != 0o700 {
		t.Errorf("directory mode = %v, want 0700", got)
	}
	if got := mode(t, p); got != 0o600 {
		t.Errorf("file mode = %v, want 0600", got)
	}
	// A write makes sure -wal and -shm exist.
	if err := s.Identities().PutPeer(t.Context(), peer("a", fp(1))); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if got := mode(t, p+suffix); got != 0o600 {
			t.Errorf("%s mode = %v, want 0600", suffix, got)
		}
	}
	check := func(name string, db *sql.DB, n int) {
		conns := make([]*sql.Conn, n)
		for i := range conns {
			c, err := db.Conn(t.Context())
			if err != nil {
				t.Fatalf("%s conn %d: %v", name, i, err)
			}
			conns[i] = c
		}
		if name == "reader" {
			conns = append(conns, sqlitestore.WatcherConn(s))
		}
		for i, c := range conns {
			var app, fk, sync int
			var jm string
			if err := c.QueryRowContext(t.Context(), "PRAGMA application_id").Scan(&app); err != nil {
				t.Fatal(err)
			}
			_ = c.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&jm)
			_ = c.QueryRowContext(t.Context(), "PRAGMA foreign_keys").Scan(&fk)
			_ = c.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&sync)
			if app != 1634495342 || jm != "wal" || fk != 1 || sync != 2 {
				t.Errorf("%s conn %d: application_id=%d journal_mode=%s foreign_keys=%d synchronous=%d", name, i, app, jm, fk, sync)
			}
		}
		for _, c := range conns[:n] {
			_ = c.Close()
		}
	}
	// The watcher pins one reader connection; the other three are taken here, and the
	// watcher's own settings are the pool's (same connector).
	check("reader", sqlitestore.ReaderDB(s), 3)
	check("writer", sqlitestore.WriterDB(s), 1)
	in, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if in.SchemaVersion != 1 || len(in.StoreID) != 32 || in.CredentialKeyVersion != 2 {
		t.Errorf("Info = %+v", in)
	}
	gens := s.Stats().Generations
	if gens[sqlitestore.ChannelAPIKeys] != 0 || gens[sqlitestore.ChannelCredentials] != 0 {
		t.Errorf("generations = %v, want api_keys and credentials at 0", gens)
	}
}

// PSTORE-T2
func TestOpenWithoutCreate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nodir")
	_, err := sqlitestore.Open(t.Context(), sqlitestore.Options{Path: filepath.Join(dir, "peers.db")})
	wantCode(t, err, sqlitestore.CodeNotInitialized)
	if !errors.Is(err, store.ErrBackend) {
		t.Errorf("errors.Is(err, store.ErrBackend) = false")
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("parent directory was created")
	}
	empty := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = sqlitestore.Open(t.Context(), sqlitestore.Options{Path: empty})
	wantCode(t, err, sqlitestore.CodeNotInitialized)
	if fi, _ := os.Stat(empty); fi.Size() != 0 {
		t.Errorf("zero-byte file grew to %d bytes", fi.Size())
	}
}

// PSTORE-T3
func TestReopenIsIdempotent(t *testing.T) {
	t.Parallel()
	p := storePath(t)
	s1 := open(t, sqlitestore.Options{Path: p, Create: true})
	in1, err := s1.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	_ = s1.Close()
	s2 := open(t, sqlitestore.Options{Path: p, Create: true, AutoMigrate: true})
	in2, err := s2.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if in1.StoreID != in2.StoreID || in2.SchemaVersion != 1 {
		t.Errorf("reopen: store id %s → %s, version %d", in1.StoreID, in2.StoreID, in2.SchemaVersion)
	}
	var n int
	if err := sqlitestore.ReaderDB(s2).QueryRow("SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != 1 {
		t.Errorf("schema_migrations rows = %d, %v; want 1", n, err)
	}
}

// PSTORE-T4
func TestSchemaTooNew(t *testing.T) {
	t.Parallel()
	p := storePath(t)
	s := open(t, sqlitestore.Options{Path: p, Create: true})
	_ = s.Close()
	db := plainDB(t, p, false)
	if _, err := db.Exec("INSERT INTO schema_migrations VALUES (99, 'future', 0, 'v99')"); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	before := fileHash(t, p)
	_, err := sqlitestore.Open(t.Context(), sqlitestore.Options{Path: p, AutoMigrate: true})
	wantCode(t, err, sqlitestore.CodeSchemaTooNew)
	if fileHash(t, p) != before {
		t.Errorf("file changed after a refused open")
	}
}

const migration2 = `ALTER TABLE peers ADD COLUMN notes TEXT;`

// PSTORE-T5
func TestMigrationTakesBackup(t *testing.T) {
	t.Parallel()
	p := storePath(t)
	s := open(t, sqlitestore.Options{Path: p, Create: true})
	if err := s.Identities().PutPeer(t.Context(), peer("worker-a", fp(1))); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()

	// Without AutoMigrate: outdated.
	_, err := sqlitestore.Open(t.Context(), sqlitestore.WithMigration(sqlitestore.Options{Path: p}, 2, "notes", migration2))
	wantCode(t, err, sqlitestore.CodeSchemaOutdated)

	s2 := open(t, sqlitestore.WithMigration(sqlitestore.Options{Path: p, AutoMigrate: true}, 2, "notes", migration2))
	in, err := s2.Info(t.Context())
	if err != nil || in.SchemaVersion != 2 {
		t.Fatalf("Info = %+v, %v; want version 2", in, err)
	}
	backups, _ := filepath.Glob(p + ".bak-v1-*")
	if len(backups) != 1 {
		t.Fatalf("backups = %v, want one", backups)
	}
	if got := mode(t, backups[0]); got != 0o600 {
		t.Errorf("backup mode = %v, want 0600", got)
	}
	b := open(t, sqlitestore.Options{Path: backups[0], ReadOnly: true})
	if _, ok := resolves(b, fp(1)); !ok {
		t.Errorf("backup does not hold worker-a")
	}
	bin, err := b.Info(t.Context())
	if err != nil || bin.SchemaVersion != 1 || bin.StoreID != in.StoreID {
		t.Errorf("backup Info = %+v, %v", bin, err)
	}
}

// PSTORE-T5 (two processes): two helpers migrating at once apply migration 2 once and leave
// exactly one backup.
func TestMigrationConcurrentProcesses(t *testing.T) {
	t.Parallel()
	p := storePath(t)
	s := open(t, sqlitestore.Options{Path: p, Create: true})
	if err := s.Identities().PutPeer(t.Context(), peer("worker-a", fp(1))); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	a := startHelper(t, "migrate", p, migration2, 0)
	b := startHelper(t, "migrate", p, migration2, 0)
	a.wait(t)
	b.wait(t)
	backups, _ := filepath.Glob(p + ".bak-v1-*")
	if len(backups) != 1 {
		t.Fatalf("backups = %v, want exactly one", backups)
	}
	db := plainDB(t, p, false)
	var n int
	if err := db.QueryRow("SELECT count(*) FROM schema_migrations WHERE version = 2").Scan(&n); err != nil || n != 1 {
		t.Errorf("migration 2 rows = %d, %v; want 1", n, err)
	}
}

// PSTORE-T6
func TestAwkwardPaths(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"a b.db", "a#b.db", "a?b.db", "a%b.db", "a%20b.db", "a&b.db"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, name)
			s := open(t, sqlitestore.Options{Path: p, Create: true, DisableWatch: true})
			if err := s.Identities().PutPeer(t.Context(), peer("a", fp(1))); err != nil {
				t.Fatal(err)
			}
			_ = s.Close()
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if !slices.Contains(names, name) {
				t.Fatalf("directory holds %v, want %q", names, name)
			}
			for _, n := range names {
				if n != name && !strings.HasPrefix(n, name+"-") {
					t.Errorf("unexpected file %q", n)
				}
			}
			s2 := open(t, sqlitestore.Options{Path: p, DisableWatch: true})
			if _, ok := resolves(s2, fp(1)); !ok {
				t.Errorf("reopened store lost its peer")
			}
		})
	}
}

// PSTORE-T30
func TestCorruptPage(t *testing.T) {
	t.Parallel()
	p := storePath(t)
	s := open(t, sqlitestore.Options{Path: p, Create: true})
	for i := range 20 {
		if err := s.Identities().PutPeer(t.Context(), peer("p"+string(rune('a'+i)), fp(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := int(b[16])<<8 | int(b[17])
	if pageSize == 1 {
		pageSize = 65536
	}
	if len(b) < 2*pageSize {
		t.Fatalf("file has %d bytes, page size %d: page 2 is not in the main file", len(b), pageSize)
	}
	for i := pageSize; i < 2*pageSize; i++ {
		b[i] = 0xA5
	}
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	before := fileHash(t, p)
	_, err = sqlitestore.Open(t.Context(), sqlitestore.Options{Path: p})
	wantCode(t, err, sqlitestore.CodeCorrupt)
	var ae *alkerr.Error
	if !errors.As(err, &ae) || !strings.Contains(ae.Message, p) {
		t.Errorf("message %q does not name %s", ae.Message, p)
	}
	if fileHash(t, p) != before {
		t.Errorf("corrupt file was modified")
	}
}

// PSTORE-T31
func TestNotAStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not sqlite "), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := sqlitestore.Open(t.Context(), sqlitestore.Options{Path: garbage})
	wantCode(t, err, sqlitestore.CodeCorrupt)

	foreign := filepath.Join(dir, "foreign.db")
	if err := os.WriteFile(foreign, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	db := plainDB(t, foreign, false)
	if _, err := db.Exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	before := fileHash(t, foreign)
	_, err = sqlitestore.Open(t.Context(), sqlitestore.Options{Path: foreign, Create: true, AutoMigrate: true})
	wantCode(t, err, sqlitestore.CodeForeign)
	if fileHash(t, foreign) != before {
		t.Errorf("foreign file was modified")
	}

	zero := filepath.Join(dir, "zero.db")
	if err := os.WriteFile(zero, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s := open(t, sqlitestore.Options{Path: zero, Create: true})
	if in, err := s.Info(t.Context()); err != nil || in.SchemaVersion != 1 {
		t.Errorf("zero-byte file: Info = %+v, %v", in, err)
	}
}

// PSTORE-T35
func TestWrongOwner(t *testing.T) {
	t.Parallel()
	p := storePath(t)
	s := open(t, sqlitestore.Options{Path: p, Create: true})
	_ = s.Close()
	if err := os.Chown(p, 12345, 12345); err != nil {
		t.Skipf("cannot change ownership here: %v", err)
	}
	_, err := sqlitestore.Open(t.Context(), sqlitestore.Options{Path: p})
	wantCode(t, err, sqlitestore.CodeUnavailable)
	var ae *alkerr.Error
	if !errors.As(err, &ae) || !strings.Contains(ae.Message, "owned by 12345") {
		t.Errorf("message %q does not name the owner", ae.Message)
	}
}

// PSTORE-T39: a read-only directory (0500) holding a read-only store file (0400) owned by the
// opening user. Permission bits do not bind root, which CI runs as, so as root the Open runs in
// a helper process that drops to an unprivileged uid (setuid, no capabilities left) after the
// files were handed to that uid: the kernel then really answers EACCES, as for any service user.
func TestReadOnlyDirectory(t *testing.T) {
	t.Parallel()
	const nobody = 65534
	root := os.Geteuid() == 0
	var dir string
	if root {
		// Every directory on the way must be searchable by the unprivileged uid, which
		// t.TempDir's 0700 parents are not.
		base, err := os.MkdirTemp("", "pstore-t39-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(base) })
		if err := os.Chmod(base, 0o755); err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(base, "store")
	} else {
		dir = filepath.Join(t.TempDir(), "store")
	}
	p := filepath.Join(dir, "peers.db")
	s := open(t, sqlitestore.Options{Path: p, Create: true})
	if err := s.Identities().PutPeer(t.Context(), peer("keep", fp(1))); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	_ = os.Remove(p + "-wal")
	_ = os.Remove(p + "-shm")
	if root {
		for _, f := range []string{dir, p} {
			if err := os.Chown(f, nobody, nobody); err != nil {
				t.Skipf("cannot hand the store to uid %d: %v", nobody, err)
			}
		}
	}
	if err := os.Chmod(p, 0o400); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	before := fileHash(t, p)

	var code alkerr.Code
	var msg string
	if root {
		h := startHelper(t, "open-as", p, strconv.Itoa(nobody), 0)
		line := h.next(t, "result ")
		h.wait(t)
		c, m, _ := strings.Cut(line, " ")
		code, msg = alkerr.Code(c), m
	} else {
		_, err := sqlitestore.Open(t.Context(), sqlitestore.Options{Path: p})
		var ae *alkerr.Error
		if errors.As(err, &ae) {
			msg = ae.Message
		}
		code = alkerr.CodeOf(err)
	}
	t.Logf("Open of a read-only store in a read-only directory (as root: run as uid %d): %s %s", nobody, code, msg)
	if code != sqlitestore.CodeReadOnly && code != sqlitestore.CodeUnavailable {
		t.Fatalf("Open = %s %q, want STORE_READ_ONLY or STORE_UNAVAILABLE", code, msg)
	}
	if !strings.Contains(msg, p) {
		t.Errorf("message %q does not name %s", msg, p)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "peers.db" {
		t.Errorf("directory after the failed Open holds %v, want only peers.db", entries)
	}
	if fileHash(t, p) != before {
		t.Errorf("store file changed by a failed Open")
	}
}

// Spec §12 "read-only file system" (PSTORE-R61, SQLITE_READONLY / SQLITE_CANTOPEN): the store's
// directory is a read-only bind mount, which binds root too. The helper runs in its own mount
// namespace (so nothing outside it sees the mount); where mount namespaces are not permitted the
// test skips with the reason.
func TestReadOnlyFileSystem(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("mounting a read-only bind mount needs root")
	}
	dir := filepath.Join(t.TempDir(), "store")
	p := filepath.Join(dir, "peers.db")
	s := open(t, sqlitestore.Options{Path: p, Create: true})
	if err := s.Identities().PutPeer(t.Context(), peer("keep", fp(1))); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	before := fileHash(t, p)
	h := startHelperNS(t, "open-rofs", p)
	line := h.nextOf(t, "result ", "skip ")
	h.wait(t)
	if rest, ok := strings.CutPrefix(line, "skip "); ok {
		t.Skipf("cannot make a read-only mount here: %s", rest)
	}
	code, msg, _ := strings.Cut(strings.TrimPrefix(line, "result "), " ")
	t.Logf("Open on a read-only file system: %s %s", code, msg)
	if alkerr.Code(code) != sqlitestore.CodeReadOnly {
		t.Fatalf("Open = %s %q, want STORE_READ_ONLY", code, msg)
	}
	if !strings.Contains(msg, p) || !strings.Contains(msg, "read-only file system") {
		t.Errorf("message %q does not name %s and the read-only file system", msg, p)
	}
	if fileHash(t, p) != before {
		t.Errorf("store file changed")
	}
}

// PSTORE-T42
func TestOptionsValidation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "peers.db")
	for _, o := range []sqlitestore.Options{
		{},
		{Path: p, Create: true, ReadOnly: true},
		{Path: p, Create: true, PollInterval: 500_000},
		{Path: p, Create: true, BusyTimeout: -1},
	} {
		_, err := sqlitestore.Open(t.Context(), o)
		wantCode(t, err, alkerr.CodeStoreInvalid)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("invalid options touched the directory: %v", entries)
	}
	s := open(t, sqlitestore.Options{Path: p, Create: true})
	if err := s.Identities().PutPeer(t.Context(), peer("a", fp(1))); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	ro := open(t, sqlitestore.Options{Path: p, ReadOnly: true})
	ctx := t.Context()
	id := ro.Identities()
	checks := map[string]error{}
	checks["PutPeer"] = id.PutPeer(ctx, peer("b", fp(2)))
	_, checks["CreatePeer"] = id.CreatePeer(ctx, peer("b", fp(2)))
	checks["UpdatePeer"] = id.UpdatePeer(ctx, "a", peer("a", fp(2)))
	checks["RemovePeer"] = id.RemovePeer(ctx, "a")
	_, checks["ModifyPeer"] = id.ModifyPeer(ctx, "a", func(*auth.PeerEntry) error { return nil })
	_, _, checks["NewPeerToken"] = id.NewPeerToken(ctx, "a")
	_, _, checks["CreatePeerWithToken"] = id.CreatePeerWithToken(ctx, peer("c"))
	_, _, checks["APIKeys.Create"] = ro.APIKeys().Create(ctx, sqlitestore.NewAPIKey{Scopes: []string{"x"}})
	_, checks["APIKeys.Revoke"] = ro.APIKeys().Revoke(ctx, "alk_test")
	checks["Credentials.Put"] = ro.Credentials().Put(ctx, "openai", blob(2, "x"))
	checks["Credentials.Delete"] = ro.Credentials().Delete(ctx, "openai")
	_, checks["Credentials.Rotate"] = ro.Credentials().Rotate(ctx, 3, sqlitestore.RotateOptions{}, nil)
	for name, err := range checks {
		if alkerr.CodeOf(err) != sqlitestore.CodeReadOnly {
			t.Errorf("%s on a ReadOnly store = %v, want STORE_READ_ONLY", name, err)
		}
	}
	if _, ok := resolves(ro, fp(1)); !ok {
		t.Errorf("ReadOnly store does not resolve")
	}
	if _, err := id.ListPeers(ctx); err != nil {
		t.Errorf("ListPeers on ReadOnly: %v", err)
	}
	if err := ro.Check(ctx, true); err != nil {
		t.Errorf("Check on ReadOnly: %v", err)
	}
}

var _ = sqlite3.ErrBusy
