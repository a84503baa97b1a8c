package protocol_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"

	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/secret"
)

// spanObserver opens a span of its own for every invocation (OBS-R2).
type spanObserver struct{ span string }

func (o spanObserver) OnCallStart(registry.CallStart) string { return o.span }
func (spanObserver) OnCallEnd(registry.CallEnd)              {}

// T-CALLP-84: the traceparent B receives is what its handler sees; B forwards it to C, or its
// observer's span when one is installed; an invalid value is dropped (CALLP-R46, R47).
func TestTracePropagation(t *testing.T) {
	t.Parallel()
	const in = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	const span = "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01"
	for _, tc := range []struct {
		name         string
		sent         string
		observer     bool
		wantB, wantC string
	}{
		{"plain", in, false, in, in},
		{"observer span", in, true, span, span},
		{"invalid dropped", "00-XYZ", false, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var atB, atC atomic.Value
			var bc atomic.Pointer[protocol.CallConnection]
			fwd := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
				atB.Store(oc.TraceParent())
				return bc.Load().Call(ctx, "c/work", in, protocol.WithTraceParent(oc.TraceParent()))
			})
			work := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
				atC.Store(oc.TraceParent())
				return in, nil
			})
			b := registry.NewBuilder().Local(registry.OperationSpec{Name: "b/fwd", Type: registry.Query, Visibility: registry.External}, fwd, nil, nil, secret.Capabilities{})
			if tc.observer {
				b.Observe(spanObserver{span: span})
			}
			regB, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			dA := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
			dB := &protocol.Dispatcher{Invoker: regB}
			dC := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"c/work": work}, nil)}
			a, _, _, _ := pair(t, dA, dB, nil, nil)
			b2, _, _, _ := pair(t, dB, dC, nil, nil)
			bc.Store(b2)
			if _, err := a.Call(t.Context(), "b/fwd", 1, protocol.WithTraceParent(tc.sent)); err != nil {
				t.Fatal(err)
			}
			if got := atB.Load(); got != tc.wantB {
				t.Errorf("B saw %q, want %q", got, tc.wantB)
			}
			if got := atC.Load(); got != tc.wantC {
				t.Errorf("C saw %q, want %q", got, tc.wantC)
			}
		})
	}
}
