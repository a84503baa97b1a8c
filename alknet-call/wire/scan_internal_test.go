package wire

import "testing"

// plainRun must stop exactly where the byte-at-a-time loop stops, for every special byte at
// every position of a word and beyond (CALLP-R17: the strict string scan).
func TestPlainRunMatchesByteLoop(t *testing.T) {
	naive := func(b []byte, i int) int {
		for i < len(b) && strPlain[b[i]] {
			i++
		}
		return i
	}
	for c := range 256 {
		for n := 0; n <= 24; n++ {
			for pos := 0; pos < n; pos++ {
				b := make([]byte, n)
				for i := range b {
					b[i] = 'a' + byte(i%26)
					if i%5 == 3 {
						b[i] = 0xc3 // a high byte (part of a multi-byte sequence) is plain
					}
				}
				b[pos] = byte(c)
				for start := 0; start <= pos; start++ {
					if got, want := plainRun(b, start), naive(b, start); got != want {
						t.Fatalf("byte %#x at %d of %d, start %d: plainRun = %d, want %d", c, pos, n, start, got, want)
					}
				}
			}
		}
	}
}
