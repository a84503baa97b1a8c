package conn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// NewStreamConn turns any io.ReadWriteCloser (a *tls.Conn from a TCP listener, one end of
// net.Pipe, an SSH channel, a WebSocket adapter) into a single-stream [Connection] whose
// negotiated protocol is alpn (ADR-065). remote may be nil.
//
// The first AcceptBi returns rwc as the one stream; later calls block until that stream is
// closed or reset, the connection is closed, or ctx ends (CORE-R321). OpenBi fails with
// [ErrStreamClosed] (CORE-R322). Close ignores its code and reason and closes rwc; closing or
// resetting the stream also closes the connection (CORE-R323). A byte stream has no
// out-of-band close signal, so Done fires only after a local close (CORE-R327).
// [Connection.SingleStream] reports true (CORE-R326).
func NewStreamConn(rwc io.ReadWriteCloser, alpn string, remote net.Addr) *Connection {
	return New(&streamSource{rwc: rwc, remote: remote, done: make(chan struct{})}, alpn)
}

// streamSource is the StreamSource over one io.ReadWriteCloser.
type streamSource struct {
	rwc    io.ReadWriteCloser
	remote net.Addr

	mu       sync.Mutex
	accepted bool // guarded by mu
	reset    bool // guarded by mu

	closeOnce sync.Once
	done      chan struct{} // closed by close
}

var _ SingleStreamSource = (*streamSource)(nil)

func (s *streamSource) SingleStream() bool { return true }

func (s *streamSource) AcceptBi(ctx context.Context) (BiStream, error) {
	s.mu.Lock()
	first := !s.accepted
	s.accepted = true
	s.mu.Unlock()
	select {
	case <-s.done:
		return nil, fmt.Errorf("accept stream: %w", ErrConnectionClosed)
	default:
	}
	if first {
		return (*singleStream)(s), nil
	}
	select {
	case <-s.done:
		return nil, fmt.Errorf("accept stream: %w", ErrConnectionClosed)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *streamSource) OpenBi(ctx context.Context) (BiStream, error) {
	return nil, fmt.Errorf("open stream on a single-stream connection: %w", ErrStreamClosed)
}

func (s *streamSource) RemoteAddr() net.Addr { return s.remote }

func (s *streamSource) Close(code uint64, reason string) error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		err = s.rwc.Close()
	})
	return err
}

func (s *streamSource) Done() <-chan struct{} { return s.done }

func (s *streamSource) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// mapErr maps an error from the underlying value: io.EOF stays plain, anything after a local
// reset is ErrStreamClosed, anything after a local close is ErrConnectionClosed, and the rest
// (the transport's own io or net errors) passes through.
func (s *streamSource) mapErr(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	s.mu.Lock()
	reset := s.reset
	s.mu.Unlock()
	switch {
	case reset:
		return fmt.Errorf("%s: %w: %w", op, ErrStreamClosed, err)
	case s.isClosed():
		return fmt.Errorf("%s: %w: %w", op, ErrConnectionClosed, err)
	case errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe):
		return fmt.Errorf("%s: %w: %w", op, ErrConnectionClosed, err)
	}
	return err
}

// singleStream is the one BiStream of a streamSource.
type singleStream streamSource

func (st *singleStream) src() *streamSource { return (*streamSource)(st) }

func (st *singleStream) Read(p []byte) (int, error) {
	n, err := st.rwc.Read(p)
	return n, st.src().mapErr("read", err)
}

func (st *singleStream) Write(p []byte) (int, error) {
	n, err := st.rwc.Write(p)
	return n, st.src().mapErr("write", err)
}

func (st *singleStream) CloseWrite() error {
	cw, ok := st.rwc.(interface{ CloseWrite() error })
	if !ok {
		return ErrHalfCloseUnsupported
	}
	return st.src().mapErr("close write", cw.CloseWrite())
}

func (st *singleStream) Close() error {
	return st.src().Close(0, "")
}

func (st *singleStream) Reset(code uint64) {
	st.mu.Lock()
	if !st.src().isClosed() {
		st.reset = true
	}
	st.mu.Unlock()
	_ = st.src().Close(code, "")
}

func (st *singleStream) SetReadDeadline(t time.Time) error {
	d, ok := st.rwc.(interface{ SetReadDeadline(time.Time) error })
	if !ok {
		return ErrDeadlineUnsupported
	}
	return d.SetReadDeadline(t)
}

func (st *singleStream) SetWriteDeadline(t time.Time) error {
	d, ok := st.rwc.(interface{ SetWriteDeadline(time.Time) error })
	if !ok {
		return ErrDeadlineUnsupported
	}
	return d.SetWriteDeadline(t)
}
