package protocol_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/coretest"
)

// tokens is an in-memory auth.IdentityProvider keyed by token text; it records every token it
// was asked to resolve.
type tokens struct {
	ids  map[string]auth.Identity
	mu   sync.Mutex
	seen []string
}

func (p *tokens) ResolveFingerprint(context.Context, string) (auth.Identity, bool) {
	return auth.Identity{}, false
}

func (p *tokens) ResolveToken(_ context.Context, t auth.AuthToken) (auth.Identity, bool) {
	s := string(t.Bytes())
	p.mu.Lock()
	p.seen = append(p.seen, s)
	p.mu.Unlock()
	id, ok := p.ids[s]
	return id, ok
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// whoami answers with the caller's identity id and forwarded claim.
func whoami() registry.HandlerFunc {
	return func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		out := map[string]string{}
		if id := oc.Identity(); id != nil {
			out["id"] = id.ID
		}
		if f := oc.ForwardedFor(); f != nil {
			out["fwd"] = f.ID
		}
		b, _ := json.Marshal(out)
		return b, nil
	}
}

// T-CALLP-43, T-CALLP-44, T-CALLP-69, T-CALLP-72, T-CALLP-73: per-request identity, forwarded_for
// without authority, outgoing tokens byte for byte, and no token in the logs.
func TestIdentity(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	prov := &tokens{ids: map[string]auth.Identity{
		"alk_alice_token": {ID: "alice", Scopes: []string{"fs:read"}, Origin: auth.OriginAPIKey},
		"alk_hub_token":   {ID: "hub", Scopes: []string{}, Origin: auth.OriginPeer},
	}}
	o := ops{"id/whoami": whoami(), "admin/run": whoami()}
	tw := tweak{"admin/run": func(s *registry.OperationSpec) {
		s.AccessControl = registry.AccessControl{RequiredScopes: []string{"admin"}}
	}}
	d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil), Options: protocol.Options{Logger: logger}}
	d2 := &protocol.Dispatcher{Invoker: newRegistry(t, o, tw), Identities: prov, Options: protocol.Options{Logger: logger}}
	connID := &auth.Identity{ID: "conn-peer", Origin: auth.OriginPeer}
	c, acc, _, _ := pair(t, d1, d2,
		[]protocol.ConnOption{protocol.WithOutgoingAuthToken(auth.NewAuthToken([]byte("alk_hub_token")))},
		[]protocol.ConnOption{protocol.WithConnIdentity(connID)})
	ctx := t.Context()

	if id, ok := acc.PeerID(); !ok || id != "conn-peer" {
		t.Errorf("PeerID = %q, %v", id, ok)
	}
	if _, ok := c.PeerID(); ok {
		t.Error("anonymous connection has a PeerID")
	}
	out, err := c.Call(ctx, "id/whoami", nil) // connection token → hub
	if err != nil || string(out) != `{"id":"hub"}` {
		t.Errorf("connection token: %s %v", out, err)
	}
	out, err = c.Call(ctx, "id/whoami", nil, protocol.WithAuthToken(auth.NewAuthToken([]byte("alk_alice_token"))))
	if err != nil || string(out) != `{"id":"alice"}` {
		t.Errorf("per-call token: %s %v", out, err)
	}
	_, err = c.Call(ctx, "no/such-op", nil, protocol.WithAuthToken(auth.NewAuthToken([]byte("alk_bad_token"))))
	if ce, ok := errors.AsType[*callerr.CallError](err); !ok || ce.Code != callerr.Forbidden || ce.Message != "authentication failed" {
		t.Errorf("bad token: %v", err)
	}
	// forwarded_for naming an admin, a huge timeout and a chosen traceparent grant nothing.
	admin := &registry.ForwardedIdentity{ID: "root", Scopes: []string{"admin"}}
	_, err = c.Call(ctx, "admin/run", nil, protocol.WithForwardedFor(admin),
		protocol.WithTraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
	if codeOf(err) != callerr.Forbidden {
		t.Errorf("forwarded admin: %v, want FORBIDDEN", err)
	}
	out, err = c.Call(ctx, "id/whoami", nil, protocol.WithForwardedFor(&registry.ForwardedIdentity{ID: "alice"}))
	if err != nil || string(out) != `{"fwd":"alice","id":"hub"}` {
		t.Errorf("forwarded metadata: %s %v", out, err)
	}
	// Acceptor → dialer: the default caller identity on the dialer is anonymous.
	prov.mu.Lock()
	seen := strings.Join(prov.seen, ",")
	prov.mu.Unlock()
	if !strings.Contains(seen, "alk_hub_token") || !strings.Contains(seen, "alk_alice_token") {
		t.Errorf("tokens reaching the provider: %s", seen)
	}
	if strings.Contains(logs.String(), "alk_") {
		t.Errorf("a token reached the logs: %s", logs.String())
	}
}

// T-CALLP-64: the authentication budget closes the connection (CALLP-R97).
func TestAuthBudget(t *testing.T) {
	t.Parallel()
	d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
	d2 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"x/echo": echo()}, nil), Identities: &tokens{},
		Options: protocol.Options{MaxAuthFailures: func() int { return 3 }}}
	cl, sv := coretest.Pair(t, protocol.ALPN)
	c := d1.Attach(cl)
	serve(t, c)
	acc := d2.Attach(sv)
	served := make(chan error, 1)
	go func() { served <- acc.Serve(t.Context()) }()
	for i := range 3 {
		_, err := c.Call(t.Context(), "x/echo", nil, protocol.WithAuthToken(auth.NewAuthToken([]byte("alk_wrong"))))
		if codeOf(err) != callerr.Forbidden {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if err := <-served; !errors.Is(err, auth.ErrAuthRequired) {
		t.Fatalf("Serve = %v, want ErrAuthRequired", err)
	}
	_ = sv.Close(0x03, "authentication required")
}

// T-CALLP-69 and the accept path: a CallAdapter behind a real endpoint reports the client's
// fingerprint and address.
func TestAdapterRemoteFacts(t *testing.T) {
	t.Parallel()
	var got atomic.Pointer[protocol.CallConnection]
	hooked := make(chan struct{})
	d := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"x/echo": echo()}, nil)}
	node := coretest.StartEndpoint(t, protocol.NewCallAdapter(d, protocol.WithAcceptHook(func(ctx context.Context, c *protocol.CallConnection) error {
		got.Store(c)
		close(hooked)
		return nil
	})))
	id, fp := coretest.NewIdentity(t)
	cl := node.Dial(t, protocol.ALPN, &id)
	dc := (&protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}).Attach(cl)
	serve(t, dc)
	if out, err := dc.Call(t.Context(), "x/echo", "hi"); err != nil || string(out) != `"hi"` {
		t.Fatalf("call through the endpoint: %s %v", out, err)
	}
	<-hooked
	acc := got.Load()
	if acc.RemoteFingerprint() != fp {
		t.Errorf("RemoteFingerprint = %q, want %q", acc.RemoteFingerprint(), fp)
	}
	if acc.RemoteAddr() == nil {
		t.Error("RemoteAddr is nil")
	}
}

// CALLP-R9: a panicking accept hook is recovered and the connection keeps serving.
func TestAcceptHookPanic(t *testing.T) {
	t.Parallel()
	d := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"x/echo": echo()}, nil)}
	node := coretest.StartEndpoint(t, protocol.NewCallAdapter(d, protocol.WithAcceptHook(func(context.Context, *protocol.CallConnection) error {
		panic("hook bug")
	})))
	dc := (&protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}).Attach(node.Dial(t, protocol.ALPN, nil))
	serve(t, dc)
	if out, err := dc.Call(t.Context(), "x/echo", 5); err != nil || string(out) != "5" {
		t.Fatalf("call after a hook panic: %s %v", out, err)
	}
}
