package sqlitestore_test

import (
	"context"
	"database/sql"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-peer-store-sqlite/sqlitestore"
	"github.com/mattn/go-sqlite3"
)

// waitChange waits for the next Change on ch that names want.
func waitChange(t testing.TB, ch <-chan sqlitestore.Change, want sqlitestore.Channel) sqlitestore.Change {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case c, ok := <-ch:
			if !ok {
				t.Fatalf("subscription closed while waiting for %s", want)
			}
			if slices.Contains(c.Channels, want) {
				return c
			}
		case <-timeout.C:
			t.Fatalf("no Change naming %s", want)
		}
	}
}

func waitClosed(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("Changed() not closed after %s", what)
	}
}

// PSTORE-T18: changes made by another process, one step per command, reach the running store;
// the revocation case is the issue's "revocation made by one process seen by a reader in
// another within the poll interval".
func TestCrossProcessChanges(t *testing.T) {
	t.Parallel()
	s, p := newStore(t)
	changes, cancel := s.Subscribe()
	defer cancel()
	h := startHelper(t, "steps", p, "", 0)

	changed := s.Identities().Changed()
	h.send(t, "addpeer worker-x "+fp(7))
	h.next(t, "ok")
	eventually(t, "peer added by the helper", func() bool { _, ok := resolves(s, fp(7)); return ok })
	waitClosed(t, changed, "addpeer")
	waitChange(t, changes, sqlitestore.ChannelPeers)

	changed = s.Identities().Changed()
	h.send(t, "disable worker-x")
	h.next(t, "ok")
	eventually(t, "peer disabled by the helper", func() bool { _, ok := resolves(s, fp(7)); return !ok })
	waitClosed(t, changed, "disable")
	waitChange(t, changes, sqlitestore.ChannelPeers)

	h.send(t, "createkey")
	f := strings.Fields(h.next(t, "ok"))
	prefix, token := f[0], f[1]
	eventually(t, "API key created by the helper", func() bool { _, ok := resolveToken(s, token); return ok })
	waitChange(t, changes, sqlitestore.ChannelAPIKeys)

	changed = s.Identities().Changed()
	h.send(t, "revoke "+prefix)
	h.next(t, "ok")
	eventually(t, "API key revoked by the helper", func() bool { _, ok := resolveToken(s, token); return !ok })
	waitClosed(t, changed, "revoke")
	waitChange(t, changes, sqlitestore.ChannelAPIKeys)

	changed = s.Identities().Changed()
	h.send(t, "putcred openai")
	h.next(t, "ok")
	c := waitChange(t, changes, sqlitestore.ChannelCredentials)
	if slices.Contains(c.Channels, sqlitestore.ChannelPeers) {
		t.Errorf("credential change also named peers: %v", c.Channels)
	}
	if _, found, err := s.Credentials().Get(t.Context(), "openai"); !found || err != nil {
		t.Errorf("credential from the helper: found=%v err=%v", found, err)
	}
	select {
	case <-changed:
		t.Errorf("Changed() closed for a credential-only change")
	default:
	}
	h.send(t, "quit")
	h.wait(t)
}

// PSTORE-T19
func TestHandEditPickedUp(t *testing.T) {
	t.Parallel()
	s, p := newStore(t)
	if err := s.Identities().PutPeer(t.Context(), peer("a", fp(1))); err != nil {
		t.Fatal(err)
	}
	db := plainDB(t, p, false)
	if _, err := db.Exec("UPDATE peers SET enabled = 0"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "hand edit disabling the peer", func() bool { _, ok := resolves(s, fp(1)); return !ok })
}

// PSTORE-T20
func TestRollbackPublishesNothing(t *testing.T) {
	t.Parallel()
	s, p := newStore(t)
	ctx := t.Context()
	if err := s.Identities().PutPeer(ctx, peer("a", fp(1))); err != nil {
		t.Fatal(err)
	}
	before := s.Stats().Generations[sqlitestore.ChannelPeers]
	changes, cancel := s.Subscribe()
	defer cancel()
	db := plainDB(t, p, false)
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"BEGIN IMMEDIATE", "UPDATE peers SET scopes = '[\"x\"]'", "ROLLBACK"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	_ = conn.Close()
	if _, err := s.Identities().ModifyPeer(ctx, "a", func(*auth.PeerEntry) error { return context.Canceled }); err == nil {
		t.Fatal("failing callback wrote")
	}
	// One real write: an UPDATE of the peers row only (+1).
	if _, err := s.Identities().ModifyPeer(ctx, "a", func(p *auth.PeerEntry) error { p.Scopes = []string{"y"}; return nil }); err != nil {
		t.Fatal(err)
	}
	c := waitChange(t, changes, sqlitestore.ChannelPeers)
	if got := c.Generations[sqlitestore.ChannelPeers]; got != before+1 {
		t.Errorf("generation %d → %d, want exactly +1", before, got)
	}
}

// restoreOnline copies src into the live file dst through SQLite's backup API (PSTORE-R84).
func restoreOnline(t testing.TB, src, dst string) {
	t.Helper()
	open := func(p string) (*sql.DB, *sql.Conn) {
		db, err := sql.Open("sqlite3", "file:"+p+"?_busy_timeout=10000")
		if err != nil {
			t.Fatal(err)
		}
		c, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return db, c
	}
	sdb, sc := open(src)
	defer sdb.Close()
	defer sc.Close()
	ddb, dc := open(dst)
	defer ddb.Close()
	defer dc.Close()
	err := dc.Raw(func(d any) error {
		return sc.Raw(func(s any) error {
			b, err := d.(*sqlite3.SQLiteConn).Backup("main", s.(*sqlite3.SQLiteConn), "main")
			if err != nil {
				return err
			}
			if _, err := b.Step(-1); err != nil {
				_ = b.Finish()
				return err
			}
			return b.Finish()
		})
	})
	if err != nil {
		t.Fatalf("online restore: %v", err)
	}
}

// PSTORE-T21 (a): an online restore lowers the counters and is still loaded.
func TestOnlineRestore(t *testing.T) {
	t.Parallel()
	s, p := newStore(t)
	ctx := t.Context()
	if err := s.Identities().PutPeer(ctx, peer("old", fp(1))); err != nil {
		t.Fatal(err)
	}
	bak := p + ".backup"
	if err := s.Backup(ctx, bak); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.Backup(ctx, bak), sqlitestore.CodeConflict) // PSTORE-T36: a second Backup to dest
	if got := mode(t, bak); got != 0o600 {
		t.Errorf("backup mode = %v", got)
	}
	for i := range 5 {
		if err := s.Identities().PutPeer(ctx, peer("new", fp(10+i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Identities().ModifyPeer(ctx, "old", func(p *auth.PeerEntry) error { p.Enabled = new(bool); return nil }); err != nil {
		t.Fatal(err)
	}
	high := s.Stats().Generations[sqlitestore.ChannelPeers]
	restoreOnline(t, bak, p)
	eventually(t, "restored state served", func() bool {
		_, oldOK := resolves(s, fp(1))
		_, newOK := resolves(s, fp(14))
		return oldOK && !newOK
	})
	if g := s.Stats().Generations[sqlitestore.ChannelPeers]; g >= high {
		t.Errorf("generation %d after restore, want below %d", g, high)
	}
}

// PSTORE-T21 (b): a file renamed over the live store is never served or written.
func TestReplacedFileNotServed(t *testing.T) {
	t.Parallel()
	clock := newClock()
	p := storePath(t)
	s := open(t, sqlitestore.Options{Path: p, Create: true, PollInterval: 2 * time.Millisecond, Clock: clock.Now, MaxStale: time.Minute})
	ctx := t.Context()
	if err := s.Identities().PutPeer(ctx, peer("mine", fp(1))); err != nil {
		t.Fatal(err)
	}
	other := p + ".other"
	o := open(t, sqlitestore.Options{Path: other, Create: true, DisableWatch: true})
	if err := o.Identities().PutPeer(ctx, peer("theirs", fp(2))); err != nil {
		t.Fatal(err)
	}
	_ = o.Close()
	_ = os.Remove(other + "-wal")
	_ = os.Remove(other + "-shm")
	before := fileHash(t, other)
	if err := os.Rename(other, p); err != nil {
		t.Fatal(err)
	}
	eventually(t, "replacement detected", func() bool { return alkerr.CodeOf(s.Health()) == sqlitestore.CodeUnavailable })
	wantCode(t, s.Identities().PutPeer(ctx, peer("x", fp(3))), sqlitestore.CodeUnavailable)
	if _, ok := resolves(s, fp(2)); ok {
		t.Errorf("peers of the replacement file are served")
	}
	if _, ok := resolves(s, fp(1)); !ok {
		t.Errorf("last snapshot not served before MaxStale")
	}
	clock.Advance(2 * time.Minute)
	eventually(t, "fail closed", func() bool { _, ok := resolves(s, fp(1)); return !ok })
	if fileHash(t, p) != before {
		t.Errorf("the running store modified the replacement file")
	}
}

// PSTORE-T22
func TestFailClosedAfterMaxStale(t *testing.T) {
	t.Parallel()
	clock := newClock()
	p := storePath(t)
	s := open(t, sqlitestore.Options{Path: p, Create: true, PollInterval: 2 * time.Millisecond, Clock: clock.Now, MaxStale: time.Minute})
	ctx := t.Context()
	if err := s.Identities().PutPeer(ctx, peer("a", fp(1))); err != nil {
		t.Fatal(err)
	}
	if err := s.Credentials().Put(ctx, "openai", blob(2, "x")); err != nil {
		t.Fatal(err)
	}
	away := p + ".away"
	if err := os.Rename(p, away); err != nil {
		t.Fatal(err)
	}
	eventually(t, "failure noticed", func() bool { return s.Health() != nil && !s.Stats().FailingSince.IsZero() })
	if _, ok := resolves(s, fp(1)); !ok {
		t.Fatalf("resolution stopped before MaxStale")
	}
	changed := s.Identities().Changed()
	clock.Advance(2 * time.Minute)
	eventually(t, "fail closed", func() bool { _, ok := resolves(s, fp(1)); return !ok })
	if src := s.Identities().Policy().Source(); len(src.Peers) != 0 {
		t.Errorf("policy while failed closed has %d peers", len(src.Peers))
	}
	_, _, err := s.Credentials().Get(ctx, "openai")
	wantCode(t, err, alkerr.CodeStoreBackend)
	waitClosed(t, changed, "failing closed")
	if !s.Stats().FailClosed {
		t.Errorf("Stats().FailClosed = false")
	}
	changed = s.Identities().Changed()
	if err := os.Rename(away, p); err != nil {
		t.Fatal(err)
	}
	eventually(t, "recovery", func() bool { _, ok := resolves(s, fp(1)); return ok })
	waitClosed(t, changed, "recovery")
	if _, found, err := s.Credentials().Get(ctx, "openai"); !found || err != nil {
		t.Errorf("credential after recovery: %v, %v", found, err)
	}
	eventually(t, "healthy", func() bool { return s.Health() == nil && !s.Stats().FailClosed })
}

// PSTORE-R28: a running store whose file another process migrated past what it understands
// stops reloading, keeps its snapshot and refuses writes.
func TestRunningStoreSeesNewerSchema(t *testing.T) {
	t.Parallel()
	s, p := newStore(t)
	ctx := t.Context()
	if err := s.Identities().PutPeer(ctx, peer("a", fp(1))); err != nil {
		t.Fatal(err)
	}
	db := plainDB(t, p, false)
	if _, err := db.Exec("INSERT INTO schema_migrations VALUES (99, 'future', 0, 'v99')"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE peers SET enabled = 0"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "schema too new reported", func() bool { return alkerr.CodeOf(s.Health()) == sqlitestore.CodeSchemaTooNew })
	if _, ok := resolves(s, fp(1)); !ok {
		t.Errorf("last snapshot not kept")
	}
	wantCode(t, s.Identities().PutPeer(ctx, peer("b", fp(2))), sqlitestore.CodeSchemaTooNew)
}

// PSTORE-R46: a slow subscriber sees one merged pending Change with the latest generations.
func TestSubscriptionCoalesces(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	changes, cancel := s.Subscribe()
	defer cancel()
	if err := s.Identities().PutPeer(ctx, peer("a", fp(1))); err != nil {
		t.Fatal(err)
	}
	if err := s.Credentials().Put(ctx, "openai", blob(2, "x")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.APIKeys().Create(ctx, sqlitestore.NewAPIKey{Scopes: []string{"x"}}); err != nil {
		t.Fatal(err)
	}
	c := <-changes
	want := []sqlitestore.Channel{sqlitestore.ChannelPeers, sqlitestore.ChannelAPIKeys, sqlitestore.ChannelCredentials}
	if !slices.Equal(c.Channels, want) {
		t.Errorf("merged Change channels = %v, want %v", c.Channels, want)
	}
	st := s.Stats().Generations
	for _, ch := range want {
		if c.Generations[ch] != st[ch] {
			t.Errorf("generation of %s = %d, store serves %d", ch, c.Generations[ch], st[ch])
		}
	}
	select {
	case extra := <-changes:
		t.Errorf("a second pending Change: %+v", extra)
	default:
	}
}

// PSTORE-R44: a write right after the file was replaced (before any watcher round, and in a
// one-shot process without a watcher) is refused with STORE_UNAVAILABLE instead of being
// committed to the replaced file and reported as done; the replacement's bytes are unchanged
// and Health reports the replacement.
func TestWriteAfterReplacementRefused(t *testing.T) {
	t.Parallel()
	p := storePath(t)
	s := open(t, sqlitestore.Options{Path: p, Create: true, DisableWatch: true})
	ctx := t.Context()
	if err := s.Identities().PutPeer(ctx, peer("mine", fp(1))); err != nil {
		t.Fatal(err)
	}
	other := p + ".other"
	o := open(t, sqlitestore.Options{Path: other, Create: true, DisableWatch: true})
	_ = o.Close()
	_ = os.Remove(other + "-wal")
	_ = os.Remove(other + "-shm")
	before := fileHash(t, other)
	if err := os.Rename(other, p); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.Identities().PutPeer(ctx, peer("lost", fp(2))), sqlitestore.CodeUnavailable)
	wantCode(t, s.Health(), sqlitestore.CodeUnavailable)
	if fileHash(t, p) != before {
		t.Errorf("the store modified the replacement file")
	}
}
