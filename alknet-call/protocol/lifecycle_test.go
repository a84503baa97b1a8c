package protocol_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/coretest"
)

// T-CALLP-62: single-stream mode over net.Pipe carries calls, subscriptions and aborts in both
// directions on the one stream (CALLP-R83).
func TestSingleStream(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	cause := make(chan error, 1)
	count := registry.StreamHandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage, emit registry.Emit) error {
		for i := range 100 {
			if err := emit(json.RawMessage(fmt.Sprint(i))); err != nil {
				return err
			}
		}
		return nil
	})
	block := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		close(started)
		<-ctx.Done()
		cause <- context.Cause(ctx)
		return nil, ctx.Err()
	})
	d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"a/echo": echo()}, nil)}
	d2 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"b/echo": echo(), "b/count": count, "b/block": block}, nil)}
	a, b := pipePair(t, d1, d2, nil, nil)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if out, err := a.Call(t.Context(), "b/echo", i); err != nil || string(out) != fmt.Sprint(i) {
				t.Errorf("a→b %d: %s %v", i, out, err)
			}
		})
		wg.Go(func() {
			if out, err := b.Call(t.Context(), "a/echo", i); err != nil || string(out) != fmt.Sprint(i) {
				t.Errorf("b→a %d: %s %v", i, out, err)
			}
		})
	}
	wg.Wait()
	sub, err := a.Subscribe(t.Context(), "b/count", nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for v, err := range sub.All(t.Context()) {
		if err != nil || string(v) != fmt.Sprint(n) {
			t.Fatalf("value %d: %s %v", n, v, err)
		}
		n++
	}
	if n != 100 {
		t.Fatalf("%d values", n)
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { _, err := a.Call(ctx, "b/block", nil); errc <- err }()
	<-started
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("aborted call = %v", err)
	}
	if got := <-cause; !errors.Is(got, callerr.ErrAborted) {
		t.Fatalf("handler cause = %v", got)
	}
	if a.RemoteFingerprint() != "" {
		t.Error("pipe connection reports a fingerprint")
	}
	waitEmpty(t, a, b)
}

// T-CALLP-68: single-stream overload answers INTERNAL overloaded at once (CALLP-R156).
func TestSingleStreamOverload(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var entered sync.WaitGroup
	entered.Add(2)
	hold := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		entered.Done()
		<-release
		return in, nil
	})
	d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"a/echo": echo()}, nil)}
	d2 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"b/hold": hold}, nil), Options: protocol.Options{MaxConcurrentInbound: 2}}
	a, b := pipePair(t, d1, d2, nil, nil)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { _, _ = a.Call(t.Context(), "b/hold", nil) })
	}
	entered.Wait()
	_, err := a.Call(t.Context(), "b/hold", nil)
	if ce, ok := errors.AsType[*callerr.CallError](err); !ok || ce.Message != "overloaded" || !ce.Retryable {
		t.Fatalf("third call = %v, want INTERNAL overloaded", err)
	}
	if out, err := b.Call(t.Context(), "a/echo", 7); err != nil || string(out) != "7" {
		t.Fatalf("own call while saturated: %s %v", out, err)
	}
	close(release)
	wg.Wait()
}

// T-CALLP-85, T-CALLP-86: Revoke closes connections of the identity and cancels its requests on
// other connections.
func TestRevoke(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 4)
	causes := make(chan error, 4)
	block := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		started <- struct{}{}
		<-ctx.Done()
		causes <- context.Cause(ctx)
		return nil, ctx.Err()
	})
	prov := &tokens{ids: map[string]auth.Identity{"alk_alice": {ID: "alice"}}}
	reg := newRegistry(t, ops{"x/block": block, "x/echo": echo()}, nil)
	hub := &protocol.Dispatcher{Invoker: reg, Identities: prov}
	other := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
	// Connection 1: an anonymous client that calls with alice's token.
	c1, _, _, _ := pair(t, other, hub, nil, nil)
	// Connection 2: peer worker-b.
	worker := &auth.Identity{ID: "worker-b", Origin: auth.OriginPeer}
	c2, acc2, raw2, _ := pair(t, other, hub, nil, []protocol.ConnOption{protocol.WithConnIdentity(worker)})
	// A single-stream session of browser-1 attached with WithCallerIdentity.
	browser := &auth.Identity{ID: "browser-1", Origin: auth.OriginPeer}
	p1, p2 := pipePair(t, other, hub, nil, []protocol.ConnOption{protocol.WithCallerIdentity(browser)})
	if _, ok := p2.PeerID(); ok {
		t.Error("WithCallerIdentity gave a PeerID")
	}

	errs := make(chan error, 2)
	go func() {
		_, err := c1.Call(t.Context(), "x/block", nil, protocol.WithAuthToken(auth.NewAuthToken([]byte("alk_alice"))))
		errs <- err
	}()
	go func() { _, err := c2.Call(t.Context(), "x/block", nil); errs <- err }()
	<-started
	<-started
	res := hub.Revoke("alice")
	if res.Connections != 0 || res.Requests != 1 {
		t.Errorf("Revoke(alice) = %+v", res)
	}
	err := <-errs
	if ce, ok := errors.AsType[*callerr.CallError](err); !ok || ce.Code != callerr.Forbidden || ce.Message != "credentials revoked" {
		t.Fatalf("alice's call = %v", err)
	}
	if !errors.Is(<-causes, callerr.ErrRevoked) {
		t.Error("alice's handler not cancelled with ErrRevoked")
	}
	if out, err := c1.Call(t.Context(), "x/echo", 1); err != nil || string(out) != "1" {
		t.Fatalf("connection 1 unusable after revoking alice: %v", err)
	}
	res = hub.Revoke("worker-b")
	if res.Connections != 1 {
		t.Errorf("Revoke(worker-b) = %+v", res)
	}
	if err := <-errs; !errors.Is(err, protocol.ErrConnectionClosed) {
		t.Fatalf("worker-b's call = %v", err)
	}
	if code, _, ok := coretest.CloseCode(t, raw2); !ok || code != 0x03 {
		t.Errorf("worker-b's end saw close code %d (ok %v), want 0x03", code, ok)
	}
	<-acc2.Done()
	if res := hub.Revoke("browser-1"); res.Connections != 1 {
		t.Errorf("Revoke(browser-1) = %+v", res)
	}
	<-p2.Done()
	<-p1.Done()
}

// T-CALLP-59, T-CALLP-87: graceful close answers new requests "shutting down", lets short ones
// finish, and the peer marks the connection draining.
func TestGracefulClose(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 2)
	abortedCause := make(chan error, 1)
	long := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		started <- struct{}{}
		<-ctx.Done()
		if string(in) == `"abort me"` {
			abortedCause <- context.Cause(ctx)
		}
		return nil, ctx.Err()
	})
	d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
	d2 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"x/long": long, "x/echo": echo()}, nil),
		Options: protocol.Options{ShutdownGrace: 2 * time.Second}}
	cl, sv := coretest.Pair(t, protocol.ALPN)
	c := d1.Attach(cl)
	serve(t, c)
	acc := d2.Attach(sv)
	served := make(chan error, 1)
	go func() { served <- acc.Serve(t.Context()) }()
	if c.Draining() {
		t.Fatal("fresh connection draining")
	}
	errc := make(chan error, 1)
	go func() { _, err := c.Call(t.Context(), "x/long", nil); errc <- err }()
	actx, cancel := context.WithCancel(t.Context())
	abortErr := make(chan error, 1)
	go func() { _, err := c.Call(actx, "x/long", "abort me"); abortErr <- err }()
	<-started
	<-started
	_ = acc.Close()
	if !acc.Draining() {
		t.Fatal("Close did not set Draining")
	}
	_, err := c.Call(t.Context(), "x/echo", 1)
	if ce, ok := errors.AsType[*callerr.CallError](err); !ok || ce.Message != "shutting down" || !ce.Retryable {
		t.Fatalf("request during grace = %v", err)
	}
	if !c.Draining() {
		t.Error("peer not draining after a shutting down answer")
	}
	cancel() // an abort sent during the grace period still cancels its request
	if err := <-abortErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("aborted call = %v", err)
	}
	if got := <-abortedCause; !errors.Is(got, callerr.ErrAborted) {
		t.Fatalf("aborted handler cause = %v", got)
	}
	err = <-errc
	if ce, ok := errors.AsType[*callerr.CallError](err); !ok || ce.Message != "shutting down" {
		t.Fatalf("long request = %v", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve = %v", err)
	}
	_ = sv.Close(0x02, "shutdown")
}

// T-CALLP-59: behind a real endpoint, shutdown with core's default drain timeout lets the
// engine write "shutting down" for a long request before the connection is closed (CALLP-R82).
func TestEndpointShutdown(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	long := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	d := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"x/long": long}, nil)}
	node := coretest.StartEndpoint(t, protocol.NewCallAdapter(d))
	cl := node.Dial(t, protocol.ALPN, nil)
	c := (&protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}).Attach(cl)
	serve(t, c)
	errc := make(chan error, 1)
	go func() { _, err := c.Call(t.Context(), "x/long", nil); errc <- err }()
	<-started
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := node.Endpoint.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	err := <-errc
	if ce, ok := errors.AsType[*callerr.CallError](err); !ok || ce.Code != callerr.Internal || ce.Message != "shutting down" || !ce.Retryable {
		t.Fatalf("long call = %v, want INTERNAL shutting down", err)
	}
}
