package endpoint_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/conn"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(idleClientsEnv); spec != "" {
		os.Exit(runIdleClients(spec)) // the client process of BenchmarkIdleMemory
	}
	goleak.VerifyTestMain(m)
}

const (
	alpnEcho  = "alknet/test-echo"
	alpnUpper = "alknet/test-upper"
)

// echoHandler echoes every stream until the peer finishes it; it returns when the connection
// closes or the endpoint shuts down.
type echoHandler struct{ alpn string }

func (h echoHandler) ALPN() string {
	if h.alpn == "" {
		return alpnEcho
	}
	return h.alpn
}

func (h echoHandler) Handle(ctx context.Context, c *conn.Connection, _ auth.AuthContext) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		s, err := c.AcceptBi(ctx)
		if err != nil {
			if errors.Is(err, conn.ErrConnectionClosed) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		wg.Go(func() {
			defer s.Close()
			if h.alpn == alpnUpper {
				b, err := io.ReadAll(s)
				if err != nil {
					return
				}
				_, _ = s.Write(bytes.ToUpper(b))
				return
			}
			_, _ = io.Copy(s, s)
		})
	}
}

// funcHandler runs fn for each connection.
type funcHandler struct {
	alpn string
	fn   func(ctx context.Context, c *conn.Connection, a auth.AuthContext) error
}

func (h funcHandler) ALPN() string { return h.alpn }
func (h funcHandler) Handle(ctx context.Context, c *conn.Connection, a auth.AuthContext) error {
	return h.fn(ctx, c, a)
}

// roundTripLimit bounds one roundTrip. It is generous because CORE-T410 runs 2,000 of them at
// once and its burst overflows the loopback socket buffers, so under -race on a loaded machine
// QUIC's loss recovery can stretch a single echo past half a minute.
const roundTripLimit = 3 * time.Minute

// roundTrip opens a stream, writes msg and finishes the send side while it reads the reply
// to EOF (reading concurrently keeps flow control from stalling an echo). Stream deadlines
// bound it, so a broken echo fails instead of hanging. It reports failures with t.Errorf and
// returns nil, so it may run in goroutines other than the test's.
func roundTrip(t testing.TB, c *conn.Connection, msg []byte) []byte {
	t.Helper()
	s, err := c.OpenBi(t.Context())
	if err != nil {
		t.Errorf("OpenBi: %v", err)
		return nil
	}
	defer s.Close()
	deadline := time.Now().Add(roundTripLimit)
	_ = s.SetReadDeadline(deadline)
	_ = s.SetWriteDeadline(deadline)
	werr := make(chan error, 1)
	go func() {
		_, err := s.Write(msg)
		if err == nil {
			err = s.CloseWrite()
		}
		werr <- err
	}()
	got, err := io.ReadAll(s)
	if err := <-werr; err != nil {
		t.Errorf("Write: %v", err)
		return nil
	}
	if err != nil {
		t.Errorf("ReadAll: %v", err)
		return nil
	}
	return got
}

// logSink captures log records for assertions.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logSink) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// lines returns the captured records that contain every one of subs.
func (l *logSink) lines(subs ...string) []string {
	var out []string
	for line := range strings.SplitSeq(l.String(), "\n") {
		ok := line != ""
		for _, s := range subs {
			ok = ok && strings.Contains(line, s)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}
