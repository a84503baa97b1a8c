package protocol_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/coretest"
	"github.com/alknet/alknet/alknet-core/secret"
)

// treeEvent is what a handler of the context tree reports when its context ends.
type treeEvent struct {
	name  string
	cause error
}

func nameOf(in json.RawMessage) string {
	var s string
	_ = json.Unmarshal(in, &s)
	return s
}

func quoted(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

func internalOp(name string) registry.OperationSpec {
	return registry.OperationSpec{Name: name, Visibility: registry.Internal, Type: registry.Query}
}

// T-CALLP-38: the context tree over real QUIC, A → B → C. A calls B's t/root, which composes
// children at depths 1–3, each level with a local leaf (L1–L3) and a forwarded one (F1–F3: a leaf
// calling C with its handler's ctx), through t/mid1 (depth 1) and t/mid2 (depth 2), plus a
// ContinueRunning child t/cont (K1) with a descendant of its own (H2). Once all of them run, A
// cancels. Every AbortDependents descendant stops, the forwarded ones on C through call.aborted
// (CALLP-R112, R113); the started ContinueRunning child and its descendant keep running with live
// contexts until released (CALLP-R114); children the aborted root tries to start afterwards, of
// either policy, never start and their Invoke returns ErrAborted (CALLP-R115). All tables on both
// connections end empty.
func TestContextTree(t *testing.T) {
	t.Parallel()
	entered := make(chan string, 32)
	stopped := make(chan treeEvent, 32)
	release := make(chan struct{})
	kept := make(chan treeEvent, 2)
	lateErrs := make(chan error, 2)
	var bc atomic.Pointer[protocol.CallConnection]

	blockUntilDone := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		entered <- nameOf(in)
		<-ctx.Done()
		stopped <- treeEvent{nameOf(in), context.Cause(ctx)}
		return nil, ctx.Err()
	})
	holdUntilReleased := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		entered <- nameOf(in)
		select {
		case <-release:
			kept <- treeEvent{nameOf(in), ctx.Err()}
			return quoted("kept"), nil
		case <-ctx.Done():
			stopped <- treeEvent{nameOf(in), context.Cause(ctx)}
			return nil, ctx.Err()
		}
	})
	forward := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		return bc.Load().Call(ctx, "c/work", in, protocol.WithParent(oc.RequestID()))
	})
	type child struct {
		op, name string
		policy   registry.AbortPolicy
	}
	// fanOut invokes every child on a goroutine of its own and waits for all of them.
	fanOut := func(ctx context.Context, oc *registry.OperationContext, kids ...child) {
		var wg sync.WaitGroup
		for _, k := range kids {
			wg.Go(func() { _, _ = oc.Env().Invoke(ctx, k.op, quoted(k.name), registry.WithAbortPolicy(k.policy)) })
		}
		wg.Wait()
	}
	composite := func(kids ...child) registry.HandlerFunc {
		return func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
			entered <- nameOf(in)
			fanOut(ctx, oc, kids...)
			return nil, context.Cause(ctx)
		}
	}
	dep := registry.AbortDependents
	root := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		var wg sync.WaitGroup
		wg.Go(func() {
			fanOut(ctx, oc, child{"t/leaf", "L1", dep}, child{"t/fwd", "F1", dep}, child{"t/mid1", "M1", dep},
				child{"t/cont", "K1", registry.ContinueRunning})
		})
		<-ctx.Done()
		for _, p := range []registry.AbortPolicy{registry.AbortDependents, registry.ContinueRunning} {
			_, err := oc.Env().Invoke(ctx, "t/late", quoted("late"), registry.WithAbortPolicy(p))
			lateErrs <- err
		}
		wg.Wait()
		return nil, context.Cause(ctx)
	})
	// t/cont's own child inherits ContinueRunning (CALLP-R111).
	cont := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		entered <- nameOf(in)
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = oc.Env().Invoke(ctx, "t/hold", quoted("H2")) })
		<-release
		kept <- treeEvent{nameOf(in), ctx.Err()}
		wg.Wait()
		return quoted("kept"), nil
	})

	authority := func(label string) *registry.CompositionAuthority {
		return &registry.CompositionAuthority{Label: label}
	}
	rootScope := registry.NewScopedEnv("t/leaf", "t/fwd", "t/mid1", "t/cont", "t/late")
	mid1Scope := registry.NewScopedEnv("t/leaf", "t/fwd", "t/mid2")
	mid2Scope := registry.NewScopedEnv("t/leaf", "t/fwd")
	contScope := registry.NewScopedEnv("t/hold")
	none := secret.Capabilities{}
	regB, err := registry.NewBuilder().
		Local(registry.OperationSpec{Name: "t/root", Visibility: registry.External, Type: registry.Query}, root, authority("root"), &rootScope, none).
		Local(internalOp("t/mid1"), composite(child{"t/leaf", "L2", dep}, child{"t/fwd", "F2", dep}, child{"t/mid2", "M2", dep}), authority("mid1"), &mid1Scope, none).
		Local(internalOp("t/mid2"), composite(child{"t/leaf", "L3", dep}, child{"t/fwd", "F3", dep}), authority("mid2"), &mid2Scope, none).
		Local(internalOp("t/cont"), cont, authority("cont"), &contScope, none).
		Local(internalOp("t/leaf"), blockUntilDone, nil, nil, none).
		Local(internalOp("t/hold"), holdUntilReleased, nil, nil, none).
		Local(internalOp("t/late"), blockUntilDone, nil, nil, none).
		Local(internalOp("t/fwd"), forward, nil, nil, none).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	dA := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
	dB := &protocol.Dispatcher{Invoker: regB}
	dC := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"c/work": blockUntilDone}, nil)}
	ab, ba, _, _ := pair(t, dA, dB, nil, nil)
	bcConn, cb, _, _ := pair(t, dB, dC, nil, nil)
	bc.Store(bcConn)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errc := make(chan error, 1)
	go func() { _, err := ab.Call(ctx, "t/root", nil); errc <- err }()
	running := map[string]bool{}
	for range 10 { // M1 M2 L1 L2 L3 F1 F2 F3 K1 H2
		running[coretest.Recv(t, entered, "the tree to start")] = true
	}
	for _, n := range []string{"M1", "M2", "L1", "L2", "L3", "F1", "F2", "F3", "K1", "H2"} {
		if !running[n] {
			t.Fatalf("%s did not start; started: %v", n, running)
		}
	}

	cancel()
	if err := coretest.Recv(t, errc, "A's call to return"); !errors.Is(err, context.Canceled) {
		t.Fatalf("A's Call = %v", err)
	}
	got := map[string]error{}
	for range 6 { // every AbortDependents leaf, local and forwarded, at every depth
		ev := coretest.Recv(t, stopped, "the AbortDependents descendants to stop")
		got[ev.name] = ev.cause
	}
	for _, n := range []string{"L1", "L2", "L3", "F1", "F2", "F3"} {
		if cause, ok := got[n]; !ok || !errors.Is(cause, callerr.ErrAborted) {
			t.Errorf("%s: stopped %v with cause %v, want ErrAborted", n, ok, cause)
		}
	}
	for range 2 {
		if err := coretest.Recv(t, lateErrs, "the late invocations"); !errors.Is(err, callerr.ErrAborted) {
			t.Errorf("Invoke after the abort = %v, want ErrAborted", err)
		}
	}
	select {
	case ev := <-stopped:
		t.Fatalf("%s stopped (cause %v); only the AbortDependents descendants may", ev.name, ev.cause)
	default:
	}

	close(release)
	for range 2 {
		ev := coretest.Recv(t, kept, "the continuing child and its descendant to finish")
		if ev.cause != nil {
			t.Errorf("%s's context ended (%v) although it continues", ev.name, ev.cause)
		}
	}
	waitEmpty(t, ab, ba, bcConn, cb)
	select {
	case n := <-entered:
		t.Errorf("%s started after the abort", n)
	case ev := <-stopped:
		t.Errorf("%s stopped (cause %v) after the release", ev.name, ev.cause)
	default:
	}
}

// T-CALLP-39: a started ContinueRunning child outlives the abort of its parent but still stops at
// the deadline it inherited: the root's deadline from the caller's timeout_ms, or from B's
// ServeTimeout when that is shorter (CALLP-R116, R114, R135). Fake time makes the instant exact.
func TestContinueRunningKeepsDeadline(t *testing.T) {
	for _, tc := range []struct {
		name         string
		callerBudget time.Duration // 0: no context deadline, so A announces its CallTimeout
		serveTimeout time.Duration
		want         time.Duration
	}{
		{"caller's timeout_ms", time.Second, 0, time.Second},
		{"B's ServeTimeout", 0, 500 * time.Millisecond, 500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				started := make(chan struct{})
				type end struct {
					at    time.Time
					cause error
				}
				ended := make(chan end, 1)
				cont := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
					close(started)
					<-ctx.Done()
					ended <- end{time.Now(), context.Cause(ctx)}
					return nil, ctx.Err()
				})
				root := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
					return oc.Env().Invoke(ctx, "t/cont", nil, registry.WithAbortPolicy(registry.ContinueRunning))
				})
				scope := registry.NewScopedEnv("t/cont")
				regB, err := registry.NewBuilder().
					Local(registry.OperationSpec{Name: "t/root", Visibility: registry.External, Type: registry.Query}, root,
						&registry.CompositionAuthority{Label: "root"}, &scope, secret.Capabilities{}).
					Local(internalOp("t/cont"), cont, nil, nil, secret.Capabilities{}).
					Build()
				if err != nil {
					t.Fatal(err)
				}
				dA := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
				dB := &protocol.Dispatcher{Invoker: regB, Options: protocol.Options{ServeTimeout: tc.serveTimeout}}
				a, b := pipePair(t, dA, dB, nil, nil)

				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				if tc.callerBudget > 0 {
					ctx, cancel = context.WithTimeout(ctx, tc.callerBudget)
					defer cancel()
				}
				start := time.Now()
				errc := make(chan error, 1)
				go func() { _, err := a.Call(ctx, "t/root", nil); errc <- err }()
				<-started
				time.Sleep(100 * time.Millisecond)
				cancel() // aborts the root on B
				if err := <-errc; !errors.Is(err, context.Canceled) {
					t.Fatalf("A's Call = %v", err)
				}
				synctest.Wait()
				select {
				case e := <-ended:
					t.Fatalf("the continuing child stopped at the abort (cause %v)", e.cause)
				default:
				}
				e := <-ended
				if got := e.at.Sub(start); got != tc.want {
					t.Errorf("the continuing child stopped after %v, want %v", got, tc.want)
				}
				if !errors.Is(e.cause, context.DeadlineExceeded) {
					t.Errorf("cause = %v, want the inherited deadline", e.cause)
				}
				waitEmpty(t, a, b)
			})
		})
	}
}
