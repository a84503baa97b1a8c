package bench

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/alknet/alknet/tools/bench/baseline"
	"go.uber.org/goleak"
)

// payload is the 64-byte JSON document every unary benchmark echoes.
var payload = []byte(`{"op":"echo","seq":123456,"data":"abcdefghijklmnopqrstuvwx01"}`)

// streamValue is the size of one value in the streaming benchmarks.
const streamValue = 64 << 10

// callers is the number of concurrent callers of the Parallel64 benchmarks.
const callers = 64

type fixture struct {
	alknet *alknetFixture
	quic   *baseline.QUICEcho
	qc     *baseline.QUICClient
	grpc   *baseline.GRPCEcho
	gc     *baseline.GRPCClient
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	cert, err := baseline.NewCertificate()
	if err != nil {
		tb.Fatal(err)
	}
	f := &fixture{alknet: newAlknetFixture(tb)}
	if f.quic, err = baseline.NewQUICEcho(cert); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.quic.Close() })
	if f.qc, err = baseline.DialQUIC(tb.Context(), f.quic.Addr().String(), cert); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.qc.Close() })
	if f.grpc, err = baseline.NewGRPCEcho(cert); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.grpc.Close() })
	if f.gc, err = baseline.DialGRPC(f.grpc.Addr().String(), cert); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.gc.Close() })
	return f
}

// caller is one benchmark client: call sends payload and returns the echo. Each caller is used by
// one goroutine at a time.
type caller func() ([]byte, error)

// callers returns a factory of callers for each system under test.
func (f *fixture) systems(tb testing.TB) map[string]func() caller {
	ctx := tb.Context()
	return map[string]func() caller{
		"alknet":        func() caller { return f.alknet.caller(ctx, echoOp) },
		"alknet-worker": func() caller { return f.alknet.caller(ctx, workerEchoOp) },
		"quicfloor": func() caller {
			var buf []byte
			return func() ([]byte, error) { return f.qc.Call(ctx, payload, &buf) }
		},
		"quicfloor-stream": func() caller {
			p, err := f.qc.Pinger(ctx)
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { p.Close() })
			return func() ([]byte, error) { return p.Call(payload) }
		},
		"grpc": func() caller {
			var out []byte
			return func() ([]byte, error) { return f.gc.Call(ctx, payload, &out) }
		},
	}
}

// order fixes the order sub-benchmarks run in, so every table lists them alike.
// alknet-worker is the same echo without the NonBlocking declaration.
var order = []string{"alknet", "alknet-worker", "quicfloor", "quicfloor-stream", "grpc"}

// BenchmarkUnary measures one caller echoing a 64-byte JSON document, one request at a time.
func BenchmarkUnary(b *testing.B) {
	f := newFixture(b)
	systems := f.systems(b)
	for _, name := range order {
		b.Run(name, func(b *testing.B) {
			call := systems[name]()
			var lat baseline.Latencies
			b.ReportAllocs()
			dg := startDatagrams()
			cpu := baseline.StartCPU()
			for b.Loop() {
				if err := lat.Time(func() error { _, err := call(); return err }); err != nil {
					b.Fatal(err)
				}
			}
			cpu.Report(b)
			dg.report(b)
			lat.Report(b)
		})
	}
}

// BenchmarkParallel64 measures 64 concurrent callers sharing one connection.
func BenchmarkParallel64(b *testing.B) {
	f := newFixture(b)
	systems := f.systems(b)
	for _, name := range order {
		b.Run(name, func(b *testing.B) {
			var mu sync.Mutex
			var lat baseline.Latencies
			b.ReportAllocs()
			b.SetParallelism((callers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			dg := startDatagrams()
			cpu := baseline.StartCPU()
			b.RunParallel(func(pb *testing.PB) {
				mu.Lock()
				call := systems[name]()
				mu.Unlock()
				for pb.Next() {
					if err := lat.Time(func() error { _, err := call(); return err }); err != nil {
						b.Error(err)
						return
					}
				}
			})
			cpu.Report(b)
			dg.report(b)
			lat.Report(b)
		})
	}
}

// BenchmarkStream measures 64 KiB values pushed on one stream, as a subscription delivers them.
func BenchmarkStream(b *testing.B) {
	f := newFixture(b)
	b.Run("alknet", func(b *testing.B) {
		ctx, cancel := context.WithCancel(b.Context())
		defer cancel()
		sub, err := f.alknet.subscribe(ctx, streamValue)
		if err != nil {
			b.Fatal(err)
		}
		defer sub.Close()
		b.SetBytes(streamValue)
		b.ReportAllocs()
		var lat baseline.Latencies
		cpu := baseline.StartCPU()
		for b.Loop() {
			if err := lat.Time(func() error { _, err := sub.Next(ctx); return err }); err != nil {
				b.Fatal(err)
			}
		}
		cpu.Report(b)
		lat.Report(b)
	})
	b.Run("quicfloor", func(b *testing.B) {
		s, err := f.qc.Stream(b.Context(), streamValue)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		b.SetBytes(streamValue)
		b.ReportAllocs()
		var lat baseline.Latencies
		cpu := baseline.StartCPU()
		for b.Loop() {
			if err := lat.Time(func() error { _, err := s.Next(); return err }); err != nil {
				b.Fatal(err)
			}
		}
		cpu.Report(b)
		lat.Report(b)
	})
}

// TestEchoes checks that every baseline really echoes, so the benchmarks measure working code.
func TestEchoes(t *testing.T) {
	f := newFixture(t)
	for name, mk := range f.systems(t) {
		call := mk()
		for i := range 3 {
			got, err := call()
			if err != nil {
				t.Fatalf("%s call %d: %v", name, i, err)
			}
			if !bytes.Equal(got, payload) {
				t.Fatalf("%s call %d = %q, want %q", name, i, got, payload)
			}
		}
	}
	s, err := f.qc.Stream(t.Context(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		v, err := s.Next()
		if err != nil || len(v) != 1000 {
			t.Fatalf("stream value %d: %d bytes, %v", i, len(v), err)
		}
	}
	s.Close()
}

// TestAlknetEchoes checks the alknet fixture end to end: the echo returns the payload through the
// registry and the subscription delivers values of the requested size until it is closed.
func TestAlknetEchoes(t *testing.T) {
	a := newAlknetFixture(t)
	for _, op := range []string{echoOp, workerEchoOp} {
		call := a.caller(t.Context(), op)
		for i := range 3 {
			got, err := call()
			if err != nil {
				t.Fatalf("%s call %d: %v", op, i, err)
			}
			if !bytes.Equal(got, payload) {
				t.Fatalf("%s call %d = %q, want %q", op, i, got, payload)
			}
		}
		if _, err := a.cc.Call(t.Context(), op, 42); err == nil {
			t.Fatalf("%s of a non-object input succeeded, want INVALID_INPUT from the schema", op)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	sub, err := a.subscribe(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		v, err := sub.Next(ctx)
		if err != nil || len(v) != 1000 || v[0] != '"' || v[999] != '"' {
			t.Fatalf("stream value %d: %d bytes, %v", i, len(v), err)
		}
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// datagrams counts the UDP datagrams the host sent during a benchmark (the kernel's
// "Udp: OutDatagrams" of /proc/net/snmp; Linux only). Both ends run in this process, so the count
// covers requests and responses; other programs sending UDP on the host add to it.
type datagrams struct{ start uint64 }

func startDatagrams() datagrams { return datagrams{start: outDatagrams()} }

// report adds dgrams/op to b's results (nothing where the counter is unavailable).
func (d datagrams) report(b *testing.B) {
	end := outDatagrams()
	if d.start == 0 || end < d.start || b.N == 0 {
		return
	}
	b.ReportMetric(float64(end-d.start)/float64(b.N), "dgrams/op")
}

// outDatagrams reads the host's UDP OutDatagrams counter, 0 when unavailable.
func outDatagrams() uint64 {
	f, err := os.Open("/proc/net/snmp")
	if err != nil {
		return 0
	}
	defer f.Close()
	var header []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || fields[0] != "Udp:" {
			continue
		}
		if header == nil {
			header = fields
			continue
		}
		for i, name := range header {
			if name == "OutDatagrams" && i < len(fields) {
				n, err := strconv.ParseUint(fields[i], 10, 64)
				if err != nil {
					return 0
				}
				return n
			}
		}
		return 0
	}
	return 0
}
