package node_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/alknet/alknet/alknet-cli/internal/client"
	"github.com/alknet/alknet/alknet-cli/internal/config"
	"github.com/alknet/alknet/alknet-cli/internal/node"
	"github.com/alknet/alknet/alknet-cli/internal/output"
	"github.com/alknet/alknet/alknet-cli/internal/paths"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/fingerprint"
	"github.com/alknet/alknet/alknet-core/tlsconf"
	"github.com/alknet/alknet/alknet-peer-store-sqlite/sqlitestore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type running struct {
	ready node.ReadyInfo
	done  chan error
	stop  context.CancelFunc
	st    *sqlitestore.Store
}

// start runs a node on 127.0.0.1:0 with an ephemeral key and a store in t.TempDir().
func start(t *testing.T, edit func(*config.Config)) *running {
	t.Helper()
	dir := t.TempDir()
	layout, err := paths.Resolve(paths.Path{Path: filepath.Join(dir, "config.toml"), Source: paths.FromFlag}, dir, paths.Settings{}, paths.Env{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlitestore.Open(t.Context(), sqlitestore.Options{Path: layout.Store.Path, Create: true, AutoMigrate: true, PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	key, err := tlsconf.GenerateEd25519Key()
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Limits.DrainTimeout = config.Duration(500 * time.Millisecond)
	if edit != nil {
		edit(cfg)
	}
	ready := filepath.Join(dir, "ready.json")
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{done: make(chan error, 1), stop: cancel, st: st}
	go func() {
		r.done <- node.Run(ctx, node.Params{
			Config: cfg, Layout: layout, Log: slog.New(slog.DiscardHandler), Listen: "127.0.0.1:0", ReadyFile: ready,
			Store: st, TLS: tlsconf.Identity{Kind: tlsconf.KindRawKey, Key: key}, Fingerprint: fingerprint.FromEd25519(key.Public()),
			Version: "test", StartedAt: time.Now(),
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
		st.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, err := os.ReadFile(ready); err == nil && json.Unmarshal(b, &r.ready) == nil {
			return r
		}
		select {
		case err := <-r.done:
			t.Fatalf("node stopped before ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("node not ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func dial(t *testing.T, r *running) *client.Client {
	t.Helper()
	cl, err := client.Dial(t.Context(), client.Options{Addr: r.ready.Listen, Pins: []string{r.ready.Fingerprint}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// CLI-R44: the built-ins as an anonymous caller sees them.
func TestBuiltins(t *testing.T) {
	r := start(t, nil)
	cl := dial(t, r)
	out, err := cl.Call(t.Context(), "/node/ping", json.RawMessage(`{"x":[1,2]}`))
	if err != nil || !strings.HasPrefix(string(out), `{"echo":{"x":[1,2]},"time":"`) {
		t.Fatalf("ping = %s, %v", out, err)
	}
	out, err = cl.Call(t.Context(), "/node/whoami", json.RawMessage(`null`))
	if err != nil || string(out) != `{"forwarded_for":null,"id":null,"origin":null,"scopes":[]}` {
		t.Fatalf("whoami = %s, %v", out, err)
	}
	big := json.RawMessage(`"` + strings.Repeat("a", 70<<10) + `"`)
	if _, err := cl.Call(t.Context(), "/node/ping", big); output.Classify(err).Details["remote_code"] != "INVALID_INPUT" {
		t.Fatalf("oversized ping: %v", err)
	}
	for _, op := range []string{"/node/info", "/node/peers", "/node/wait"} {
		if _, err := cl.Call(t.Context(), op, json.RawMessage(`{}`)); output.Classify(err).Code != output.CodeForbidden {
			t.Errorf("%s as anonymous: %v", op, err)
		}
	}
	if _, err := cl.Call(t.Context(), "/no/op", nil); output.Classify(err).Code != output.CodeNotFound {
		t.Fatalf("unknown op: %v", err)
	}
}

// CLI-R44: with an API key: info, heartbeat events and a wait cancelled by the caller.
func TestBuiltinsWithKey(t *testing.T) {
	r := start(t, nil)
	tok, _, err := r.st.APIKeys().Create(t.Context(), sqlitestore.NewAPIKey{Scopes: []string{"node:read", "ops:topology"}})
	if err != nil {
		t.Fatal(err)
	}
	token := tok.Expose()
	tok.Destroy()
	cl, err := client.Dial(t.Context(), client.Options{Addr: r.ready.Listen, Pins: []string{r.ready.Fingerprint}, Token: authToken(token)})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	out, err := cl.Call(t.Context(), "/node/info", nil)
	var info struct {
		Name        string   `json:"name"`
		Version     string   `json:"version"`
		Fingerprint string   `json:"fingerprint"`
		StartedAt   string   `json:"started_at"`
		UptimeS     int64    `json:"uptime_s"`
		ALPNs       []string `json:"alpns"`
		Store       struct {
			Healthy     bool             `json:"healthy"`
			Generations map[string]int64 `json:"generations"`
		} `json:"store"`
	}
	if err != nil || json.Unmarshal(out, &info) != nil || info.Version != "test" || info.Fingerprint != r.ready.Fingerprint || !info.Store.Healthy || info.ALPNs[0] != "alknet/call" {
		t.Fatalf("info = %s, %v", out, err)
	}
	if out, err := cl.Call(t.Context(), "/node/peers", nil); err != nil || string(out) != "[]" {
		t.Fatalf("peers = %s, %v", out, err)
	}
	sub, err := cl.Subscribe(t.Context(), "/node/heartbeat", json.RawMessage(`{"interval_ms":100}`))
	if err != nil {
		t.Fatal(err)
	}
	for want := int64(1); want <= 3; want++ {
		v, err := sub.Next(t.Context())
		var ev struct {
			Seq int64 `json:"seq"`
		}
		if err != nil || json.Unmarshal(v, &ev) != nil || ev.Seq != want {
			t.Fatalf("heartbeat %d = %s, %v", want, v, err)
		}
	}
	sub.Close()
	ctx, cancel := context.WithCancel(t.Context())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	if _, err := cl.Call(ctx, "/node/wait", json.RawMessage(`{"ms":60000}`)); output.Classify(err).Code != output.CodeInterrupted {
		t.Fatalf("cancelled wait: %v", err)
	}
	if out, err := cl.Call(t.Context(), "/node/wait", json.RawMessage(`{"ms":1}`)); err != nil || string(out) != `{"waited_ms":1}` {
		t.Fatalf("wait = %s, %v", out, err)
	}
	if _, err := cl.Call(t.Context(), "/node/wait", json.RawMessage(`{"ms":60001}`)); output.Classify(err).Details["remote_code"] != "INVALID_INPUT" {
		t.Fatalf("wait out of range: %v", err)
	}
}

// CLI-R49: revoking an API key cuts its running subscription (FORBIDDEN, credentials revoked).
func TestRevocationCutsRunningWork(t *testing.T) {
	r := start(t, nil)
	tok, rec, err := r.st.APIKeys().Create(t.Context(), sqlitestore.NewAPIKey{Scopes: []string{"node:read"}})
	if err != nil {
		t.Fatal(err)
	}
	token := tok.Expose()
	cl, err := client.Dial(t.Context(), client.Options{Addr: r.ready.Listen, Pins: []string{r.ready.Fingerprint}, Token: authToken(token)})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	sub, err := cl.Subscribe(t.Context(), "/node/heartbeat", json.RawMessage(`{"interval_ms":100}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Next(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.st.APIKeys().Revoke(t.Context(), rec.Prefix); err != nil {
		t.Fatal(err)
	}
	for {
		_, err := sub.Next(t.Context())
		if err == nil {
			continue
		}
		if e := output.Classify(client.MapError(t.Context(), err)); e.Code != output.CodeForbidden {
			t.Fatalf("stream ended with %v, want FORBIDDEN", err)
		}
		break
	}
}

// CLI-R10, CLI-T34: a port in use is BIND_FAILED naming the address.
func TestBindFailed(t *testing.T) {
	r := start(t, nil)
	dir := t.TempDir()
	layout, _ := paths.Resolve(paths.Path{Path: filepath.Join(dir, "c.toml")}, dir, paths.Settings{}, paths.Env{})
	st, err := sqlitestore.Open(t.Context(), sqlitestore.Options{Path: layout.Store.Path, Create: true, AutoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key, _ := tlsconf.GenerateEd25519Key()
	err = node.Run(t.Context(), node.Params{Config: config.Default(), Layout: layout, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Listen: r.ready.Listen, Store: st, TLS: tlsconf.Identity{Kind: tlsconf.KindRawKey, Key: key}, StartedAt: time.Now()})
	e, ok := errors.AsType[*output.Error](err)
	if !ok || e.Code != output.CodeBindFailed || !strings.Contains(e.Message, r.ready.Listen) {
		t.Fatalf("Run on a used port = %v", err)
	}
}

// CLI-R48: with call.import_from_inbound_peers = false an inbound peer is attached with its
// empty set while its connection lives; alknet_peers_attached follows it (CLI-R66).
func TestInboundPeerAttachedWithoutImport(t *testing.T) {
	r := start(t, func(c *config.Config) {
		c.Call.ImportFromInboundPeers = false
		c.Metrics.Addr = "127.0.0.1:0"
	})
	key, _ := tlsconf.GenerateEd25519Key()
	fp := fingerprint.FromEd25519(key.Public())
	if _, err := r.st.Identities().CreatePeer(t.Context(), auth.PeerEntry{PeerID: "b", Fingerprints: []string{fp}, Scopes: []string{"ops:topology"}}); err != nil {
		t.Fatal(err)
	}
	attached := func() string {
		resp, err := http.Get("http://" + r.ready.MetricsAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "alknet_peers_attached "); ok {
				return v
			}
		}
		return ""
	}
	waitFor := func(want string) {
		deadline := time.Now().Add(20 * time.Second)
		for attached() != want {
			if time.Now().After(deadline) {
				t.Fatalf("alknet_peers_attached never became %s", want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// The store's change must reach the node before b dials.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, ok := r.st.Identities().ResolveFingerprint(t.Context(), fp); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("peer never resolved")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cl, err := client.Dial(t.Context(), client.Options{Addr: r.ready.Listen, Pins: []string{r.ready.Fingerprint},
		Identity: &tlsconf.Identity{Kind: tlsconf.KindRawKey, Key: key}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor("1")
	out, err := cl.Call(t.Context(), "/node/peers", nil)
	if err != nil || !strings.Contains(string(out), `"peer_id":"b"`) || !strings.Contains(string(out), `"imported_ops":0`) {
		t.Fatalf("/node/peers = %s, %v", out, err)
	}
	cl.Close()
	waitFor("0")
	http.DefaultClient.CloseIdleConnections()
}

// CLI-R48, cli.md §7.12 /node/peers: a peer with two live inbound connections is listed with the
// newest; when that one closes, the older one that is still up is listed again (a worker's
// connector while a one-shot `alknet call --as-node` with the same key came and went).
func TestInboundPeerListedWhileAConnectionLives(t *testing.T) {
	r := start(t, func(c *config.Config) { c.Call.ImportFromInboundPeers = false })
	key, _ := tlsconf.GenerateEd25519Key()
	fp := fingerprint.FromEd25519(key.Public())
	if _, err := r.st.Identities().CreatePeer(t.Context(), auth.PeerEntry{PeerID: "b", Fingerprints: []string{fp}, Scopes: []string{"ops:topology"}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, ok := r.st.Identities().ResolveFingerprint(t.Context(), fp); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("peer never resolved")
		}
		time.Sleep(10 * time.Millisecond)
	}
	asB := func() *client.Client {
		cl, err := client.Dial(t.Context(), client.Options{Addr: r.ready.Listen, Pins: []string{r.ready.Fingerprint},
			Identity: &tlsconf.Identity{Kind: tlsconf.KindRawKey, Key: key}})
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	// listedAddr is the remote_addr of b's inbound entry on /node/peers, "" when b is not listed.
	listedAddr := func(cl *client.Client) string {
		out, err := cl.Call(t.Context(), "/node/peers", nil)
		if err != nil {
			t.Fatalf("/node/peers: %v", err)
		}
		var ps []struct {
			PeerID     string `json:"peer_id"`
			Direction  string `json:"direction"`
			RemoteAddr string `json:"remote_addr"`
		}
		if err := json.Unmarshal(out, &ps); err != nil {
			t.Fatalf("/node/peers = %s: %v", out, err)
		}
		for _, p := range ps {
			if p.PeerID == "b" && p.Direction == "inbound" {
				return p.RemoteAddr
			}
		}
		return ""
	}
	waitListed := func(cl *client.Client, what string, ok func(addr string) bool) string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			addr := listedAddr(cl)
			if ok(addr) {
				return addr
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s (b listed with remote_addr %q)", what, addr)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	older := asB()
	defer older.Close()
	first := waitListed(older, "b listed with its first connection", func(a string) bool { return a != "" })
	newer := asB()
	waitListed(older, "b listed with its newer connection", func(a string) bool { return a != "" && a != first })
	newer.Close()
	waitListed(older, "b listed again with the connection that is still up", func(a string) bool { return a == first })
	if got := listedAddr(older); got != first {
		t.Fatalf("b listed with %q after the newer connection closed, want %q", got, first)
	}
}

// CLI-R75, CLI-R76: routes are Layer 0 operations with their own access control and their own
// composition authority; a peer-pinned route with no such peer attached answers NOT_FOUND
// (ROUTE-R5).
func TestRoutes(t *testing.T) {
	g := []string{"node:read"}
	r := start(t, func(c *config.Config) {
		c.Route = []config.Route{
			{Name: "cluster/info", Target: "node/info", Type: "query", Scopes: []string{"cluster:read"}, Grant: &g},
			{Name: "cluster/open", Target: "node/info", Peer: "c", Type: "mutation", Scopes: []string{}, Grant: &[]string{}},
		}
	})
	cl := dial(t, r)
	if _, err := cl.Call(t.Context(), "/cluster/info", nil); output.Classify(err).Code != output.CodeForbidden {
		t.Fatalf("anonymous call of a scoped route: %v", err)
	}
	if _, err := cl.Call(t.Context(), "/cluster/open", nil); output.Classify(err).Code != output.CodeNotFound {
		t.Fatalf("route with no serving peer: %v", err)
	}
	out, err := cl.Call(t.Context(), "/services/list", nil)
	if err != nil || !strings.Contains(string(out), `"cluster/open"`) || strings.Contains(string(out), `"cluster/info"`) {
		t.Fatalf("services/list = %s, %v", out, err)
	}
	tok, _, err := r.st.APIKeys().Create(t.Context(), sqlitestore.NewAPIKey{Scopes: []string{"cluster:read"}})
	if err != nil {
		t.Fatal(err)
	}
	kc, err := client.Dial(t.Context(), client.Options{Addr: r.ready.Listen, Pins: []string{r.ready.Fingerprint}, Token: authToken(tok.Expose())})
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	// Any routing looks at Layer 0 before the peers (ROUTE-R4), so without attached peers the
	// route reaches this node's own node/info under the route's grant (node:read), which the
	// caller itself does not hold.
	out, err = kc.Call(t.Context(), "/cluster/info", nil)
	if err != nil || !strings.Contains(string(out), `"fingerprint":"`+r.ready.Fingerprint+`"`) {
		t.Fatalf("scoped Any route = %s, %v", out, err)
	}
	if _, err := kc.Call(t.Context(), "/node/info", nil); output.Classify(err).Code != output.CodeForbidden {
		t.Fatalf("the caller reached node/info without node:read: %v", err)
	}
}
