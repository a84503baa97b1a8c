package protocol_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-call/wire"
)

// T-CALLP-40: a call in each direction over one connection (CALLP-R4, R70).
func TestCallBothDirections(t *testing.T) {
	t.Parallel()
	d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"client/echo": echo()}, nil)}
	d2 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"server/echo": echo()}, nil)}
	dialer, acceptor, _, _ := pair(t, d1, d2, nil, nil)
	if dialer.Answered() || acceptor.Answered() {
		t.Fatal("Answered() is true before any request")
	}
	out, err := dialer.Call(t.Context(), "server/echo", map[string]int{"a": 1})
	if err != nil || string(out) != `{"a":1}` {
		t.Fatalf("dialer→acceptor: %s, %v", out, err)
	}
	// CALLP-R82: only the side that was asked has answers of its own that may be in flight.
	if dialer.Answered() || !acceptor.Answered() {
		t.Fatalf("after one call: dialer.Answered() = %v, acceptor.Answered() = %v; want false, true", dialer.Answered(), acceptor.Answered())
	}
	out, err = acceptor.Call(t.Context(), "/client/echo", json.RawMessage(`[1, 2]`))
	if err != nil || string(out) != `[1,2]` {
		t.Fatalf("acceptor→dialer: %s, %v", out, err)
	}
	waitEmpty(t, dialer, acceptor)
}

// T-CALLP-41, T-CALLP-67, §20.6 4: names, domain errors with details, local input checks.
func TestErrorsAndNames(t *testing.T) {
	t.Parallel()
	fail := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		return nil, callerr.New(callerr.NotFound, "file not found: /nope").WithDetails(map[string]string{"path": "/nope"})
	})
	d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
	d2 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"fs/read": echo(), "fs/fail": fail}, nil)}
	c, _, _, _ := pair(t, d1, d2, nil, nil)
	ctx := t.Context()
	if out, err := c.Call(ctx, "/fs/read", `<b>`); err != nil || string(out) != `"<b>"` {
		t.Errorf("wire form name: %s, %v", out, err)
	}
	_, err := c.Call(ctx, "fs/missing", nil)
	if ce, ok := errors.AsType[*callerr.CallError](err); !ok || ce.Code != callerr.NotFound || ce.Message != "operation not found: fs/missing" {
		t.Errorf("missing op: %v", err)
	}
	if _, err := c.Call(ctx, "//fs/read", nil); codeOf(err) != callerr.NotFound {
		t.Errorf("//fs/read: %v, want NOT_FOUND", err)
	}
	_, err = c.Call(ctx, "fs/fail", nil)
	if ce, ok := errors.AsType[*callerr.CallError](err); !ok || string(ce.Details) != `{"path":"/nope"}` {
		t.Errorf("error with details: %#v", err)
	}
	// CALLP-R109: invalid raw input fails locally.
	_, err = c.Call(ctx, "fs/read", json.RawMessage(`{"a":`))
	if ce, ok := errors.AsType[*callerr.CallError](err); !ok || ce.Code != callerr.InvalidInput || ce.Message != "input is not valid JSON" {
		t.Errorf("invalid raw input: %v", err)
	}
	if _, err := c.Call(ctx, "fs/read", make(chan int)); codeOf(err) != callerr.InvalidInput {
		t.Errorf("unmarshalable input: %v", err)
	}
}

// T-CALLP-45, T-CALLP-46, T-CALLP-47: panics, Go errors and oversize responses (CALLP-R93..R95).
func TestHandlerFailures(t *testing.T) {
	t.Parallel()
	o := ops{
		"x/panic": registry.HandlerFunc(func(context.Context, *registry.OperationContext, json.RawMessage) (json.RawMessage, error) {
			panic("boom")
		}),
		"x/secret": registry.HandlerFunc(func(context.Context, *registry.OperationContext, json.RawMessage) (json.RawMessage, error) {
			return nil, errors.New("dial https://user:alk_secret@example.com failed")
		}),
		"x/big": registry.HandlerFunc(func(context.Context, *registry.OperationContext, json.RawMessage) (json.RawMessage, error) {
			return json.RawMessage(`"` + strings.Repeat("x", 2048) + `"`), nil
		}),
		"x/echo": echo(),
	}
	d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
	d2 := &protocol.Dispatcher{Invoker: newRegistry(t, o, nil), Options: protocol.Options{MaxFrameSize: 1024}}
	c, _, _, _ := pair(t, d1, d2, nil, nil)
	ctx := t.Context()
	for _, tc := range []struct{ op, msg string }{
		{"x/panic", "internal error"}, {"x/secret", "internal error"}, {"x/big", "response too large"},
	} {
		_, err := c.Call(ctx, tc.op, nil)
		ce, ok := errors.AsType[*callerr.CallError](err)
		if !ok || ce.Code != callerr.Internal || ce.Message != tc.msg {
			t.Errorf("%s: %v, want INTERNAL %s", tc.op, err, tc.msg)
		}
	}
	if out, err := c.Call(ctx, "x/echo", 1); err != nil || string(out) != "1" {
		t.Errorf("connection unusable after failures: %s %v", out, err)
	}
}

// §20.6 3, T-CALLP-31, T-CALLP-54: subscriptions in order, and the call/subscription crossovers.
func TestSubscriptions(t *testing.T) {
	t.Parallel()
	var producerErr atomic.Value
	count := registry.StreamHandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage, emit registry.Emit) error {
		var n int
		_ = json.Unmarshal(in, &n)
		for i := range n {
			if err := emit(json.RawMessage(fmt.Sprint(i))); err != nil {
				producerErr.Store(err)
				return err
			}
		}
		return nil
	})
	failing := registry.StreamHandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage, emit registry.Emit) error {
		_ = emit(json.RawMessage(`"Hel"`))
		return callerr.New("RATE_LIMITED", "provider rate limit")
	})
	d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
	d2 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"logs/count": count, "logs/fail": failing, "x/echo": echo()}, nil)}
	c, acc, _, _ := pair(t, d1, d2, nil, nil)
	ctx := t.Context()

	sub, err := c.Subscribe(ctx, "logs/count", 1000)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for v, err := range sub.All(ctx) {
		if err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		if string(v) != fmt.Sprint(i) {
			t.Fatalf("value %d = %s", i, v)
		}
		i++
	}
	if i != 1000 {
		t.Fatalf("got %d values, want 1000", i)
	}
	if _, err := sub.Next(ctx); err != io.EOF {
		t.Fatalf("Next after the end = %v, want io.EOF", err)
	}

	sub, _ = c.Subscribe(ctx, "logs/fail", nil)
	if v, err := sub.Next(ctx); err != nil || string(v) != `"Hel"` {
		t.Fatalf("first value: %s %v", v, err)
	}
	if _, err := sub.Next(ctx); codeOf(err) != callerr.Internal && codeOf(err) != "RATE_LIMITED" {
		t.Fatalf("terminal error: %v", err)
	}

	// Subscribe on a Query op: one value, then a normal end (CALLP-R80).
	sub, _ = c.Subscribe(ctx, "x/echo", 5)
	if v, err := sub.Next(ctx); err != nil || string(v) != "5" {
		t.Fatalf("query via Subscribe: %s %v", v, err)
	}
	if _, err := sub.Next(ctx); err != io.EOF {
		t.Fatalf("query via Subscribe end: %v", err)
	}

	// Call on a Subscription op: the first value; the producer is stopped (CALLP-R106).
	out, err := c.Call(ctx, "logs/count", 1_000_000)
	if err != nil || string(out) != "0" {
		t.Fatalf("Call on subscription: %s %v", out, err)
	}
	waitFor(t, "producer stopped", func() bool { return producerErr.Load() != nil })
	waitEmpty(t, c, acc)
}

// Issue requirement, T-CALLP-34: 100 000 values to a slow consumer, in order, none lost
// (CALLP-R102).
func TestSubscriptionBackpressure(t *testing.T) {
	t.Parallel()
	const n = 100_000
	pad := strings.Repeat("v", 240)
	var emitted atomic.Int64
	prod := registry.StreamHandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage, emit registry.Emit) error {
		for i := range n {
			if err := emit(json.RawMessage(fmt.Sprintf(`[%d,"%s"]`, i, pad))); err != nil {
				return err
			}
			emitted.Add(1)
		}
		return nil
	})
	d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil), Options: protocol.Options{SubscriptionBuffer: 4}}
	d2 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"s/prod": prod}, nil)}
	c, _, _, _ := pair(t, d1, d2, nil, nil)
	ctx := t.Context()
	sub, err := c.Subscribe(ctx, "s/prod", nil)
	if err != nil {
		t.Fatal(err)
	}
	// With nobody reading, flow control must stop the producer long before the end: 100 000
	// values of ~250 bytes are far more than QUIC's stream window.
	waitFor(t, "producer progress", func() bool { return emitted.Load() > 1000 })
	if got := emitted.Load(); got >= n {
		t.Fatalf("producer finished %d values with no consumer", got)
	}
	for i := range n {
		v, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		if want := fmt.Sprintf(`[%d,"%s"]`, i, pad); string(v) != want {
			t.Fatalf("value %d = %.40s", i, v)
		}
	}
	if _, err := sub.Next(ctx); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
}

// T-CALLP-35, CALLP-R103: Close on a live subscription aborts it on the producer side.
func TestSubscriptionClose(t *testing.T) {
	t.Parallel()
	stopped := make(chan error, 1)
	prod := registry.StreamHandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage, emit registry.Emit) error {
		for {
			if err := emit(json.RawMessage(`1`)); err != nil {
				stopped <- context.Cause(ctx)
				return err
			}
		}
	})
	d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil), Options: protocol.Options{SubscriptionBuffer: 1}}
	d2 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"s/forever": prod}, nil)}
	c, acc, _, _ := pair(t, d1, d2, nil, nil)
	sub, err := c.Subscribe(t.Context(), "s/forever", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Next(t.Context()); err != nil {
		t.Fatal(err)
	}
	_ = sub.Close()
	if _, err := sub.Next(t.Context()); !errors.Is(err, protocol.ErrSubscriptionClosed) {
		t.Fatalf("Next after Close = %v", err)
	}
	select {
	case cause := <-stopped:
		if !errors.Is(cause, callerr.ErrAborted) && !errors.Is(cause, protocol.ErrStreamClosed) {
			t.Errorf("producer cause = %v, want ErrAborted or ErrStreamClosed", cause)
		}
	case <-t.Context().Done():
		t.Fatal("producer never stopped")
	}
	waitEmpty(t, c, acc)
}

// §20.6 6, T-CALLP-33: cancelling the caller's ctx aborts the remote handler.
func TestAbort(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	cause := make(chan error, 1)
	block := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		close(started)
		<-ctx.Done()
		cause <- context.Cause(ctx)
		return nil, ctx.Err()
	})
	d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
	d2 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"x/block": block}, nil)}
	c, acc, _, _ := pair(t, d1, d2, nil, nil)
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { _, err := c.Call(ctx, "x/block", nil); errc <- err }()
	<-started
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Call = %v, want context.Canceled", err)
	}
	if got := <-cause; !errors.Is(got, callerr.ErrAborted) && !errors.Is(got, protocol.ErrStreamClosed) {
		t.Fatalf("handler cause = %v, want ErrAborted", got)
	}
	waitEmpty(t, c, acc)
}

// T-CALLP-49: the requester's deadline gives a local TIMEOUT and aborts the handler.
func TestRequesterTimeout(t *testing.T) {
	t.Parallel()
	cause := make(chan error, 1)
	block := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		<-ctx.Done()
		cause <- context.Cause(ctx)
		return nil, ctx.Err()
	})
	d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
	d2 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"x/block": block}, nil)}
	c, acc, _, _ := pair(t, d1, d2, nil, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Call(ctx, "x/block", nil)
	if codeOf(err) != callerr.Timeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Call = %v, want local TIMEOUT", err)
	}
	if ce, _ := errors.AsType[*callerr.CallError](err); !ce.Retryable || ce.Message != "request timed out" {
		t.Fatalf("TIMEOUT error = %+v", ce)
	}
	got := <-cause
	if !errors.Is(got, callerr.ErrAborted) && !errors.Is(got, context.DeadlineExceeded) && !errors.Is(got, protocol.ErrStreamClosed) {
		t.Fatalf("handler cause = %v", got)
	}
	waitEmpty(t, c, acc)
}

// T-CALLP-49, CALLP-R137: in fake time the handler side's deadline (read time + timeout_ms, no
// transit time) falls on the requester's own deadline, so its TIMEOUT frame and the requester's
// timer race at the same instant; whichever runs first, the caller gets its local TIMEOUT.
func TestRequesterTimeoutSameInstant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		block := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		})
		d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
		d2 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"x/block": block}, nil)}
		c, _ := pipePair(t, d1, d2, nil, nil)
		for i := range 50 {
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			_, err := c.Call(ctx, "x/block", nil)
			cancel()
			if codeOf(err) != callerr.Timeout || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("call %d = %v, want local TIMEOUT", i, err)
			}
		}
	})
}

// T-CALLP-48, T-CALLP-66: the handler side's deadline answers TIMEOUT while a handler that
// ignores its ctx still runs; its late result is never written.
func TestServeTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	returned := make(chan struct{})
	stubborn := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		defer close(returned)
		<-release
		return json.RawMessage(`"late"`), nil
	})
	d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
	d2 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"x/stubborn": stubborn}, nil), Options: protocol.Options{ServeTimeout: 200 * time.Millisecond}}
	c, _, _, _ := pair(t, d1, d2, nil, nil)
	_, err := c.Call(t.Context(), "x/stubborn", nil)
	if ce, ok := errors.AsType[*callerr.CallError](err); !ok || ce.Code != callerr.Timeout || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Call = %v, want the remote TIMEOUT", err)
	}
	close(release)
	<-returned
}

// §20.6 5, issue requirement: 1 000 concurrent calls in each direction on one connection.
func TestConcurrentCalls(t *testing.T) {
	t.Parallel()
	d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"client/echo": echo()}, nil)}
	d2 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"server/echo": echo()}, nil)}
	a, b, _, _ := pair(t, d1, d2, nil, nil)
	var wg sync.WaitGroup
	var bad atomic.Int64
	for i := range 1000 {
		for _, side := range []struct {
			cc *protocol.CallConnection
			op string
		}{{a, "server/echo"}, {b, "client/echo"}} {
			wg.Go(func() {
				out, err := side.cc.Call(t.Context(), side.op, i)
				if err != nil || string(out) != fmt.Sprint(i) {
					bad.Add(1)
					t.Errorf("%s %d: %s %v", side.op, i, out, err)
				}
			})
		}
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d calls failed", bad.Load())
	}
	waitEmpty(t, a, b)
}

// T-CALLP-57: the inbound concurrency cap (CALLP-R150).
func TestConcurrencyCap(t *testing.T) {
	t.Parallel()
	var running, peak atomic.Int64
	slow := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		running.Add(-1)
		return in, nil
	})
	d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
	d2 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"x/slow": slow}, nil), Options: protocol.Options{MaxConcurrentInbound: 4}}
	c, _, _, _ := pair(t, d1, d2, nil, nil)
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			if _, err := c.Call(t.Context(), "x/slow", i); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > 4 || p < 1 {
		t.Fatalf("peak concurrency %d, want 1..4", p)
	}
}

// T-CALLP-58, §20.6 7: the connection drops mid-call and mid-subscription.
func TestConnectionDrop(t *testing.T) {
	t.Parallel()
	handlerCause := make(chan error, 1)
	started := make(chan struct{}, 2)
	block := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		started <- struct{}{}
		<-ctx.Done()
		handlerCause <- context.Cause(ctx)
		return nil, ctx.Err()
	})
	stream := registry.StreamHandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage, emit registry.Emit) error {
		_ = emit(json.RawMessage(`1`))
		started <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	})
	d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
	d2 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"x/block": block, "x/stream": stream}, nil)}
	c, acc, rawDial, _ := pair(t, d1, d2, nil, nil)
	sub, err := c.Subscribe(t.Context(), "x/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { _, err := c.Call(t.Context(), "x/block", nil); errc <- err }()
	<-started
	<-started
	_ = rawDial.Close(0, "gone") // abrupt end from the dialing side
	err = <-errc
	ce, ok := errors.AsType[*callerr.CallError](err)
	if !ok || ce.Code != callerr.Internal || ce.Message != "connection closed" || !ce.Retryable || !errors.Is(err, protocol.ErrConnectionClosed) {
		t.Fatalf("pending call = %v", err)
	}
	// CALLP-R81: Done and draining are visible the moment the call fails.
	if !isDone(c.Done()) || !c.Draining() {
		t.Fatal("Done not closed or not draining when the pending call failed")
	}
	if err := c.Imported().Register(); !errors.Is(err, registry.ErrSetClosed) {
		t.Fatalf("Imported().Register after the end = %v, want ErrSetClosed", err)
	}
	var subErr error
	for {
		if _, subErr = sub.Next(t.Context()); subErr != nil {
			break
		}
	}
	if !errors.Is(subErr, protocol.ErrConnectionClosed) {
		t.Fatalf("subscription end = %v", subErr)
	}
	if got := <-handlerCause; !errors.Is(got, protocol.ErrConnectionClosed) && !errors.Is(got, protocol.ErrStreamClosed) {
		t.Fatalf("handler cause = %v", got)
	}
	if _, err := c.Call(t.Context(), "x/block", nil); !errors.Is(err, protocol.ErrConnectionClosed) {
		t.Fatalf("call after the end = %v", err)
	}
	waitEmpty(t, c, acc)
}

func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Reference to keep wire imported for helpers in this file.
var _ = wire.EventRequested

// DSP-R7, CALLP-R17: over the engine the registry leaves the item check to the encoder of
// call.responded (ServeSubscribeChecked); an invalid item — bad syntax or invalid UTF-8 — is still
// refused without reaching the wire, the handler's emit reports it, the values before it arrive in
// order and the subscription ends with INTERNAL; the connection keeps serving.
func TestInvalidEmittedItemRefused(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{`{"a":`, "\"\xff\"", `1 2`} {
		emitErr := make(chan error, 1)
		prod := registry.StreamHandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage, emit registry.Emit) error {
			if err := emit(json.RawMessage(`"ok"`)); err != nil {
				return err
			}
			err := emit(json.RawMessage(bad))
			emitErr <- err
			return nil // the registry still ends the subscription with INTERNAL
		})
		d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
		d2 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"s/bad": prod, "x/echo": echo()}, nil)}
		c, acc, _, _ := pair(t, d1, d2, nil, nil)
		ctx := t.Context()
		sub, err := c.Subscribe(ctx, "s/bad", nil)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := sub.Next(ctx); err != nil || string(v) != `"ok"` {
			t.Fatalf("%q: first value %s %v", bad, v, err)
		}
		if v, err := sub.Next(ctx); codeOf(err) != callerr.Internal {
			t.Fatalf("%q: after the invalid item got %s %v, want INTERNAL", bad, v, err)
		}
		if err := <-emitErr; err == nil || !strings.Contains(err.Error(), "DSP-R7") {
			t.Fatalf("%q: emit of the invalid item returned %v", bad, err)
		}
		if out, err := c.Call(ctx, "x/echo", 3); err != nil || string(out) != "3" {
			t.Fatalf("%q: connection unusable afterwards: %s %v", bad, out, err)
		}
		waitEmpty(t, c, acc)
	}
}
