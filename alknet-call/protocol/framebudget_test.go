package protocol_test

import (
	"io"
	"testing"

	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/wire"
	"github.com/alknet/alknet/alknet-core/coretest"
	"github.com/alknet/alknet/alknet-core/endpoint"
)

// CALLP-R161, CORE-R204: one bad stream never closes the connection, but a peer whose streams
// keep failing to frame is given up: up to MaxFramingErrors bad streams within a minute leave
// the connection serving, one more ends it with the internal-error close.
func TestFramingErrorBudget(t *testing.T) {
	t.Parallel()
	d := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"x/echo": echo()}, nil), Options: protocol.Options{MaxFramingErrors: 3}}
	node := coretest.StartEndpoint(t, protocol.NewCallAdapter(d))
	cl := node.Dial(t, protocol.ALPN, nil)
	bad := [][]byte{
		{0, 0, 0, 0},      // empty frame
		{4, 0, 0, 1, '{'}, // over the frame limit
		frame(`{"type":"x","type":"x","id":"a","payload":{}}`), // duplicate key
		frame(`{"TYPE":"call.requested","id":"a","payload":{}}`),
	}
	for i, b := range bad[:3] {
		if envs, err := readAll(openRaw(t, cl, b, true)); len(envs) != 0 || err == io.EOF {
			t.Fatalf("bad stream %d: %d frames, end %v; want a reset", i, len(envs), err)
		}
	}
	envs, err := readAll(openRaw(t, cl, request("r1", "/x/echo", `1`), true))
	if err != io.EOF || len(envs) != 1 || envs[0].Type != wire.EventResponded {
		t.Fatalf("after %d bad streams the connection must still serve: %+v, %v", 3, envs, err)
	}
	_, _ = readAll(openRaw(t, cl, bad[3], true))
	if code, _, ok := coretest.CloseCode(t, cl); !ok || code != endpoint.CloseInternalError {
		t.Fatalf("close after one bad stream too many = %#x (ok=%v), want %#x", code, ok, endpoint.CloseInternalError)
	}
}

// MaxFramingErrors < 0 turns the budget off.
func TestFramingErrorBudgetOff(t *testing.T) {
	t.Parallel()
	d := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"x/echo": echo()}, nil), Options: protocol.Options{MaxFramingErrors: -1}}
	cl, acc := rawAcceptor(t, d)
	for i := range 70 {
		if envs, err := readAll(openRaw(t, cl, []byte{0, 0, 0, 0}, true)); len(envs) != 0 || err == io.EOF {
			t.Fatalf("bad stream %d: %d frames, end %v; want a reset", i, len(envs), err)
		}
	}
	envs, err := readAll(openRaw(t, cl, request("r1", "/x/echo", `1`), true))
	if err != io.EOF || len(envs) != 1 || envs[0].Type != wire.EventResponded {
		t.Fatalf("after 70 bad streams without a budget: %+v, %v", envs, err)
	}
	waitEmpty(t, acc)
}
