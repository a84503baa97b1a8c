package protocol_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/auth"
)

// T-CALLP-80: exact budget arithmetic A → B → C over net.Pipe single-stream connections in fake
// time (CALLP-R39, R135, R136, CTX-R5).
func TestBudgetArithmetic(t *testing.T) {
	for _, tc := range []struct {
		name         string
		serveTimeout time.Duration
		wantB, wantC time.Duration
	}{
		{"caller budget", 0, time.Second, 700 * time.Millisecond},
		{"B's ServeTimeout shorter", 500 * time.Millisecond, 500 * time.Millisecond, 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var atB, atC atomic.Int64
				var bc atomic.Pointer[protocol.CallConnection]
				fwd := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
					dl, _ := ctx.Deadline()
					atB.Store(int64(time.Until(dl)))
					time.Sleep(300 * time.Millisecond)
					return bc.Load().Call(ctx, "c/work", in)
				})
				work := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
					dl, ok := ctx.Deadline()
					if !ok {
						return nil, errors.New("no deadline at C")
					}
					atC.Store(int64(time.Until(dl)))
					return in, nil
				})
				dA := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
				dB := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"b/fwd": fwd}, nil), Options: protocol.Options{ServeTimeout: tc.serveTimeout}}
				dC := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"c/work": work}, nil)}
				a, _ := pipePair(t, dA, dB, nil, nil)
				b2, _ := pipePair(t, dB, dC, nil, nil)
				bc.Store(b2)
				ctx, cancel := context.WithTimeout(t.Context(), time.Second)
				defer cancel()
				if _, err := a.Call(ctx, "b/fwd", 1); err != nil {
					t.Fatal(err)
				}
				if got := time.Duration(atB.Load()); got != tc.wantB {
					t.Errorf("B's budget %v, want %v", got, tc.wantB)
				}
				if got := time.Duration(atC.Load()); got != tc.wantC {
					t.Errorf("C's budget %v, want %v", got, tc.wantC)
				}
			})
		})
	}
}

// T-CALLP-80: a Subscribe without a context deadline sends no timeout_ms, and the subscription
// then has no deadline on the handler side (CALLP-R105, R136).
func TestSubscribeWithoutDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		has := make(chan bool, 1)
		s := registry.StreamHandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage, emit registry.Emit) error {
			_, ok := ctx.Deadline()
			has <- ok
			return nil
		})
		dA := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
		dB := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"b/sub": s}, nil)}
		a, _ := pipePair(t, dA, dB, nil, nil)
		sub, err := a.Subscribe(t.Context(), "b/sub", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sub.Next(t.Context()); err != io.EOF {
			t.Fatalf("Next = %v", err)
		}
		if <-has {
			t.Error("subscription without a caller deadline has one")
		}
	})
}

// T-CALLP-63: WithCallerIdentity gives a default caller identity and never a PeerID; an API-key
// identity given with WithConnIdentity gives no PeerID either (CALLP-R5).
func TestCallerIdentity(t *testing.T) {
	t.Parallel()
	o := ops{"x/who": whoami()}
	tw := tweak{"x/who": func(s *registry.OperationSpec) {
		s.AccessControl = registry.AccessControl{RequiredScopes: []string{"chat"}}
	}}
	dA := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
	dB := &protocol.Dispatcher{Invoker: newRegistry(t, o, tw)}
	browser := &auth.Identity{ID: "browser-1", Scopes: []string{"chat"}, Origin: auth.OriginPeer}
	a, b := pipePair(t, dA, dB, nil, []protocol.ConnOption{protocol.WithCallerIdentity(browser)})
	if out, err := a.Call(t.Context(), "x/who", nil); err != nil || string(out) != `{"id":"browser-1"}` {
		t.Fatalf("call as browser-1: %s %v", out, err)
	}
	if _, ok := b.PeerID(); ok {
		t.Error("WithCallerIdentity gave a PeerID")
	}
	key := &auth.Identity{ID: "abcd1234", Origin: auth.OriginAPIKey}
	_, b2 := pipePair(t, dA, dB, nil, []protocol.ConnOption{protocol.WithConnIdentity(key)})
	if _, ok := b2.PeerID(); ok {
		t.Error("an API-key identity gave a PeerID")
	}
	defer func() {
		if recover() == nil {
			t.Error("two identity options did not panic")
		}
	}()
	dB.Attach(nil, protocol.WithConnIdentity(key), protocol.WithCallerIdentity(browser))
}
