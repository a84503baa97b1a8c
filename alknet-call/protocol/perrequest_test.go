package protocol_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
)

// CALLP-R72, R73, R106: the stream-per-request requester (negative RequestStreams): calls,
// aborts by a new stream plus a reset, a local timeout, and a Call on a subscription op that
// resets the producer's stream.
func TestStreamPerRequestMode(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 1)
	cause := make(chan error, 2)
	var stopped atomic.Bool
	o := ops{
		"x/echo": echo(),
		"x/block": registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
			started <- struct{}{}
			<-ctx.Done()
			cause <- context.Cause(ctx)
			return nil, ctx.Err()
		}),
		"s/count": registry.StreamHandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage, emit registry.Emit) error {
			for i := 0; ; i++ {
				if err := emit(json.RawMessage(fmt.Sprint(i))); err != nil {
					stopped.Store(true)
					return err
				}
			}
		}),
	}
	d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil), Options: protocol.Options{RequestStreams: -1}}
	d2 := &protocol.Dispatcher{Invoker: newRegistry(t, o, nil)}
	c, acc, _, _ := pair(t, d1, d2, nil, nil)
	ctx := t.Context()
	var wg sync.WaitGroup
	for i := range 300 {
		wg.Go(func() {
			if out, err := c.Call(ctx, "x/echo", i); err != nil || string(out) != fmt.Sprint(i) {
				t.Errorf("call %d: %s %v", i, out, err)
			}
		})
	}
	wg.Wait()

	actx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { _, err := c.Call(actx, "x/block", nil); errc <- err }()
	<-started
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("aborted call = %v", err)
	}
	if got := <-cause; !errors.Is(got, callerr.ErrAborted) && !errors.Is(got, protocol.ErrStreamClosed) {
		t.Fatalf("handler cause = %v", got)
	}

	tctx, tcancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer tcancel()
	if _, err := c.Call(tctx, "x/block", nil); codeOf(err) != callerr.Timeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout = %v", err)
	}
	<-started
	<-cause

	if out, err := c.Call(ctx, "s/count", nil); err != nil || string(out) != "0" {
		t.Fatalf("call on subscription: %s %v", out, err)
	}
	waitFor(t, "producer stopped", stopped.Load)
	waitEmpty(t, c, acc)
}
