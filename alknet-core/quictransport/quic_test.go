package quictransport_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"go.uber.org/goleak"

	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/config"
	"github.com/alknet/alknet/alknet-core/conn"
	"github.com/alknet/alknet/alknet-core/coretest"
	"github.com/alknet/alknet/alknet-core/quictransport"
	"github.com/alknet/alknet/alknet-core/tlsconf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const alpn = "alknet/test"

// CORE-T301: the peer's AcceptBi returns only once the opener has written.
func TestAcceptAfterWrite(t *testing.T) {
	t.Parallel()
	client, server := coretest.Pair(t, alpn)
	if client.SingleStream() || server.SingleStream() {
		t.Fatal("QUIC connection reports SingleStream") // CORE-T309
	}
	if client.ALPN() != alpn || server.ALPN() != alpn {
		t.Fatalf("ALPN = %q / %q", client.ALPN(), server.ALPN())
	}
	s, err := client.OpenBi(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := server.AcceptBi(ctx); err != context.DeadlineExceeded {
		t.Fatalf("AcceptBi before any write = %v, want the ctx deadline (the peer does not know the stream yet)", err)
	}
	if _, err := s.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	ss, err := server.AcceptBi(t.Context())
	if err != nil {
		t.Fatalf("AcceptBi after write = %v", err)
	}
	defer ss.Close()
	buf := make([]byte, 1)
	if _, err := io.ReadFull(ss, buf); err != nil || buf[0] != 'x' {
		t.Fatalf("read %q, %v", buf, err)
	}
}

// CORE-T302
func TestCloseWriteAndReset(t *testing.T) {
	t.Parallel()
	client, server := coretest.Pair(t, alpn)
	s, _ := client.OpenBi(t.Context())
	if _, err := s.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	ss, err := server.AcceptBi(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(ss)
	if err != nil || string(got) != "hello" {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}
	if _, err := ss.Write([]byte("back")); err != nil {
		t.Fatalf("write after the peer's CloseWrite: %v", err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(s, buf); err != nil || string(buf) != "back" {
		t.Fatalf("reverse read = %q, %v", buf, err)
	}
	ss.Reset(0x1234)
	_, err = io.ReadAll(s)
	if !errors.Is(err, conn.ErrStreamClosed) {
		t.Fatalf("Read after peer Reset = %v, want ErrStreamClosed", err)
	}
	var se *quic.StreamError
	if !errors.As(err, &se) || se.ErrorCode != 0x1234 {
		t.Fatalf("errors.As StreamError = %v (%v)", se, err)
	}
	if err := ss.Close(); err != nil {
		t.Fatalf("Close after Reset = %v", err)
	}
	if err := ss.CloseWrite(); err != nil {
		t.Fatalf("CloseWrite after Reset = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	s.Reset(1) // after Close: allowed, no panic
	if _, err := s.Write([]byte("x")); !errors.Is(err, conn.ErrStreamClosed) {
		t.Fatalf("Write after Close = %v, want ErrStreamClosed", err)
	}
}

// CORE-T303
func TestConnectionEnds(t *testing.T) {
	t.Parallel()
	t.Run("peer closes", func(t *testing.T) {
		t.Parallel()
		client, server := coretest.Pair(t, alpn)
		res := make(chan error, 1)
		go func() {
			_, err := server.AcceptBi(t.Context())
			res <- err
		}()
		if err := client.Close(0x100, "bye"); err != nil {
			t.Fatal(err)
		}
		err := coretest.Recv(t, res, "AcceptBi to return after the peer closed")
		if !errors.Is(err, conn.ErrConnectionClosed) {
			t.Fatalf("AcceptBi = %v, want ErrConnectionClosed", err)
		}
		var ae *quic.ApplicationError
		if !errors.As(err, &ae) || ae.ErrorCode != 0x100 {
			t.Fatalf("application error = %v", ae)
		}
		if _, err := client.OpenBi(t.Context()); !errors.Is(err, conn.ErrConnectionClosed) {
			t.Fatalf("OpenBi after Close = %v, want ErrConnectionClosed", err)
		}
		coretest.Recv(t, server.Done(), "the server side to see the close")
	})
	t.Run("cancelled ctx", func(t *testing.T) {
		t.Parallel()
		_, server := coretest.Pair(t, alpn)
		ctx, cancel := context.WithCancel(t.Context())
		res := make(chan error, 1)
		go func() {
			_, err := server.AcceptBi(ctx)
			res <- err
		}()
		cancel()
		if err := coretest.Recv(t, res, "AcceptBi to return after cancel"); err != context.Canceled {
			t.Fatalf("AcceptBi = %v, want context.Canceled", err)
		}
	})
	t.Run("idle timeout", func(t *testing.T) {
		t.Parallel()
		n := coretest.StartEndpoint(t, holdHandler{})
		qcfg := quictransport.ClientConfig(config.QUICSettings{MaxIdleTimeout: 100 * time.Millisecond, KeepAlivePeriod: -1})
		c, err := quictransport.Dial(t.Context(), n.Addr, n.DialOptions("alknet/hold", nil), qcfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(0, "")
		_, err = c.AcceptBi(t.Context())
		if !errors.Is(err, conn.ErrTimeout) {
			t.Fatalf("AcceptBi on an idle connection = %v, want ErrTimeout", err)
		}
	})
}

// holdHandler keeps every connection open until it closes or the endpoint shuts down.
type holdHandler struct{}

func (holdHandler) ALPN() string { return "alknet/hold" }
func (holdHandler) Handle(ctx context.Context, c *conn.Connection, _ auth.AuthContext) error {
	select {
	case <-ctx.Done():
	case <-c.Done():
	}
	return nil
}

// CORE-T307: one goroutine reads while another writes, 10 MiB each way.
func TestConcurrentReadWrite(t *testing.T) {
	t.Parallel()
	client, server := coretest.Pair(t, alpn)
	const size = 10 << 20
	out1, out2 := make([]byte, size), make([]byte, size)
	_, _ = rand.Read(out1)
	_, _ = rand.Read(out2)
	s1, err := client.OpenBi(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	if _, err := s1.Write(out1[:1]); err != nil {
		t.Fatal(err)
	}
	s2, err := server.AcceptBi(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	var wg sync.WaitGroup
	in1, in2 := make([]byte, size), make([]byte, size)
	var e1, e2, e3, e4 error
	wg.Go(func() { _, e1 = s1.Write(out1[1:]) })
	wg.Go(func() { _, e2 = s2.Write(out2) })
	wg.Go(func() { _, e3 = io.ReadFull(s1, in1) })
	wg.Go(func() { _, e4 = io.ReadFull(s2, in2) })
	wg.Wait()
	if err := errors.Join(e1, e2, e3, e4); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(in1, out2) || !bytes.Equal(in2, out1) {
		t.Fatal("payload mismatch")
	}
}

// CORE-R311, CORE-T415 (dialer side): a client dialled with Dial(…, nil) accepts thousands of
// server-opened streams.
func TestServerOpensManyStreams(t *testing.T) {
	t.Parallel()
	client, server := coretest.Pair(t, alpn)
	const n = 2000
	streams := make([]conn.BiStream, 0, n)
	defer func() {
		for _, s := range streams {
			s.Close()
		}
	}()
	// A limit below n would block OpenBi for good; the bound turns that into a failure.
	ctx, cancel := context.WithTimeout(t.Context(), coretest.WaitLimit)
	defer cancel()
	for range n {
		s, err := server.OpenBi(ctx)
		if err != nil {
			t.Fatalf("OpenBi after %d streams: %v (does the dialer grant fewer than %d streams?)", len(streams), err, n)
		}
		streams = append(streams, s)
		if _, err := s.Write([]byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		s, err := client.AcceptBi(ctx)
		if err != nil {
			t.Fatalf("AcceptBi %d: %v", i, err)
		}
		defer s.Close()
	}
}

// CORE-R318: Dial's error mapping.
func TestDialErrors(t *testing.T) {
	t.Parallel()
	n := coretest.StartEndpoint(t, holdHandler{})
	_, otherPin := coretest.NewIdentity(t)
	_, err := quictransport.Dial(t.Context(), n.Addr,
		tlsconf.ClientOptions{ALPN: "alknet/hold", PinnedFingerprints: []string{otherPin}}, nil)
	if !errors.Is(err, tlsconf.ErrPeerMismatch) {
		t.Fatalf("wrong pin: %v, want TLS_PEER_MISMATCH", err)
	}
	_, err = quictransport.Dial(t.Context(), n.Addr, n.DialOptions("alknet/unknown", nil), nil)
	var te *quic.TransportError
	if !errors.Is(err, conn.ErrConnectionClosed) || !errors.As(err, &te) {
		t.Fatalf("refused ALPN: %v, want ErrConnectionClosed with the transport error", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := quictransport.Dial(ctx, n.Addr, n.DialOptions("alknet/hold", nil), nil); err != context.Canceled {
		t.Fatalf("cancelled dial: %v, want context.Canceled", err)
	}
	if _, err := quictransport.Dial(t.Context(), n.Addr, tlsconf.ClientOptions{ALPN: "alknet/hold", PinnedFingerprints: []string{"nope"}}, nil); err == nil {
		t.Fatal("invalid pin accepted")
	}
	c := n.Dial(t, "alknet/hold", nil)
	if qc, ok := quictransport.Underlying(c); !ok || qc == nil {
		t.Fatal("Underlying on a QUIC connection failed")
	}
	if _, ok := quictransport.Underlying(conn.NewStreamConn(nopRWC{}, alpn, nil)); ok {
		t.Fatal("Underlying on a single-stream connection succeeded")
	}
}

// CORE-R406: the dial-side defaults.
func TestClientConfigDefaults(t *testing.T) {
	t.Parallel()
	q := quictransport.ClientConfig(config.QUICSettings{})
	if q.MaxIncomingStreams != 4096 || q.MaxIncomingUniStreams != -1 || q.Allow0RTT ||
		q.KeepAlivePeriod != 15*time.Second || q.MaxIdleTimeout != 30*time.Second || q.HandshakeIdleTimeout != 5*time.Second {
		t.Fatalf("ClientConfig defaults = %+v", q)
	}
	if q := quictransport.ClientConfig(config.QUICSettings{KeepAlivePeriod: -1}); q.KeepAlivePeriod != 0 {
		t.Fatalf("negative keep-alive gave %v, want 0 (off)", q.KeepAlivePeriod)
	}
}

type nopRWC struct{}

func (nopRWC) Read([]byte) (int, error)    { return 0, io.EOF }
func (nopRWC) Write(p []byte) (int, error) { return len(p), nil }
func (nopRWC) Close() error                { return nil }
