package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/client"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/config"
	"github.com/alknet/alknet/alknet-core/secret"
)

// Test 91 (a): alice cancels her call → the worker's handler observes cancellation, and the
// pending tables end empty [ADPT-R11, CALLP-R113].
func TestAbortThroughHop(t *testing.T) {
	t.Parallel()
	h := startHead(t, headOptions{})
	invoker(h)
	a := newWorker(t, h, "worker-a", workerOptions{})
	a.connect(t, h)
	al := alice(t, h)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := al.Call(ctx, "jobs/run", map[string]any{"image": "x", "op": "w/run", "park": true})
		done <- err
	}()
	<-a.entered
	cancel()
	if op := <-a.aborted; op != "w/run" {
		t.Errorf("aborted %q", op)
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("alice's call = %v", err)
	}
	// The head's routed call returns once the abort reached it; Outstanding then drops to 0
	// (ROUTE-R14). The bound only keeps a broken run from spinning forever.
	limit := time.Now().Add(20 * time.Second)
	for h.peers.Outstanding("worker-a") != 0 {
		if time.Now().After(limit) {
			t.Fatal("Outstanding(worker-a) stayed above 0 after the abort")
		}
		runtime.Gosched()
	}
}

// Test 91 (b, c): the deadline shrinks over the hop and traceparent arrives unchanged
// [ADPT-R11, CALLP-R136, CTX-R7].
func TestDeadlineAndTraceThroughHop(t *testing.T) {
	t.Parallel()
	h := startHead(t, headOptions{})
	var budgetNS atomic.Int64
	h.setRun(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		d, _ := ctx.Deadline()
		start := time.Until(d)
		for time.Until(d) > start-20*time.Millisecond { // wait until 20 ms of the budget are spent
			runtime.Gosched()
		}
		budgetNS.Store(int64(time.Until(d)))
		return oc.Env().Invoke(ctx, "w/run", json.RawMessage(`{}`))
	})
	a := newWorker(t, h, "worker-a", workerOptions{})
	a.connect(t, h)
	al := alice(t, h)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	if _, err := al.Call(ctx, "jobs/run", map[string]string{"image": "x"}, protocol.WithTraceParent(tp)); err != nil {
		t.Fatal(err)
	}
	o := <-a.obs
	budget := time.Duration(budgetNS.Load())
	if o.remaining <= 0 || o.remaining >= budget+time.Millisecond || o.remaining >= 1981*time.Millisecond {
		t.Errorf("worker budget %v, head budget before the hop %v", o.remaining, budget)
	}
	if o.traceParent != tp {
		t.Errorf("worker traceparent %q", o.traceParent)
	}
}

// Test 92: forwarded_for cannot widen access at the worker: the head's authority and alice hold
// s:x but the worker's entry for the head lacks it → FORBIDDEN from the worker, handler not run;
// w/open sees ForwardedFor alice and Identity head; after the worker's entry gains s:x (reload,
// applied to the live connection the way the assembly layer does: revoke, reconnect), w/secret
// runs [FWD-R2, FWD-R6, ACL-R6, ACL-R7]. The worker lists w/secret to the head although the head
// may not call it, so the head imports it with its mirrored ACL.
func TestForwardedForCannotWiden(t *testing.T) {
	t.Parallel()
	h := startHead(t, headOptions{})
	h.setPeer(t, auth.PeerEntry{PeerID: "alice", AuthTokenHash: auth.HashToken([]byte(aliceToken)), Scopes: []string{"jobs:run", "s:x"}})
	invoker(h)
	a := newWorker(t, h, "worker-a", workerOptions{listHook: listEverything})
	mine, _ := a.connect(t, h)
	al := alice(t, h)
	_, err := route(t, al, "", "w/secret", false)
	var ce *callerr.CallError
	if !errors.As(err, &ce) || ce.Code != callerr.Forbidden || ce.Message != "missing required scope: s:x" {
		t.Errorf("w/secret = %v", err)
	}
	if a.count("w/secret") != 0 {
		t.Error("w/secret ran")
	}
	if got, err := route(t, al, "", "w/open", false); err != nil || got != "worker-a" {
		t.Fatalf("w/open: %q %v", got, err)
	}
	o := <-a.obs
	if o.caller != "head" || o.forwarded == nil || o.forwarded.ID != "alice" {
		t.Errorf("w/open saw caller %q forwarded %+v", o.caller, o.forwarded)
	}
	if err := a.dyn.ReloadHandle().Reload(config.DynamicConfig{Auth: auth.AuthPolicy{Peers: []auth.PeerEntry{
		{PeerID: "head", Fingerprints: []string{h.node.Fingerprint}, Scopes: append(append([]string{}, containerScopes...), "s:x")},
	}}}, "test"); err != nil {
		t.Fatal(err)
	}
	if res := a.d.Revoke("head"); res.Connections != 1 {
		t.Fatalf("Revoke(head) = %+v", res)
	}
	<-mine.Done()
	a.connect(t, h)
	if got, err := route(t, al, "", "w/secret", false); err != nil || got != "worker-a" {
		t.Errorf("w/secret after the grant: %q %v", got, err)
	}
}

// Test 63: through composition the claim names the end user (her id, scopes and resources),
// never the composing authority; WithholdOriginator omits it; an anonymous root omits it; a
// claim sent to the head is not passed on [FWD-R4, FWD-R5, FWD-R8].
func TestForwardedIdentity(t *testing.T) {
	t.Parallel()
	h := startHead(t, headOptions{extra: func(b *registry.Builder) {
		scope := registry.NewScopedEnv("w/open")
		b.Local(registry.OperationSpec{Name: "pub/open", Type: registry.Query, Visibility: registry.External},
			registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
				return oc.Env().Invoke(ctx, "w/open", json.RawMessage(`{}`))
			}), &registry.CompositionAuthority{Label: "pub"}, &scope, secret.Capabilities{})
	}})
	invoker(h)
	a := newWorker(t, h, "worker-a", workerOptions{})
	a.connect(t, h)
	al := alice(t, h)
	if _, err := al.Call(t.Context(), "jobs/run", map[string]any{"image": "x", "op": "w/open"},
		protocol.WithForwardedFor(&registry.ForwardedIdentity{ID: "mallory", Scopes: []string{"*"}})); err != nil {
		t.Fatal(err)
	}
	o := <-a.obs
	f := o.forwarded
	if f == nil || f.ID != "alice" || len(f.Scopes) != 1 || f.Scopes[0] != "jobs:run" || len(f.Resources["jobs"]) != 1 {
		t.Errorf("claim %+v, want alice with her scopes and resources (not jobs-runner, not mallory)", f)
	}
	// An anonymous root omits the claim.
	anon := user(t, h, client.CallCredentials{})
	if _, err := anon.Call(t.Context(), "pub/open", nil); err != nil {
		t.Fatal(err)
	}
	if o := <-a.obs; o.forwarded != nil {
		t.Errorf("anonymous root forwarded %+v", o.forwarded)
	}
	// WithholdOriginator: a connection imported with it sends no claim.
	regs, err := client.FromCall(t.Context(), headConn(t, h, a), client.FromCallConfig{WithholdOriginator: true, Include: []string{"w/open"}})
	if err != nil || len(regs) != 1 {
		t.Fatalf("FromCall: %d %v", len(regs), err)
	}
	r2 := registry.NewBuilder()
	scope := registry.NewScopedEnv("w/open")
	set := registry.NewImportedSet()
	if err := set.Register(regs...); err != nil {
		t.Fatal(err)
	}
	ps := registry.NewPeerSet(registry.PeerSetOptions{})
	if _, err := ps.Attach("worker-a", set); err != nil {
		t.Fatal(err)
	}
	r2.Local(registry.OperationSpec{Name: "x/y", Type: registry.Query, Visibility: registry.External},
		registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
			return oc.Env().Invoke(ctx, "w/open", json.RawMessage(`{}`))
		}), &registry.CompositionAuthority{Label: "x"}, &scope, secret.Capabilities{})
	reg, err := r2.Build()
	if err != nil {
		t.Fatal(err)
	}
	id := &auth.Identity{ID: "alice", Origin: auth.OriginPeer, Scopes: []string{"jobs:run"}}
	if _, err := reg.ServeCall(t.Context(), registry.WireCall{Operation: "x/y", Identity: id, Routes: registry.Routes{Peers: ps.View()}}, nil); err != nil {
		t.Fatal(err)
	}
	if o := <-a.obs; o.forwarded != nil {
		t.Errorf("WithholdOriginator still forwarded %+v", o.forwarded)
	}
}

// headConn returns the head-side connection of the worker's current attachment.
func headConn(t *testing.T, h *head, w *worker) *protocol.CallConnection {
	t.Helper()
	src, ok := h.peers.View().Source(registry.PeerID(w.name))
	if !ok {
		t.Fatalf("%s not attached", w.name)
	}
	for _, c := range h.conns() {
		if c.Imported() == src {
			return c
		}
	}
	t.Fatalf("no head-side connection for %s", w.name)
	return nil
}

// Test 69: a peer cannot choose its PeerID: list entries carrying "peer_id": "worker-b", calls to
// the head with forwarded_for worker-b and an input field peer_id leave it attached as worker-a;
// Peer("worker-b") never reaches it [ROUTE-R1].
func TestPeerIDNotChosen(t *testing.T) {
	t.Parallel()
	h := startHead(t, headOptions{})
	invoker(h)
	a := newWorker(t, h, "worker-a", workerOptions{listHook: func(func() registry.Catalog) registry.HandlerFunc {
		return func(context.Context, *registry.OperationContext, json.RawMessage) (json.RawMessage, error) {
			return json.RawMessage(`{"peer_id":"worker-b","operations":[{"name":"w/run","peer_id":"worker-b","op_type":"query"}]}`), nil
		}
	}})
	mine, _ := a.connect(t, h)
	_, err := mine.Call(t.Context(), "services/list", map[string]string{"peer_id": "worker-b"},
		protocol.WithForwardedFor(&registry.ForwardedIdentity{ID: "worker-b"}))
	if err != nil {
		t.Fatal(err)
	}
	if ids := h.peers.View().IDs(); len(ids) != 1 || ids[0] != "worker-a" {
		t.Errorf("peers %v", ids)
	}
	al := alice(t, h)
	if _, err := route(t, al, "worker-b", "w/run", false); codeOf(err) != callerr.NotFound {
		t.Errorf("Peer(worker-b) = %v", err)
	}
	if a.count("w/run") != 0 {
		t.Error("worker-a served a call routed to worker-b")
	}
	if got, err := route(t, al, "worker-a", "w/run", false); err != nil || got != "worker-a" {
		t.Errorf("Peer(worker-a) = %q %v", got, err)
	}
}
