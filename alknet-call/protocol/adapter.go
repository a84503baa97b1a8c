package protocol

import (
	"context"

	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/conn"
)

// ALPN is the protocol identifier of the call protocol (CALLP-R1).
const ALPN = "alknet/call"

// CallAdapter is the accept-side ProtocolHandler (core.md §2) for ALPN alknet/call. It is safe
// for concurrent use; one adapter serves every accepted connection of a node.
type CallAdapter struct {
	d    *Dispatcher
	hook func(ctx context.Context, c *CallConnection) error
}

// AdapterOption configures a [CallAdapter].
type AdapterOption func(*CallAdapter)

// WithAcceptHook runs fn for every accepted connection once Serve is running, on a goroutine the
// connection owns, with a context cancelled when the connection ends (CALLP-R9). An error or panic
// is logged at warn and the connection stays up.
func WithAcceptHook(fn func(ctx context.Context, c *CallConnection) error) AdapterOption {
	return func(a *CallAdapter) { a.hook = fn }
}

// NewCallAdapter returns the accept-side handler for d.
func NewCallAdapter(d *Dispatcher, opts ...AdapterOption) *CallAdapter {
	a := &CallAdapter{d: d}
	for _, o := range opts {
		o(a)
	}
	return a
}

// ALPN returns "alknet/call".
func (a *CallAdapter) ALPN() string { return ALPN }

// Handle attaches c with WithConnIdentity(ac.Identity) and WithRemoteFingerprint(
// ac.TLSClientFingerprint), runs the engine and the accept hook, and returns when the connection
// ends or ctx is cancelled (after the graceful close of CALLP-R82).
func (a *CallAdapter) Handle(ctx context.Context, c *conn.Connection, ac auth.AuthContext) error {
	cc := a.d.Attach(c, WithConnIdentity(ac.Identity), WithRemoteFingerprint(ac.TLSClientFingerprint))
	cc.hook = a.hook
	return cc.Serve(ctx)
}
