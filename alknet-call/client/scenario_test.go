package client_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/client"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/secret"
)

// Test 87: the §20 scenario end to end on real QUIC, steps 1–5 and every item of "What the
// checks stop" [§20, ROUTE-R3..R5, FWD-R4, FWD-R5, FWD-R8, DISC-R5, REG-R20].
func TestScenario(t *testing.T) {
	t.Parallel()
	h := startHead(t, headOptions{})
	a := newWorker(t, h, "worker-a", workerOptions{})
	b := newWorker(t, h, "worker-b", workerOptions{})
	_, headA := a.connect(t, h)
	_, _ = b.connect(t, h)

	// Step 2: each import is the three container ops (plus the test's w/*), services/* skipped,
	// all Internal, FromCall, no authority, scope or capabilities (ADPT-R9).
	names := headA.Imported().Names()
	for _, want := range []string{"container/exec", "container/list", "container/logs"} {
		if !slices.Contains(names, want) {
			t.Errorf("worker-a import lacks %s: %v", want, names)
		}
	}
	for _, n := range names {
		if strings.HasPrefix(n, "services/") {
			t.Errorf("imported a built-in: %s", n)
		}
		reg, _ := headA.Imported().Lookup(n)
		if reg.Spec.Visibility != registry.Internal || reg.Provenance != registry.FromCall || reg.Authority != nil || reg.Scope != nil || reg.Capabilities.Len() != 0 {
			t.Errorf("%s imported as %v/%v authority=%v scope=%v", n, reg.Spec.Visibility, reg.Provenance, reg.Authority, reg.Scope)
		}
	}
	if got := h.peers.View().IDs(); !slices.Equal(got, []registry.PeerID{"worker-a", "worker-b"}) {
		t.Fatalf("peer order %v", got)
	}

	// Steps 3–5 inside alice's jobs/run.
	h.setRun(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		env := oc.Env()
		res := map[string]string{}
		res["any-list"] = outcome(env.Invoke(ctx, "container/list", json.RawMessage(`{}`)))
		res["b-exec"] = outcome(env.InvokePeer(ctx, registry.Peer("worker-b"), "container/exec", json.RawMessage(`{}`)))
		res["b-logs"] = outcome(env.InvokePeer(ctx, registry.Peer("worker-b"), "container/logs", json.RawMessage(`{}`)))
		res["any-logs"] = outcome(env.Invoke(ctx, "container/logs", json.RawMessage(`{}`)))
		res["a-logs"] = outcome(env.InvokePeer(ctx, registry.Peer("worker-a"), "container/logs", json.RawMessage(`{}`)))
		return json.Marshal(res)
	})
	al := alice(t, h)
	out, err := al.Call(t.Context(), "jobs/run", map[string]string{"image": "x"})
	if err != nil {
		t.Fatalf("jobs/run: %v", err)
	}
	var res map[string]string
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"any-list": "worker-a", "b-exec": "worker-b", "b-logs": callerr.NotFound,
		"any-logs": callerr.NotFound, "a-logs": callerr.InvalidOperationType}
	for k, v := range want {
		if res[k] != v {
			t.Errorf("%s = %q, want %q", k, res[k], v)
		}
	}
	// Step 4 at A: caller head, forwarded_for alice with her scopes (FWD-R8).
	o := <-a.obs
	if o.op != "container/list" || o.caller != "head" || o.forwarded == nil || o.forwarded.ID != "alice" || !slices.Equal(o.forwarded.Scopes, []string{"jobs:run"}) {
		t.Errorf("worker-a saw %+v (forwarded %+v)", o, o.forwarded)
	}
	if a.count("container/logs") != 0 || b.count("container/logs") != 0 {
		t.Error("a subscription ran through composition")
	}

	// What the checks stop.
	if _, err := al.Call(t.Context(), "audit/record", nil); codeOf(err) != callerr.NotFound {
		t.Errorf("alice audit/record: %v", err)
	}
	list, err := al.Call(t.Context(), "services/list", nil)
	if err != nil || strings.Contains(string(list), "audit/record") || strings.Contains(string(list), "container/") {
		t.Errorf("services/list for alice: %s %v", list, err)
	}
	if _, err := al.Call(t.Context(), "services/schema", map[string]string{"name": "audit/record"}); codeOf(err) != callerr.NotFound {
		t.Errorf("services/schema audit/record: %v", err)
	}
	if _, err := al.Call(t.Context(), "services/list-peers", nil); codeOf(err) != callerr.Forbidden {
		t.Errorf("alice services/list-peers: %v", err)
	}
	bare := user(t, h, client.CallCredentials{TLS: &b.key}) // B's identity on a connection of its own
	_, err = bare.Call(t.Context(), "jobs/run", map[string]string{"image": "x"})
	if ce, ok := err.(*callerr.CallError); !ok || ce.Code != callerr.Forbidden || ce.Message != "missing required scope: jobs:run" {
		t.Errorf("worker-b jobs/run: %v", err)
	}
	claim := &registry.ForwardedIdentity{ID: "alice", Scopes: []string{"jobs:run"}}
	if _, err := bare.Call(t.Context(), "jobs/run", map[string]string{"image": "x"}, protocol.WithForwardedFor(claim)); codeOf(err) != callerr.Forbidden {
		t.Errorf("worker-b jobs/run with a claim: %v", err)
	}

	// services/list-peers for ops (ops:topology, container:list): both peers, container/list
	// (and the unrestricted test ops) only (DISC-R5).
	ops := user(t, h, client.CallCredentials{AuthToken: auth.NewAuthToken([]byte(opsToken))})
	lp, err := ops.Call(t.Context(), "services/list-peers", nil)
	if err != nil {
		t.Fatal(err)
	}
	var peers struct {
		Peers []struct {
			PeerID     string `json:"peer_id"`
			Operations []struct {
				Name   string `json:"name"`
				OpType string `json:"op_type"`
			} `json:"operations"`
		} `json:"peers"`
	}
	if err := json.Unmarshal(lp, &peers); err != nil {
		t.Fatal(err)
	}
	if len(peers.Peers) != 2 || peers.Peers[0].PeerID != "worker-a" || peers.Peers[1].PeerID != "worker-b" {
		t.Fatalf("list-peers: %s", lp)
	}
	for _, p := range peers.Peers {
		var got []string
		for _, op := range p.Operations {
			got = append(got, op.Name)
		}
		if !slices.Equal(got, []string{"container/list", "w/open", "w/run"}) {
			t.Errorf("%s lists %v", p.PeerID, got)
		}
	}
}

// Test 61: an imported op called from the wire on the hub is NOT_FOUND, byte-identical to a name
// nobody serves apart from the echoed name [REG-R20, ADPT-R9].
func TestImportedOpFromWire(t *testing.T) {
	t.Parallel()
	h := startHead(t, headOptions{})
	a := newWorker(t, h, "worker-a", workerOptions{})
	a.connect(t, h)
	al := alice(t, h)
	_, err1 := al.Call(t.Context(), "container/exec", nil)
	_, err2 := al.Call(t.Context(), "container/nope", nil)
	e1, ok1 := err1.(*callerr.CallError)
	e2, ok2 := err2.(*callerr.CallError)
	if !ok1 || !ok2 || e1.Code != callerr.NotFound || e2.Code != callerr.NotFound {
		t.Fatalf("errors %v / %v", err1, err2)
	}
	if strings.ReplaceAll(e1.Message, "container/exec", "X") != strings.ReplaceAll(e2.Message, "container/nope", "X") || e1.Retryable != e2.Retryable || string(e1.Details) != string(e2.Details) {
		t.Errorf("imported %+v differs from absent %+v", e1, e2)
	}
	if a.count("container/exec") != 0 {
		t.Error("the worker's handler ran")
	}
}

// Test 70: a peer exporting jobs/run does not capture Any-routed composition of jobs/run; the
// head's Layer 0 copy runs; Peer(p) still reaches the peer's copy [ROUTE-R4].
func TestCuratedShadowing(t *testing.T) {
	t.Parallel()
	var headRuns, peerRuns atomic.Int64
	h := startHead(t, headOptions{extra: func(b *registry.Builder) {
		scope := registry.NewScopedEnv("jobs/run")
		b.Local(registry.OperationSpec{Name: "jobs/compose", Type: registry.Mutation, Visibility: registry.External,
			AccessControl: registry.AccessControl{RequiredScopes: []string{"jobs:run"}}},
			registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
				anyOut, anyErr := oc.Env().Invoke(ctx, "jobs/run", json.RawMessage(`{"image":"y"}`))
				pinOut, pinErr := oc.Env().InvokePeer(ctx, registry.Peer("worker-a"), "jobs/run", json.RawMessage(`{"image":"y"}`))
				return json.Marshal(map[string]string{"any": string(anyOut) + codeOf(anyErr), "peer": outcome(pinOut, pinErr)})
			}),
			&registry.CompositionAuthority{Label: "composer", Scopes: []string{"jobs:run"}}, &scope, secret.Capabilities{})
	}})
	h.setRun(func(context.Context, *registry.OperationContext, json.RawMessage) (json.RawMessage, error) {
		headRuns.Add(1)
		return json.RawMessage(`"head"`), nil
	})
	a := newWorker(t, h, "worker-a", workerOptions{extra: func(b *registry.Builder) {
		b.Local(registry.OperationSpec{Name: "jobs/run", Type: registry.Mutation, Visibility: registry.External},
			registry.HandlerFunc(func(context.Context, *registry.OperationContext, json.RawMessage) (json.RawMessage, error) {
				peerRuns.Add(1)
				return json.RawMessage(`{"worker":"worker-a"}`), nil
			}), nil, nil, secret.Capabilities{})
	}})
	a.connect(t, h)
	out, err := alice(t, h).Call(t.Context(), "jobs/compose", nil)
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]string
	_ = json.Unmarshal(out, &res)
	if res["any"] != `"head"` || res["peer"] != "worker-a" {
		t.Errorf("compose = %s", out)
	}
	if headRuns.Load() != 1 || peerRuns.Load() != 1 {
		t.Errorf("head ran %d, peer ran %d; want 1 and 1 (Any to Layer 0, Peer to the worker)", headRuns.Load(), peerRuns.Load())
	}
}
