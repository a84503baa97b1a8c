package endpoint_test

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/config"
	"github.com/alknet/alknet/alknet-core/conn"
	"github.com/alknet/alknet/alknet-core/coretest"
	"github.com/alknet/alknet/alknet-core/endpoint"
	"github.com/alknet/alknet/alknet-core/handler"
	"github.com/alknet/alknet/alknet-core/quictransport"
	"github.com/alknet/alknet/alknet-core/tlsconf"
)

// holdHandler reports each connection it serves and holds it until it closes or the endpoint
// shuts down.
type holdHandler struct {
	alpn    string
	entered chan string // receives the peer id ("" for anonymous) of every served connection
}

func (h holdHandler) ALPN() string { return h.alpn }
func (h holdHandler) Handle(ctx context.Context, c *conn.Connection, a auth.AuthContext) error {
	id := ""
	if a.Identity != nil {
		id = a.Identity.ID
	}
	h.entered <- id
	select {
	case <-ctx.Done():
	case <-c.Done():
	}
	return nil
}

// CORE-T408: per-IP limit 2, freed slots reused, a reload to 0 lifts the limit.
func TestPerIPLimit(t *testing.T) {
	t.Parallel()
	h := holdHandler{alpn: "alknet/hold", entered: make(chan string, 16)}
	n := coretest.StartNode(t, coretest.NodeOptions{
		Handlers: []handler.ProtocolHandler{h},
		Dynamic:  config.DynamicConfig{RateLimits: config.RateLimitConfig{MaxConnectionsPerIP: 2}},
	})
	first := n.Dial(t, "alknet/hold", nil)
	coretest.Recv(t, h.entered, "the first connection's handler")
	n.Dial(t, "alknet/hold", nil)
	coretest.Recv(t, h.entered, "the second connection's handler")
	third := n.Dial(t, "alknet/hold", nil)
	if code, reason, ok := coretest.CloseCode(t, third); !ok || code != endpoint.CloseRateLimited || reason != "too many connections" {
		t.Fatalf("third connection closed with %#x %q (ok=%v), want 0x05", code, reason, ok)
	}
	select {
	case <-h.entered:
		t.Fatal("the handler ran for a rate-limited connection")
	default:
	}
	// Free one slot; the endpoint notices when the first connection's goroutine ends, so retry
	// until a new connection is served (each refused attempt is closed with 0x05).
	first.Close(0, "")
	for served := false; !served; {
		c := n.Dial(t, "alknet/hold", nil)
		timer := time.NewTimer(coretest.WaitLimit)
		select {
		case <-h.entered:
			served = true
		case <-c.Done():
			if code, _, ok := coretest.CloseCode(t, c); !ok || code != endpoint.CloseRateLimited {
				t.Fatalf("retry closed with %#x (ok=%v)", code, ok)
			}
		case <-timer.C:
			t.Fatalf("a retry was neither served nor refused within %v", coretest.WaitLimit)
		}
		timer.Stop()
	}
	// A reload to 0 lifts the limit without a restart.
	if err := n.Dynamic.ReloadHandle().Reload(config.DynamicConfig{}, "local:test"); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		n.Dial(t, "alknet/hold", nil)
		coretest.Recv(t, h.entered, "a handler after the limit was lifted")
	}
}

// blockingProvider resolves like inner, except that resolving blockFP waits for release.
type blockingProvider struct {
	inner   auth.IdentityProvider
	blockFP string
	waiting chan struct{} // receives one value when a resolution of blockFP starts
	release chan struct{} // closed by the test
}

func (p *blockingProvider) ResolveFingerprint(ctx context.Context, fp string) (auth.Identity, bool) {
	if fp == p.blockFP {
		p.waiting <- struct{}{}
		<-p.release
	}
	return p.inner.ResolveFingerprint(ctx, fp)
}

func (p *blockingProvider) ResolveToken(ctx context.Context, tok auth.AuthToken) (auth.Identity, bool) {
	return p.inner.ResolveToken(ctx, tok)
}

// CORE-T409: a slow identity provider delays only its own connection.
func TestSlowProviderDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	slowID, slowFP := coretest.NewIdentity(t)
	d := mustDynamic(t, config.DynamicConfig{})
	p := &blockingProvider{inner: auth.NewConfigIdentityProvider(d), blockFP: slowFP,
		waiting: make(chan struct{}, 1), release: make(chan struct{})}
	h := holdHandler{alpn: "alknet/hold", entered: make(chan string, 4)}
	n := coretest.StartNode(t, coretest.NodeOptions{Handlers: []handler.ProtocolHandler{h, echoHandler{}}, Identities: p})
	t.Cleanup(func() { close(p.release) }) // runs before the node's shutdown
	n.Dial(t, "alknet/hold", &slowID)
	coretest.Recv(t, p.waiting, "the blocked resolution to start")
	for range 3 {
		if got := roundTrip(t, n.Dial(t, alpnEcho, nil), []byte("fast")); string(got) != "fast" {
			t.Fatalf("echo while a resolution is blocked = %q", got)
		}
	}
	select {
	case <-h.entered:
		t.Fatal("the blocked connection reached its handler before its resolution finished")
	default:
	}
}

// CORE-T411: Dispatch routes single-stream connections by ALPN through the same registry.
func TestDispatchPipe(t *testing.T) {
	t.Parallel()
	var sink logSink
	id, _ := coretest.NewIdentity(t)
	ep, err := endpoint.New(endpoint.Options{
		Static:     config.StaticConfig{ListenAddr: "127.0.0.1:0", TLS: id},
		Handlers:   registry(t, echoHandler{}),
		Identities: auth.NewConfigIdentityProvider(mustDynamic(t, config.DynamicConfig{})),
		Logger:     sink.logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Shutdown(t.Context())

	a, b := net.Pipe()
	c := conn.NewStreamConn(a, alpnEcho, nil)
	ep.Dispatch(c, "")
	if _, err := b.Write([]byte("over a pipe")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len("over a pipe"))
	if _, err := b.Read(buf); err != nil || string(buf) != "over a pipe" {
		t.Fatalf("echo over the pipe = %q, %v", buf, err)
	}
	b.Close()
	coretest.Recv(t, c.Done(), "the pipe connection to close after its peer left")

	a, b = net.Pipe()
	c = conn.NewStreamConn(a, "alknet/unknown", nil)
	ep.Dispatch(c, "")
	coretest.Recv(t, c.Done(), "the unknown-ALPN pipe to close") // closed with CloseNoHandler
	if _, err := b.Read(buf); err == nil {
		t.Fatal("the pipe of an unknown ALPN stayed open")
	}
	b.Close()

	a, b = net.Pipe()
	c = conn.NewStreamConn(a, "", nil)
	ep.Dispatch(c, "")
	coretest.Recv(t, c.Done(), "the empty-ALPN pipe to close") // an empty ALPN is closed like an unknown one (CORE-R414)
	b.Close()

	a, b = net.Pipe()
	c = conn.NewStreamConn(a, "acme-tls/1", nil)
	ep.Dispatch(c, "")
	coretest.Recv(t, c.Done(), "the ACME pipe to close") // ACME challenge connections are closed silently (CORE-R414)
	b.Close()
	if got := sink.lines("no handler"); len(got) != 2 || !strings.Contains(got[0], `\"alknet/unknown\"`) || !strings.Contains(got[1], `\"\"`) {
		t.Errorf("no-handler records (want the unknown and the empty ALPN, quoted; none for ACME):\n%s", sink.String())
	}

	if err := ep.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	a, b = net.Pipe()
	defer b.Close()
	c = conn.NewStreamConn(a, alpnEcho, nil)
	ep.Dispatch(c, "")
	select {
	case <-c.Done():
	default:
		t.Fatal("Dispatch after shutdown did not close the connection at once")
	}
}

// CORE-T412: a reload that removes a connected peer's fingerprint closes its connection with
// 0x03; other peers, unrelated changes and reordered scopes close nothing.
func TestRevocation(t *testing.T) {
	t.Parallel()
	idA, fpA := coretest.NewIdentity(t)
	idB, fpB := coretest.NewIdentity(t)
	_, fpC := coretest.NewIdentity(t)
	peers := func(includeA bool, scopesA ...string) config.DynamicConfig {
		var ps []auth.PeerEntry
		if includeA {
			ps = append(ps, auth.PeerEntry{PeerID: "peer-a", Fingerprints: []string{fpA}, Scopes: scopesA})
		}
		ps = append(ps,
			auth.PeerEntry{PeerID: "peer-b", Fingerprints: []string{fpB}, Scopes: []string{"x"}},
			auth.PeerEntry{PeerID: "peer-c", Fingerprints: []string{fpC}, Scopes: []string{"y"}})
		return config.DynamicConfig{Auth: auth.AuthPolicy{Peers: ps}}
	}
	var sink logSink
	h := holdHandler{alpn: "alknet/hold", entered: make(chan string, 4)}
	n := coretest.StartNode(t, coretest.NodeOptions{Handlers: []handler.ProtocolHandler{h},
		Dynamic: peers(true, "s1", "s2"), Logger: sink.logger()})
	ca := n.Dial(t, "alknet/hold", &idA)
	if got := coretest.Recv(t, h.entered, "peer a's handler"); got != "peer-a" {
		t.Fatalf("peer a resolved as %q", got)
	}
	cb := n.Dial(t, "alknet/hold", &idB)
	if got := coretest.Recv(t, h.entered, "peer b's handler"); got != "peer-b" {
		t.Fatalf("peer b resolved as %q", got)
	}
	anon := n.Dial(t, "alknet/hold", nil)
	coretest.Recv(t, h.entered, "the anonymous connection's handler")
	reload := n.Dynamic.ReloadHandle()
	// Harmless reloads: reorder and duplicate a's scopes, change only peer c.
	harmless := []config.DynamicConfig{peers(true, "s2", "s1", "s1"), peers(true, "s1", "s2")}
	harmless[1].Auth.Peers[2].Scopes = []string{"z"}
	for _, cfg := range harmless {
		if err := reload.Reload(cfg, "local:test"); err != nil {
			t.Fatal(err)
		}
	}
	// Now remove peer a.
	if err := reload.Reload(peers(false), "local:test"); err != nil {
		t.Fatal(err)
	}
	if code, reason, ok := coretest.CloseCode(t, ca); !ok || code != endpoint.CloseAuthRequired || reason != "authentication required" {
		t.Fatalf("revoked peer closed with %#x %q (ok=%v), want 0x03", code, reason, ok)
	}
	if got := len(sink.lines("credentials revoked")); got != 1 {
		t.Errorf("%d revocation records, want exactly 1 (harmless reloads closed something?):\n%s", got, sink.String())
	}
	for name, c := range map[string]*conn.Connection{"peer b": cb, "anonymous": anon} {
		select {
		case <-c.Done():
			t.Errorf("%s was disconnected by a reload that did not concern it", name)
		default:
		}
	}
}

// heldProvider holds its first resolution until released and answers it from the policy as
// it was before; later resolutions and change notifications come from the live Dynamic.
type heldProvider struct {
	d       *config.Dynamic
	old     *auth.Policy
	held    atomic.Bool
	waiting chan struct{} // receives one value when the held resolution starts
	release chan struct{} // closed by the test
}

func (h *heldProvider) ResolveFingerprint(_ context.Context, fp string) (auth.Identity, bool) {
	if h.held.CompareAndSwap(false, true) {
		h.waiting <- struct{}{}
		<-h.release
		return h.old.ResolveFingerprint(fp)
	}
	return h.d.Policy().ResolveFingerprint(fp)
}

func (h *heldProvider) ResolveToken(context.Context, auth.AuthToken) (auth.Identity, bool) {
	return auth.Identity{}, false
}

func (h *heldProvider) Changed() <-chan struct{} { return h.d.Changed() }

// CORE-T419, CORE-R441: a resolution held across a reload that removes the fingerprint still
// ends with the connection closed with 0x03.
func TestRevocationRace(t *testing.T) {
	t.Parallel()
	id, fp := coretest.NewIdentity(t)
	d := mustDynamic(t, config.DynamicConfig{Auth: auth.AuthPolicy{Peers: []auth.PeerEntry{
		{PeerID: "racer", Fingerprints: []string{fp}, Scopes: []string{"s"}},
	}}})
	p := &heldProvider{d: d, old: d.Policy(), waiting: make(chan struct{}, 1), release: make(chan struct{})}
	h := holdHandler{alpn: "alknet/hold", entered: make(chan string, 2)}
	n := coretest.StartNode(t, coretest.NodeOptions{Handlers: []handler.ProtocolHandler{h}, Identities: p})
	c, err := quictransport.Dial(t.Context(), n.Addr, n.DialOptions("alknet/hold", &id), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(0, "")
	coretest.Recv(t, p.waiting, "the held resolution to start")
	if err := d.ReloadHandle().Reload(config.DynamicConfig{}, "local:test"); err != nil {
		t.Fatal(err)
	}
	close(p.release)
	if code, _, ok := coretest.CloseCode(t, c); !ok || code != endpoint.CloseAuthRequired {
		t.Fatalf("connection resolved across a revoking reload closed with %#x (ok=%v), want 0x03", code, ok)
	}
}

// CORE-R703: a self-signed development identity is announced with a warning.
func TestSelfSignedWarning(t *testing.T) {
	t.Parallel()
	var sink logSink
	n := coretest.StartNode(t, coretest.NodeOptions{Handlers: []handler.ProtocolHandler{echoHandler{}},
		Static: config.StaticConfig{TLS: tlsconf.Identity{Kind: tlsconf.KindSelfSigned}}, Logger: sink.logger()})
	if err := n.Endpoint.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := sink.lines(`"level":"WARN"`, "self-signed"); len(got) != 1 {
		t.Fatalf("%d self-signed warnings, want 1:\n%s", len(got), sink.String())
	}
}

// CORE-R430, CORE-R422: QUIC and dispatched connections count together per IP, with
// IPv4-mapped addresses unmapped.
func TestPerIPLimitCountsDispatched(t *testing.T) {
	t.Parallel()
	var sink logSink
	h := holdHandler{alpn: "alknet/hold", entered: make(chan string, 4)}
	n := coretest.StartNode(t, coretest.NodeOptions{
		Handlers: []handler.ProtocolHandler{h},
		Dynamic:  config.DynamicConfig{RateLimits: config.RateLimitConfig{MaxConnectionsPerIP: 1}},
		Logger:   sink.logger(),
	})
	n.Dial(t, "alknet/hold", nil) // 127.0.0.1 takes the only slot
	coretest.Recv(t, h.entered, "the loopback connection's handler")

	a, b := net.Pipe()
	defer b.Close()
	refused := conn.NewStreamConn(a, "alknet/hold", &net.TCPAddr{IP: net.ParseIP("::ffff:127.0.0.1"), Port: 9})
	n.Endpoint.Dispatch(refused, "")
	coretest.Recv(t, refused.Done(), "the refused pipe to close")
	if got := sink.lines("too many connections", `"remote":"127.0.0.1"`); len(got) != 1 {
		t.Fatalf("the mapped address was not refused as 127.0.0.1:\n%s", sink.String())
	}

	a2, b2 := net.Pipe()
	defer b2.Close()
	other := conn.NewStreamConn(a2, "alknet/hold", &net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 9})
	n.Endpoint.Dispatch(other, "")
	coretest.Recv(t, h.entered, "the handler of the other IP") // another IP is served
	other.Close(0, "")
}

// CORE-T412, CORE-R440: a connection whose key was unknown at connect time is closed with 0x03
// once a reload admits that key as a peer, so the client reconnects under its peer identity;
// an anonymous connection without a certificate and one whose key stays unknown stay open.
func TestAdmittedKeyClosesAnonymousConnection(t *testing.T) {
	t.Parallel()
	idA, fpA := coretest.NewIdentity(t)
	idU, _ := coretest.NewIdentity(t)
	_, fpB := coretest.NewIdentity(t)
	policy := func(admitA bool) config.DynamicConfig {
		ps := []auth.PeerEntry{{PeerID: "peer-b", Fingerprints: []string{fpB}}}
		if admitA {
			ps = append(ps, auth.PeerEntry{PeerID: "peer-a", Fingerprints: []string{fpA}})
		}
		return config.DynamicConfig{Auth: auth.AuthPolicy{Peers: ps}}
	}
	var sink logSink
	h := holdHandler{alpn: "alknet/hold", entered: make(chan string, 4)}
	n := coretest.StartNode(t, coretest.NodeOptions{Handlers: []handler.ProtocolHandler{h},
		Dynamic: policy(false), Logger: sink.logger()})
	ca := n.Dial(t, "alknet/hold", &idA)
	if got := coretest.Recv(t, h.entered, "the unknown key's handler"); got != "" {
		t.Fatalf("unknown key resolved as %q, want anonymous", got)
	}
	cu := n.Dial(t, "alknet/hold", &idU)
	coretest.Recv(t, h.entered, "the other unknown key's handler")
	bare := n.Dial(t, "alknet/hold", nil)
	coretest.Recv(t, h.entered, "the certificate-less connection's handler")
	if err := n.Dynamic.ReloadHandle().Reload(policy(true), "local:test"); err != nil {
		t.Fatal(err)
	}
	if code, _, ok := coretest.CloseCode(t, ca); !ok || code != endpoint.CloseAuthRequired {
		t.Fatalf("newly admitted key's connection closed with %#x (ok=%v), want 0x03", code, ok)
	}
	if got := len(sink.lines("anonymous key now admitted")); got != 1 {
		t.Errorf("%d admission records, want 1:\n%s", got, sink.String())
	}
	for name, c := range map[string]*conn.Connection{"unknown key": cu, "no certificate": bare} {
		select {
		case <-c.Done():
			t.Errorf("%s was disconnected by a reload that did not concern it", name)
		default:
		}
	}
	// The client reconnects and is now the peer.
	n.Dial(t, "alknet/hold", &idA)
	if got := coretest.Recv(t, h.entered, "the reconnected peer's handler"); got != "peer-a" {
		t.Fatalf("reconnected key resolved as %q, want peer-a", got)
	}
}
