package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/client"
	"github.com/alknet/alknet/alknet-call/discovery"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/config"
	"github.com/alknet/alknet/alknet-core/coretest"
	"github.com/alknet/alknet/alknet-core/handler"
	"github.com/alknet/alknet/alknet-core/quictransport"
	"github.com/alknet/alknet/alknet-core/secret"
	"github.com/alknet/alknet/alknet-core/tlsconf"
)

// The §20 deployment on loopback (§20.1): a head endpoint with the call adapter, an accept hook
// running ImportAndAttach, a shared PeerSet; workers that dial the head; alice with a token.

const (
	aliceToken = "alice-secret-token-0123456789"
	opsToken   = "ops-secret-token-0123456789"
)

var containerScopes = []string{"container:exec", "container:list", "container:logs"}

// attachedConn is what the head's hook reports after ImportAndAttach returned.
type attachedConn struct {
	id   registry.PeerID
	conn *protocol.CallConnection
	err  error
}

type head struct {
	node     *coretest.Node
	dyn      *config.Dynamic
	peers    *registry.PeerSet
	d        *protocol.Dispatcher
	attached chan attachedConn
	run      atomic.Pointer[registry.HandlerFunc] // the behaviour of jobs/run (and jobs/compose)
	mu       sync.Mutex
	entries  []auth.PeerEntry           // the head's current peer entries; guarded by mu
	all      []*protocol.CallConnection // every head-side peer connection; guarded by mu
}

// conns returns every head-side peer connection the hook saw.
func (h *head) conns() []*protocol.CallConnection {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*protocol.CallConnection(nil), h.all...)
}

type headOptions struct {
	policy registry.AnyPolicy
	extra  func(b *registry.Builder) // test-only Layer 0 operations
}

// startHead starts H with the §20 Layer 0 (jobs/run with the jobs-runner authority and scope,
// audit/record, discovery with list-peers behind ops:topology).
func startHead(t *testing.T, opts headOptions) *head {
	t.Helper()
	h := &head{attached: make(chan attachedConn, 16)}
	h.entries = []auth.PeerEntry{
		{PeerID: "alice", AuthTokenHash: auth.HashToken([]byte(aliceToken)), Scopes: []string{"jobs:run"}, Resources: map[string][]string{"jobs": {"run"}}},
		{PeerID: "ops", AuthTokenHash: auth.HashToken([]byte(opsToken)), Scopes: []string{"ops:topology", "container:list"}},
	}
	var err error
	h.dyn, err = config.NewDynamic(config.DynamicConfig{Auth: auth.AuthPolicy{Peers: h.entries}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := auth.NewConfigIdentityProvider(h.dyn)
	h.peers = registry.NewPeerSet(registry.PeerSetOptions{AnyPolicy: opts.policy})

	b := registry.NewBuilder()
	discovery.Install(b, discovery.Options{ListPeers: true, ListPeersAccess: registry.AccessControl{RequiredScopes: []string{"ops:topology"}}})
	authority := &registry.CompositionAuthority{Label: "jobs-runner", Scopes: append(append([]string{}, containerScopes...), "s:x", "w:run")}
	scope := registry.NewScopedEnv("container/list", "container/exec", "w/run", "w/secret", "w/open").
		WithPinned(registry.PeerOp{Peer: "worker-a", Op: "container/logs"})
	runner := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		if fn := h.run.Load(); fn != nil {
			return (*fn)(ctx, oc, in)
		}
		return json.RawMessage(`"idle"`), nil
	})
	b.Local(registry.OperationSpec{
		Name: "jobs/run", Type: registry.Mutation, Visibility: registry.External,
		InputSchema:   json.RawMessage(`{"type":"object","properties":{"image":{"type":"string"}},"required":["image"]}`),
		AccessControl: registry.AccessControl{RequiredScopes: []string{"jobs:run"}},
	}, runner, authority, &scope, secret.Capabilities{})
	b.Local(registry.OperationSpec{Name: "audit/record", Type: registry.Mutation, Visibility: registry.Internal},
		registry.HandlerFunc(func(context.Context, *registry.OperationContext, json.RawMessage) (json.RawMessage, error) {
			return json.RawMessage(`"recorded"`), nil
		}), nil, nil, secret.Capabilities{})
	if opts.extra != nil {
		opts.extra(b)
	}
	reg, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	h.d = &protocol.Dispatcher{Invoker: reg, Identities: ids, Peers: h.peers}
	hook := func(ctx context.Context, c *protocol.CallConnection) error {
		id, ok := c.PeerID()
		if !ok {
			return nil
		}
		h.mu.Lock()
		h.all = append(h.all, c)
		h.mu.Unlock()
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second) // ADPT-R16
		defer cancel()
		err := client.ImportAndAttach(ctx, c, client.FromCallConfig{}, h.peers)
		h.attached <- attachedConn{id: id, conn: c, err: err}
		return err
	}
	h.node = coretest.StartNode(t, coretest.NodeOptions{
		Handlers:   []handler.ProtocolHandler{protocol.NewCallAdapter(h.d, protocol.WithAcceptHook(hook))},
		Identities: ids,
	})
	return h
}

// addPeer adds (or replaces) a peer entry on the head and reloads the policy.
func (h *head) setPeer(t *testing.T, e auth.PeerEntry) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	replaced := false
	for i := range h.entries {
		if h.entries[i].PeerID == e.PeerID {
			h.entries[i], replaced = e, true
		}
	}
	if !replaced {
		h.entries = append(h.entries, e)
	}
	if err := h.dyn.ReloadHandle().Reload(config.DynamicConfig{Auth: auth.AuthPolicy{Peers: h.entries}}, "test"); err != nil {
		t.Fatal(err)
	}
}

// setRun installs the behaviour of jobs/run.
func (h *head) setRun(fn registry.HandlerFunc) { h.run.Store(&fn) }

// waitAttached returns the next attachment the hook reports, which must be id's and succeed.
func (h *head) waitAttached(t *testing.T, id registry.PeerID) *protocol.CallConnection {
	t.Helper()
	select {
	case a := <-h.attached:
		if a.id != id || a.err != nil {
			t.Fatalf("hook attached %q (err %v), want %q", a.id, a.err, id)
		}
		return a.conn
	case <-time.After(20 * time.Second):
		t.Fatalf("no attachment of %q", id)
	}
	return nil
}

// observation is what a worker handler records for one call.
type observation struct {
	worker      string
	op          string
	caller      string
	forwarded   *registry.ForwardedIdentity
	traceParent string
	remaining   time.Duration // until ctx's deadline when the handler started; 0 = none
}

type worker struct {
	name    string
	key     tlsconf.Identity
	fp      string
	dyn     *config.Dynamic
	d       *protocol.Dispatcher
	cl      *client.CallClient
	counts  sync.Map // op → *atomic.Int64
	obs     chan observation
	entered chan string // op, when a parked call entered
	release chan struct{}
	aborted chan string // op, when a parked call observed cancellation
}

type workerOptions struct {
	headScopes []string                                               // the worker's grants for the head; nil = the container scopes
	extra      func(b *registry.Builder)                              // more operations
	listHook   func(cat func() registry.Catalog) registry.HandlerFunc // replaces services/list and services/schema when set
	noEntry    bool                                                   // do not add the worker's entry to the head's policy
	grace      time.Duration                                          // the worker's ShutdownGrace; 0 = the default
}

// newWorker builds a worker node: container/list, container/exec, container/logs, w/run,
// w/open and w/secret (scope s:x), discovery, and an identity provider that knows the head.
func newWorker(t *testing.T, h *head, name string, o workerOptions) *worker {
	t.Helper()
	w := &worker{name: name, obs: make(chan observation, 256), entered: make(chan string, 64), release: make(chan struct{}), aborted: make(chan string, 64)}
	w.key, w.fp = coretest.NewIdentity(t)
	scopes := o.headScopes
	if scopes == nil {
		scopes = containerScopes
	}
	var err error
	w.dyn, err = config.NewDynamic(config.DynamicConfig{Auth: auth.AuthPolicy{Peers: []auth.PeerEntry{
		{PeerID: "head", Fingerprints: []string{h.node.Fingerprint}, Scopes: scopes},
	}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := registry.NewBuilder()
	if o.listHook != nil {
		cat := registry.Catalog(nil)
		b.OnBuild(func(r *registry.Registry) { cat = r.Catalog() })
		b.Local(registry.OperationSpec{Name: "services/list", Type: registry.Query, Visibility: registry.External},
			o.listHook(func() registry.Catalog { return cat }), nil, nil, secret.Capabilities{})
		b.Local(registry.OperationSpec{Name: "services/schema", Type: registry.Query, Visibility: registry.External},
			registry.HandlerFunc(func(_ context.Context, _ *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
				var req struct{ Name string }
				_ = json.Unmarshal(in, &req)
				reg, ok := cat.Lookup(req.Name)
				if !ok {
					return nil, callerr.New(callerr.NotFound, "operation not found: "+req.Name)
				}
				return json.Marshal(reg.Spec)
			}), nil, nil, secret.Capabilities{})
	} else {
		discovery.Install(b, discovery.Options{})
	}
	add := func(op string, typ registry.OperationType, scope string) {
		spec := registry.OperationSpec{Name: op, Type: typ, Visibility: registry.External, Description: "worker operation " + op}
		if scope != "" {
			spec.AccessControl.RequiredScopes = []string{scope}
		}
		if typ == registry.Subscription {
			b.LocalStream(spec, registry.StreamHandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage, emit registry.Emit) error {
				w.record(ctx, oc, op)
				return emit(json.RawMessage(`"log line"`))
			}), nil, nil, secret.Capabilities{})
			return
		}
		b.Local(spec, registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
			return w.serve(ctx, oc, op, in)
		}), nil, nil, secret.Capabilities{})
	}
	add("container/list", registry.Query, "container:list")
	add("container/exec", registry.Mutation, "container:exec")
	add("container/logs", registry.Subscription, "container:logs")
	add("w/run", registry.Query, "")
	add("w/open", registry.Query, "")
	add("w/secret", registry.Query, "s:x")
	if o.extra != nil {
		o.extra(b)
	}
	reg, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	w.d = &protocol.Dispatcher{Invoker: reg, Identities: auth.NewConfigIdentityProvider(w.dyn), Options: protocol.Options{ShutdownGrace: o.grace}}
	w.cl = client.New(w.d)
	t.Cleanup(func() { _ = w.cl.Close() })
	if !o.noEntry {
		h.setPeer(t, auth.PeerEntry{PeerID: name, Fingerprints: []string{w.fp}, Scopes: []string{"worker"}})
	}
	return w
}

func (w *worker) record(ctx context.Context, oc *registry.OperationContext, op string) {
	o := observation{worker: w.name, op: op, forwarded: oc.ForwardedFor(), traceParent: oc.TraceParent()}
	if id := oc.Identity(); id != nil {
		o.caller = id.ID
	}
	if d, ok := ctx.Deadline(); ok {
		o.remaining = time.Until(d)
	}
	v, _ := w.counts.LoadOrStore(op, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	select {
	case w.obs <- o:
	default:
	}
}

// serve answers {"worker": name}; an input {"park": true} waits for release or cancellation.
func (w *worker) serve(ctx context.Context, oc *registry.OperationContext, op string, in json.RawMessage) (json.RawMessage, error) {
	w.record(ctx, oc, op)
	var req struct {
		Park bool `json:"park"`
	}
	_ = json.Unmarshal(in, &req)
	if req.Park {
		w.entered <- op
		select {
		case <-w.release:
		case <-ctx.Done():
			w.aborted <- op
			return nil, ctx.Err()
		}
	}
	return json.Marshal(map[string]string{"worker": w.name})
}

func (w *worker) count(op string) int64 {
	if v, ok := w.counts.Load(op); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

func (w *worker) creds(h *head) client.CallCredentials {
	return client.CallCredentials{TLS: &w.key, RemoteIdentity: &client.RemoteIdentity{Fingerprints: []string{h.node.Fingerprint}}}
}

// connect dials the head and waits until the head attached the worker.
func (w *worker) connect(t *testing.T, h *head) (mine, headSide *protocol.CallConnection) {
	t.Helper()
	cc, err := w.cl.Connect(t.Context(), h.node.Addr, w.creds(h))
	if err != nil {
		t.Fatalf("%s connect: %v", w.name, err)
	}
	return cc, h.waitAttached(t, registry.PeerID(w.name))
}

// connectRaw dials the head itself and serves the connection through the worker's client, so the
// test can end it abruptly (§20.1 "Abrupt end").
func (w *worker) connectRaw(t *testing.T, h *head) (raw interface{ Close(uint64, string) error }, headSide *protocol.CallConnection) {
	t.Helper()
	cn, err := quictransport.Dial(t.Context(), h.node.Addr, h.node.DialOptions(protocol.ALPN, &w.key), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.cl.Serve(t.Context(), cn, w.creds(h)); err != nil {
		t.Fatal(err)
	}
	return cn, h.waitAttached(t, registry.PeerID(w.name))
}

// user is a caller with no registry of its own (alice, ops, a bare worker identity).
func user(t *testing.T, h *head, creds client.CallCredentials) *protocol.CallConnection {
	t.Helper()
	creds.RemoteIdentity = &client.RemoteIdentity{Fingerprints: []string{h.node.Fingerprint}}
	cl := client.New(&protocol.Dispatcher{Invoker: registryWith(t, "", nil)})
	t.Cleanup(func() { _ = cl.Close() })
	cc, err := cl.Connect(t.Context(), h.node.Addr, creds)
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

func alice(t *testing.T, h *head) *protocol.CallConnection {
	return user(t, h, client.CallCredentials{AuthToken: auth.NewAuthToken([]byte(aliceToken))})
}

// codeOf returns the CallError code of err, "" for nil, "?" for anything else.
func codeOf(err error) string {
	if err == nil {
		return ""
	}
	var ce *callerr.CallError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return "?"
}

// workerOf returns the "worker" field of a worker's answer.
func workerOf(out json.RawMessage) string {
	var v struct {
		Worker string `json:"worker"`
	}
	_ = json.Unmarshal(out, &v)
	return v.Worker
}

// outcome is what a composed invocation gave: the answering worker or the error code.
func outcome(out json.RawMessage, err error) string {
	if err != nil {
		return codeOf(err)
	}
	return workerOf(out)
}

// listEverything is a services/list that lists every operation to every caller, as a worker with
// a careless discovery might.
func listEverything(cat func() registry.Catalog) registry.HandlerFunc {
	return func(context.Context, *registry.OperationContext, json.RawMessage) (json.RawMessage, error) {
		var ops []map[string]string
		for _, n := range cat().Names() {
			ops = append(ops, map[string]string{"name": n})
		}
		return json.Marshal(map[string]any{"operations": ops})
	}
}
