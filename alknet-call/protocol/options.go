package protocol

import (
	"log/slog"
	"time"

	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-call/wire"
	"github.com/alknet/alknet/alknet-core/auth"
)

// Options tunes the engine (call-protocol.md §15). Every zero or negative field takes the default
// shown; a MaxFrameSize above the protocol maximum is lowered to it (CALLP-R154). All defaults are
// two-way doors except the protocol maximum frame size.
type Options struct {
	MaxFrameSize           int           // receive and send limit per frame; default and maximum 64 MiB
	MaxConcurrentInbound   int           // served requests running at once per connection; default 1024
	SubscriptionBuffer     int           // values buffered per subscription on the requester side; default 32
	CallTimeout            time.Duration // requester default deadline of Call; default 30s
	ServeTimeout           time.Duration // handler-side root deadline of Query/Mutation requests; default 30s
	MaxSubscriptionTimeout time.Duration // handler-side root deadline of subscriptions; 0 = none
	AbortSendTimeout       time.Duration // bound on opening the stream that carries call.aborted; default 2s
	ShutdownGrace          time.Duration // graceful-close wait for running requests; default 1.5s
	RequestStreams         int           // unary calls share this many long-lived request streams (CALLP-R74); default 4; negative = a new stream per request (CALLP-R72)
	MaxAuthFailures        func() int    // failed auth_token resolutions tolerated per connection; nil or ≤ 0 = unlimited
	MaxFramingErrors       int           // streams ended by framing errors tolerated per connection within one minute (CALLP-R161); default 64; negative = unlimited
	Logger                 *slog.Logger  // nil = discard
}

func (o Options) withDefaults() Options {
	if o.MaxFrameSize <= 0 || o.MaxFrameSize > wire.MaxFrameSize {
		o.MaxFrameSize = wire.MaxFrameSize
	}
	if o.MaxConcurrentInbound <= 0 {
		o.MaxConcurrentInbound = 1024
	}
	if o.SubscriptionBuffer <= 0 {
		o.SubscriptionBuffer = 32
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 30 * time.Second
	}
	if o.ServeTimeout <= 0 {
		o.ServeTimeout = 30 * time.Second
	}
	if o.MaxSubscriptionTimeout < 0 {
		o.MaxSubscriptionTimeout = 0
	}
	if o.AbortSendTimeout <= 0 {
		o.AbortSendTimeout = 2 * time.Second
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = 1500 * time.Millisecond
	}
	switch {
	case o.RequestStreams < 0:
		o.RequestStreams = 0 // stream per request
	case o.RequestStreams == 0:
		o.RequestStreams = 4
	}
	if o.MaxFramingErrors == 0 {
		o.MaxFramingErrors = 64
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// ConnOption configures one connection at [Dispatcher.Attach].
type ConnOption func(*connOptions)

type connOptions struct {
	identity      *auth.Identity
	identitySet   int
	peer          bool
	outgoingToken auth.AuthToken
	remoteFP      string
}

// WithConnIdentity sets the connection's default caller identity; when id.Origin is
// auth.OriginPeer the connection also gets id.ID as its [registry.PeerID] (CALLP-R5). nil means
// anonymous. Combining it with [WithCallerIdentity], or giving either twice, panics at Attach.
func WithConnIdentity(id *auth.Identity) ConnOption {
	return func(o *connOptions) {
		o.identitySet++
		o.identity = cloneIdentity(id)
		o.peer = id != nil && id.Origin == auth.OriginPeer
	}
}

// WithCallerIdentity sets the connection's default caller identity without ever making the
// connection a routing peer (CALLP-R5).
func WithCallerIdentity(id *auth.Identity) ConnOption {
	return func(o *connOptions) {
		o.identitySet++
		o.identity = cloneIdentity(id)
		o.peer = false
	}
}

// WithOutgoingAuthToken adds token as auth_token to every call.requested this side sends on the
// connection, unless a call gives its own with [WithAuthToken] (CALLP-R88). A zero token adds
// nothing.
func WithOutgoingAuthToken(token auth.AuthToken) ConnOption {
	return func(o *connOptions) { o.outgoingToken = token }
}

// WithRemoteFingerprint records the canonical fingerprint the remote presented in TLS, reported by
// [CallConnection.RemoteFingerprint] (CALLP-R157). "" means none.
func WithRemoteFingerprint(fp string) ConnOption {
	return func(o *connOptions) { o.remoteFP = fp }
}

func cloneIdentity(id *auth.Identity) *auth.Identity {
	if id == nil {
		return nil
	}
	c := id.Clone()
	return &c
}

// CallOption configures one Call or Subscribe.
type CallOption func(*callOptions)

type callOptions struct {
	parent       string
	forwardedFor *registry.ForwardedIdentity
	token        auth.AuthToken
	traceParent  string
	idSink       *string
	fixedID      string // tests only: use this wire id instead of a fresh UUID
}

// WithParent records the local request id of the operation that issues this call, for the
// pending entry's parent link (CALLP-R67).
func WithParent(localRequestID string) CallOption {
	return func(o *callOptions) { o.parent = localRequestID }
}

// WithForwardedFor sends id as forwarded_for: a claim about the original caller, metadata only
// (CALLP-R36, R89). nil sends none.
func WithForwardedFor(id *registry.ForwardedIdentity) CallOption {
	return func(o *callOptions) { o.forwardedFor = id }
}

// WithAuthToken sends token as this call's auth_token instead of the connection's; a zero token
// keeps the connection's (CALLP-R88).
func WithAuthToken(token auth.AuthToken) CallOption {
	return func(o *callOptions) { o.token = token }
}

// WithTraceParent sends tp as traceparent; an invalid value is dropped (CALLP-R46, R47).
func WithTraceParent(tp string) CallOption {
	return func(o *callOptions) {
		if wire.ValidTraceParent(tp) {
			o.traceParent = tp
		}
	}
}

// WithRequestIDSink stores the request's wire id in *dst once it is chosen (logs, tests).
func WithRequestIDSink(dst *string) CallOption {
	return func(o *callOptions) { o.idSink = dst }
}
