// Package client dials alknet/call connections and serves them with the node's one
// [protocol.Dispatcher] (call-registry.md §18): after establishment a dialled connection is
// symmetric, so this side calls the remote through the returned [protocol.CallConnection] and the
// remote calls this node's registry over the same connection.
package client

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/config"
	"github.com/alknet/alknet/alknet-core/conn"
	"github.com/alknet/alknet/alknet-core/fingerprint"
	"github.com/alknet/alknet/alknet-core/quictransport"
	"github.com/alknet/alknet/alknet-core/tlsconf"
)

// RemoteIdentity pins the remote to a set of fingerprints (CLNT-R5): a peer in the middle of a
// key rotation holds two, and either is accepted. The set must not be empty.
type RemoteIdentity struct {
	Fingerprints []string // each "ed25519:<hex>" or "SHA256:<hex>"; parsed with fingerprint.Parse
}

// CallCredentials is what this side presents and expects when it dials.
type CallCredentials struct {
	TLS            *tlsconf.Identity // presented as client certificate; nil = none (CLNT-R7)
	AuthToken      auth.AuthToken    // sent as auth_token on every call this side originates; zero = none
	RemoteIdentity *RemoteIdentity   // pins; nil = verify by CA chain and ServerName (CLNT-R5)
	ServerName     string            // for CA verification of X.509 remotes
	RootCAs        *x509.CertPool    // nil = system roots
}

// ClientErrorKind classifies a [ClientError].
type ClientErrorKind uint8

// Kinds of [ClientError].
const (
	ErrKindTransport              ClientErrorKind = iota + 1 // the dial or handshake failed
	ErrKindTLSSetup                                          // the credentials or pins are unusable
	ErrKindRemoteIdentityMismatch                            // the server's key is not pinned
	ErrKindConnectionClosed                                  // the client is closed, or the connection ended during establishment
)

// ClientError is a failure of Connect or Serve. Message is safe to show; Err is the cause (a pin
// mismatch wraps tlsconf.ErrPeerMismatch), reachable with errors.Is and alkerr.CodeOf.
type ClientError struct {
	Kind    ClientErrorKind
	Message string
	Err     error
}

// Error returns the message followed by the cause.
func (e *ClientError) Error() string {
	if e.Err == nil {
		return "call client: " + e.Message
	}
	return "call client: " + e.Message + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *ClientError) Unwrap() error { return e.Err }

// Option configures a [CallClient].
type Option func(*options)

type options struct {
	onConnect func(ctx context.Context, c *protocol.CallConnection) error
	logger    *slog.Logger
	quic      config.QUICSettings
}

// WithOnConnect runs fn after establishment and before Connect returns (CLNT-R9). Its ctx is
// Connect's, also cancelled if the connection ends meanwhile. An error or panic closes the
// connection and is returned by Connect unchanged.
func WithOnConnect(fn func(ctx context.Context, c *protocol.CallConnection) error) Option {
	return func(o *options) { o.onConnect = fn }
}

// WithLogger sets the client's logger; nil discards.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithQUICSettings sets the dial-side QUIC limits (CLNT-R13); the zero value is core's defaults.
func WithQUICSettings(s config.QUICSettings) Option { return func(o *options) { o.quic = s } }

// CallClient dials alknet/call connections and serves them with one Dispatcher. It owns the
// engine goroutine of every connection it makes (CLNT-R12). Safe for concurrent use.
type CallClient struct {
	d    *protocol.Dispatcher
	opts options

	mu     sync.Mutex
	closed bool                                          // guarded by mu
	conns  map[*protocol.CallConnection]*conn.Connection // guarded by mu
	wg     sync.WaitGroup
}

// New returns a client serving every connection it makes with d, the node's one Dispatcher
// (CLNT-R1): registry, identity provider, peers, timeouts and revocation all come from d.
func New(d *protocol.Dispatcher, opts ...Option) *CallClient {
	c := &CallClient{d: d, conns: map[*protocol.CallConnection]*conn.Connection{}}
	for _, o := range opts {
		o(&c.opts)
	}
	if c.opts.logger == nil {
		c.opts.logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Connect dials addr with ALPN alknet/call, verifies the remote (CLNT-R5), resolves its identity
// (CLNT-R6), starts the engine and runs the connect hook. ctx bounds only the establishment
// (CLNT-R12): the connection lives until the remote closes it, it is closed, revoked, or the
// client is closed.
func (c *CallClient) Connect(ctx context.Context, addr string, creds CallCredentials) (*protocol.CallConnection, error) {
	if c.isClosed() {
		return nil, &ClientError{Kind: ErrKindConnectionClosed, Message: "client closed"}
	}
	tlsOpts := tlsconf.ClientOptions{ALPN: protocol.ALPN, ServerName: creds.ServerName, Local: creds.TLS, RootCAs: creds.RootCAs}
	if ri := creds.RemoteIdentity; ri != nil {
		if len(ri.Fingerprints) == 0 {
			return nil, &ClientError{Kind: ErrKindTLSSetup, Message: "empty remote fingerprint set",
				Err: alkerr.New(alkerr.CodeConfigInvalid, "remote identity has no fingerprints")}
		}
		for _, f := range ri.Fingerprints {
			fp, err := fingerprint.Parse(f)
			if err != nil {
				return nil, &ClientError{Kind: ErrKindTLSSetup, Message: "unparsable remote fingerprint", Err: err}
			}
			tlsOpts.PinnedFingerprints = append(tlsOpts.PinnedFingerprints, fp)
		}
	}
	cn, err := quictransport.Dial(ctx, addr, tlsOpts, quictransport.ClientConfig(c.opts.quic))
	if err != nil {
		switch {
		case errors.Is(err, tlsconf.ErrPeerMismatch):
			return nil, &ClientError{Kind: ErrKindRemoteIdentityMismatch, Message: "remote identity mismatch", Err: err}
		case errors.Is(err, tlsconf.ErrTLSConfig) || alkerr.CodeOf(err) == alkerr.CodeConfigInvalid:
			return nil, &ClientError{Kind: ErrKindTLSSetup, Message: "TLS setup failed", Err: err}
		}
		return nil, &ClientError{Kind: ErrKindTransport, Message: "dial " + addr, Err: err}
	}
	cc, err := c.serve(ctx, cn, creds)
	if err != nil {
		_ = cn.Close(0, "done")
		return nil, err
	}
	return cc, nil
}

// Serve does what Connect does for a connection someone else established (CLNT-R12): it attaches
// cn with creds.AuthToken as the outgoing token, resolves the remote's identity from the TLS state
// when cn is a QUIC connection, starts the engine, runs the hook and returns once the engine runs.
func (c *CallClient) Serve(ctx context.Context, cn *conn.Connection, creds CallCredentials) (*protocol.CallConnection, error) {
	return c.serve(ctx, cn, creds)
}

func (c *CallClient) serve(ctx context.Context, cn *conn.Connection, creds CallCredentials) (*protocol.CallConnection, error) {
	var opts []protocol.ConnOption
	var id *auth.Identity
	if qc, ok := quictransport.Underlying(cn); ok {
		if certs := qc.ConnectionState().TLS.PeerCertificates; len(certs) > 0 {
			fp := fingerprint.FromCertificate(certs[0])
			opts = append(opts, protocol.WithRemoteFingerprint(fp))
			if c.d.Identities != nil {
				if got, ok := c.d.Identities.ResolveFingerprint(ctx, fp); ok {
					id = &got
				}
			}
		}
	}
	opts = append(opts, protocol.WithConnIdentity(id), protocol.WithOutgoingAuthToken(creds.AuthToken))
	cc := c.d.Attach(cn, opts...)

	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, &ClientError{Kind: ErrKindConnectionClosed, Message: "client closed"}
	}
	c.conns[cc] = cn
	c.wg.Add(1)
	c.mu.Unlock()
	served := make(chan struct{})
	go func() {
		defer c.wg.Done()
		defer close(served)
		err := cc.Serve(context.WithoutCancel(ctx))
		code, reason := uint64(0), "done"
		if errors.Is(err, auth.ErrAuthRequired) {
			code, reason = 0x03, "authentication required" // CALLP-R97
		} else if err != nil {
			c.opts.logger.Warn("call connection ended", "err", err)
		} else if cc.Answered() {
			linger(cn)
		}
		_ = cn.Close(code, reason)
		c.mu.Lock()
		delete(c.conns, cc)
		c.mu.Unlock()
	}()

	if c.opts.onConnect != nil {
		if err := c.runHook(ctx, cc); err != nil {
			_ = cc.Close()
			_ = cn.Close(0, "done")
			<-served
			return nil, err
		}
	}
	select {
	case <-cc.Done():
		return nil, &ClientError{Kind: ErrKindConnectionClosed, Message: "connection ended during establishment", Err: cc.Err()}
	default:
	}
	return cc, nil
}

func (c *CallClient) runHook(ctx context.Context, cc *protocol.CallConnection) (err error) {
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-cc.Done():
			cancel()
		case <-hctx.Done():
		}
	}()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("connect hook panicked: %v", r)
		}
	}()
	return c.opts.onConnect(hctx, cc)
}

func (c *CallClient) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Close starts the graceful close of every connection the client holds, returns once all their
// engines have returned, and makes later Connect and Serve calls fail with
// ErrKindConnectionClosed. Idempotent.
func (c *CallClient) Close() error {
	c.mu.Lock()
	c.closed = true
	conns := make([]*protocol.CallConnection, 0, len(c.conns))
	for cc := range c.conns {
		conns = append(conns, cc)
	}
	c.mu.Unlock()
	for _, cc := range conns {
		_ = cc.Close()
	}
	c.wg.Wait()
	return nil
}

// Linger bounds: QUIC's default max_ack_delay (RFC 9000 §18.2), a floor for connections whose
// round trip has barely been measured, and a ceiling.
const (
	maxAckDelay = 25 * time.Millisecond
	minLinger   = 100 * time.Millisecond
	maxLinger   = 2 * time.Second
)

// linger gives the answers a gracefully closing engine wrote last time to reach the peer before
// the connection is closed (only for connections that answered requests of the peer; a client
// that only called has nothing of its own in flight and closes at once): a QUIC CONNECTION_CLOSE discards stream data not yet sent or
// acknowledged. It waits for the peer to close first, but no longer than three probe timeouts of
// the measured round trip (at least minLinger, at most maxLinger) — what core's endpoint does on
// the accepting side (CORE-R327, CALLP-R82).
func linger(cn *conn.Connection) {
	select {
	case <-cn.Done():
		return
	default:
	}
	d := maxLinger
	if qc, ok := quictransport.Underlying(cn); ok {
		st := qc.ConnectionStats()
		pto := st.SmoothedRTT + 4*st.MeanDeviation + maxAckDelay
		d = min(d, max(minLinger, 3*pto))
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-cn.Done():
	case <-t.C:
	}
}
