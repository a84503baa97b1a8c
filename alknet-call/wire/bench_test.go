package wire_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/alknet/alknet/alknet-call/wire"
)

func benchOutput(n int) []byte {
	return []byte(`{"data":"` + strings.Repeat("x", n-11) + `"}`)
}

// BenchmarkFrameEncode builds a call.responded frame with a 1 KiB and a 64 KiB output.
func BenchmarkFrameEncode(b *testing.B) {
	for _, n := range []int{1 << 10, 64 << 10} {
		out := benchOutput(n)
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				var err error
				buf, err = wire.AppendRespondedFrame(buf[:0], "5f0c3a1e-8b2d-4c7e-9f10-2a3b4c5d6e7f", out, 0)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFrameDecode reads and decodes the same frames, payload included.
func BenchmarkFrameDecode(b *testing.B) {
	for _, n := range []int{1 << 10, 64 << 10} {
		frame, _ := wire.AppendRespondedFrame(nil, "5f0c3a1e-8b2d-4c7e-9f10-2a3b4c5d6e7f", benchOutput(n), 0)
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			r := bytes.NewReader(frame)
			for b.Loop() {
				r.Reset(frame)
				e, err := wire.NewFrameReader(r, 0).Next()
				if err != nil {
					b.Fatal(err)
				}
				_ = wire.DecodeResponded(e.Payload)
			}
		})
	}
}
