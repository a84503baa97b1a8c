package endpoint_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/quic-go/quic-go"

	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/config"
	"github.com/alknet/alknet/alknet-core/conn"
	"github.com/alknet/alknet/alknet-core/coretest"
	"github.com/alknet/alknet/alknet-core/quictransport"
	"github.com/alknet/alknet/alknet-core/tlsconf"
)

// bareServer is a quic-go listener with the endpoint's TLS and QUIC settings (client
// certificate requested, 4096 streams, no uni streams, no 0-RTT) and no endpoint around it:
// the baseline of CORE-B2 and CORE-B4. Each connection gets one goroutine that serves one
// stream with serve and then waits for the connection to end.
type bareServer struct {
	addr string
	pin  string
	done chan struct{} // closed when the accept loop has ended
	ln   *quic.Listener
	tr   *quic.Transport
	udp  *net.UDPConn
}

func startBare(b testing.TB, alpn string, serve func(*quic.Conn)) *bareServer {
	b.Helper()
	id, pin := coretest.NewIdentity(b)
	tlsConf, err := tlsconf.ServerConfig(id, []string{alpn})
	if err != nil {
		b.Fatal(err)
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	s := &bareServer{addr: udp.LocalAddr().String(), pin: pin, done: make(chan struct{}), udp: udp}
	s.tr = &quic.Transport{Conn: udp}
	s.ln, err = s.tr.Listen(tlsConf, quictransport.ClientConfig(config.QUICSettings{}))
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		defer close(s.done)
		var conns []*quic.Conn
		defer func() {
			for _, qc := range conns {
				qc.CloseWithError(0, "")
			}
		}()
		for {
			qc, err := s.ln.Accept(context.Background())
			if err != nil {
				return
			}
			conns = append(conns, qc)
			go serve(qc)
		}
	}()
	b.Cleanup(func() {
		s.ln.Close()
		<-s.done
		s.tr.Close()
		s.udp.Close()
	})
	return s
}

// echoOnce serves one stream: it echoes one byte and closes the stream.
func echoOnce(ctx context.Context, accept func(context.Context) (io.ReadWriteCloser, error)) {
	s, err := accept(ctx)
	if err != nil {
		return
	}
	defer s.Close()
	buf := make([]byte, 1)
	if _, err := io.ReadFull(s, buf); err == nil {
		_, _ = s.Write(buf)
	}
}

// pingOnce opens a stream, writes one byte and reads it back.
func pingOnce(b *testing.B, open func() (io.ReadWriteCloser, error)) {
	s, err := open()
	if err != nil {
		b.Fatal(err)
	}
	buf := []byte{7}
	if _, err := s.Write(buf); err != nil {
		b.Fatal(err)
	}
	if _, err := io.ReadFull(s, buf); err != nil {
		b.Fatal(err)
	}
	s.Close()
}

// CORE-B2: QUIC dial, handshake (client certificate presented) and a first stream round trip
// through quictransport.Dial and the endpoint's dispatch, beside a bare quic-go listener and
// dialer with the same certificates and settings.
func BenchmarkConnectionSetup(b *testing.B) {
	clientID, _ := coretest.NewIdentity(b)
	b.Run("endpoint", func(b *testing.B) {
		h := funcHandler{alpn: alpnEcho, fn: func(ctx context.Context, c *conn.Connection, _ auth.AuthContext) error {
			echoOnce(ctx, func(ctx context.Context) (io.ReadWriteCloser, error) { return c.AcceptBi(ctx) })
			return nil
		}}
		n := coretest.StartEndpoint(b, h)
		opts := n.DialOptions(alpnEcho, &clientID)
		b.ReportAllocs()
		for b.Loop() {
			c, err := quictransport.Dial(b.Context(), n.Addr, opts, nil)
			if err != nil {
				b.Fatal(err)
			}
			pingOnce(b, func() (io.ReadWriteCloser, error) { return c.OpenBi(b.Context()) })
			c.Close(0, "")
		}
	})
	// The same endpoint dialled with a prebuilt client TLS configuration, exactly as the
	// baseline dials: quictransport.Dial builds its configuration (and signs the client's
	// wrapper certificate) on every call, which is client cost, not endpoint cost.
	b.Run("endpoint-prebuilt-client-tls", func(b *testing.B) {
		h := funcHandler{alpn: alpnEcho, fn: func(ctx context.Context, c *conn.Connection, _ auth.AuthContext) error {
			echoOnce(ctx, func(ctx context.Context) (io.ReadWriteCloser, error) { return c.AcceptBi(ctx) })
			return nil
		}}
		n := coretest.StartEndpoint(b, h)
		tlsConf := n.ClientTLS(b, alpnEcho, &clientID)
		qcfg := quictransport.ClientConfig(config.QUICSettings{})
		b.ReportAllocs()
		for b.Loop() {
			qc, err := quic.DialAddr(b.Context(), n.Addr, tlsConf, qcfg)
			if err != nil {
				b.Fatal(err)
			}
			c := quictransport.Wrap(qc)
			pingOnce(b, func() (io.ReadWriteCloser, error) { return c.OpenBi(b.Context()) })
			c.Close(0, "")
		}
	})
	b.Run("bare-quic-go", func(b *testing.B) {
		s := startBare(b, alpnEcho, func(qc *quic.Conn) {
			echoOnce(qc.Context(), func(ctx context.Context) (io.ReadWriteCloser, error) { return qc.AcceptStream(ctx) })
			<-qc.Context().Done()
		})
		tlsConf, err := tlsconf.ClientConfig(tlsconf.ClientOptions{ALPN: alpnEcho, Local: &clientID, PinnedFingerprints: []string{s.pin}})
		if err != nil {
			b.Fatal(err)
		}
		qcfg := quictransport.ClientConfig(config.QUICSettings{})
		b.ReportAllocs()
		for b.Loop() {
			qc, err := quic.DialAddr(b.Context(), s.addr, tlsConf, qcfg)
			if err != nil {
				b.Fatal(err)
			}
			pingOnce(b, func() (io.ReadWriteCloser, error) { return qc.OpenStreamSync(b.Context()) })
			qc.CloseWithError(0, "")
		}
	})
}

const (
	idleClientsEnv = "ALKNET_BENCH_IDLE_CLIENTS" // addr,count,pin,alpn
	idleConns      = 1000
)

// runIdleClients is the client process of BenchmarkIdleMemory: it opens count connections
// over one UDP socket, prints "ready", and holds them until its stdin closes.
func runIdleClients(spec string) int {
	parts := strings.Split(spec, ",")
	if len(parts) != 4 {
		fmt.Fprintln(os.Stderr, "bad spec", spec)
		return 2
	}
	count, _ := strconv.Atoi(parts[1])
	tlsConf, err := tlsconf.ClientConfig(tlsconf.ClientOptions{ALPN: parts[3], PinnedFingerprints: []string{parts[2]}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	tr := &quic.Transport{Conn: udp}
	defer udp.Close()
	defer tr.Close()
	raddr, _ := net.ResolveUDPAddr("udp", parts[0])
	qcfg := quictransport.ClientConfig(config.QUICSettings{})
	for range count {
		qc, err := tr.Dial(context.Background(), raddr, tlsConf, qcfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer qc.CloseWithError(0, "")
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// holdIdle starts the client process against addr and returns once its connections are up;
// cleanup ends it.
func holdIdle(b *testing.B, addr, pin, alpn string, allServed <-chan struct{}) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), idleClientsEnv+"="+strings.Join([]string{addr, strconv.Itoa(idleConns), pin, alpn}, ","))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		b.Fatalf("client process: %q, %v", line, err)
	}
	<-allServed
}

// counter counts served connections and closes a channel when a target is reached.
type counter struct {
	mu     sync.Mutex
	n      int           // guarded by mu
	target int           // guarded by mu
	done   chan struct{} // closed by inc when n reaches target; guarded by mu
}

func (c *counter) inc() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	if c.done != nil && c.n == c.target {
		close(c.done)
	}
}

// reached resets the count and returns a channel closed once target connections are served.
func (c *counter) reached(target int) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n, c.target, c.done = 0, target, make(chan struct{})
	return c.done
}

// inUse returns heap and goroutine-stack bytes in use after garbage collection.
func inUse() (heap, stack uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse, ms.StackInuse
}

// reportPerConn reports the growth since before, per idle connection.
func reportPerConn(b *testing.B, heap0, stack0 uint64) {
	heap, stack := inUse()
	b.ReportMetric(float64(int64(heap)-int64(heap0))/idleConns, "bytes/conn")
	b.ReportMetric(float64(int64(stack)-int64(stack0))/idleConns, "stack-bytes/conn")
}

// CORE-B4: server heap (and, separately, goroutine stack) in use per idle connection with 1,000 connections held open by a
// separate client process, through the endpoint (a handler blocked in AcceptBi) and through a
// bare quic-go listener with the same configs.
func BenchmarkIdleMemory(b *testing.B) {
	b.Run("endpoint", func(b *testing.B) {
		var served counter
		h := funcHandler{alpn: alpnEcho, fn: func(ctx context.Context, c *conn.Connection, _ auth.AuthContext) error {
			served.inc()
			_, err := c.AcceptBi(ctx)
			if err == nil {
				return fmt.Errorf("unexpected stream")
			}
			return nil
		}}
		for b.Loop() {
			heap, stack := inUse()
			n := coretest.StartEndpoint(b, h)
			holdIdle(b, n.Addr, n.Fingerprint, alpnEcho, served.reached(idleConns))
			reportPerConn(b, heap, stack)
		}
	})
	b.Run("bare-quic-go", func(b *testing.B) {
		var served counter
		for b.Loop() {
			heap, stack := inUse()
			s := startBare(b, alpnEcho, func(qc *quic.Conn) {
				served.inc()
				_, _ = qc.AcceptStream(qc.Context())
			})
			holdIdle(b, s.addr, s.pin, alpnEcho, served.reached(idleConns))
			reportPerConn(b, heap, stack)
		}
	})
}
