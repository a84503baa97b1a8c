package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/registry"
)

// Test 82 [OBS-R1..R4].
func TestObserverEvents(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	set := registry.NewImportedSet()
	if err := set.Register(leaf("w/remote")); err != nil {
		t.Fatal(err)
	}
	ps := registry.NewPeerSet(registry.PeerSetOptions{})
	if _, err := ps.Attach("worker-a", set); err != nil {
		t.Fatal(err)
	}
	parent := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		if _, err := oc.Env().Invoke(ctx, "l/local", nil); err != nil {
			return nil, err
		}
		return oc.Env().InvokePeer(ctx, registry.Peer("worker-a"), "w/remote", nil)
	})
	scope := registry.NewScopedEnv("l/local", "w/remote")
	subSpec := ext("s/s")
	subSpec.Type = registry.Subscription
	started := make(chan struct{})
	blocker := registry.HandlerFunc(func(ctx context.Context, _ *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		close(started)
		<-ctx.Done()
		return nil, nil
	})
	r := mustBuild(t, registry.NewBuilder().Observe(rec).
		Local(ext("p/p"), parent, &registry.CompositionAuthority{Label: "p"}, &scope, noCaps).
		Local(internalSpec("l/local"), echo, nil, nil, noCaps).
		Local(ext("f/f", "admin"), echo, nil, nil, noCaps).
		Local(ext("b/b"), blocker, nil, nil, noCaps).
		LocalStream(subSpec, sub, nil, nil, noCaps))
	w := registry.WireCall{RequestID: "root", Operation: "/p/p", Routes: registry.Routes{Peers: ps.View(), Self: "caller-peer"}}
	if _, err := r.ServeCall(t.Context(), w, nil); err != nil {
		t.Fatal(err)
	}
	starts, ends := rec.snapshot()
	if len(starts) != 3 || len(ends) != 3 {
		t.Fatalf("%d starts, %d ends; want 3 each", len(starts), len(ends))
	}
	// Children end first; starts are root, local, peer.
	if s := starts[0]; s.Operation != "p/p" || s.Composed || s.ParentID != "" || s.Peer != "caller-peer" || s.RequestID != "root" {
		t.Errorf("root start %+v", s)
	}
	if s := starts[1]; s.Operation != "l/local" || !s.Composed || s.ParentID != "root" || s.Peer != "" {
		t.Errorf("local child start %+v", s)
	}
	if s := starts[2]; s.Operation != "w/remote" || !s.Composed || s.ParentID != "root" || s.Peer != "worker-a" {
		t.Errorf("peer child start %+v", s)
	}
	for _, e := range ends {
		if e.Code != "" || e.Aborted {
			t.Errorf("end %+v", e)
		}
	}
	// NOT_FOUND for a random name: Operation "".
	rec2 := &recorder{}
	r2 := mustBuild(t, registry.NewBuilder().Observe(rec2).Local(ext("f/f", "admin"), echo, nil, nil, noCaps).
		Local(ext("b/b"), blocker, nil, nil, noCaps).LocalStream(subSpec, sub, nil, nil, noCaps))
	call(t, r2, nil, "/random/x123", "")
	call(t, r2, nil, "/f/f", "")
	_, ends = rec2.snapshot()
	if ends[0].Operation != "" || ends[0].Code != callerr.NotFound {
		t.Errorf("NOT_FOUND observed as %+v", ends[0])
	}
	if ends[1].Operation != "f/f" || ends[1].Code != callerr.Forbidden {
		t.Errorf("FORBIDDEN observed as %+v", ends[1])
	}
	// Aborted: Aborted true, Code "".
	ctx, cancel := context.WithCancelCause(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := r2.ServeCall(ctx, registry.WireCall{Operation: "b/b"}, nil)
		done <- err
	}()
	<-started
	cancel(callerr.ErrAborted)
	<-done
	_, ends = rec2.snapshot()
	if e := ends[2]; !e.Aborted || e.Code != "" || e.Operation != "b/b" {
		t.Errorf("abort observed as %+v", e)
	}
	// Subscription: OnCallEnd after the last item.
	var order []string
	var mu sync.Mutex
	rec3 := &recorder{}
	endHook := &endOrder{rec: rec3, order: &order, mu: &mu}
	r3 := mustBuild(t, registry.NewBuilder().Observe(endHook).LocalStream(subSpec, sub, nil, nil, noCaps))
	err := r3.ServeSubscribe(t.Context(), registry.WireCall{Operation: "s/s"}, nil, func(b json.RawMessage) error {
		mu.Lock()
		order = append(order, string(b))
		mu.Unlock()
		return nil
	})
	if err != nil || strings.Join(order, ",") != "0,1,2,end" {
		t.Errorf("subscription order %v, %v", order, err)
	}
}

type endOrder struct {
	rec   *recorder
	order *[]string
	mu    *sync.Mutex
}

func (e *endOrder) OnCallStart(s registry.CallStart) string { return e.rec.OnCallStart(s) }
func (e *endOrder) OnCallEnd(c registry.CallEnd) {
	e.mu.Lock()
	*e.order = append(*e.order, "end")
	e.mu.Unlock()
}

type panicky struct{ start, end bool }

func (p panicky) OnCallStart(registry.CallStart) string {
	if p.start {
		panic("observer start")
	}
	return ""
}

func (p panicky) OnCallEnd(registry.CallEnd) {
	if p.end {
		panic("observer end")
	}
}

// Test 83 [OBS-R4, OBS-R5]: observer panics change nothing but one log line; results with and
// without an observer are identical.
func TestObserverPanicAndNeutrality(t *testing.T) {
	t.Parallel()
	spec := ext("v/v", "x")
	spec.InputSchema = json.RawMessage(`{"type":"object"}`)
	build := func(o registry.Observer, logs *bytes.Buffer) *registry.Registry {
		b := registry.NewBuilder().Local(spec, echo, nil, nil, noCaps).Local(ext("e/e"), registry.HandlerFunc(
			func(context.Context, *registry.OperationContext, json.RawMessage) (json.RawMessage, error) {
				return nil, callerr.New(callerr.NotFound, "x")
			}), nil, nil, noCaps)
		if logs != nil {
			b.Logger(slog.New(slog.NewTextHandler(logs, nil)))
		}
		if o != nil {
			b.Observe(o)
		}
		return mustBuild(t, b)
	}
	cases := []struct {
		op, in string
		caller bool
	}{{"/v/v", `{"a":1}`, true}, {"/v/v", `[]`, true}, {"/v/v", `{}`, false}, {"/e/e", ``, false}, {"/nope/x", ``, false}}
	results := func(r *registry.Registry) string {
		var sb strings.Builder
		for _, c := range cases {
			id := ident("anon")
			if c.caller {
				id = ident("alice", "x")
			}
			out, err := call(t, r, id, c.op, c.in)
			errText := ""
			if err != nil {
				errText = wireError(t, err)
			}
			fmt.Fprintf(&sb, "%s|%s\n", out, errText)
		}
		return sb.String()
	}
	base := results(build(nil, nil))
	if got := results(build(&recorder{}, nil)); got != base {
		t.Errorf("with observer:\n%s\nwithout:\n%s", got, base)
	}
	for _, p := range []panicky{{start: true}, {end: true}} {
		var logs bytes.Buffer
		if got := results(build(p, &logs)); got != base {
			t.Errorf("panicking observer %+v changed results:\n%s", p, got)
		}
		if n := strings.Count(logs.String(), "observer panic recovered"); n != 1 {
			t.Errorf("observer %+v: %d panic log lines, want 1", p, n)
		}
	}
}

// Test 84 [DSP-R5, DSP-R6] (registry part): AbortCaller cancels alice's calls, not bob's.
func TestAbortCaller(t *testing.T) {
	t.Parallel()
	entered := make(chan string, 8)
	block := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		entered <- oc.Identity().ID
		<-ctx.Done()
		return nil, nil
	})
	subSpec := ext("s/block")
	subSpec.Type = registry.Subscription
	blockStream := registry.StreamHandlerFunc(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage, emit registry.Emit) error {
		entered <- oc.Identity().ID
		<-ctx.Done()
		return emit(json.RawMessage(`1`))
	})
	r := mustBuild(t, registry.NewBuilder().Local(ext("b/block"), block, nil, nil, noCaps).LocalStream(subSpec, blockStream, nil, nil, noCaps))
	type result struct {
		who string
		err error
	}
	results := make(chan result, 4)
	bobCtx, bobCancel := context.WithCancel(t.Context())
	defer bobCancel()
	start := func(ctx context.Context, who string, stream bool) {
		go func() {
			var err error
			w := registry.WireCall{Operation: "b/block", Identity: ident(who)}
			if stream {
				w.Operation = "s/block"
				err = r.ServeSubscribe(ctx, w, nil, func(json.RawMessage) error { return nil })
			} else {
				_, err = r.ServeCall(ctx, w, nil)
			}
			results <- result{who, err}
		}()
	}
	start(t.Context(), "alice", false)
	start(t.Context(), "alice", false)
	start(t.Context(), "alice", true)
	start(bobCtx, "bob", false)
	for range 4 {
		<-entered
	}
	if n := r.AbortCaller("alice", callerr.ErrRevoked); n != 3 {
		t.Errorf("AbortCaller = %d, want 3", n)
	}
	for range 3 {
		res := <-results
		if res.who != "alice" || res.err != callerr.ErrRevoked {
			t.Errorf("%s ended with %v", res.who, res.err)
		}
	}
	select {
	case res := <-results:
		t.Errorf("bob ended: %v", res.err)
	default:
	}
	bobCancel()
	<-results
	// A later call of alice is unaffected.
	r2 := mustBuild(t, registry.NewBuilder().Local(ext("o/o"), echo, nil, nil, noCaps))
	r2.AbortCaller("alice", callerr.ErrRevoked)
	if _, err := call(t, r2, ident("alice"), "/o/o", "1"); err != nil {
		t.Errorf("new call after AbortCaller: %v", err)
	}
	if n := registry.InflightSize(r); n != 0 {
		t.Errorf("index holds %d entries", n)
	}
}

// Test 85 [DSP-R6] (registry part): revocation reaches AbortDependents and ContinueRunning
// descendants.
func TestAbortCallerDescendants(t *testing.T) {
	t.Parallel()
	entered := make(chan string, 2)
	cancelled := make(chan string, 2)
	child := registry.HandlerFunc(func(ctx context.Context, _ *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		entered <- string(in)
		<-ctx.Done()
		cancelled <- string(in)
		return nil, ctx.Err()
	})
	parent := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		var wg sync.WaitGroup
		wg.Go(func() { oc.Env().Invoke(ctx, "c/c", json.RawMessage(`"dep"`)) })
		wg.Go(func() {
			oc.Env().Invoke(ctx, "c/c", json.RawMessage(`"cont"`), registry.WithAbortPolicy(registry.ContinueRunning))
		})
		wg.Wait()
		return nil, nil
	})
	scope := registry.NewScopedEnv("c/c")
	r := mustBuild(t, registry.NewBuilder().Local(ext("p/p"), parent, &registry.CompositionAuthority{Label: "p"}, &scope, noCaps).
		Local(internalSpec("c/c"), child, nil, nil, noCaps))
	done := make(chan error, 1)
	go func() {
		_, err := r.ServeCall(t.Context(), registry.WireCall{Operation: "p/p", Identity: ident("alice")}, nil)
		done <- err
	}()
	<-entered
	<-entered
	if n := r.AbortCaller("alice", callerr.ErrRevoked); n != 1 {
		t.Errorf("AbortCaller = %d roots, want 1", n)
	}
	got := map[string]bool{<-cancelled: true, <-cancelled: true}
	if !got[`"dep"`] || !got[`"cont"`] {
		t.Errorf("cancelled children %v", got)
	}
	if err := <-done; err != callerr.ErrRevoked {
		t.Errorf("root = %v", err)
	}
	if n := registry.InflightSize(r); n != 0 {
		t.Errorf("index holds %d entries", n)
	}
}

// Test 86 [DSP-R5]: index hygiene.
func TestInflightIndexHygiene(t *testing.T) {
	t.Parallel()
	r := mustBuild(t, registry.NewBuilder().Local(ext("o/o"), echo, nil, nil, noCaps))
	var wg sync.WaitGroup
	// 10 000 calls from 100 identities, 500 goroutines at a time (the race detector caps live
	// goroutines).
	for g := range 500 {
		wg.Go(func() {
			for j := range 20 {
				i := g*20 + j
				id := ident(fmt.Sprintf("user-%d", i%100))
				if i%10 == 0 {
					id = nil
				}
				if _, err := call(t, r, id, "o/o", "1"); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n := registry.InflightSize(r); n != 0 {
		t.Errorf("index holds %d entries after all calls returned", n)
	}
	// Anonymous calls are never indexed.
	seen := -1
	var r3 *registry.Registry
	r3 = mustBuild(t, registry.NewBuilder().Local(ext("a/a"), registry.HandlerFunc(
		func(context.Context, *registry.OperationContext, json.RawMessage) (json.RawMessage, error) {
			seen = registry.InflightSize(r3)
			return nil, nil
		}), nil, nil, noCaps))
	call(t, r3, nil, "a/a", "")
	if seen != 0 {
		t.Errorf("anonymous call indexed: %d entries", seen)
	}
	call(t, r3, ident("x"), "a/a", "")
	if seen != 1 {
		t.Errorf("identified call: %d entries, want 1", seen)
	}
}
