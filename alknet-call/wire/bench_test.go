package wire_test

import (
	"fmt"
	"os"
	"path/filepath"
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
			fr := wire.NewFrameReader(&cycle{b: frame}, 0)
			for b.Loop() {
				e, err := fr.Next()
				if err != nil {
					b.Fatal(err)
				}
				_ = e.Responded()
			}
		})
	}
}

// cycle reads b over and over.
type cycle struct {
	b []byte
	i int
}

func (c *cycle) Read(p []byte) (int, error) {
	n := copy(p, c.b[c.i:])
	c.i = (c.i + n) % len(c.b)
	return n, nil
}

// BenchmarkValid is the strict check of one value (what a registry's check of an emitted item
// costs on top of the encoder's own), for the streaming benchmark's 64 KiB JSON string.
func BenchmarkValid(b *testing.B) {
	for _, n := range []int{1 << 10, 64 << 10} {
		v := []byte(`"` + strings.Repeat("x", n-2) + `"`)
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				if !wire.Valid(v) {
					b.Fatal("invalid")
				}
			}
		})
	}
}

// BenchmarkDecodeSmall decodes the 143-byte E1 request envelope and its payload (§19): the cost of
// the short strings (keys, ids, event types) every frame has.
func BenchmarkDecodeSmall(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("testdata", "golden", "e1-01-requested.frame"))
	if err != nil {
		b.Fatal(err)
	}
	body = body[wire.PrefixLen:]
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		e, err := wire.DecodeEnvelope(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := wire.DecodeRequested(e.Payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidEscaped is the strict check of a 64 KiB JSON string full of escapes (JSON text
// carried as a string), where the scan stops every few bytes.
func BenchmarkValidEscaped(b *testing.B) {
	for _, every := range []int{2, 16, 128} {
		unit := `\"` + strings.Repeat("x", every-2)
		v := []byte(`"` + strings.Repeat(unit, (64<<10)/every) + `"`)
		b.Run(fmt.Sprintf("every%dB", every), func(b *testing.B) {
			b.SetBytes(int64(len(v)))
			for b.Loop() {
				if !wire.Valid(v) {
					b.Fatal("invalid")
				}
			}
		})
	}
}

// BenchmarkValidText is the strict check of 64 KiB JSON strings of non-ASCII text: Latin text
// with an accented letter every few words, and CJK text (three-byte sequences only).
func BenchmarkValidText(b *testing.B) {
	for _, tc := range []struct{ name, unit string }{
		{"latin", "le café était très fort, "},
		{"cjk", "日本語のテキスト"},
	} {
		v := []byte(`"` + strings.Repeat(tc.unit, (64<<10)/len(tc.unit)) + `"`)
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(v)))
			for b.Loop() {
				if !wire.Valid(v) {
					b.Fatal("invalid")
				}
			}
		})
	}
}

// BenchmarkEncodeSmall builds the 147-byte E1 request frame (§19): the cost of the short strings
// (event type, id, operation id) every frame has.
func BenchmarkEncodeSmall(b *testing.B) {
	r := wire.Requested{OperationID: "/fs/readFile", Input: []byte(`{"path":"/etc/hostname"}`)}
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		var err error
		buf, err = wire.AppendRequestedFrame(buf[:0], "5f0c3a1e-8b2d-4c7e-9f10-2a3b4c5d6e7f", r, 0)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}
