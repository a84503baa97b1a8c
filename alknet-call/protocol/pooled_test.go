package protocol_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-call/wire"
)

// CALLP-R74: unary calls on a pool of long-lived request streams keep every abort, ordering and
// failure rule; subscriptions keep their own streams.
func TestPooledRequestStreams(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 1)
	cause := make(chan error, 1)
	var producerStopped atomic.Bool
	o := ops{
		"x/echo": echo(),
		"x/block": registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
			started <- struct{}{}
			<-ctx.Done()
			cause <- context.Cause(ctx)
			return nil, ctx.Err()
		}),
		"s/count": registry.StreamHandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage, emit registry.Emit) error {
			var n int
			_ = json.Unmarshal(in, &n)
			for i := range n {
				if err := emit(json.RawMessage(fmt.Sprint(i))); err != nil {
					producerStopped.Store(true)
					return err
				}
			}
			return nil
		}),
	}
	d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil), Options: protocol.Options{RequestStreams: 2}}
	d2 := &protocol.Dispatcher{Invoker: newRegistry(t, o, nil)}
	c, acc, rawDial, _ := pair(t, d1, d2, nil, nil)
	ctx := t.Context()

	var wg sync.WaitGroup
	for i := range 500 {
		wg.Go(func() {
			if out, err := c.Call(ctx, "x/echo", i); err != nil || string(out) != fmt.Sprint(i) {
				t.Errorf("call %d: %s %v", i, out, err)
			}
		})
	}
	wg.Wait()

	// Abort on the shared stream: the handler is cancelled, other calls keep working.
	actx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { _, err := c.Call(actx, "x/block", nil); errc <- err }()
	<-started
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("aborted call = %v", err)
	}
	if got := <-cause; !errors.Is(got, callerr.ErrAborted) {
		t.Fatalf("handler cause = %v, want ErrAborted from call.aborted", got)
	}
	if out, err := c.Call(ctx, "x/echo", "after"); err != nil || string(out) != `"after"` {
		t.Fatalf("call after abort: %s %v", out, err)
	}

	// Call on a subscription op: first value, then the producer is stopped by call.aborted
	// (CALLP-R106 on a shared stream).
	if out, err := c.Call(ctx, "s/count", 1_000_000); err != nil || string(out) != "0" {
		t.Fatalf("call on subscription: %s %v", out, err)
	}
	waitFor(t, "producer stopped", producerStopped.Load)

	// Subscriptions still work (on their own streams).
	sub, err := c.Subscribe(ctx, "s/count", 50)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range sub.All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 50 {
		t.Fatalf("%d values", n)
	}
	waitEmpty(t, c, acc)

	// Connection loss fails pending pooled calls with connection closed.
	go func() { _, err := c.Call(ctx, "x/block", nil); errc <- err }()
	<-started
	_ = rawDial.Close(0, "gone")
	if err := <-errc; !errors.Is(err, protocol.ErrConnectionClosed) {
		t.Fatalf("pending pooled call after loss = %v", err)
	}
	<-cause
}

// A request too large for the frame limit fails locally without disturbing the other calls on
// its pooled stream (CALLP-R74, §7.3).
func TestPooledRequestTooLarge(t *testing.T) {
	t.Parallel()
	d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil), Options: protocol.Options{RequestStreams: 1, MaxFrameSize: 1024}}
	d2 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"x/echo": echo()}, nil)}
	c, _, _, _ := pair(t, d1, d2, nil, nil)
	if _, err := c.Call(t.Context(), "x/echo", 1); err != nil {
		t.Fatal(err)
	}
	_, err := c.Call(t.Context(), "x/echo", strings.Repeat("x", 2048))
	if ce, ok := errors.AsType[*callerr.CallError](err); !ok || ce.Message != "request too large" || !errors.Is(err, wire.ErrFrameTooLarge) {
		t.Fatalf("oversize call = %v", err)
	}
	if out, err := c.Call(t.Context(), "x/echo", 2); err != nil || string(out) != "2" {
		t.Fatalf("call after the oversize one: %s %v", out, err)
	}
}
