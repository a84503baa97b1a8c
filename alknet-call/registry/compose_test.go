package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/secret"
)

// invoker composes the op named by its input {"op": ...} and returns the child's output.
var invoker = registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
	var req struct {
		Op   string `json:"op"`
		Peer string `json:"peer"`
	}
	if err := json.Unmarshal(in, &req); err != nil {
		return nil, callerr.New(callerr.InvalidInput, "bad request")
	}
	ref := registry.AnyPeer()
	if req.Peer != "" {
		ref = registry.Peer(registry.PeerID(req.Peer))
	}
	return oc.Env().InvokePeer(ctx, ref, req.Op, nil)
})

// whoami reports the direct caller's id.
var whoami = registry.HandlerFunc(func(_ context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
	id := oc.Identity()
	if id == nil {
		return json.RawMessage(`"anonymous"`), nil
	}
	return json.Marshal(id.ID)
})

func opReq(op string) string {
	b, _ := json.Marshal(map[string]string{"op": op})
	return string(b)
}

// Tests 23 [ENV-R3, ENV-R7], 24 [ACL-R6, ENV-R8], 25 [ACL-R6], 26 [ACL-R6], 27 [ENV-R4].
func TestCompositionAuthority(t *testing.T) {
	t.Parallel()
	authority := &registry.CompositionAuthority{Label: "runner", Scopes: []string{"fs:read", "vastai:query"}}
	scope := registry.NewScopedEnv("fs/read", "admin/op", "self/auth", "vast/q", "list/me")
	selfAuth := &registry.CompositionAuthority{Label: "self", Scopes: []string{"admin"}}
	leafInvoker := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		return oc.Env().Invoke(ctx, "fs/read", nil)
	})
	var listing []registry.OperationSummary
	var schemaErr error
	lister := registry.HandlerFunc(func(_ context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		listing = oc.Env().List()
		_, schemaErr = oc.Env().Schema("hidden/op")
		if _, err := oc.Env().Schema("fs/read"); err != nil {
			return nil, err
		}
		return nil, nil
	})
	r := mustBuild(t, registry.NewBuilder().
		Local(ext("run/any", "chat"), invoker, authority, &scope, noCaps).
		Local(internalSpec("fs/read", "fs:read"), whoami, nil, nil, noCaps).
		Local(internalSpec("admin/op", "admin"), whoami, nil, nil, noCaps).
		Local(internalSpec("self/auth", "admin"), whoami, selfAuth, nil, noCaps).
		Local(internalSpec("vast/q", "vastai:query"), whoami, nil, nil, noCaps).
		Local(internalSpec("hidden/op"), whoami, nil, nil, noCaps).
		Local(ext("leaf/inv"), leafInvoker, nil, nil, noCaps).
		Local(ext("list/me"), lister, authority, &scope, noCaps))
	admin := ident("root", "admin", "chat")
	for _, tc := range []struct {
		caller *auth.Identity
		op     string
		want   string // output or code
	}{
		{admin, "fs/read", `"runner"`},             // 24: authority holds fs:read
		{admin, "admin/op", callerr.Forbidden},     // 24: the wire caller's admin does not help
		{admin, "self/auth", callerr.Forbidden},    // 25: the child's own authority is not consulted
		{ident("u", "chat"), "vast/q", `"runner"`}, // 26: no intersection with the wire caller
		{admin, "hidden/op", callerr.NotFound},     // 23: exists, not in scope
		{admin, "no/such", callerr.NotFound},       // 23
		{admin, "/fs/read", callerr.NotFound},      // composed names are bare
		{admin, "services/list", callerr.NotFound}, // not in scope
	} {
		out, err := call(t, r, tc.caller, "/run/any", opReq(tc.op))
		got := string(out)
		if err != nil {
			got = codeOf(err)
		}
		if got != tc.want {
			t.Errorf("%s composing %s = %s, want %s", tc.caller.ID, tc.op, got, tc.want)
		}
	}
	if _, err := call(t, r, admin, "/leaf/inv", ""); codeOf(err) != callerr.NotFound {
		t.Errorf("leaf composing = %v, want NOT_FOUND (ENV-R4)", err)
	}
	if _, err := call(t, r, admin, "/list/me", ""); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range listing {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, []string{"admin/op", "fs/read", "list/me", "self/auth", "vast/q"}) {
		t.Errorf("List = %v", names)
	}
	if codeOf(schemaErr) != callerr.NotFound {
		t.Errorf("Schema(hidden) = %v", schemaErr)
	}
}

// parameterised builds a registry whose run/x composes whatever op its input names, scoped to
// ok/one and ok/two, and records which ops ran under which caller.
func parameterised(t testing.TB, names ...string) (*registry.Registry, *sync.Map, registry.ScopedEnv) {
	t.Helper()
	ran := &sync.Map{}
	record := registry.HandlerFunc(func(_ context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		ran.Store(oc.Operation(), oc.Identity().ID)
		return nil, nil
	})
	scope := registry.NewScopedEnv("ok/one", "ok/two")
	b := registry.NewBuilder().Local(ext("run/x"), invoker, &registry.CompositionAuthority{Label: "runner", Scopes: []string{"s"}}, &scope, noCaps)
	for _, n := range names {
		b.Local(internalSpec(n), record, nil, nil, noCaps)
	}
	return mustBuild(t, b), ran, scope
}

// checkRan fails unless every op that ran is in scope and ran as the composing authority.
func checkRan(t testing.TB, ran *sync.Map, scope registry.ScopedEnv) {
	t.Helper()
	ran.Range(func(k, v any) bool {
		if !scope.Allows(k.(string)) || v != "runner" {
			t.Fatalf("%v ran as %v", k, v)
		}
		return true
	})
}

// Test 58 [ENV-R3, ACL-R6]: parameterised dispatch only ever runs names in scope, never under
// the wire caller's identity.
func TestParameterisedDispatch(t *testing.T) {
	t.Parallel()
	all := []string{"ok/one", "ok/two", "no/three", "no/four", "admin/five"}
	r, ran, scope := parameterised(t, all...)
	names := append(slices.Clone(all), "run/x", "services/list", "", "ok", "ok/one/", "OK/ONE", "ok/one\x00")
	for i := range 2000 {
		n := names[i%len(names)]
		if i%3 == 0 {
			n = n + fmt.Sprint(i%5)
		}
		_, err := call(t, r, ident("root", "admin", "s"), "/run/x", opReq(n))
		if err != nil && codeOf(err) != callerr.NotFound {
			t.Fatalf("composing %q = %v", n, err)
		}
		if err == nil && !scope.Allows(n) {
			t.Fatalf("composing %q succeeded outside the scope", n)
		}
	}
	checkRan(t, ran, scope)
}

// Test 28 [CTX-R4, CTX-R5] and test 68 [CTX-R6].
func TestChildContext(t *testing.T) {
	t.Parallel()
	type seen struct {
		id, parent, origin, identity string
		internal                     bool
		meta                         int
		fwd                          bool
		deadline                     time.Time
	}
	var mu sync.Mutex
	var children []seen
	var rootDeadline time.Time
	child := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		d, _ := ctx.Deadline()
		s := seen{id: oc.RequestID(), parent: oc.ParentRequestID(), identity: oc.Identity().ID, internal: oc.IsInternal(),
			meta: len(oc.Metadata()), fwd: oc.ForwardedFor() != nil, deadline: d}
		if o := oc.Origin(); o != nil {
			s.origin = o.ID
		}
		mu.Lock()
		children = append(children, s)
		mu.Unlock()
		return nil, nil
	})
	const fan = 10000
	parent := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		rootDeadline, _ = ctx.Deadline()
		if oc.IsInternal() || oc.ParentRequestID() != "" || oc.Metadata()["remote_addr"] != "1.2.3.4" || oc.ForwardedFor() == nil {
			t.Errorf("root context wrong: internal %v parent %q meta %v", oc.IsInternal(), oc.ParentRequestID(), oc.Metadata())
		}
		// 10 000 invocations from 500 goroutines at a time (the race detector caps live goroutines).
		var wg sync.WaitGroup
		for range 500 {
			wg.Go(func() {
				for range fan / 500 {
					if _, err := oc.Env().Invoke(ctx, "c/child", nil); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		return nil, nil
	})
	scope := registry.NewScopedEnv("c/child")
	r := mustBuild(t, registry.NewBuilder().
		Local(ext("c/root"), parent, &registry.CompositionAuthority{Label: "auth"}, &scope, noCaps).
		Local(internalSpec("c/child"), child, nil, nil, noCaps))
	ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
	defer cancel()
	_, err := r.ServeCall(ctx, registry.WireCall{RequestID: "root-1", Operation: "/c/root", Identity: ident("alice", "x"),
		ForwardedFor: &registry.ForwardedIdentity{ID: "eve"}, Metadata: map[string]string{"remote_addr": "1.2.3.4"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, c := range children {
		if !c.internal || c.parent != "root-1" || c.meta != 0 || c.fwd || c.origin != "alice" || c.identity != "auth" || !c.deadline.Equal(rootDeadline) {
			t.Fatalf("child context %+v (root deadline %v)", c, rootDeadline)
		}
		if ids[c.id] || c.id == "" || c.id == "root-1" {
			t.Fatalf("request id %q repeated", c.id)
		}
		ids[c.id] = true
	}
	if len(ids) != fan {
		t.Errorf("%d unique ids, want %d", len(ids), fan)
	}
}

// Test 29 [CAP-R2] and test 59: children run with their own capabilities only.
func TestCapabilitiesPerRegistration(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	var mu sync.Mutex
	report := func(name string) registry.Handler {
		return registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
			caps := oc.Capabilities()
			v := fmt.Sprintf("n=%d", caps.Len())
			if s, ok := caps.Get("svc"); ok {
				v += ":" + s.Expose()
			}
			mu.Lock()
			seen[name] = v
			mu.Unlock()
			if name == "parent" {
				return oc.Env().Invoke(ctx, "leaf/own", nil)
			}
			return nil, nil
		})
	}
	scope := registry.NewScopedEnv("leaf/own")
	parentCaps := secret.Capabilities{}.WithAPIKey("svc", "parent-key")
	leafCaps := secret.Capabilities{}.WithAPIKey("svc", "leaf-key")
	r := mustBuild(t, registry.NewBuilder().
		Local(ext("p/p", "x"), report("parent"), &registry.CompositionAuthority{Label: "p"}, &scope, parentCaps).
		Leaf(internalSpec("leaf/own"), report("leaf"), registry.FromOpenAPI, leafCaps))
	if _, err := call(t, r, ident("a", "x"), "/p/p", ""); err != nil {
		t.Fatal(err)
	}
	if seen["parent"] != "n=1:parent-key" || seen["leaf"] != "n=1:leaf-key" {
		t.Errorf("capabilities seen: %v", seen)
	}
	// A child with none sees none, whatever the parent holds.
	r2 := mustBuild(t, registry.NewBuilder().
		Local(ext("p/p", "x"), report("parent"), &registry.CompositionAuthority{Label: "p"}, &scope, parentCaps).
		Local(internalSpec("leaf/own"), report("leaf"), nil, nil, noCaps))
	if _, err := call(t, r2, ident("a", "x"), "/p/p", ""); err != nil {
		t.Fatal(err)
	}
	if seen["leaf"] != "n=0" {
		t.Errorf("child without capabilities saw %s", seen["leaf"])
	}
}

// Test 30 [ENV-R6].
func TestAbortPolicies(t *testing.T) {
	t.Parallel()
	entered := make(chan string, 4)
	release := make(chan struct{})
	var childErr atomic.Value
	block := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		entered <- string(in)
		if string(in) == `"dependent"` {
			<-ctx.Done()
			return nil, context.Cause(ctx)
		}
		select {
		case <-release:
			return json.RawMessage(`"finished"`), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	var contResult atomic.Value
	parent := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		switch string(in) {
		case `"dependent"`:
			_, err := oc.Env().Invoke(ctx, "b/block", json.RawMessage(`"dependent"`))
			childErr.Store(err)
			return nil, err
		case `"continue"`:
			out, err := oc.Env().Invoke(ctx, "b/block", json.RawMessage(`"continue"`), registry.WithAbortPolicy(registry.ContinueRunning))
			contResult.Store(fmt.Sprintf("%s %v", out, err))
			return out, err
		case `"late"`:
			<-ctx.Done()
			_, err := oc.Env().Invoke(ctx, "b/block", json.RawMessage(`"late"`), registry.WithAbortPolicy(registry.ContinueRunning))
			return nil, err
		}
		return nil, nil
	})
	scope := registry.NewScopedEnv("b/block")
	r := mustBuild(t, registry.NewBuilder().
		Local(ext("p/p"), parent, &registry.CompositionAuthority{Label: "p"}, &scope, noCaps).
		Local(internalSpec("b/block"), block, nil, nil, noCaps))
	run := func(mode string) (context.CancelCauseFunc, chan error) {
		ctx, cancel := context.WithCancelCause(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := r.ServeCall(ctx, registry.WireCall{Operation: "p/p"}, json.RawMessage(`"`+mode+`"`))
			done <- err
		}()
		return cancel, done
	}
	// AbortDependents: cancelling the root cancels the blocked child.
	cancel, done := run("dependent")
	if got := <-entered; got != `"dependent"` {
		t.Fatalf("entered %s", got)
	}
	cancel(callerr.ErrAborted)
	if err := <-done; err != callerr.ErrAborted {
		t.Errorf("root = %v", err)
	}
	if err, _ := childErr.Load().(error); err != callerr.ErrAborted {
		t.Errorf("child = %v", err)
	}
	// ContinueRunning: a started child completes after the root was cancelled.
	cancel, done = run("continue")
	<-entered
	cancel(callerr.ErrAborted)
	close(release)
	if err := <-done; err != callerr.ErrAborted {
		t.Errorf("root = %v", err)
	}
	if got := contResult.Load(); got != `"finished" <nil>` {
		t.Errorf("continuing child = %v", got)
	}
	// ContinueRunning: a child not started before the abort never starts.
	cancel, done = run("late")
	cancel(callerr.ErrAborted)
	if err := <-done; err != callerr.ErrAborted {
		t.Errorf("root = %v", err)
	}
	select {
	case got := <-entered:
		t.Errorf("child %s started after the abort", got)
	default:
	}
}

// Test 31 [DSP-R1]: overlay dispatch runs ACL and validation.
func TestOverlayDispatchChecks(t *testing.T) {
	t.Parallel()
	set := registry.NewImportedSet()
	spec := internalSpec("w/restricted", "w:run")
	spec.InputSchema = json.RawMessage(`{"type":"object"}`)
	entered := atomic.Bool{}
	if err := set.Register(&registry.HandlerRegistration{Spec: spec, Provenance: registry.FromCall,
		Handler: registry.HandlerFunc(func(context.Context, *registry.OperationContext, json.RawMessage) (json.RawMessage, error) {
			entered.Store(true)
			return nil, nil
		})}); err != nil {
		t.Fatal(err)
	}
	scope := registry.NewScopedEnv("w/restricted")
	ps := registry.NewPeerSet(registry.PeerSetOptions{})
	if _, err := ps.Attach("worker", set); err != nil {
		t.Fatal(err)
	}
	composer := func(input string) registry.Handler {
		return registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
			return oc.Env().Invoke(ctx, "w/restricted", json.RawMessage(input))
		})
	}
	r := mustBuild(t, registry.NewBuilder().
		Local(ext("weak/c"), composer(`{}`), &registry.CompositionAuthority{Label: "weak"}, &scope, noCaps).
		Local(ext("strong/bad"), composer(`[]`), &registry.CompositionAuthority{Label: "strong", Scopes: []string{"w:run"}}, &scope, noCaps).
		Local(ext("strong/ok"), composer(`{}`), &registry.CompositionAuthority{Label: "strong", Scopes: []string{"w:run"}}, &scope, noCaps))
	w := func(op string) registry.WireCall {
		return registry.WireCall{Operation: op, Routes: registry.Routes{Peers: ps.View()}}
	}
	if _, err := r.ServeCall(t.Context(), w("weak/c"), nil); codeOf(err) != callerr.Forbidden {
		t.Errorf("weak authority = %v", err)
	}
	if _, err := r.ServeCall(t.Context(), w("strong/bad"), nil); codeOf(err) != callerr.InvalidInput {
		t.Errorf("invalid input = %v", err)
	}
	if entered.Load() {
		t.Error("leaf entered before its checks passed")
	}
	if _, err := r.ServeCall(t.Context(), w("strong/ok"), nil); err != nil || !entered.Load() {
		t.Errorf("allowed = %v", err)
	}
}

// Test 75 [CTX-R7, OBS-R2]: trace context, in the registry.
func TestTraceParent(t *testing.T) {
	t.Parallel()
	const t1 = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	const t2 = "00-1af7651916cd43dd8448eb211c80319c-c7ad6b7169203331-01"
	var mu sync.Mutex
	got := map[string]string{}
	note := func(name string) registry.Handler {
		return registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
			mu.Lock()
			got[name] = oc.TraceParent()
			mu.Unlock()
			if name == "root" {
				return oc.Env().Invoke(ctx, "t/child", nil)
			}
			return nil, nil
		})
	}
	scope := registry.NewScopedEnv("t/child")
	build := func(o registry.Observer) *registry.Registry {
		b := registry.NewBuilder().
			Local(ext("t/root"), note("root"), &registry.CompositionAuthority{Label: "r"}, &scope, noCaps).
			Local(internalSpec("t/child"), note("child"), nil, nil, noCaps).
			Local(ext("t/denied", "admin"), note("denied"), nil, nil, noCaps)
		if o != nil {
			b.Observe(o)
		}
		return mustBuild(t, b)
	}
	serve := func(r *registry.Registry, op string) error {
		_, err := r.ServeCall(t.Context(), registry.WireCall{Operation: op, TraceParent: t1}, nil)
		return err
	}
	if err := serve(build(nil), "t/root"); err != nil || got["root"] != t1 || got["child"] != t1 {
		t.Errorf("no observer: %v %v", got, err)
	}
	// The observer's value replaces it for the invocation and its children.
	rec := &recorder{tp: func(s registry.CallStart) string {
		if !s.Composed {
			return t2
		}
		return ""
	}}
	if err := serve(build(rec), "t/root"); err != nil || got["root"] != t2 || got["child"] != t2 {
		t.Errorf("observer T2: %v %v", got, err)
	}
	starts, _ := rec.snapshot()
	if starts[0].TraceParent != t1 || starts[1].TraceParent != t2 {
		t.Errorf("observer saw %q then %q", starts[0].TraceParent, starts[1].TraceParent)
	}
	// Garbage from the observer is ignored.
	if err := serve(build(&recorder{tp: func(registry.CallStart) string { return "garbage" }}), "t/root"); err != nil || got["root"] != t1 {
		t.Errorf("garbage traceparent used: %v", got)
	}
	// A traceparent authorizes nothing.
	if err := serve(build(nil), "t/denied"); codeOf(err) != callerr.Forbidden {
		t.Errorf("denied op with traceparent = %v", err)
	}
	if !registry.ValidTraceParent(t1) || registry.ValidTraceParent("00-00000000000000000000000000000000-b7ad6b7169203331-01") ||
		registry.ValidTraceParent(t1[:54]) || registry.ValidTraceParent("01"+t1[2:]) {
		t.Error("traceparent validation wrong")
	}
}

// Test 62 [FWD-R2, ACL-R7]: a forwarded claim is never authority.
func TestForwardedForSpoofing(t *testing.T) {
	t.Parallel()
	var claim atomic.Pointer[registry.ForwardedIdentity]
	h := registry.HandlerFunc(func(_ context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		claim.Store(oc.ForwardedFor())
		return nil, nil
	})
	b := registry.NewBuilder().Local(ext("adm/op", "admin"), h, nil, nil, noCaps).Local(ext("pub/op"), h, nil, nil, noCaps)
	r := mustBuild(t, installDiscovery(b))
	spoof := &registry.ForwardedIdentity{ID: "admin", Scopes: []string{"admin", "*"}, Resources: map[string][]string{}}
	w := registry.WireCall{Operation: "/adm/op", Identity: ident("peer"), ForwardedFor: spoof}
	if _, err := r.ServeCall(t.Context(), w, nil); codeOf(err) != callerr.Forbidden {
		t.Errorf("spoofed claim = %v", err)
	}
	w.Identity = ident("peer", "admin")
	if _, err := r.ServeCall(t.Context(), w, nil); err != nil {
		t.Fatal(err)
	}
	if c := claim.Load(); c == nil || c.ID != "admin" {
		t.Errorf("handler saw claim %+v", c)
	}
	list := func(f *registry.ForwardedIdentity) string {
		out, err := r.ServeCall(t.Context(), registry.WireCall{Operation: "/services/list", Identity: ident("peer"), ForwardedFor: f}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	if a, b := list(nil), list(spoof); a != b {
		t.Errorf("services/list differs with a claim:\n%s\n%s", a, b)
	}
	// Oversized claims are ignored (FWD-R3).
	big := &registry.ForwardedIdentity{ID: string(make([]byte, 300))}
	w = registry.WireCall{Operation: "/pub/op", ForwardedFor: big}
	if _, err := r.ServeCall(t.Context(), w, nil); err != nil || claim.Load() != nil {
		t.Errorf("oversized claim kept: %v", err)
	}
}

// Tests 64 [ACL-R6, DSP-R2] and 65 [ACL-R2, DISC-R2]: peers without scope; anonymous callers.
func TestPeerWithoutScopeAndAnonymous(t *testing.T) {
	t.Parallel()
	var caps atomic.Int64
	h := registry.HandlerFunc(func(_ context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		caps.Add(int64(oc.Capabilities().Len()) + 1)
		return nil, nil
	})
	b := registry.NewBuilder().
		Local(ext("jobs/run", "jobs:run"), h, nil, nil, secret.Capabilities{}.WithAPIKey("k", "v")).
		Local(ext("open/op"), h, nil, nil, noCaps)
	r := mustBuild(t, installDiscovery(b))
	if _, err := call(t, r, ident("worker-b", "worker"), "/jobs/run", ""); codeOf(err) != callerr.Forbidden || caps.Load() != 0 {
		t.Errorf("peer without scope = %v (handler runs %d)", err, caps.Load())
	}
	if _, err := call(t, r, ident("worker-b", "worker", "jobs:run"), "/jobs/run", ""); err != nil || caps.Load() != 2 {
		t.Errorf("after the grant = %v (%d)", err, caps.Load())
	}
	if _, err := call(t, r, nil, "/jobs/run", ""); codeOf(err) != callerr.Forbidden {
		t.Errorf("anonymous restricted = %v", err)
	}
	if _, err := call(t, r, nil, "/open/op", ""); err != nil {
		t.Errorf("anonymous unrestricted = %v", err)
	}
	out, err := call(t, r, nil, "/services/list", "")
	if err != nil {
		t.Fatal(err)
	}
	if names := listedNames(t, out); !slices.Equal(names, []string{"open/op", "services/list", "services/schema"}) {
		t.Errorf("anonymous listing = %v", names)
	}
}

func listedNames(t *testing.T, out json.RawMessage) []string {
	t.Helper()
	var l struct {
		Operations []registry.OperationSummary `json:"operations"`
	}
	if err := json.Unmarshal(out, &l); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range l.Operations {
		names = append(names, o.Name)
	}
	return names
}

// FuzzParameterisedDispatch (test 58) [ENV-R3, ACL-R6]: whatever name a composing handler is
// asked to invoke, only names in its scope ever run, always under its own authority.
func FuzzParameterisedDispatch(f *testing.F) {
	for _, s := range []string{"ok/one", "ok/two", "no/three", "admin/five", "run/x", "services/list", "", "ok", "ok/one/", "/ok/one", "OK/ONE"} {
		f.Add(s, "")
		f.Add(s, "worker")
	}
	r, ran, scope := parameterised(f, "ok/one", "ok/two", "no/three", "admin/five")
	set := registry.NewImportedSet()
	set.Register(&registry.HandlerRegistration{Spec: internalSpec("no/three"), Handler: echo, Provenance: registry.FromCall})
	ps := registry.NewPeerSet(registry.PeerSetOptions{})
	ps.Attach("worker", set)
	f.Fuzz(func(t *testing.T, name, peer string) {
		req, _ := json.Marshal(map[string]string{"op": name, "peer": peer})
		_, err := r.ServeCall(t.Context(), registry.WireCall{Operation: "run/x", Identity: ident("root", "admin", "s"), Routes: registry.Routes{Peers: ps.View()}}, req)
		if err == nil && !scope.Allows(name) {
			t.Fatalf("composing %q via %q succeeded outside the scope", name, peer)
		}
		if err != nil && codeOf(err) != callerr.NotFound && codeOf(err) != callerr.InvalidInput {
			t.Fatalf("composing %q = %v", name, err)
		}
		checkRan(t, ran, scope)
	})
}
