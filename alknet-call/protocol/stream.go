package protocol

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/wire"
	"github.com/alknet/alknet/alknet-core/conn"
)

// streamState is the engine's view of one bidirectional stream.
type streamState struct {
	c      *CallConnection
	s      conn.BiStream
	opened bool // this side opened it (requester side in multi-stream mode)
	shared bool // carries several requests of this side: a pooled request stream or the single stream

	wmu    sync.Mutex // one frame at a time (CALLP-R16); Close is serialised with writes too
	broken bool       // guarded by wmu: a write failed or the stream was given up
	wbuf   []byte     // guarded by wmu: reusable buffer for the frames emit builds

	mu       sync.Mutex
	active   int                       // guarded by mu; served requests received here, not finished
	eof      bool                      // guarded by mu; the peer finished its side
	released bool                      // guarded by mu; Close or Reset done
	served   map[*servedEntry]struct{} // guarded by mu
	sent     map[string]*pendingEntry  // guarded by mu; requests this side sent on the stream
	resolved []string                  // guarded by mu; shared streams: recently finished calls, oldest first
}

// maxResolved bounds the ids a shared stream remembers for CALLP-R106.
const maxResolved = 256

// finished forgets a request sent on a shared stream, remembering its id for CALLP-R106 when
// an answer of the handler side resolved it. A call this side ended itself (abort, deadline) is
// not remembered: its late terminal crosses the abort and is ignored (CALLP-R122).
func (st *streamState) finished(p *pendingEntry) {
	if !st.shared {
		return
	}
	st.mu.Lock()
	if st.sent[p.id] == p {
		delete(st.sent, p.id)
		if !p.sub && p.final.answered {
			if len(st.resolved) == maxResolved {
				st.resolved = st.resolved[1:]
			}
			st.resolved = append(st.resolved, p.id)
		}
	}
	st.mu.Unlock()
}

// takeResolved reports whether id is a call already resolved on this shared stream, forgetting
// it so that only one call.aborted is sent for it.
func (st *streamState) takeResolved(id string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	for i, r := range st.resolved {
		if r == id {
			st.resolved = append(st.resolved[:i], st.resolved[i+1:]...)
			return true
		}
	}
	return false
}

// dead reports a stream that can carry no more requests.
func (st *streamState) dead() bool {
	st.mu.Lock()
	d := st.released || st.eof
	st.mu.Unlock()
	st.wmu.Lock()
	d = d || st.broken
	st.wmu.Unlock()
	return d
}

// write writes one whole frame. In single-stream mode every event of the connection goes through
// here.
func (st *streamState) write(frame []byte) error {
	st.wmu.Lock()
	defer st.wmu.Unlock()
	if st.broken {
		return errStreamGone
	}
	if _, err := st.s.Write(frame); err != nil {
		st.broken = true
		return err
	}
	return nil
}

var errStreamGone = errors.New("alknet/call: stream given up")

// maxWriteBuffer is the largest frame buffer a stream keeps for reuse.
const maxWriteBuffer = 1 << 20

// reset gives the stream up with code (multi-stream mode only: resetting the one stream of a
// single-stream connection would end the connection, CALLP-R83).
func (st *streamState) reset(code uint64) {
	if st.c.single {
		return
	}
	st.mu.Lock()
	done := st.released
	st.released = true
	st.mu.Unlock()
	if !done {
		st.s.Reset(code)
	}
}

// release closes the stream cleanly: FIN if not yet sent, and stop reading (CORE-R317).
func (st *streamState) release() {
	if st.c.single {
		return
	}
	st.mu.Lock()
	done := st.released
	st.released = true
	st.mu.Unlock()
	if done {
		return
	}
	st.wmu.Lock()
	_ = st.s.Close()
	st.wmu.Unlock()
	st.c.dropStream(st)
}

// abandon is the teardown path: close if no write is in progress, reset otherwise.
func (st *streamState) abandon() {
	if st.c.single {
		return
	}
	st.mu.Lock()
	done := st.released
	st.released = true
	st.mu.Unlock()
	if done {
		return
	}
	if st.wmu.TryLock() {
		_ = st.s.Close()
		st.wmu.Unlock()
	} else {
		st.s.Reset(wire.StreamCodeCancelled)
	}
}

func (st *streamState) addSent(p *pendingEntry) {
	st.mu.Lock()
	st.sent[p.id] = p
	st.mu.Unlock()
}

func (st *streamState) wasSent(id string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	_, ok := st.sent[id]
	return ok
}

// readLoop reads and routes every frame of the stream (CALLP-R71) until it ends.
func (st *streamState) readLoop() {
	c := st.c
	if !st.opened {
		c.answered.Store(true)
	}
	fr := wire.NewFrameReader(st.s, c.opts.MaxFrameSize)
	for {
		e, err := fr.Next()
		if err != nil {
			st.readEnded(err)
			return
		}
		readTime := time.Now()
		switch e.Type {
		case wire.EventRequested:
			if st.opened && !c.single {
				c.log.Warn("call.requested on a stream this side opened; dropped", "request_id", e.ID)
				continue
			}
			c.dispatch(st, e, readTime)
		case wire.EventResponded, wire.EventCompleted, wire.EventError:
			c.deliver(st, e)
		case wire.EventAborted:
			c.abortServed(e.ID)
			c.abortPendingFromPeer(e.ID)
		default:
			c.log.Debug("unknown event type ignored", "type", e.Type)
		}
	}
}

// readEnded handles the end of a stream's receive side (CALLP-R77, R79, R80, §16).
func (st *streamState) readEnded(err error) {
	c := st.c
	if c.single {
		if !errors.Is(err, io.EOF) && !isConnEnd(err) {
			c.log.Warn("single-stream connection: bad frame, closing", "err", err)
		}
		_ = c.conn.Close(0, "done")
		c.end(ErrConnectionClosed)
		return
	}
	switch {
	case errors.Is(err, io.EOF):
		st.mu.Lock()
		st.eof = true
		idle := st.active == 0
		sent := st.sentSnapshot()
		st.mu.Unlock()
		for _, p := range sent {
			if p.term.Load() {
				continue
			}
			if p.sub && p.delivered.Load() > 0 {
				p.finish(result{end: true})
			} else {
				p.finish(result{err: errStreamClosed()})
			}
		}
		if st.opened || idle {
			st.release()
		}
		return
	case isConnEnd(err):
		c.end(ErrConnectionClosed)
		return
	case errors.Is(err, wire.ErrFrameTooLarge):
		c.log.Warn("frame too large; stream reset", "err", err)
		st.reset(wire.StreamCodeFrameTooLarge)
		c.countFramingError()
	case errors.Is(err, wire.ErrEmptyFrame), errors.Is(err, wire.ErrTruncatedFrame), errors.Is(err, wire.ErrMalformed):
		c.log.Warn("bad frame; stream reset", "err", err)
		st.reset(wire.StreamCodeProtocolViolation)
		c.countFramingError()
	default:
		// The peer reset the stream or stopped reading it (CALLP-R79).
		st.reset(wire.StreamCodeCancelled)
	}
	st.fail()
	c.dropStream(st)
}

// countFramingError counts a stream ended by a framing error; more than
// Options.MaxFramingErrors within one minute end the connection (CALLP-R161): Serve returns
// ErrTooManyFramingErrors, which an endpoint turns into an internal-error close (CORE-R204).
func (c *CallConnection) countFramingError() {
	max := c.opts.MaxFramingErrors
	if max < 0 {
		return
	}
	now := time.Now()
	c.frameMu.Lock()
	defer c.frameMu.Unlock()
	if now.Sub(c.frameWindow) > time.Minute {
		c.frameWindow, c.frameErrors = now, 0
	}
	c.frameErrors++
	if c.frameErrors == max+1 {
		c.log.Warn("too many framing errors; giving up on the connection", "remote_addr", c.metadata["remote_addr"], "errors", c.frameErrors)
		c.quit(fmt.Errorf("call connection: more than %d framing errors within a minute: %w", max, ErrTooManyFramingErrors))
	}
}

func (st *streamState) sentSnapshot() []*pendingEntry {
	out := make([]*pendingEntry, 0, len(st.sent))
	for _, p := range st.sent {
		out = append(out, p)
	}
	return out
}

// fail cancels the served requests received on the stream and fails the requests sent on it,
// writing nothing (CALLP-R79, R80).
func (st *streamState) fail() {
	st.mu.Lock()
	served := make([]*servedEntry, 0, len(st.served))
	for se := range st.served {
		served = append(served, se)
	}
	sent := st.sentSnapshot()
	st.mu.Unlock()
	for _, se := range served {
		if se.claim() {
			st.c.finishServed(se, ErrStreamClosed)
		}
	}
	for _, p := range sent {
		p.finish(result{err: errStreamClosed()})
	}
}

// Frame builders. Every frame the engine writes is built here.

func simpleFrame(typ, id string) []byte {
	f, _ := wire.AppendFrame(nil, wire.Envelope{Type: typ, ID: id, Payload: []byte("{}")}, 0)
	return f
}

// errorFrame encodes a call.error; when it would exceed the limit it is sent without details
// (CALLP-R95).
func errorFrame(id string, ce *callerr.CallError, limit int) []byte {
	p, err := wire.EncodeCallError(ce)
	if err != nil {
		p, _ = wire.EncodeCallError(&callerr.CallError{Code: ce.Code, Message: ce.Message, Retryable: ce.Retryable})
	}
	f, err := wire.AppendFrame(nil, wire.Envelope{Type: wire.EventError, ID: id, Payload: p}, limit)
	if err != nil {
		p, _ = wire.EncodeCallError(&callerr.CallError{Code: ce.Code, Message: ce.Message, Retryable: ce.Retryable})
		f, _ = wire.AppendFrame(nil, wire.Envelope{Type: wire.EventError, ID: id, Payload: p}, 0)
	}
	return f
}

func respondedFrame(id string, out []byte, limit int) ([]byte, error) {
	return wire.AppendRespondedFrame(nil, id, out, limit)
}
