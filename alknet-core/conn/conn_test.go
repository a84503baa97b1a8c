package conn_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/conn"
	"github.com/alknet/alknet/alknet-core/coretest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// CORE-T304
func TestSingleStreamAccept(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	defer b.Close()
	c := conn.NewStreamConn(a, "alknet/test", nil)
	s, err := c.AcceptBi(t.Context())
	if err != nil {
		t.Fatalf("first AcceptBi = %v", err)
	}
	second := make(chan error, 1)
	go func() {
		_, err := c.AcceptBi(t.Context())
		second <- err
	}()
	// The second AcceptBi must still be blocked while the stream is in use.
	go func() { _, _ = b.Write([]byte("ping")) }()
	buf := make([]byte, 4)
	if _, err := io.ReadFull(s, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("Read = %q, %v", buf, err)
	}
	select {
	case err := <-second:
		t.Fatalf("second AcceptBi returned %v while the stream was open", err)
	default:
	}
	if _, err := c.OpenBi(t.Context()); !errors.Is(err, conn.ErrStreamClosed) {
		t.Fatalf("OpenBi = %v, want ErrStreamClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("stream Close = %v", err)
	}
	if err := <-second; !errors.Is(err, conn.ErrConnectionClosed) {
		t.Fatalf("second AcceptBi = %v, want ErrConnectionClosed", err)
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed after the stream was closed")
	}
	if _, err := s.Write([]byte("x")); !errors.Is(err, conn.ErrConnectionClosed) {
		t.Fatalf("Write after Close = %v, want ErrConnectionClosed", err)
	}
}

// CORE-T304: Close(7, "x") closes the underlying value and fires Done.
func TestSingleStreamClose(t *testing.T) {
	t.Parallel()
	rwc := &trackingRWC{}
	c := conn.NewStreamConn(rwc, "alknet/test", nil)
	if err := c.Close(7, "x"); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(7, "x"); err != nil {
		t.Fatalf("second Close = %v, want nil", err)
	}
	if n := rwc.closes.Load(); n != 1 {
		t.Fatalf("underlying Close called %d times, want 1", n)
	}
	<-c.Done()
	if _, err := c.AcceptBi(t.Context()); !errors.Is(err, conn.ErrConnectionClosed) {
		t.Fatalf("AcceptBi after Close = %v, want ErrConnectionClosed", err)
	}
}

// CORE-R302: a cancelled ctx returns ctx.Err() unwrapped.
func TestSingleStreamAcceptCtx(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	defer b.Close()
	c := conn.NewStreamConn(a, "alknet/test", nil)
	defer c.Close(0, "")
	if _, err := c.AcceptBi(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := c.AcceptBi(ctx)
		done <- err
	}()
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("AcceptBi after cancel = %v, want context.Canceled", err)
	}
}

// CORE-T305: net.Pipe has no half-close.
func TestCloseWritePipe(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	defer b.Close()
	c := conn.NewStreamConn(a, "alknet/test", nil)
	defer c.Close(0, "")
	s, _ := c.AcceptBi(t.Context())
	err := s.CloseWrite()
	if !errors.Is(err, conn.ErrHalfCloseUnsupported) || alkerr.CodeOf(err) != alkerr.CodeUnsupported {
		t.Fatalf("CloseWrite = %v, want UNSUPPORTED", err)
	}
	// Nothing changed: the stream still writes.
	go func() { _, _ = s.Write([]byte("ok")) }()
	buf := make([]byte, 2)
	if _, err := io.ReadFull(b, buf); err != nil {
		t.Fatalf("read after refused CloseWrite: %v", err)
	}
}

// CORE-T305: over loopback TCP the peer reads EOF while the reverse direction keeps working.
func TestCloseWriteTCP(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peerc := make(chan net.Conn, 1)
	go func() {
		pc, err := ln.Accept()
		if err != nil {
			close(peerc)
			return
		}
		peerc <- pc
	}()
	tc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer := <-peerc
	if peer == nil {
		t.Fatal("accept failed")
	}
	defer peer.Close()
	c := conn.NewStreamConn(tc, "alknet/test", tc.RemoteAddr())
	defer c.Close(0, "")
	if c.RemoteAddr() != tc.RemoteAddr() {
		t.Fatalf("RemoteAddr = %v, want %v", c.RemoteAddr(), tc.RemoteAddr())
	}
	s, _ := c.AcceptBi(t.Context())
	if _, err := s.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseWrite(); err != nil {
		t.Fatalf("CloseWrite = %v", err)
	}
	got, err := io.ReadAll(peer)
	if err != nil || string(got) != "hello" {
		t.Fatalf("peer ReadAll = %q, %v", got, err)
	}
	if _, err := peer.Write([]byte("back")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(s, buf); err != nil || string(buf) != "back" {
		t.Fatalf("reverse read = %q, %v", buf, err)
	}
	if err := s.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatalf("SetReadDeadline = %v", err)
	}
	if _, err := s.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past deadline = %v, want deadline exceeded", err)
	}
}

// CORE-R324: deadlines on a value without them are UNSUPPORTED.
func TestDeadlineUnsupported(t *testing.T) {
	t.Parallel()
	c := conn.NewStreamConn(&trackingRWC{}, "alknet/test", nil)
	defer c.Close(0, "")
	s, _ := c.AcceptBi(t.Context())
	if err := s.SetReadDeadline(time.Now()); !errors.Is(err, conn.ErrDeadlineUnsupported) {
		t.Fatalf("SetReadDeadline = %v, want ErrDeadlineUnsupported", err)
	}
	if err := s.SetWriteDeadline(time.Now()); !errors.Is(err, conn.ErrDeadlineUnsupported) {
		t.Fatalf("SetWriteDeadline = %v, want ErrDeadlineUnsupported", err)
	}
}

// CORE-R323: Reset closes the connection; later stream operations report the reset.
func TestSingleStreamReset(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	defer b.Close()
	c := conn.NewStreamConn(a, "alknet/test", nil)
	s, _ := c.AcceptBi(t.Context())
	readErr := make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 1))
		readErr <- err
	}()
	s.Reset(9)
	if err := <-readErr; !errors.Is(err, conn.ErrStreamClosed) {
		t.Fatalf("Read after Reset = %v, want ErrStreamClosed", err)
	}
	<-c.Done()
	s.Reset(9)
	if err := s.Close(); err != nil {
		t.Fatalf("Close after Reset = %v", err)
	}
}

// CORE-T306
func TestSetIdentityOnce(t *testing.T) {
	t.Parallel()
	c := conn.NewStreamConn(&trackingRWC{}, "alknet/test", nil)
	defer c.Close(0, "")
	if _, ok := c.Identity(); ok {
		t.Fatal("Identity set before SetIdentity")
	}
	var wg sync.WaitGroup
	var wins, losses atomic.Int32
	var winner atomic.Value
	for i := range 50 {
		wg.Go(func() {
			id := auth.Identity{ID: "peer-" + string(rune('a'+i%26)), Scopes: []string{"s"}}
			switch err := c.SetIdentity(id); {
			case err == nil:
				wins.Add(1)
				winner.Store(id.ID)
			case errors.Is(err, conn.ErrIdentityAlreadySet):
				losses.Add(1)
			default:
				t.Errorf("SetIdentity = %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || losses.Load() != 49 {
		t.Fatalf("wins=%d losses=%d, want 1 and 49", wins.Load(), losses.Load())
	}
	got, ok := c.Identity()
	if !ok || got.ID != winner.Load().(string) {
		t.Fatalf("Identity = %v, %v; want %v", got, ok, winner.Load())
	}
	got.Scopes[0] = "mutated"
	if again, _ := c.Identity(); again.Scopes[0] != "s" {
		t.Fatal("mutating the returned identity changed the stored one")
	}
}

// CORE-T307 over the single-stream path: one goroutine reads while another writes 10 MiB
// each way.
func TestConcurrentReadWrite(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	c := conn.NewStreamConn(a, "alknet/test", nil)
	defer c.Close(0, "")
	peer := conn.NewStreamConn(b, "alknet/test", nil)
	defer peer.Close(0, "")
	s1, _ := c.AcceptBi(t.Context())
	s2, _ := peer.AcceptBi(t.Context())
	const size = 10 << 20
	out1, out2 := make([]byte, size), make([]byte, size)
	_, _ = rand.Read(out1)
	_, _ = rand.Read(out2)
	var wg sync.WaitGroup
	var in1, in2 []byte
	var e1, e2, e3, e4 error
	wg.Go(func() { _, e1 = s1.Write(out1) })
	wg.Go(func() { _, e2 = s2.Write(out2) })
	wg.Go(func() { in1 = make([]byte, size); _, e3 = io.ReadFull(s1, in1) })
	wg.Go(func() { in2 = make([]byte, size); _, e4 = io.ReadFull(s2, in2) })
	wg.Wait()
	if err := errors.Join(e1, e2, e3, e4); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(in1, out2) || !bytes.Equal(in2, out1) {
		t.Fatal("payload mismatch")
	}
}

// CORE-T308: a handler looping AcceptBi with a goroutine per stream serves exactly one
// session on a single-stream connection and returns cleanly after it ends.
func TestLoopingHandlerSingleStream(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	c := conn.NewStreamConn(a, "alknet/test", nil)
	var sessions atomic.Int32
	handle := func(ctx context.Context) error {
		var wg sync.WaitGroup
		defer wg.Wait()
		for {
			s, err := c.AcceptBi(ctx)
			if err != nil {
				if errors.Is(err, conn.ErrConnectionClosed) {
					return nil
				}
				return err
			}
			sessions.Add(1)
			wg.Go(func() {
				defer s.Close()
				_, _ = io.Copy(s, s)
			})
		}
	}
	res := make(chan error, 1)
	go func() { res <- handle(t.Context()) }()
	if _, err := b.Write([]byte("echo")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(b, buf); err != nil || string(buf) != "echo" {
		t.Fatalf("echo = %q, %v", buf, err)
	}
	b.Close() // the peer goes away: the stream reads EOF and closes the connection
	if err := <-res; err != nil {
		t.Fatalf("handler returned %v", err)
	}
	if n := sessions.Load(); n != 1 {
		t.Fatalf("sessions = %d, want 1", n)
	}
}

type customSource struct{ done chan struct{} }

func (s customSource) AcceptBi(ctx context.Context) (conn.BiStream, error) {
	return nil, conn.ErrConnectionClosed
}
func (s customSource) OpenBi(ctx context.Context) (conn.BiStream, error) {
	return nil, conn.ErrConnectionClosed
}
func (s customSource) RemoteAddr() net.Addr       { return nil }
func (s customSource) Close(uint64, string) error { return nil }
func (s customSource) Done() <-chan struct{}      { return s.done }

type singleSource struct{ customSource }

func (singleSource) SingleStream() bool { return true }

// CORE-T309 (the QUIC case is in package quictransport).
func TestSingleStreamFlag(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	defer b.Close()
	pc := conn.NewStreamConn(a, "alknet/test", nil)
	defer pc.Close(0, "")
	if !pc.SingleStream() {
		t.Error("NewStreamConn over net.Pipe: SingleStream = false")
	}
	if c := conn.New(customSource{}, "alknet/test"); c.SingleStream() {
		t.Error("custom source without the method: SingleStream = true")
	}
	if c := conn.New(singleSource{}, "alknet/test"); !c.SingleStream() {
		t.Error("custom source reporting true: SingleStream = false")
	}
	if c := conn.New(customSource{}, "alknet/x"); c.ALPN() != "alknet/x" {
		t.Errorf("ALPN = %q", c.ALPN())
	}
}

// CORE-R302: a ctx already done wins over the source.
func TestConnectionCtxFirst(t *testing.T) {
	t.Parallel()
	c := conn.New(customSource{}, "alknet/test")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.AcceptBi(ctx); err != context.Canceled {
		t.Fatalf("AcceptBi = %v, want context.Canceled", err)
	}
	if _, err := c.OpenBi(ctx); err != context.Canceled {
		t.Fatalf("OpenBi = %v, want context.Canceled", err)
	}
}

func TestCodesDocumented(t *testing.T) {
	t.Parallel()
	coretest.CheckErrorCodes(t, "alknet-core", conn.Codes())
}

// trackingRWC is an io.ReadWriteCloser without deadlines or half-close.
type trackingRWC struct{ closes atomic.Int32 }

func (r *trackingRWC) Read([]byte) (int, error)    { return 0, io.EOF }
func (r *trackingRWC) Write(p []byte) (int, error) { return len(p), nil }
func (r *trackingRWC) Close() error                { r.closes.Add(1); return nil }
