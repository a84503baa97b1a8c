package quictransport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/alknet/alknet/alknet-core/config"
	"github.com/alknet/alknet/alknet-core/conn"
	"github.com/alknet/alknet/alknet-core/tlsconf"
)

// Wrap turns an established QUIC connection into a *conn.Connection whose ALPN is the one
// negotiated in the TLS handshake. The connection's streams follow CORE-R311..R317.
func Wrap(qc *quic.Conn) *conn.Connection {
	return conn.New(&source{qc: qc}, qc.ConnectionState().TLS.NegotiatedProtocol)
}

// Underlying returns the QUIC connection behind c, and false when c is not a QUIC connection.
// Handlers that use it give up transport independence and must only be registered on
// QUIC-only ALPNs such as h3 (CORE-R315).
func Underlying(c *conn.Connection) (*quic.Conn, bool) {
	s, ok := c.Source().(*source)
	if !ok {
		return nil, false
	}
	return s.qc, true
}

// ClientConfig returns the quic-go configuration for dialing with the settings s (zero fields
// take the defaults of CORE-R403): the same incoming bidirectional stream allowance as the
// accepting side, because the accepting side may open streams towards the dialer (CORE-R406);
// no incoming unidirectional streams; keep-alives; no datagrams.
func ClientConfig(s config.QUICSettings) *quic.Config {
	s = s.WithDefaults()
	keepAlive := s.KeepAlivePeriod
	if keepAlive < 0 {
		keepAlive = 0
	}
	return &quic.Config{
		HandshakeIdleTimeout:  s.HandshakeIdleTimeout,
		MaxIdleTimeout:        s.MaxIdleTimeout,
		KeepAlivePeriod:       keepAlive,
		MaxIncomingStreams:    s.MaxIncomingStreams,
		MaxIncomingUniStreams: -1,
	}
}

// Dial connects to addr with one ALPN (opts.ALPN) and the TLS client configuration of
// tlsconf.ClientConfig (pinned fingerprints or CA verification, CORE-R712), and returns the
// wrapped connection; the caller closes it. It never offers 0-RTT (CORE-R316). Each call uses
// its own UDP socket, closed with the connection. A nil qcfg means ClientConfig(QUICSettings{}).
//
// Errors (CORE-R318): a ctx that ended first gives ctx.Err() unwrapped; a pin mismatch keeps
// tlsconf.ErrPeerMismatch in the chain; a handshake timeout matches conn.ErrTimeout; every
// other handshake failure matches conn.ErrConnectionClosed with the quic-go error reachable.
func Dial(ctx context.Context, addr string, opts tlsconf.ClientOptions, qcfg *quic.Config) (*conn.Connection, error) {
	tlsConf, err := tlsconf.ClientConfig(opts)
	if err != nil {
		return nil, err
	}
	if qcfg == nil {
		qcfg = ClientConfig(config.QUICSettings{})
	}
	qc, err := quic.DialAddr(ctx, addr, tlsConf, qcfg)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, tlsconf.ErrPeerMismatch) {
			return nil, fmt.Errorf("dial %s: %w", addr, err)
		}
		return nil, mapErr("dial "+addr, err)
	}
	return Wrap(qc), nil
}

// source is the conn.StreamSource over a *quic.Conn.
type source struct{ qc *quic.Conn }

func (s *source) AcceptBi(ctx context.Context) (conn.BiStream, error) {
	st, err := s.qc.AcceptStream(ctx)
	if err != nil {
		if ctx.Err() != nil && s.qc.Context().Err() == nil {
			return nil, ctx.Err()
		}
		return nil, mapErr("accept stream", err)
	}
	return &stream{s: st}, nil
}

func (s *source) OpenBi(ctx context.Context) (conn.BiStream, error) {
	st, err := s.qc.OpenStreamSync(ctx)
	if err != nil {
		if ctx.Err() != nil && s.qc.Context().Err() == nil {
			return nil, ctx.Err()
		}
		return nil, mapErr("open stream", err)
	}
	return &stream{s: st}, nil
}

func (s *source) RemoteAddr() net.Addr { return s.qc.RemoteAddr() }

func (s *source) Close(code uint64, reason string) error {
	err := s.qc.CloseWithError(quic.ApplicationErrorCode(code), reason)
	if err != nil {
		return mapErr("close connection", err)
	}
	return nil
}

func (s *source) Done() <-chan struct{} { return s.qc.Context().Done() }

// stream is the conn.BiStream over a *quic.Stream. It records Reset so that a later Close or
// CloseWrite, which quic-go refuses after CancelWrite, becomes a no-op (CORE-R317).
type stream struct {
	s *quic.Stream

	mu          sync.Mutex // serializes the send-side state changes below
	reset       bool       // guarded by mu
	writeClosed bool       // guarded by mu
	closed      bool       // guarded by mu
}

func (st *stream) Read(p []byte) (int, error) {
	n, err := st.s.Read(p)
	if err != nil && err != io.EOF {
		err = mapErr("read", err)
	}
	return n, err
}

func (st *stream) Write(p []byte) (int, error) {
	n, err := st.s.Write(p)
	if err != nil {
		err = mapErr("write", err)
	}
	return n, err
}

func (st *stream) CloseWrite() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.reset || st.writeClosed {
		return nil
	}
	st.writeClosed = true
	// quic-go refuses Close after the peer stopped the send side; nothing is left to finish.
	_ = st.s.Close()
	return nil
}

func (st *stream) Close() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed || st.reset {
		return nil
	}
	st.closed = true
	if !st.writeClosed {
		st.writeClosed = true
		_ = st.s.Close()
	}
	st.s.CancelRead(0)
	return nil
}

func (st *stream) Reset(code uint64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.reset {
		return
	}
	st.reset = true
	st.s.CancelWrite(quic.StreamErrorCode(code))
	st.s.CancelRead(quic.StreamErrorCode(code))
}

func (st *stream) SetReadDeadline(t time.Time) error  { return st.s.SetReadDeadline(t) }
func (st *stream) SetWriteDeadline(t time.Time) error { return st.s.SetWriteDeadline(t) }

// mapErr applies CORE-R314: timeouts first (quic-go's timeout errors also unwrap to
// net.ErrClosed), then stream errors, then connection closure. The quic-go error stays in the
// chain.
func mapErr(op string, err error) error {
	var (
		idle      *quic.IdleTimeoutError
		handshake *quic.HandshakeTimeoutError
		streamErr *quic.StreamError
		appErr    *quic.ApplicationError
		reset     *quic.StatelessResetError
		transport *quic.TransportError
	)
	switch {
	case errors.As(err, &idle), errors.As(err, &handshake), errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%s: %w: %w", op, conn.ErrTimeout, err)
	case errors.As(err, &streamErr), errors.Is(err, quic.ErrStreamClosed):
		return fmt.Errorf("%s: %w: %w", op, conn.ErrStreamClosed, err)
	case errors.As(err, &appErr), errors.As(err, &reset), errors.As(err, &transport),
		errors.Is(err, quic.ErrServerClosed), errors.Is(err, net.ErrClosed):
		return fmt.Errorf("%s: %w: %w", op, conn.ErrConnectionClosed, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
