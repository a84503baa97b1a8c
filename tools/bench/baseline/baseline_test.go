package baseline

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"
)

func TestFrameRoundTrip(t *testing.T) {
	t.Parallel()
	var w bytes.Buffer
	var out, in []byte
	for _, p := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("y"), 70000)} {
		if err := WriteFrame(&w, &out, p); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFrame(&w, &in)
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("ReadFrame = %d bytes, %v; want %d bytes", len(got), err, len(p))
		}
	}
}

func TestReadFrameRejects(t *testing.T) {
	t.Parallel()
	var buf []byte
	if _, err := ReadFrame(bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff}), &buf); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("oversize prefix: %v, want ErrFrameTooLarge", err)
	}
	if _, err := ReadFrame(bytes.NewReader([]byte{0, 0, 0, 5, 'a'}), &buf); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated body: %v, want io.ErrUnexpectedEOF", err)
	}
	if _, err := ReadFrame(bytes.NewReader(nil), &buf); !errors.Is(err, io.EOF) {
		t.Errorf("empty input: %v, want io.EOF", err)
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	var l Latencies
	if got := l.Percentile(50); got != 0 {
		t.Errorf("empty Percentile(50) = %v, want 0", got)
	}
	for i := 100; i >= 1; i-- {
		l.Add(time.Duration(i) * time.Microsecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Microsecond}, {99, 99 * time.Microsecond}, {100, 100 * time.Microsecond}, {1, time.Microsecond}} {
		if got := l.Percentile(tc.p); got != tc.want {
			t.Errorf("Percentile(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}
