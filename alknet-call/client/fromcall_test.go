package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/client"
	"github.com/alknet/alknet/alknet-call/discovery"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/coretest"
	"github.com/alknet/alknet/alknet-core/secret"
)

// remoteNode starts a node whose registry build adds, and returns a connection to it from a
// local node that resolves it as peer "remote".
func remoteNode(t *testing.T, build func(b *registry.Builder)) *protocol.CallConnection {
	t.Helper()
	b := registry.NewBuilder()
	build(b)
	reg, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	node := coretest.StartEndpoint(t, protocol.NewCallAdapter(&protocol.Dispatcher{Invoker: reg}))
	cl := client.New(&protocol.Dispatcher{Invoker: registryWith(t, "", nil), Identities: fpProvider{fp: node.Fingerprint, id: "remote"}})
	t.Cleanup(func() { _ = cl.Close() })
	cc, err := cl.Connect(t.Context(), node.Addr, client.CallCredentials{RemoteIdentity: &client.RemoteIdentity{Fingerprints: []string{node.Fingerprint}}})
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

// standard is a worker-like node: discovery, container/exec (with an error schema) and
// container/logs.
func standard(b *registry.Builder) { standardCounting(new(atomic.Int64))(b) }

// standardCounting is standard with container/exec counting its calls in received.
func standardCounting(received *atomic.Int64) func(b *registry.Builder) {
	return func(b *registry.Builder) { buildStandard(b, received) }
}

func buildStandard(b *registry.Builder, received *atomic.Int64) {
	discovery.Install(b, discovery.Options{})
	b.Local(registry.OperationSpec{
		Name: "container/exec", Type: registry.Mutation, Visibility: registry.External,
		Summary: "Run a command", Tags: []string{"c"},
		InputSchema:  json.RawMessage(`{"type":"object","properties":{"cmd":{"type":"string"}},"required":["cmd"]}`),
		OutputSchema: json.RawMessage(`{"type":"object"}`),
		ErrorSchemas: []registry.ErrorDefinition{{Code: "EXIT_STATUS", Description: "non-zero exit", Schema: json.RawMessage(`{"type":"object"}`)}},
	}, registry.HandlerFunc(func(_ context.Context, _ *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		received.Add(1)
		var req struct{ Cmd string }
		_ = json.Unmarshal(in, &req)
		if req.Cmd == "false" {
			return nil, callerr.New("EXIT_STATUS", "exit 1").WithDetails(map[string]int{"status": 1})
		}
		return json.RawMessage(`{"echo":` + string(in) + `}`), nil
	}), nil, nil, secret.Capabilities{})
	b.LocalStream(registry.OperationSpec{Name: "container/logs", Type: registry.Subscription, Visibility: registry.External},
		registry.StreamHandlerFunc(func(context.Context, *registry.OperationContext, json.RawMessage, registry.Emit) error { return nil }),
		nil, nil, secret.Capabilities{})
}

// Test 50: imported names, FromCall provenance, Internal, nil authority and scope, no
// capabilities, mirrored schemas, error schemas and ACL; services/* skipped unless
// IncludeBuiltins [ADPT-R6, R9].
func TestFromCallHappyPath(t *testing.T) {
	t.Parallel()
	cc := remoteNode(t, standard)
	regs, err := client.FromCall(t.Context(), cc, client.FromCallConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range regs {
		names = append(names, r.Spec.Name)
		if r.Provenance != registry.FromCall || r.Spec.Visibility != registry.Internal || r.Authority != nil || r.Scope != nil || r.Capabilities.Len() != 0 || r.Compiled == nil {
			t.Errorf("%s: %+v", r.Spec.Name, r)
		}
	}
	if !slices.Equal(names, []string{"container/exec", "container/logs"}) {
		t.Fatalf("names %v", names)
	}
	exec := regs[0].Spec
	if exec.Type != registry.Mutation || exec.Summary != "Run a command" || len(exec.ErrorSchemas) != 1 || exec.ErrorSchemas[0].Code != "EXIT_STATUS" || !strings.Contains(string(exec.InputSchema), `"cmd"`) {
		t.Errorf("exec spec %+v", exec)
	}
	if regs[1].Stream == nil || regs[1].Handler != nil {
		t.Error("subscription imported without its stub stream handler")
	}
	// ADPT-R12 v1: the stub answers INVALID_OPERATION_TYPE at once.
	if err := regs[1].Stream.Stream(t.Context(), nil, nil, nil); codeOf(err) != callerr.InvalidOperationType {
		t.Errorf("stub = %v", err)
	}
	all, err := client.FromCallAdapter{Conn: cc, Config: client.FromCallConfig{IncludeBuiltins: true}}.Import(t.Context())
	if err != nil || len(all) != 4 {
		t.Errorf("IncludeBuiltins: %d %v", len(all), err)
	}
}

// Tests 51, 52: the prefix is local naming only; Include filters by remote name and ignores names
// the remote does not list [ADPT-R6, R8].
func TestFromCallPrefixAndInclude(t *testing.T) {
	t.Parallel()
	cc := remoteNode(t, standard)
	regs, err := client.FromCall(t.Context(), cc, client.FromCallConfig{NamespacePrefix: "w1", Include: []string{"container/exec", "container/absent"}})
	if err != nil || len(regs) != 1 || regs[0].Spec.Name != "w1/container/exec" {
		t.Fatalf("regs %v %v", regs, err)
	}
	set := registry.NewImportedSet()
	if err := set.Register(regs...); err != nil {
		t.Fatal(err)
	}
	ps := registry.NewPeerSet(registry.PeerSetOptions{})
	if _, err := ps.Attach("remote", set); err != nil {
		t.Fatal(err)
	}
	scope := registry.NewScopedEnv("w1/container/exec")
	b := registry.NewBuilder()
	b.Local(registry.OperationSpec{Name: "h/run", Type: registry.Query, Visibility: registry.External},
		registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
			return oc.Env().Invoke(ctx, "w1/container/exec", in)
		}), &registry.CompositionAuthority{Label: "h"}, &scope, secret.Capabilities{})
	reg, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	out, err := reg.ServeCall(t.Context(), registry.WireCall{Operation: "h/run", Routes: registry.Routes{Peers: ps.View()}}, json.RawMessage(`{"cmd":"ls"}`))
	if err != nil || string(out) != `{"echo":{"cmd":"ls"}}` {
		t.Errorf("prefixed call reached the remote's /container/exec: %s %v", out, err)
	}
	if _, err := client.FromCall(t.Context(), cc, client.FromCallConfig{NamespacePrefix: "bad prefix"}); !errors.Is(err, client.ErrSchemaParse) {
		t.Errorf("invalid prefix = %v", err)
	}
}

// Tests 53, 54: failure kinds [ADPT-R5, R7, R10, R16].
func TestFromCallFailures(t *testing.T) {
	t.Parallel()
	list := func(body string) func(b *registry.Builder) {
		return func(b *registry.Builder) {
			b.Local(registry.OperationSpec{Name: "services/list", Type: registry.Query, Visibility: registry.External},
				registry.HandlerFunc(func(context.Context, *registry.OperationContext, json.RawMessage) (json.RawMessage, error) {
					return json.RawMessage(body), nil
				}), nil, nil, secret.Capabilities{})
			b.Local(registry.OperationSpec{Name: "services/schema", Type: registry.Query, Visibility: registry.External},
				registry.HandlerFunc(func(_ context.Context, _ *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
					var req struct{ Name string }
					_ = json.Unmarshal(in, &req)
					switch req.Name {
					case "a/unknown-type":
						return json.RawMessage(`{"name":"a/unknown-type","op_type":"stream"}`), nil
					case "a/mismatch":
						return json.RawMessage(`{"name":"a/other","op_type":"query"}`), nil
					case "a/fileref":
						return json.RawMessage(`{"name":"a/fileref","op_type":"query","input_schema":{"$ref":"file:///etc/passwd"}}`), nil
					case "a/deep":
						return json.RawMessage(`{"name":"a/deep","op_type":"query","input_schema":` + strings.Repeat(`{"items":`, 65) + `{}` + strings.Repeat(`}`, 65) + `}`), nil
					case "a/forbidden":
						return nil, callerr.New(callerr.Forbidden, "no")
					}
					return json.RawMessage(fmt.Sprintf(`{"name":%q,"op_type":"query"}`, req.Name)), nil
				}), nil, nil, secret.Capabilities{})
		}
	}
	many := `{"operations":[` + strings.Repeat(`{"name":"a/b"},`, 1024) + `{"name":"a/c"}]}`
	cases := []struct {
		name  string
		build func(b *registry.Builder)
		want  *client.AdapterError
	}{
		{"no discovery", func(*registry.Builder) {}, client.ErrDiscoveryFailed},
		{"list denied", func(b *registry.Builder) {
			b.Local(registry.OperationSpec{Name: "services/list", Type: registry.Query, Visibility: registry.External,
				AccessControl: registry.AccessControl{RequiredScopes: []string{"admin"}}},
				registry.HandlerFunc(func(context.Context, *registry.OperationContext, json.RawMessage) (json.RawMessage, error) {
					return nil, nil
				}),
				nil, nil, secret.Capabilities{})
		}, client.ErrUnauthorized},
		{"no operations", list(`{}`), client.ErrSchemaParse},
		{"nameless entry", list(`{"operations":[{"op_type":"query"}]}`), client.ErrSchemaParse},
		{"unknown op_type", list(`{"operations":[{"name":"a/unknown-type"}]}`), client.ErrSchemaParse},
		{"name mismatch", list(`{"operations":[{"name":"a/mismatch"}]}`), client.ErrSchemaParse},
		{"file $ref", list(`{"operations":[{"name":"a/fileref"}]}`), client.ErrSchemaParse},
		{"1025 ops", list(many), client.ErrSchemaParse},
		{"65 levels", list(`{"operations":[{"name":"a/deep"}]}`), client.ErrSchemaParse},
		{"duplicate names", list(`{"operations":[{"name":"a/b"},{"name":"a/b"}]}`), client.ErrSamePeerCollision},
		{"schema forbidden", list(`{"operations":[{"name":"a/forbidden"}]}`), client.ErrUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cc := remoteNode(t, c.build)
			_, err := client.FromCall(t.Context(), cc, client.FromCallConfig{})
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want kind %v", err, c.want.Kind)
			}
			var ae *client.AdapterError
			if !errors.As(err, &ae) || !strings.HasPrefix(ae.ErrorCode(), "ADAPTER_") || !strings.HasPrefix(ae.Error(), ae.Kind.String()) {
				t.Errorf("error %q code %q", err, ae.ErrorCode())
			}
		})
	}
}

// Test 54: a stalled remote → DiscoveryFailed when ctx expires, with DeadlineExceeded reachable,
// and the stalled handler observes the abort [ADPT-R5, R16].
func TestFromCallStalled(t *testing.T) {
	t.Parallel()
	aborted := make(chan struct{})
	cc := remoteNode(t, func(b *registry.Builder) {
		b.Local(registry.OperationSpec{Name: "services/list", Type: registry.Query, Visibility: registry.External},
			registry.HandlerFunc(func(ctx context.Context, _ *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
				<-ctx.Done()
				close(aborted)
				return nil, ctx.Err()
			}), nil, nil, secret.Capabilities{})
	})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := client.FromCall(ctx, cc, client.FromCallConfig{})
	if !errors.Is(err, client.ErrDiscoveryFailed) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	<-aborted
}

// Test 55: forwarding passes input and output verbatim, a remote domain error with code and
// details, and invalid input is rejected locally without a frame [ADPT-R11, VAL-R8].
func TestForwarding(t *testing.T) {
	t.Parallel()
	var received atomic.Int64
	cc := remoteNode(t, standardCounting(&received))
	set := cc.Imported()
	if err := client.ImportAndAttach(t.Context(), cc, client.FromCallConfig{}, nil); err != nil {
		t.Fatal(err)
	}
	ps := registry.NewPeerSet(registry.PeerSetOptions{})
	if _, err := ps.Attach("remote", set); err != nil {
		t.Fatal(err)
	}
	scope := registry.NewScopedEnv("container/exec")
	b := registry.NewBuilder()
	b.Local(registry.OperationSpec{Name: "h/run", Type: registry.Query, Visibility: registry.External,
		ErrorSchemas: []registry.ErrorDefinition{{Code: "EXIT_STATUS", Schema: json.RawMessage(`{"type":"object"}`)}}},
		registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
			return oc.Env().Invoke(ctx, "container/exec", in)
		}), &registry.CompositionAuthority{Label: "h"}, &scope, secret.Capabilities{})
	reg, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	call := func(in string) (json.RawMessage, error) {
		return reg.ServeCall(t.Context(), registry.WireCall{Operation: "h/run", Routes: registry.Routes{Peers: ps.View()}}, json.RawMessage(in))
	}
	if out, err := call(`{"cmd":"ls"}`); err != nil || string(out) != `{"echo":{"cmd":"ls"}}` {
		t.Errorf("verbatim: %s %v", out, err)
	}
	_, err = call(`{"cmd":"false"}`)
	var ce *callerr.CallError
	if !errors.As(err, &ce) || ce.Code != "EXIT_STATUS" || string(ce.Details) != `{"status":1}` {
		t.Errorf("domain error: %v", err)
	}
	before := received.Load()
	if _, err := call(`{"cmd":1}`); codeOf(err) != callerr.InvalidInput {
		t.Errorf("invalid input: %v", err)
	}
	if received.Load() != before {
		t.Error("the remote received an invalid input")
	}
}

// Tests 53 (last two), 95: importing twice into one set → SamePeerCollision with the first
// import intact and still attached; a connection without a PeerID is imported, not attached; a
// remote with nothing selectable attaches an empty set [ADPT-R10, R17, ROUTE-R2].
func TestImportAndAttach(t *testing.T) {
	t.Parallel()
	cc := remoteNode(t, standard)
	ps := registry.NewPeerSet(registry.PeerSetOptions{})
	if err := client.ImportAndAttach(t.Context(), cc, client.FromCallConfig{}, ps); err != nil {
		t.Fatal(err)
	}
	err := client.ImportAndAttach(t.Context(), cc, client.FromCallConfig{}, ps)
	var ae *client.AdapterError
	if !errors.As(err, &ae) || ae.Kind != client.SamePeerCollision || ae.Op == "" {
		t.Fatalf("second import = %v", err)
	}
	if ids := ps.View().IDs(); !slices.Equal(ids, []registry.PeerID{"remote"}) {
		t.Errorf("ids %v", ids)
	}
	if src, _ := ps.View().Source("remote"); len(src.Names()) != 2 {
		t.Errorf("first import not intact: %v", src.Names())
	}
	// No PeerID: imported, not attached, no error.
	b := registry.NewBuilder()
	standard(b)
	reg, _ := b.Build()
	node := coretest.StartEndpoint(t, protocol.NewCallAdapter(&protocol.Dispatcher{Invoker: reg}))
	cl := client.New(&protocol.Dispatcher{Invoker: registryWith(t, "", nil)})
	defer cl.Close()
	anon, err := cl.Connect(t.Context(), node.Addr, client.CallCredentials{RemoteIdentity: &client.RemoteIdentity{Fingerprints: []string{node.Fingerprint}}})
	if err != nil {
		t.Fatal(err)
	}
	ps2 := registry.NewPeerSet(registry.PeerSetOptions{})
	if err := client.ImportAndAttach(t.Context(), anon, client.FromCallConfig{}, ps2); err != nil || len(anon.Imported().Names()) != 2 || len(ps2.View().IDs()) != 0 {
		t.Errorf("anonymous: %v names %v ids %v", err, anon.Imported().Names(), ps2.View().IDs())
	}
	// Nothing selectable: attached with an empty set.
	empty := remoteNode(t, func(b *registry.Builder) { discovery.Install(b, discovery.Options{}) })
	if err := client.ImportAndAttach(t.Context(), empty, client.FromCallConfig{}, ps2); err != nil {
		t.Fatal(err)
	}
	if ids := ps2.View().IDs(); !slices.Equal(ids, []registry.PeerID{"remote"}) {
		t.Errorf("empty import not attached: %v", ids)
	}
	// An ended connection: Transport, the set unchanged.
	gone := remoteNode(t, standard)
	_ = gone.Close()
	<-gone.Done()
	ps3 := registry.NewPeerSet(registry.PeerSetOptions{})
	if err := client.ImportAndAttach(t.Context(), gone, client.FromCallConfig{}, ps3); !errors.Is(err, client.ErrTransport) || len(ps3.View().IDs()) != 0 {
		t.Errorf("ended connection: %v, ids %v", err, ps3.View().IDs())
	}
}

// A worker whose list names an operation twice fails the head's import with SamePeerCollision;
// the head logs it and keeps the connection unattached; the same name on two workers is fine
// [ADPT-R10, ROUTE-R9].
func TestSamePeerCollisionAtHead(t *testing.T) {
	t.Parallel()
	h := startHead(t, headOptions{})
	dup := newWorker(t, h, "worker-a", workerOptions{listHook: func(func() registry.Catalog) registry.HandlerFunc {
		return func(context.Context, *registry.OperationContext, json.RawMessage) (json.RawMessage, error) {
			return json.RawMessage(`{"operations":[{"name":"w/run"},{"name":"w/run"}]}`), nil
		}
	}})
	if _, err := dup.cl.Connect(t.Context(), h.node.Addr, dup.creds(h)); err != nil {
		t.Fatal(err)
	}
	a := <-h.attached
	if !errors.Is(a.err, client.ErrSamePeerCollision) {
		t.Errorf("import = %v", a.err)
	}
	if len(h.peers.View().IDs()) != 0 {
		t.Error("a colliding worker was attached")
	}
	select {
	case <-a.conn.Done():
		t.Error("the accepting side closed the connection on a failed import")
	default:
	}
	b := newWorker(t, h, "worker-b", workerOptions{})
	c := newWorker(t, h, "worker-c", workerOptions{})
	b.connect(t, h)
	c.connect(t, h)
	if ids := h.peers.View().IDs(); !slices.Equal(ids, []registry.PeerID{"worker-b", "worker-c"}) {
		t.Errorf("ids %v", ids)
	}
}

// The adapter codes are unique, listed in docs/errors.md, and reported by every kind; the kind
// texts are those of ADPT-R2.
func TestAdapterCodes(t *testing.T) {
	t.Parallel()
	var codes []alkerr.Code
	for _, c := range client.Codes() {
		codes = append(codes, alkerr.Code(c))
	}
	coretest.CheckErrorCodes(t, "alknet-call", codes)
	texts := map[client.AdapterErrorKind]string{client.DiscoveryFailed: "discovery failed", client.SchemaParse: "schema parse error",
		client.Transport: "transport error", client.Unauthorized: "unauthorized", client.SamePeerCollision: "same-peer collision"}
	for _, s := range []*client.AdapterError{client.ErrDiscoveryFailed, client.ErrSchemaParse, client.ErrTransport, client.ErrUnauthorized, client.ErrSamePeerCollision} {
		if !slices.Contains(client.Codes(), s.ErrorCode()) || s.Error() != texts[s.Kind] {
			t.Errorf("%v: code %s text %q", s.Kind, s.ErrorCode(), s.Error())
		}
		e := &client.AdapterError{Kind: s.Kind, Message: "m", Err: context.Canceled}
		if !errors.Is(e, s) || !errors.Is(e, context.Canceled) || e.Error() != texts[s.Kind]+": m" {
			t.Errorf("%v: Is/Unwrap/Error broken: %q", s.Kind, e.Error())
		}
	}
}

// Test 57: a reconnect imports into a fresh set; the old set's handlers fail with connection
// closed (retryable) and the old set no longer resolves anything [ADPT-R14, REG-R19].
func TestReimportFreshSet(t *testing.T) {
	t.Parallel()
	cc := remoteNode(t, standard)
	if err := client.ImportAndAttach(t.Context(), cc, client.FromCallConfig{}, nil); err != nil {
		t.Fatal(err)
	}
	old, ok := cc.Imported().Lookup("container/exec")
	if !ok {
		t.Fatal("not imported")
	}
	_ = cc.Close()
	<-cc.Done()
	if _, ok := cc.Imported().Lookup("container/exec"); ok {
		t.Error("the ended connection's set still resolves")
	}
	_, err := old.Handler.Handle(t.Context(), &registry.OperationContext{}, json.RawMessage(`{"cmd":"ls"}`))
	var ce *callerr.CallError
	if !errors.As(err, &ce) || ce.Code != callerr.Internal || ce.Message != "connection closed" || !ce.Retryable {
		t.Errorf("old handler = %v", err)
	}
	fresh := remoteNode(t, standard)
	if err := client.ImportAndAttach(t.Context(), fresh, client.FromCallConfig{}, nil); err != nil {
		t.Fatal(err)
	}
	if fresh.Imported() == cc.Imported() || len(fresh.Imported().Names()) != 2 {
		t.Error("the reconnect did not import into a fresh set")
	}
}

// ADPT-R7: services/schema calls run concurrently, at most 8 in flight, and the first failure
// cancels the others (which observe the abort) and is returned.
func TestFromCallSchemaConcurrency(t *testing.T) {
	t.Parallel()
	var inflight, peak, started atomic.Int64
	var barrier atomic.Pointer[chan struct{}]
	first := make(chan struct{})
	barrier.Store(&first)
	aborted := make(chan struct{}, 32)
	failing := atomic.Bool{}
	cc := remoteNode(t, func(b *registry.Builder) {
		b.Local(registry.OperationSpec{Name: "services/list", Type: registry.Query, Visibility: registry.External},
			registry.HandlerFunc(func(context.Context, *registry.OperationContext, json.RawMessage) (json.RawMessage, error) {
				var ops []string
				for i := range 20 {
					ops = append(ops, fmt.Sprintf(`{"name":"n/op%02d"}`, i))
				}
				return json.RawMessage(`{"operations":[` + strings.Join(ops, ",") + `]}`), nil
			}), nil, nil, secret.Capabilities{})
		b.Local(registry.OperationSpec{Name: "services/schema", Type: registry.Query, Visibility: registry.External},
			registry.HandlerFunc(func(ctx context.Context, _ *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
				n := inflight.Add(1)
				defer inflight.Add(-1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				if started.Add(1) == 8 {
					close(*barrier.Load()) // 8 calls are in flight at once
				}
				var req struct{ Name string }
				_ = json.Unmarshal(in, &req)
				if failing.Load() {
					if req.Name == "n/op00" {
						<-*barrier.Load()
						return nil, callerr.New(callerr.Forbidden, "no")
					}
					<-ctx.Done()
					aborted <- struct{}{}
					return nil, ctx.Err()
				}
				select {
				case <-*barrier.Load():
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				return json.RawMessage(fmt.Sprintf(`{"name":%q,"op_type":"query"}`, req.Name)), nil
			}), nil, nil, secret.Capabilities{})
	})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	regs, err := client.FromCall(ctx, cc, client.FromCallConfig{})
	if err != nil || len(regs) != 20 {
		t.Fatalf("FromCall: %d %v", len(regs), err)
	}
	if p := peak.Load(); p > 8 || p < 2 {
		t.Errorf("peak in flight %d, want 2..8", p)
	}
	// First failure cancels the rest.
	failing.Store(true)
	second := make(chan struct{})
	barrier.Store(&second)
	started.Store(0)
	_, err = client.FromCall(ctx, cc, client.FromCallConfig{})
	if !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("failing import = %v", err)
	}
	<-aborted // at least one sibling observed the abort
}

// Test 53: the connection closing mid-import → Transport [ADPT-R5].
func TestFromCallConnectionClosedMidImport(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{}, 1)
	cc := remoteNode(t, func(b *registry.Builder) {
		b.Local(registry.OperationSpec{Name: "services/list", Type: registry.Query, Visibility: registry.External},
			registry.HandlerFunc(func(context.Context, *registry.OperationContext, json.RawMessage) (json.RawMessage, error) {
				return json.RawMessage(`{"operations":[{"name":"a/b"}]}`), nil
			}), nil, nil, secret.Capabilities{})
		b.Local(registry.OperationSpec{Name: "services/schema", Type: registry.Query, Visibility: registry.External},
			registry.HandlerFunc(func(ctx context.Context, _ *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
				entered <- struct{}{}
				<-ctx.Done()
				return nil, ctx.Err()
			}), nil, nil, secret.Capabilities{})
	})
	go func() {
		<-entered
		_ = cc.Close()
	}()
	_, err := client.FromCall(t.Context(), cc, client.FromCallConfig{})
	if !errors.Is(err, client.ErrTransport) || !errors.Is(err, protocol.ErrConnectionClosed) {
		t.Fatalf("err = %v", err)
	}
}
