package protocol_test

import (
	"context"
	"errors"
	"testing"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/wire"
	"github.com/alknet/alknet/alknet-core/conn"
	"github.com/alknet/alknet/alknet-core/coretest"
)

// rawServer answers every request stream by operation name with hand-written frames.
func rawServer(t *testing.T, c *conn.Connection, reply func(id, op string) []byte) {
	go func() {
		for {
			s, err := c.AcceptBi(context.WithoutCancel(t.Context()))
			if err != nil {
				return
			}
			go func() {
				defer s.Close()
				e, err := wire.NewFrameReader(s, 0).Next()
				if err != nil || e.Type != wire.EventRequested {
					return
				}
				r, err := wire.DecodeRequested(e.Payload)
				if err != nil {
					return
				}
				if b := reply(e.ID, r.OperationID); b != nil {
					_, _ = s.Write(b)
				}
			}()
		}
	}()
}

// T-CALLP-55 and §16 on the requester side: a zero-length reply frame, a malformed call.error, a
// call.completed for a call and a stream that ends without an answer each fail only their own
// call (CALLP-R45, R80, R107).
func TestRequesterBadReplies(t *testing.T) {
	t.Parallel()
	cl, sv := coretest.Pair(t, protocol.ALPN)
	rawServer(t, sv, func(id, op string) []byte {
		env := func(typ, payload string) []byte {
			return frame(`{"type":"` + typ + `","id":"` + id + `","payload":` + payload + `}`)
		}
		switch op {
		case "/bad/empty":
			return []byte{0, 0, 0, 0}
		case "/bad/error":
			return env("call.error", `"oops"`)
		case "/bad/completed":
			return env("call.completed", `{}`)
		case "/bad/eof":
			return nil
		}
		return env("call.responded", `{"output":"ok"}`)
	})
	c := (&protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil), Options: protocol.Options{RequestStreams: -1}}).Attach(cl)
	serve(t, c)
	ctx := t.Context()
	for _, tc := range []struct{ op, msg string }{
		{"bad/empty", "stream closed before response"},
		{"bad/error", "malformed call.error payload"},
		{"bad/completed", "stream closed before response"},
		{"bad/eof", "stream closed before response"},
	} {
		_, err := c.Call(ctx, tc.op, nil)
		ce, ok := errors.AsType[*callerr.CallError](err)
		if !ok || ce.Code != callerr.Internal || ce.Message != tc.msg {
			t.Errorf("%s: %v, want INTERNAL %s", tc.op, err, tc.msg)
		}
		if out, err := c.Call(ctx, "good/op", nil); err != nil || string(out) != `"ok"` {
			t.Fatalf("call after %s: %s %v", tc.op, out, err)
		}
	}
	waitEmpty(t, c)
}
