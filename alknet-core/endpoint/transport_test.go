package endpoint_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/config"
	"github.com/alknet/alknet/alknet-core/conn"
	"github.com/alknet/alknet/alknet-core/coretest"
	"github.com/alknet/alknet/alknet-core/endpoint"
	"github.com/alknet/alknet/alknet-core/handler"
	"github.com/alknet/alknet/alknet-core/quictransport"
	"github.com/alknet/alknet/alknet-core/tlsconf"
)

// stateHandler reports the QUIC connection state the server saw, then echoes.
type stateHandler struct{ states chan quic.ConnectionState }

func (stateHandler) ALPN() string { return alpnEcho }
func (h stateHandler) Handle(ctx context.Context, c *conn.Connection, a auth.AuthContext) error {
	qc, _ := quictransport.Underlying(c)
	h.states <- qc.ConnectionState()
	return echoHandler{}.Handle(ctx, c, a)
}

// earlyRoundTrip dials with DialAddrEarly, sends one echo request right away (in 0-RTT when
// the session allows it) and returns the client's connection state after the handshake.
func earlyRoundTrip(t *testing.T, addr string, tlsConf *tls.Config) quic.ConnectionState {
	t.Helper()
	qc, err := quic.DialAddrEarly(t.Context(), addr, tlsConf, &quic.Config{})
	if err != nil {
		t.Fatalf("DialAddrEarly: %v", err)
	}
	defer qc.CloseWithError(0, "")
	s, err := qc.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte("early")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if got, err := io.ReadAll(s); err != nil || string(got) != "early" {
		t.Fatalf("early echo = %q, %v", got, err)
	}
	coretest.Recv(t, qc.HandshakeComplete(), "the handshake to complete")
	return qc.ConnectionState()
}

// CORE-T414, CORE-R403: the endpoint refuses 0-RTT; a bare listener allowing it shows that
// the test can see 0-RTT at all.
func TestZeroRTTRefused(t *testing.T) {
	t.Parallel()
	h := stateHandler{states: make(chan quic.ConnectionState, 2)}
	n := coretest.StartEndpoint(t, h)
	tlsConf := n.ClientTLS(t, alpnEcho, nil)
	tlsConf.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	earlyRoundTrip(t, n.Addr, tlsConf)
	coretest.Recv(t, h.states, "the first connection's state")
	client := earlyRoundTrip(t, n.Addr, tlsConf)
	server := coretest.Recv(t, h.states, "the resumed connection's state")
	if client.Used0RTT || server.Used0RTT {
		t.Fatalf("endpoint accepted 0-RTT: client %v, server %v", client.Used0RTT, server.Used0RTT)
	}
	if !client.TLS.DidResume {
		t.Fatal("the second connection did not resume, so the test proves nothing")
	}

	// Baseline: a bare quic-go listener with Allow0RTT reports 0-RTT for the same steps.
	addr, bare := coretest.StartEarlyListener(t, alpnEcho, func(s *quic.Stream) {
		_, _ = io.Copy(s, s)
		_ = s.Close()
	})
	earlyRoundTrip(t, addr, bare)
	if st := earlyRoundTrip(t, addr, bare); !st.Used0RTT {
		t.Fatal("baseline listener with Allow0RTT did not use 0-RTT")
	}
}

// countHandler holds every stream it accepts and reports when it holds want of them.
type countHandler struct {
	want    int
	reached chan struct{}
}

func (countHandler) ALPN() string { return "alknet/count" }
func (h countHandler) Handle(ctx context.Context, c *conn.Connection, _ auth.AuthContext) error {
	var held []conn.BiStream
	defer func() {
		for _, s := range held {
			s.Close()
		}
	}()
	for {
		s, err := c.AcceptBi(ctx)
		if err != nil {
			return nil
		}
		held = append(held, s)
		if len(held) == h.want {
			close(h.reached)
		}
	}
}

// CORE-T415 (endpoint side), CORE-R403: 2,000 concurrently open client streams are accepted.
func TestThousandsOfStreams(t *testing.T) {
	t.Parallel()
	const want = 2000
	h := countHandler{want: want, reached: make(chan struct{})}
	n := coretest.StartEndpoint(t, h)
	c := n.Dial(t, "alknet/count", nil)
	var open []conn.BiStream
	defer func() {
		for _, s := range open {
			s.Close()
		}
	}()
	// A limit below want would block OpenBi for good; the bound turns that into a failure.
	ctx, cancel := context.WithTimeout(t.Context(), coretest.WaitLimit)
	defer cancel()
	for i := range want {
		s, err := c.OpenBi(ctx)
		if err != nil {
			t.Fatalf("OpenBi %d: %v (does the endpoint grant fewer than %d streams?)", i, err, want)
		}
		open = append(open, s)
		if _, err := s.Write([]byte{1}); err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
	}
	timer := time.NewTimer(coretest.WaitLimit)
	defer timer.Stop()
	select {
	case <-h.reached:
	case <-c.Done():
		t.Fatal("connection closed before all streams were accepted")
	case <-timer.C:
		t.Fatalf("the node did not accept %d streams within %v", want, coretest.WaitLimit)
	}
}

// CORE-T415, CORE-R404: without an h3 handler the peer may open no unidirectional stream.
func TestNoUniStreamsWithoutH3(t *testing.T) {
	t.Parallel()
	n := coretest.StartEndpoint(t, echoHandler{})
	c := n.Dial(t, alpnEcho, nil)
	qc, _ := quictransport.Underlying(c)
	_, err := qc.OpenUniStream()
	var limit *quic.StreamLimitReachedError
	if !errors.As(err, &limit) {
		t.Fatalf("OpenUniStream = %v, want StreamLimitReachedError", err)
	}
}

// h3Handler serves HTTP/3 on its connection through quictransport.Underlying (CORE-R315).
type h3Handler struct{}

func (h3Handler) ALPN() string { return handler.ALPNHTTP3 }
func (h3Handler) Handle(ctx context.Context, c *conn.Connection, _ auth.AuthContext) error {
	qc, ok := quictransport.Underlying(c)
	if !ok {
		return errors.New("h3 over a non-QUIC connection")
	}
	srv := &http3.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello over h3")
	})}
	stop := context.AfterFunc(ctx, func() { _ = c.Close(endpoint.CloseShutdown, endpoint.CloseReason(endpoint.CloseShutdown)) })
	defer stop()
	_ = srv.ServeQUICConn(qc)
	return nil
}

// CORE-T415, CORE-R404, CORE-R405: with h3 registered an HTTP/3 client completes a request,
// and on an alknet connection of the same endpoint every unidirectional stream the peer
// opens is stopped while the echo keeps working.
func TestH3AndUniStreamDiscarder(t *testing.T) {
	t.Parallel()
	n := coretest.StartEndpoint(t, h3Handler{}, echoHandler{})
	tr := &http3.Transport{TLSClientConfig: n.ClientTLS(t, handler.ALPNHTTP3, nil)}
	defer tr.Close()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://"+n.Addr+"/", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("HTTP/3 request: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "hello over h3" {
		t.Fatalf("HTTP/3 response %d %q", resp.StatusCode, body)
	}

	c := n.Dial(t, alpnEcho, nil)
	qc, _ := quictransport.Underlying(c)
	for i := range 16 {
		us, err := qc.OpenUniStreamSync(t.Context())
		if err != nil {
			t.Fatalf("OpenUniStream %d: %v", i, err)
		}
		if _, err := us.Write([]byte("unwanted")); err != nil {
			t.Fatal(err)
		}
		coretest.Recv(t, us.Context().Done(), fmt.Sprintf("the node to stop uni stream %d", i))
		var se *quic.StreamError
		if !errors.As(context.Cause(us.Context()), &se) || !se.Remote {
			t.Fatalf("uni stream %d ended with %v, want STOP_SENDING from the node", i, context.Cause(us.Context()))
		}
	}
	if got := roundTrip(t, c, []byte("still echoing")); string(got) != "still echoing" {
		t.Fatalf("echo = %q", got)
	}
}

// CORE-T416, CORE-R208: a clean return during shutdown closes with 0x02; a peer that leaves
// first produces no record above debug, even when the handler then returns an error.
func TestCloseClassification(t *testing.T) {
	t.Parallel()
	t.Run("shutdown", func(t *testing.T) {
		t.Parallel()
		entered := make(chan struct{}, 1)
		polite := funcHandler{alpn: "alknet/polite", fn: func(ctx context.Context, c *conn.Connection, _ auth.AuthContext) error {
			entered <- struct{}{}
			<-ctx.Done()
			return nil
		}}
		n := coretest.StartEndpoint(t, polite)
		c := n.Dial(t, "alknet/polite", nil)
		coretest.Recv(t, entered, "the polite handler to run")
		go func() { _ = n.Endpoint.Shutdown(context.WithoutCancel(t.Context())) }()
		if code, _, ok := coretest.CloseCode(t, c); !ok || code != endpoint.CloseShutdown {
			t.Fatalf("closed with %#x (ok=%v), want 0x02", code, ok)
		}
	})
	t.Run("peer first", func(t *testing.T) {
		t.Parallel()
		var sink logSink
		entered, returned := make(chan struct{}), make(chan struct{})
		grumpy := funcHandler{alpn: "alknet/grumpy", fn: func(ctx context.Context, c *conn.Connection, _ auth.AuthContext) error {
			defer close(returned)
			close(entered)
			<-c.Done()
			return errors.New("the peer left me")
		}}
		n := coretest.StartNode(t, coretest.NodeOptions{Handlers: []handler.ProtocolHandler{grumpy}, Logger: sink.logger()})
		c := n.Dial(t, "alknet/grumpy", nil)
		coretest.Recv(t, entered, "the grumpy handler to run") // the node finished its side of the handshake
		c.Close(0, "")
		coretest.Recv(t, returned, "the grumpy handler to return")
		if err := n.Endpoint.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
		for _, line := range sink.lines(`"conn":`) {
			if !strings.Contains(line, `"level":"DEBUG"`) {
				t.Errorf("record above debug after the peer closed first: %s", line)
			}
		}
		if len(sink.lines("connection ended", "the peer left me")) != 1 {
			t.Errorf("the handler's return was not logged at debug:\n%s", sink.String())
		}
	})
}

// CORE-T417, CORE-R407: one record per endpoint with the granted buffer sizes.
func TestUDPBufferLog(t *testing.T) {
	t.Parallel()
	for name, q := range map[string]config.QUICSettings{
		"default":    {},
		"os default": {UDPReceiveBuffer: -1, UDPSendBuffer: -1},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var sink logSink
			coretest.StartNode(t, coretest.NodeOptions{Handlers: []handler.ProtocolHandler{echoHandler{}},
				Static: config.StaticConfig{QUIC: q}, Logger: sink.logger()})
			lines := sink.lines("udp_recv_buffer", "udp_send_buffer")
			if len(lines) != 1 {
				t.Fatalf("%d buffer records, want 1:\n%s", len(lines), sink.String())
			}
			var rec struct {
				Requested int `json:"requested"`
				Recv      int `json:"udp_recv_buffer"`
				Send      int `json:"udp_send_buffer"`
			}
			if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
				t.Fatal(err)
			}
			if rec.Recv <= 0 || rec.Send <= 0 {
				t.Errorf("granted sizes not reported: %s", lines[0])
			}
			if want := map[string]int{"default": 7 << 20, "os default": 0}[name]; rec.Requested != want {
				t.Errorf("requested = %d, want %d", rec.Requested, want)
			}
		})
	}
}

// CORE-T418, CORE-R317: Reset unblocks a Write stuck on flow control; Close after Reset is
// nil; a stream closed unread frees the peer's stream slot.
func TestStreamResetAndCredit(t *testing.T) {
	t.Parallel()
	t.Run("reset unblocks write", func(t *testing.T) {
		t.Parallel()
		accepted := make(chan struct{})
		never := funcHandler{alpn: "alknet/sink", fn: func(ctx context.Context, c *conn.Connection, _ auth.AuthContext) error {
			s, err := c.AcceptBi(ctx)
			if err != nil {
				return nil
			}
			defer s.Close()
			close(accepted) // the client's Write has started
			select {        // never reads
			case <-ctx.Done():
			case <-c.Done():
			}
			return nil
		}}
		n := coretest.StartEndpoint(t, never)
		c := n.Dial(t, "alknet/sink", nil)
		s, err := c.OpenBi(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		werr := make(chan error, 1)
		go func() {
			// More than any flow-control window: this Write cannot finish while the peer
			// does not read.
			_, err := s.Write(make([]byte, 64<<20))
			werr <- err
		}()
		coretest.Recv(t, accepted, "the node to accept the stream")
		s.Reset(0x42)
		if err := coretest.Recv(t, werr, "the blocked Write to return after Reset"); !errors.Is(err, conn.ErrStreamClosed) {
			t.Fatalf("blocked Write after Reset = %v, want ErrStreamClosed", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close after Reset = %v", err)
		}
	})
	t.Run("closed stream frees its slot", func(t *testing.T) {
		t.Parallel()
		second := make(chan struct{})
		picky := funcHandler{alpn: "alknet/picky", fn: func(ctx context.Context, c *conn.Connection, _ auth.AuthContext) error {
			s, err := c.AcceptBi(ctx)
			if err != nil {
				return nil
			}
			_, _ = s.Read(make([]byte, 1))
			s.Close() // the rest of the data stays unread
			s2, err := c.AcceptBi(ctx)
			if err != nil {
				return nil
			}
			close(second)
			s2.Close()
			<-c.Done()
			return nil
		}}
		n := coretest.StartNode(t, coretest.NodeOptions{Handlers: []handler.ProtocolHandler{picky},
			Static: config.StaticConfig{QUIC: config.QUICSettings{MaxIncomingStreams: 1}}})
		c := n.Dial(t, "alknet/picky", nil)
		s1, err := c.OpenBi(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer s1.Close()
		if _, err := s1.Write([]byte{1}); err != nil {
			t.Fatal(err)
		}
		// More data the node never reads; the write may fail once the node stops the stream.
		_, _ = s1.Write(make([]byte, 32<<10))
		s2, err := c.OpenBi(t.Context()) // blocks until the node freed the slot
		if err != nil {
			t.Fatalf("second OpenBi = %v", err)
		}
		defer s2.Close()
		if _, err := s2.Write([]byte{1}); err != nil {
			t.Fatal(err)
		}
		coretest.Recv(t, second, "the node to accept the second stream")
	})
}

// CORE-T709, CORE-T705, CORE-R711: clients presenting garbage certificates, or a certificate
// without its private key, are refused at the handshake; no handler runs and the node keeps
// serving well-behaved clients.
func TestBadClientCertificates(t *testing.T) {
	t.Parallel()
	var ran atomic.Int32
	counting := funcHandler{alpn: "alknet/count", fn: func(ctx context.Context, c *conn.Connection, _ auth.AuthContext) error {
		ran.Add(1)
		return nil
	}}
	n := coretest.StartEndpoint(t, counting, echoHandler{})
	keyA, err := tlsconf.GenerateEd25519Key()
	if err != nil {
		t.Fatal(err)
	}
	keyB, _ := tlsconf.GenerateEd25519Key()
	certA, err := tlsconf.WrapperCertificate(keyA)
	if err != nil {
		t.Fatal(err)
	}
	certB, _ := tlsconf.WrapperCertificate(keyB)
	for name, cert := range map[string]tls.Certificate{
		"garbage DER": {Certificate: [][]byte{[]byte("certainly not DER")}, PrivateKey: certA.PrivateKey},
		"wrong key":   {Certificate: certA.Certificate, PrivateKey: certB.PrivateKey},
	} {
		tlsConf := n.ClientTLS(t, "alknet/count", nil)
		tlsConf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
		qc, err := quic.DialAddr(t.Context(), n.Addr, tlsConf, nil)
		if err == nil {
			// TLS 1.3: the client may finish first; its connection then dies.
			coretest.Recv(t, qc.Context().Done(), name+": the refused client's connection to end")
			err = context.Cause(qc.Context())
		}
		var te *quic.TransportError
		if !errors.As(err, &te) || !te.ErrorCode.IsCryptoError() {
			t.Errorf("%s: connection ended with %v, want a CRYPTO_ERROR", name, err)
		}
		if got := roundTrip(t, n.Dial(t, alpnEcho, nil), []byte(name)); string(got) != name {
			t.Errorf("%s: node no longer serving: %q", name, got)
		}
	}
	if r := ran.Load(); r != 0 {
		t.Fatalf("a handler ran %d times for refused clients", r)
	}
}
