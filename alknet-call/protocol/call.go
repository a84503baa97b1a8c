package protocol

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"sync/atomic"
	"time"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/wire"
)

// result is the terminal outcome of a pending request.
type result struct {
	val      json.RawMessage
	err      error
	end      bool // subscription ended normally
	answered bool // decided by an event the handler side sent, not by this side (CALLP-R106, R122)
}

// pendingEntry is one request this side sent and has not seen terminate (CALLP-R66).
type pendingEntry struct {
	c         *CallConnection
	id        string
	parent    string // CALLP-R67
	sub       bool
	deadline  time.Time                   // the requester's effective deadline; zero = none
	st        atomic.Pointer[streamState] // stream the call.requested went out on
	written   atomic.Bool                 // call.requested fully written
	values    chan json.RawMessage        // subscriptions: Options.SubscriptionBuffer values
	delivered atomic.Int64
	term      atomic.Bool
	final     result        // written once, before finalCh is closed
	finalCh   chan struct{} // closed when the terminal outcome is decided
}

// finish decides the terminal outcome; the first caller wins and removes the entry.
func (p *pendingEntry) finish(r result) bool {
	if !p.term.CompareAndSwap(false, true) {
		return false
	}
	p.final = r
	c := p.c
	c.mu.Lock()
	if c.pending[p.id] == p {
		delete(c.pending, p.id)
	}
	c.mu.Unlock()
	if st := p.st.Load(); st != nil {
		st.finished(p)
	}
	close(p.finalCh) // after the entry is gone, so the id is free again when the caller returns (CALLP-R61)
	return true
}

// encodeInput turns a Call/Subscribe input into compact JSON (CALLP-R109).
func encodeInput(input any) ([]byte, error) {
	var raw []byte
	switch v := input.(type) {
	case nil:
		return []byte("null"), nil
	case json.RawMessage:
		raw = v
	case []byte:
		raw = v
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return nil, callerr.New(callerr.InvalidInput, msgBadInput).WithCause(err)
		}
		return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
	}
	if !wire.Valid(raw) { // compacted when the frame is built
		return nil, callerr.New(callerr.InvalidInput, msgBadInput)
	}
	return raw, nil
}

// ctxError is what a requester returns when its context ended first (§7.3).
func ctxError(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return timeoutError().WithCause(context.DeadlineExceeded)
	}
	return context.Cause(ctx)
}

// Call sends one request and waits for its result (CALLP-R72, R132). operation is a registry name
// or wire path; input is a json.RawMessage or []byte holding JSON (validated and compacted), any
// other value (marshalled without HTML escaping), or nil for null (CALLP-R109). The effective
// deadline is the earlier of ctx's and Options.CallTimeout, and it is announced as timeout_ms
// (CALLP-R136). Errors are those of §7.3: a *callerr.CallError as received or synthesized,
// callerr.ErrAborted, or context.Cause(ctx) when ctx was cancelled. Cancelling ctx aborts the
// request on the remote (CALLP-R73).
func (c *CallConnection) Call(ctx context.Context, operation string, input any, opts ...CallOption) (json.RawMessage, error) {
	raw, err := encodeInput(input)
	if err != nil {
		return nil, err
	}
	var co callOptions
	for _, o := range opts {
		o(&co)
	}
	deadline := time.Now().Add(c.opts.CallTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	p, err := c.start(ctx, deadline, true, operation, raw, co, false)
	if err != nil {
		return nil, err
	}
	select {
	case <-p.finalCh:
	case <-ctx.Done():
		c.abortRequest(p, ctxError(ctx))
		<-p.finalCh
	}
	return p.final.val, p.final.err
}

// start registers, opens, encodes and writes one request. Failures after registration are
// recorded as the entry's terminal outcome.
func (c *CallConnection) start(ctx context.Context, deadline time.Time, hasDeadline bool, op string, input []byte, co callOptions, sub bool) (*pendingEntry, error) {
	id := co.fixedID
	if id == "" {
		id = wire.NewRequestID()
	}
	p := &pendingEntry{c: c, id: id, parent: co.parent, sub: sub, finalCh: make(chan struct{})}
	if hasDeadline {
		p.deadline = deadline
	}
	if sub {
		p.values = make(chan json.RawMessage, c.opts.SubscriptionBuffer)
	}
	if co.idSink != nil {
		*co.idSink = p.id
	}
	c.mu.Lock()
	switch {
	case c.stopped || isClosed(c.doneCh):
		c.mu.Unlock()
		return nil, errConnClosed()
	case c.pending[p.id] != nil:
		c.mu.Unlock()
		return nil, ErrDuplicateID
	}
	c.pending[p.id] = p
	c.mu.Unlock()

	st, err := c.openRequestStream(ctx, sub)
	if err != nil {
		p.finish(result{err: err})
		return p, nil
	}
	p.st.Store(st)
	st.addSent(p)

	req := wire.Requested{OperationID: WireName(op), Input: input, AuthToken: c.token, TraceParent: co.traceParent}
	if co.token.Len() > 0 {
		req.AuthToken = string(co.token.Bytes())
	}
	if co.forwardedFor != nil {
		f := wire.ForwardedIdentity(*co.forwardedFor)
		req.ForwardedFor = &f
	}
	if hasDeadline { // CALLP-R136: remaining budget, rounded up
		rem := time.Until(deadline)
		if rem <= 0 {
			p.finish(result{err: timeoutError().WithCause(context.DeadlineExceeded)})
			c.giveUp(st)
			return p, nil
		}
		if ms := int64((rem + time.Millisecond - 1) / time.Millisecond); ms <= wire.MaxTimeoutMS {
			req.HasTimeout, req.TimeoutMS = true, ms
		}
	}
	frame, err := wire.AppendRequestedFrame(nil, p.id, req, c.opts.MaxFrameSize)
	if err != nil {
		ce := callerr.New(callerr.Internal, msgRequestTooLarge).WithCause(err)
		if !errors.Is(err, wire.ErrFrameTooLarge) {
			ce = callerr.New(callerr.InvalidInput, msgBadInput).WithCause(err)
		}
		p.finish(result{err: ce})
		c.giveUp(st)
		return p, nil
	}
	if complete, err := c.writeRequest(ctx, st, frame); err != nil {
		if complete {
			// ctx ended just after the frame went out whole: a full abort, call.aborted
			// included, since the handler side may already run the request (CALLP-R73).
			p.written.Store(true)
			c.abortRequest(p, ctxError(ctx))
			return p, nil
		}
		if ctx.Err() != nil {
			p.finish(result{err: ctxError(ctx)})
		} else if isConnEnd(err) {
			p.finish(result{err: errConnClosed()})
		} else {
			p.finish(result{err: errStreamClosed()})
		}
		c.giveUp(st)
		return p, nil
	}
	p.written.Store(true)
	if !st.shared {
		st.wmu.Lock()
		_ = st.s.CloseWrite() // CALLP-R72
		st.wmu.Unlock()
	}
	return p, nil
}

// giveUp resets a request stream that carries nothing else; a shared stream is left alone (a
// failed write has already marked it broken, so the pool replaces it).
func (c *CallConnection) giveUp(st *streamState) {
	if !st.shared {
		st.reset(wire.StreamCodeCancelled)
	}
}

// openRequestStream is the requester's stream strategy: a new stream per request (CALLP-R72), a
// long-lived pooled stream for unary calls when Options.RequestStreams is set (CALLP-R74; the
// subscriptions keep their own streams), or the one stream in single-stream mode.
func (c *CallConnection) openRequestStream(ctx context.Context, sub bool) (*streamState, error) {
	if c.single {
		select {
		case <-c.singleReady:
			return c.singleSt, nil
		case <-ctx.Done():
			return nil, ctxError(ctx)
		case <-c.doneCh:
			return nil, errConnClosed()
		}
	}
	if len(c.pool) > 0 && !sub {
		slot := &c.pool[c.poolNext.Add(1)%uint64(len(c.pool))]
		select {
		case slot.lock <- struct{}{}:
		case <-ctx.Done():
			return nil, ctxError(ctx)
		}
		defer func() { <-slot.lock }()
		if st := slot.st; st != nil && !st.dead() {
			return st, nil
		}
		st, err := c.newRequestStream(ctx, true)
		if err != nil {
			return nil, err
		}
		slot.st = st
		return st, nil
	}
	return c.newRequestStream(ctx, false)
}

// newRequestStream opens a stream and starts its reader.
func (c *CallConnection) newRequestStream(ctx context.Context, shared bool) (*streamState, error) {
	s, err := c.conn.OpenBi(ctx)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return nil, ctxError(ctx)
		case isConnEnd(err):
			return nil, errConnClosed()
		}
		return nil, errStreamClosed()
	}
	st := c.newStream(s, true, shared)
	if st == nil {
		return nil, errConnClosed()
	}
	if !c.goOwned(st.readLoop) {
		st.reset(wire.StreamCodeCancelled)
		return nil, errConnClosed()
	}
	return st, nil
}

// writeRequest writes the request frame; when ctx ends during a blocked write the stream is reset,
// which interrupts it (CALLP-R155). Writes on shared streams are never interrupted. complete
// reports that the whole frame was written, even when ctx ended right after and err is its error.
func (c *CallConnection) writeRequest(ctx context.Context, st *streamState, frame []byte) (complete bool, err error) {
	if st.shared {
		err := st.write(frame)
		return err == nil, err
	}
	stop := context.AfterFunc(ctx, func() { st.reset(wire.StreamCodeCancelled) })
	err = st.write(frame)
	if !stop() && err == nil {
		return true, ctx.Err()
	}
	return err == nil, err
}

// abortRequest runs the abort procedure of CALLP-R73 for a request this side sent, unless the
// request already has a terminal outcome.
func (c *CallConnection) abortRequest(p *pendingEntry, reason error) {
	if !p.finish(result{err: reason}) {
		return
	}
	st := p.st.Load()
	if st == nil {
		return
	}
	if p.written.Load() {
		c.sendAbort(p.id, st)
	}
	if !st.shared {
		st.reset(wire.StreamCodeCancelled)
	}
}

// sendAbort sends call.aborted for id asynchronously: on a new stream, or on the request's own
// stream when that stream is shared (CALLP-R73, R74, R83).
func (c *CallConnection) sendAbort(id string, st *streamState) {
	frame := simpleFrame(wire.EventAborted, id)
	c.goOwned(func() {
		if st.shared {
			_ = st.write(frame)
			return
		}
		ctx, cancel := context.WithTimeout(c.baseCtx, c.opts.AbortSendTimeout)
		defer cancel()
		s, err := c.conn.OpenBi(ctx)
		if err != nil {
			c.log.Debug("abort not sent", "request_id", id, "err", err)
			return
		}
		if _, err := s.Write(frame); err != nil {
			s.Reset(wire.StreamCodeCancelled)
			return
		}
		_ = s.Close()
	})
}

// deliver routes call.responded, call.completed and call.error to the pending entry (CALLP-R31,
// R40, R45, R106, R107, R127).
func (c *CallConnection) deliver(st *streamState, e wire.Envelope) {
	c.mu.Lock()
	p := c.pending[e.ID]
	c.mu.Unlock()
	if p == nil || p.term.Load() {
		switch { // CALLP-R106: stop a producer nobody reads
		case st.shared && st.takeResolved(e.ID):
			c.sendAbort(e.ID, st)
		case st.opened && !st.shared && st.wasSent(e.ID):
			st.reset(wire.StreamCodeCancelled)
		}
		return
	}
	switch e.Type {
	case wire.EventResponded:
		out := e.Responded().Output
		if !p.sub {
			p.finish(result{val: out, answered: true})
			return
		}
		select {
		case p.values <- out: // CALLP-R102: block, never drop
			p.delivered.Add(1)
		case <-p.finalCh:
		case <-c.doneCh:
		}
	case wire.EventCompleted:
		if !p.sub {
			p.finish(result{err: errStreamClosed(), answered: true}) // CALLP-R107
			return
		}
		p.finish(result{end: true})
	case wire.EventError:
		ce := wire.DecodeCallError(e.Payload)
		if ce.Code == callerr.Internal && ce.Message == msgShuttingDown {
			c.draining.Store(true) // CALLP-R127
		}
		if ce.Code == callerr.Timeout && !p.deadline.IsZero() && !time.Now().Before(p.deadline) {
			// CALLP-R132, R137: the requester's own deadline passed before this answer was
			// read (its timer has just not run yet), so the outcome is the local TIMEOUT. A
			// handler side whose deadline came from our timeout_ms can only answer after it.
			// The expiry still sends call.aborted, as if the timer had run first.
			c.abortRequest(p, timeoutError().WithCause(context.DeadlineExceeded))
			return
		}
		p.finish(result{err: ce, answered: true})
	}
}

// abortPendingFromPeer handles a received call.aborted for a request this side sent
// (CALLP-R117).
func (c *CallConnection) abortPendingFromPeer(id string) {
	c.mu.Lock()
	p := c.pending[id]
	c.mu.Unlock()
	if p != nil {
		p.finish(result{err: callerr.ErrAborted})
	}
}

// Subscribe sends one request and consumes its answers as a sequence (CALLP-R108). It returns once
// the call.requested frame is written. ctx governs the subscription's whole life: cancelling it
// aborts the request, and its deadline (the only one; Options.CallTimeout does not apply) gives
// the local TIMEOUT.
func (c *CallConnection) Subscribe(ctx context.Context, operation string, input any, opts ...CallOption) (*Subscription, error) {
	raw, err := encodeInput(input)
	if err != nil {
		return nil, err
	}
	var co callOptions
	for _, o := range opts {
		o(&co)
	}
	deadline, has := ctx.Deadline()
	p, err := c.start(ctx, deadline, has, operation, raw, co, true)
	if err != nil {
		return nil, err
	}
	if !p.written.Load() { // the request never went out: start recorded why
		<-p.finalCh
		return nil, p.final.err
	}
	s := &Subscription{c: c, p: p}
	s.stop = context.AfterFunc(ctx, func() { c.abortRequest(p, ctxError(ctx)) })
	return s, nil
}

// Subscription is the requester's handle on a subscribed request. Next is for one consumer at a
// time; Close is safe from any goroutine.
type Subscription struct {
	c      *CallConnection
	p      *pendingEntry
	stop   func() bool
	closed atomic.Bool
}

// ID returns the request's wire id.
func (s *Subscription) ID() string { return s.p.id }

// Next returns the next value. It returns io.EOF after call.completed (or the clean end of
// CALLP-R80), the error of §7.3 otherwise, and the same terminal result on later calls;
// ErrSubscriptionClosed after Close. ctx bounds only this wait: when it ends first, Next returns
// ctx.Err() and the subscription stays alive.
func (s *Subscription) Next(ctx context.Context) (json.RawMessage, error) {
	if s.closed.Load() {
		return nil, ErrSubscriptionClosed
	}
	p := s.p
	select {
	case v := <-p.values:
		return v, nil
	default:
	}
	select {
	case v := <-p.values:
		return v, nil
	case <-p.finalCh:
		select {
		case v := <-p.values:
			return v, nil
		default:
		}
		s.stop()
		if p.final.end {
			return nil, io.EOF
		}
		return nil, p.final.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// All yields each value with a nil error; a terminal error is yielded once (never io.EOF) and
// ends the sequence. Breaking out of the loop early closes the subscription.
func (s *Subscription) All(ctx context.Context) iter.Seq2[json.RawMessage, error] {
	return func(yield func(json.RawMessage, error) bool) {
		for {
			v, err := s.Next(ctx)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(v, nil) {
				_ = s.Close()
				return
			}
		}
	}
}

// Close aborts the subscription if it has not terminated (CALLP-R103) and makes Next return
// ErrSubscriptionClosed. Idempotent.
func (s *Subscription) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.c.abortRequest(s.p, ErrSubscriptionClosed)
	s.stop()
	return nil
}
