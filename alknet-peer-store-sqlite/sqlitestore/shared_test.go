package sqlitestore_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/config"
	"github.com/alknet/alknet/alknet-peer-store-sqlite/sqlitestore"
)

// sharedPolicy is the one table of peers and keys that the config-backed provider and the
// store must answer identically (PSTORE-T37, CORE-R922).
func sharedPolicy() (auth.AuthPolicy, []string, []string) {
	off := false
	past := int64(1)                                             // long expired
	future := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).Unix() // valid for a long time
	pol := auth.AuthPolicy{
		Peers: []auth.PeerEntry{
			{PeerID: "worker-a", Fingerprints: []string{fp(1), certFP(1)}, Scopes: []string{"relay:connect", "docker:start"},
				Resources: map[string][]string{"service": {"gitea", "registry"}}, DisplayName: "Worker A"},
			{PeerID: "worker-b", Fingerprints: []string{fp(2)}, Scopes: []string{"fs:read"},
				AuthTokenHash: auth.HashToken([]byte("peer-token-b"))},
			{PeerID: "disabled", Fingerprints: []string{fp(3)}, Scopes: []string{"fs:read"}, Enabled: &off,
				// The token starts like an API key whose prefix exists below: a disabled peer's
				// token must not fall through to the API-key path (CORE-R1011 step 3).
				AuthTokenHash: auth.HashToken([]byte("alk_testdisabledpeer"))},
			{PeerID: "browser-alice", Fingerprints: []string{}, Scopes: []string{"fs:read"},
				AuthTokenHash: "sha256:7ec7cb477fca72416a3809813a0df5c20de2ac67673ee45f090f9e0a487de7e6"},
		},
		APIKeys: []auth.APIKeyEntry{
			{Prefix: "alk_test", Hash: "sha256:61210fdb492c840f1838774b822c184083c4093c7cb93e6c2c33732ff3b8903c", Scopes: []string{"fs:read"}, Description: "CI key", ExpiresAt: &future},
			{Prefix: "alk_old1", Hash: auth.HashToken([]byte("alk_old1secret")), Scopes: []string{"fs:read"}, ExpiresAt: &past},
			{Prefix: "alk_free", Hash: auth.HashToken([]byte("alk_freeforever")), Scopes: []string{"a", "b"}},
		},
	}
	fps := []string{fp(1), certFP(1), strings.ToUpper(fp(1)), "ED25519:" + strings.TrimPrefix(fp(2), "ed25519:"), fp(2), fp(3), fp(99), "", "garbage", "sha256:" + strings.Repeat("0", 64)}
	tokens := []string{
		"peer-token-b", "alk_testdisabledpeer", "alk_0123456789abcdefghijABCDEFGHIJ",
		"alk_testsecret123", "alk_testwrong", "alk_old1secret", "alk_freeforever", "alk_nopeunknown",
		"alk_tes", "", strings.Repeat("x", 4097), "alk_test" + strings.Repeat("x", 4089), "PEER-TOKEN-B", " peer-token-b",
	}
	return pol, fps, tokens
}

// PSTORE-T37
func TestSameAnswersAsConfigProvider(t *testing.T) {
	t.Parallel()
	pol, fps, tokens := sharedPolicy()
	dyn, err := config.NewDynamic(config.DynamicConfig{Auth: pol}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := auth.NewConfigIdentityProvider(dyn)

	s, _ := newStore(t)
	ctx := t.Context()
	for _, p := range pol.Peers {
		if err := s.Identities().PutPeer(ctx, p); err != nil {
			t.Fatalf("PutPeer(%s): %v", p.PeerID, err)
		}
	}
	for _, k := range pol.APIKeys {
		if _, err := s.APIKeys().Import(ctx, k); err != nil {
			t.Fatalf("Import(%s): %v", k.Prefix, err)
		}
	}
	for _, f := range fps {
		want, wok := cfg.ResolveFingerprint(ctx, f)
		got, gok := s.Identities().ResolveFingerprint(ctx, f)
		if wok != gok || !reflect.DeepEqual(want, got) {
			t.Errorf("ResolveFingerprint(%q): store %+v %v, config %+v %v", f, got, gok, want, wok)
		}
	}
	// ConfigIdentityProvider resolves at time.Now(); the store's Clock is time.Now too, and the
	// expiry times above are far from now. The compiled policies are also compared at fixed
	// instants, before and after an expiry.
	at := []time.Time{time.Unix(0, 0), time.Unix(1, 0), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, tok := range tokens {
		want, wok := cfg.ResolveToken(ctx, auth.NewAuthToken([]byte(tok)))
		got, gok := resolveToken(s, tok)
		if wok != gok || !reflect.DeepEqual(want, got) {
			t.Errorf("ResolveToken(%.20q): store %+v %v, config %+v %v", tok, got, gok, want, wok)
		}
		for _, now := range at {
			want, wok := dyn.Policy().ResolveToken([]byte(tok), now)
			got, gok := s.Identities().Policy().ResolveToken([]byte(tok), now)
			if wok != gok || !reflect.DeepEqual(want, got) {
				t.Errorf("Policy.ResolveToken(%.20q, %v): store %+v %v, config %+v %v", tok, now, got, gok, want, wok)
			}
		}
	}
	// The table must exercise both answers on every path, or "identical" proves nothing: these
	// rows resolve (both providers agree above, so checking the store suffices) ...
	for in, want := range map[string]string{fp(1): "worker-a", certFP(1): "worker-a", strings.ToUpper(fp(1)): "worker-a", fp(2): "worker-b"} {
		if id, ok := s.Identities().ResolveFingerprint(ctx, in); !ok || id.ID != want || id.Origin != auth.OriginPeer {
			t.Errorf("ResolveFingerprint(%q) = %+v, %v; want %s", in, id, ok, want)
		}
	}
	for in, want := range map[string]string{"peer-token-b": "worker-b", "alk_0123456789abcdefghijABCDEFGHIJ": "browser-alice", "alk_testsecret123": "alk_test", "alk_freeforever": "alk_free"} {
		origin := auth.OriginPeer
		if strings.HasPrefix(want, "alk_") {
			origin = auth.OriginAPIKey
		}
		if id, ok := resolveToken(s, in); !ok || id.ID != want || id.Origin != origin {
			t.Errorf("ResolveToken(%q) = %+v, %v; want %s", in, id, ok, want)
		}
	}
	// ... and these do not: disabled peer (fingerprint and alk_-shaped token), expired key,
	// wrong hash, unknown prefix, upper-cased peer token.
	if _, ok := s.Identities().ResolveFingerprint(ctx, fp(3)); ok {
		t.Errorf("disabled peer's fingerprint resolves")
	}
	for _, in := range []string{"alk_testdisabledpeer", "alk_old1secret", "alk_testwrong", "alk_nopeunknown", "PEER-TOKEN-B"} {
		if id, ok := resolveToken(s, in); ok {
			t.Errorf("ResolveToken(%q) = %+v, want not recognized", in, id)
		}
	}
	// The sources agree too (same canonical policy).
	if got, want := s.Identities().Policy().Source(), dyn.Policy().Source(); !reflect.DeepEqual(normalizePolicy(got), normalizePolicy(want)) {
		t.Errorf("Source differs:\nstore  %+v\nconfig %+v", got, want)
	}
	_ = sqlitestore.ChannelPeers
}

func normalizePolicy(p auth.AuthPolicy) auth.AuthPolicy {
	slices.SortFunc(p.Peers, func(a, b auth.PeerEntry) int { return strings.Compare(a.PeerID, b.PeerID) })
	slices.SortFunc(p.APIKeys, func(a, b auth.APIKeyEntry) int { return strings.Compare(a.Prefix, b.Prefix) })
	for i := range p.Peers {
		if len(p.Peers[i].Resources) == 0 {
			p.Peers[i].Resources = nil
		}
		if p.Peers[i].Enabled != nil && *p.Peers[i].Enabled {
			p.Peers[i].Enabled = nil
		}
	}
	return p
}
