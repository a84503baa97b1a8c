// Package coretest provides real, loopback-only building blocks for tests in alknet-core and
// in the modules built on it (spec core.md §17.1): node identities, endpoints served on
// 127.0.0.1:0, dialled connections and connected QUIC pairs. Import it only from _test.go
// files. Every helper registers its cleanup with t.Cleanup, and every goroutine it starts has
// ended before that cleanup returns.
package coretest

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/config"
	"github.com/alknet/alknet/alknet-core/conn"
	"github.com/alknet/alknet/alknet-core/endpoint"
	"github.com/alknet/alknet/alknet-core/handler"
	"github.com/alknet/alknet/alknet-core/quictransport"
	"github.com/alknet/alknet/alknet-core/tlsconf"
)

// cleanupTimeout bounds each cleanup step so a broken test cannot hang the run.
const cleanupTimeout = 10 * time.Second

// NewIdentity returns a fresh RawKey identity (an Ed25519 key in a self-signed wrapper
// certificate) and its fingerprint, which is the pin clients use for it.
func NewIdentity(t testing.TB) (tlsconf.Identity, string) {
	t.Helper()
	key, err := tlsconf.GenerateEd25519Key()
	if err != nil {
		t.Fatalf("coretest: generate key: %v", err)
	}
	return tlsconf.Identity{Kind: tlsconf.KindRawKey, Key: key}, key.Fingerprint()
}

// NodeOptions configures [StartNode]. Zero fields take test-friendly defaults.
type NodeOptions struct {
	// Handlers are registered in this order. At least one is required unless Registry is set.
	Handlers []handler.ProtocolHandler
	// Registry, if set, is used as is and Handlers is ignored.
	Registry *handler.Registry
	// Static overrides the endpoint settings. An empty ListenAddr means "127.0.0.1:0", a zero
	// TLS a fresh RawKey identity, a zero DrainTimeout 2 s.
	Static config.StaticConfig
	// Dynamic is the initial dynamic configuration. Its zero value has no peers and no per-IP
	// limit, which is what loopback tests with many connections need.
	Dynamic config.DynamicConfig
	// Identities resolves client fingerprints; nil means an auth.ConfigIdentityProvider over
	// the node's Dynamic, so reloads through Node.Dynamic revoke live connections.
	Identities auth.IdentityProvider
	// Logger receives the endpoint's records; nil discards them.
	Logger *slog.Logger
}

// Node is an endpoint served in a goroutine for the duration of a test.
type Node struct {
	Endpoint    *endpoint.Endpoint
	Addr        string           // "127.0.0.1:<port>"
	Fingerprint string           // the pin for the node's key ("" for a non-RawKey identity)
	Identity    tlsconf.Identity // the node's TLS identity
	Dynamic     *config.Dynamic  // the node's dynamic configuration; reload it through ReloadHandle
	serveErr    chan error       // receives Serve's result
}

// StartEndpoint starts a node serving handlers with the per-IP limit off and no peers.
func StartEndpoint(t testing.TB, handlers ...handler.ProtocolHandler) *Node {
	t.Helper()
	return StartNode(t, NodeOptions{Handlers: handlers})
}

// StartNode builds and serves an endpoint. Cleanup shuts it down and waits for Serve to
// return.
func StartNode(t testing.TB, opts NodeOptions) *Node {
	t.Helper()
	reg := opts.Registry
	if reg == nil {
		b := handler.NewRegistryBuilder()
		for _, h := range opts.Handlers {
			if err := b.Add(h); err != nil {
				t.Fatalf("coretest: register handler: %v", err)
			}
		}
		var err error
		if reg, err = b.Build(); err != nil {
			t.Fatalf("coretest: build registry: %v", err)
		}
	}
	static := opts.Static
	if static.ListenAddr == "" {
		static.ListenAddr = "127.0.0.1:0"
	}
	n := &Node{serveErr: make(chan error, 1)}
	if static.TLS.Kind == 0 {
		static.TLS, n.Fingerprint = NewIdentity(t)
	} else if static.TLS.Kind == tlsconf.KindRawKey && static.TLS.Key != nil {
		n.Fingerprint = static.TLS.Key.Fingerprint()
	}
	n.Identity = static.TLS
	var err error
	n.Dynamic, err = config.NewDynamic(opts.Dynamic, opts.Logger)
	if err != nil {
		t.Fatalf("coretest: dynamic configuration: %v", err)
	}
	ids := opts.Identities
	if ids == nil {
		ids = auth.NewConfigIdentityProvider(n.Dynamic)
	}
	n.Endpoint, err = endpoint.New(endpoint.Options{
		Static: static, Handlers: reg, Dynamic: n.Dynamic, Identities: ids, Logger: opts.Logger,
	})
	if err != nil {
		t.Fatalf("coretest: endpoint.New: %v", err)
	}
	n.Addr = n.Endpoint.Addr().String()
	go func() { n.serveErr <- n.Endpoint.Serve(context.WithoutCancel(t.Context())) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), cleanupTimeout)
		defer cancel()
		if err := n.Endpoint.Shutdown(ctx); err != nil {
			t.Errorf("coretest: shutdown: %v", err)
		}
		select {
		case err := <-n.serveErr:
			// ErrClosed: the test ended before the Serve goroutine started.
			if err != nil && !errors.Is(err, endpoint.ErrClosed) {
				t.Errorf("coretest: Serve returned %v", err)
			}
		case <-ctx.Done():
			t.Errorf("coretest: Serve did not return after Shutdown")
		}
	})
	return n
}

// DialOptions returns the client TLS options for reaching the node on alpn, pinned to its
// key and presenting client (nil for an anonymous client).
func (n *Node) DialOptions(alpn string, client *tlsconf.Identity) tlsconf.ClientOptions {
	return tlsconf.ClientOptions{ALPN: alpn, Local: client, PinnedFingerprints: []string{n.Fingerprint}}
}

// Dial connects to the node on alpn, presenting client unless it is nil, and closes the
// connection in cleanup. It fails the test on error.
func (n *Node) Dial(t testing.TB, alpn string, client *tlsconf.Identity) *conn.Connection {
	t.Helper()
	c, err := quictransport.Dial(t.Context(), n.Addr, n.DialOptions(alpn, client), nil)
	if err != nil {
		t.Fatalf("coretest: dial %s (%s): %v", n.Addr, alpn, err)
	}
	t.Cleanup(func() { _ = c.Close(0, "") })
	return c
}

// Pair returns two ends of one QUIC connection negotiated for alpn over loopback, without an
// endpoint: client was dialled with quictransport.Dial (defaults of CORE-R406) and server
// accepted by a bare quic-go listener with the endpoint's stream settings. Both ends, the
// listener and its socket are closed in cleanup.
func Pair(t testing.TB, alpn string) (client, server *conn.Connection) {
	t.Helper()
	id, pin := NewIdentity(t)
	tlsConf, err := tlsconf.ServerConfig(id, []string{alpn})
	if err != nil {
		t.Fatalf("coretest: server TLS config: %v", err)
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("coretest: listen UDP: %v", err)
	}
	tr := &quic.Transport{Conn: udp}
	ln, err := tr.Listen(tlsConf, quictransport.ClientConfig(config.QUICSettings{}))
	if err != nil {
		_ = udp.Close()
		t.Fatalf("coretest: listen QUIC: %v", err)
	}
	t.Cleanup(func() {
		_ = ln.Close()
		_ = tr.Close()
		_ = udp.Close()
	})
	type accepted struct {
		qc  *quic.Conn
		err error
	}
	acc := make(chan accepted, 1)
	acceptCtx, stopAccept := context.WithCancel(t.Context())
	defer stopAccept()
	go func() {
		qc, err := ln.Accept(acceptCtx)
		acc <- accepted{qc, err}
	}()
	client, err = quictransport.Dial(t.Context(), udp.LocalAddr().String(),
		tlsconf.ClientOptions{ALPN: alpn, PinnedFingerprints: []string{pin}}, nil)
	if err != nil {
		_ = ln.Close()
		<-acc
		t.Fatalf("coretest: dial pair: %v", err)
	}
	// The client's handshake can finish while the server's fails (its Finished lost and the
	// handshake timing out on a loaded machine). A failed server handshake never reaches Accept,
	// but it does close the client's connection, so wait for whichever comes first.
	var a accepted
	select {
	case a = <-acc:
	case <-client.Done():
		stopAccept()
		if a = <-acc; a.err == nil {
			_ = a.qc.CloseWithError(0, "")
		}
		t.Fatalf("coretest: the client connection closed before the server accepted it (server handshake failed)")
	}
	if a.err != nil {
		_ = client.Close(0, "")
		t.Fatalf("coretest: accept pair: %v", a.err)
	}
	server = quictransport.Wrap(a.qc)
	t.Cleanup(func() {
		_ = client.Close(0, "")
		_ = server.Close(0, "")
	})
	return client, server
}

// WaitLimit bounds every wait of [Recv] and [CloseCode]: far longer than any event a test
// waits for takes on a loaded machine, and short enough that a broken test fails with a
// message naming what it waited for instead of hanging until the test binary's timeout.
const WaitLimit = 30 * time.Second

// Recv returns the next value received from ch (or the zero value once ch is closed). If
// nothing arrives within [WaitLimit] it fails the test with a message naming what, the event
// the test was waiting for. Like t.Fatal, call it only from the test's own goroutine.
func Recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	timer := time.NewTimer(WaitLimit)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("coretest: waited %v for %s", WaitLimit, what)
	}
	var zero T
	return zero
}

// CloseCode waits until c is closed and returns the application close code and reason the
// peer sent, or ok=false if it closed otherwise. If c is still open after [WaitLimit] it
// reports a test error saying so and returns ok=false. It may be called from any goroutine.
func CloseCode(t testing.TB, c *conn.Connection) (code uint64, reason string, ok bool) {
	t.Helper()
	qc, isQUIC := quictransport.Underlying(c)
	if !isQUIC {
		t.Errorf("coretest: CloseCode needs a QUIC connection")
		return 0, "", false
	}
	timer := time.NewTimer(WaitLimit)
	defer timer.Stop()
	select {
	case <-c.Done():
	case <-timer.C:
		t.Errorf("coretest: connection to %v still open after %v", c.RemoteAddr(), WaitLimit)
		return 0, "", false
	case <-t.Context().Done():
		return 0, "", false
	}
	var appErr *quic.ApplicationError
	if errors.As(context.Cause(qc.Context()), &appErr) && appErr.Remote {
		return uint64(appErr.ErrorCode), appErr.ErrorMessage, true
	}
	return 0, "", false
}

// ClientTLS returns a quic-go-ready client *tls.Config for the node, for tests that dial with
// quic-go directly (0-RTT, raw streams).
func (n *Node) ClientTLS(t testing.TB, alpn string, client *tlsconf.Identity) *tls.Config {
	t.Helper()
	c, err := tlsconf.ClientConfig(n.DialOptions(alpn, client))
	if err != nil {
		t.Fatalf("coretest: client TLS config: %v", err)
	}
	return c
}

// StartEarlyListener starts a bare quic-go listener on 127.0.0.1 that accepts 0-RTT, which the
// endpoint refuses (CORE-R403), so a test can show that its client really sends early data. serve
// gets the first stream of every accepted connection. It returns the listener's address and a
// client TLS config pinned to its key, with a session cache so a second dial can resume and send
// 0-RTT. The listener, its socket and its accept loop end in cleanup.
func StartEarlyListener(t testing.TB, alpn string, serve func(s *quic.Stream)) (addr string, client *tls.Config) {
	t.Helper()
	id, pin := NewIdentity(t)
	srvTLS, err := tlsconf.ServerConfig(id, []string{alpn})
	if err != nil {
		t.Fatalf("coretest: server TLS config: %v", err)
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("coretest: listen: %v", err)
	}
	tr := &quic.Transport{Conn: udp}
	ln, err := tr.ListenEarly(srvTLS, &quic.Config{Allow0RTT: true})
	if err != nil {
		_ = tr.Close()
		_ = udp.Close()
		t.Fatalf("coretest: listen early: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			qc, err := ln.Accept(context.Background())
			if err != nil {
				return
			}
			if s, err := qc.AcceptStream(context.Background()); err == nil {
				serve(s)
			}
			<-qc.Context().Done()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		_ = tr.Close()
		_ = udp.Close()
		Recv(t, done, "the early listener's accept loop to end")
	})
	client, err = tlsconf.ClientConfig(tlsconf.ClientOptions{ALPN: alpn, PinnedFingerprints: []string{pin}})
	if err != nil {
		t.Fatalf("coretest: client TLS config: %v", err)
	}
	client.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	return udp.LocalAddr().String(), client
}
