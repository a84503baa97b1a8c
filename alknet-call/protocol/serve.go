package protocol

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-call/wire"
	"github.com/alknet/alknet/alknet-core/auth"
)

// servedEntry is one request this side is handling (CALLP-R68).
type servedEntry struct {
	id      string
	st      *streamState
	ctx     context.Context
	cancel  context.CancelCauseFunc
	term    atomic.Bool // claimed by exactly one outcome (CALLP-R96, R98)
	writing atomic.Bool // a call.responded of this request is being written (CALLP-R155)
}

func (se *servedEntry) claim() bool { return se.term.CompareAndSwap(false, true) }

func shuttingDown() *callerr.CallError {
	e := callerr.New(callerr.Internal, msgShuttingDown)
	e.Retryable = true
	return e
}

// dispatch runs step 1 of the pipeline of §10.1 on the stream's reader goroutine, decodes the
// payload and hands the request to a dispatch goroutine, or runs it in place when the operation
// is NonBlocking.
func (c *CallConnection) dispatch(st *streamState, e wire.Envelope, readTime time.Time) {
	c.answered.Store(true)
	if c.authDone.Load() {
		return // the authentication budget is exhausted: nothing more is dispatched (CALLP-R97)
	}
	if c.localDrain.Load() {
		_ = st.write(errorFrame(e.ID, shuttingDown(), c.opts.MaxFrameSize)) // CALLP-R82
		return
	}
	ctx, cancel := context.WithCancelCause(c.baseCtx)
	se := &servedEntry{id: e.ID, st: st, ctx: ctx, cancel: cancel}
	c.mu.Lock()
	// An entry whose outcome is already decided (its terminal frame may still be being written)
	// is no longer in flight: the requester may reuse the id once it read the answer (CALLP-R61),
	// so the new request takes its place in the table (finishServed removes only its own entry).
	old := c.served[e.ID]
	inFlight := old != nil && !old.term.Load()
	if inFlight || isClosed(c.doneCh) {
		c.mu.Unlock()
		cancel(nil)
		if inFlight {
			c.log.Warn("duplicate in-flight request id dropped", "request_id", e.ID) // CALLP-R63
		}
		return
	}
	c.served[e.ID] = se
	c.mu.Unlock()
	st.mu.Lock()
	st.active++
	st.served[se] = struct{}{}
	st.mu.Unlock()

	if c.single {
		select {
		case c.sem <- struct{}{}:
		default: // CALLP-R156
			if se.claim() {
				e := callerr.New(callerr.Internal, msgOverloaded)
				e.Retryable = true
				c.writeServed(se, errorFrame(se.id, e, c.opts.MaxFrameSize))
				c.finishServed(se, context.Canceled)
			}
			return
		}
	} else {
		select {
		case c.sem <- struct{}{}: // CALLP-R150
		case <-ctx.Done():
			return // aborted, stream or connection gone while waiting: already finished
		}
	}
	req, derr := wire.DecodeRequested(e.Payload)
	if derr == nil && req.AuthToken == "" && c.inline != nil && c.inline.NonBlocking(req.OperationID) {
		// A NonBlocking handler runs right here, on the stream's reader: no goroutine switch, and
		// the answer can leave with the acknowledgement of the request. A token is resolved by
		// the identity provider, which may block, so such requests always go to a worker.
		c.run(se, req, derr, readTime)
		<-c.sem
		return
	}
	ok := c.goWork(func() {
		defer func() { <-c.sem }()
		c.run(se, req, derr, readTime)
	})
	if !ok {
		<-c.sem
		if se.claim() {
			c.finishServed(se, ErrConnectionClosed)
		}
	}
}

// run executes steps 2–6 of §10.1 on the dispatch goroutine (or, for a NonBlocking operation,
// on the stream's reader). req and err are the result of decoding the call.requested payload.
func (c *CallConnection) run(se *servedEntry, req wire.Requested, err error, readTime time.Time) {
	if err != nil { // CALLP-R32
		reason := strings.TrimPrefix(strings.TrimPrefix(err.Error(), wire.ErrMalformed.Error()), ": ")
		c.answer(se, callerr.New(callerr.InvalidInput, msgMalformedRequest+reason))
		return
	}
	ident := c.identity
	if req.AuthToken != "" { // CALLP-R86
		id, ok := c.resolveToken(se.ctx, req.AuthToken)
		if !ok {
			c.log.Warn("auth_token did not resolve", "remote_addr", c.metadata["remote_addr"], "request_id", se.id)
			c.answer(se, callerr.New(callerr.Forbidden, msgAuthFailed))
			c.countAuthFailure()
			return
		}
		ident = &id
	}
	var fwd *registry.ForwardedIdentity
	if req.ForwardedFor != nil {
		f := registry.ForwardedIdentity(*req.ForwardedFor)
		fwd = &f
	}
	opType, known := c.d.Invoker.OpType(req.OperationID)
	sub := known && opType == registry.Subscription

	// Root deadline (CALLP-R130, R135), measured from the read.
	var deadline time.Time
	has := false
	if !sub {
		deadline, has = readTime.Add(c.opts.ServeTimeout), true
	} else if c.opts.MaxSubscriptionTimeout > 0 {
		deadline, has = readTime.Add(c.opts.MaxSubscriptionTimeout), true
	}
	if req.HasTimeout {
		if req.TimeoutMS == 0 {
			c.answer(se, timeoutError())
			return
		}
		if d := readTime.Add(time.Duration(req.TimeoutMS) * time.Millisecond); !has || d.Before(deadline) {
			deadline, has = d, true
		}
	}
	ctx := se.ctx
	if has {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(se.ctx, deadline)
		defer cancel()
		// The deadline watcher (CALLP-R131): a plain timer at the same deadline. When it fires
		// the request either has a terminal outcome already (answerTimeout's claim fails) or
		// gets TIMEOUT; it needs no context of its own.
		t := time.AfterFunc(time.Until(deadline), func() {
			c.goOwned(func() { c.answerTimeout(se) })
		})
		defer t.Stop()
	}

	w := registry.WireCall{
		RequestID:    se.id,
		Operation:    req.OperationID,
		Identity:     ident,
		ForwardedFor: fwd,
		TraceParent:  req.TraceParent,
		Routes:       c.routes(ctx, ident),
		Metadata:     c.metadata, // never modified after Attach; the registry keeps its own copy
	}
	var out json.RawMessage
	func() {
		defer func() {
			if r := recover(); r != nil { // CALLP-R94
				c.log.Error("panic in dispatch", "request_id", se.id, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				out, err = nil, errPanicked
			}
		}()
		if sub {
			if ci, ok := c.d.Invoker.(checkedSubscriber); ok {
				err = ci.ServeSubscribeChecked(ctx, w, req.Input, c.emitFor(se))
			} else {
				err = c.d.Invoker.ServeSubscribe(ctx, w, req.Input, c.emitFor(se))
			}
		} else {
			out, err = c.d.Invoker.ServeCall(ctx, w, req.Input)
		}
	}()
	c.complete(se, sub, out, err)
}

var errPanicked = errors.New("alknet/call: dispatch panicked")

func timeoutError() *callerr.CallError { return callerr.New(callerr.Timeout, msgTimeout) }

func (c *CallConnection) resolveToken(ctx context.Context, tok string) (auth.Identity, bool) {
	if c.d.Identities == nil {
		return auth.Identity{}, false
	}
	return c.d.Identities.ResolveToken(ctx, auth.NewAuthToken([]byte(tok)))
}

// countAuthFailure enforces the per-connection authentication budget (CALLP-R97).
func (c *CallConnection) countAuthFailure() {
	n := c.authFailures.Add(1)
	f := c.opts.MaxAuthFailures
	if f == nil {
		return
	}
	if max := f(); max > 0 && n >= int64(max) {
		c.authDone.Store(true)
		c.quit(fmt.Errorf("call connection: too many failed auth_token resolutions: %w", auth.ErrAuthRequired))
	}
}

func (c *CallConnection) routes(ctx context.Context, ident *auth.Identity) registry.Routes {
	r := registry.Routes{Self: c.peerID, SelfSrc: c.imported}
	if c.d.Sessions != nil {
		r.Session = c.d.Sessions.OverlayFor(ctx, ident, c.metadataCopy())
	}
	if c.d.Peers != nil {
		r.Peers = c.d.Peers.View()
	}
	return r
}

func (c *CallConnection) metadataCopy() map[string]string {
	m := make(map[string]string, len(c.metadata))
	for k, v := range c.metadata {
		m[k] = v
	}
	return m
}

// answer claims the request and writes ce as its terminal event (CALLP-R85).
func (c *CallConnection) answer(se *servedEntry, ce *callerr.CallError) {
	if !se.claim() {
		return
	}
	c.writeServed(se, errorFrame(se.id, ce, c.opts.MaxFrameSize))
	c.finishServed(se, context.Canceled)
}

// answerTimeout is the deadline watcher's outcome (CALLP-R131).
func (c *CallConnection) answerTimeout(se *servedEntry) {
	if !se.claim() {
		return
	}
	c.writeServed(se, errorFrame(se.id, timeoutError(), c.opts.MaxFrameSize))
	c.finishServed(se, context.DeadlineExceeded)
}

// complete maps the Invoker's result to the terminal event (CALLP-R92, R93, R101).
func (c *CallConnection) complete(se *servedEntry, sub bool, out json.RawMessage, err error) {
	if !se.claim() {
		c.log.Debug("result after the request ended dropped", "request_id", se.id)
		return
	}
	var frame []byte
	switch {
	case err == nil && sub:
		frame = simpleFrame(wire.EventCompleted, se.id)
	case err == nil:
		f, ferr := respondedFrame(se.id, out, c.opts.MaxFrameSize)
		switch {
		case errors.Is(ferr, wire.ErrFrameTooLarge): // CALLP-R95
			frame = errorFrame(se.id, callerr.New(callerr.Internal, msgResponseTooLarge), c.opts.MaxFrameSize)
		case ferr != nil:
			c.log.Error("handler output is not valid JSON", "request_id", se.id)
			frame = errorFrame(se.id, callerr.New(callerr.Internal, msgInternal), c.opts.MaxFrameSize)
		default:
			frame = f
		}
	default:
		frame = c.errorOutcome(se, err)
	}
	if frame != nil {
		c.writeServed(se, frame)
	}
	c.finishServed(se, context.Canceled)
}

// errorOutcome picks the frame for a failed invocation, or nil when nothing is written.
func (c *CallConnection) errorOutcome(se *servedEntry, err error) []byte {
	limit := c.opts.MaxFrameSize
	cause := context.Cause(se.ctx)
	if ce, ok := errors.AsType[*callerr.CallError](err); ok {
		return errorFrame(se.id, ce, limit)
	}
	switch {
	case errors.Is(err, callerr.ErrRevoked) || errors.Is(cause, callerr.ErrRevoked):
		return errorFrame(se.id, callerr.New(callerr.Forbidden, msgRevoked), limit)
	case errors.Is(err, callerr.ErrAborted) && !errors.Is(cause, callerr.ErrAborted): // CALLP-R120
		return simpleFrame(wire.EventAborted, se.id)
	case errors.Is(err, ErrShutdown):
		return errorFrame(se.id, shuttingDown(), limit)
	case errors.Is(err, context.DeadlineExceeded):
		return errorFrame(se.id, timeoutError(), limit)
	case errors.Is(err, callerr.ErrAborted), errors.Is(err, ErrStreamClosed), errors.Is(err, ErrConnectionClosed):
		return nil
	}
	if !errors.Is(err, errPanicked) {
		c.log.Error("unexpected dispatch error", "request_id", se.id, "err", err)
	}
	return errorFrame(se.id, callerr.New(callerr.Internal, msgInternal), limit)
}

// writeServed writes a claimed request's terminal frame. A frame of the request still being
// written means the stream is given up instead (CALLP-R155).
func (c *CallConnection) writeServed(se *servedEntry, frame []byte) {
	st := se.st
	if se.writing.Load() && !c.single {
		st.reset(wire.StreamCodeCancelled)
		return
	}
	if err := st.write(frame); err != nil && !c.single {
		st.reset(wire.StreamCodeCancelled)
		st.fail() // the peer stopped reading: cancel the stream's other requests (CALLP-R79)
	}
}

// finishServed removes a claimed request and cancels its context with cause.
func (c *CallConnection) finishServed(se *servedEntry, cause error) {
	c.mu.Lock()
	if c.served[se.id] == se {
		delete(c.served, se.id)
	}
	c.mu.Unlock()
	select {
	case c.servedGone <- struct{}{}:
	default:
	}
	se.cancel(cause)
	st := se.st
	st.mu.Lock()
	if _, ok := st.served[se]; ok {
		delete(st.served, se)
		st.active--
	}
	idle := st.eof && st.active == 0 && !st.opened
	st.mu.Unlock()
	if idle {
		st.release() // CALLP-R77
	}
}

// abortServed handles a received call.aborted for a request this side serves (CALLP-R117).
func (c *CallConnection) abortServed(id string) {
	c.mu.Lock()
	se := c.served[id]
	c.mu.Unlock()
	if se == nil || !se.claim() {
		return // CALLP-R118
	}
	if se.writing.Load() && !c.single {
		se.st.reset(wire.StreamCodeCancelled)
	}
	c.finishServed(se, callerr.ErrAborted)
}

var errRequestOver = errors.New("alknet/call: request is over")

// emitFor returns the Emit of a served subscription (CALLP-R101, R102, HND-R5, HND-R6).
func (c *CallConnection) emitFor(se *servedEntry) registry.Emit {
	over := func() error {
		if cause := context.Cause(se.ctx); cause != nil {
			return cause
		}
		return errRequestOver
	}
	return func(item json.RawMessage) error {
		if se.term.Load() {
			return over()
		}
		st := se.st
		st.wmu.Lock()
		if se.term.Load() || st.broken {
			st.wmu.Unlock()
			return over()
		}
		// The frame is built in the stream's reusable buffer, under the write lock.
		frame, err := wire.AppendRespondedFrame(st.wbuf[:0], se.id, item, c.opts.MaxFrameSize)
		if err != nil {
			st.wmu.Unlock()
			if errors.Is(err, wire.ErrFrameTooLarge) { // CALLP-R95: terminal
				c.answer(se, callerr.New(callerr.Internal, msgResponseTooLarge))
			}
			return err
		}
		if cap(frame) <= maxWriteBuffer {
			st.wbuf = frame
		}
		se.writing.Store(true)
		_, werr := st.s.Write(frame)
		se.writing.Store(false)
		if werr != nil {
			st.broken = true
		}
		st.wmu.Unlock()
		if werr != nil {
			if !c.single {
				st.reset(wire.StreamCodeCancelled)
				st.fail()
			}
			return over()
		}
		return nil
	}
}
