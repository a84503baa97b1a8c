package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/conn"
	"github.com/alknet/alknet/alknet-core/coretest"
)

// serveConn runs cc until cleanup, which closes it gracefully and waits for Serve.
func serveConn(t *testing.T, cc *protocol.CallConnection) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cc.Serve(context.WithoutCancel(t.Context())) }()
	t.Cleanup(func() {
		_ = cc.Close()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Errorf("Serve did not return")
		}
	})
}

// dialInto connects a client with an empty registry to server over real QUIC on loopback; the
// server sees the client as caller (nil = anonymous). It returns the client's end.
func dialInto(t *testing.T, server *registry.Registry, caller *auth.Identity, logger *slog.Logger) *protocol.CallConnection {
	t.Helper()
	cl, sv := coretest.Pair(t, protocol.ALPN)
	var opts []protocol.ConnOption
	if caller != nil {
		opts = append(opts, protocol.WithConnIdentity(caller))
	}
	return engines(t, cl, sv, server, logger, opts...)
}

// engines runs a client engine with an empty registry on cl and server's engine on sv, attached
// with opts, and returns the client's end.
func engines(t *testing.T, cl, sv *conn.Connection, server *registry.Registry, logger *slog.Logger, opts ...protocol.ConnOption) *protocol.CallConnection {
	t.Helper()
	client := (&protocol.Dispatcher{Invoker: mustBuild(t, registry.NewBuilder())}).Attach(cl)
	srv := (&protocol.Dispatcher{Invoker: server, Options: protocol.Options{Logger: logger}}).Attach(sv, opts...)
	serveConn(t, client)
	serveConn(t, srv)
	return client
}

// Tests 11 and 60 over QUIC [REG-R12]: an Internal op and an absent one answer byte-identical
// call.error payloads apart from the echoed name; neither is listed.
func TestWireInternalNotFound(t *testing.T) {
	t.Parallel()
	r := mustBuild(t, installDiscovery(registry.NewBuilder().Local(internalSpec("audit/record"), echo, nil, nil, noCaps)))
	c := dialInto(t, r, ident("alice"), nil)
	_, e1 := c.Call(t.Context(), "/audit/record", json.RawMessage(`{}`))
	_, e2 := c.Call(t.Context(), "/audit/recorX", json.RawMessage(`{}`))
	w1 := strings.Replace(wireError(t, e1), "audit/record", "NAME", 1)
	w2 := strings.Replace(wireError(t, e2), "audit/recorX", "NAME", 1)
	if w1 != w2 || codeOf(e1) != callerr.NotFound {
		t.Errorf("internal %s\nabsent   %s", w1, w2)
	}
	out, err := c.Call(t.Context(), "/services/list", nil)
	if err != nil || strings.Contains(string(out), "audit") {
		t.Errorf("services/list = %s, %v", out, err)
	}
	if _, err := c.Call(t.Context(), "/services/schema", map[string]string{"name": "audit/record"}); codeOf(err) != callerr.NotFound {
		t.Errorf("services/schema of an internal op = %v", err)
	}
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// Test 62 over QUIC [FWD-R2, ACL-R7]: a forwarded_for claim authorizes nothing.
func TestWireForwardedForSpoofing(t *testing.T) {
	t.Parallel()
	claims := make(chan *registry.ForwardedIdentity, 1)
	h := registry.HandlerFunc(func(_ context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		claims <- oc.ForwardedFor()
		return json.RawMessage(`"ran"`), nil
	})
	r := mustBuild(t, installDiscovery(registry.NewBuilder().Local(ext("adm/op", "admin"), h, nil, nil, noCaps)))
	spoof := &registry.ForwardedIdentity{ID: "admin", Scopes: []string{"admin", "*"}, Resources: map[string][]string{}}
	c := dialInto(t, r, ident("peer"), nil)
	if _, err := c.Call(t.Context(), "/adm/op", nil, protocol.WithForwardedFor(spoof)); codeOf(err) != callerr.Forbidden {
		t.Errorf("spoofed claim = %v", err)
	}
	plain, _ := c.Call(t.Context(), "/services/list", nil)
	withClaim, _ := c.Call(t.Context(), "/services/list", nil, protocol.WithForwardedFor(spoof))
	if string(plain) != string(withClaim) {
		t.Errorf("services/list differs with a claim:\n%s\n%s", plain, withClaim)
	}
	admin := dialInto(t, r, ident("peer", "admin"), nil)
	if out, err := admin.Call(t.Context(), "/adm/op", nil, protocol.WithForwardedFor(spoof)); err != nil || string(out) != `"ran"` {
		t.Fatalf("with the scope: %s, %v", out, err)
	}
	if got := <-claims; got == nil || got.ID != "admin" || len(got.Scopes) != 2 {
		t.Errorf("handler saw claim %+v", got)
	}
}

// Test 84 [DSP-R5, DSP-R6]: AbortCaller ends alice's wire call on a QUIC connection, her call
// made through ServeCall as the HTTP gateway makes it, and her subscription; bob's call
// completes; the edge answers FORBIDDEN "credentials revoked".
func TestWireAbortCaller(t *testing.T) {
	t.Parallel()
	entered := make(chan string, 8)
	release := make(chan struct{})
	block := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		entered <- oc.Identity().ID
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-release:
			return json.RawMessage(`"done"`), nil
		}
	})
	subSpec := ext("s/block")
	subSpec.Type = registry.Subscription
	blockStream := registry.StreamHandlerFunc(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage, emit registry.Emit) error {
		entered <- oc.Identity().ID
		if err := emit(json.RawMessage(`"first"`)); err != nil {
			return err
		}
		<-ctx.Done()
		return ctx.Err()
	})
	r := mustBuild(t, registry.NewBuilder().Local(ext("b/block"), block, nil, nil, noCaps).LocalStream(subSpec, blockStream, nil, nil, noCaps))
	alice := dialInto(t, r, ident("alice"), nil)
	bob := dialInto(t, r, ident("bob"), nil)

	type res struct {
		name string
		err  error
	}
	results := make(chan res, 4)
	go func() {
		_, err := alice.Call(t.Context(), "/b/block", nil)
		results <- res{"alice-wire", err}
	}()
	go func() {
		_, err := r.ServeCall(t.Context(), registry.WireCall{RequestID: "gw-1", Operation: "/b/block", Identity: ident("alice")}, nil)
		results <- res{"alice-gateway", err}
	}()
	sub, err := alice.Subscribe(t.Context(), "/s/block", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	go func() {
		_, err := bob.Call(t.Context(), "/b/block", nil)
		results <- res{"bob", err}
	}()
	for range 4 {
		<-entered
	}
	if v, err := sub.Next(t.Context()); err != nil || string(v) != `"first"` {
		t.Fatalf("first item %s, %v", v, err)
	}
	if n := r.AbortCaller("alice", callerr.ErrRevoked); n != 3 {
		t.Errorf("AbortCaller = %d, want 3", n)
	}
	revoked := func(err error) bool {
		ce, ok := errors.AsType[*callerr.CallError](err)
		return ok && ce.Code == callerr.Forbidden && ce.Message == "credentials revoked" && !ce.Retryable
	}
	for range 2 {
		r := <-results
		switch r.name {
		case "alice-wire":
			if !revoked(r.err) {
				t.Errorf("alice's wire call ended with %v", r.err)
			}
		case "alice-gateway":
			if r.err != callerr.ErrRevoked {
				t.Errorf("alice's gateway call ended with %v", r.err)
			}
		default:
			t.Errorf("%s ended early: %v", r.name, r.err)
		}
	}
	if _, err := sub.Next(t.Context()); !revoked(err) {
		t.Errorf("alice's subscription ended with %v", err)
	}
	close(release)
	if r := <-results; r.name != "bob" || r.err != nil {
		t.Errorf("%s = %v", r.name, r.err)
	}
	if n := registry.InflightSize(r); n != 0 {
		t.Errorf("index holds %d entries", n)
	}
}

// Tests 85 and 75 over QUIC [DSP-R6, CTX-R7, CALLP-R113]: revocation reaches a forwarded call on
// a second node, and the forwarding leaf passes the invocation's traceparent on.
func TestWireRevocationAcrossNodes(t *testing.T) {
	t.Parallel()
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	remoteEntered := make(chan string, 1)
	remoteCancelled := make(chan struct{})
	remote := mustBuild(t, registry.NewBuilder().Local(ext("w/work"), registry.HandlerFunc(
		func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
			remoteEntered <- oc.TraceParent()
			<-ctx.Done()
			close(remoteCancelled)
			return nil, ctx.Err()
		}), nil, nil, noCaps))
	toRemote := dialInto(t, remote, ident("head"), nil)
	// A forwarding leaf the way from_call builds one (ADPT-R11): the handler's ctx, its traceparent.
	forward := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		return toRemote.Call(ctx, "/w/work", in, protocol.WithParent(oc.RequestID()), protocol.WithTraceParent(oc.TraceParent()))
	})
	scope := registry.NewScopedEnv("w/work")
	head := mustBuild(t, registry.NewBuilder().
		Leaf(internalSpec("w/work"), forward, registry.FromOpenAPI, noCaps).
		Local(ext("jobs/run"), registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
			return oc.Env().Invoke(ctx, "w/work", nil)
		}), &registry.CompositionAuthority{Label: "jobs-runner"}, &scope, noCaps))
	alice := dialInto(t, head, ident("alice"), nil)
	done := make(chan error, 1)
	go func() {
		_, err := alice.Call(t.Context(), "/jobs/run", nil, protocol.WithTraceParent(tp))
		done <- err
	}()
	if got := <-remoteEntered; got != tp {
		t.Errorf("remote traceparent %q, want %q", got, tp)
	}
	if n := head.AbortCaller("alice", callerr.ErrRevoked); n != 1 {
		t.Errorf("AbortCaller = %d", n)
	}
	select {
	case <-remoteCancelled:
	case <-t.Context().Done():
		t.Fatal("remote handler never saw the abort")
	}
	if err := <-done; codeOf(err) != callerr.Forbidden {
		t.Errorf("alice's call = %v", err)
	}
	if n := registry.InflightSize(head); n != 0 {
		t.Errorf("head index holds %d entries", n)
	}
}

// Test 65 over QUIC [ACL-R2, DISC-R2]: an anonymous peer calls and sees only unrestricted ops.
func TestWireAnonymousPeer(t *testing.T) {
	t.Parallel()
	r := mustBuild(t, installDiscovery(registry.NewBuilder().
		Local(ext("open/op"), constant(`"open"`), nil, nil, noCaps).
		Local(ext("closed/op", "x"), constant(`"closed"`), nil, nil, noCaps)))
	c := dialInto(t, r, nil, nil)
	if out, err := c.Call(t.Context(), "/open/op", nil); err != nil || string(out) != `"open"` {
		t.Errorf("open op: %s, %v", out, err)
	}
	if _, err := c.Call(t.Context(), "/closed/op", nil); codeOf(err) != callerr.Forbidden {
		t.Errorf("restricted op: %v", err)
	}
	out, err := c.Call(t.Context(), "/services/list", nil)
	if err != nil {
		t.Fatal(err)
	}
	if names := listedNames(t, out); strings.Join(names, ",") != "open/op,services/list,services/schema" {
		t.Errorf("anonymous listing %v", names)
	}
}
