package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-call/client"
	"github.com/alknet/alknet/alknet-call/discovery"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/config"
	"github.com/alknet/alknet/alknet-core/coretest"
	"github.com/alknet/alknet/alknet-core/handler"
	"github.com/alknet/alknet/alknet-core/secret"
	"github.com/alknet/alknet/alknet-core/tlsconf"
	"github.com/alknet/alknet/tools/bench/baseline"
)

// Operation names of the routed fixture.
const (
	workOp  = "bench/work"  // served by every worker
	routeOp = "bench/route" // the head's op composing workOp by Any
)

// routedFixture is a head node whose bench/route composes bench/work by Any routing over the
// workers attached to its PeerSet (call-registry.md §14, §20), workers that dial the head (and
// also serve their own endpoint, for the direct baseline), and pinned client connections to the
// head and to worker 0.
type routedFixture struct {
	head    *protocol.CallConnection // client → head
	direct  *protocol.CallConnection // client → worker 0
	peers   *registry.PeerSet
	counts  []*atomic.Int64 // calls served per worker
	workers int
}

// workerRegistry serves bench/work, echoing its input and counting calls in n.
func workerRegistry(tb testing.TB, n *atomic.Int64) *registry.Registry {
	tb.Helper()
	b := registry.NewBuilder()
	b.Local(registry.OperationSpec{
		Name: workOp, Type: registry.Query, Visibility: registry.External,
		InputSchema: json.RawMessage(`{"type":"object"}`),
	}, registry.HandlerFunc(func(_ context.Context, _ *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		n.Add(1)
		return in, nil
	}), nil, nil, secret.Capabilities{})
	discovery.Install(b, discovery.Options{})
	reg, err := b.Build()
	if err != nil {
		tb.Fatal(err)
	}
	return reg
}

func newRoutedFixture(tb testing.TB, workers int, policy registry.AnyPolicy) *routedFixture {
	tb.Helper()
	f := &routedFixture{peers: registry.NewPeerSet(registry.PeerSetOptions{AnyPolicy: policy}), workers: workers}
	keys := make([]tlsconf.Identity, workers)
	var entries []auth.PeerEntry
	for i := range keys {
		var fp string
		keys[i], fp = coretest.NewIdentity(tb)
		entries = append(entries, auth.PeerEntry{PeerID: fmt.Sprintf("worker-%d", i), Fingerprints: []string{fp}, Scopes: []string{}})
	}

	b := registry.NewBuilder()
	scope := registry.NewScopedEnv(workOp)
	b.Local(registry.OperationSpec{
		Name: routeOp, Type: registry.Query, Visibility: registry.External,
		InputSchema: json.RawMessage(`{"type":"object"}`),
	}, registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		return oc.Env().Invoke(ctx, workOp, in)
	}), &registry.CompositionAuthority{Label: "bench-router"}, &scope, secret.Capabilities{})
	reg, err := b.Build()
	if err != nil {
		tb.Fatal(err)
	}
	attached := make(chan error, workers)
	hd := &protocol.Dispatcher{Invoker: reg, Peers: f.peers}
	hook := func(ctx context.Context, c *protocol.CallConnection) error {
		if _, ok := c.PeerID(); !ok {
			return nil
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		err := client.ImportAndAttach(ctx, c, client.FromCallConfig{}, f.peers)
		attached <- err
		return err
	}
	head := coretest.StartNode(tb, coretest.NodeOptions{
		Handlers: []handler.ProtocolHandler{protocol.NewCallAdapter(hd, protocol.WithAcceptHook(hook))},
		Dynamic:  config.DynamicConfig{Auth: auth.AuthPolicy{Peers: entries}},
	})

	for i := range workers {
		n := new(atomic.Int64)
		f.counts = append(f.counts, n)
		wreg := workerRegistry(tb, n)
		wd := &protocol.Dispatcher{Invoker: wreg}
		if i == 0 { // worker 0 also listens, for the direct baseline
			node := coretest.StartEndpoint(tb, protocol.NewCallAdapter(wd))
			f.direct = dialPinned(tb, node.Addr, node.Fingerprint, nil)
		}
		cl := client.New(wd)
		tb.Cleanup(func() { _ = cl.Close() })
		if _, err := cl.Connect(tb.Context(), head.Addr, client.CallCredentials{
			TLS: &keys[i], RemoteIdentity: &client.RemoteIdentity{Fingerprints: []string{head.Fingerprint}},
		}); err != nil {
			tb.Fatal(err)
		}
		if err := <-attached; err != nil { // in order: worker-0 first
			tb.Fatal(err)
		}
	}
	f.head = dialPinned(tb, head.Addr, head.Fingerprint, nil)
	return f
}

// dialPinned connects a client with an empty registry to addr, pinned to fp.
func dialPinned(tb testing.TB, addr, fp string, key *tlsconf.Identity) *protocol.CallConnection {
	tb.Helper()
	empty, err := registry.NewBuilder().Build()
	if err != nil {
		tb.Fatal(err)
	}
	cl := client.New(&protocol.Dispatcher{Invoker: empty})
	tb.Cleanup(func() { _ = cl.Close() })
	cc, err := cl.Connect(tb.Context(), addr, client.CallCredentials{TLS: key, RemoteIdentity: &client.RemoteIdentity{Fingerprints: []string{fp}}})
	if err != nil {
		tb.Fatal(err)
	}
	return cc
}

func (f *routedFixture) reset() {
	for _, c := range f.counts {
		c.Store(0)
	}
}

// reportSpread reports each worker's share of the calls in percent (w0-%, w1-%, …).
func (f *routedFixture) reportSpread(b *testing.B) {
	var total int64
	for _, c := range f.counts {
		total += c.Load()
	}
	if total == 0 {
		return
	}
	for i, c := range f.counts {
		b.ReportMetric(100*float64(c.Load())/float64(total), fmt.Sprintf("w%d-%%", i))
	}
}

// TestRoutedFixture checks the fixture: the routed call reaches a worker and answers the input;
// round-robin over 4 workers spreads 8 calls 2 per worker (ROUTE-R13).
func TestRoutedFixture(t *testing.T) {
	f := newRoutedFixture(t, 4, registry.RoundRobin())
	for range 8 {
		out, err := f.head.Call(t.Context(), routeOp, json.RawMessage(payload))
		if err != nil || string(out) != string(payload) {
			t.Fatalf("routed call: %s %v", out, err)
		}
	}
	for i, c := range f.counts {
		if c.Load() != 2 {
			t.Errorf("worker %d served %d calls, want 2", i, c.Load())
		}
	}
	if out, err := f.direct.Call(t.Context(), workOp, json.RawMessage(payload)); err != nil || string(out) != string(payload) {
		t.Fatalf("direct call: %s %v", out, err)
	}
}

// BenchmarkRouted compares a direct call (client → worker) with the same call routed through a
// head (client → head → worker, Any), and reports the per-worker spread over 4 workers for each
// built-in Any policy under 16 concurrent callers (ROUTE-R12..R14).
func BenchmarkRouted(b *testing.B) {
	one := newRoutedFixture(b, 1, nil)
	ctx := b.Context()
	b.Run("direct", func(b *testing.B) {
		var lat baseline.Latencies
		b.ReportAllocs()
		for b.Loop() {
			if err := lat.Time(func() error { _, err := one.direct.Call(ctx, workOp, json.RawMessage(payload)); return err }); err != nil {
				b.Fatal(err)
			}
		}
		lat.Report(b)
	})
	b.Run("via-head", func(b *testing.B) {
		var lat baseline.Latencies
		b.ReportAllocs()
		for b.Loop() {
			if err := lat.Time(func() error { _, err := one.head.Call(ctx, routeOp, json.RawMessage(payload)); return err }); err != nil {
				b.Fatal(err)
			}
		}
		lat.Report(b)
	})
	for _, p := range []struct {
		name   string
		policy func() registry.AnyPolicy
	}{{"first-match", registry.FirstMatch}, {"round-robin", registry.RoundRobin}, {"least-outstanding", registry.LeastOutstanding}} {
		four := newRoutedFixture(b, 4, p.policy())
		b.Run("spread-4/"+p.name, func(b *testing.B) {
			four.reset()
			var lat baseline.Latencies
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := lat.Time(func() error { _, err := four.head.Call(ctx, routeOp, json.RawMessage(payload)); return err }); err != nil {
						b.Error(err)
						return
					}
				}
			})
			lat.Report(b)
			four.reportSpread(b)
		})
	}
}
