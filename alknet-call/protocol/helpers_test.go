package protocol_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/conn"
	"github.com/alknet/alknet/alknet-core/coretest"
	"github.com/alknet/alknet/alknet-core/secret"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ops builds a registry from name → handler pairs; handlers of type registry.StreamHandlerFunc
// become Subscription operations, registry.HandlerFunc Query operations.
type ops map[string]any

// tweak adjusts the spec of the named operation before registration.
type tweak map[string]func(*registry.OperationSpec)

func newRegistry(t testing.TB, o ops, tw tweak) *registry.Registry {
	t.Helper()
	b := registry.NewBuilder()
	for name, h := range o {
		spec := registry.OperationSpec{Name: name, Visibility: registry.External, Type: registry.Query}
		if _, ok := h.(registry.StreamHandlerFunc); ok {
			spec.Type = registry.Subscription
		}
		if f := tw[name]; f != nil {
			f(&spec)
		}
		switch h := h.(type) {
		case registry.HandlerFunc:
			b.Local(spec, h, nil, nil, secret.Capabilities{})
		case registry.StreamHandlerFunc:
			b.LocalStream(spec, h, nil, nil, secret.Capabilities{})
		default:
			t.Fatalf("op %s: unsupported handler %T", name, h)
		}
	}
	r, err := b.Build()
	if err != nil {
		t.Fatalf("build registry: %v", err)
	}
	return r
}

func echo() registry.HandlerFunc {
	return func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		return in, nil
	}
}

// serve runs cc.Serve until cleanup, which closes cc gracefully and waits for Serve.
func serve(t testing.TB, cc *protocol.CallConnection) {
	t.Helper()
	done := make(chan error, 1)
	ctx := context.WithoutCancel(t.Context())
	go func() { done <- cc.Serve(ctx) }()
	t.Cleanup(func() {
		_ = cc.Close()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve returned %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("Serve did not return")
		}
	})
}

// pair connects a dialing engine on d1 with an accepting engine on d2 over real QUIC loopback.
func pair(t testing.TB, d1, d2 *protocol.Dispatcher, o1, o2 []protocol.ConnOption) (dialer, acceptor *protocol.CallConnection, rawDial, rawAcc *conn.Connection) {
	t.Helper()
	cl, sv := coretest.Pair(t, protocol.ALPN)
	dialer = d1.Attach(cl, o1...)
	acceptor = d2.Attach(sv, o2...)
	serve(t, dialer)
	serve(t, acceptor)
	return dialer, acceptor, cl, sv
}

// pipePair connects two engines over one net.Pipe (single-stream mode).
func pipePair(t testing.TB, d1, d2 *protocol.Dispatcher, o1, o2 []protocol.ConnOption) (a, b *protocol.CallConnection) {
	t.Helper()
	p1, p2 := net.Pipe()
	c1 := conn.NewStreamConn(p1, protocol.ALPN, nil)
	c2 := conn.NewStreamConn(p2, protocol.ALPN, nil)
	t.Cleanup(func() { _ = c1.Close(0, ""); _ = c2.Close(0, "") })
	a = d1.Attach(c1, o1...)
	b = d2.Attach(c2, o2...)
	serve(t, a)
	serve(t, b)
	return a, b
}

func codeOf(err error) string {
	if ce, ok := errors.AsType[*callerr.CallError](err); ok {
		return ce.Code
	}
	return ""
}

// waitFor polls cond until it holds; a generous bound keeps a broken run from hanging (it is a
// failure bound, not a timing assertion).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	limit := time.After(60 * time.Second)
	for !cond() {
		select {
		case <-t.Context().Done():
			t.Fatalf("test ended while waiting for %s", what)
		case <-limit:
			t.Fatalf("%s did not happen", what)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func waitEmpty(t testing.TB, ccs ...*protocol.CallConnection) {
	t.Helper()
	for _, cc := range ccs {
		waitFor(t, "empty tables", func() bool { p, s := cc.Tables(); return p == 0 && s == 0 })
	}
}

// streamN emits the same value n times, n being the input.
func streamN(v json.RawMessage) registry.StreamHandlerFunc {
	return func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage, emit registry.Emit) error {
		var n int
		_ = json.Unmarshal(in, &n)
		for range n {
			if err := emit(v); err != nil {
				return err
			}
		}
		return nil
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
