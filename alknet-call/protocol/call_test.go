package protocol_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
)

// T-CALLP-40: a call in each direction over one connection (CALLP-R4, R70).
func TestCallBothDirections(t *testing.T) {
	t.Parallel()
	d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"client/echo": echo()}, nil)}
	d2 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"server/echo": echo()}, nil)}
	dialer, acceptor, _, _ := pair(t, d1, d2, nil, nil)
	out, err := dialer.Call(t.Context(), "server/echo", map[string]int{"a": 1})
	if err != nil || string(out) != `{"a":1}` {
		t.Fatalf("dialer→acceptor: %s, %v", out, err)
	}
	out, err = acceptor.Call(t.Context(), "/client/echo", json.RawMessage(`[1, 2]`))
	if err != nil || string(out) != `[1,2]` {
		t.Fatalf("acceptor→dialer: %s, %v", out, err)
	}
	waitEmpty(t, dialer, acceptor)
	_ = context.Background
	_ = registry.Query
}
