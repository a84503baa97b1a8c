package protocol

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/conn"
)

// Invoker is the registry's dispatch core as the engine sees it (call-protocol.md §10.1);
// *registry.Registry implements it. Implementations must be safe for concurrent use.
type Invoker interface {
	// OpType reports the type of a wire-callable operation; ok is false for unknown and
	// Internal names.
	OpType(name string) (registry.OperationType, bool)
	// ServeCall runs a Query or Mutation request (and answers NOT_FOUND for unknown names).
	ServeCall(ctx context.Context, w registry.WireCall, input json.RawMessage) (json.RawMessage, error)
	// ServeSubscribe runs a Subscription request; emit writes one call.responded.
	ServeSubscribe(ctx context.Context, w registry.WireCall, input json.RawMessage, emit registry.Emit) error
	// AbortCaller cancels every in-flight invocation whose root caller has this id (DSP-R6).
	AbortCaller(callerID string, cause error) int
}

var _ Invoker = (*registry.Registry)(nil)

// checkedSubscriber is an Invoker that skips its own check of emitted items when the emit
// validates them (the encoder of call.responded does, CALLP-R17); *registry.Registry is one.
type checkedSubscriber interface {
	ServeSubscribeChecked(ctx context.Context, w registry.WireCall, input json.RawMessage, emit registry.Emit) error
}

var _ checkedSubscriber = (*registry.Registry)(nil)

// nonBlocker is an Invoker that knows which operations may run on the goroutine that read the
// request (registry.HandlerRegistration.NonBlocking); *registry.Registry is one.
type nonBlocker interface {
	NonBlocking(name string) bool
}

var _ nonBlocker = (*registry.Registry)(nil)

// Dispatcher is shared by all call connections of a node, accepted and dialled: the assembly
// layer builds exactly one and hands it to the [CallAdapter] and to every client. Use it by
// pointer. Its fields are read at [Dispatcher.Attach] and must not change after the first Attach
// (CALLP-R154). It tracks the connections attached to it for [Dispatcher.Revoke] (CALLP-R125).
type Dispatcher struct {
	Invoker    Invoker                // the registry's dispatch core; required
	Identities auth.IdentityProvider  // resolves auth_token; nil = no token resolves (CALLP-R154)
	Sessions   registry.SessionSource // optional Layer 1 source
	Peers      *registry.PeerSet      // optional hub aggregation (ROUTE-R6)
	Options    Options                // engine options (§15)

	mu    sync.Mutex
	conns map[*CallConnection]struct{} // guarded by mu; attached, not yet ended
}

// Attach wraps an established connection. It starts nothing: call [CallConnection.Serve]. The
// engine's mode (multi-stream or single-stream) is taken from c.SingleStream() here (§9.6).
// Giving both WithConnIdentity and WithCallerIdentity, or one twice, panics (CALLP-R5).
func (d *Dispatcher) Attach(c *conn.Connection, opts ...ConnOption) *CallConnection {
	var co connOptions
	for _, o := range opts {
		o(&co)
	}
	if co.identitySet > 1 {
		panic("protocol: Attach given more than one connection identity option")
	}
	cc := newCallConnection(d, c, co)
	d.mu.Lock()
	if d.conns == nil {
		d.conns = map[*CallConnection]struct{}{}
	}
	d.conns[cc] = struct{}{}
	d.mu.Unlock()
	return cc
}

func (d *Dispatcher) detach(cc *CallConnection) {
	d.mu.Lock()
	delete(d.conns, cc)
	d.mu.Unlock()
}

// RevokeResult reports what [Dispatcher.Revoke] did.
type RevokeResult struct {
	Connections int // connections closed because their default caller identity had this id
	Requests    int // root invocations cancelled (Invoker.AbortCaller)
}

// closeAuthRequired is core's CloseAuthRequired connection close code (core.md §6).
const closeAuthRequired = 0x03

// Revoke cuts the live work of one caller identity (CALLP-R124): every attached connection whose
// default caller identity has ID == callerID is marked draining and closed with
// CloseAuthRequired, ending it like a connection loss (CALLP-R81); then every in-flight
// invocation whose root caller is callerID is cancelled with [callerr.ErrRevoked] through
// Invoker.AbortCaller and answered FORBIDDEN / "credentials revoked". Safe from any goroutine;
// never blocks on handlers.
func (d *Dispatcher) Revoke(callerID string) RevokeResult {
	var res RevokeResult
	d.mu.Lock()
	var hit []*CallConnection
	for cc := range d.conns {
		if cc.identity != nil && cc.identity.ID == callerID {
			hit = append(hit, cc)
		}
	}
	d.mu.Unlock()
	for _, cc := range hit {
		cc.draining.Store(true)
		_ = cc.conn.Close(closeAuthRequired, "authentication required")
		cc.end(ErrConnectionClosed)
		res.Connections++
	}
	if d.Invoker != nil {
		res.Requests = d.Invoker.AbortCaller(callerID, callerr.ErrRevoked)
	}
	d.Options.withDefaults().Logger.Warn("caller revoked", "peer_id", callerID,
		"connections", res.Connections, "requests", res.Requests)
	return res
}
