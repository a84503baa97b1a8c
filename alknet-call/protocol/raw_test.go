package protocol_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-call/wire"
	"github.com/alknet/alknet/alknet-core/conn"
	"github.com/alknet/alknet/alknet-core/coretest"
)

// rawAcceptor serves reg on the accepting side of a QUIC pair and returns the raw dialing end,
// for tests that write frames by hand.
func rawAcceptor(t *testing.T, d *protocol.Dispatcher) (*conn.Connection, *protocol.CallConnection) {
	t.Helper()
	cl, sv := coretest.Pair(t, protocol.ALPN)
	acc := d.Attach(sv)
	serve(t, acc)
	return cl, acc
}

func frame(body string) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

func request(id, op, input string) []byte {
	return frame(`{"type":"call.requested","id":"` + id + `","payload":{"operationId":"` + op + `","input":` + input + `}}`)
}

// openRaw opens a stream and writes b; fin half-closes it.
func openRaw(t *testing.T, c *conn.Connection, b []byte, fin bool) conn.BiStream {
	t.Helper()
	s, err := c.OpenBi(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(b); err != nil {
		t.Fatal(err)
	}
	if fin {
		_ = s.CloseWrite()
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// readAll reads frames until the stream ends; it returns the envelopes and the final error
// (io.EOF for a clean end).
func readAll(s conn.BiStream) ([]wire.Envelope, error) {
	fr := wire.NewFrameReader(s, 0)
	var out []wire.Envelope
	for {
		e, err := fr.Next()
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
}

// E6, §16, T-CALLP-42, T-CALLP-55, T-CALLP-56: bad frames end only their own stream; malformed
// payloads are answered INVALID_INPUT; unknown types and ids are ignored; the connection keeps
// serving.
func TestBadFrames(t *testing.T) {
	t.Parallel()
	d := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"x/echo": echo()}, nil)}
	cl, acc := rawAcceptor(t, d)
	bad := map[string][]byte{
		"empty frame":   {0, 0, 0, 0},
		"oversize":      {4, 0, 0, 1, '{'},
		"truncated":     append([]byte{0, 0, 0, 0x10}, `{"type":"x"}`...),
		"duplicate key": frame(`{"type":"call.requested","type":"call.requested","id":"a","payload":{}}`),
		"upper-case":    frame(`{"TYPE":"call.requested","id":"a","payload":{}}`),
		"invalid utf-8": frame("{\"type\":\"call.requested\",\"id\":\"a\xff\",\"payload\":{}}"),
	}
	for name, b := range bad {
		s := openRaw(t, cl, b, true)
		if envs, err := readAll(s); len(envs) != 0 || err == io.EOF {
			t.Errorf("%s: got %d frames, end %v; want a reset stream", name, len(envs), err)
		}
	}
	// Unknown type and an event for an unknown id, then a valid request on the same stream.
	var b []byte
	b = append(b, frame(`{"type":"call.ping","id":"p","payload":{}}`)...)
	b = append(b, frame(`{"type":"call.responded","id":"nobody","payload":{"output":1}}`)...)
	b = append(b, frame(`{"type":"call.aborted","id":"nobody","payload":{}}`)...)
	b = append(b, request("r1", "/x/echo", `{"ok":true}`)...)
	envs, err := readAll(openRaw(t, cl, b, true))
	if err != io.EOF || len(envs) != 1 || envs[0].Type != wire.EventResponded || envs[0].ID != "r1" {
		t.Fatalf("after ignored frames: %+v, %v", envs, err)
	}
	// Malformed call.requested payloads (CALLP-R32).
	for i, p := range []string{`[]`, `{}`, `{"operationId":7}`} {
		id := string(rune('a' + i))
		envs, err := readAll(openRaw(t, cl, frame(`{"type":"call.requested","id":"`+id+`","payload":`+p+`}`), true))
		if err != io.EOF || len(envs) != 1 || envs[0].Type != wire.EventError {
			t.Fatalf("payload %s: %+v, %v", p, envs, err)
		}
		if ce := wire.DecodeCallError(envs[0].Payload); ce.Code != callerr.InvalidInput || len(ce.Message) < len("malformed call.requested payload: ") {
			t.Errorf("payload %s: %+v", p, ce)
		}
	}
	waitEmpty(t, acc)
}

// T-CALLP-50, T-CALLP-51, T-CALLP-52: several requests on one stream run concurrently, the stream
// is finished only after the last terminal event, and an abort on the same stream is seen while
// the send side is open.
func TestMultiplexedStream(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	aborted := make(chan error, 1)
	o := ops{
		"x/echo": echo(),
		"x/slow": registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
			select {
			case <-release:
				return in, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}),
		"x/block": registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
			<-ctx.Done()
			aborted <- context.Cause(ctx)
			return nil, ctx.Err()
		}),
	}
	d := &protocol.Dispatcher{Invoker: newRegistry(t, o, nil)}
	cl, acc := rawAcceptor(t, d)

	var b []byte
	b = append(b, request("slow", "/x/slow", `1`)...)
	b = append(b, request("f1", "/x/echo", `2`)...)
	b = append(b, request("f2", "/x/echo", `3`)...)
	s := openRaw(t, cl, b, true)
	fr := wire.NewFrameReader(s, 0)
	got := map[string]bool{}
	for range 2 {
		e, err := fr.Next()
		if err != nil {
			t.Fatal(err)
		}
		got[e.ID] = true
	}
	if !got["f1"] || !got["f2"] {
		t.Fatalf("fast answers first: %v", got)
	}
	close(release)
	if e, err := fr.Next(); err != nil || e.ID != "slow" {
		t.Fatalf("slow answer: %+v %v", e, err)
	}
	if _, err := fr.Next(); err != io.EOF {
		t.Fatalf("stream end after the last terminal: %v", err)
	}

	// Abort on the request's own stream, send side still open (CALLP-R74, R75).
	s2 := openRaw(t, cl, request("blk", "/x/block", `null`), false)
	waitFor(t, "request served", func() bool { _, n := acc.Tables(); return n == 1 })
	if _, err := s2.Write(frame(`{"type":"call.aborted","id":"blk","payload":{}}`)); err != nil {
		t.Fatal(err)
	}
	if cause := <-aborted; !errors.Is(cause, callerr.ErrAborted) {
		t.Fatalf("cause = %v", cause)
	}
	_ = s2.CloseWrite()
	if envs, err := readAll(s2); len(envs) != 0 || err != io.EOF {
		t.Fatalf("after abort: %+v %v; want nothing written and a clean end", envs, err)
	}
	waitEmpty(t, acc)
}

// T-CALLP-53: a reset of the request stream cancels the handler and nothing is written.
func TestRequestStreamReset(t *testing.T) {
	t.Parallel()
	cause := make(chan error, 1)
	o := ops{"x/block": registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		<-ctx.Done()
		cause <- context.Cause(ctx)
		return nil, ctx.Err()
	})}
	d := &protocol.Dispatcher{Invoker: newRegistry(t, o, nil)}
	cl, acc := rawAcceptor(t, d)
	s := openRaw(t, cl, request("r", "/x/block", `null`), false)
	waitFor(t, "request served", func() bool { _, n := acc.Tables(); return n == 1 })
	s.Reset(wire.StreamCodeCancelled)
	if got := <-cause; !errors.Is(got, protocol.ErrStreamClosed) {
		t.Fatalf("cause = %v, want ErrStreamClosed", got)
	}
	waitEmpty(t, acc)
}

// T-CALLP-60: a raw client replays the request frames of §19 E1..E3 and receives the golden
// reply frames byte for byte.
func TestGoldenReplay(t *testing.T) {
	t.Parallel()
	notFound := callerr.New("FILE_NOT_FOUND", "file not found: /nope")
	o := ops{
		"fs/readFile": registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
			var req struct{ Path string }
			_ = json.Unmarshal(in, &req)
			if req.Path != "/etc/hostname" {
				return nil, notFound.WithDetails(map[string]string{"path": req.Path})
			}
			return json.RawMessage(`{"content":"node-a\n"}`), nil
		}),
		"admin/run": echo(),
		"logs/tail": registry.StreamHandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage, emit registry.Emit) error {
			for _, l := range []string{`{"line":"boot ok"}`, `{"line":"ready"}`} {
				if err := emit(json.RawMessage(l)); err != nil {
					return err
				}
			}
			return nil
		}),
		"docker/container/exec": registry.StreamHandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage, emit registry.Emit) error {
			_ = emit(json.RawMessage(`{"stream":"stdout","text":"hi\n"}`))
			return emit(json.RawMessage(`{"exitCode":0,"terminal":true}`))
		}),
		"agent/chat": registry.StreamHandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage, emit registry.Emit) error {
			_ = emit(json.RawMessage(`{"type":"text-delta","delta":"Hel"}`))
			e := callerr.New("RATE_LIMITED", "provider rate limit").WithDetails(map[string]int{"retry_after_ms": 2000})
			e.Retryable = true
			return e
		}),
	}
	tw := tweak{
		"fs/readFile": func(s *registry.OperationSpec) {
			s.ErrorSchemas = []registry.ErrorDefinition{{Code: "FILE_NOT_FOUND", Description: "no such file"}}
		},
		"agent/chat": func(s *registry.OperationSpec) {
			s.ErrorSchemas = []registry.ErrorDefinition{{Code: "RATE_LIMITED", Description: "slow down"}}
		},
	}
	d := &protocol.Dispatcher{Invoker: newRegistry(t, o, tw)}
	cl, _ := rawAcceptor(t, d)
	golden := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "wire", "testdata", "golden", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		req     string
		replies []string
	}{
		{"e1-01-requested.frame", []string{"e1-02-responded.frame"}},
		{"e2-01-requested.frame", []string{"e2-02-error.frame"}},
		{"e2-03-requested.frame", []string{"e2-04-error.frame"}},
		{"e2-05-requested.frame", []string{"e2-06-error.frame"}},
		{"e3-01-requested.frame", []string{"e3-02-responded.frame", "e3-03-responded.frame", "e3-04-completed.frame"}},
		{"e3-05-requested.frame", []string{"e3-06-responded.frame", "e3-07-responded.frame", "e3-08-completed.frame"}},
		{"e3-09-requested.frame", []string{"e3-10-responded.frame", "e3-11-error.frame"}},
	}
	for _, tc := range cases {
		s := openRaw(t, cl, golden(tc.req), true)
		var want []byte
		for _, r := range tc.replies {
			want = append(want, golden(r)...)
		}
		got, err := io.ReadAll(s)
		if err != nil {
			t.Fatalf("%s: %v", tc.req, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: replies\n got %q\nwant %q", tc.req, got, want)
		}
	}
}

// T-CALLP-60 E5: the accepting side calls the dialing side; a raw accepting peer replays E5's
// request against a Go dialer and gets the golden reply.
func TestGoldenReplayAcceptorCalls(t *testing.T) {
	t.Parallel()
	confirm := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`{"confirmed":true}`), nil
	})
	d := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"client/confirm": confirm}, nil)}
	cl, sv := coretest.Pair(t, protocol.ALPN)
	serve(t, d.Attach(cl))
	req, _ := os.ReadFile(filepath.Join("..", "wire", "testdata", "golden", "e5-01-requested.frame"))
	want, _ := os.ReadFile(filepath.Join("..", "wire", "testdata", "golden", "e5-02-responded.frame"))
	s := openRaw(t, sv, req, true)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { s.Reset(0) })
	defer stop()
	got, err := io.ReadAll(s)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("E5 reply %q, %v; want %q", got, err, want)
	}
}
