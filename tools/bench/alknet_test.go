package bench

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/alknet/alknet/alknet-call/client"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/coretest"
	"github.com/alknet/alknet/alknet-core/secret"
)

// Operation names the alknet fixture serves.
const (
	echoOp       = "bench/echo"
	workerEchoOp = "bench/echo-worker"
	streamOp     = "bench/stream"
)

// alknetFixture is a real node (core endpoint with the call adapter on 127.0.0.1:0) serving a
// registry with an echo query and an endless subscription, and one pinned client connection to it.
type alknetFixture struct {
	cc *protocol.CallConnection
}

func newAlknetFixture(tb testing.TB) *alknetFixture {
	tb.Helper()
	b := registry.NewBuilder()
	echo := registry.HandlerFunc(func(_ context.Context, _ *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		return in, nil
	})
	// The echo returns at once, so it is declared NonBlocking and runs on the stream's reader;
	// bench/echo-worker is the same handler dispatched to a worker goroutine.
	b.Add(&registry.HandlerRegistration{
		Spec: registry.OperationSpec{
			Name: echoOp, Type: registry.Query, Visibility: registry.External,
			InputSchema: json.RawMessage(`{"type":"object"}`),
		},
		Handler: echo, Provenance: registry.Local, NonBlocking: true,
	})
	b.Local(registry.OperationSpec{
		Name: workerEchoOp, Type: registry.Query, Visibility: registry.External,
		InputSchema: json.RawMessage(`{"type":"object"}`),
	}, echo, nil, nil, secret.Capabilities{})
	b.LocalStream(registry.OperationSpec{
		Name: streamOp, Type: registry.Subscription, Visibility: registry.External,
		InputSchema: json.RawMessage(`{"type":"integer","minimum":2}`),
	}, registry.StreamHandlerFunc(streamValues), nil, nil, secret.Capabilities{})
	reg, err := b.Build()
	if err != nil {
		tb.Fatal(err)
	}
	node := coretest.StartEndpoint(tb, protocol.NewCallAdapter(&protocol.Dispatcher{Invoker: reg}))

	empty, err := registry.NewBuilder().Build()
	if err != nil {
		tb.Fatal(err)
	}
	cl := client.New(&protocol.Dispatcher{Invoker: empty})
	tb.Cleanup(func() { _ = cl.Close() })
	cc, err := cl.Connect(tb.Context(), node.Addr, client.CallCredentials{
		RemoteIdentity: &client.RemoteIdentity{Fingerprints: []string{node.Fingerprint}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return &alknetFixture{cc: cc}
}

// streamValues emits JSON strings of exactly size bytes (quotes included) until the subscription
// ends.
func streamValues(ctx context.Context, _ *registry.OperationContext, in json.RawMessage, emit registry.Emit) error {
	var size int
	if err := json.Unmarshal(in, &size); err != nil {
		return err
	}
	v := make(json.RawMessage, size)
	for i := range v {
		v[i] = 'x'
	}
	v[0], v[size-1] = '"', '"'
	for ctx.Err() == nil {
		if err := emit(v); err != nil {
			return err
		}
	}
	return nil
}

// caller returns a caller echoing payload through op.
func (a *alknetFixture) caller(ctx context.Context, op string) caller {
	return func() ([]byte, error) { return a.cc.Call(ctx, op, json.RawMessage(payload)) }
}

// subscribe starts an endless subscription of values of size bytes; cancel ends it.
func (a *alknetFixture) subscribe(ctx context.Context, size int) (*protocol.Subscription, error) {
	return a.cc.Subscribe(ctx, streamOp, size)
}
