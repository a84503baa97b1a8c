package protocol_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-call/wire"
	"github.com/alknet/alknet/alknet-core/coretest"
)

func blockUntilDone(onStart func()) registry.HandlerFunc {
	return func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		onStart()
		<-ctx.Done()
		return nil, ctx.Err()
	}
}

// T-CALLP-58: an abrupt end repeated 100 times; whenever a pending Call returns "connection
// closed", Done is already closed, Draining is true and the imported set refuses registrations
// (CALLP-R81).
func TestConnectionLossOrder(t *testing.T) {
	t.Parallel()
	for i := range 100 {
		started := make(chan struct{})
		var once sync.Once
		d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
		d2 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"x/block": blockUntilDone(func() { once.Do(func() { close(started) }) })}, nil)}
		c, _, _, rawAcc := pair(t, d1, d2, nil, nil)
		errc := make(chan error, 1)
		go func() { _, err := c.Call(t.Context(), "x/block", nil); errc <- err }()
		<-started
		_ = rawAcc.Close(0, "gone")
		err := <-errc
		if !errors.Is(err, protocol.ErrConnectionClosed) {
			t.Fatalf("round %d: %v", i, err)
		}
		if !isDone(c.Done()) || !c.Draining() || c.Imported().Register() == nil {
			t.Fatalf("round %d: connection not marked ended before the call failed", i)
		}
	}
}

// T-CALLP-23: arbitrary bytes as one inbound stream into a live engine over real QUIC: no panic,
// and every frame written back is a call.responded or call.error for an id that was requested.
func FuzzServeStream(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "wire", "testdata", "golden", "*.frame"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add(request("a", "/x/echo", `{"k":[1,2]}`))
	f.Add(append(request("a", "/x/echo", `1`), request("b", "/nope/op", `null`)...))
	f.Add(frame(`{"type":"call.requested","id":"x","payload":[]}`))
	f.Add([]byte{0, 0, 0, 0})
	d := &protocol.Dispatcher{Invoker: newRegistry(f, ops{"x/echo": echo()}, nil)}
	cl, sv := coretest.Pair(f, protocol.ALPN)
	acc := d.Attach(sv)
	serve(f, acc)
	f.Fuzz(func(t *testing.T, in []byte) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		s, err := cl.OpenBi(ctx)
		if err != nil {
			t.Skip("connection gone")
		}
		defer s.Close()
		stop := context.AfterFunc(ctx, func() { s.Reset(0) })
		defer stop()
		_, _ = s.Write(in)
		_ = s.CloseWrite()
		requested := map[string]bool{}
		rd := wire.NewFrameReader(bytesReader(in), 0)
		for {
			e, err := rd.Next()
			if err != nil {
				break
			}
			if e.Type == wire.EventRequested {
				requested[e.ID] = true
			}
		}
		envs, _ := readAll(s)
		for _, e := range envs {
			if (e.Type != wire.EventResponded && e.Type != wire.EventError) || !requested[e.ID] {
				t.Fatalf("unexpected frame %s for id %q", e.Type, e.ID)
			}
		}
	})
}
