package endpoint_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/config"
	"github.com/alknet/alknet/alknet-core/conn"
	"github.com/alknet/alknet/alknet-core/coretest"
	"github.com/alknet/alknet/alknet-core/endpoint"
	"github.com/alknet/alknet/alknet-core/handler"
	"github.com/alknet/alknet/alknet-core/quictransport"
	"github.com/alknet/alknet/alknet-core/tlsconf"
)

// CORE-T401
func TestEcho(t *testing.T) {
	t.Parallel()
	n := coretest.StartEndpoint(t, echoHandler{})
	c := n.Dial(t, alpnEcho, nil)
	if got := roundTrip(t, c, []byte("hello")); string(got) != "hello" {
		t.Fatalf("echo = %q", got)
	}
}

// Two ALPNs on one endpoint, two clients at once (CORE-R501, R411).
func TestTwoALPNsTwoClients(t *testing.T) {
	t.Parallel()
	n := coretest.StartEndpoint(t, echoHandler{}, echoHandler{alpn: alpnUpper})
	var wg sync.WaitGroup
	for _, tc := range []struct{ alpn, want string }{{alpnEcho, "mixed Case"}, {alpnUpper, "MIXED CASE"}} {
		c := n.Dial(t, tc.alpn, nil) // on the test goroutine: Dial fails the test with t.Fatalf
		wg.Go(func() {
			if c.ALPN() != tc.alpn {
				t.Errorf("negotiated %q, want %q", c.ALPN(), tc.alpn)
			}
			for range 5 {
				if got := roundTrip(t, c, []byte("mixed Case")); string(got) != tc.want {
					t.Errorf("%s: got %q, want %q", tc.alpn, got, tc.want)
				}
			}
		})
	}
	wg.Wait()
}

// CORE-T504, CORE-R512: an unregistered ALPN fails the handshake and the node keeps serving.
func TestUnknownALPNRefused(t *testing.T) {
	t.Parallel()
	var ran atomic.Int32
	counting := funcHandler{alpn: "h2", fn: func(ctx context.Context, c *conn.Connection, a auth.AuthContext) error {
		ran.Add(1)
		<-c.Done()
		return nil
	}}
	n := coretest.StartEndpoint(t, echoHandler{}, counting, funcHandler{alpn: "http/1.1", fn: counting.fn})
	_, err := quictransport.Dial(t.Context(), n.Addr, n.DialOptions("alknet/unknown", nil), nil)
	var te *quic.TransportError
	if !errors.As(err, &te) || !te.ErrorCode.IsCryptoError() || !errors.Is(err, conn.ErrConnectionClosed) {
		t.Fatalf("dial with an unknown ALPN = %v, want a CRYPTO_ERROR (no_application_protocol)", err)
	}
	if got := roundTrip(t, n.Dial(t, alpnEcho, nil), []byte("still here")); string(got) != "still here" {
		t.Fatalf("echo after refusal = %q", got)
	}
	// Offering http/1.1 and h2 negotiates h2: the server's registration order decides.
	tlsConf := n.ClientTLS(t, "h2", nil)
	tlsConf.NextProtos = []string{"http/1.1", "h2"}
	qc, err := quic.DialAddr(t.Context(), n.Addr, tlsConf, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer qc.CloseWithError(0, "")
	if got := qc.ConnectionState().TLS.NegotiatedProtocol; got != "h2" {
		t.Fatalf("negotiated %q, want h2", got)
	}
}

// CORE-T402
func TestAuthContext(t *testing.T) {
	t.Parallel()
	peerID, peerFP := coretest.NewIdentity(t)
	strangerID, strangerFP := coretest.NewIdentity(t)
	got := make(chan auth.AuthContext, 1)
	h := funcHandler{alpn: alpnEcho, fn: func(ctx context.Context, c *conn.Connection, a auth.AuthContext) error {
		got <- a
		return nil
	}}
	n := coretest.StartNode(t, coretest.NodeOptions{
		Handlers: []handler.ProtocolHandler{h},
		Dynamic: config.DynamicConfig{Auth: auth.AuthPolicy{Peers: []auth.PeerEntry{{
			PeerID: "worker-a", Fingerprints: []string{peerFP}, Scopes: []string{"docker:start"},
			Resources: map[string][]string{"service": {"gitea"}},
		}}}},
	})

	n.Dial(t, alpnEcho, nil)
	a := coretest.Recv(t, got, "the anonymous AuthContext")
	if a.ALPN != alpnEcho || a.RemoteAddr == nil || a.TLSClientFingerprint != "" || a.Identity != nil {
		t.Errorf("anonymous AuthContext = %+v", a)
	}

	n.Dial(t, alpnEcho, &peerID)
	a = coretest.Recv(t, got, "the peer's AuthContext")
	if a.TLSClientFingerprint != peerFP || a.Identity == nil || a.Identity.ID != "worker-a" ||
		!a.Identity.HasScope("docker:start") || a.Identity.Resources["service"][0] != "gitea" ||
		a.Identity.Origin != auth.OriginPeer {
		t.Errorf("peer AuthContext = %+v (identity %+v)", a, a.Identity)
	}

	n.Dial(t, alpnEcho, &strangerID)
	a = coretest.Recv(t, got, "the stranger's AuthContext")
	if a.TLSClientFingerprint != strangerFP || a.Identity != nil {
		t.Errorf("unknown key: AuthContext = %+v, want its fingerprint and no identity", a)
	}
}

// CORE-T403, CORE-T405: the handler's result decides the close code; error text stays local.
func TestCloseCodes(t *testing.T) {
	t.Parallel()
	var sink logSink
	results := map[string]error{
		"alknet/nil":      nil,
		"alknet/closed":   fmt.Errorf("wrapped: %w", conn.ErrConnectionClosed),
		"alknet/auth":     fmt.Errorf("bad token: %w", auth.ErrAuthRequired),
		"alknet/internal": errors.New("database password hunter2 rejected"),
		"alknet/stream":   fmt.Errorf("read: %w", conn.ErrStreamClosed),
	}
	var hs []handler.ProtocolHandler
	for alpn, res := range results {
		hs = append(hs, funcHandler{alpn: alpn, fn: func(context.Context, *conn.Connection, auth.AuthContext) error { return res }})
	}
	hs = append(hs, echoHandler{})
	n := coretest.StartNode(t, coretest.NodeOptions{Handlers: hs, Logger: sink.logger()})
	other := n.Dial(t, alpnEcho, nil)
	want := map[string]uint64{
		"alknet/nil": endpoint.CloseNormal, "alknet/closed": endpoint.CloseNormal,
		"alknet/auth": endpoint.CloseAuthRequired, "alknet/internal": endpoint.CloseInternalError,
		"alknet/stream": endpoint.CloseNormal,
	}
	for alpn, code := range want {
		c := n.Dial(t, alpn, nil)
		got, reason, ok := coretest.CloseCode(t, c)
		if !ok || got != code || reason != endpoint.CloseReason(code) {
			t.Errorf("%s: close %#x %q (ok=%v), want %#x %q", alpn, got, reason, ok, code, endpoint.CloseReason(code))
		}
		if strings.Contains(reason, "hunter2") {
			t.Errorf("handler error text reached the wire: %q", reason)
		}
	}
	if got := roundTrip(t, other, []byte("unaffected")); string(got) != "unaffected" {
		t.Fatalf("concurrent connection broken: %q", got)
	}
	if len(sink.lines(`"level":"ERROR"`, "hunter2")) != 1 {
		t.Errorf("internal error not logged once at error level:\n%s", sink.String())
	}
	for _, line := range sink.lines("bad token") {
		t.Errorf("auth failure logged with the handler's error text: %s", line)
	}
}

// CORE-T404, CORE-R413: a panicking handler leaves the node serving.
func TestHandlerPanic(t *testing.T) {
	t.Parallel()
	var sink logSink
	boom := funcHandler{alpn: "alknet/boom", fn: func(context.Context, *conn.Connection, auth.AuthContext) error {
		panic("handler bug")
	}}
	n := coretest.StartNode(t, coretest.NodeOptions{Handlers: []handler.ProtocolHandler{boom, echoHandler{}}, Logger: sink.logger()})
	other := n.Dial(t, alpnEcho, nil)
	for range 3 {
		c := n.Dial(t, "alknet/boom", nil)
		if code, _, ok := coretest.CloseCode(t, c); !ok || code != endpoint.CloseInternalError {
			t.Fatalf("panicking handler: close %#x (ok=%v), want 0x04", code, ok)
		}
	}
	if got := roundTrip(t, other, []byte("alive")); string(got) != "alive" {
		t.Fatalf("other connection after panics: %q", got)
	}
	if got := roundTrip(t, n.Dial(t, alpnEcho, nil), []byte("new")); string(got) != "new" {
		t.Fatalf("new connection after panics: %q", got)
	}
	if got := len(sink.lines(`"level":"ERROR"`, "handler panicked", "handler bug", "stack")); got != 3 {
		t.Errorf("%d panic records, want 3:\n%s", got, sink.String())
	}
}

// CORE-T413
func TestNewFailures(t *testing.T) {
	t.Parallel()
	reg := registry(t, echoHandler{})
	d, _ := config.NewDynamic(config.DynamicConfig{}, nil)
	ids := auth.NewConfigIdentityProvider(d)
	id, _ := coretest.NewIdentity(t)

	taken, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, err = endpoint.New(endpoint.Options{
		Static:   config.StaticConfig{ListenAddr: taken.LocalAddr().String(), TLS: id},
		Handlers: reg, Identities: ids,
	})
	if !errors.Is(err, endpoint.ErrBindFailed) {
		t.Errorf("bound port: %v, want BIND_FAILED", err)
	}
	_, err = endpoint.New(endpoint.Options{
		Static:   config.StaticConfig{ListenAddr: "127.0.0.1:0", TLS: tlsconf.Identity{Kind: tlsconf.KindACME, ACME: &tlsconf.ACMEConfig{Domains: []string{"example.com"}}}},
		Handlers: reg, Identities: ids,
	})
	if alkerr.CodeOf(err) != alkerr.CodeUnsupported {
		t.Errorf("ACME identity: %v, want UNSUPPORTED", err)
	}
	for name, opts := range map[string]endpoint.Options{
		"no registry": {Static: config.StaticConfig{ListenAddr: "127.0.0.1:0", TLS: id}, Identities: ids},
		"no provider": {Static: config.StaticConfig{ListenAddr: "127.0.0.1:0", TLS: id}, Handlers: reg},
		"no address":  {Static: config.StaticConfig{TLS: id}, Handlers: reg, Identities: ids},
		"no identity": {Static: config.StaticConfig{ListenAddr: "127.0.0.1:0"}, Handlers: reg, Identities: ids},
	} {
		if _, err := endpoint.New(opts); !errors.Is(err, config.ErrInvalid) {
			t.Errorf("%s: %v, want CONFIG_INVALID", name, err)
		}
	}
	// The failed New with a bound port leaked nothing: the port is still only ours.
	if err := taken.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := net.ListenUDP("udp", taken.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatalf("rebinding after the failed New: %v", err)
	}
	again.Close()
}

func registry(t testing.TB, hs ...handler.ProtocolHandler) *handler.Registry {
	t.Helper()
	b := handler.NewRegistryBuilder()
	for _, h := range hs {
		if err := b.Add(h); err != nil {
			t.Fatal(err)
		}
	}
	r, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// CORE-T410, CORE-T505: 200 connections × 10 streams with random payloads up to 64 KiB,
// while 1000 registry lookups run alongside. It runs alone (not parallel): its burst fills
// loopback socket buffers and the resulting packet loss would slow the other tests.
func TestManyConnections(t *testing.T) {
	// The burst drops packets on loopback (full socket buffers, slower still under -race);
	// a long idle timeout keeps QUIC's loss-recovery backoff from ending a connection.
	q := config.QUICSettings{MaxIdleTimeout: 2 * time.Minute}
	reg := registry(t, echoHandler{}, echoHandler{alpn: alpnUpper})
	n := coretest.StartNode(t, coretest.NodeOptions{Registry: reg, Static: config.StaticConfig{QUIC: q}})
	qcfg := quictransport.ClientConfig(q)
	var wg sync.WaitGroup
	for i := range 1000 {
		wg.Go(func() {
			if _, ok := reg.Lookup([]string{alpnEcho, alpnUpper}[i%2]); !ok {
				t.Error("lookup failed")
			}
		})
	}
	conns := 200
	if testing.Short() {
		conns = 20
	}
	// Dial first, then run every stream of every connection at once: the 200 connections
	// are concurrently open and busy.
	cs := make([]*conn.Connection, conns)
	for i := range cs {
		c, err := quictransport.Dial(t.Context(), n.Addr, n.DialOptions(alpnEcho, nil), qcfg)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		defer c.Close(0, "")
		cs[i] = c
	}
	for i, c := range cs {
		for j := range 10 {
			wg.Go(func() {
				msg := make([]byte, mrand.IntN(64<<10+1))
				_, _ = rand.Read(msg)
				if got := roundTrip(t, c, msg); !bytes.Equal(got, msg) {
					t.Errorf("conn %d stream %d: %d bytes back, want %d", i, j, len(got), len(msg))
				}
			})
		}
	}
	wg.Wait()
}
