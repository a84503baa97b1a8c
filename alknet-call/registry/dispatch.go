package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/wire"
	"github.com/alknet/alknet/alknet-core/auth"
)

// WireCall is everything an edge (the call protocol engine, the HTTP gateway) knows about one
// incoming call. Edges describe a call with it and never build an OperationContext (CTX-R1).
// The registry keeps Identity, ForwardedFor and Metadata for the call's lifetime and hands
// handlers only copies; the edge must not modify them while the call runs.
type WireCall struct {
	RequestID    string
	Operation    string             // as received: wire path ("/fs/readFile") or bare name; the registry strips exactly one leading "/" (REG-R2)
	Identity     *auth.Identity     // resolved per CLNT-R10; nil = anonymous
	ForwardedFor *ForwardedIdentity // decoded per FWD-R3; nil = absent
	TraceParent  string             // validated W3C traceparent from the edge; "" = none (CTX-R7)
	Routes       Routes             // inputs of the per-call composite env (ROUTE-R6)
	Metadata     map[string]string  // non-secret connection info only (CTX-R6)
}

// Routes are the inputs of a call tree's composite env (ROUTE-R6).
type Routes struct {
	Session Source   // nil = no session layer
	Peers   PeerView // live view of the hub's PeerSet; zero = no aggregated peers
	Self    PeerID   // "" when the connection has no PeerID
	SelfSrc Source   // the connection's ImportedSet; overrides Self's entry in Peers
}

// callTree is what every invocation of one wire root shares (CTX-R4).
type callTree struct {
	r          *Registry
	session    Source
	peers      PeerView
	self       PeerID
	selfSrc    Source
	rootCaller string // Identity().ID of the wire root; "" = anonymous
}

// wireReg returns the Layer 0 registration a wire call to name reaches (REG-R20), or nil for
// unknown and Internal names. name is taken like WireCall.Operation.
func (r *Registry) wireReg(name string) *HandlerRegistration {
	reg := r.regs[stripPath(name)]
	if reg == nil || reg.Spec.Visibility != External {
		return nil
	}
	return reg
}

// OpType reports the type of a wire-callable operation so an edge can choose between ServeCall
// and ServeSubscribe. name is taken like WireCall.Operation. Unknown and Internal names report
// ok == false (the edge then uses ServeCall, which answers NOT_FOUND).
func (r *Registry) OpType(name string) (t OperationType, ok bool) {
	if reg := r.wireReg(name); reg != nil {
		return reg.Spec.Type, true
	}
	return 0, false
}

// NonBlocking reports whether name is a wire-callable operation whose registration is
// NonBlocking, so an edge may run it on the goroutine that read the request. name is taken like
// WireCall.Operation.
func (r *Registry) NonBlocking(name string) bool {
	reg := r.wireReg(name)
	return reg != nil && reg.NonBlocking
}

// ServeCall runs one wire call through the dispatch core (DSP-R1) on the request/response path
// and returns the output or the mapped error (ERR-R2): a *callerr.CallError, or — when ctx
// ended through a cause other than its deadline, or the handler reported an abort from further
// down a chain — that cause unchanged (callerr.ErrAborted, callerr.ErrRevoked, the engine's
// connection-closed cause). ctx carries the root deadline the edge computed (CTX-R5).
func (r *Registry) ServeCall(ctx context.Context, w WireCall, input json.RawMessage) (json.RawMessage, error) {
	return r.serveRoot(ctx, &w, input, nil)
}

// ServeSubscribe runs one wire call on the stream path. emit is the edge's writer: it must
// return only once the item is written, or with an error once the request is over (HND-R6).
// The result is nil (completed) or an error as for ServeCall.
func (r *Registry) ServeSubscribe(ctx context.Context, w WireCall, input json.RawMessage, emit Emit) error {
	if emit == nil {
		emit = func(json.RawMessage) error { return errors.New("registry: no emitter") }
	}
	_, err := r.serveRoot(ctx, &w, input, emit)
	return err
}

// ServeSubscribeChecked is ServeSubscribe for an emit that itself refuses, without writing
// anything, every item that is not one strictly valid JSON value and reports it with an error
// wrapping [wire.ErrInvalidJSON] (the call engine's encoder does). The registry then does not scan
// each item a second time; an item refused that way ends the subscription exactly as one the
// registry refuses itself (DSP-R7).
func (r *Registry) ServeSubscribeChecked(ctx context.Context, w WireCall, input json.RawMessage, emit Emit) error {
	if emit == nil {
		return r.ServeSubscribe(ctx, w, input, nil)
	}
	_, err := r.serveRootWith(ctx, &w, input, emit, true)
	return err
}

func (r *Registry) serveRoot(ctx context.Context, w *WireCall, input json.RawMessage, emit Emit) (json.RawMessage, error) {
	return r.serveRootWith(ctx, w, input, emit, false)
}

// serveRootWith runs a wire call; edgeChecks marks an emit that validates items itself.
func (r *Registry) serveRootWith(ctx context.Context, w *WireCall, input json.RawMessage, emit Emit, edgeChecks bool) (json.RawMessage, error) {
	t := &callTree{r: r, session: w.Routes.Session, peers: w.Routes.Peers, self: w.Routes.Self, selfSrc: w.Routes.SelfSrc}
	if w.Identity != nil {
		t.rootCaller = w.Identity.ID
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		e := r.inflight.add(t.rootCaller, cancel, true) // DSP-R5: before step 1
		defer func() {
			r.inflight.remove(t.rootCaller, e)
			cancel(nil)
		}()
	}
	var fwd *ForwardedIdentity
	if w.ForwardedFor != nil {
		if validClaim(w.ForwardedFor) {
			fwd = w.ForwardedFor // handlers get copies (ForwardedFor)
		} else {
			r.logger.LogAttrs(ctx, slog.LevelDebug, "forwarded_for claim ignored (FWD-R3)", slog.String("request_id", w.RequestID))
		}
	}
	oc := &OperationContext{
		requestID:   w.RequestID,
		identity:    w.Identity,
		forwarded:   fwd,
		origin:      w.Identity,
		traceParent: w.TraceParent,
		abortPolicy: AbortDependents,
		tree:        t,
		edgeChecks:  edgeChecks,
	}
	if len(w.Metadata) > 0 {
		oc.metadata = w.Metadata // read-only here; OperationContext.Metadata hands out copies
	}
	return r.invoke(ctx, oc, nil, AnyPeer(), stripPath(w.Operation), input, emit)
}

// notFound is the one NOT_FOUND answer, identical for absent, Internal and unreachable names
// apart from the echoed name (REG-R3, REG-R12, ENV-R3).
func notFound(name string) *callerr.CallError {
	return callerr.New(callerr.NotFound, "operation not found: "+truncateName(name))
}

// invalidOpType answers a handler-kind mismatch (DSP-R1 step 6, DSP-R3). Each call gets its own
// value, so no caller can change another's.
func invalidOpType() *callerr.CallError {
	return callerr.New(callerr.InvalidOperationType, "operation type does not match the call")
}

// invoke is the dispatch core (DSP-R1). oc is the new invocation's context with identity,
// ids, origin, trace and tree filled in; parent is the composing context (nil for a wire root).
// emit is non-nil on the stream path.
func (r *Registry) invoke(ctx context.Context, oc *OperationContext, parent *OperationContext, ref PeerRef, name string, input json.RawMessage, emit Emit) (out json.RawMessage, err error) {
	start := time.Now()
	cs := CallStart{RequestID: oc.requestID, ParentID: oc.parentID, Composed: oc.internal, TraceParent: oc.traceParent, Start: start}
	if !oc.internal {
		cs.Peer = oc.tree.self
	}
	started := false
	observe := func() {
		if started {
			return
		}
		started = true
		if tp := r.observeStart(ctx, cs); tp != "" {
			oc.traceParent = tp
			cs.TraceParent = tp
		}
	}
	var code string
	aborted := false
	if r.observer != nil {
		defer func() {
			observe()
			r.observeEnd(ctx, CallEnd{CallStart: cs, Code: code, Aborted: aborted, Duration: time.Since(start)})
		}()
	}
	fail := func(step string, ce *callerr.CallError, level slog.Level) (json.RawMessage, error) {
		code = ce.Code
		r.logStep(ctx, level, step, name, oc, ce.Message)
		return nil, ce
	}

	// 1. Reachability (composed only, ENV-R3).
	if parent != nil && !parent.Scope().AllowsVia(ref, name) {
		return fail("reachability", notFound(name), slog.LevelDebug)
	}
	// 2. Name syntax (REG-R1, REG-R3).
	if !ValidName(name) {
		return fail("name", notFound(name), slog.LevelDebug)
	}
	// 3. Resolution: Layer 0 for wire calls (REG-R20), routing for composed ones (ROUTE-R4, R5).
	var reg *HandlerRegistration
	var peer PeerID
	if parent == nil {
		reg = r.regs[name]
	} else {
		reg, peer = oc.tree.resolve(ref, name)
	}
	if reg == nil {
		return fail("resolve", notFound(name), slog.LevelDebug)
	}
	if peer != "" {
		defer oc.tree.peers.track(peer)()
		cs.Peer = peer
	}
	cs.Operation = name
	if r.observer != nil {
		observe()
	}
	oc.op = name
	oc.reg = reg
	// 4. Visibility (REG-R12).
	if reg.Spec.Visibility != External && !oc.internal {
		return fail("visibility", notFound(name), slog.LevelDebug)
	}
	// 5. Access control on the direct caller (ACL-R6, ACL-R7).
	// An unrestricted op admits everyone (ACL-R2); skipping it saves the identity copy.
	if ac := reg.Spec.AccessControl; ac.HasRestrictions() {
		if derr := ac.Check(oc.Identity()); derr != nil {
			return fail("access", callerr.New(callerr.Forbidden, derr.Error()), slog.LevelInfo)
		}
	}
	// 6. Handler kind vs entry path (DSP-R1, DSP-R3).
	if (reg.Spec.Type == Subscription) != (emit != nil) {
		return fail("kind", invalidOpType(), slog.LevelDebug)
	}
	// 7. Input schema (VAL-R1, VAL-R7).
	if len(input) == 0 {
		input = nullJSON
	}
	if verr := reg.compiled.ValidateInput(input); verr != nil {
		ce, _ := errors.AsType[*callerr.CallError](verr)
		return fail("input", ce, slog.LevelDebug)
	}
	// 8. Deadline or abort already past.
	if ctx.Err() != nil {
		out, err = nil, r.ctxResult(ctx)
		code, aborted = outcome(err)
		return out, err
	}
	// 9. Capabilities from the executing registration only (DSP-R2, CAP-R2), run, map (ERR-R2).
	oc.caps = reg.Capabilities
	out, err = r.run(ctx, oc, reg, input, emit)
	code, aborted = outcome(err)
	return out, err
}

// outcome derives the observer's code and aborted flag from a mapped result (OBS-R3).
func outcome(err error) (code string, aborted bool) {
	if err == nil {
		return "", false
	}
	if ce, ok := errors.AsType[*callerr.CallError](err); ok {
		return ce.Code, false
	}
	return "", true
}

// ctxResult maps a done invocation context (ERR-R2 case 6).
func (r *Registry) ctxResult(ctx context.Context) error {
	cause := context.Cause(ctx)
	if errors.Is(cause, context.DeadlineExceeded) {
		return callerr.New(callerr.Timeout, "deadline exceeded").WithCause(cause)
	}
	return cause
}

// run executes the handler with panic recovery and maps its result (ERR-R2, DSP-R7).
func (r *Registry) run(ctx context.Context, oc *OperationContext, reg *HandlerRegistration, input json.RawMessage, emit Emit) (json.RawMessage, error) {
	var out json.RawMessage
	var err error
	if emit != nil {
		se := &streamEmit{ctx: ctx, emit: emit, edgeChecks: oc.edgeChecks}
		err = r.callStream(ctx, oc, reg, input, se.send)
		se.close()
		if bad := se.badItem.Load(); bad && err == nil {
			err = errors.New("handler emitted an item that is not valid JSON (DSP-R7)")
		}
	} else {
		out, err = r.callHandler(ctx, oc, reg, input)
	}
	return r.mapResult(ctx, oc, reg, out, err, emit != nil)
}

// errPanic marks a recovered handler panic (ERR-R2 case 8).
var errPanic = errors.New("handler panicked")

func (r *Registry) callHandler(ctx context.Context, oc *OperationContext, reg *HandlerRegistration, input json.RawMessage) (out json.RawMessage, err error) {
	defer func() {
		if p := recover(); p != nil {
			r.logPanic(ctx, oc, p)
			out, err = nil, errPanic
		}
	}()
	return reg.Handler.Handle(ctx, oc, input)
}

func (r *Registry) callStream(ctx context.Context, oc *OperationContext, reg *HandlerRegistration, input json.RawMessage, emit Emit) (err error) {
	defer func() {
		if p := recover(); p != nil {
			r.logPanic(ctx, oc, p)
			err = errPanic
		}
	}()
	return reg.Stream.Stream(ctx, oc, input, emit)
}

func (r *Registry) logPanic(ctx context.Context, oc *OperationContext, p any) {
	r.logger.LogAttrs(ctx, slog.LevelError, "handler panic recovered",
		slog.String("op", oc.op), slog.String("request_id", oc.requestID),
		slog.String("panic_type", fmt.Sprintf("%T", p)), slog.String("stack", string(debug.Stack())))
}

// streamEmit binds a handler's emit to its request (HND-R5, HND-R6, DSP-R7).
type streamEmit struct {
	ctx     context.Context
	emit    Emit
	mu      sync.Mutex // serialises emits
	closed  atomic.Bool
	badItem atomic.Bool
	// edgeChecks: emit refuses an invalid item itself with wire.ErrInvalidJSON, writing nothing
	// (ServeSubscribeChecked), so the item is not scanned here as well.
	edgeChecks bool
}

var errStreamOver = errors.New("registry: subscription is over")

func (s *streamEmit) send(item json.RawMessage) error {
	if s.closed.Load() {
		return errStreamOver
	}
	if s.ctx.Err() != nil {
		return context.Cause(s.ctx)
	}
	if len(item) == 0 {
		item = nullJSON
	}
	if !s.edgeChecks && !wire.Valid(item) { // strict: the wire would refuse invalid UTF-8 as well (CALLP-R17)
		return s.refuse()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return errStreamOver
	}
	if s.ctx.Err() != nil { // the request ended while this emit waited for another (HND-R6)
		return context.Cause(s.ctx)
	}
	err := s.emit(item)
	if s.edgeChecks && errors.Is(err, wire.ErrInvalidJSON) {
		return s.refuse()
	}
	return err
}

// refuse records an invalid item: the subscription ends with INTERNAL once the handler returns.
func (s *streamEmit) refuse() error {
	s.badItem.Store(true)
	return errors.New("registry: emitted item is not valid JSON (DSP-R7)")
}

func (s *streamEmit) close() { s.closed.Store(true) }

// mapResult implements ERR-R2 in its order 6, 1, 7, 2, 3, 4, 5.
func (r *Registry) mapResult(ctx context.Context, oc *OperationContext, reg *HandlerRegistration, out json.RawMessage, err error, stream bool) (json.RawMessage, error) {
	// 6. A done context wins over a late result.
	if ctx.Err() != nil {
		return nil, r.ctxResult(ctx)
	}
	// 1. Success.
	if err == nil {
		if stream {
			return nil, nil
		}
		if len(out) == 0 {
			out = nullJSON
		}
		if !wire.Valid(out) {
			r.logger.LogAttrs(ctx, slog.LevelWarn, "handler output is not valid JSON (DSP-R7)", slog.String("op", oc.op), slog.String("request_id", oc.requestID))
			return nil, callerr.New(callerr.Internal, "internal error")
		}
		if reg.Provenance == Session || r.validateOutputs {
			if verr := reg.compiled.ValidateOutput(out); verr != nil {
				return nil, verr
			}
		}
		return out, nil
	}
	// 7. An abort reported from further down a chain passes unchanged.
	if errors.Is(err, callerr.ErrAborted) {
		return nil, err
	}
	ce, isCE := errors.AsType[*callerr.CallError](err)
	if isCE {
		ce = r.checkDetails(ctx, oc, ce)
		// 2. Protocol codes pass as they are.
		if callerr.IsProtocolCode(ce.Code) {
			return nil, ce
		}
		// 3. Declared domain codes keep their code; details must match their schema.
		if _, declared := reg.Spec.errorDef(ce.Code); declared {
			if ce.Details != nil {
				if derr := reg.compiled.ValidateDetails(ce.Code, ce.Details); derr != nil {
					r.logger.LogAttrs(ctx, slog.LevelWarn, "error details dropped: they do not match the declared schema (ERR-R2)",
						slog.String("op", oc.op), slog.String("request_id", oc.requestID), slog.String("code", ce.Code))
					c := *ce
					c.Details = nil
					ce = &c
				}
			}
			return nil, ce
		}
		// 4. Undeclared domain code.
		return nil, callerr.New(callerr.Internal, ce.Message).
			WithDetails(map[string]string{"original_code": ce.Code}).WithCause(err)
	}
	// 5. Any other error: its text may carry secrets, so only its type is logged (CAP-R6).
	r.logger.LogAttrs(ctx, slog.LevelWarn, "handler returned an uncoded error; answered INTERNAL (ERR-R2)",
		slog.String("op", oc.op), slog.String("request_id", oc.requestID), slog.String("err_type", fmt.Sprintf("%T", err)))
	return nil, callerr.New(callerr.Internal, "internal error").WithCause(err)
}

// checkDetails drops Details that are not one valid JSON value (DSP-R7).
func (r *Registry) checkDetails(ctx context.Context, oc *OperationContext, ce *callerr.CallError) *callerr.CallError {
	if ce.Details == nil || json.Valid(ce.Details) {
		return ce
	}
	r.logger.LogAttrs(ctx, slog.LevelWarn, "error details dropped: not valid JSON (DSP-R7)",
		slog.String("op", oc.op), slog.String("request_id", oc.requestID), slog.String("code", ce.Code))
	c := *ce
	c.Details = nil
	return &c
}

// logStep logs a refused step (DSP-R4): op, request id, caller id and reason only.
func (r *Registry) logStep(ctx context.Context, level slog.Level, step, name string, oc *OperationContext, reason string) {
	if !r.logger.Enabled(ctx, level) {
		return
	}
	caller := ""
	if oc.identity != nil {
		caller = oc.identity.ID
	}
	r.logger.LogAttrs(ctx, level, "call refused",
		slog.String("step", step), slog.String("op", truncateName(name)), slog.String("request_id", oc.requestID),
		slog.String("caller", caller), slog.String("reason", reason))
}

// observerPanicked logs a recovered observer panic, at most once a minute (OBS-R4).
func (r *Registry) observerPanicked(ctx context.Context, p any) {
	now := time.Now().UnixNano()
	last := r.lastObsPanic.Load()
	if now-last < int64(time.Minute) && last != 0 {
		return
	}
	if r.lastObsPanic.CompareAndSwap(last, now) {
		r.logger.LogAttrs(ctx, slog.LevelError, "observer panic recovered (OBS-R4)",
			slog.String("panic_type", fmt.Sprintf("%T", p)))
	}
}

func (r *Registry) observeStart(ctx context.Context, s CallStart) (tp string) {
	defer func() {
		if p := recover(); p != nil {
			r.observerPanicked(ctx, p)
			tp = ""
		}
	}()
	tp = r.observer.OnCallStart(s)
	if tp != "" && !validTraceParent(tp) {
		return ""
	}
	return tp
}

func (r *Registry) observeEnd(ctx context.Context, e CallEnd) {
	defer func() {
		if p := recover(); p != nil {
			r.observerPanicked(ctx, p)
		}
	}()
	r.observer.OnCallEnd(e)
}
