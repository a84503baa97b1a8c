package auth_test

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
)

// CORE-T901: fingerprint path.
func TestResolveFingerprint(t *testing.T) {
	t.Parallel()
	p := mustCompile(t, samplePolicy())
	for _, fp := range []string{keyFP("worker-a-1"), keyFP("worker-a-2"), upperHex(keyFP("worker-a-2")), "ED25519:" + keyFP("worker-a-1")[8:]} {
		id, ok := p.ResolveFingerprint(fp)
		if !ok || id.ID != "worker-a" || id.Origin != auth.OriginPeer {
			t.Errorf("ResolveFingerprint(%s) = %+v, %v; want worker-a", fp, id, ok)
		}
		if !id.HasScope("docker:start") || len(id.Resources["service"]) != 2 {
			t.Errorf("ResolveFingerprint(%s) grants = %v %v", fp, id.Scopes, id.Resources)
		}
	}
	for _, fp := range []string{keyFP("alice"), keyFP("stranger"), "", "garbage", "SHA256:" + strings.Repeat("0", 64)} {
		if id, ok := p.ResolveFingerprint(fp); ok {
			t.Errorf("ResolveFingerprint(%q) = %+v, want not recognized", fp, id)
		}
	}
}

// Issue: key rotation changes a fingerprint and never the peer_id (CORE-R901, §10.2).
func TestRotationKeepsPeerID(t *testing.T) {
	t.Parallel()
	old, newer := keyFP("node-key-2025"), keyFP("node-key-2026")
	pol := auth.AuthPolicy{Peers: []auth.PeerEntry{{PeerID: "worker-b", Fingerprints: []string{old}, Scopes: []string{"fs:read"}}}}
	before := mustCompile(t, pol)
	// Overlap: add the new fingerprint, then drop the old one.
	pol.Peers[0].Fingerprints = []string{old, newer}
	during := mustCompile(t, pol)
	pol.Peers[0].Fingerprints = []string{newer}
	after := mustCompile(t, pol)

	idOld, _ := before.ResolveFingerprint(old)
	for name, c := range map[string]struct {
		p  *auth.Policy
		fp string
	}{"during/old": {during, old}, "during/new": {during, newer}, "after/new": {after, newer}} {
		id, ok := c.p.ResolveFingerprint(c.fp)
		if !ok || id.ID != "worker-b" || !id.SameGrants(idOld) {
			t.Errorf("%s: ResolveFingerprint = %+v, %v; want worker-b with the same grants", name, id, ok)
		}
	}
	if id, ok := after.ResolveFingerprint(old); ok {
		t.Errorf("retired fingerprint still resolves to %q", id.ID)
	}
	if got := auth.RevokedIDs(before, time.Unix(0, 0), after, time.Unix(0, 0)); len(got) != 0 {
		t.Errorf("rotation revoked %v, want nothing", got)
	}
}

// Issue: an unknown client key resolves to no identity and never to a peer's.
func TestUnknownKeyResolvesToNobody(t *testing.T) {
	t.Parallel()
	p := mustCompile(t, samplePolicy())
	for i := range 200 {
		fp := keyFP("stranger-" + string(rune('a'+i%26)) + strings.Repeat("x", i))
		if id, ok := p.ResolveFingerprint(fp); ok || id.ID != "" || id.Scopes != nil {
			t.Fatalf("unknown key %s resolved to %+v, %v", fp, id, ok)
		}
	}
	// A fingerprint of the other kind with the same hex is a different credential.
	hex := keyFP("worker-a-1")[len("ed25519:"):]
	if id, ok := p.ResolveFingerprint("SHA256:" + hex); ok {
		t.Fatalf("SHA256 form of a key fingerprint resolved to %q", id.ID)
	}
}

// CORE-T902: a peer's bearer token resolves to the same identity as its fingerprints.
func TestResolvePeerToken(t *testing.T) {
	t.Parallel()
	pol := samplePolicy()
	pol.Peers[0].AuthTokenHash = auth.HashToken([]byte("worker-a-token"))
	p := mustCompile(t, pol)
	byFP, _ := p.ResolveFingerprint(keyFP("worker-a-1"))
	byTok, ok := p.ResolveToken([]byte("worker-a-token"), time.Now())
	if !ok || byTok.ID != "worker-a" || byTok.Origin != auth.OriginPeer || !byTok.SameGrants(byFP) {
		t.Fatalf("ResolveToken = %+v, %v; want %+v", byTok, ok, byFP)
	}
	if id, ok := p.ResolveToken([]byte(peerToken), time.Now()); ok {
		t.Fatalf("disabled peer's token resolved to %+v", id)
	}
	if id, ok := p.ResolveToken([]byte("hub-token"), time.Now()); !ok || id.ID != "hub.example" {
		t.Fatalf("token-only peer = %+v, %v", id, ok)
	}
}

// CORE-T903: API keys.
func TestResolveAPIKey(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	pol := samplePolicy()
	p := mustCompile(t, pol)
	id, ok := p.ResolveToken([]byte(apiToken), now)
	if !ok || id.ID != "alk_test" || id.Origin != auth.OriginAPIKey || !id.HasScope("fs:read") {
		t.Fatalf("ResolveToken(api key) = %+v, %v", id, ok)
	}
	b, _ := json.Marshal(id)
	if string(b) != `{"id":"alk_test","scopes":["fs:read"],"resources":{}}` {
		t.Fatalf("API-key identity JSON = %s", b)
	}
	for name, exp := range map[string]struct {
		at   int64
		want bool
	}{"now": {now.Unix(), false}, "past": {now.Unix() - 1, false}, "future": {now.Unix() + 1, true}} {
		pol := samplePolicy()
		pol.APIKeys[0].ExpiresAt = ptr(exp.at)
		_, ok := mustCompile(t, pol).ResolveToken([]byte(apiToken), now)
		if ok != exp.want {
			t.Errorf("expires_at %s: recognized = %v, want %v", name, ok, exp.want)
		}
	}
	bad := map[string][]byte{
		"wrong hash":          []byte("alk_testsecret124"),
		"unknown prefix":      []byte("alk_tesxsecret123"),
		"7 bytes":             []byte("alk_tes"),
		"exactly the prefix":  []byte("alk_test"),
		"empty":               {},
		"nil":                 nil,
		"4097 bytes":          append([]byte(apiToken), make([]byte, 4097-len(apiToken))...),
		"no alk_ prefix":      []byte("xlk_testsecret123"),
		"upper-case":          []byte("ALK_TESTSECRET123"),
		"trailing newline":    []byte(apiToken + "\n"),
		"leading space":       []byte(" " + apiToken),
		"prefix of the token": []byte(apiToken[:12]),
	}
	for name, tok := range bad {
		if id, ok := p.ResolveToken(tok, now); ok {
			t.Errorf("%s: ResolveToken resolved to %+v", name, id)
		}
	}
	// 4096 bytes is still looked at: a peer token of that length resolves.
	long := []byte(strings.Repeat("p", auth.MaxTokenLen))
	pol = samplePolicy()
	pol.Peers[2].AuthTokenHash = auth.HashToken(long)
	if id, ok := mustCompile(t, pol).ResolveToken(long, now); !ok || id.ID != "hub.example" {
		t.Errorf("4096-byte token = %+v, %v; want hub.example", id, ok)
	}
}

// CORE-T904: HashToken vectors.
func TestHashToken(t *testing.T) {
	t.Parallel()
	for tok, want := range map[string]string{apiToken: apiTokenHash, peerToken: peerTokHash} {
		if got := auth.HashToken([]byte(tok)); got != want {
			t.Errorf("HashToken(%q) = %s, want %s", tok, got, want)
		}
	}
}

// CORE-T906: every problem is reported at once with its field path, in document order.
func TestValidation(t *testing.T) {
	t.Parallel()
	good := keyFP("good")
	pol := auth.AuthPolicy{
		Peers: []auth.PeerEntry{
			{PeerID: "dup", Fingerprints: []string{good}, Scopes: []string{"a"}},
			{PeerID: "dup", Fingerprints: []string{upperHex(good)}, Scopes: []string{"a"}}, // duplicate id; fingerprint in two peers
			{PeerID: "bad-fp", Fingerprints: []string{"ed25519:xyz"}},                      // malformed fingerprint
			{PeerID: "bad-hash", AuthTokenHash: "sha256:ABC"},                              // malformed token hash
			{PeerID: "hash-a", AuthTokenHash: peerTokHash},                                 //
			{PeerID: "hash-b", AuthTokenHash: peerTokHash},                                 // duplicate token hash
			{PeerID: "hash-c", AuthTokenHash: apiTokenHash},                                // collides with an API key hash
			{PeerID: "Upper", Fingerprints: []string{keyFP("u")}},                          // upper case
			{PeerID: "under_score", Fingerprints: []string{keyFP("us")}},                   // underscore
			{PeerID: strings.Repeat("a", 64), Fingerprints: []string{keyFP("long")}},       // 64 characters
			{PeerID: "no-creds"}, // enabled without credentials
			{PeerID: "spaced", Fingerprints: []string{keyFP("sp")}, Scopes: []string{"fs read"}},               // scope with a space
			{PeerID: "res", Fingerprints: []string{keyFP("res")}, Resources: map[string][]string{"svc": {""}}}, // empty resource name
		},
		APIKeys: []auth.APIKeyEntry{
			{Prefix: "alk_test", Hash: apiTokenHash},
			{Prefix: "alk_test", Hash: auth.HashToken([]byte("alk_testother"))}, // duplicate prefix
			{Prefix: "alk_tes", Hash: auth.HashToken([]byte("x"))},              // 7 characters
			{Prefix: "key_abcd", Hash: auth.HashToken([]byte("y"))},             // no alk_
			{Prefix: "alk_good", Hash: "sha256:zz"},                             // malformed hash
			{Prefix: "alk_neg1", Hash: auth.HashToken([]byte("z")), ExpiresAt: ptr(int64(-1))},
		},
	}
	_, err := auth.Compile(pol)
	if alkerr.CodeOf(err) != alkerr.CodeConfigInvalid {
		t.Fatalf("Compile code = %q (%v), want CONFIG_INVALID", alkerr.CodeOf(err), err)
	}
	want := []string{
		"peers[1].peer_id: duplicate peer id",
		"peers[1].fingerprints[0]: fingerprint " + good + " is already used by peers[0].fingerprints[0]",
		"peers[2].fingerprints[0]:",
		"peers[3].auth_token_hash: must be",
		"peers[5].auth_token_hash: same token hash as peers[4]",
		"peers[6].auth_token_hash: same token hash as api_keys[0]",
		"peers[7].peer_id:",
		"peers[8].peer_id:",
		"peers[9].peer_id:",
		"peers[10]: an enabled peer needs",
		"peers[11].scopes[0]:",
		"peers[12].resources.svc[0]:",
		"api_keys[1].prefix: duplicate prefix",
		"api_keys[2].prefix:",
		"api_keys[3].prefix:",
		"api_keys[4].hash:",
		"api_keys[5].expires_at:",
	}
	msg := err.Error()
	last := -1
	for _, w := range want {
		i := strings.Index(msg, w)
		if i < 0 {
			t.Errorf("error lacks %q:\n%s", w, msg)
			continue
		}
		if i < last {
			t.Errorf("%q reported out of document order", w)
		}
		last = i
	}
	probs := auth.Validate(pol)
	if len(probs) != len(want) {
		t.Errorf("Validate reported %d problems, want %d: %v", len(probs), len(want), probs)
	}
	// CORE-R1007: messages never include token hashes.
	for _, h := range []string{peerTokHash, apiTokenHash} {
		if strings.Contains(msg, h[:20]) {
			t.Errorf("error message contains a token hash: %s", msg)
		}
	}
	if !errors.Is(err, alkerr.New(alkerr.CodeConfigInvalid, "")) {
		t.Error("errors.Is does not match CONFIG_INVALID")
	}
}

// CORE-R1001..R1005: edge cases that are valid.
func TestValidationAccepts(t *testing.T) {
	t.Parallel()
	pol := auth.AuthPolicy{
		Peers: []auth.PeerEntry{
			{PeerID: "0", Fingerprints: []string{keyFP("0")}},
			{PeerID: strings.Repeat("a", 63), Fingerprints: []string{keyFP("63")}},
			{PeerID: "a.b-c", Enabled: ptr(false)}, // disabled peers need no credentials
			{PeerID: "dupscopes", Fingerprints: []string{upperHex(keyFP("d"))}, Scopes: []string{"x", "y", "x"}},
		},
		APIKeys: []auth.APIKeyEntry{{Prefix: "alk_!~#0", Hash: auth.HashToken([]byte("alk_!~#0rest")), ExpiresAt: ptr(int64(0))}},
	}
	p := mustCompile(t, pol)
	src := p.Source()
	if got := src.Peers[3].Scopes; len(got) != 2 || got[0] != "x" || got[1] != "y" {
		t.Errorf("duplicate scopes kept: %v", got)
	}
	if got := src.Peers[3].Fingerprints[0]; got != keyFP("d") {
		t.Errorf("fingerprint stored as %s, want canonical %s", got, keyFP("d"))
	}
	if pol.Peers[3].Fingerprints[0] == keyFP("d") || len(pol.Peers[3].Scopes) != 3 {
		t.Error("Compile modified its input")
	}
	if _, ok := p.ResolveToken([]byte("alk_!~#0rest"), time.Unix(0, 0)); ok {
		t.Error("key with expires_at 0 resolved at time 0")
	}
	if _, err := auth.Compile(auth.AuthPolicy{}); err != nil {
		t.Errorf("empty policy: %v", err)
	}
}

// CORE-T909, CORE-R903: identities handed out are copies; Source is a deep copy.
func TestResolvedIdentityIsCopy(t *testing.T) {
	t.Parallel()
	p := mustCompile(t, samplePolicy())
	id, _ := p.ResolveFingerprint(keyFP("worker-a-1"))
	id.Scopes[0] = "admin"
	id.Resources["service"][0] = "evil"
	id.Resources["new"] = []string{"x"}
	again, _ := p.ResolveFingerprint(keyFP("worker-a-1"))
	if again.HasScope("admin") || again.Resources["service"][0] != "gitea" || len(again.Resources) != 1 {
		t.Fatalf("mutation leaked into the policy: %+v", again)
	}
	src := p.Source()
	src.Peers[0].Scopes[0] = "admin"
	src.Peers[0].Fingerprints[0] = keyFP("other")
	if _, ok := p.ResolveFingerprint(keyFP("worker-a-1")); !ok || p.Source().Peers[0].Scopes[0] == "admin" {
		t.Fatal("mutating Source changed the policy")
	}
	var nilPolicy *auth.Policy
	if _, ok := nilPolicy.ResolveFingerprint(keyFP("worker-a-1")); ok {
		t.Fatal("nil policy recognized a fingerprint")
	}
	if _, ok := nilPolicy.ResolveToken([]byte(apiToken), time.Now()); ok {
		t.Fatal("nil policy recognized a token")
	}
}

// CORE-T910: RevokedIDs.
func TestRevokedIDs(t *testing.T) {
	t.Parallel()
	t0, t1 := time.Unix(1000, 0), time.Unix(2000, 0)
	base := func() auth.AuthPolicy {
		return auth.AuthPolicy{
			Peers: []auth.PeerEntry{
				{PeerID: "removed", Fingerprints: []string{keyFP("r")}},
				{PeerID: "disabled", Fingerprints: []string{keyFP("d")}},
				{PeerID: "rescoped", Fingerprints: []string{keyFP("s")}, Scopes: []string{"a"}},
				{PeerID: "gained-fp", Fingerprints: []string{keyFP("g")}},
				{PeerID: "reordered", Fingerprints: []string{keyFP("o")}, Scopes: []string{"a", "b"}},
				{PeerID: "reresourced", Fingerprints: []string{keyFP("rr")}, Resources: map[string][]string{"svc": {"a"}}},
			},
			APIKeys: []auth.APIKeyEntry{
				{Prefix: "alk_gone", Hash: auth.HashToken([]byte("alk_gone1"))},
				{Prefix: "alk_keep", Hash: auth.HashToken([]byte("alk_keep1"))},
				{Prefix: "alk_expr", Hash: auth.HashToken([]byte("alk_expr1")), ExpiresAt: ptr(int64(1500))},
				{Prefix: "alk_roll", Hash: auth.HashToken([]byte("alk_roll1"))},
			},
		}
	}
	oldP := mustCompile(t, base())
	next := base()
	next.Peers = next.Peers[1:]                   // "removed" removed
	next.Peers[0].Enabled = ptr(false)            // "disabled"
	next.Peers[1].Scopes = []string{"a", "admin"} // "rescoped"
	next.Peers[2].Fingerprints = append(next.Peers[2].Fingerprints, keyFP("g2"))
	next.Peers[3].Scopes = []string{"b", "a", "b"}
	next.Peers[4].Resources = map[string][]string{"svc": {"b"}}
	next.Peers = append(next.Peers, auth.PeerEntry{PeerID: "added", Fingerprints: []string{keyFP("new")}})
	next.APIKeys = next.APIKeys[1:] // "alk_gone" removed
	next.APIKeys[2].Hash = auth.HashToken([]byte("alk_roll2"))
	newP := mustCompile(t, next)

	got := auth.RevokedIDs(oldP, t0, newP, t1)
	want := []string{"alk_expr", "alk_gone", "alk_roll", "disabled", "removed", "reresourced", "rescoped"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("RevokedIDs = %v, want %v", got, want)
	}
	// Same policy on both sides with two check times: the periodic expiry check.
	if got := auth.RevokedIDs(oldP, t0, oldP, t1); strings.Join(got, ",") != "alk_expr" {
		t.Fatalf("expiry check = %v, want [alk_expr]", got)
	}
	if got := auth.RevokedIDs(oldP, t0, oldP, t0); len(got) != 0 {
		t.Fatalf("unchanged policy revoked %v", got)
	}
	if got := auth.RevokedIDs(nil, t0, newP, t1); got == nil || len(got) != 0 {
		t.Fatalf("nil old = %#v, want empty", got)
	}
	if got := auth.RevokedIDs(oldP, t0, nil, t1); len(got) != 10 {
		t.Fatalf("everything removed: %v", got)
	}
}

// CORE-R1001: ValidPeerID agrees with ^[a-z0-9][a-z0-9.-]{0,62}$.
func TestValidPeerID(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{0,62}$`)
	cases := []string{"", "a", "0", "-a", ".a", "a-", "a.", "a_b", "A", "ab-c.d", "é", "a b", strings.Repeat("z", 63), strings.Repeat("z", 64), "a\x00"}
	for _, c := range cases {
		if got, want := auth.ValidPeerID(c), re.MatchString(c); got != want {
			t.Errorf("ValidPeerID(%q) = %v, want %v", c, got, want)
		}
	}
}
