package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/registry"
)

// testLiveness is a connection stand-in whose end and drain the test controls.
type testLiveness struct {
	done     chan struct{}
	draining atomic.Bool
}

func newLiveness() *testLiveness              { return &testLiveness{done: make(chan struct{})} }
func (l *testLiveness) Done() <-chan struct{} { return l.done }
func (l *testLiveness) Draining() bool        { return l.draining.Load() }
func (l *testLiveness) end()                  { close(l.done) }
func (l *testLiveness) setDraining(v bool)    { l.draining.Store(v) }

func peerSource(t *testing.T, name string, ops ...string) *registry.ImportedSet {
	t.Helper()
	s := registry.NewImportedSet()
	for _, op := range ops {
		if err := s.Register(&registry.HandlerRegistration{Spec: internalSpec(op), Provenance: registry.FromCall, Handler: constant(`"` + name + `"`)}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// router builds a registry with a composing op whose scope allows ops, reached through ps.
type router struct {
	t  *testing.T
	r  *registry.Registry
	ps *registry.PeerSet
}

func newRouter(t *testing.T, ps *registry.PeerSet, ops ...string) *router {
	scope := registry.NewScopedEnv(ops...)
	r := mustBuild(t, registry.NewBuilder().Local(ext("c/route"), invoker, &registry.CompositionAuthority{Label: "hub"}, &scope, noCaps))
	return &router{t: t, r: r, ps: ps}
}

// route composes op through peer ("" = Any) and returns the answering peer's name or the code.
func (rt *router) route(op, peer string) string {
	b, _ := json.Marshal(map[string]string{"op": op, "peer": peer})
	out, err := rt.r.ServeCall(rt.t.Context(), registry.WireCall{Operation: "c/route", Routes: registry.Routes{Peers: rt.ps.View()}}, b)
	if err != nil {
		return codeOf(err)
	}
	var s string
	json.Unmarshal(out, &s)
	return s
}

func ids(ps *registry.PeerSet) string {
	var out []string
	for _, id := range ps.View().IDs() {
		out = append(out, string(id))
	}
	return strings.Join(out, ",")
}

// Test 32 [ROUTE-R4, R5] and 34 [ROUTE-R4] in process.
func TestRoutingOrder(t *testing.T) {
	t.Parallel()
	ps := registry.NewPeerSet(registry.PeerSetOptions{})
	ps.Attach("worker-a", peerSource(t, "a", "container/exec", "jobs/run"))
	ps.Attach("worker-b", peerSource(t, "b", "container/exec", "only/b"))
	scope := registry.NewScopedEnv("container/exec", "only/b", "jobs/run")
	r := mustBuild(t, registry.NewBuilder().
		Local(ext("c/route"), invoker, &registry.CompositionAuthority{Label: "hub"}, &scope, noCaps).
		Local(internalSpec("only/b"), constant(`"layer0"`), nil, nil, noCaps).
		Local(internalSpec("jobs/run"), constant(`"layer0"`), nil, nil, noCaps))
	rt := &router{t: t, r: r, ps: ps}
	for _, tc := range []struct{ op, peer, want string }{
		{"container/exec", "", "a"},
		{"container/exec", "worker-b", "b"},
		{"container/exec", "worker-c", callerr.NotFound},
		{"only/b", "worker-a", callerr.NotFound},
		{"only/b", "", "layer0"},   // Layer 0 before peers
		{"jobs/run", "", "layer0"}, // a peer never shadows a curated op (test 70's property)
		{"jobs/run", "worker-a", "a"},
	} {
		if got := rt.route(tc.op, tc.peer); got != tc.want {
			t.Errorf("route %s via %q = %s, want %s", tc.op, tc.peer, got, tc.want)
		}
	}
}

// Test 33 [ROUTE-R3]: pinned entries.
func TestPinnedScope(t *testing.T) {
	t.Parallel()
	ps := registry.NewPeerSet(registry.PeerSetOptions{})
	ps.Attach("worker-a", peerSource(t, "a", "container/logs"))
	ps.Attach("worker-b", peerSource(t, "b", "container/logs"))
	scope := registry.NewScopedEnv().WithPinned(registry.PeerOp{Peer: "worker-a", Op: "container/logs"})
	r := mustBuild(t, registry.NewBuilder().Local(ext("c/route"), invoker, &registry.CompositionAuthority{Label: "hub"}, &scope, noCaps))
	rt := &router{t: t, r: r, ps: ps}
	for _, tc := range []struct{ peer, want string }{{"worker-a", "a"}, {"", callerr.NotFound}, {"worker-b", callerr.NotFound}} {
		if got := rt.route("container/logs", tc.peer); got != tc.want {
			t.Errorf("pinned op via %q = %s, want %s", tc.peer, got, tc.want)
		}
	}
}

// Tests 36 [ROUTE-R7] and 37 [ROUTE-R2]: reconnect races with plain Attach.
func TestReconnectRace(t *testing.T) {
	t.Parallel()
	srcOf := func(ps *registry.PeerSet, id registry.PeerID) registry.Source {
		s, _ := ps.View().Source(id)
		return s
	}
	// (a) new attaches while old is attached; old detaches afterwards.
	ps := registry.NewPeerSet(registry.PeerSetOptions{})
	oldA, newA := peerSource(t, "old", "w/run"), peerSource(t, "new", "w/run")
	detachOld, _ := ps.Attach("worker-a", oldA)
	ps.Attach("worker-b", peerSource(t, "b", "w/run"))
	ps.Attach("worker-a", newA)
	if srcOf(ps, "worker-a") != registry.Source(newA) {
		t.Error("(a) new attachment not current")
	}
	detachOld()
	detachOld()
	if srcOf(ps, "worker-a") != registry.Source(newA) || ids(ps) != "worker-a,worker-b" {
		t.Errorf("(a) after old detach: ids %s", ids(ps))
	}
	// (b) old detaches first, then new attaches: worker-a moves to the end.
	ps = registry.NewPeerSet(registry.PeerSetOptions{})
	detachOld, _ = ps.Attach("worker-a", oldA)
	ps.Attach("worker-b", peerSource(t, "b", "w/run"))
	detachOld()
	if ids(ps) != "worker-b" {
		t.Errorf("(b) ids %s", ids(ps))
	}
	ps.Attach("worker-a", newA)
	if ids(ps) != "worker-b,worker-a" {
		t.Errorf("(b) ids %s", ids(ps))
	}
	// (c) stale attach: new, then old again, then old detaches → new current without re-attach.
	ps = registry.NewPeerSet(registry.PeerSetOptions{})
	ps.Attach("worker-a", newA)
	detachStale, _ := ps.Attach("worker-a", oldA)
	if srcOf(ps, "worker-a") != registry.Source(oldA) {
		t.Error("(c) stale attachment not current while it lives")
	}
	detachStale()
	if srcOf(ps, "worker-a") != registry.Source(newA) {
		t.Error("(c) new attachment not current after the stale one left")
	}
	// Test 37.
	if _, err := ps.Attach("", oldA); err == nil {
		t.Error(`Attach("") accepted`)
	}
	if err := ps.AttachConnection("", oldA, newLiveness()); err == nil {
		t.Error(`AttachConnection("") accepted`)
	}
}

// Test 76 [ROUTE-R12, R15, R5, R8, R17]: FirstMatch with connection liveness.
func TestFirstMatchLiveness(t *testing.T) {
	t.Parallel()
	for _, opts := range []registry.PeerSetOptions{{}, {AnyPolicy: registry.FirstMatch()}} {
		ps := registry.NewPeerSet(opts)
		la, lb, lc := newLiveness(), newLiveness(), newLiveness()
		for _, p := range []struct {
			id string
			l  *testLiveness
		}{{"a", la}, {"b", lb}, {"c", lc}} {
			if err := ps.AttachConnection(registry.PeerID(p.id), peerSource(t, p.id, "w/run"), p.l); err != nil {
				t.Fatal(err)
			}
		}
		rt := newRouter(t, ps, "w/run")
		for range 3 {
			if got := rt.route("w/run", ""); got != "a" {
				t.Errorf("Any = %s, want a", got)
			}
		}
		la.setDraining(true)
		if got := rt.route("w/run", ""); got != "b" {
			t.Errorf("A draining: Any = %s", got)
		}
		if got := rt.route("w/run", "a"); got != "a" {
			t.Errorf("A draining: Peer(a) = %s", got)
		}
		la.end()
		if got := rt.route("w/run", ""); got != "b" {
			t.Errorf("A ended: Any = %s", got)
		}
		if got := rt.route("w/run", "a"); got != callerr.NotFound {
			t.Errorf("A ended: Peer(a) = %s", got)
		}
		if ids(ps) != "b,c" {
			t.Errorf("ids after A ended = %s", ids(ps))
		}
		if err := ps.AttachConnection("d", peerSource(t, "d", "w/run"), la); err == nil {
			t.Error("AttachConnection of an ended connection accepted")
		}
		if ids(ps) != "b,c" {
			t.Errorf("ids after the refused attach = %s", ids(ps))
		}
		if got := rt.route("w/run", ""); got != "b" {
			t.Errorf("Any = %s", got)
		}
	}
	rt := newRouter(t, registry.NewPeerSet(registry.PeerSetOptions{}), "w/run")
	if got := rt.route("w/run", ""); got != callerr.NotFound {
		t.Errorf("no peers: %s", got)
	}
}

// Test 77 [ROUTE-R13, ROUTE-R6]: round robin.
func TestRoundRobin(t *testing.T) {
	t.Parallel()
	ps := registry.NewPeerSet(registry.PeerSetOptions{AnyPolicy: registry.RoundRobin()})
	ps.Attach("a", peerSource(t, "a", "w/run"))
	ps.Attach("b", peerSource(t, "b", "w/run", "w/other"))
	ps.Attach("c", peerSource(t, "c", "w/run", "w/other"))
	rt := newRouter(t, ps, "w/run", "w/other")
	var seq []string
	counts := map[string]int{}
	for i := range 300 {
		got := rt.route("w/run", "")
		counts[got]++
		if i < 6 {
			seq = append(seq, got)
		}
		if i%7 == 0 {
			other := rt.route("w/other", "")
			want := []string{"b", "c"}[(i/7)%2]
			if other != want {
				t.Fatalf("w/other call %d = %s, want %s", i/7, other, want)
			}
		}
	}
	if strings.Join(seq, "") != "abcabc" || counts["a"] != 100 || counts["b"] != 100 || counts["c"] != 100 {
		t.Errorf("round robin: %v %v", seq, counts)
	}
	// A peer attached between two Invokes of one running handler joins the rotation.
	ps2 := registry.NewPeerSet(registry.PeerSetOptions{AnyPolicy: registry.RoundRobin()})
	ps2.Attach("a", peerSource(t, "a", "w/run"))
	var got []string
	h := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		for i := range 4 {
			out, err := oc.Env().Invoke(ctx, "w/run", nil)
			if err != nil {
				return nil, err
			}
			got = append(got, string(out))
			if i == 1 {
				ps2.Attach("b", peerSource(t, "b", "w/run"))
			}
		}
		return nil, nil
	})
	scope := registry.NewScopedEnv("w/run")
	r := mustBuild(t, registry.NewBuilder().Local(ext("h/h"), h, &registry.CompositionAuthority{Label: "h"}, &scope, noCaps))
	if _, err := r.ServeCall(t.Context(), registry.WireCall{Operation: "h/h", Routes: registry.Routes{Peers: ps2.View()}}, nil); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got[2:], `"b"`) {
		t.Errorf("peer attached mid-call never chosen: %v", got)
	}
}

// Test 78 [ROUTE-R14]: least outstanding.
func TestLeastOutstanding(t *testing.T) {
	t.Parallel()
	ps := registry.NewPeerSet(registry.PeerSetOptions{AnyPolicy: registry.LeastOutstanding()})
	release := map[string]chan struct{}{}
	entered := make(chan string, 16)
	for _, name := range []string{"a", "b", "c"} {
		release[name] = make(chan struct{}, 16)
		s := registry.NewImportedSet()
		s.Register(&registry.HandlerRegistration{Spec: internalSpec("w/run"), Provenance: registry.FromCall,
			Handler: registry.HandlerFunc(func(ctx context.Context, _ *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
				entered <- name
				if string(in) == `"park"` {
					select {
					case <-release[name]:
					case <-ctx.Done():
						return nil, ctx.Err()
					}
				}
				return json.Marshal(name)
			})})
		ps.Attach(registry.PeerID(name), s)
	}
	park := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		var req struct{ Peer, Mode string }
		json.Unmarshal(in, &req)
		ref := registry.AnyPeer()
		if req.Peer != "" {
			ref = registry.Peer(registry.PeerID(req.Peer))
		}
		mode, _ := json.Marshal(req.Mode)
		return oc.Env().InvokePeer(ctx, ref, "w/run", mode)
	})
	scope := registry.NewScopedEnv("w/run")
	r := mustBuild(t, registry.NewBuilder().Local(ext("p/p"), park, &registry.CompositionAuthority{Label: "h"}, &scope, noCaps))
	var wg sync.WaitGroup
	results := make(chan string, 16)
	start := func(peer, mode string) {
		b, _ := json.Marshal(map[string]string{"Peer": peer, "Mode": mode})
		wg.Go(func() {
			out, err := r.ServeCall(t.Context(), registry.WireCall{Operation: "p/p", Routes: registry.Routes{Peers: ps.View()}}, b)
			if err != nil {
				results <- codeOf(err)
				return
			}
			results <- string(out)
		})
		<-entered
	}
	for _, p := range []string{"a", "a", "a", "b", "c", "c"} {
		start(p, "park") // Specific calls count too
	}
	if ps.Outstanding("a") != 3 || ps.Outstanding("b") != 1 || ps.Outstanding("c") != 2 {
		t.Fatalf("outstanding a=%d b=%d c=%d", ps.Outstanding("a"), ps.Outstanding("b"), ps.Outstanding("c"))
	}
	b, _ := json.Marshal(map[string]string{"Mode": "park"})
	wg.Go(func() {
		out, _ := r.ServeCall(t.Context(), registry.WireCall{Operation: "p/p", Routes: registry.Routes{Peers: ps.View()}}, b)
		results <- string(out)
	})
	if got := <-entered; got != "b" {
		t.Errorf("next Any call went to %s, want b", got)
	}
	release["a"] <- struct{}{}
	if got := <-results; got != `"a"` {
		t.Errorf("released call answered %s", got)
	}
	out, _ := r.ServeCall(t.Context(), registry.WireCall{Operation: "p/p", Routes: registry.Routes{Peers: ps.View()}}, []byte(`{}`))
	<-entered
	if string(out) != `"a"` {
		t.Errorf("tie broken to %s, want a", out)
	}
	for _, name := range []string{"a", "a", "b", "b", "c", "c"} {
		release[name] <- struct{}{}
	}
	wg.Wait()
	close(results)
	for range results {
	}
	for _, name := range []string{"a", "b", "c"} {
		if n := ps.Outstanding(registry.PeerID(name)); n != 0 {
			t.Errorf("Outstanding(%s) = %d after all calls ended", name, n)
		}
	}
}

// countingPolicy records what it is offered and answers a fixed index.
type countingPolicy struct {
	mu      sync.Mutex
	offered [][]registry.PeerID
	answer  int
}

func (p *countingPolicy) Pick(_ string, c []registry.PeerCandidate) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ids []registry.PeerID
	for _, x := range c {
		ids = append(ids, x.ID)
	}
	p.offered = append(p.offered, ids)
	return p.answer
}

// Test 80 [ROUTE-R12]: a custom policy's out-of-range answer uses candidate 0 and is logged once;
// the policy sees only peers serving the op, never session or Layer 0 sources.
func TestCustomPolicy(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	pol := &countingPolicy{answer: 7}
	ps := registry.NewPeerSet(registry.PeerSetOptions{AnyPolicy: pol, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ps.Attach("a", peerSource(t, "a", "other/op"))
	ps.Attach("b", peerSource(t, "b", "w/run"))
	ps.Attach("c", peerSource(t, "c", "w/run"))
	scope := registry.NewScopedEnv("w/run", "l0/op")
	r := mustBuild(t, registry.NewBuilder().Local(ext("c/route"), invoker, &registry.CompositionAuthority{Label: "hub"}, &scope, noCaps).
		Local(internalSpec("l0/op"), constant(`"layer0"`), nil, nil, noCaps))
	rt := &router{t: t, r: r, ps: ps}
	for range 5 {
		if got := rt.route("w/run", ""); got != "b" {
			t.Errorf("out-of-range pick routed to %s", got)
		}
	}
	if got := rt.route("l0/op", ""); got != "layer0" {
		t.Errorf("l0/op = %s", got)
	}
	if n := strings.Count(logs.String(), "any policy returned an index"); n != 1 {
		t.Errorf("%d log lines, want 1", n)
	}
	pol.mu.Lock()
	defer pol.mu.Unlock()
	if len(pol.offered) != 5 {
		t.Errorf("policy consulted %d times, want 5", len(pol.offered))
	}
	for _, o := range pol.offered {
		if fmt.Sprint(o) != "[b c]" {
			t.Errorf("policy offered %v", o)
		}
	}
}

// Test 38 and 80 (concurrency) [ROUTE-R6, R7]: routing while peers attach, detach and drain.
func TestRoutingConcurrency(t *testing.T) {
	t.Parallel()
	for _, pol := range []registry.AnyPolicy{registry.FirstMatch(), registry.RoundRobin(), registry.LeastOutstanding()} {
		ps := registry.NewPeerSet(registry.PeerSetOptions{AnyPolicy: pol})
		ps.Attach("stable", peerSource(t, "stable", "w/run"))
		rt := newRouter(t, ps, "w/run")
		stop := make(chan struct{})
		var churn sync.WaitGroup
		churn.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("p%d", i%4)
				l := newLiveness()
				ps.AttachConnection(registry.PeerID(name), peerSource(t, name, "w/run"), l)
				if i%3 == 0 {
					l.setDraining(true)
				}
				detach, _ := ps.Attach(registry.PeerID(name+"x"), peerSource(t, name+"x", "w/run"))
				detach()
				l.end()
			}
		})
		var wg sync.WaitGroup
		for g := range 64 {
			wg.Go(func() {
				for i := range 20 {
					peer := ""
					if (g+i)%3 == 0 {
						peer = fmt.Sprintf("p%d", i%4)
					}
					got := rt.route("w/run", peer)
					if got == "" || strings.HasPrefix(got, "!") || (got != callerr.NotFound && peer != "" && got != peer) {
						t.Errorf("route via %q = %q", peer, got)
					}
				}
			})
		}
		wg.Wait()
		close(stop)
		churn.Wait()
	}
}

// Test 39 [ROUTE-R6]: the session layer stays, the connection's own set overrides its peer's
// entry, and the peer view is live for the whole call tree.
func TestAggregatedEnv(t *testing.T) {
	t.Parallel()
	ps := registry.NewPeerSet(registry.PeerSetOptions{})
	ps.Attach("a", peerSource(t, "a-attached", "w/run"))
	ps.Attach("b", peerSource(t, "b", "w/run"))
	own := peerSource(t, "a-own", "w/run")
	sessScope := registry.NewScopedEnv()
	ov, err := registry.NewSessionOverlay(&registry.CompositionAuthority{Label: "c"}, &registry.HandlerRegistration{
		Spec: internalSpec("s/op"), Handler: constant(`"session"`), Provenance: registry.Session, Authority: &registry.CompositionAuthority{Label: "s"}, Scope: &sessScope})
	if err != nil {
		t.Fatal(err)
	}
	scope := registry.NewScopedEnv("w/run", "s/op", "late/op")
	r := mustBuild(t, registry.NewBuilder().Local(ext("c/route"), invoker, &registry.CompositionAuthority{Label: "hub"}, &scope, noCaps))
	route := func(self registry.PeerID, op, peer string) string {
		b, _ := json.Marshal(map[string]string{"op": op, "peer": peer})
		out, err := r.ServeCall(t.Context(), registry.WireCall{Operation: "c/route",
			Routes: registry.Routes{Session: ov, Peers: ps.View(), Self: self, SelfSrc: own}}, b)
		if err != nil {
			return codeOf(err)
		}
		return strings.Trim(string(out), `"`)
	}
	if got := route("a", "s/op", ""); got != "session" {
		t.Errorf("session layer lost: %s", got)
	}
	if got := route("a", "w/run", ""); got != "a-own" {
		t.Errorf("override in place: %s", got)
	}
	if got := route("a", "w/run", "a"); got != "a-own" {
		t.Errorf("override for Peer(a): %s", got)
	}
	if got := route("z", "w/run", "z"); got != "a-own" {
		t.Errorf("unattached self: %s", got)
	}
	if got := route("z", "w/run", ""); got != "a-attached" {
		t.Errorf("unattached self goes after every peer: %s", got)
	}
	// Live view inside one call tree.
	var got []string
	var detachB func()
	h := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		try := func(op string, ref registry.PeerRef) {
			out, err := oc.Env().InvokePeer(ctx, ref, op, nil)
			if err != nil {
				got = append(got, codeOf(err))
				return
			}
			got = append(got, string(out))
		}
		try("late/op", registry.AnyPeer())
		ps.Attach("late", peerSource(t, "late", "late/op"))
		try("late/op", registry.AnyPeer())
		try("w/run", registry.Peer("b"))
		detachB()
		try("w/run", registry.Peer("b"))
		return nil, nil
	})
	ps2 := ps
	detachB, _ = ps2.Attach("b", peerSource(t, "b2", "w/run"))
	r2 := mustBuild(t, registry.NewBuilder().Local(ext("h/h"), h, &registry.CompositionAuthority{Label: "h"}, &scope, noCaps))
	if _, err := r2.ServeCall(t.Context(), registry.WireCall{Operation: "h/h", Routes: registry.Routes{Peers: ps.View()}}, nil); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != `NOT_FOUND "late" "b2" "b"` {
		t.Errorf("live view: %v", got)
	}
}

// FirstMatch's shortcut answers what a policy returning index 0 answers, for random tables with
// draining and ended attachments and a calling connection's override (ROUTE-R6, R12, R15).
func TestFirstMatchShortcutEquivalence(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		fast := registry.NewPeerSet(registry.PeerSetOptions{})
		slow := registry.NewPeerSet(registry.PeerSetOptions{AnyPolicy: &countingPolicy{answer: 0}})
		for i := range 6 {
			id := registry.PeerID(fmt.Sprintf("p%d", rng.IntN(4)))
			var ops []string
			if rng.IntN(2) == 0 {
				ops = append(ops, "w/run")
			}
			src := peerSource(t, fmt.Sprintf("%s-%d", id, i), append(ops, "x/y")...)
			l := newLiveness()
			l.setDraining(rng.IntN(4) == 0)
			fast.AttachConnection(id, src, l)
			slow.AttachConnection(id, src, l)
			if rng.IntN(5) == 0 {
				l.end()
			}
		}
		self := registry.PeerID(fmt.Sprintf("p%d", rng.IntN(5)))
		own := peerSource(t, "own", "w/run")
		var selfSrc registry.Source
		if rng.IntN(2) == 0 {
			selfSrc = own
		}
		route := func(ps *registry.PeerSet) string {
			r := newRouter(t, ps, "w/run")
			b, _ := json.Marshal(map[string]string{"op": "w/run"})
			out, err := r.r.ServeCall(t.Context(), registry.WireCall{Operation: "c/route", Routes: registry.Routes{Peers: ps.View(), Self: self, SelfSrc: selfSrc}}, b)
			if err != nil {
				return codeOf(err)
			}
			return string(out)
		}
		if a, b := route(fast), route(slow); a != b {
			t.Fatalf("round %d: FirstMatch shortcut %s, policy index 0 %s", round, a, b)
		}
	}
}
