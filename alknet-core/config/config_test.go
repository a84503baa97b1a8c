package config_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/config"
	"github.com/alknet/alknet/alknet-core/tlsconf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	fpA = "ed25519:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
	fpB = "ed25519:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func fp(i int) string { return fmt.Sprintf("ed25519:%064x", i+1) }

func peer(id, fingerprint string, scopes ...string) auth.PeerEntry {
	return auth.PeerEntry{PeerID: id, Fingerprints: []string{fingerprint}, Scopes: scopes}
}

func mustDynamic(t *testing.T, cfg config.DynamicConfig, log *slog.Logger) *config.Dynamic {
	t.Helper()
	d, err := config.NewDynamic(cfg, log)
	if err != nil {
		t.Fatalf("NewDynamic: %v", err)
	}
	return d
}

func wantInvalid(t *testing.T, err error, paths ...string) {
	t.Helper()
	if !errors.Is(err, config.ErrInvalid) || alkerr.CodeOf(err) != alkerr.CodeConfigInvalid {
		t.Fatalf("err = %v, want CONFIG_INVALID", err)
	}
	for _, p := range paths {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not name %q", err, p)
		}
	}
}

// CORE-T1101
func TestDecodeDynamicSample(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/dynamic.json")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.DecodeDynamic(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("DecodeDynamic(sample) = %v", err)
	}
	if len(cfg.Auth.Peers) != 2 || len(cfg.Auth.APIKeys) != 1 {
		t.Fatalf("decoded %d peers and %d keys", len(cfg.Auth.Peers), len(cfg.Auth.APIKeys))
	}
	if !cfg.Auth.Peers[0].IsEnabled() || cfg.Auth.Peers[1].IsEnabled() {
		t.Error("enabled flags wrong: absent must read as true, false as false")
	}
	if got := cfg.Auth.Peers[0].Resources["service"]; len(got) != 2 {
		t.Errorf("resources = %v", got)
	}
	if k := cfg.Auth.APIKeys[0]; k.ExpiresAt == nil || *k.ExpiresAt != 1893456000 || k.Description != "CI key" {
		t.Errorf("api key = %+v", k)
	}
	enc, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	again, err := config.DecodeDynamic(bytes.NewReader(enc))
	if err != nil {
		t.Fatalf("DecodeDynamic(re-encoded) = %v", err)
	}
	if !reflect.DeepEqual(again, cfg) {
		t.Fatalf("round trip differs:\n%+v\n%+v", again, cfg)
	}
}

// CORE-T1101, CORE-R1113
func TestDecodeDynamicDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := config.DecodeDynamic(strings.NewReader(`{"auth":{"peers":[{"peer_id":"a","fingerprints":["` + fpA + `"],"scopes":[]}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RateLimits.MaxConnectionsPerIP != 100 || cfg.RateLimits.MaxAuthAttempts != 5 {
		t.Errorf("rate limits = %+v, want 100/5", cfg.RateLimits)
	}
	if !cfg.Auth.Peers[0].IsEnabled() {
		t.Error("absent enabled is not enabled")
	}
	cfg, err = config.DecodeDynamic(strings.NewReader(`{"rate_limits":{"max_auth_attempts":0}}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RateLimits.MaxConnectionsPerIP != 100 || cfg.RateLimits.MaxAuthAttempts != 0 {
		t.Errorf("rate limits = %+v, want 100/0", cfg.RateLimits)
	}
	if err := (config.DynamicConfig{}).Validate(); err != nil {
		t.Errorf("DynamicConfig{}.Validate() = %v, want nil (0 = unlimited)", err)
	}
}

var badDocuments = []struct {
	name, doc string
	names     []string
}{
	{"singular fingerprint", `{"auth":{"peers":[{"peer_id":"a","fingerprint":"` + fpA + `","scopes":[]}]}}`, []string{"auth.peers[0].fingerprint", "fingerprints"}},
	{"unknown top-level", `{"auht":{}}`, []string{"auht"}},
	{"case-folded key", `{"Auth":{}}`, []string{"Auth", "case-sensitive"}},
	{"duplicate key", `{"rate_limits":{"max_auth_attempts":1,"max_auth_attempts":2}}`, []string{"rate_limits.max_auth_attempts", "twice"}},
	{"trailing data", `{} {}`, []string{"trailing"}},
	{"not JSON", `{"auth":`, []string{"JSON"}},
	{"wrong type", `{"rate_limits":{"max_connections_per_ip":"many"}}`, []string{"max_connections_per_ip"}},
	{"negative limit", `{"rate_limits":{"max_connections_per_ip":-1}}`, []string{"rate_limits.max_connections_per_ip"}},
	{"duplicate peer id", `{"auth":{"peers":[{"peer_id":"a","fingerprints":["` + fpA + `"],"scopes":[]},{"peer_id":"a","fingerprints":["` + fpB + `"],"scopes":[]}]}}`, []string{"auth.peers[1].peer_id"}},
	{"fingerprint in two peers", `{"auth":{"peers":[{"peer_id":"a","fingerprints":["` + fpA + `"],"scopes":[]},{"peer_id":"b","fingerprints":["` + fpA + `"],"scopes":[]}]}}`, []string{"auth.peers[1].fingerprints[0]"}},
	{"empty", ``, []string{"JSON"}},
	// A type error inside a list names the entry, not just the field.
	{"fractional expiry", `{"auth":{"api_keys":[{"prefix":"alk_aaaa","hash":"sha256:` + strings.Repeat("0", 64) + `","scopes":[]},{"prefix":"alk_test","hash":"sha256:` + strings.Repeat("1", 64) + `","scopes":[],"expires_at":1.5}]}}`, []string{"auth.api_keys[1].expires_at", "integer"}},
	{"number as peer id", `{"auth":{"peers":[{"peer_id":"a","fingerprints":["` + fpA + `"],"scopes":[]},{"peer_id":7,"fingerprints":[],"scopes":[]}]}}`, []string{"auth.peers[1].peer_id", "string"}},
	{"string in scopes", `{"auth":{"peers":[{"peer_id":"a","fingerprints":["` + fpA + `"],"scopes":["x",{}]}]}}`, []string{"auth.peers[0].scopes[1]", "string"}},
	{"enabled as string", `{"auth":{"peers":[{"peer_id":"a","fingerprints":["` + fpA + `"],"scopes":[],"enabled":"no"}]}}`, []string{"auth.peers[0].enabled", "true or false"}},
	{"object for a list", `{"auth":{"peers":{}}}`, []string{"auth.peers", "list"}},
	{"limit out of range", `{"rate_limits":{"max_auth_attempts":1e3}}`, []string{"rate_limits.max_auth_attempts", "integer"}},
}

// CORE-T1101, CORE-R1007, CORE-R1110: malformed or contradictory documents name the field.
func TestDecodeDynamicRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range badDocuments {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.DecodeDynamic(strings.NewReader(tc.doc))
			wantInvalid(t, err, tc.names...)
		})
	}
}

// CORE-R1007: every problem at once, in document order.
func TestValidateListsEveryProblem(t *testing.T) {
	t.Parallel()
	cfg := config.DynamicConfig{
		Auth: auth.AuthPolicy{Peers: []auth.PeerEntry{
			peer("Bad_ID", fpA),
			peer("b", "ed25519:zz"),
		}},
		RateLimits: config.RateLimitConfig{MaxConnectionsPerIP: -1, MaxAuthAttempts: -2},
	}
	err := cfg.Validate()
	wantInvalid(t, err, "auth.peers[0].peer_id", "auth.peers[1].fingerprints[0]",
		"rate_limits.max_connections_per_ip", "rate_limits.max_auth_attempts")
	msg := err.Error()
	if strings.Index(msg, "auth.peers[0]") > strings.Index(msg, "rate_limits") {
		t.Errorf("problems not in document order: %s", msg)
	}
}

// CORE-T1102
func TestReloadAddsAndRemovesPeer(t *testing.T) {
	t.Parallel()
	d := mustDynamic(t, config.DynamicConfig{}, nil)
	if _, ok := d.Policy().ResolveFingerprint(fpA); ok {
		t.Fatal("unknown fingerprint resolved")
	}
	h := d.ReloadHandle()
	cfg := config.DynamicConfig{Auth: auth.AuthPolicy{Peers: []auth.PeerEntry{peer("worker-a", fpA, "s")}}}
	if err := h.Reload(cfg, "local:test"); err != nil {
		t.Fatal(err)
	}
	if id, ok := d.Policy().ResolveFingerprint(fpA); !ok || id.ID != "worker-a" {
		t.Fatalf("after adding: %v, %v", id, ok)
	}
	if err := h.Reload(config.DynamicConfig{}, "local:test"); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Policy().ResolveFingerprint(fpA); ok {
		t.Fatal("removed peer still resolves")
	}
}

// CORE-T1103: an invalid reload changes nothing.
func TestInvalidReloadKeepsRunningConfig(t *testing.T) {
	t.Parallel()
	good := config.DynamicConfig{Auth: auth.AuthPolicy{Peers: []auth.PeerEntry{peer("worker-a", fpA, "s")}}}
	d := mustDynamic(t, good, nil)
	beforeCfg, beforePol := d.Current(), d.Policy()
	changed := d.Changed()
	bad := config.DynamicConfig{Auth: auth.AuthPolicy{Peers: []auth.PeerEntry{
		peer("worker-a", fpA), peer("worker-a", fpB),
	}}, RateLimits: config.RateLimitConfig{MaxAuthAttempts: -1}}
	err := d.ReloadHandle().Reload(bad, "local:test")
	wantInvalid(t, err, "auth.peers[1].peer_id", "rate_limits.max_auth_attempts")
	if d.Current() != beforeCfg || d.Policy() != beforePol {
		t.Fatal("a failed reload replaced the configuration")
	}
	if id, ok := d.Policy().ResolveFingerprint(fpA); !ok || id.ID != "worker-a" {
		t.Fatalf("resolution changed after a failed reload: %v, %v", id, ok)
	}
	select {
	case <-changed:
		t.Fatal("Changed fired for a failed reload")
	default:
	}
	if err := d.ReloadHandle().Reload(good, ""); alkerr.CodeOf(err) != alkerr.CodeConfigInvalid {
		t.Fatalf("Reload with empty actor = %v, want CONFIG_INVALID", err)
	}
}

// CORE-T1104: readers see one whole policy or the other, never a mix.
func TestReloadUnderConcurrentReaders(t *testing.T) {
	t.Parallel()
	one := config.DynamicConfig{Auth: auth.AuthPolicy{Peers: []auth.PeerEntry{
		peer("alpha", fpA, "one"), peer("beta", fpB, "one"),
	}}, RateLimits: config.RateLimitConfig{MaxConnectionsPerIP: 1}}
	two := config.DynamicConfig{Auth: auth.AuthPolicy{Peers: []auth.PeerEntry{
		peer("alpha", fpA, "two"), peer("beta", fpB, "two"),
	}}, RateLimits: config.RateLimitConfig{MaxConnectionsPerIP: 2}}
	d := mustDynamic(t, one, nil)
	h := d.ReloadHandle()
	stop := make(chan struct{}) // closed by the writer when done
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				pol := d.Policy()
				a, okA := pol.ResolveFingerprint(fpA)
				b, okB := pol.ResolveFingerprint(fpB)
				if !okA || !okB || a.Scopes[0] != b.Scopes[0] {
					t.Errorf("inconsistent policy: %v %v / %v %v", a, okA, b, okB)
					return
				}
				cfg := d.Current()
				if want := map[string]int{"one": 1, "two": 2}[cfg.Auth.Peers[0].Scopes[0]]; cfg.RateLimits.MaxConnectionsPerIP != want {
					t.Errorf("inconsistent configuration: %+v", cfg)
					return
				}
			}
		})
	}
	for i := range 1000 {
		cfg := one
		if i%2 == 0 {
			cfg = two
		}
		if err := h.Reload(cfg, "local:test"); err != nil {
			t.Error(err)
			break
		}
	}
	close(stop)
	wg.Wait()
}

// CORE-T1105
func TestConcurrentUpdates(t *testing.T) {
	t.Parallel()
	d := mustDynamic(t, config.DynamicConfig{}, nil)
	h := d.ReloadHandle()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			err := h.Update(func(c *config.DynamicConfig) error {
				c.Auth.Peers = append(c.Auth.Peers, peer(fmt.Sprintf("peer-%d", i), fp(i)))
				return nil
			}, "local:test")
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(h.Current().Auth.Peers); n != 50 {
		t.Fatalf("%d peers after 50 updates, want 50", n)
	}
	for i := range 50 {
		if id, ok := d.Policy().ResolveFingerprint(fp(i)); !ok || id.ID != fmt.Sprintf("peer-%d", i) {
			t.Errorf("peer-%d: %v, %v", i, id, ok)
		}
	}
	sentinel := errors.New("refused")
	before := d.Current()
	if err := h.Update(func(c *config.DynamicConfig) error {
		c.Auth.Peers = nil
		return sentinel
	}, "local:test"); !errors.Is(err, sentinel) {
		t.Fatalf("Update = %v, want fn's error", err)
	}
	if d.Current() != before {
		t.Fatal("a failed Update changed the configuration")
	}
}

// CORE-T1106, CORE-R1111
func TestReloadCopiesInput(t *testing.T) {
	t.Parallel()
	cfg := config.DynamicConfig{Auth: auth.AuthPolicy{Peers: []auth.PeerEntry{peer("worker-a", fpA, "s")}}}
	d := mustDynamic(t, cfg, nil)
	cfg.Auth.Peers[0].Scopes[0] = "mutated"
	cfg.Auth.Peers[0].PeerID = "other"
	if got := d.Current().Auth.Peers[0]; got.PeerID != "worker-a" || got.Scopes[0] != "s" {
		t.Fatalf("NewDynamic kept a reference: %+v", got)
	}
	next := config.DynamicConfig{Auth: auth.AuthPolicy{Peers: []auth.PeerEntry{peer("worker-b", fpB, "t")}}}
	if err := d.ReloadHandle().Reload(next, "local:test"); err != nil {
		t.Fatal(err)
	}
	next.Auth.Peers[0].Scopes[0] = "mutated"
	next.Auth.Peers[0].Fingerprints[0] = fpA
	if got := d.Current().Auth.Peers[0]; got.Scopes[0] != "t" || got.Fingerprints[0] != fpB {
		t.Fatalf("Reload kept a reference: %+v", got)
	}
	if id, ok := d.Policy().ResolveFingerprint(fpB); !ok || id.Scopes[0] != "t" {
		t.Fatalf("policy changed through the caller's copy: %v, %v", id, ok)
	}
}

// CORE-T1107
func TestChangedOncePerReload(t *testing.T) {
	t.Parallel()
	d := mustDynamic(t, config.DynamicConfig{}, nil)
	h := d.ReloadHandle()
	for i := range 3 {
		ch := d.Changed()
		if err := h.Reload(config.DynamicConfig{Auth: auth.AuthPolicy{Peers: []auth.PeerEntry{peer("p", fp(i))}}}, "local:test"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch:
		default:
			t.Fatalf("reload %d did not close the Changed channel", i)
		}
		next := d.Changed()
		if next == ch {
			t.Fatal("Changed returned the closed channel again")
		}
		_ = h.Reload(config.DynamicConfig{RateLimits: config.RateLimitConfig{MaxAuthAttempts: -1}}, "local:test")
		select {
		case <-next:
			t.Fatal("a failed reload fired Changed")
		default:
		}
	}
}

// CORE-R1123: one info record per reload with actor, counts and peer ids, never hashes.
func TestReloadLog(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: &buf, mu: &mu}, nil))
	start := config.DynamicConfig{Auth: auth.AuthPolicy{Peers: []auth.PeerEntry{peer("stays", fpA, "x"), peer("goes", fpB)}}}
	d := mustDynamic(t, start, log)
	next := start.Clone()
	next.Auth.Peers = next.Auth.Peers[:1]
	next.Auth.Peers[0].Scopes = []string{"y"}
	next.Auth.Peers = append(next.Auth.Peers, auth.PeerEntry{
		PeerID: "new", Scopes: []string{}, AuthTokenHash: "sha256:7ec7cb477fca72416a3809813a0df5c20de2ac67673ee45f090f9e0a487de7e6",
	})
	next.Auth.APIKeys = []auth.APIKeyEntry{{Prefix: "alk_test", Hash: "sha256:61210fdb492c840f1838774b822c184083c4093c7cb93e6c2c33732ff3b8903c", Scopes: []string{"a"}}}
	if err := d.ReloadHandle().Reload(next, "local:sighup"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	var rec struct {
		Level   string   `json:"level"`
		Actor   string   `json:"actor"`
		Peers   int      `json:"peers"`
		APIKeys int      `json:"api_keys"`
		Added   []string `json:"peers_added"`
		Removed []string `json:"peers_removed"`
		Changed []string `json:"peers_changed"`
	}
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatalf("log record %q: %v", out, err)
	}
	if rec.Level != "INFO" || rec.Actor != "local:sighup" || rec.Peers != 2 || rec.APIKeys != 1 ||
		!reflect.DeepEqual(rec.Added, []string{"new"}) || !reflect.DeepEqual(rec.Removed, []string{"goes"}) ||
		!reflect.DeepEqual(rec.Changed, []string{"stays"}) {
		t.Errorf("log record = %+v", rec)
	}
	for _, secret := range []string{"sha256:", "7ec7cb47", "61210fdb"} {
		if strings.Contains(out, secret) {
			t.Errorf("reload log contains %q: %s", secret, out)
		}
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// CORE-R1122: network reloads need an authenticated admin.
func TestAuthorizeReload(t *testing.T) {
	t.Parallel()
	if _, err := config.AuthorizeReload(nil); !errors.Is(err, auth.ErrAuthRequired) {
		t.Errorf("anonymous: %v, want AUTH_REQUIRED", err)
	}
	if _, err := config.AuthorizeReload(&auth.Identity{ID: "worker-a", Scopes: []string{"fs:read"}}); !errors.Is(err, auth.ErrAuthRequired) {
		t.Errorf("without admin: %v, want AUTH_REQUIRED", err)
	}
	actor, err := config.AuthorizeReload(&auth.Identity{ID: "ops", Scopes: []string{auth.ScopeAdmin}})
	if err != nil || actor != "ops" {
		t.Errorf("admin: %q, %v", actor, err)
	}
}

// CORE-T1108, CORE-R1102
func TestStaticValidate(t *testing.T) {
	t.Parallel()
	key, err := tlsconf.GenerateEd25519Key()
	if err != nil {
		t.Fatal(err)
	}
	good := config.StaticConfig{ListenAddr: "127.0.0.1:0", TLS: tlsconf.Identity{Kind: tlsconf.KindRawKey, Key: key}}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	cases := []struct {
		name  string
		mod   func(*config.StaticConfig)
		names []string
	}{
		{"missing address", func(c *config.StaticConfig) { c.ListenAddr = "" }, []string{"ListenAddr"}},
		{"unparsable address", func(c *config.StaticConfig) { c.ListenAddr = "localhost" }, []string{"ListenAddr"}},
		{"bad port", func(c *config.StaticConfig) { c.ListenAddr = "127.0.0.1:70000" }, []string{"ListenAddr"}},
		{"raw key without key", func(c *config.StaticConfig) { c.TLS.Key = nil }, []string{"TLS.Key"}},
		{"x509 without files", func(c *config.StaticConfig) { c.TLS = tlsconf.Identity{Kind: tlsconf.KindX509} }, []string{"TLS.CertFile", "TLS.KeyFile"}},
		{"no identity", func(c *config.StaticConfig) { c.TLS = tlsconf.Identity{} }, []string{"TLS.Kind"}},
		{"negative drain", func(c *config.StaticConfig) { c.DrainTimeout = -time.Second }, []string{"DrainTimeout"}},
		{"negative streams", func(c *config.StaticConfig) { c.QUIC.MaxIncomingStreams = -1 }, []string{"QUIC.MaxIncomingStreams"}},
		{"two uni streams", func(c *config.StaticConfig) { c.QUIC.MaxIncomingUniStreams = 2 }, []string{"QUIC.MaxIncomingUniStreams"}},
		{"streams above 2^60", func(c *config.StaticConfig) { c.QUIC.MaxIncomingStreams = 1<<60 + 1 }, []string{"QUIC.MaxIncomingStreams"}},
		{"negative idle", func(c *config.StaticConfig) { c.QUIC.MaxIdleTimeout = -1 }, []string{"QUIC.MaxIdleTimeout"}},
		{"everything", func(c *config.StaticConfig) { c.ListenAddr = ""; c.TLS.Key = nil; c.QUIC.HandshakeIdleTimeout = -1 },
			[]string{"ListenAddr", "TLS.Key", "QUIC.HandshakeIdleTimeout"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.mod(&c)
			err := c.Validate()
			wantInvalid(t, err, tc.names...)
			last := -1
			for _, name := range tc.names { // problems come in field order
				i := strings.Index(err.Error(), name)
				if i < last {
					t.Errorf("%q out of order in %q", name, err)
				}
				last = i
			}
		})
	}
	for _, ok := range []func(*config.StaticConfig){
		func(c *config.StaticConfig) { c.QUIC.KeepAlivePeriod = -1 },
		func(c *config.StaticConfig) { c.QUIC.MaxIncomingUniStreams = 3 },
		func(c *config.StaticConfig) { c.QUIC.MaxIncomingStreams = 1 << 60 },
		func(c *config.StaticConfig) { c.ListenAddr = "[::1]:4433" },
		func(c *config.StaticConfig) {
			c.TLS = tlsconf.Identity{Kind: tlsconf.KindACME, ACME: &tlsconf.ACMEConfig{}}
		},
		func(c *config.StaticConfig) { c.TLS = tlsconf.Identity{Kind: tlsconf.KindSelfSigned} },
	} {
		c := good
		ok(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v, want nil", c.QUIC, err)
		}
	}
}

// CORE-T1108, CORE-R1103
func TestStaticDefaults(t *testing.T) {
	t.Parallel()
	var c config.StaticConfig
	d := c.WithDefaults()
	if c.DrainTimeout != 0 {
		t.Fatal("WithDefaults changed the receiver")
	}
	want := config.QUICSettings{
		HandshakeIdleTimeout: 5 * time.Second, MaxIdleTimeout: 30 * time.Second, KeepAlivePeriod: 15 * time.Second,
		MaxIncomingStreams: 4096, MaxIncomingUniStreams: 16, UDPReceiveBuffer: 7 << 20, UDPSendBuffer: 7 << 20,
	}
	if d.DrainTimeout != 2*time.Second || d.QUIC != want {
		t.Fatalf("defaults = %v %+v", d.DrainTimeout, d.QUIC)
	}
	c.QUIC.KeepAlivePeriod = -1
	if got := c.WithDefaults().QUIC.KeepAlivePeriod; got != -1 {
		t.Fatalf("negative keep-alive became %v", got)
	}
}

func FuzzDecodeDynamic(f *testing.F) {
	raw, err := os.ReadFile("testdata/dynamic.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	for _, tc := range badDocuments {
		f.Add([]byte(tc.doc))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := config.DecodeDynamic(bytes.NewReader(b))
		if err != nil {
			if alkerr.CodeOf(err) != alkerr.CodeConfigInvalid {
				t.Fatalf("DecodeDynamic(%q) = %v, not CONFIG_INVALID", b, err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("decoded configuration fails Validate: %v", err)
		}
		enc, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		again, err := config.DecodeDynamic(bytes.NewReader(enc))
		if err != nil {
			t.Fatalf("re-decoding %s: %v", enc, err)
		}
		if !reflect.DeepEqual(again, cfg) {
			t.Fatalf("round trip of %q differs:\n%+v\n%+v", b, again, cfg)
		}
	})
}
