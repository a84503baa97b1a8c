package conn

import (
	"context"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/alknet/alknet/alknet-core/auth"
)

// BiStream is one bidirectional byte stream inside a [Connection].
//
// Read and Write may run concurrently in two goroutines. Reset may be called from any
// goroutine at any time and unblocks a pending Read or Write (this is how an abort interrupts
// a writer stuck on flow control). Two concurrent Writes, or Write concurrent with CloseWrite
// or Close, are not allowed. Every stream a handler accepts or opens must end with Close or
// Reset (CORE-R317).
type BiStream interface {
	// Read reads from the receive direction; it returns io.EOF after the peer finished its
	// send direction cleanly.
	io.Reader
	// Write writes to the send direction.
	io.Writer
	// CloseWrite finishes the send direction cleanly (QUIC FIN); reading continues. It
	// returns [ErrHalfCloseUnsupported] where the transport has no half-close.
	CloseWrite() error
	// Close releases the stream: it finishes the send direction if still open and stops
	// reading, discarding unread data. Idempotent.
	Close() error
	// Reset aborts both directions with an application error code.
	Reset(code uint64)
	// SetReadDeadline sets the deadline for pending and future Reads; a zero time clears it.
	SetReadDeadline(t time.Time) error
	// SetWriteDeadline sets the deadline for pending and future Writes; a zero time clears it.
	SetWriteDeadline(t time.Time) error
}

// StreamSource is the transport seam (upstream BidiStreamSource). Modules add new connection
// kinds by implementing it and calling [New]; core needs no edit. Implementations must be safe
// for concurrent use and must follow the error rules of [Connection.AcceptBi].
type StreamSource interface {
	// AcceptBi waits for the next stream opened by the peer.
	AcceptBi(ctx context.Context) (BiStream, error)
	// OpenBi opens a new stream towards the peer.
	OpenBi(ctx context.Context) (BiStream, error)
	// RemoteAddr returns the peer's address, or nil when unknown.
	RemoteAddr() net.Addr
	// Close closes the whole connection. code and reason are QUIC application close values;
	// sources without such a notion ignore them. Idempotent.
	Close(code uint64, reason string) error
	// Done is closed once the connection is closed by either side.
	Done() <-chan struct{}
}

// SingleStreamSource is an optional interface of a [StreamSource], checked with a type
// assertion. A source backed by exactly one byte stream returns true; the value never changes
// during the connection's life (CORE-R306).
type SingleStreamSource interface {
	SingleStream() bool
}

// Connection is what a protocol handler receives: one transport connection with its
// negotiated ALPN and a write-once identity slot for observability. It is safe for
// concurrent use.
type Connection struct {
	src    StreamSource
	alpn   string
	single bool
	id     atomic.Pointer[auth.Identity] // written once by SetIdentity
}

// New wraps a [StreamSource] whose negotiated protocol is alpn.
func New(src StreamSource, alpn string) *Connection {
	c := &Connection{src: src, alpn: alpn}
	if s, ok := src.(SingleStreamSource); ok {
		c.single = s.SingleStream()
	}
	return c
}

// AcceptBi waits for the next stream opened by the peer. It returns ctx.Err() unwrapped when
// ctx ends first, and an error matching [ErrConnectionClosed] once the connection is closed
// (CORE-R302). On a single-stream connection the first call returns the one stream and every
// later call blocks until that stream ends or the connection closes (CORE-R321).
func (c *Connection) AcceptBi(ctx context.Context) (BiStream, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.src.AcceptBi(ctx)
}

// OpenBi opens a new stream towards the peer. On QUIC the peer learns of the stream only
// when data, a FIN or a reset is sent on it, so the opener must write before it waits for the
// peer (CORE-R312). Errors follow [Connection.AcceptBi]; on a single-stream connection OpenBi
// always fails with [ErrStreamClosed] (CORE-R322).
func (c *Connection) OpenBi(ctx context.Context) (BiStream, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.src.OpenBi(ctx)
}

// ALPN returns the negotiated protocol; it is never empty for a connection the endpoint
// dispatched (CORE-R301).
func (c *Connection) ALPN() string { return c.alpn }

// RemoteAddr returns the peer's transport address, or nil when unknown.
func (c *Connection) RemoteAddr() net.Addr { return c.src.RemoteAddr() }

// Close closes the connection with a QUIC application error code and reason (ignored by
// transports without them). It is idempotent and safe to call concurrently with stream
// operations, which then fail with [ErrConnectionClosed] (CORE-R305). The first close wins.
func (c *Connection) Close(code uint64, reason string) error { return c.src.Close(code, reason) }

// Done is closed once the connection is closed by either side.
func (c *Connection) Done() <-chan struct{} { return c.src.Done() }

// Source returns the transport behind the connection, for transport-specific unwrapping only
// (see quictransport.Underlying).
func (c *Connection) Source() StreamSource { return c.src }

// SingleStream reports whether the connection carries exactly one bidirectional stream. It is
// known before any stream is opened or accepted and never changes (CORE-R306): true when the
// source implements [SingleStreamSource] and says so, false otherwise (QUIC connections are
// never single-stream). Protocol engines decide their single-stream mode from it, never from
// an OpenBi failure.
func (c *Connection) SingleStream() bool { return c.single }

// SetIdentity records the identity a handler resolved for this connection, for logging and
// audit only: it is never an authorization input (CORE-R304). It is write-once: exactly one of
// any number of concurrent calls succeeds and the others return [ErrIdentityAlreadySet]
// (CORE-R303). The identity is copied.
func (c *Connection) SetIdentity(id auth.Identity) error {
	cp := id.Clone()
	if !c.id.CompareAndSwap(nil, &cp) {
		return ErrIdentityAlreadySet
	}
	return nil
}

// Identity returns a copy of the identity stored with [Connection.SetIdentity], and false
// when none was stored.
func (c *Connection) Identity() (auth.Identity, bool) {
	p := c.id.Load()
	if p == nil {
		return auth.Identity{}, false
	}
	return p.Clone(), true
}
