package sqlitestore_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-peer-store-sqlite/sqlitestore"
)

// PSTORE-T32
func TestBadHandEditedRowSkipped(t *testing.T) {
	t.Parallel()
	s, p := newStore(t)
	ctx := t.Context()
	for i, id := range []string{"good", "bad"} {
		if err := s.Identities().PutPeer(ctx, peer(id, fp(i))); err != nil {
			t.Fatal(err)
		}
	}
	db := plainDB(t, p, false)
	if _, err := db.Exec(`UPDATE peers SET scopes = '[1]' WHERE peer_id = 'bad'`); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bad row skipped", func() bool { _, ok := resolves(s, fp(1)); return !ok })
	if _, ok := resolves(s, fp(0)); !ok {
		t.Errorf("other peers stopped resolving")
	}
	wantCode(t, s.Health(), alkerr.CodeStoreSerialization)
	_, err := s.Identities().PeerRecord(ctx, "bad")
	wantCode(t, err, alkerr.CodeStoreSerialization)
	if _, err := db.Exec(`UPDATE peers SET scopes = '["fs:read"]' WHERE peer_id = 'bad'`); err != nil {
		t.Fatal(err)
	}
	eventually(t, "fixed row served", func() bool { _, ok := resolves(s, fp(1)); return ok && s.Health() == nil })
}

// PSTORE-T33
func TestCloseLifecycle(t *testing.T) {
	t.Parallel()
	p := storePath(t)
	s, err := sqlitestore.Open(t.Context(), sqlitestore.Options{Path: p, Create: true, PollInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := s.Identities().PutPeer(ctx, peer("a", fp(1))); err != nil {
		t.Fatal(err)
	}
	if err := s.Credentials().Put(ctx, "openai", blob(2, "x")); err != nil {
		t.Fatal(err)
	}
	changes, cancel := s.Subscribe()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, ok := resolves(s, fp(1)); ok {
		t.Errorf("resolution after Close")
	}
	_, _, err = s.Credentials().Get(ctx, "openai")
	wantCode(t, err, sqlitestore.CodeClosed)
	wantCode(t, s.Identities().PutPeer(ctx, peer("b", fp(2))), sqlitestore.CodeClosed)
	_, err = s.Identities().ListPeers(ctx)
	wantCode(t, err, sqlitestore.CodeClosed)
	if !errors.Is(s.Identities().PutPeer(ctx, peer("b", fp(2))), sqlitestore.ErrClosed) {
		t.Errorf("errors.Is(err, ErrClosed) = false")
	}
	for range changes {
	}
	cancel()
	cancel()
	ch, cancel2 := s.Subscribe()
	if _, ok := <-ch; ok {
		t.Errorf("subscription after Close is open")
	}
	cancel2()
}

// recordingHandler keeps every record at every level (PSTORE-T34).
type recordingHandler struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (h recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		h.buf.WriteString(" " + a.Key + "=" + a.Value.Resolve().String())
		return true
	})
	h.buf.WriteString("\n")
	return nil
}
func (h recordingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	for _, a := range as {
		h.mu.Lock()
		h.buf.WriteString(a.Key + "=" + a.Value.String() + "\n")
		h.mu.Unlock()
	}
	return h
}
func (h recordingHandler) WithGroup(string) slog.Handler { return h }

// PSTORE-T34
func TestLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var buf bytes.Buffer
	logger := slog.New(recordingHandler{mu: &mu, buf: &buf})
	p := storePath(t)
	s := open(t, sqlitestore.Options{Path: p, Create: true, PollInterval: time.Millisecond, Logger: logger})
	ctx := t.Context()
	var secrets []string
	if err := s.Identities().PutPeer(ctx, peer("a", fp(1))); err != nil {
		t.Fatal(err)
	}
	ptok, rec, err := s.Identities().NewPeerToken(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, ptok.Expose(), rec.AuthTokenHash, strings.TrimPrefix(rec.AuthTokenHash, "sha256:")[:16])
	ktok, krec, err := s.APIKeys().Create(ctx, sqlitestore.NewAPIKey{Scopes: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, ktok.Expose(), krec.Hash)
	b := blob(2, "blob-bytes-never-logged")
	if err := s.Credentials().Put(ctx, "openai", b); err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, string(b.Data), string(b.IV))
	// Failure paths log too: a conflict, a bad hand edit, a token-hash clash.
	_ = s.Identities().PutPeer(ctx, auth.PeerEntry{PeerID: "b", AuthTokenHash: rec.AuthTokenHash, Scopes: []string{}})
	db := plainDB(t, p, false)
	if _, err := db.Exec(`UPDATE peers SET auth_token_hash = ? WHERE peer_id = 'a'`, krec.Hash); err != nil {
		t.Fatal(err)
	}
	eventually(t, "clash noticed", func() bool { return s.Health() != nil })
	if _, err := s.Credentials().Rotate(ctx, 3, sqlitestore.RotateOptions{}, testCipher(3)); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if out == "" {
		t.Fatal("nothing was logged")
	}
	for _, sec := range secrets {
		if strings.Contains(out, sec) {
			t.Errorf("log contains a secret (%d bytes)", len(sec))
		}
	}
}

// PSTORE-T36
func TestBackupWhileWriting(t *testing.T) {
	t.Parallel()
	p := storePath(t)
	s := open(t, sqlitestore.Options{Path: p, Create: true, DisableWatch: true})
	h := startHelper(t, "writeloop", p, "", 150)
	h.next(t, "put 20")
	dest := p + ".bak"
	if err := s.Backup(t.Context(), dest); err != nil {
		t.Fatal(err)
	}
	h.wait(t)
	if got := mode(t, dest); got != 0o600 {
		t.Errorf("backup mode = %v", got)
	}
	wantCode(t, s.Backup(t.Context(), dest), sqlitestore.CodeConflict)
	b := open(t, sqlitestore.Options{Path: dest, DisableWatch: true})
	integrityOK(t, b)
	recs, err := b.Identities().PeerRecords(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, r := range recs {
		have[r.PeerID] = true
	}
	for i := range len(have) {
		if !have["w"+strconv.Itoa(i)] {
			t.Fatalf("backup holds %d peers but not w%d: not a prefix", len(have), i)
		}
	}
	if len(have) < 21 {
		t.Errorf("backup holds %d peers, want at least the 21 written before it", len(have))
	}
}

// PSTORE-T38
func TestDiskFull(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	if err := s.Identities().PutPeer(ctx, peer("a", fp(1))); err != nil {
		t.Fatal(err)
	}
	var pages int64
	if err := sqlitestore.WriterDB(s).QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlitestore.SetMaxPageCount(ctx, s, pages); err != nil {
		t.Fatal(err)
	}
	gens := s.Stats().Generations
	big := peer("big")
	for i := range 16 {
		big.Fingerprints = append(big.Fingerprints, fp(100+i))
	}
	for i := range 200 {
		big.Scopes = append(big.Scopes, "scope-with-a-long-name-to-need-new-pages-"+strconv.Itoa(i))
	}
	err := s.Identities().PutPeer(ctx, big)
	wantCode(t, err, alkerr.CodeStoreBackend)
	if !strings.Contains(err.Error(), "disk full") {
		t.Errorf("error %q does not say disk full", err)
	}
	if _, found, _ := s.Identities().GetPeer(ctx, "big"); found {
		t.Errorf("partial write after disk full")
	}
	if got := s.Stats().Generations; got[sqlitestore.ChannelPeers] != gens[sqlitestore.ChannelPeers] {
		t.Errorf("generations %v → %v", gens, got)
	}
	if _, err := sqlitestore.SetMaxPageCount(ctx, s, 1<<30); err != nil {
		t.Fatal(err)
	}
	if err := s.Identities().PutPeer(ctx, big); err != nil {
		t.Errorf("write after raising the limit: %v", err)
	}
}

// PSTORE-T41
func TestHandEditsWithoutForeignKeys(t *testing.T) {
	t.Parallel()
	s, p := newStore(t)
	ctx := t.Context()
	for i, id := range []string{"a", "b", "c"} {
		if err := s.Identities().PutPeer(ctx, peer(id, fp(i))); err != nil {
			t.Fatal(err)
		}
	}
	db := plainDB(t, p, false)
	if _, err := db.Exec(`DELETE FROM peers WHERE peer_id = 'a'`); err != nil {
		t.Fatal(err)
	}
	eventually(t, "deleted peer gone", func() bool { _, ok := resolves(s, fp(0)); return !ok })
	if err := s.Identities().PutPeer(ctx, peer("d", fp(0))); err != nil {
		t.Errorf("fingerprint of a hand-deleted peer cannot be reused: %v", err)
	}
	if _, err := db.Exec(`INSERT INTO peer_fingerprints (fingerprint, peer_id, added_at) VALUES (?, 'ghost', 0)`, fp(50)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "orphan reported", func() bool { return alkerr.CodeOf(s.Health()) == alkerr.CodeStoreSerialization })
	if _, ok := resolves(s, fp(50)); ok {
		t.Errorf("orphaned fingerprint resolved")
	}
	wantCode(t, s.Check(ctx, false), sqlitestore.CodeCorrupt)
	if _, err := db.Exec(`DELETE FROM peer_fingerprints WHERE peer_id = 'ghost'`); err != nil {
		t.Fatal(err)
	}
	tok, krec, err := s.APIKeys().Create(ctx, sqlitestore.NewAPIKey{Scopes: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE peers SET auth_token_hash = ? WHERE peer_id = 'b'`, krec.Hash); err != nil {
		t.Fatal(err)
	}
	eventually(t, "clash drops both", func() bool {
		_, pok := resolves(s, fp(1))
		_, kok := resolveToken(s, tok.Expose())
		return !pok && !kok
	})
	if _, ok := resolves(s, fp(2)); !ok {
		t.Errorf("unrelated peer c stopped resolving")
	}
	wantCode(t, s.Health(), alkerr.CodeStoreSerialization)
}

// Every code the package returns is documented in docs/errors.md (conventions).
func TestCodesDocumented(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../docs/errors.md")
	if err != nil {
		t.Skipf("docs/errors.md not reachable from here: %v", err)
	}
	_, section, _ := strings.Cut(string(b), "## alknet-peer-store-sqlite")
	seen := map[alkerr.Code]bool{}
	for _, c := range sqlitestore.AllCodes {
		if seen[c] {
			t.Errorf("code %s listed twice", c)
		}
		seen[c] = true
		if !strings.Contains(section, "`"+string(c)+"`") {
			t.Errorf("code %s missing from the alknet-peer-store-sqlite section of docs/errors.md", c)
		}
	}
}
