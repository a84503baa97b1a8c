package registry

import (
	"crypto/rand"
	"encoding/hex"
	"maps"

	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/secret"
)

// AbortPolicy says what cancelling a parent does to a composed child (ENV-R6).
type AbortPolicy uint8

const (
	// AbortDependents (the default): aborting the parent aborts the child.
	AbortDependents AbortPolicy = iota
	// ContinueRunning: a started child finishes; a child not yet started does not start.
	ContinueRunning
)

// OperationContext carries the metadata of one invocation. It is read-only for handlers: only
// the dispatch core builds one (CTX-R1), and accessors return copies of mutable values. A zero
// OperationContext{} behaves as an anonymous, non-internal context with no authority, an empty
// scope and no capabilities, whose Env answers every call NOT_FOUND.
type OperationContext struct {
	op          string
	requestID   string
	parentID    string
	identity    *auth.Identity
	reg         *HandlerRegistration
	caps        secret.Capabilities
	forwarded   *ForwardedIdentity
	origin      *auth.Identity // the wire root's authenticated caller; exposed only as a claim copy (FWD-R4)
	traceParent string
	metadata    map[string]string
	abortPolicy AbortPolicy
	internal    bool
	tree        *callTree
	edgeChecks  bool // wire root whose edge emit validates items itself (ServeSubscribeChecked)
}

// Operation returns the name of the operation being executed.
func (oc *OperationContext) Operation() string { return oc.op }

// RequestID returns this invocation's id: the call.requested id for a wire root, a fresh random
// id for a composed child (CTX-R3, CTX-R4).
func (oc *OperationContext) RequestID() string { return oc.requestID }

// ParentRequestID returns the composing invocation's id; "" for a wire root.
func (oc *OperationContext) ParentRequestID() string { return oc.parentID }

// Identity returns a copy of the direct caller (ACL-R6): the authenticated identity of a wire
// call, the parent's composition authority for a composed call. nil means anonymous.
func (oc *OperationContext) Identity() *auth.Identity {
	if oc.identity == nil {
		return nil
	}
	c := oc.identity.Clone()
	return &c
}

// Authority returns a copy of this handler's own composition authority; nil for leaves.
func (oc *OperationContext) Authority() *CompositionAuthority {
	if oc.reg == nil {
		return nil
	}
	return oc.reg.Authority.clone()
}

// ForwardedFor returns a copy of the forwarded_for claim of a wire root (FWD-R3); nil when
// absent, malformed, or for composed calls. It is unverified (FWD-R6).
func (oc *OperationContext) ForwardedFor() *ForwardedIdentity { return oc.forwarded.clone() }

// Origin returns a copy of the identity this node authenticated for the root call (FWD-R4),
// typed as a claim so it cannot reach an access check; nil for an anonymous root.
func (oc *OperationContext) Origin() *ForwardedIdentity { return originOf(oc.origin) }

// Capabilities returns the executing registration's capabilities (CAP-R2); the zero value
// (none) before the dispatch checks passed (DSP-R2).
func (oc *OperationContext) Capabilities() secret.Capabilities { return oc.caps }

// TraceParent returns the W3C traceparent this invocation runs under; "" = none (CTX-R7).
func (oc *OperationContext) TraceParent() string { return oc.traceParent }

// Metadata returns a copy of the request-scoped, non-secret metadata; always empty for composed
// calls (CTX-R4, CTX-R6).
func (oc *OperationContext) Metadata() map[string]string {
	if len(oc.metadata) == 0 {
		return map[string]string{}
	}
	return maps.Clone(oc.metadata)
}

// Scope returns this handler's reachability set; empty for leaves (ENV-R4).
func (oc *OperationContext) Scope() ScopedEnv { return oc.reg.scope() }

// Env returns the composition interface bound to oc (ENV-R1).
func (oc *OperationContext) Env() Env { return boundEnv{oc: oc} }

// AbortPolicy returns the policy this invocation was started with.
func (oc *OperationContext) AbortPolicy() AbortPolicy { return oc.abortPolicy }

// IsInternal reports whether the context was created by composition (CTX-R2).
func (oc *OperationContext) IsInternal() bool { return oc.internal }

// newRequestID returns a random UUID v4 (CTX-R4).
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}
