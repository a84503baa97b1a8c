package protocol_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/secret"
)

// nbRegistry registers every handler of nb as a NonBlocking Query and every handler of plain as
// an ordinary one.
func nbRegistry(t testing.TB, nb, plain map[string]registry.HandlerFunc) *registry.Registry {
	t.Helper()
	b := registry.NewBuilder()
	for name, h := range nb {
		b.Add(&registry.HandlerRegistration{
			Spec:    registry.OperationSpec{Name: name, Visibility: registry.External, Type: registry.Query},
			Handler: h, Provenance: registry.Local, NonBlocking: true,
		})
	}
	for name, h := range plain {
		b.Local(registry.OperationSpec{Name: name, Visibility: registry.External, Type: registry.Query}, h, nil, nil, secret.Capabilities{})
	}
	r, err := b.Build()
	if err != nil {
		t.Fatalf("build registry: %v", err)
	}
	return r
}

// blocker returns a handler that reports its start, waits for release or the end of its
// context, and reports the context's cause.
func blocker(started chan<- struct{}, release <-chan struct{}, cause chan<- error) registry.HandlerFunc {
	return func(ctx context.Context, _ *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		started <- struct{}{}
		select {
		case <-release:
			return in, nil
		case <-ctx.Done():
			cause <- context.Cause(ctx)
			return nil, ctx.Err()
		}
	}
}

// A NonBlocking handler runs on the reader of its request stream: while it runs, the next request
// of that stream is not read (the documented cost of breaking the promise), so a call queued
// behind it on the single pooled stream times out at its caller; once it returns, the stream
// serves again. Requests carrying an auth_token never run in place (the identity provider may
// block), so they pass a stuck NonBlocking handler.
func TestNonBlockingRunsOnTheStreamReader(t *testing.T) {
	t.Parallel()
	started, release, cause := make(chan struct{}, 1), make(chan struct{}), make(chan error, 1)
	reg := nbRegistry(t, map[string]registry.HandlerFunc{"x/nb": blocker(started, release, cause)},
		map[string]registry.HandlerFunc{"x/echo": echo()})
	d1 := &protocol.Dispatcher{Invoker: nbRegistry(t, nil, nil), Options: protocol.Options{RequestStreams: 1}}
	d2 := &protocol.Dispatcher{Invoker: reg}
	c, acc, _, _ := pair(t, d1, d2, nil, nil)

	first := make(chan error, 1)
	go func() {
		_, err := c.Call(t.Context(), "x/nb", 1)
		first <- err
	}()
	<-started
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	_, err := c.Call(ctx, "x/echo", 2)
	cancel()
	if codeOf(err) != callerr.Timeout {
		t.Fatalf("call queued behind a running NonBlocking handler = %v, want TIMEOUT", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("NonBlocking call: %v", err)
	}
	if out, err := c.Call(t.Context(), "x/echo", 3); err != nil || string(out) != "3" {
		t.Fatalf("echo after the handler returned = %s, %v", out, err)
	}
	waitEmpty(t, c, acc)
}

// A request with an auth_token goes to a worker even for a NonBlocking operation.
func TestNonBlockingWithTokenUsesAWorker(t *testing.T) {
	t.Parallel()
	started, release, cause := make(chan struct{}, 2), make(chan struct{}), make(chan error, 2)
	reg := nbRegistry(t, map[string]registry.HandlerFunc{"x/nb": blocker(started, release, cause)},
		map[string]registry.HandlerFunc{"x/echo": echo()})
	prov := &tokens{ids: map[string]auth.Identity{"alk_t": {ID: "alice", Scopes: []string{}, Origin: auth.OriginAPIKey}}}
	d1 := &protocol.Dispatcher{Invoker: nbRegistry(t, nil, nil), Options: protocol.Options{RequestStreams: 1}}
	d2 := &protocol.Dispatcher{Invoker: reg, Identities: prov}
	c, acc, _, _ := pair(t, d1, d2, []protocol.ConnOption{protocol.WithOutgoingAuthToken(auth.NewAuthToken([]byte("alk_t")))}, nil)

	first := make(chan error, 1)
	go func() {
		_, err := c.Call(t.Context(), "x/nb", 1)
		first <- err
	}()
	<-started
	if out, err := c.Call(t.Context(), "x/echo", 2); err != nil || string(out) != "2" {
		t.Fatalf("echo next to a running NonBlocking handler with a token = %s, %v", out, err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("NonBlocking call: %v", err)
	}
	waitEmpty(t, c, acc)
}

// CALLP-R130, R131: the deadline of a NonBlocking request still ends it: the caller gets
// TIMEOUT and the handler's context ends with its own deadline (the caller's call.aborted
// travels on the same pooled stream and is read only after the handler returned).
func TestNonBlockingDeadline(t *testing.T) {
	t.Parallel()
	started, cause := make(chan struct{}, 1), make(chan error, 1)
	reg := nbRegistry(t, map[string]registry.HandlerFunc{"x/nb": blocker(started, nil, cause)}, nil)
	d1 := &protocol.Dispatcher{Invoker: nbRegistry(t, nil, nil)}
	d2 := &protocol.Dispatcher{Invoker: reg}
	c, acc, _, _ := pair(t, d1, d2, nil, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Call(ctx, "x/nb", 1) // timeout_ms carries the budget (CALLP-R130)
	if codeOf(err) != callerr.Timeout {
		t.Fatalf("call = %v, want TIMEOUT", err)
	}
	<-started
	if got := <-cause; !errors.Is(got, context.DeadlineExceeded) {
		t.Fatalf("handler cause = %v, want its deadline", got)
	}
	waitEmpty(t, c, acc)
}

// CALLP-R73, R113: an abort that arrives on another stream cancels a running NonBlocking
// handler (stream-per-request mode sends each call.aborted on a stream of its own).
func TestNonBlockingAbortOnAnotherStream(t *testing.T) {
	t.Parallel()
	started, cause := make(chan struct{}, 1), make(chan error, 1)
	reg := nbRegistry(t, map[string]registry.HandlerFunc{"x/nb": blocker(started, nil, cause)}, nil)
	d1 := &protocol.Dispatcher{Invoker: nbRegistry(t, nil, nil), Options: protocol.Options{RequestStreams: -1}}
	d2 := &protocol.Dispatcher{Invoker: reg}
	c, acc, _, _ := pair(t, d1, d2, nil, nil)
	ctx, cancel := context.WithCancel(t.Context())
	go func() { <-started; cancel() }()
	if _, err := c.Call(ctx, "x/nb", 1); !errors.Is(err, context.Canceled) && !errors.Is(err, callerr.ErrAborted) {
		t.Fatalf("cancelled call = %v", err)
	}
	if got := <-cause; !errors.Is(got, callerr.ErrAborted) {
		t.Fatalf("handler cause = %v, want ErrAborted from call.aborted", got)
	}
	waitEmpty(t, c, acc)
}

// CALLP-R150: a NonBlocking request still takes one of the connection's inbound slots; with the
// only slot held it waits (its caller times out) and it never runs, and once the slot is free
// the next one is served.
func TestNonBlockingTakesAnInboundSlot(t *testing.T) {
	t.Parallel()
	started, release, cause := make(chan struct{}, 1), make(chan struct{}), make(chan error, 1)
	var ran atomic.Int32
	reg := nbRegistry(t,
		map[string]registry.HandlerFunc{"x/nb": func(_ context.Context, _ *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
			ran.Add(1)
			return in, nil
		}},
		map[string]registry.HandlerFunc{"x/block": blocker(started, release, cause)})
	d1 := &protocol.Dispatcher{Invoker: nbRegistry(t, nil, nil), Options: protocol.Options{RequestStreams: -1}}
	d2 := &protocol.Dispatcher{Invoker: reg, Options: protocol.Options{MaxConcurrentInbound: 1}}
	c, acc, _, _ := pair(t, d1, d2, nil, nil)

	first := make(chan error, 1)
	go func() {
		_, err := c.Call(t.Context(), "x/block", 1)
		first <- err
	}()
	<-started
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	_, err := c.Call(ctx, "x/nb", 2)
	cancel()
	if codeOf(err) != callerr.Timeout {
		t.Fatalf("NonBlocking call without a free slot = %v, want TIMEOUT", err)
	}
	if n := ran.Load(); n != 0 {
		t.Fatalf("NonBlocking handler ran %d times without a slot", n)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("blocking call: %v", err)
	}
	if out, err := c.Call(t.Context(), "x/nb", 3); err != nil || string(out) != "3" {
		t.Fatalf("NonBlocking call with the slot free = %s, %v", out, err)
	}
	waitEmpty(t, c, acc)
}
