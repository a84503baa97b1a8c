package registry_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/conn"
	"github.com/alknet/alknet/alknet-core/coretest"
)

// attachWorker connects the head to a worker serving w over real QUIC, imports a forwarding leaf
// for each of ops into the head-side connection's ImportedSet the way from_call would
// (ADPT-R9, R11: Internal, FromCall, no authority, the handler's ctx and traceparent), and
// attaches that set to ps under the worker's PeerID (ROUTE-R1). It returns the head-side
// connection and its raw QUIC connection.
func attachWorker(t *testing.T, ps *registry.PeerSet, id string, w *registry.Registry, ops ...string) (*protocol.CallConnection, *conn.Connection) {
	t.Helper()
	empty := mustBuild(t, registry.NewBuilder())
	cl, sv := coretest.Pair(t, protocol.ALPN)
	workerIdent := &auth.Identity{ID: id, Scopes: []string{}, Resources: map[string][]string{}, Origin: auth.OriginPeer}
	headSide := (&protocol.Dispatcher{Invoker: empty}).Attach(cl, protocol.WithConnIdentity(workerIdent))
	workerSide := (&protocol.Dispatcher{Invoker: w}).Attach(sv, protocol.WithConnIdentity(ident("head", "w:run")))
	serveConn(t, headSide)
	serveConn(t, workerSide)
	var regs []*registry.HandlerRegistration
	for _, op := range ops {
		remote := registry.Path(op)
		regs = append(regs, &registry.HandlerRegistration{
			Spec:       internalSpec(op, "w:run"),
			Provenance: registry.FromCall,
			Handler: registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
				return headSide.Call(ctx, remote, in, protocol.WithParent(oc.RequestID()), protocol.WithTraceParent(oc.TraceParent()))
			}),
		})
	}
	if err := headSide.Imported().Register(regs...); err != nil {
		t.Fatal(err)
	}
	pid, ok := headSide.PeerID()
	if !ok || string(pid) != id {
		t.Fatalf("PeerID = %q, %v", pid, ok)
	}
	if err := ps.AttachConnection(pid, headSide.Imported(), headSide); err != nil {
		t.Fatal(err)
	}
	return headSide, cl
}

// Routing across real connections (ROUTE-R4..R8, REG-R19, REG-R20): Any goes to the first
// attached worker, Peer(p) to p; when a worker's connection ends its attachment and imported
// set vanish at once and Any moves on; imported ops are never reachable from the wire.
func TestWireHubRouting(t *testing.T) {
	t.Parallel()
	worker := func(name string) *registry.Registry {
		return mustBuild(t, registry.NewBuilder().Local(ext("w/run", "w:run"), constant(`"`+name+`"`), nil, nil, noCaps))
	}
	ps := registry.NewPeerSet(registry.PeerSetOptions{})
	connA, rawA := attachWorker(t, ps, "worker-a", worker("a"), "w/run")
	attachWorker(t, ps, "worker-b", worker("b"), "w/run")

	scope := registry.NewScopedEnv("w/run")
	head := mustBuild(t, installDiscovery(registry.NewBuilder().
		Local(ext("jobs/run", "jobs:run"), invoker, &registry.CompositionAuthority{Label: "jobs-runner", Scopes: []string{"w:run"}}, &scope, noCaps)))
	cl, sv := coretest.Pair(t, protocol.ALPN)
	alice := (&protocol.Dispatcher{Invoker: mustBuild(t, registry.NewBuilder())}).Attach(cl)
	headSide := (&protocol.Dispatcher{Invoker: head, Peers: ps}).Attach(sv, protocol.WithCallerIdentity(ident("alice", "jobs:run")))
	serveConn(t, alice)
	serveConn(t, headSide)

	route := func(peer string) string {
		b, _ := json.Marshal(map[string]string{"op": "w/run", "peer": peer})
		out, err := alice.Call(t.Context(), "/jobs/run", json.RawMessage(b))
		if err != nil {
			return codeOf(err)
		}
		var s string
		json.Unmarshal(out, &s)
		return s
	}
	for _, tc := range []struct{ peer, want string }{{"", "a"}, {"worker-b", "b"}, {"worker-a", "a"}, {"worker-c", callerr.NotFound}} {
		if got := route(tc.peer); got != tc.want {
			t.Errorf("route via %q = %s, want %s", tc.peer, got, tc.want)
		}
	}
	// Imported ops live in Layer 2: the wire reaches only Layer 0 (REG-R20).
	if _, err := alice.Call(t.Context(), "/w/run", nil); codeOf(err) != callerr.NotFound {
		t.Errorf("imported op from the wire = %v", err)
	}
	// Worker A's connection ends abruptly.
	_ = rawA.Close(0, "gone")
	<-connA.Done()
	if _, ok := connA.Imported().Lookup("w/run"); ok {
		t.Error("imported set still answers after its connection ended (REG-R19)")
	}
	if got := route(""); got != "b" {
		t.Errorf("Any after A ended = %s, want b", got)
	}
	if got := route("worker-a"); got != callerr.NotFound {
		t.Errorf("Peer(worker-a) after A ended = %s", got)
	}
	if ids := ps.View().IDs(); len(ids) != 1 || ids[0] != "worker-b" {
		t.Errorf("IDs = %v", ids)
	}
	if n := ps.Outstanding("worker-a") + ps.Outstanding("worker-b"); n != 0 {
		t.Errorf("outstanding = %d", n)
	}
}
