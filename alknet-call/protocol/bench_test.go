package protocol_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-core/coretest"
	"github.com/alknet/alknet/alknet-core/quictransport"
)

// input64 is the 64-byte JSON value every round-trip benchmark echoes.
var input64 = json.RawMessage(`{"k":"` + string(make64()) + `"}`)

func make64() []byte {
	b := make([]byte, 64-8)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

// latencies collects per-operation durations and reports p50/p99 in microseconds.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) { l.mu.Lock(); l.d = append(l.d, d); l.mu.Unlock() }

func (l *latencies) report(b *testing.B) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return
	}
	slices.Sort(l.d)
	q := func(p float64) float64 { return float64(l.d[int(p*float64(len(l.d)-1))].Nanoseconds()) / 1e3 }
	b.ReportMetric(q(0.50), "p50-us")
	b.ReportMetric(q(0.99), "p99-us")
}

// BenchmarkRoundTrip measures one unary call over QUIC loopback; quicfloor is a raw quic-go
// framed echo with a new stream per request (the baseline of CALLP-R72), quicfloor-stream the same
// echo ping-ponged on one long-lived stream (the floor of a pooled mode, CALLP-R74).
func BenchmarkRoundTrip(b *testing.B) {
	b.Run("alknet-stream-per-request", func(b *testing.B) {
		d1 := &protocol.Dispatcher{Invoker: newRegistry(b, ops{}, nil), Options: protocol.Options{RequestStreams: -1}}
		d2 := &protocol.Dispatcher{Invoker: newRegistry(b, ops{"bench/echo": echo()}, nil)}
		c, _, _, _ := pair(b, d1, d2, nil, nil)
		ctx := context.Background()
		var l latencies
		b.ReportAllocs()
		for b.Loop() {
			t0 := time.Now()
			if _, err := c.Call(ctx, "bench/echo", input64); err != nil {
				b.Fatal(err)
			}
			l.add(time.Since(t0))
		}
		l.report(b)
	})
	b.Run("alknet", func(b *testing.B) {
		d1 := &protocol.Dispatcher{Invoker: newRegistry(b, ops{}, nil), Options: protocol.Options{RequestStreams: 4}}
		d2 := &protocol.Dispatcher{Invoker: newRegistry(b, ops{"bench/echo": echo()}, nil)}
		c, _, _, _ := pair(b, d1, d2, nil, nil)
		ctx := context.Background()
		var l latencies
		b.ReportAllocs()
		for b.Loop() {
			t0 := time.Now()
			if _, err := c.Call(ctx, "bench/echo", input64); err != nil {
				b.Fatal(err)
			}
			l.add(time.Since(t0))
		}
		l.report(b)
	})
	b.Run("quicfloor", func(b *testing.B) {
		client, server := rawQUICPair(b)
		go echoStreams(server)
		var l latencies
		b.ReportAllocs()
		for b.Loop() {
			t0 := time.Now()
			s, err := client.OpenStreamSync(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			roundTrip(b, s, true)
			s.CancelRead(0)
			l.add(time.Since(t0))
		}
		l.report(b)
	})
	b.Run("quicfloor-stream", func(b *testing.B) {
		client, server := rawQUICPair(b)
		go echoStreams(server)
		s, err := client.OpenStreamSync(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		var l latencies
		b.ReportAllocs()
		for b.Loop() {
			t0 := time.Now()
			roundTrip(b, s, false)
			l.add(time.Since(t0))
		}
		_ = s.Close()
		l.report(b)
	})
}

// BenchmarkParallel64 runs 64 concurrent callers on one connection.
func BenchmarkParallel64(b *testing.B) {
	b.Run("alknet-stream-per-request", func(b *testing.B) {
		d1 := &protocol.Dispatcher{Invoker: newRegistry(b, ops{}, nil), Options: protocol.Options{RequestStreams: -1}}
		d2 := &protocol.Dispatcher{Invoker: newRegistry(b, ops{"bench/echo": echo()}, nil)}
		c, _, _, _ := pair(b, d1, d2, nil, nil)
		var l latencies
		b.SetParallelism(32) // 2 cores × 32 = 64 callers
		b.ReportAllocs()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				t0 := time.Now()
				if _, err := c.Call(context.Background(), "bench/echo", input64); err != nil {
					b.Error(err)
					return
				}
				l.add(time.Since(t0))
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
		l.report(b)
	})
	b.Run("alknet", func(b *testing.B) {
		d1 := &protocol.Dispatcher{Invoker: newRegistry(b, ops{}, nil), Options: protocol.Options{RequestStreams: 4}}
		d2 := &protocol.Dispatcher{Invoker: newRegistry(b, ops{"bench/echo": echo()}, nil)}
		c, _, _, _ := pair(b, d1, d2, nil, nil)
		var l latencies
		b.SetParallelism(32)
		b.ReportAllocs()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				t0 := time.Now()
				if _, err := c.Call(context.Background(), "bench/echo", input64); err != nil {
					b.Error(err)
					return
				}
				l.add(time.Since(t0))
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
		l.report(b)
	})
	b.Run("quicfloor", func(b *testing.B) {
		client, server := rawQUICPair(b)
		go echoStreams(server)
		var l latencies
		b.SetParallelism(32)
		b.ReportAllocs()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				t0 := time.Now()
				s, err := client.OpenStreamSync(context.Background())
				if err != nil {
					b.Error(err)
					return
				}
				roundTrip(b, s, true)
				s.CancelRead(0)
				l.add(time.Since(t0))
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
		l.report(b)
	})
}

// BenchmarkSubscriptionThroughput streams 64 KiB values on one subscription; quicfloor pushes the
// same framed bytes over one raw quic-go stream.
func BenchmarkSubscriptionThroughput(b *testing.B) {
	value := json.RawMessage(`"` + string(bytesOf('x', 64<<10-2)) + `"`)
	b.Run("alknet", func(b *testing.B) {
		d1 := &protocol.Dispatcher{Invoker: newRegistry(b, ops{}, nil)}
		d2 := &protocol.Dispatcher{Invoker: newRegistry(b, ops{"bench/stream": streamN(value)}, nil)}
		c, _, _, _ := pair(b, d1, d2, nil, nil)
		b.SetBytes(int64(len(value)))
		b.ReportAllocs()
		b.ResetTimer()
		sub, err := c.Subscribe(context.Background(), "bench/stream", b.N)
		if err != nil {
			b.Fatal(err)
		}
		for range b.N {
			if _, err := sub.Next(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := sub.Next(context.Background()); err != io.EOF {
			b.Fatal(err)
		}
	})
	b.Run("quicfloor", func(b *testing.B) {
		client, server := rawQUICPair(b)
		msg := binary.BigEndian.AppendUint32(nil, uint32(len(value)))
		msg = append(msg, value...)
		n := b.N
		go func() {
			s, err := server.AcceptStream(context.Background())
			if err != nil {
				return
			}
			var one [1]byte
			_, _ = s.Read(one[:])
			for range n {
				if _, err := s.Write(msg); err != nil {
					return
				}
			}
			_ = s.Close()
		}()
		b.SetBytes(int64(len(value)))
		b.ReportAllocs()
		b.ResetTimer()
		s, err := client.OpenStreamSync(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		_, _ = s.Write([]byte{1})
		buf := make([]byte, len(msg))
		for range n {
			if _, err := io.ReadFull(s, buf); err != nil {
				b.Fatal(err)
			}
		}
		s.CancelRead(0)
		_ = s.Close()
	})
}

func bytesOf(c byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return b
}

func rawQUICPair(b *testing.B) (client, server *quic.Conn) {
	cl, sv := coretest.Pair(b, "bench/raw")
	client, _ = quictransport.Underlying(cl)
	server, _ = quictransport.Underlying(sv)
	return client, server
}

// echoStreams answers every framed message on every stream until the connection ends.
func echoStreams(qc *quic.Conn) {
	for {
		s, err := qc.AcceptStream(context.Background())
		if err != nil {
			return
		}
		go func() {
			var prefix [4]byte
			for {
				if _, err := io.ReadFull(s, prefix[:]); err != nil {
					_ = s.Close()
					return
				}
				body := make([]byte, binary.BigEndian.Uint32(prefix[:]))
				if _, err := io.ReadFull(s, body); err != nil {
					return
				}
				if _, err := s.Write(append(prefix[:], body...)); err != nil {
					return
				}
			}
		}()
	}
}

func roundTrip(b *testing.B, s *quic.Stream, fin bool) {
	msg := binary.BigEndian.AppendUint32(nil, uint32(len(input64)))
	msg = append(msg, input64...)
	if _, err := s.Write(msg); err != nil {
		b.Fatal(err)
	}
	if fin {
		_ = s.Close()
	}
	reply := make([]byte, len(msg))
	if _, err := io.ReadFull(s, reply); err != nil {
		b.Fatal(err)
	}
}
