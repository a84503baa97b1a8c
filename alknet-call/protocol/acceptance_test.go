package protocol_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-call/wire"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/conn"
	"github.com/alknet/alknet/alknet-core/coretest"
	"github.com/alknet/alknet/alknet-core/quictransport"
)

func respondedBody(id, output string) string {
	return `{"type":"call.responded","id":"` + id + `","payload":{"output":` + output + `}}`
}

// nextFrame reads one frame from r, failing the test on error.
func nextFrame(t *testing.T, fr *wire.FrameReader, what string) wire.Envelope {
	t.Helper()
	e, err := fr.Next()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return e
}

// T-CALLP-30: a call resolves once. The dialing side is a CallConnection; the accepting side is
// driven by hand on the raw QUIC connection and answers one request with two call.responded and
// a call.error. The caller gets the first value and the later events change nothing (CALLP-R31,
// R92): with a stream per request the second call.responded makes the requester reset the stream
// with 0x03, on a shared request stream it sends call.aborted for the id there instead (CALLP-R106);
// a late event for the id on another stream is ignored as well (CALLP-R64); the pending table is
// empty and the connection keeps serving in both directions.
func TestCallResolvesOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		streams int // Options.RequestStreams
	}{{"stream per request", -1}, {"shared request stream", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			shared := tc.streams > 0
			d := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"x/echo": echo()}, nil), Options: protocol.Options{RequestStreams: tc.streams}}
			cl, sv := coretest.Pair(t, protocol.ALPN)
			dialer := d.Attach(cl)
			serve(t, dialer)
			qc, ok := quictransport.Underlying(sv)
			if !ok {
				t.Fatal("accepting end is not QUIC")
			}
			ctx, cancel := context.WithTimeout(t.Context(), coretest.WaitLimit)
			defer cancel()

			type result struct {
				out json.RawMessage
				err error
			}
			call := func(input int) chan result {
				ch := make(chan result, 1)
				go func() {
					out, err := dialer.Call(ctx, "x/op", input)
					ch <- result{out, err}
				}()
				return ch
			}

			first := call(1)
			s, err := qc.AcceptStream(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer s.CancelRead(0)
			fr := wire.NewFrameReader(s, 0)
			req := nextFrame(t, fr, "call.requested")
			if req.Type != wire.EventRequested || req.ID == "" {
				t.Fatalf("first frame %+v", req)
			}
			id := req.ID
			if !shared { // the requester half-closes after the request (CALLP-R72)
				if e, err := fr.Next(); err != io.EOF {
					t.Fatalf("after the request: %+v %v, want EOF", e, err)
				}
			}
			var b []byte
			b = append(b, frame(respondedBody(id, `"first"`))...)
			b = append(b, frame(respondedBody(id, `"second"`))...)
			b = append(b, frame(`{"type":"call.error","id":"`+id+`","payload":{"code":"INTERNAL","message":"late","retryable":false}}`)...)
			if _, err := s.Write(b); err != nil {
				t.Fatal(err)
			}
			r := coretest.Recv(t, first, "the call's result")
			if r.err != nil || string(r.out) != `"first"` {
				t.Fatalf("Call = %s, %v; want the first value", r.out, r.err)
			}

			var second chan result
			if shared {
				// CALLP-R106 on a shared stream: one call.aborted for the resolved id, on that stream.
				if e := nextFrame(t, fr, "the requester's answer to the extra value"); e.Type != wire.EventAborted || e.ID != id {
					t.Fatalf("after the extra value: %+v, want call.aborted for %s", e, id)
				}
				// The next call goes out on the same stream; its answer, written behind the late
				// call.error, shows that frame was read (and ignored) first.
				second = call(2)
				req2 := nextFrame(t, fr, "second call.requested")
				if req2.Type != wire.EventRequested || req2.ID == id {
					t.Fatalf("second request %+v", req2)
				}
				if _, err := s.Write(frame(respondedBody(req2.ID, `"next"`))); err != nil {
					t.Fatal(err)
				}
			} else {
				// CALLP-R106 with a stream per request: the requester resets the stream; quic-go
				// ends the write side's context when the peer's STOP_SENDING arrives.
				coretest.Recv(t, s.Context().Done(), "the requester's reset of the answered stream")
				var se *quic.StreamError
				if cause := context.Cause(s.Context()); !errors.As(cause, &se) || !se.Remote || uint64(se.ErrorCode) != wire.StreamCodeCancelled {
					t.Fatalf("answered stream ended with %v, want the peer's 0x03", cause)
				}
				second = call(2)
				s3, err := qc.AcceptStream(ctx)
				if err != nil {
					t.Fatal(err)
				}
				req3 := nextFrame(t, wire.NewFrameReader(s3, 0), "second call.requested")
				if req3.Type != wire.EventRequested || req3.ID == id {
					t.Fatalf("second request %+v", req3)
				}
				if _, err := s3.Write(frame(respondedBody(req3.ID, `"next"`))); err != nil {
					t.Fatal(err)
				}
				_ = s3.Close()
			}
			if r := coretest.Recv(t, second, "the second call's result"); r.err != nil || string(r.out) != `"next"` {
				t.Fatalf("second Call = %s, %v", r.out, r.err)
			}
			waitEmpty(t, dialer) // no entry for either id is left (CALLP-R66)

			// Correlation is by id whatever the stream (CALLP-R64): a call.error for the finished
			// id on a stream the accepting side opens is ignored, and a request behind it on the
			// same stream is answered, which shows the late frame was read first.
			s2, err := qc.OpenStreamSync(ctx)
			if err != nil {
				t.Fatal(err)
			}
			b = append(frame(`{"type":"call.error","id":"`+id+`","payload":{"code":"INTERNAL","message":"later","retryable":false}}`),
				request("r2", "/x/echo", `"still serving"`)...)
			if _, err := s2.Write(b); err != nil {
				t.Fatal(err)
			}
			_ = s2.Close()
			fr2 := wire.NewFrameReader(s2, 0)
			if e := nextFrame(t, fr2, "answer to r2"); e.Type != wire.EventResponded || e.ID != "r2" || string(e.Responded().Output) != `"still serving"` {
				t.Fatalf("answer to r2: %+v", e)
			}
			if _, err := fr2.Next(); err != io.EOF {
				t.Fatalf("after the answer to r2: %v, want EOF", err)
			}
			waitEmpty(t, dialer)
		})
	}
}

// rawPipe attaches an engine serving d to one end of a net.Pipe (single-stream mode) and returns
// the other end, on which a test writes frames by hand and reads the answers.
func rawPipe(t *testing.T, d *protocol.Dispatcher) (net.Conn, *wire.FrameReader) {
	t.Helper()
	p1, p2 := net.Pipe()
	c := conn.NewStreamConn(p2, protocol.ALPN, nil)
	t.Cleanup(func() { _ = c.Close(0, ""); _ = p1.Close() })
	serve(t, d.Attach(c))
	return p1, wire.NewFrameReader(p1, 0)
}

// T-CALLP-83: timeout_ms 0 answers TIMEOUT without entering the handler (nor consulting the
// registry); a timeout_ms above ServeTimeout does not extend the handler side's deadline; an
// invalid timeout_ms leaves the local default in place; for subscriptions MaxSubscriptionTimeout
// caps it and an invalid value gives no deadline (CALLP-R135, R138, R39). Fake time makes every
// deadline exact: no time passes between the read of the frame and the handler's start.
func TestTimeoutMSReceiver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var entered atomic.Int64
		remaining := func(ctx context.Context) json.RawMessage {
			entered.Add(1)
			dl, ok := ctx.Deadline()
			if !ok {
				return json.RawMessage(`"none"`)
			}
			return json.RawMessage(strconv.FormatInt(time.Until(dl).Milliseconds(), 10))
		}
		o := ops{
			"x/deadline": registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
				return remaining(ctx), nil
			}),
			"x/sub": registry.StreamHandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage, emit registry.Emit) error {
				return emit(remaining(ctx))
			}),
		}
		opts := protocol.Options{ServeTimeout: time.Second}
		w, fr := rawPipe(t, &protocol.Dispatcher{Invoker: newRegistry(t, o, nil), Options: opts})
		opts.MaxSubscriptionTimeout = 2 * time.Second
		wCapped, frCapped := rawPipe(t, &protocol.Dispatcher{Invoker: newRegistry(t, o, nil), Options: opts})

		send := func(w io.Writer, id, op, timeout string) {
			t.Helper()
			body := `{"type":"call.requested","id":"` + id + `","payload":{"operationId":"` + op + `","input":null`
			if timeout != "" {
				body += `,"timeout_ms":` + timeout
			}
			if _, err := w.Write(frame(body + `}}`)); err != nil {
				t.Fatal(err)
			}
		}

		// timeout_ms 0: TIMEOUT at once, for a query, a subscription and an unknown name alike.
		for i, op := range []string{"/x/deadline", "/x/sub", "/no/such"} {
			id := "zero-" + strconv.Itoa(i)
			send(w, id, op, "0")
			e := nextFrame(t, fr, op)
			ce := wire.DecodeCallError(e.Payload)
			if e.Type != wire.EventError || e.ID != id || ce.Code != callerr.Timeout || ce.Message != "request timed out" || !ce.Retryable {
				t.Errorf("%s with timeout_ms 0: %+v %+v", op, e, ce)
			}
		}
		if n := entered.Load(); n != 0 {
			t.Fatalf("a handler ran %d times for timeout_ms 0", n)
		}

		for _, tc := range []struct {
			name    string
			w       io.Writer
			fr      *wire.FrameReader
			op      string
			timeout string
			want    string
		}{
			{"query, larger than ServeTimeout", w, fr, "/x/deadline", "3600000", "1000"},
			{"query, largest valid", w, fr, "/x/deadline", "86400000", "1000"},
			{"query, smaller than ServeTimeout", w, fr, "/x/deadline", "250", "250"},
			{"query, absent", w, fr, "/x/deadline", "", "1000"},
			{"query, negative", w, fr, "/x/deadline", "-1", "1000"},
			{"query, fraction", w, fr, "/x/deadline", "1.5", "1000"},
			{"query, exponent", w, fr, "/x/deadline", "1e2", "1000"},
			{"query, string", w, fr, "/x/deadline", `"100"`, "1000"},
			{"query, null", w, fr, "/x/deadline", "null", "1000"},
			{"query, above 24 h", w, fr, "/x/deadline", "86400001", "1000"},
			{"subscription, no local limit", w, fr, "/x/sub", "500", "500"},
			{"subscription, invalid", w, fr, "/x/sub", "-5", `"none"`},
			{"subscription, larger than MaxSubscriptionTimeout", wCapped, frCapped, "/x/sub", "3600000", "2000"},
			{"subscription, invalid, capped", wCapped, frCapped, "/x/sub", `"x"`, "2000"},
			{"subscription, smaller than MaxSubscriptionTimeout", wCapped, frCapped, "/x/sub", "700", "700"},
		} {
			send(tc.w, tc.name, tc.op, tc.timeout)
			e := nextFrame(t, tc.fr, tc.name)
			if e.Type != wire.EventResponded || string(e.Responded().Output) != tc.want {
				t.Errorf("%s: %s %s, want remaining %s", tc.name, e.Type, e.Payload, tc.want)
			}
			if tc.op == "/x/sub" {
				if e := nextFrame(t, tc.fr, tc.name+" end"); e.Type != wire.EventCompleted {
					t.Errorf("%s: subscription ended with %s", tc.name, e.Type)
				}
			}
		}
	})
}

// probeAdapter records, when the endpoint hands it a connection, whether the QUIC handshake has
// completed and the connection's state, then serves the call protocol.
type probeAdapter struct {
	*protocol.CallAdapter
	seen chan probeSeen
}

type probeSeen struct {
	handshakeDone bool
	state         quic.ConnectionState
}

func (p probeAdapter) Handle(ctx context.Context, c *conn.Connection, a auth.AuthContext) error {
	qc, ok := quictransport.Underlying(c)
	if ok {
		s := probeSeen{state: qc.ConnectionState()}
		select {
		case <-qc.HandshakeComplete():
			s.handshakeDone = true
		default:
		}
		p.seen <- s
	}
	return p.CallAdapter.Handle(ctx, c, a)
}

// earlyCall dials with DialAddrEarly and writes a call.requested right away, in 0-RTT whenever the
// resumed session allows it, then reads the answer and returns the client's state after the
// handshake.
func earlyCall(t *testing.T, addr string, tlsConf *tls.Config, id string) (quic.ConnectionState, wire.Envelope) {
	t.Helper()
	qc, err := quic.DialAddrEarly(t.Context(), addr, tlsConf, &quic.Config{})
	if err != nil {
		t.Fatalf("DialAddrEarly: %v", err)
	}
	defer qc.CloseWithError(0, "")
	s, err := qc.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(request(id, "/x/probe", `null`)); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	e := nextFrame(t, wire.NewFrameReader(s, 0), "answer to "+id)
	coretest.Recv(t, qc.HandshakeComplete(), "the handshake to complete")
	return qc.ConnectionState(), e
}

// T-CALLP-71: a client that sends call.requested in 0-RTT to a node serving the call adapter does
// not get it dispatched before the handshake completes: the endpoint refuses early data
// (CORE-R403), hands the connection to the adapter only after the handshake, and the request is
// answered once, over 1-RTT. A bare quic-go listener that allows 0-RTT shows that the same client
// steps do send the request as early data (CALLP-R6, R185; the method of CORE-T414).
func TestZeroRTTRequestNotDispatchedEarly(t *testing.T) {
	t.Parallel()
	var ran atomic.Int64
	probe := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		ran.Add(1)
		return json.RawMessage(`"ran"`), nil
	})
	d := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"x/probe": probe}, nil)}
	h := probeAdapter{CallAdapter: protocol.NewCallAdapter(d), seen: make(chan probeSeen, 2)}
	n := coretest.StartEndpoint(t, h)
	tlsConf := n.ClientTLS(t, protocol.ALPN, nil)
	tlsConf.ClientSessionCache = tls.NewLRUClientSessionCache(4)

	for i, id := range []string{"fresh", "resumed"} {
		client, e := earlyCall(t, n.Addr, tlsConf, id)
		server := coretest.Recv(t, h.seen, "the adapter's connection")
		if !server.handshakeDone {
			t.Errorf("%s: the adapter got the connection before the handshake completed", id)
		}
		if client.Used0RTT || server.state.Used0RTT {
			t.Errorf("%s: 0-RTT accepted (client %v, server %v)", id, client.Used0RTT, server.state.Used0RTT)
		}
		if i == 1 && !client.TLS.DidResume {
			t.Fatal("the second connection did not resume, so it could not offer 0-RTT")
		}
		if e.Type != wire.EventResponded || e.ID != id || string(e.Responded().Output) != `"ran"` {
			t.Errorf("%s: answer %+v", id, e)
		}
		if got := ran.Load(); got != int64(i+1) {
			t.Errorf("%s: handler ran %d times in total, want %d", id, got, i+1)
		}
	}

	// Baseline: a listener that allows 0-RTT receives the same request as early data.
	addr, bare := coretest.StartEarlyListener(t, protocol.ALPN, func(s *quic.Stream) {
		if e, err := wire.NewFrameReader(s, 0).Next(); err == nil {
			_, _ = s.Write(frame(respondedBody(e.ID, `"bare"`)))
		}
		_ = s.Close()
	})
	earlyCall(t, addr, bare, "b1")
	if st, _ := earlyCall(t, addr, bare, "b2"); !st.Used0RTT {
		t.Fatal("baseline: the client did not send its request in 0-RTT, so the test proves nothing")
	}
}

// tapSource records every byte read from every stream of a connection, one buffer per stream, so
// a test can list the frames a node received.
type tapSource struct {
	conn.StreamSource
	mu   sync.Mutex
	bufs []*bytes.Buffer
}

type tapStream struct {
	conn.BiStream
	ts  *tapSource
	buf *bytes.Buffer
}

func (s tapStream) Read(p []byte) (int, error) {
	n, err := s.BiStream.Read(p)
	s.ts.mu.Lock()
	s.buf.Write(p[:n])
	s.ts.mu.Unlock()
	return n, err
}

func (ts *tapSource) tap(s conn.BiStream, err error) (conn.BiStream, error) {
	if err != nil {
		return nil, err
	}
	b := new(bytes.Buffer)
	ts.mu.Lock()
	ts.bufs = append(ts.bufs, b)
	ts.mu.Unlock()
	return tapStream{BiStream: s, ts: ts, buf: b}, nil
}

func (ts *tapSource) AcceptBi(ctx context.Context) (conn.BiStream, error) {
	return ts.tap(ts.StreamSource.AcceptBi(ctx))
}

func (ts *tapSource) OpenBi(ctx context.Context) (conn.BiStream, error) {
	return ts.tap(ts.StreamSource.OpenBi(ctx))
}

// received returns the whole frames read so far, stream by stream.
func (ts *tapSource) received() []wire.Envelope {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	var out []wire.Envelope
	for _, b := range ts.bufs {
		fr := wire.NewFrameReader(bytes.NewReader(bytes.Clone(b.Bytes())), 0)
		for {
			e, err := fr.Next()
			if err != nil {
				break
			}
			out = append(out, e)
		}
	}
	return out
}

// count returns how many received frames have type typ and id id.
func (ts *tapSource) count(typ, id string) int {
	n := 0
	for _, e := range ts.received() {
		if e.Type == typ && e.ID == id {
			n++
		}
	}
	return n
}

// tappedQUICPair is pair with the accepting engine's streams tapped.
func tappedQUICPair(t *testing.T, d1, d2 *protocol.Dispatcher) (dialer, acceptor *protocol.CallConnection, tap *tapSource) {
	t.Helper()
	cl, sv := coretest.Pair(t, protocol.ALPN)
	tap = &tapSource{StreamSource: sv.Source()}
	dialer = d1.Attach(cl)
	acceptor = d2.Attach(conn.New(tap, protocol.ALPN))
	serve(t, dialer)
	serve(t, acceptor)
	return dialer, acceptor, tap
}

// T-CALLP-82: expiry across two hops on real QUIC (§20.7 topology). A calls B with a deadline, B
// forwards to C with its handler's ctx, C's handler blocks on ctx.Done(). A's Call returns the
// local TIMEOUT; B receives exactly one call.aborted for its served id (its own deadline may also
// have fired first and answered TIMEOUT, which A ignores); C receives exactly one call.aborted for
// its served id and its handler observes cancellation; every table on the three nodes ends empty
// (CALLP-R132, R137, §12.4).
func TestChainExpiry(t *testing.T) {
	t.Parallel()
	var bc atomic.Pointer[protocol.CallConnection]
	fwd := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		return bc.Load().Call(ctx, "container/exec", in)
	})
	cStarted := make(chan struct{})
	cDone := make(chan error, 1)
	block := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		close(cStarted)
		<-ctx.Done()
		cDone <- context.Cause(ctx)
		return nil, ctx.Err()
	})
	dA := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
	dB := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"hub/exec": fwd}, nil)}
	dC := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"container/exec": block}, nil)}
	ab, ba, tapB := tappedQUICPair(t, dA, dB)
	bcConn, cb, tapC := tappedQUICPair(t, dB, dC)
	bc.Store(bcConn)

	// Long enough for the request to reach C on a loaded machine; the outcome does not depend on
	// the value.
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { _, err := ab.Call(ctx, "hub/exec", map[string]string{"cmd": "build"}); errc <- err }()
	coretest.Recv(t, cStarted, "C's handler to start")
	err := coretest.Recv(t, errc, "A's call to return")
	if codeOf(err) != callerr.Timeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("A's Call = %v, want the local TIMEOUT", err)
	}
	if cause := coretest.Recv(t, cDone, "C's handler to observe cancellation"); !errors.Is(cause, callerr.ErrAborted) && !errors.Is(cause, context.DeadlineExceeded) {
		t.Errorf("C's handler cause = %v", cause)
	}
	waitEmpty(t, ab, ba, bcConn, cb)

	servedID := func(tap *tapSource, node string) string {
		var ids []string
		for _, e := range tap.received() {
			if e.Type == wire.EventRequested {
				ids = append(ids, e.ID)
			}
		}
		if len(ids) != 1 {
			t.Fatalf("%s received %d requests, want 1", node, len(ids))
		}
		return ids[0]
	}
	bID, cID := servedID(tapB, "B"), servedID(tapC, "C")
	waitFor(t, "B to receive call.aborted", func() bool { return tapB.count(wire.EventAborted, bID) > 0 })
	waitFor(t, "C to receive call.aborted", func() bool { return tapC.count(wire.EventAborted, cID) > 0 })
	nB, nC := tapB.count(wire.EventAborted, bID), tapC.count(wire.EventAborted, cID)
	if nB != 1 {
		t.Errorf("B received %d call.aborted for its served id, want 1", nB)
	}
	if nC != 1 {
		t.Errorf("C received %d call.aborted for its served id, want 1", nC)
	}
}

// CALLP-R122, R31 (T-CALLP-82's "exactly one call.aborted"): on a shared request stream the
// requester aborts a call, the handler side's terminal event crosses the abort, and the requester
// ignores it: the handler side sees exactly one call.aborted for the id. The accepting side is
// driven by hand; a second call's answer, written behind the crossing terminal, shows the terminal
// was read before the third request is looked at.
func TestTerminalCrossingAbortIgnored(t *testing.T) {
	t.Parallel()
	d := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil), Options: protocol.Options{RequestStreams: 1}}
	cl, sv := coretest.Pair(t, protocol.ALPN)
	dialer := d.Attach(cl)
	serve(t, dialer)
	qc, _ := quictransport.Underlying(sv)
	ctx, cancel := context.WithTimeout(t.Context(), coretest.WaitLimit)
	defer cancel()
	call := func(ctx context.Context) chan error {
		ch := make(chan error, 1)
		go func() { _, err := dialer.Call(ctx, "x/op", nil); ch <- err }()
		return ch
	}

	ctx1, cancel1 := context.WithCancel(ctx)
	first := call(ctx1)
	s, err := qc.AcceptStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.CancelRead(0)
	fr := wire.NewFrameReader(s, 0)
	id := nextFrame(t, fr, "first request").ID
	cancel1()
	if err := coretest.Recv(t, first, "the aborted call"); !errors.Is(err, context.Canceled) {
		t.Fatalf("first Call = %v", err)
	}
	if e := nextFrame(t, fr, "the abort"); e.Type != wire.EventAborted || e.ID != id {
		t.Fatalf("after the cancel: %+v, want call.aborted for %s", e, id)
	}
	second := call(ctx)
	id2 := nextFrame(t, fr, "second request").ID
	b := append(frame(`{"type":"call.error","id":"`+id+`","payload":{"code":"TIMEOUT","message":"request timed out","retryable":true}}`),
		frame(respondedBody(id2, `"ok"`))...)
	if _, err := s.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := coretest.Recv(t, second, "the second call"); err != nil {
		t.Fatal(err)
	}
	third := call(ctx)
	for {
		e := nextFrame(t, fr, "third request")
		if e.Type == wire.EventRequested {
			if _, err := s.Write(frame(respondedBody(e.ID, `"ok"`))); err != nil {
				t.Fatal(err)
			}
			break
		}
		t.Errorf("frame %s for %s after the crossing terminal; want nothing before the third request", e.Type, e.ID)
	}
	if err := coretest.Recv(t, third, "the third call"); err != nil {
		t.Fatal(err)
	}
	waitEmpty(t, dialer)
}

// CALLP-R61, R68: an id may be reused once the requester has seen the earlier request's terminal
// event; the handler side answers every reuse.
func TestServedIDReusableAfterTerminal(t *testing.T) {
	t.Parallel()
	d := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"x/echo": echo()}, nil)}
	cl, acc := rawAcceptor(t, d)
	for i := range 200 {
		// The answer is the terminal event: the id may be used again once it has been read.
		s := openRaw(t, cl, request("same", "/x/echo", strconv.Itoa(i)), true)
		e, err := wire.NewFrameReader(s, 0).Next()
		if err != nil || e.Type != wire.EventResponded || string(e.Responded().Output) != strconv.Itoa(i) {
			t.Fatalf("use %d of the id: %+v %v", i, e, err)
		}
		_ = s.Close()
	}
	waitEmpty(t, acc)
}
