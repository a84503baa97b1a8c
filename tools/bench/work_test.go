package bench

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/conn"
	"github.com/alknet/alknet/alknet-core/coretest"
	"github.com/alknet/alknet/tools/bench/baseline"
)

// workEcho is a raw framed echo served through core's endpoint (same TLS and QUIC settings as an
// alknet node) that burns a fixed amount of CPU before answering each request.
type workEcho struct{ work time.Duration }

func (workEcho) ALPN() string { return "alknet/bench-echo" }

// Handle echoes every frame of every stream the client opens, and returns once the connection
// and every stream goroutine have ended (CORE-R203).
func (h workEcho) Handle(ctx context.Context, c *conn.Connection, _ auth.AuthContext) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		s, err := c.AcceptBi(ctx)
		if err != nil {
			return nil
		}
		wg.Go(func() {
			defer s.Close()
			var in, out []byte
			for {
				b, err := baseline.ReadFrame(s, &in)
				if err != nil {
					return
				}
				burn(h.work)
				if baseline.WriteFrame(s, &out, b) != nil {
					return
				}
			}
		})
	}
}

// burnSink keeps the compiler from dropping burn's arithmetic.
var burnSink uint64

// burn keeps the processor busy for about d.
func burn(d time.Duration) {
	if d <= 0 {
		return
	}
	end := time.Now().Add(d)
	x := uint64(1)
	for time.Now().Before(end) {
		for range 50 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	burnSink += x
}

// BenchmarkEchoWork answers "what does a fixed amount of work per call cost in latency on this
// machine": the quicfloor-stream echo, but through core's endpoint and dialer, once as is and once
// with the CPU time the call engine spends on a unary call's critical path added to it (about
// 9 µs on the requester before the write and 13 µs on the handler side, measured with
// timestamps, docs/performance/call.md).
func BenchmarkEchoWork(b *testing.B) {
	for _, tc := range []struct {
		name           string
		client, server time.Duration
	}{
		{"core-echo", 0, 0},
		{"core-echo+engine-cpu", 9 * time.Microsecond, 13 * time.Microsecond},
	} {
		b.Run(tc.name, func(b *testing.B) {
			n := coretest.StartEndpoint(b, workEcho{work: tc.server})
			c := n.Dial(b, "alknet/bench-echo", nil)
			s, err := c.OpenBi(b.Context())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var in, out []byte
			var lat baseline.Latencies
			cpu := baseline.StartCPU()
			for b.Loop() {
				if err := lat.Time(func() error {
					burn(tc.client)
					if err := baseline.WriteFrame(s, &out, payload); err != nil {
						return err
					}
					_, err := baseline.ReadFrame(s, &in)
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
			cpu.Report(b)
			lat.Report(b)
		})
	}
}
