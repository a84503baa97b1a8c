package endpoint_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
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

// CORE-T406, CORE-R450: shutdown drains an in-flight stream, then force-closes a stuck one.
func TestShutdownDrains(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 2) // one signal per handler that holds its request
	// drain answers its request only once shutdown has begun, inside the drain timeout.
	drain := funcHandler{alpn: "alknet/drain", fn: func(ctx context.Context, c *conn.Connection, _ auth.AuthContext) error {
		s, err := c.AcceptBi(ctx)
		if err != nil {
			return err
		}
		defer s.Close()
		req, err := io.ReadAll(s)
		if err != nil {
			return err
		}
		started <- struct{}{}
		<-ctx.Done()
		if context.Cause(ctx) != endpoint.ErrClosed {
			t.Errorf("handler ctx cause = %v, want endpoint.ErrClosed", context.Cause(ctx))
		}
		_, err = s.Write(append([]byte("answer to "), req...))
		return err
	}}
	// stuck ignores its ctx and waits for its connection to be closed under it.
	stuck := funcHandler{alpn: "alknet/stuck", fn: func(ctx context.Context, c *conn.Connection, _ auth.AuthContext) error {
		started <- struct{}{}
		<-c.Done()
		return nil
	}}
	id, pin := coretest.NewIdentity(t)
	ep, err := endpoint.New(endpoint.Options{
		Static:     config.StaticConfig{ListenAddr: "127.0.0.1:0", TLS: id, DrainTimeout: time.Second},
		Handlers:   registry(t, drain, stuck),
		Identities: auth.NewConfigIdentityProvider(mustDynamic(t, config.DynamicConfig{})),
	})
	if err != nil {
		t.Fatal(err)
	}
	addr := ep.Addr().String()
	served := make(chan error, 1)
	go func() { served <- ep.Serve(t.Context()) }()

	dial := func(alpn string) *conn.Connection {
		c, err := quictransport.Dial(t.Context(), addr, pinned(alpn, pin), nil)
		if err != nil {
			t.Fatalf("dial %s: %v", alpn, err)
		}
		t.Cleanup(func() { c.Close(0, "") })
		return c
	}
	dc := dial("alknet/drain")
	s, err := dc.OpenBi(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	_ = s.CloseWrite()
	sc := dial("alknet/stuck")
	coretest.Recv(t, started, "the first held request")
	coretest.Recv(t, started, "the second held request")

	// The peer reads while the node shuts down, and closes once it has its answer.
	answer := make(chan string, 1)
	go func() {
		got, err := io.ReadAll(s)
		if err != nil {
			t.Errorf("reading the in-flight answer: %v", err)
		}
		s.Close()
		dc.Close(0, "")
		answer <- string(got)
	}()
	if err := ep.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if got := coretest.Recv(t, answer, "the in-flight answer"); got != "answer to q" {
		t.Fatalf("in-flight answer = %q", got)
	}
	if code, reason, ok := coretest.CloseCode(t, sc); !ok || code != endpoint.CloseShutdown || reason != "shutdown" {
		t.Errorf("stuck connection closed with %#x %q (ok=%v), want 0x02 shutdown", code, reason, ok)
	}
	if err := coretest.Recv(t, served, "Serve to return"); err != nil {
		t.Fatalf("Serve = %v, want nil", err)
	}
	// New dials fail: nothing answers on the port any more.
	qcfg := quictransport.ClientConfig(config.QUICSettings{HandshakeIdleTimeout: 200 * time.Millisecond})
	if c, err := quictransport.Dial(t.Context(), addr, pinned("alknet/drain", pin), qcfg); err == nil {
		c.Close(0, "")
		t.Fatal("dial after shutdown succeeded")
	}
	// Step 5 released the UDP port.
	udp, err := net.ListenUDP("udp", ep.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatalf("rebinding the port after shutdown: %v", err)
	}
	udp.Close()
}

// CORE-T407, CORE-R451
func TestShutdownConcurrent(t *testing.T) {
	t.Parallel()
	id, pin := coretest.NewIdentity(t)
	ep, err := endpoint.New(endpoint.Options{
		Static:     config.StaticConfig{ListenAddr: "127.0.0.1:0", TLS: id},
		Handlers:   registry(t, echoHandler{}),
		Identities: auth.NewConfigIdentityProvider(mustDynamic(t, config.DynamicConfig{})),
	})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- ep.Serve(t.Context()) }()
	c, err := quictransport.Dial(t.Context(), ep.Addr().String(), pinned(alpnEcho, pin), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(0, "")
	if got := roundTrip(t, c, []byte("x")); string(got) != "x" { // Serve is running
		t.Fatalf("echo = %q", got)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if err := ep.Shutdown(t.Context()); err != nil {
				t.Errorf("Shutdown = %v", err)
			}
		})
	}
	wg.Wait()
	if err := ep.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown again = %v", err)
	}
	if err := coretest.Recv(t, served, "Serve to return"); err != nil {
		t.Errorf("Serve = %v", err)
	}
	if err := ep.Serve(t.Context()); !errors.Is(err, endpoint.ErrClosed) {
		t.Errorf("Serve after shutdown = %v, want ENDPOINT_CLOSED", err)
	}
}

// CORE-R453: cancelling Serve's ctx runs the shutdown sequence; Serve twice is refused.
func TestServeCtxShutsDown(t *testing.T) {
	t.Parallel()
	id, pin := coretest.NewIdentity(t)
	ep, err := endpoint.New(endpoint.Options{
		Static:     config.StaticConfig{ListenAddr: "127.0.0.1:0", TLS: id, DrainTimeout: 100 * time.Millisecond},
		Handlers:   registry(t, echoHandler{}),
		Identities: auth.NewConfigIdentityProvider(mustDynamic(t, config.DynamicConfig{})),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- ep.Serve(ctx) }()
	c, err := quictransport.Dial(t.Context(), ep.Addr().String(), pinned(alpnEcho, pin), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(0, "")
	if got := roundTrip(t, c, []byte("x")); string(got) != "x" {
		t.Fatalf("echo = %q", got)
	}
	if err := ep.Serve(t.Context()); !errors.Is(err, endpoint.ErrClosed) {
		t.Errorf("second Serve = %v, want ENDPOINT_CLOSED", err)
	}
	cancel()
	if err := coretest.Recv(t, served, "Serve to return"); err != nil {
		t.Fatalf("Serve = %v, want nil", err)
	}
	if code, _, ok := coretest.CloseCode(t, c); !ok || code != endpoint.CloseShutdown {
		t.Errorf("open connection closed with %#x (ok=%v), want 0x02", code, ok)
	}
	if err := ep.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown after Serve's own = %v", err)
	}
}

// CORE-R453: a handler ignoring both its ctx and its closed connection is logged and does not
// hold Shutdown past the caller's ctx.
func TestShutdownCutShort(t *testing.T) {
	t.Parallel()
	release := make(chan struct{}) // closed by the test at the end
	entered := make(chan struct{}, 1)
	rogue := funcHandler{alpn: "alknet/rogue", fn: func(context.Context, *conn.Connection, auth.AuthContext) error {
		entered <- struct{}{}
		<-release
		return nil
	}}
	var sink logSink
	id, pin := coretest.NewIdentity(t)
	ep, err := endpoint.New(endpoint.Options{
		Static:     config.StaticConfig{ListenAddr: "127.0.0.1:0", TLS: id, DrainTimeout: 50 * time.Millisecond},
		Handlers:   registry(t, rogue),
		Identities: auth.NewConfigIdentityProvider(mustDynamic(t, config.DynamicConfig{})),
		Logger:     sink.logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := quictransport.Dial(t.Context(), ep.Addr().String(), pinned("alknet/rogue", pin), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(0, "")
	go func() { served := ep.Serve(t.Context()); _ = served }()
	coretest.Recv(t, entered, "the rogue handler to run")
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := ep.Shutdown(ctx); err != context.DeadlineExceeded {
		t.Errorf("Shutdown = %v, want context.DeadlineExceeded", err)
	}
	if len(sink.lines("shutdown cut short", `"connections":1`)) != 1 {
		t.Errorf("straggler not logged:\n%s", sink.String())
	}
	close(release)
}

func pinned(alpn, pin string) tlsconf.ClientOptions {
	return tlsconf.ClientOptions{ALPN: alpn, PinnedFingerprints: []string{pin}}
}

func mustDynamic(t testing.TB, cfg config.DynamicConfig) *config.Dynamic {
	t.Helper()
	d, err := config.NewDynamic(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var _ handler.ProtocolHandler = funcHandler{}

// CORE-R450 step 6, CORE-R451: a sequence that finished within its ctx returns nil, even
// when that ctx is already done by the time Shutdown reports (here: cancelled before the
// call, on an endpoint with nothing to drain, so no step waits for it). Several endpoints,
// because a wrong answer would come from a random select choice.
func TestShutdownFinishedSequenceIsNil(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	for i := range 16 {
		id, _ := coretest.NewIdentity(t)
		ep, err := endpoint.New(endpoint.Options{
			Static:     config.StaticConfig{ListenAddr: "127.0.0.1:0", TLS: id},
			Handlers:   registry(t, echoHandler{}),
			Identities: auth.NewConfigIdentityProvider(mustDynamic(t, config.DynamicConfig{})),
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := ep.Shutdown(cancelled); err != nil {
			t.Fatalf("endpoint %d: Shutdown with nothing to drain = %v, want nil", i, err)
		}
		if err := ep.Shutdown(cancelled); err != nil {
			t.Fatalf("endpoint %d: second Shutdown after a clean sequence = %v, want nil", i, err)
		}
	}
}
