package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/client"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/auth"
)

// invoker makes jobs/run compose one invocation described by its input:
// {"image": ..., "peer": "<id or empty for Any>", "op": "...", "park": bool}.
func invoker(h *head) {
	h.setRun(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		var req struct {
			Peer string `json:"peer"`
			Op   string `json:"op"`
			Park bool   `json:"park"`
		}
		_ = json.Unmarshal(in, &req)
		child := json.RawMessage(`{}`)
		if req.Park {
			child = json.RawMessage(`{"park":true}`)
		}
		ref := registry.AnyPeer()
		if req.Peer != "" {
			ref = registry.Peer(registry.PeerID(req.Peer))
		}
		return oc.Env().InvokePeer(ctx, ref, req.Op, child)
	})
}

func route(t *testing.T, al *protocol.CallConnection, peer, op string, park bool) (string, error) {
	t.Helper()
	out, err := al.Call(t.Context(), "jobs/run", map[string]any{"image": "x", "peer": peer, "op": op, "park": park})
	return workerOf(out), err
}

// startWorkers starts n workers attached in a known order (§20.1 "Order").
func startWorkers(t *testing.T, h *head, n int) []*worker {
	ws := make([]*worker, n)
	for i := range ws {
		ws[i] = newWorker(t, h, fmt.Sprintf("worker-%c", 'a'+i), workerOptions{})
		ws[i].connect(t, h)
	}
	return ws
}

// Test 88 and the policy tests: Peer(x) reaches exactly x; FirstMatch sends every call to
// the first worker; RoundRobin spreads 30 calls 10 per worker in attach order; LeastOutstanding
// picks the least loaded worker, spreads read from the workers' own counters [ROUTE-R5,
// ROUTE-R12..R14].
func TestPolicies(t *testing.T) {
	t.Parallel()
	t.Run("specific", func(t *testing.T) {
		t.Parallel()
		h := startHead(t, headOptions{})
		invoker(h)
		ws := startWorkers(t, h, 3)
		al := alice(t, h)
		for _, w := range ws {
			if got, err := route(t, al, w.name, "w/run", false); err != nil || got != w.name {
				t.Errorf("Peer(%s) → %q %v", w.name, got, err)
			}
		}
		if _, err := route(t, al, "worker-z", "w/run", false); codeOf(err) != callerr.NotFound {
			t.Errorf("Peer(worker-z) → %v", err)
		}
		for _, w := range ws {
			if w.count("w/run") != 1 {
				t.Errorf("%s ran %d calls", w.name, w.count("w/run"))
			}
		}
	})
	t.Run("first-match", func(t *testing.T) {
		t.Parallel()
		h := startHead(t, headOptions{})
		invoker(h)
		ws := startWorkers(t, h, 3)
		al := alice(t, h)
		for range 9 {
			if _, err := route(t, al, "", "w/run", false); err != nil {
				t.Fatal(err)
			}
		}
		if got := []int64{ws[0].count("w/run"), ws[1].count("w/run"), ws[2].count("w/run")}; !slices.Equal(got, []int64{9, 0, 0}) {
			t.Errorf("spread %v, want [9 0 0]", got)
		}
	})
	t.Run("round-robin", func(t *testing.T) {
		t.Parallel()
		h := startHead(t, headOptions{policy: registry.RoundRobin()})
		invoker(h)
		ws := startWorkers(t, h, 3)
		al := alice(t, h)
		var order []string
		for range 30 {
			got, err := route(t, al, "", "w/run", false)
			if err != nil {
				t.Fatal(err)
			}
			order = append(order, got)
		}
		if got := []int64{ws[0].count("w/run"), ws[1].count("w/run"), ws[2].count("w/run")}; !slices.Equal(got, []int64{10, 10, 10}) {
			t.Errorf("spread %v, want [10 10 10]", got)
		}
		if !slices.Equal(order[:4], []string{"worker-a", "worker-b", "worker-c", "worker-a"}) {
			t.Errorf("order %v", order[:4])
		}
	})
	t.Run("least-outstanding", func(t *testing.T) {
		t.Parallel()
		h := startHead(t, headOptions{policy: registry.LeastOutstanding()})
		invoker(h)
		ws := startWorkers(t, h, 3)
		al := alice(t, h)
		results := make(chan error, 16)
		park := func(peer string, w *worker) {
			go func() { _, err := route(t, al, peer, "w/run", true); results <- err }()
			<-w.entered
		}
		// A 3, B 1, C 2 parked (Specific calls count too, ROUTE-R14).
		for range 3 {
			park("worker-a", ws[0])
		}
		park("worker-b", ws[1])
		park("worker-c", ws[2])
		park("worker-c", ws[2])
		// The next Any call lands on B and parks there (A 3, B 2, C 2).
		park("", ws[1])
		if n := ws[1].count("w/run"); n != 2 {
			t.Fatalf("worker-b ran %d calls, want 2", n)
		}
		// Release one of A's calls and wait for it to return (A 2, B 2, C 2) → the next Any
		// call goes to A (insertion-order tie).
		ws[0].release <- struct{}{}
		if err := <-results; err != nil {
			t.Fatal(err)
		}
		park("", ws[0])
		if n := ws[0].count("w/run"); n != 4 {
			t.Fatalf("worker-a ran %d calls, want 4", n)
		}
		for _, w := range ws {
			for h.peers.Outstanding(registry.PeerID(w.name)) > 0 {
				select {
				case w.release <- struct{}{}:
				case err := <-results:
					if err != nil {
						t.Error(err)
					}
				}
			}
		}
		for len(results) > 0 {
			if err := <-results; err != nil {
				t.Error(err)
			}
		}
		for _, w := range ws {
			if n := h.peers.Outstanding(registry.PeerID(w.name)); n != 0 {
				t.Errorf("Outstanding(%s) = %d", w.name, n)
			}
		}
	})
}

// Test 89: a worker killed mid-call fails the routed call INTERNAL "connection closed"
// (retryable); the worker's handler sees cancellation; Peer → NOT_FOUND and Any → worker-b, also
// from a head op that was already running; after the worker reconnects Peer succeeds again from
// that same op [ROUTE-R6, R7, R8, CALLP-R81].
func TestWorkerKilledAndRestarted(t *testing.T) {
	t.Parallel()
	h := startHead(t, headOptions{})
	a := newWorker(t, h, "worker-a", workerOptions{})
	b := newWorker(t, h, "worker-b", workerOptions{})
	raw, headA := a.connectRaw(t, h)
	b.connect(t, h)

	gone := make(chan struct{})
	back := make(chan struct{})
	type report struct {
		first               error
		afterPeer, afterAny string
		reattached          string
		reattachedErr       error
	}
	reports := make(chan report, 1)
	h.setRun(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		var r report
		_, r.first = oc.Env().Invoke(ctx, "w/run", json.RawMessage(`{"park":true}`))
		<-gone
		r.afterPeer = outcome(oc.Env().InvokePeer(ctx, registry.Peer("worker-a"), "w/run", json.RawMessage(`{}`)))
		r.afterAny = outcome(oc.Env().Invoke(ctx, "w/run", json.RawMessage(`{}`)))
		<-back
		for { // retries until the worker is back, bounded by the deadline
			out, err := oc.Env().InvokePeer(ctx, registry.Peer("worker-a"), "w/run", json.RawMessage(`{}`))
			if err == nil || ctx.Err() != nil {
				r.reattached, r.reattachedErr = workerOf(out), err
				break
			}
		}
		reports <- r
		return json.RawMessage(`"done"`), nil
	})
	al := alice(t, h)
	callDone := make(chan error, 1)
	go func() {
		_, err := al.Call(t.Context(), "jobs/run", map[string]string{"image": "x"})
		callDone <- err
	}()
	<-a.entered
	if err := raw.Close(0, "killed"); err != nil {
		t.Fatal(err)
	}
	<-headA.Done()
	if op := <-a.aborted; op != "w/run" {
		t.Errorf("worker-a handler cancellation for %q", op)
	}
	if _, ok := h.peers.View().Source("worker-a"); ok {
		t.Error("worker-a still attached after its connection ended")
	}
	close(gone)
	a.connect(t, h)
	close(back)
	r := <-reports
	if err := <-callDone; err != nil {
		t.Fatal(err)
	}
	var ce *callerr.CallError
	if !errors.As(r.first, &ce) || ce.Code != callerr.Internal || ce.Message != "connection closed" || !ce.Retryable {
		t.Errorf("in-flight routed call: %v", r.first)
	}
	if r.afterPeer != callerr.NotFound || r.afterAny != "worker-b" {
		t.Errorf("after the kill: Peer → %q, Any → %q", r.afterPeer, r.afterAny)
	}
	if r.reattachedErr != nil || r.reattached != "worker-a" {
		t.Errorf("after the reconnect: %q %v", r.reattached, r.reattachedErr)
	}
	if n := h.peers.Outstanding("worker-a"); n != 0 {
		t.Errorf("Outstanding(worker-a) = %d", n)
	}
	// worker-a moved after worker-b (ROUTE-R7).
	if got := h.peers.View().IDs(); !slices.Equal(got, []registry.PeerID{"worker-b", "worker-a"}) {
		t.Errorf("order after reconnect %v", got)
	}
}

// Test 90: key rotation as an overlap keeps peer_id, routing, the pinned entry and the grants;
// nothing is revoked; removing the old fingerprint leaves the new connection open; the old key is
// then anonymous and never attached [ROUTE-R1, R2, R9, CORE-R440, CORE-R1014].
func TestWorkerKeyRotation(t *testing.T) {
	t.Parallel()
	h := startHead(t, headOptions{})
	invoker(h)
	a := newWorker(t, h, "worker-a", workerOptions{})
	b := newWorker(t, h, "worker-b", workerOptions{})
	oldKey, oldFP := a.key, a.fp
	mineOld, headOld := a.connect(t, h)
	b.connect(t, h)
	al := alice(t, h)

	newA := newWorker(t, h, "worker-a", workerOptions{noEntry: true}) // same logical peer, a fresh key
	now := time.Now()
	before := h.dyn.Policy()
	h.setPeer(t, auth.PeerEntry{PeerID: "worker-a", Fingerprints: []string{oldFP, newA.fp}, Scopes: []string{"worker"}})
	if rev := auth.RevokedIDs(before, now, h.dyn.Policy(), now); len(rev) != 0 {
		t.Errorf("adding a fingerprint revoked %v", rev)
	}
	_ = mineOld.Close() // the old process stops
	<-headOld.Done()
	_, headNew := newA.connect(t, h)
	if id, _ := headNew.PeerID(); id != "worker-a" {
		t.Fatalf("rotated worker attached as %q", id)
	}
	if ids := h.peers.View().IDs(); !slices.Equal(ids, []registry.PeerID{"worker-b", "worker-a"}) {
		t.Errorf("order after the rotation %v, want worker-a after worker-b", ids)
	}
	if got, err := route(t, al, "worker-a", "w/run", false); err != nil || got != "worker-a" || newA.count("w/run") != 1 {
		t.Errorf("Peer(worker-a) after rotation: %q %v", got, err)
	}
	// The head's grants at the worker and the pinned entry apply unchanged.
	h.setRun(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		_, err := oc.Env().InvokePeer(ctx, registry.Peer("worker-a"), "container/logs", json.RawMessage(`{}`))
		out, err2 := oc.Env().InvokePeer(ctx, registry.Peer("worker-a"), "container/list", json.RawMessage(`{}`))
		return json.Marshal([]string{codeOf(err), outcome(out, err2)})
	})
	if out, err := al.Call(t.Context(), "jobs/run", map[string]string{"image": "x"}); err != nil || string(out) != `["INVALID_OPERATION_TYPE","worker-a"]` {
		t.Errorf("pinned and granted after rotation: %s %v", out, err)
	}
	invoker(h)
	before = h.dyn.Policy()
	h.setPeer(t, auth.PeerEntry{PeerID: "worker-a", Fingerprints: []string{newA.fp}, Scopes: []string{"worker"}})
	if rev := auth.RevokedIDs(before, now, h.dyn.Policy(), now); len(rev) != 0 {
		t.Errorf("removing the old fingerprint revoked %v", rev)
	}
	if got, err := route(t, al, "worker-a", "w/run", false); err != nil || got != "worker-a" {
		t.Errorf("new connection after removing the old key: %q %v", got, err)
	}
	select {
	case <-headNew.Done():
		t.Fatal("the rotated connection was closed")
	default:
	}
	// The old key is now anonymous at the head: it connects but is never attached.
	stale := user(t, h, client.CallCredentials{TLS: &oldKey})
	if _, err := stale.Call(t.Context(), "jobs/run", map[string]string{"image": "x"}); codeOf(err) != callerr.Forbidden {
		t.Errorf("anonymous stale key: %v", err)
	}
	if ids := h.peers.View().IDs(); !slices.Equal(ids, []registry.PeerID{"worker-b", "worker-a"}) {
		t.Errorf("peers %v", ids)
	}
}

// Test 88 (draining), each policy: the first worker closes its connection gracefully with a long
// grace period; a Peer probe to it is answered INTERNAL "shutting down", after which no Any call
// reaches it while its parked call still completes [ROUTE-R15, CALLP-R82, CALLP-R127].
func TestDrainingSkipped(t *testing.T) {
	t.Parallel()
	for _, p := range []struct {
		name   string
		policy func() registry.AnyPolicy
	}{{"first-match", registry.FirstMatch}, {"round-robin", registry.RoundRobin}, {"least-outstanding", registry.LeastOutstanding}} {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			h := startHead(t, headOptions{policy: p.policy()})
			invoker(h)
			a := newWorker(t, h, "worker-a", workerOptions{grace: time.Minute})
			mineA, _ := a.connect(t, h)
			rest := startWorkersFrom(t, h, 'b', 2)
			al := alice(t, h)
			parked := make(chan error, 1)
			go func() { _, err := route(t, al, "worker-a", "w/run", true); parked <- err }()
			<-a.entered
			_ = mineA.Close()
			for i := 0; ; i++ { // until the worker's drain answer reached the head
				if i == 1000 {
					t.Fatal("the worker never answered shutting down")
				}
				_, err := route(t, al, "worker-a", "w/run", false)
				var ce *callerr.CallError
				if errors.As(err, &ce) && ce.Code == callerr.Internal && ce.Message == "shutting down" && ce.Retryable {
					break
				}
				if err != nil {
					t.Fatalf("probe: %v", err)
				}
			}
			before := a.count("w/run")
			for range 6 {
				got, err := route(t, al, "", "w/run", false)
				if err != nil || got == "worker-a" {
					t.Fatalf("Any while worker-a drains: %q %v", got, err)
				}
			}
			if a.count("w/run") != before {
				t.Error("an Any call reached the draining worker")
			}
			if n := rest[0].count("w/run") + rest[1].count("w/run"); n != 6 {
				t.Errorf("the other workers served %d calls, want 6", n)
			}
			a.release <- struct{}{}
			if err := <-parked; err != nil {
				t.Errorf("parked call on the draining worker: %v", err)
			}
		})
	}
}

func startWorkersFrom(t *testing.T, h *head, first rune, n int) []*worker {
	ws := make([]*worker, n)
	for i := range ws {
		ws[i] = newWorker(t, h, fmt.Sprintf("worker-%c", first+rune(i)), workerOptions{})
		ws[i].connect(t, h)
	}
	return ws
}

// CLNT-R11 over real QUIC: a worker under Supervise redials after the head cut its connection
// and is attached again under the same PeerID; cancelling ctx stops Supervise and closes the live
// connection.
func TestSupervisedReconnect(t *testing.T) {
	t.Parallel()
	h := startHead(t, headOptions{})
	invoker(h)
	a := newWorker(t, h, "worker-a", workerOptions{})
	ctx, cancel := context.WithCancel(t.Context())
	live := make(chan *protocol.CallConnection, 4)
	done := make(chan error, 1)
	go func() {
		done <- client.Supervise(ctx, func(ctx context.Context) (*protocol.CallConnection, error) {
			cc, err := a.cl.Connect(ctx, h.node.Addr, a.creds(h))
			if err == nil {
				live <- cc
			}
			return cc, err
		}, client.Backoff{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond})
	}()
	first := h.waitAttached(t, "worker-a")
	<-live
	if res := h.d.Revoke("worker-a"); res.Connections != 1 {
		t.Fatalf("Revoke = %+v", res)
	}
	<-first.Done()
	second := h.waitAttached(t, "worker-a")
	last := <-live
	if second == first {
		t.Fatal("no new connection")
	}
	al := alice(t, h)
	if got, err := route(t, al, "worker-a", "w/run", false); err != nil || got != "worker-a" {
		t.Errorf("Peer(worker-a) after the redial: %q %v", got, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Supervise = %v", err)
	}
	<-last.Done()
}

// Test 93 (a): a second connection of worker-a while the first is attached; the first ends →
// Peer("worker-a") reaches the second throughout and worker-a keeps its position [ROUTE-R7].
func TestReconnectOverlap(t *testing.T) {
	t.Parallel()
	h := startHead(t, headOptions{})
	invoker(h)
	a := newWorker(t, h, "worker-a", workerOptions{})
	mine1, head1 := a.connect(t, h)
	startWorkersFrom(t, h, 'b', 1)
	_, head2 := a.connect(t, h)
	al := alice(t, h)
	if src, _ := h.peers.View().Source("worker-a"); src != registry.Source(head2.Imported()) {
		t.Error("the newer connection is not current")
	}
	if got, err := route(t, al, "worker-a", "w/run", false); err != nil || got != "worker-a" {
		t.Fatalf("before: %q %v", got, err)
	}
	_ = mine1.Close()
	<-head1.Done()
	if got, err := route(t, al, "worker-a", "w/run", false); err != nil || got != "worker-a" {
		t.Errorf("after the first ended: %q %v", got, err)
	}
	if ids := h.peers.View().IDs(); !slices.Equal(ids, []registry.PeerID{"worker-a", "worker-b"}) {
		t.Errorf("order %v", ids)
	}
}

// Test 93 (d): an older live connection attached after a newer one (a stale hook) is used until
// it ends, then the newer one is used again with no new attach. Two processes share the PeerID
// worker-a with two keys, so the test sees which connection served [ROUTE-R7, R17].
func TestStaleAttach(t *testing.T) {
	t.Parallel()
	h := startHead(t, headOptions{})
	invoker(h)
	older := newWorker(t, h, "worker-a", workerOptions{noEntry: true})
	newer := newWorker(t, h, "worker-a", workerOptions{noEntry: true})
	h.setPeer(t, auth.PeerEntry{PeerID: "worker-a", Fingerprints: []string{older.fp, newer.fp}, Scopes: []string{"worker"}})
	mineOld, headOld := older.connect(t, h)
	newer.connect(t, h)
	al := alice(t, h)
	if _, err := route(t, al, "worker-a", "w/run", false); err != nil || newer.count("w/run") != 1 {
		t.Fatalf("the newer connection is not current: %v", err)
	}
	if err := h.peers.AttachConnection("worker-a", headOld.Imported(), headOld); err != nil { // the stale hook
		t.Fatal(err)
	}
	if _, err := route(t, al, "worker-a", "w/run", false); err != nil || older.count("w/run") != 1 {
		t.Fatalf("the stale attachment is not current while it lives: %v", err)
	}
	_ = mineOld.Close()
	<-headOld.Done()
	if _, err := route(t, al, "worker-a", "w/run", false); err != nil || newer.count("w/run") != 2 {
		t.Errorf("the newer connection is not current again: %v (older %d, newer %d)", err, older.count("w/run"), newer.count("w/run"))
	}
	if err := h.peers.AttachConnection("worker-a", headOld.Imported(), headOld); err == nil {
		t.Error("AttachConnection accepted an ended connection")
	}
}
