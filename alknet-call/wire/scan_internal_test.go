package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// refSkipString is the byte-at-a-time string scan the word-at-a-time and vectorised paths of
// skipString must agree with: the end of the string (index after the closing quote) or an error.
func refSkipString(b []byte, i int) (int, bool) {
	i++ // opening quote
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return 0, false
		case c == '\\':
			if i+1 >= len(b) {
				return 0, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return 0, false
				}
				i += 6
			default:
				return 0, false
			}
		default:
			i++
		}
	}
	return 0, false
}

func checkSkipString(t *testing.T, b []byte) {
	t.Helper()
	s := scanner{b: b}
	err := s.skipString()
	want, ok := refSkipString(b, 0)
	if (err == nil) != ok || (ok && s.i != want) {
		t.Fatalf("skipString(%q) = %d, %v; reference %d, %v", b, s.i, err, want, ok)
	}
}

// specialBytes flags exactly the bytes that are not strPlain, for every byte value at every
// position of a word and any neighbours (CALLP-R17: the strict string scan).
func TestSpecialBytesExact(t *testing.T) {
	check := func(w uint64) {
		got := specialBytes(w)
		for k := range 8 {
			c := byte(w >> (8 * k))
			if flagged := got>>(8*k+7)&1 == 1; flagged == strPlain[c] {
				t.Fatalf("word %#016x byte %d (%#x): flagged %v", w, k, c, flagged)
			}
			if got>>(8*k)&0x7f != 0 {
				t.Fatalf("word %#016x: low bits set in result %#016x", w, got)
			}
		}
	}
	edges := []byte{0x00, 0x1f, 0x20, 0x21, '"', 0x23, '\\', 0x5b, 0x5d, 0x7f, 0x80, 0x9f, 0xa0, 0xa2, 0xdc, 0xff}
	for c := range 256 {
		for _, n := range edges {
			for pos := range 8 {
				var buf [8]byte
				for k := range buf {
					buf[k] = n
				}
				buf[pos] = byte(c)
				check(binary.LittleEndian.Uint64(buf[:]))
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		check(r.Uint64())
	}
}

// plainRun and ctlRun stop exactly where the byte-at-a-time loops stop, for every byte value at
// every position across and beyond word and block boundaries.
func TestRunsMatchByteLoops(t *testing.T) {
	naivePlain := func(b []byte, i int) int {
		for i < len(b) && strPlain[b[i]] {
			i++
		}
		return i
	}
	naiveCtl := func(b []byte) int {
		i := 0
		for i < len(b) && b[i] >= 0x20 {
			i++
		}
		return i
	}
	filler := make([]byte, 140)
	for i := range filler {
		filler[i] = 'a' + byte(i%26)
		if i%5 == 3 {
			filler[i] = 0xc3 // high bytes are plain
		}
		if i%7 == 4 {
			filler[i] = 0x7f
		}
	}
	b := make([]byte, len(filler))
	edges := []int{0x00, 0x09, 0x1f, 0x20, 0x40, 0x60, 0x7f, 0x80, 0x9f, 0xa0, 0xc0, 0xdf, 0xe0, 0xff}
	for c := range 256 {
		for n := 0; n <= len(filler); n++ {
			// Every byte value in the longest buffer; the edge values in every length.
			if n < len(filler) && !slices.Contains(edges, c) {
				continue
			}
			for pos := 0; pos < n; pos++ {
				b := b[:n]
				copy(b, filler)
				b[pos] = byte(c)
				if got, want := ctlRun(b), naiveCtl(b); got != want {
					t.Fatalf("byte %#x at %d of %d: ctlRun = %d, want %d", c, pos, n, got, want)
				}
			}
		}
		for n := 0; n <= 26; n++ { // three words and a tail, bounded by b or by an earlier end
			for pos := 0; pos < n; pos++ {
				b := b[:n]
				copy(b, filler)
				b[pos] = byte(c)
				for start := 0; start <= pos && start < 10; start++ {
					for _, end := range []int{n, n - 1, n - 9} {
						if end < start {
							continue
						}
						if got, want := plainRun(b[:end], start), min(naivePlain(b, start), end); got != want {
							t.Fatalf("byte %#x at %d of %d, [%d, %d): plainRun = %d, want %d", c, pos, n, start, end, got, want)
						}
					}
				}
			}
		}
	}
}

// skipString agrees with the byte loop on every special byte at every position of short and long
// strings (both paths, word and block boundaries, the end of the buffer).
func TestSkipStringSpecialAtEveryPosition(t *testing.T) {
	specials := []string{`"`, `\`, `\"`, `\\`, `\/`, `\n`, `\u00e9`, `\u00e`, `\x`, "\x00", "\x1f", "\x7f", "\xc3\xa9", `\u`}
	for n := 0; n <= 2*shortRun+24; n++ {
		if n > 24 && (n < shortRun-12 || n > shortRun+12) && n < 2*shortRun {
			continue // short strings, the switch to the long path, and long strings
		}
		for pos := 0; pos <= n; pos++ {
			for _, sp := range specials {
				body := strings.Repeat("x", pos) + sp + strings.Repeat("y", n-pos)
				checkSkipString(t, []byte(`"`+body))     // ends with the buffer
				checkSkipString(t, []byte(`"`+body+`"`)) // terminated
				checkSkipString(t, []byte(`"`+body+`","k":"v"}`))
			}
		}
	}
}

// randomString draws from an alphabet weighted towards the bytes that matter to the scan.
func randomString(r *rand.Rand, n int) []byte {
	alphabet := []string{`"`, `\`, `\"`, `\\`, `\u`, `\u0041`, `\ud83d\ude00`, "u", "0", "f", "\x00", "\x1f", " ", "\x7f",
		"\xc3\xa9", "\xff", "x", strings.Repeat("x", 7), strings.Repeat("z", 33), strings.Repeat("w", 200)}
	var b bytes.Buffer
	b.WriteByte('"')
	for b.Len() < n {
		if r.IntN(4) == 0 {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		} else {
			b.WriteString(alphabet[16+r.IntN(4)])
		}
	}
	return b.Bytes()
}

func TestSkipStringRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 50_000 {
		checkSkipString(t, randomString(r, r.IntN(600)))
	}
}

// Escape-heavy strings take the short path after every escape and the remembered quote keeps the
// long path linear; the results still match the byte loop.
func TestSkipStringEscapeHeavy(t *testing.T) {
	for _, body := range []string{
		strings.Repeat(`\n`, 5000),
		strings.Repeat(`\"`, 5000),
		strings.Repeat(`\\`+strings.Repeat("a", 40), 500),
		strings.Repeat(strings.Repeat("a", 40)+`\u00e9`, 500),
		strings.Repeat("a", 1<<16) + `\`,
	} {
		checkSkipString(t, []byte(`"`+body+`"`))
		checkSkipString(t, []byte(`"`+body))
	}
}

// FuzzSkipString compares skipString with the byte-at-a-time reference on arbitrary input
// (CALLP-R17: the vectorised scan must not change what is accepted).
func FuzzSkipString(f *testing.F) {
	for _, s := range []string{`abc"`, `\u00e9\"` + strings.Repeat("x", 40) + `"`, strings.Repeat("y", 70) + "\x01\"",
		strings.Repeat("q", 33) + `\`, `\ud800"`, strings.Repeat(`\n`, 30) + strings.Repeat("x", 50) + `"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkSkipString(t, append([]byte{'"'}, b...))
	})
}

// validRef is what Valid must say: encoding/json's verdict plus UTF-8 validity (CALLP-R17).
func validRef(b []byte) bool { return json.Valid(b) && utf8.Valid(b) }

// Valid agrees with encoding/json and utf8.Valid on strings carrying valid and invalid UTF-8
// (overlong forms, surrogates, code points above U+10FFFF, truncated sequences, stray continuation
// bytes), escapes and control bytes at every position around word and block boundaries, in keys
// and values, and at the end of the buffer.
func TestValidMatchesReference(t *testing.T) {
	inserts := []string{"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80",
		"\xe0\x9f\xbf", "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xf4\x90\x80\x80",
		"\xf5\x80\x80\x80", "\xe2\x82", "\xf0\x9f\x98", "\xc3", "\x80", "\xbf", "\xfe", "\xff", `\"`, `\u00e9`,
		`\ud800`, `\u12`, `\q`, "\x00", "\x1f", "\x7f", `"`, `\`}
	check := func(b []byte) {
		t.Helper()
		if got, want := Valid(b), validRef(b); got != want {
			t.Fatalf("Valid(%q) = %v, reference %v", b, got, want)
		}
	}
	for n := 0; n <= shortRun+10; n++ {
		if n > 20 && n < shortRun-10 {
			continue // short strings and the switch to the long path
		}
		for pos := 0; pos <= n; pos++ {
			for _, ins := range inserts {
				str := strings.Repeat("x", pos) + ins + strings.Repeat("y", n-pos)
				check([]byte(`"` + str + `"`))
				check([]byte(`"` + str))
				if n%4 == 0 { // in a key and inside a container, at fewer lengths
					check([]byte(`{"` + str + `":1}`))
					check([]byte(`["a",` + `"` + str + `"]`))
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 5_000 {
		s := randomString(r, r.IntN(400))
		check(s)
		check(append(s, '"'))
		check(append(append([]byte(`{"k":`), s...), `"}`...))
	}
}

// BenchmarkSkipStringWire scans the strings every frame carries: a key, an event type, a request
// id (a 36-byte UUID) and an operation id.
func BenchmarkSkipStringWire(b *testing.B) {
	body := []byte(`"operationId""call.responded""5f0c3a1e-8b2d-4c7e-9f10-2a3b4c5d6e7f""/bench/stream"`)
	for b.Loop() {
		s := scanner{b: body}
		for s.i < len(body) {
			if err := s.skipString(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
