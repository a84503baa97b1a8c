package registry

import (
	"context"
	"encoding/json"
	"slices"
)

// InvokeOption adjusts one composed invocation.
type InvokeOption func(*invokeOptions)

type invokeOptions struct {
	policy    AbortPolicy
	policySet bool
}

// WithAbortPolicy sets the child's abort policy (ENV-R6); the default is the parent's.
func WithAbortPolicy(p AbortPolicy) InvokeOption {
	return func(o *invokeOptions) { o.policy, o.policySet = p, true }
}

// Env is how a handler reaches other operations. oc.Env() returns an Env bound to oc, so the
// parent context cannot be swapped for another one. Every invocation runs the full dispatch
// core (DSP-R1) with the parent's composition authority as the caller (ACL-R6) and the
// parent's scope as the reachability set (ENV-R3).
type Env interface {
	// Invoke is InvokePeer with AnyPeer() (ENV-R2).
	Invoke(ctx context.Context, op string, input json.RawMessage, opts ...InvokeOption) (json.RawMessage, error)
	// InvokePeer runs op through peer on the calling goroutine (ENV-R9). Errors are the child's
	// mapped *callerr.CallError, or an abort cause unchanged (ENV-R5).
	InvokePeer(ctx context.Context, peer PeerRef, op string, input json.RawMessage, opts ...InvokeOption) (json.RawMessage, error)
	// List returns the operations reachable from this handler, sorted by name (ENV-R7).
	List() []OperationSummary
	// Schema returns the spec of a reachable operation; NOT_FOUND otherwise (ENV-R7).
	Schema(op string) (OperationSpec, error)
	// PeerIDs returns the attached peers in insertion order; a topology view, not
	// scope-filtered (ENV-R7).
	PeerIDs() []PeerID
	// PeerOperations returns peer's imported specs sorted by name; a topology view, not
	// scope-filtered, granting no reachability (ENV-R7).
	PeerOperations(peer PeerID) []OperationSpec
}

// OperationSummary is one entry of an operation listing (DISC-R2). Its JSON keys are wire
// format.
type OperationSummary struct {
	Name        string        `json:"name"`
	Namespace   string        `json:"namespace"`
	Type        OperationType `json:"op_type"`
	Summary     string        `json:"summary,omitempty"`
	Description string        `json:"description,omitempty"`
	Tags        []string      `json:"tags,omitempty"`
}

// Summarize returns the listing entry of s.
func Summarize(s OperationSpec) OperationSummary {
	return OperationSummary{Name: s.Name, Namespace: s.Namespace(), Type: s.Type, Summary: s.Summary,
		Description: s.Description, Tags: slices.Clone(s.Tags)}
}

// boundEnv is the Env of one OperationContext.
type boundEnv struct{ oc *OperationContext }

func (e boundEnv) Invoke(ctx context.Context, op string, input json.RawMessage, opts ...InvokeOption) (json.RawMessage, error) {
	return e.InvokePeer(ctx, AnyPeer(), op, input, opts...)
}

func (e boundEnv) InvokePeer(ctx context.Context, peer PeerRef, op string, input json.RawMessage, opts ...InvokeOption) (json.RawMessage, error) {
	parent := e.oc
	if parent.tree == nil {
		return nil, notFound(op) // CTX-R1: a context the dispatch core did not build reaches nothing
	}
	o := invokeOptions{policy: parent.abortPolicy}
	for _, fn := range opts {
		fn(&o)
	}
	r := parent.tree.r
	if o.policy == ContinueRunning {
		if ctx.Err() != nil {
			return nil, r.ctxResult(ctx) // ENV-R6: a child that has not started does not start
		}
		detached := context.WithoutCancel(ctx)
		var cancelDeadline context.CancelFunc = func() {}
		if d, ok := ctx.Deadline(); ok {
			detached, cancelDeadline = context.WithDeadline(detached, d)
		}
		defer cancelDeadline()
		c, cancel := context.WithCancelCause(detached)
		defer cancel(nil)
		if caller := parent.tree.rootCaller; caller != "" {
			en := r.inflight.add(caller, cancel, false) // DSP-R5: revocation overrides the opt-out
			defer r.inflight.remove(caller, en)
		}
		ctx = c
	}
	child := &OperationContext{
		requestID:   newRequestID(),
		parentID:    parent.requestID,
		identity:    parent.reg.Authority.AsIdentity(),
		origin:      parent.origin,
		traceParent: parent.traceParent,
		abortPolicy: o.policy,
		internal:    true,
		tree:        parent.tree,
	}
	return r.invoke(ctx, child, parent, peer, op, input, nil)
}

// resolve finds name for a composed call: Peer(p) in p's current source only (ROUTE-R5); Any in
// the session, then Layer 0, then the peers through the set's policy (ROUTE-R4).
func (t *callTree) resolve(ref PeerRef, name string) (*HandlerRegistration, PeerID) {
	if id, ok := ref.Specific(); ok {
		rt, ok := t.peers.specific(id, t.self, t.selfSrc)
		if !ok {
			return nil, ""
		}
		reg, ok := rt.src.Lookup(name)
		if !ok {
			return nil, ""
		}
		return reg, id
	}
	if t.session != nil {
		if reg, ok := t.session.Lookup(name); ok {
			return reg, ""
		}
	}
	if reg, ok := t.r.regs[name]; ok {
		return reg, ""
	}
	rt, ok := t.peers.pickAny(name, t.self, t.selfSrc)
	if !ok {
		return nil, ""
	}
	reg, ok := rt.src.Lookup(name)
	if !ok {
		return nil, ""
	}
	return reg, rt.peer
}

// lookupVia resolves name for listing; resolve has no side effects (counting happens in the
// dispatch core).
func (t *callTree) lookupVia(ref PeerRef, name string) (*HandlerRegistration, bool) {
	reg, _ := t.resolve(ref, name)
	return reg, reg != nil
}

func (e boundEnv) List() []OperationSummary {
	t := e.oc.tree
	if t == nil {
		return []OperationSummary{}
	}
	scope := e.oc.Scope()
	seen := map[string]bool{}
	out := []OperationSummary{}
	for _, name := range scope.names() {
		if reg, ok := t.lookupVia(AnyPeer(), name); ok && !seen[name] {
			seen[name] = true
			out = append(out, Summarize(reg.Spec))
		}
	}
	for _, p := range scope.pins() {
		if seen[p.Op] {
			continue
		}
		if reg, ok := t.lookupVia(Peer(p.Peer), p.Op); ok {
			seen[p.Op] = true
			out = append(out, Summarize(reg.Spec))
		}
	}
	slices.SortFunc(out, func(a, b OperationSummary) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}

func (e boundEnv) Schema(op string) (OperationSpec, error) {
	t := e.oc.tree
	if t == nil {
		return OperationSpec{}, notFound(op)
	}
	op = stripPath(op)
	scope := e.oc.Scope()
	if scope.Allows(op) {
		if reg, ok := t.lookupVia(AnyPeer(), op); ok {
			return reg.Spec, nil
		}
	}
	for _, p := range scope.pins() {
		if p.Op != op {
			continue
		}
		if reg, ok := t.lookupVia(Peer(p.Peer), op); ok {
			return reg.Spec, nil
		}
	}
	return OperationSpec{}, notFound(op)
}

func (e boundEnv) PeerIDs() []PeerID {
	t := e.oc.tree
	if t == nil {
		return nil
	}
	ids := t.peers.IDs()
	if t.self != "" && t.selfSrc != nil && !slices.Contains(ids, t.self) {
		ids = append(ids, t.self)
	}
	return ids
}

func (e boundEnv) PeerOperations(peer PeerID) []OperationSpec {
	t := e.oc.tree
	if t == nil {
		return nil
	}
	rt, ok := t.peers.specific(peer, t.self, t.selfSrc)
	if !ok {
		return nil
	}
	var out []OperationSpec
	for _, name := range rt.src.Names() {
		if reg, ok := rt.src.Lookup(name); ok {
			out = append(out, reg.Spec)
		}
	}
	return out
}
