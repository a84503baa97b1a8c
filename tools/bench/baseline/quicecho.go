package baseline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
)

// ALPN is the protocol the QUIC echo negotiates.
const ALPN = "bench/echo"

// streamRequest starts a stream of frames: "stream:<size>" asks the server to send frames of
// <size> bytes until the client cancels the stream.
const streamRequest = "stream:"

// QUICConfig is the quic-go configuration both ends of the echo use: enough concurrent streams for
// 64 callers with a stream per request, 0-RTT off, and core's idle timeout and keep-alive (30 s,
// 15 s), as alknet's endpoint configures itself; the keep-alive keeps the connection up while
// other sub-benchmarks of the same run use the machine.
func QUICConfig() *quic.Config {
	return &quic.Config{
		MaxIncomingStreams: 4096, MaxIncomingUniStreams: -1,
		MaxIdleTimeout: 30 * time.Second, KeepAlivePeriod: 15 * time.Second,
	}
}

// QUICEcho is a raw quic-go server that echoes every framed message back on the stream it came in
// on. It serves both a new stream per request and long-lived streams carrying many requests.
type QUICEcho struct {
	udp    *net.UDPConn
	tr     *quic.Transport
	ln     *quic.Listener
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewQUICEcho listens on 127.0.0.1:0 with cert and starts serving. Close stops it.
func NewQUICEcho(cert *Certificate) (*QUICEcho, error) {
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	tr := &quic.Transport{Conn: udp}
	ln, err := tr.Listen(cert.ServerConfig(ALPN), QUICConfig())
	if err != nil {
		tr.Close()
		udp.Close()
		return nil, fmt.Errorf("listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &QUICEcho{udp: udp, tr: tr, ln: ln, ctx: ctx, cancel: cancel}
	s.wg.Go(s.accept)
	return s, nil
}

// Addr is the UDP address the echo listens on.
func (s *QUICEcho) Addr() net.Addr { return s.ln.Addr() }

// Close stops accepting, closes every connection, releases the socket and waits for every
// goroutine the echo started.
func (s *QUICEcho) Close() error {
	s.cancel()
	err := s.ln.Close()
	s.wg.Wait()
	return errors.Join(err, s.tr.Close(), s.udp.Close())
}

func (s *QUICEcho) accept() {
	for {
		c, err := s.ln.Accept(s.ctx)
		if err != nil {
			return
		}
		s.wg.Go(func() { s.serveConn(c) })
	}
}

func (s *QUICEcho) serveConn(c *quic.Conn) {
	stop := context.AfterFunc(s.ctx, func() { _ = c.CloseWithError(0, "shutdown") })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		st, err := c.AcceptStream(s.ctx)
		if err != nil {
			return
		}
		wg.Go(func() { serveStream(st) })
	}
}

func serveStream(st *quic.Stream) {
	defer st.Close()
	var in, out []byte
	for {
		body, err := ReadFrame(st, &in)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				st.CancelRead(1)
			}
			return
		}
		if size, ok := bytes.CutPrefix(body, []byte(streamRequest)); ok {
			streamFrames(st, size)
			return
		}
		if err := WriteFrame(st, &out, body); err != nil {
			return
		}
	}
}

// streamFrames sends frames of the requested size until the client stops reading.
func streamFrames(st *quic.Stream, size []byte) {
	n, err := strconv.Atoi(string(size))
	if err != nil || n < 0 || n > MaxFrame {
		st.CancelWrite(2)
		return
	}
	payload := bytes.Repeat([]byte{'x'}, n)
	var out []byte
	for {
		if err := WriteFrame(st, &out, payload); err != nil {
			return
		}
	}
}

// QUICClient is one QUIC connection to a [QUICEcho].
type QUICClient struct {
	conn *quic.Conn
}

// DialQUIC connects to the echo at addr, trusting only cert.
func DialQUIC(ctx context.Context, addr string, cert *Certificate) (*QUICClient, error) {
	c, err := quic.DialAddr(ctx, addr, cert.ClientConfig(ALPN), QUICConfig())
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return &QUICClient{conn: c}, nil
}

// Close closes the connection.
func (c *QUICClient) Close() error { return c.conn.CloseWithError(0, "done") }

// Call echoes p on a new stream (write frame, FIN, read frame) and returns the echoed body, which
// aliases *buf.
func (c *QUICClient) Call(ctx context.Context, p []byte, buf *[]byte) ([]byte, error) {
	st, err := c.conn.OpenStreamSync(ctx)
	if err != nil {
		return nil, fmt.Errorf("open stream: %w", err)
	}
	if err := WriteFrame(st, buf, p); err != nil {
		st.CancelRead(0)
		return nil, fmt.Errorf("write: %w", err)
	}
	if err := st.Close(); err != nil {
		return nil, fmt.Errorf("close write: %w", err)
	}
	body, err := ReadFrame(st, buf)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return body, nil
}

// Pinger ping-pongs framed messages on one long-lived stream. It is not safe for concurrent use;
// give each caller its own.
type Pinger struct {
	st      *quic.Stream
	out, in []byte
}

// Pinger opens a long-lived stream on the connection.
func (c *QUICClient) Pinger(ctx context.Context) (*Pinger, error) {
	st, err := c.conn.OpenStreamSync(ctx)
	if err != nil {
		return nil, fmt.Errorf("open stream: %w", err)
	}
	return &Pinger{st: st}, nil
}

// Call sends p and waits for its echo, which aliases the pinger's buffer until the next call.
func (p *Pinger) Call(msg []byte) ([]byte, error) {
	if err := WriteFrame(p.st, &p.out, msg); err != nil {
		return nil, fmt.Errorf("write: %w", err)
	}
	return ReadFrame(p.st, &p.in)
}

// Close ends the stream.
func (p *Pinger) Close() error {
	p.st.CancelRead(0)
	return p.st.Close()
}

// FrameStream receives frames of one size pushed by the server, as a subscription would.
type FrameStream struct {
	st *quic.Stream
	in []byte
}

// Stream asks the server for an endless stream of frames of size bytes.
func (c *QUICClient) Stream(ctx context.Context, size int) (*FrameStream, error) {
	st, err := c.conn.OpenStreamSync(ctx)
	if err != nil {
		return nil, fmt.Errorf("open stream: %w", err)
	}
	var out []byte
	if err := WriteFrame(st, &out, []byte(streamRequest+strconv.Itoa(size))); err != nil {
		return nil, fmt.Errorf("write: %w", err)
	}
	return &FrameStream{st: st}, nil
}

// Next returns the next frame's body, which aliases the stream's buffer until the next call.
func (f *FrameStream) Next() ([]byte, error) { return ReadFrame(f.st, &f.in) }

// Close stops the stream in both directions.
func (f *FrameStream) Close() error {
	f.st.CancelRead(0)
	f.st.CancelWrite(0)
	return nil
}
