package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/store"
	"github.com/alknet/alknet/alknet-peer-store-sqlite/sqlitestore"
)

func auditCount(t testing.TB, s *sqlitestore.Store, action string) int {
	t.Helper()
	var n int
	if err := sqlitestore.ReaderDB(s).QueryRow("SELECT count(*) FROM audit_events WHERE action = ?", action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func counters(t testing.TB, s *sqlitestore.Store) map[string]int64 {
	t.Helper()
	rows, err := sqlitestore.ReaderDB(s).Query("SELECT channel, generation FROM change_counters")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var c string
		var g int64
		if err := rows.Scan(&c, &g); err != nil {
			t.Fatal(err)
		}
		out[c] = g
	}
	return out
}

// PSTORE-T7
func TestPutPeerResolves(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	p := auth.PeerEntry{
		PeerID: "worker-a", Fingerprints: []string{fp(1)}, Scopes: []string{"relay:connect", "docker:start"},
		Resources: map[string][]string{"service": {"gitea", "registry"}},
	}
	if err := s.Identities().PutPeer(ctx, p); err != nil {
		t.Fatal(err)
	}
	tok, _, err := s.Identities().NewPeerToken(ctx, "worker-a")
	if err != nil {
		t.Fatal(err)
	}
	id, ok := s.Identities().ResolveFingerprint(ctx, fp(1))
	if !ok || id.ID != "worker-a" || !reflect.DeepEqual(id.Scopes, p.Scopes) || !reflect.DeepEqual(id.Resources, p.Resources) || id.Origin != auth.OriginPeer {
		t.Fatalf("ResolveFingerprint = %+v, %v", id, ok)
	}
	id2, ok := resolveToken(s, tok.Expose())
	if !ok || !id2.SameGrants(id) {
		t.Fatalf("ResolveToken = %+v, %v; want the fingerprint's identity", id2, ok)
	}
	if _, ok := resolves(s, fp(2)); ok {
		t.Errorf("unknown fingerprint resolved")
	}
	// Upper-case input of a known fingerprint resolves (CORE-R1010 canonicalises).
	if _, ok := resolves(s, strings.ToUpper(fp(1))); !ok {
		t.Errorf("upper-case fingerprint did not resolve")
	}
}

// PSTORE-T8
func TestDisabledPeer(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	if err := s.Identities().PutPeer(ctx, peer("worker-a", fp(1))); err != nil {
		t.Fatal(err)
	}
	tok, _, err := s.Identities().NewPeerToken(ctx, "worker-a")
	if err != nil {
		t.Fatal(err)
	}
	setEnabled := func(on bool) {
		t.Helper()
		if _, err := s.Identities().ModifyPeer(ctx, "worker-a", func(p *auth.PeerEntry) error {
			p.Enabled = &on
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	setEnabled(false)
	if _, ok := resolves(s, fp(1)); ok {
		t.Errorf("disabled peer resolved by fingerprint")
	}
	if _, ok := resolveToken(s, tok.Expose()); ok {
		t.Errorf("disabled peer resolved by token")
	}
	setEnabled(true)
	if _, ok := resolves(s, fp(1)); !ok {
		t.Errorf("re-enabled peer does not resolve")
	}
	if _, ok := resolveToken(s, tok.Expose()); !ok {
		t.Errorf("re-enabled peer's token does not resolve")
	}
}

// PSTORE-T9
func TestReturnedValuesAreCopies(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	p := peer("worker-a", fp(1))
	p.Resources = map[string][]string{"service": {"gitea"}}
	if err := s.Identities().PutPeer(ctx, p); err != nil {
		t.Fatal(err)
	}
	id, _ := s.Identities().ResolveFingerprint(ctx, fp(1))
	id.Scopes[0] = "evil"
	id.Scopes = append(id.Scopes, "admin")
	id.Resources["service"][0] = "evil"
	id.Resources["other"] = []string{"x"}
	again, _ := s.Identities().ResolveFingerprint(ctx, fp(1))
	if !reflect.DeepEqual(again.Scopes, []string{"fs:read"}) || !reflect.DeepEqual(again.Resources, map[string][]string{"service": {"gitea"}}) {
		t.Errorf("mutating a returned identity changed the store: %+v", again)
	}
	if err := s.Credentials().Put(ctx, "openai", blob(2, "sealed")); err != nil {
		t.Fatal(err)
	}
	e, _, _ := s.Credentials().Get(ctx, "openai")
	e.Data[0] ^= 0xFF
	e.IV[0] ^= 0xFF
	e2, _, _ := s.Credentials().Get(ctx, "openai")
	if !reflect.DeepEqual(e2, blob(2, "sealed")) {
		t.Errorf("mutating a returned blob changed the store")
	}
}

// PSTORE-T10
func TestRotation(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	if err := s.Identities().PutPeer(ctx, peer("worker-a", fp(1))); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Identities().PeerRecord(ctx, "worker-a")
	rec, err := s.Identities().ModifyPeer(ctx, "worker-a", func(p *auth.PeerEntry) error {
		p.Fingerprints = []string{fp(2)}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := resolves(s, fp(1)); ok {
		t.Errorf("old fingerprint still resolves after replace")
	}
	if id, ok := resolves(s, fp(2)); !ok || id != "worker-a" {
		t.Errorf("new fingerprint resolves to %q, %v", id, ok)
	}
	if rec.Revision != before.Revision+1 {
		t.Errorf("revision %d → %d, want +1", before.Revision, rec.Revision)
	}
	if n := auditCount(t, s, "peer.update"); n != 1 {
		t.Errorf("peer.update audit rows = %d, want 1", n)
	}
	// Overlap: add the next key, both resolve.
	if _, err := s.Identities().ModifyPeer(ctx, "worker-a", func(p *auth.PeerEntry) error {
		p.Fingerprints = append(p.Fingerprints, fp(3))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{fp(2), fp(3)} {
		if id, ok := resolves(s, f); !ok || id != "worker-a" {
			t.Errorf("overlap: %s resolves to %q, %v", f, id, ok)
		}
	}
	if _, err := s.Identities().ModifyPeer(ctx, "worker-a", func(p *auth.PeerEntry) error {
		p.Fingerprints = p.Fingerprints[1:]
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, ok := resolves(s, fp(2)); ok {
		t.Errorf("removed old key still resolves")
	}
	got, _ := s.Identities().PeerRecord(ctx, "worker-a")
	if !reflect.DeepEqual(got.Fingerprints, []string{fp(3)}) {
		t.Errorf("fingerprints = %v", got.Fingerprints)
	}
}

// PSTORE-T11
func TestConflictsWriteNothing(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	if err := s.Identities().PutPeer(ctx, peer("a", fp(1))); err != nil {
		t.Fatal(err)
	}
	tokA, _, err := s.Identities().NewPeerToken(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Identities().PutPeer(ctx, peer("b", fp(2))); err != nil {
		t.Fatal(err)
	}
	before := counters(t, s)
	recB, _ := s.Identities().PeerRecord(ctx, "b")
	err = s.Identities().PutPeer(ctx, peer("b", fp(2), fp(1)))
	wantCode(t, err, sqlitestore.CodeConflict)
	if !errors.Is(err, store.ErrInvalid) {
		t.Errorf("conflict does not match store.ErrInvalid")
	}
	if !strings.Contains(err.Error(), "held by peer a") {
		t.Errorf("message %q does not name the owner", err)
	}
	dup := peer("b", fp(2))
	dup.AuthTokenHash = auth.HashToken([]byte(tokA.Expose()))
	wantCode(t, s.Identities().PutPeer(ctx, dup), sqlitestore.CodeConflict)
	if got := counters(t, s); !reflect.DeepEqual(got, before) {
		t.Errorf("counters %v → %v after refused writes", before, got)
	}
	recB2, _ := s.Identities().PeerRecord(ctx, "b")
	if !reflect.DeepEqual(recB, recB2) {
		t.Errorf("peer b changed: %+v → %+v", recB, recB2)
	}
}

// PSTORE-T12
func TestValidation(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	long := strings.Repeat("a", 64)
	for _, tc := range []struct {
		name string
		p    auth.PeerEntry
	}{
		{"upper-case id", peer("Worker", fp(1))},
		{"api-key-like id", peer("alk_x", fp(1))},
		{"underscore", peer("worker_a", fp(1))},
		{"64 chars", peer(long, fp(1))},
		{"control char", peer("a\x01", fp(1))},
		{"empty id", peer("", fp(1))},
		{"wrong prefix", peer("a", "md5:"+strings.Repeat("0", 64))},
		{"63 hex", peer("a", "ed25519:"+strings.Repeat("0", 63))},
		{"non-hex", peer("a", "ed25519:"+strings.Repeat("g", 64))},
		{"bad scope", auth.PeerEntry{PeerID: "a", Fingerprints: []string{fp(1)}, Scopes: []string{"has space"}}},
		{"enabled without credential", peer("a")},
		{"raw token as hash", auth.PeerEntry{PeerID: "a", AuthTokenHash: "alk_testsecret123"}},
		{"17 fingerprints", peer("a", fp(1), fp(2), fp(3), fp(4), fp(5), fp(6), fp(7), fp(8), fp(9), fp(10), fp(11), fp(12), fp(13), fp(14), fp(15), fp(16), fp(17))},
	} {
		err := s.Identities().PutPeer(ctx, tc.p)
		if alkerr.CodeOf(err) != alkerr.CodeStoreInvalid {
			t.Errorf("%s: PutPeer = %v, want STORE_INVALID", tc.name, err)
		}
	}
	if peers, _ := s.Identities().ListPeers(ctx); len(peers) != 0 {
		t.Fatalf("invalid writes stored %v", peers)
	}
	ok63 := strings.Repeat("b", 63)
	if err := s.Identities().PutPeer(ctx, peer(ok63, strings.ToUpper(fp(1)))); err != nil {
		t.Fatalf("63-character id with upper-case fingerprint: %v", err)
	}
	got, found, err := s.Identities().GetPeer(ctx, ok63)
	if err != nil || !found || got.Fingerprints[0] != fp(1) {
		t.Errorf("GetPeer = %+v, %v, %v; want the canonical fingerprint", got, found, err)
	}
	// Disabled peers may hold no credential (pre-provisioning, PSTORE-R3).
	off := peer("spare")
	off.Enabled = new(bool)
	if err := s.Identities().PutPeer(ctx, off); err != nil {
		t.Errorf("disabled peer without credentials: %v", err)
	}
}

// PSTORE-T13
func TestNotFoundAndRemove(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	wantCode(t, s.Identities().UpdatePeer(ctx, "ghost", peer("ghost", fp(1))), alkerr.CodeStoreNotFound)
	wantCode(t, s.Identities().RemovePeer(ctx, "ghost"), alkerr.CodeStoreNotFound)
	called := false
	_, err := s.Identities().ModifyPeer(ctx, "ghost", func(*auth.PeerEntry) error { called = true; return nil })
	wantCode(t, err, alkerr.CodeStoreNotFound)
	if called {
		t.Errorf("ModifyPeer called fn for a missing peer")
	}
	if err := s.Identities().PutPeer(ctx, peer("a", fp(1))); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.Identities().UpdatePeer(ctx, "a", peer("b", fp(1))), alkerr.CodeStoreInvalid)
	if _, err := s.Identities().ModifyPeer(ctx, "a", func(p *auth.PeerEntry) error { p.PeerID = "b"; return nil }); alkerr.CodeOf(err) != alkerr.CodeStoreInvalid {
		t.Errorf("ModifyPeer renaming = %v, want STORE_INVALID", err)
	}
	sentinel := errors.New("callback refused")
	if _, err := s.Identities().ModifyPeer(ctx, "a", func(*auth.PeerEntry) error { return sentinel }); err != sentinel {
		t.Errorf("ModifyPeer callback error = %v, want it unchanged", err)
	}
	if err := s.Identities().RemovePeer(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.Identities().GetPeer(ctx, "a"); found {
		t.Errorf("removed peer still found")
	}
	if err := s.Identities().PutPeer(ctx, peer("b", fp(1))); err != nil {
		t.Errorf("fingerprint of a removed peer cannot be reused: %v", err)
	}
	var n int
	_ = sqlitestore.ReaderDB(s).QueryRow("SELECT count(*) FROM peer_fingerprints WHERE peer_id = 'a'").Scan(&n)
	if n != 0 {
		t.Errorf("%d fingerprint rows left for a removed peer", n)
	}
}

// PSTORE-T14
func TestAPIKeys(t *testing.T) {
	t.Parallel()
	clock := newClock()
	p := storePath(t)
	s := open(t, sqlitestore.Options{Path: p, Create: true, Clock: clock.Now})
	ctx := t.Context()
	exp := clock.Now().Add(3600e9).Unix()
	tok, rec, err := s.APIKeys().Create(ctx, sqlitestore.NewAPIKey{Scopes: []string{"fs:read"}, Description: "ci", ExpiresAt: &exp})
	if err != nil {
		t.Fatal(err)
	}
	raw := tok.Expose()
	if len(raw) != 44 || !strings.HasPrefix(raw, "alk_") || rec.Prefix != raw[:8] {
		t.Fatalf("token %d chars, prefix %q / %q", len(raw), raw[:8], rec.Prefix)
	}
	id, ok := resolveToken(s, raw)
	if !ok || id.ID != rec.Prefix || len(id.Resources) != 0 || id.Origin != auth.OriginAPIKey {
		t.Fatalf("ResolveToken = %+v, %v", id, ok)
	}
	if _, ok := resolveToken(s, raw[:8]+strings.Repeat("x", 36)); ok {
		t.Errorf("wrong token with the same prefix resolved")
	}
	clock.Advance(2 * 3600e9)
	if _, ok := resolveToken(s, raw); ok {
		t.Errorf("expired key resolved")
	}
	tok2, rec2, err := s.APIKeys().Create(ctx, sqlitestore.NewAPIKey{Scopes: []string{"fs:read"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.APIKeys().Revoke(ctx, rec2.Prefix); err != nil {
		t.Fatal(err)
	}
	if _, ok := resolveToken(s, tok2.Expose()); ok {
		t.Errorf("revoked key resolved")
	}
	// Revoking again: unchanged, no error, no audit row.
	audits := auditCount(t, s, "apikey.revoke")
	again, err := s.APIKeys().Revoke(ctx, rec2.Prefix)
	if err != nil || again.RevokedAt.IsZero() || auditCount(t, s, "apikey.revoke") != audits {
		t.Errorf("second Revoke = %+v, %v", again, err)
	}
	_, err = s.APIKeys().Revoke(ctx, "alk_none")
	wantCode(t, err, alkerr.CodeStoreNotFound)
	// Import of a revoked prefix: conflict (prefixes are never reused).
	_, err = s.APIKeys().Import(ctx, auth.APIKeyEntry{Prefix: rec2.Prefix, Hash: auth.HashToken([]byte("other")), Scopes: []string{"x"}})
	wantCode(t, err, sqlitestore.CodeConflict)
	// Import of a hash equal to a peer's token hash: conflict.
	if err := s.Identities().PutPeer(ctx, peer("w", fp(1))); err != nil {
		t.Fatal(err)
	}
	ptok, _, err := s.Identities().NewPeerToken(ctx, "w")
	if err != nil {
		t.Fatal(err)
	}
	if pt := ptok.Expose(); len(pt) != 45 || !strings.HasPrefix(pt, "alkp_") {
		t.Errorf("peer token %q: want 45 characters starting alkp_", pt[:5])
	}
	_, err = s.APIKeys().Import(ctx, auth.APIKeyEntry{Prefix: "alk_imp1", Hash: auth.HashToken([]byte(ptok.Expose())), Scopes: []string{"x"}})
	wantCode(t, err, sqlitestore.CodeConflict)
	// A disabled peer's token does not fall through to the API-key path.
	if _, err := s.Identities().ModifyPeer(ctx, "w", func(p *auth.PeerEntry) error { p.Enabled = new(bool); return nil }); err != nil {
		t.Fatal(err)
	}
	if _, ok := resolveToken(s, ptok.Expose()); ok {
		t.Errorf("disabled peer's token resolved")
	}
	keys, err := s.APIKeys().List(ctx, true)
	if err != nil || len(keys) != 2 {
		t.Errorf("List(all) = %d keys, %v", len(keys), err)
	}
	active, _ := s.APIKeys().List(ctx, false)
	if len(active) != 1 {
		t.Errorf("List(active) = %d keys, want 1", len(active))
	}
}

// zeroReader returns the byte 0x00 forever, which puts every API-key candidate on one prefix.
type zeroReader struct{}

func (zeroReader) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

// PSTORE-T14 (prefix exhaustion and peer tokens)
func TestAPIKeyPrefixExhaustion(t *testing.T) {
	t.Parallel()
	p := storePath(t)
	s := open(t, sqlitestore.Options{Path: p, Create: true, Rand: zeroReader{}})
	ctx := t.Context()
	_, rec, err := s.APIKeys().Create(ctx, sqlitestore.NewAPIKey{Scopes: []string{"x"}})
	if err != nil || rec.Prefix != "alk_0000" {
		t.Fatalf("first Create = %+v, %v", rec, err)
	}
	before := counters(t, s)
	_, _, err = s.APIKeys().Create(ctx, sqlitestore.NewAPIKey{Scopes: []string{"x"}})
	wantCode(t, err, sqlitestore.CodeConflict)
	if !errors.Is(err, auth.ErrPrefixExhausted) || !errors.Is(err, store.ErrInvalid) {
		t.Errorf("exhaustion error %v does not match auth.ErrPrefixExhausted and store.ErrInvalid", err)
	}
	if got := counters(t, s); !reflect.DeepEqual(got, before) {
		t.Errorf("counters changed: %v → %v", before, got)
	}
	if err := s.Identities().PutPeer(ctx, peer("after", fp(1))); err != nil {
		t.Errorf("write after a failed Create: %v", err)
	}
	if _, err := s.APIKeys().Revoke(ctx, "alk_0000"); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.APIKeys().Create(ctx, sqlitestore.NewAPIKey{Scopes: []string{"x"}})
	wantCode(t, err, sqlitestore.CodeConflict)
	// Peer tokens: alkp_ + 40, never the API-key path.
	tok, rec2, err := s.Identities().CreatePeerWithToken(ctx, auth.PeerEntry{PeerID: "browser", Scopes: []string{"fs:read"}})
	if err != nil {
		t.Fatal(err)
	}
	if raw := tok.Expose(); len(raw) != 45 || !strings.HasPrefix(raw, "alkp_") {
		t.Errorf("peer token has %d characters", len(raw))
	}
	if id, ok := resolveToken(s, tok.Expose()); !ok || id.ID != "browser" || rec2.AuthTokenHash == "" {
		t.Errorf("peer token resolves to %+v, %v", id, ok)
	}
	hashes := countRows(t, s, "SELECT count(*) FROM peers WHERE auth_token_hash IS NOT NULL")
	_, _, err = s.Identities().CreatePeerWithToken(ctx, auth.PeerEntry{PeerID: "browser", Scopes: []string{"fs:read"}})
	wantCode(t, err, sqlitestore.CodeConflict)
	if got := countRows(t, s, "SELECT count(*) FROM peers WHERE auth_token_hash IS NOT NULL"); got != hashes {
		t.Errorf("token hashes %d → %d after a refused CreatePeerWithToken", hashes, got)
	}
}

func countRows(t testing.TB, s *sqlitestore.Store, q string) int {
	t.Helper()
	var n int
	if err := sqlitestore.ReaderDB(s).QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// PSTORE-T15
func TestReadYourWrites(t *testing.T) {
	t.Parallel()
	p := storePath(t)
	s := open(t, sqlitestore.Options{Path: p, Create: true, DisableWatch: true})
	ctx := t.Context()
	id := s.Identities()
	step := func(name string, want bool, f string) {
		t.Helper()
		if _, ok := resolves(s, f); ok != want {
			t.Fatalf("after %s: resolve %v, want %v", name, ok, want)
		}
	}
	if err := id.PutPeer(ctx, peer("a", fp(1))); err != nil {
		t.Fatal(err)
	}
	step("PutPeer", true, fp(1))
	if _, err := id.CreatePeer(ctx, peer("b", fp(2))); err != nil {
		t.Fatal(err)
	}
	step("CreatePeer", true, fp(2))
	if err := id.UpdatePeer(ctx, "b", peer("b", fp(3))); err != nil {
		t.Fatal(err)
	}
	step("UpdatePeer", true, fp(3))
	if _, err := id.ModifyPeer(ctx, "b", func(p *auth.PeerEntry) error { p.Enabled = new(bool); return nil }); err != nil {
		t.Fatal(err)
	}
	step("ModifyPeer", false, fp(3))
	if err := id.RemovePeer(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	step("RemovePeer", false, fp(1))
	tok, _, err := s.APIKeys().Create(ctx, sqlitestore.NewAPIKey{Scopes: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := resolveToken(s, tok.Expose()); !ok {
		t.Fatalf("after APIKeys.Create: not resolved")
	}
	if _, err := s.APIKeys().Revoke(ctx, tok.Expose()[:8]); err != nil {
		t.Fatal(err)
	}
	if _, ok := resolveToken(s, tok.Expose()); ok {
		t.Fatalf("after Revoke: still resolved")
	}
	imp := auth.APIKeyEntry{Prefix: "alk_test", Hash: "sha256:61210fdb492c840f1838774b822c184083c4093c7cb93e6c2c33732ff3b8903c", Scopes: []string{"fs:read"}}
	if _, err := s.APIKeys().Import(ctx, imp); err != nil {
		t.Fatal(err)
	}
	if _, ok := resolveToken(s, "alk_testsecret123"); !ok {
		t.Fatalf("after Import: not resolved")
	}
	if _, err := id.CreatePeer(ctx, peer("c", fp(4))); err != nil {
		t.Fatal(err)
	}
	ptok, _, err := id.NewPeerToken(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := resolveToken(s, ptok.Expose()); !ok {
		t.Fatalf("after NewPeerToken: not resolved")
	}
	ctok, _, err := id.CreatePeerWithToken(ctx, auth.PeerEntry{PeerID: "d", Scopes: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := resolveToken(s, ctok.Expose()); !ok {
		t.Fatalf("after CreatePeerWithToken: not resolved")
	}
	if err := s.Credentials().Put(ctx, "openai", blob(2, "x")); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.Credentials().Get(ctx, "openai"); !found {
		t.Fatalf("after Credentials.Put: not found")
	}
	if err := s.Credentials().Delete(ctx, "openai"); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.Credentials().Get(ctx, "openai"); found {
		t.Fatalf("after Credentials.Delete: still found")
	}
}

// PSTORE-R69: entries handed out are normalised.
func TestGetPeerNormalised(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	on := true
	in := auth.PeerEntry{PeerID: "a", Fingerprints: []string{fp(2), strings.ToUpper(fp(1)), fp(2)}, Scopes: []string{"x", "x", "y"}, Enabled: &on, Resources: map[string][]string{}}
	if err := s.Identities().PutPeer(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Identities().GetPeer(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	want := auth.PeerEntry{PeerID: "a", Fingerprints: []string{fp(2), fp(1)}, Scopes: []string{"x", "y"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetPeer = %#v, want %#v", got, want)
	}
	// Replace keeps the position of fingerprints that stay (PSTORE-R38).
	if err := s.Identities().PutPeer(ctx, auth.PeerEntry{PeerID: "a", Fingerprints: []string{fp(3), fp(1)}, Scopes: []string{"x"}}); err != nil {
		t.Fatal(err)
	}
	got, _, _ = s.Identities().GetPeer(ctx, "a")
	if !reflect.DeepEqual(got.Fingerprints, []string{fp(1), fp(3)}) {
		t.Errorf("fingerprints after replace = %v, want [fp1 fp3]", got.Fingerprints)
	}
	var detail string
	if err := sqlitestore.ReaderDB(s).QueryRowContext(context.Background(), "SELECT detail FROM audit_events ORDER BY id DESC LIMIT 1").Scan(&detail); err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	if !strings.Contains(detail, "fingerprints_removed") {
		t.Errorf("audit detail %s does not list the removed fingerprint", detail)
	}
}
