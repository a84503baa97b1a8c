package protocol_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/auth"
)

// chain builds A → B → C over two real QUIC connections: A calls B's "hub/exec", whose handler
// forwards to C's "container/exec" with its own ctx (§19.4). bFwd runs in B's handler before it
// forwards; cHandler is C's handler.
type chain struct {
	ab, ba, bc, cb *protocol.CallConnection
}

func newChain(t *testing.T, bFwd func(ctx context.Context), cHandler registry.HandlerFunc, bOpts protocol.Options) *chain {
	t.Helper()
	ch := &chain{}
	var bcConn atomic.Pointer[protocol.CallConnection]
	fwd := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		if bFwd != nil {
			bFwd(ctx)
		}
		return bcConn.Load().Call(ctx, "container/exec", in, protocol.WithTraceParent(oc.TraceParent()))
	})
	dA := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
	dB := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"hub/exec": fwd}, nil), Options: bOpts}
	dC := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"container/exec": cHandler}, nil)}
	ch.ab, ch.ba, _, _ = pair(t, dA, dB, nil, nil)
	ch.bc, ch.cb, _, _ = pair(t, dB, dC, nil, nil)
	bcConn.Store(ch.bc)
	return ch
}

// §20.7, issue requirement: aborting at A stops B's and C's handlers.
func TestChainAbort(t *testing.T) {
	t.Parallel()
	bDone := make(chan error, 1)
	cStarted := make(chan struct{})
	cDone := make(chan error, 1)
	ch := newChain(t, func(ctx context.Context) {
		context.AfterFunc(ctx, func() { bDone <- context.Cause(ctx) })
	}, func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		close(cStarted)
		<-ctx.Done()
		cDone <- context.Cause(ctx)
		return nil, ctx.Err()
	}, protocol.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { _, err := ch.ab.Call(ctx, "hub/exec", map[string]string{"cmd": "make test"}); errc <- err }()
	<-cStarted
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("A's Call = %v", err)
	}
	if got := <-bDone; !errors.Is(got, callerr.ErrAborted) {
		t.Errorf("B's handler cause = %v, want ErrAborted", got)
	}
	if got := <-cDone; !errors.Is(got, callerr.ErrAborted) {
		t.Errorf("C's handler cause = %v, want ErrAborted", got)
	}
	waitEmpty(t, ch.ab, ch.ba, ch.bc, ch.cb)
}

// §20.7 variant: B's ServeTimeout fires first → A receives TIMEOUT and C is aborted.
func TestChainServeTimeout(t *testing.T) {
	t.Parallel()
	cDone := make(chan error, 1)
	ch := newChain(t, nil, func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		<-ctx.Done()
		cDone <- context.Cause(ctx)
		return nil, ctx.Err()
	}, protocol.Options{ServeTimeout: 300 * time.Millisecond})
	_, err := ch.ab.Call(t.Context(), "hub/exec", nil)
	if codeOf(err) != callerr.Timeout || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("A's Call = %v, want B's TIMEOUT", err)
	}
	// C's own deadline is at least B's (CALLP-R137), so the abort B sends reaches it first or
	// C's deadline ends it; either way its handler stops.
	if got := <-cDone; !errors.Is(got, callerr.ErrAborted) && !errors.Is(got, context.DeadlineExceeded) {
		t.Errorf("C's handler cause = %v", got)
	}
	waitEmpty(t, ch.ab, ch.ba, ch.bc, ch.cb)
}

// T-CALLP-81, issue requirement: the deadline shrinks along A → B → C.
func TestChainDeadlineShrinks(t *testing.T) {
	t.Parallel()
	var bRemaining, cRemaining atomic.Int64
	var trace atomic.Value
	ch := newChain(t, func(ctx context.Context) {
		dl, ok := ctx.Deadline()
		if !ok {
			t.Error("B's handler has no deadline")
			return
		}
		start := time.Until(dl)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for time.Until(dl) > start-20*time.Millisecond {
			<-tick.C
		}
		bRemaining.Store(int64(time.Until(dl)))
	}, func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		dl, ok := ctx.Deadline()
		if !ok {
			return nil, errors.New("no deadline at C")
		}
		cRemaining.Store(int64(time.Until(dl)))
		trace.Store(oc.TraceParent())
		return json.RawMessage(`"ok"`), nil
	}, protocol.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	tp := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	if _, err := ch.ab.Call(ctx, "hub/exec", nil, protocol.WithTraceParent(tp)); err != nil {
		t.Fatal(err)
	}
	b, c := time.Duration(bRemaining.Load()), time.Duration(cRemaining.Load())
	if b <= 0 || b > 2*time.Second {
		t.Fatalf("B's remaining budget at forwarding = %v", b)
	}
	if c <= 0 || c >= b+time.Millisecond {
		t.Fatalf("C's remaining budget %v, want below B's %v + 1ms", c, b)
	}
	if c > 1980*time.Millisecond {
		t.Fatalf("C's budget %v did not shrink", c)
	}
	if got := trace.Load(); got != tp { // CALLP-R47
		t.Errorf("C saw traceparent %q, want %q", got, tp)
	}
}

// T-CALLP-85: revoking a caller cascades like an abort: the request it made through B is answered
// FORBIDDEN "credentials revoked" and C's forwarded handler receives the abort (CALLP-R124).
func TestChainRevoke(t *testing.T) {
	t.Parallel()
	cStarted := make(chan struct{})
	cDone := make(chan error, 1)
	var bc atomic.Pointer[protocol.CallConnection]
	fwd := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		return bc.Load().Call(ctx, "container/exec", in)
	})
	work := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		close(cStarted)
		<-ctx.Done()
		cDone <- context.Cause(ctx)
		return nil, ctx.Err()
	})
	prov := &tokens{ids: map[string]auth.Identity{"alk_alice": {ID: "alice"}}}
	dA := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
	dB := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"hub/exec": fwd}, nil), Identities: prov}
	dC := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"container/exec": work}, nil)}
	ab, _, _, _ := pair(t, dA, dB, nil, nil)
	b2, _, _, _ := pair(t, dB, dC, nil, nil)
	bc.Store(b2)
	errc := make(chan error, 1)
	go func() {
		_, err := ab.Call(t.Context(), "hub/exec", nil, protocol.WithAuthToken(auth.NewAuthToken([]byte("alk_alice"))))
		errc <- err
	}()
	<-cStarted
	if res := dB.Revoke("alice"); res.Requests != 1 {
		t.Fatalf("Revoke = %+v", res)
	}
	err := <-errc
	if ce, ok := errors.AsType[*callerr.CallError](err); !ok || ce.Code != callerr.Forbidden || ce.Message != "credentials revoked" {
		t.Fatalf("alice's call = %v", err)
	}
	if got := <-cDone; !errors.Is(got, callerr.ErrAborted) {
		t.Fatalf("C's handler cause = %v, want ErrAborted", got)
	}
}
