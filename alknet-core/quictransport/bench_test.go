package quictransport_test

import (
	"context"
	"io"
	"testing"

	"github.com/quic-go/quic-go"

	"github.com/alknet/alknet/alknet-core/conn"
	"github.com/alknet/alknet/alknet-core/coretest"
	"github.com/alknet/alknet/alknet-core/quictransport"
)

// serveStreams accepts streams on the server end until the connection closes and runs fn on
// each; it is owned by the benchmark and ends with the connection.
func serveStreams(server *conn.Connection, raw bool, fn func(io.ReadWriteCloser)) {
	qc, _ := quictransport.Underlying(server)
	go func() {
		for {
			var s io.ReadWriteCloser
			var err error
			if raw {
				s, err = qc.AcceptStream(context.Background())
			} else {
				s, err = server.AcceptBi(context.Background())
			}
			if err != nil {
				return
			}
			go fn(s)
		}
	}()
}

func openStream(b *testing.B, client *conn.Connection, raw bool) io.ReadWriteCloser {
	b.Helper()
	if raw {
		qc, _ := quictransport.Underlying(client)
		s, err := qc.OpenStreamSync(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	s, err := client.OpenBi(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	return s
}

var _ io.ReadWriteCloser = (*quic.Stream)(nil)

// CORE-B3: small-message round trip and one-way throughput through conn.BiStream, beside the
// raw *quic.Stream of the same connection setup.
func BenchmarkStream(b *testing.B) {
	for _, mode := range []struct {
		name string
		raw  bool
	}{{"conn", false}, {"raw-quic", true}} {
		b.Run(mode.name+"/roundtrip-64B", func(b *testing.B) {
			client, server := coretest.Pair(b, alpn)
			serveStreams(server, mode.raw, func(s io.ReadWriteCloser) {
				defer s.Close()
				_, _ = io.Copy(s, s)
			})
			s := openStream(b, client, mode.raw)
			defer s.Close()
			msg, back := make([]byte, 64), make([]byte, 64)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(s, back); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(mode.name+"/throughput-1MiB", func(b *testing.B) {
			client, server := coretest.Pair(b, alpn)
			serveStreams(server, mode.raw, func(s io.ReadWriteCloser) {
				defer s.Close()
				_, _ = io.Copy(io.Discard, s)
			})
			s := openStream(b, client, mode.raw)
			defer s.Close()
			chunk := make([]byte, 1<<20)
			b.SetBytes(int64(len(chunk)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Write(chunk); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
