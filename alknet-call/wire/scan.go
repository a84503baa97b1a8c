package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds the nesting of arrays and objects accepted anywhere in a body. encoding/json
// allows 10 000; a lower bound keeps every body this package accepts acceptable to encoding/json
// as well (T-CALLP-21) and keeps the recursive scanner's stack small.
const maxDepth = 1000

var errSyntax = errors.New("invalid JSON")

// scanner is a strict RFC 8259 scanner over one byte slice. It validates values and reports the
// spans of object members without building any intermediate representation.
type scanner struct {
	b     []byte
	i     int
	sawWS bool // insignificant whitespace was skipped somewhere

	// With nestedKey set, the members of the object value of that top-level key are checked for
	// "output" while the value is scanned, so the value is walked only once: outputs counts them
	// and [outStart, outEnd) is the last one's value.
	nestedKey        string
	inNested         bool
	outputs          int
	outStart, outEnd int
}

// strPlain marks the bytes that may appear in a JSON string without an escape and end nothing:
// everything from 0x20 up except '"' and '\\'.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// SWAR constants: one byte value repeated in every byte of a word.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
	lows  = 0x7f7f7f7f7f7f7f7f
)

// specialBytes returns a word whose byte k has its high bit set exactly when byte k of w (read
// little-endian) is not strPlain: '"', '\\' or a control byte below 0x20. It works on the low
// seven bits of each byte, where adding 0x7f or 0x60 cannot carry into the next byte, so the
// result is exact for every byte (no false positive after a hit, unlike the borrow-based test);
// bytes with the high bit set are plain and masked out by the final "| w".
func specialBytes(w uint64) uint64 {
	m := w & lows
	notCtl := m + ones*(0x80-0x20)        // high bit set iff low7 >= 0x20
	notQuote := (m ^ (ones * '"')) + lows // high bit set iff low7 != '"'
	notBack := (m ^ (ones * '\\')) + lows // high bit set iff low7 != '\\'
	return ^(notCtl&notQuote&notBack | w) & highs
}

// shortRun is how far skipString looks word by word before it switches to the vectorised
// searches: keys, event types, request ids (36-byte UUIDs) and most operation ids end within it
// without a call (with 32, a request id took three calls for its last four bytes).
const shortRun = 64

// plainRun returns the index of the first byte in b[i:] that is not strPlain, or len(b). It tests
// eight bytes at a time and is meant for short distances: callers pass b cut at the end of the
// window, and bounding the loops by len(b) lets the compiler drop the bounds checks.
func plainRun(b []byte, i int) int {
	for i+8 <= len(b) {
		if specialBytes(binary.LittleEndian.Uint64(b[i:])) != 0 {
			break
		}
		i += 8
	}
	for i < len(b) && strPlain[b[i]] {
		i++
	}
	return i
}

// noCtl returns a word whose byte k has its high bit set exactly when byte k of w is at least
// 0x20, that is when one of its top three bits is set. The shifts move bits 6 and 5 of each byte
// into its bit 7 and never carry a bit of one byte into the high bit of another.
func noCtl(w uint64) uint64 { return w | w<<1 | w<<2 }

// ctlRun returns the length of the longest prefix of b without a byte below 0x20. It tests 64
// bytes per branch, combining the words pairwise so that the ANDs do not form one long chain.
func ctlRun(b []byte) int {
	i := 0
	for ; i+64 <= len(b); i += 64 {
		c := b[i : i+64 : i+64]
		x0 := noCtl(binary.LittleEndian.Uint64(c[0:8])) & noCtl(binary.LittleEndian.Uint64(c[8:16]))
		x1 := noCtl(binary.LittleEndian.Uint64(c[16:24])) & noCtl(binary.LittleEndian.Uint64(c[24:32]))
		x2 := noCtl(binary.LittleEndian.Uint64(c[32:40])) & noCtl(binary.LittleEndian.Uint64(c[40:48]))
		x3 := noCtl(binary.LittleEndian.Uint64(c[48:56])) & noCtl(binary.LittleEndian.Uint64(c[56:64]))
		if (x0&x1)&(x2&x3)&highs != highs {
			break
		}
	}
	for ; i+8 <= len(b); i += 8 {
		if noCtl(binary.LittleEndian.Uint64(b[i:]))&highs != highs {
			break
		}
	}
	for i < len(b) && b[i] >= 0x20 {
		i++
	}
	return i
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (s *scanner) ws() {
	start := s.i
	for s.i < len(s.b) && isWS(s.b[s.i]) {
		s.i++
	}
	if s.i != start {
		s.sawWS = true
	}
}

// value validates the value starting at s.i and moves past it.
func (s *scanner) value(depth int) error {
	if s.i >= len(s.b) {
		return errSyntax
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(depth+1, nil)
	case c == '[':
		return s.array(depth + 1)
	case c == '"':
		return s.skipString()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	}
	return errSyntax
}

func (s *scanner) literal(lit string) error {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return errSyntax
	}
	s.i += len(lit)
	return nil
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

func (s *scanner) number() error {
	if s.b[s.i] == '-' {
		s.i++
	}
	if s.i >= len(s.b) {
		return errSyntax
	}
	if s.b[s.i] == '0' {
		s.i++
	} else if s.digits() == 0 {
		return errSyntax
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return errSyntax
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return errSyntax
		}
	}
	return nil
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// skipString validates a string starting at the opening quote. Escapes are checked for shape
// only; UTF-8 validity of the whole body is checked by the callers before scanning.
//
// The first shortRun bytes after the opening quote and after each escape are tested word by word.
// Past them the string is long: the next '"' and the next '\\' are found with bytes.IndexByte
// (vectorised) and only the bytes before the nearer one are tested for control bytes. The
// position of the next '"' is remembered until the scan passes it, so every byte is searched
// at most once for each of the two bytes and the scan stays linear however many escapes there are.
func (s *scanner) skipString() error {
	b := s.b
	i := s.i + 1 // opening quote
	quote := -1  // index of the first '"' at or after i, valid while quote >= i
	for {
		end := min(i+shortRun, len(b))
		j := plainRun(b[:end], i)
		if j == end {
			if end == len(b) {
				return errSyntax // unterminated
			}
			if quote < j {
				k := bytes.IndexByte(b[j:], '"')
				if k < 0 {
					return errSyntax // unterminated
				}
				quote = j + k
			}
			stop := quote
			if k := bytes.IndexByte(b[j:quote], '\\'); k >= 0 {
				stop = j + k
			}
			j += ctlRun(b[j:stop])
		}
		// j < len(b): b[j] is '"', '\\' or a control byte.
		switch b[j] {
		case '"':
			s.i = j + 1
			return nil
		case '\\':
			if j+1 >= len(b) {
				return errSyntax
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i = j + 2
			case 'u':
				if j+6 > len(b) || !isHex(b[j+2]) || !isHex(b[j+3]) || !isHex(b[j+4]) || !isHex(b[j+5]) {
					return errSyntax
				}
				i = j + 6
			default:
				return errSyntax
			}
		default:
			return errSyntax
		}
	}
}

// str decodes the string starting at the opening quote. Unlike skipString it rejects escapes that
// do not form a valid code point (lone surrogates), as serde does for strings it decodes.
func (s *scanner) str() (string, error) {
	start := s.i
	if err := s.skipString(); err != nil {
		return "", err
	}
	raw := s.b[start+1 : s.i-1]
	for _, c := range raw {
		if c == '\\' {
			return unescape(raw)
		}
	}
	return intern(raw), nil
}

// intern returns the wire's fixed strings (keys and event types) without allocating; any other
// string is copied.
func intern(raw []byte) string {
	switch string(raw) { // compiled to comparisons, no allocation
	case "type":
		return "type"
	case "id":
		return "id"
	case "payload":
		return "payload"
	case "output":
		return "output"
	case "operationId":
		return "operationId"
	case "input":
		return "input"
	case "auth_token":
		return "auth_token"
	case "forwarded_for":
		return "forwarded_for"
	case "timeout_ms":
		return "timeout_ms"
	case "traceparent":
		return "traceparent"
	case "code":
		return "code"
	case "message":
		return "message"
	case "details":
		return "details"
	case "retryable":
		return "retryable"
	case EventRequested:
		return EventRequested
	case EventResponded:
		return EventResponded
	case EventCompleted:
		return EventCompleted
	case EventAborted:
		return EventAborted
	case EventError:
		return EventError
	}
	return string(raw)
}

func unescape(raw []byte) (string, error) {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		e := raw[i+1]
		i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hex4(raw[i:])
			i += 4
			if utf16.IsSurrogate(r) {
				if r >= 0xDC00 || i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
					return "", errSyntax
				}
				r2 := hex4(raw[i+2:])
				d := utf16.DecodeRune(r, r2)
				if d == utf8.RuneError {
					return "", errSyntax
				}
				i += 6
				r = d
			}
			out = utf8.AppendRune(out, r)
		}
	}
	return string(out), nil
}

func hex4(b []byte) rune {
	v, _ := strconv.ParseUint(string(b[:4]), 16, 32)
	return rune(v)
}

func (s *scanner) array(depth int) error {
	if depth > maxDepth {
		return errSyntax
	}
	s.i++ // [
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		s.ws()
		if err := s.value(depth); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return errSyntax
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return errSyntax
		}
	}
}

// memberFunc receives one object member: its decoded key and the span [start, end) of its value.
type memberFunc func(key string, start, end int) error

// object validates the object starting at '{' and calls fn (when not nil) for each member in
// order.
func (s *scanner) object(depth int, fn memberFunc) error {
	if depth > maxDepth {
		return errSyntax
	}
	s.i++ // {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return errSyntax
		}
		var key string
		var err error
		recording := s.inNested && depth == 2
		if fn != nil || recording {
			key, err = s.str()
		} else {
			err = s.skipString()
		}
		if err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return errSyntax
		}
		s.i++
		s.ws()
		start := s.i
		if s.nestedKey != "" && depth == 1 && key == s.nestedKey && s.i < len(s.b) && s.b[s.i] == '{' {
			s.inNested = true
			err = s.object(depth+1, nil)
			s.inNested = false
		} else {
			err = s.value(depth)
		}
		if err != nil {
			return err
		}
		if recording && key == "output" {
			s.outputs++
			s.outStart, s.outEnd = start, s.i
		}
		if fn != nil {
			if err := fn(key, start, s.i); err != nil {
				return err
			}
		}
		s.ws()
		if s.i >= len(s.b) {
			return errSyntax
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return errSyntax
		}
	}
}

// errNotObject reports a document whose top-level value is valid JSON but not an object.
var errNotObject = errors.New("not an object")

// walkObject parses b as exactly one JSON object surrounded by optional whitespace and calls fn for
// each top-level member. It checks UTF-8 validity of the whole input first (CALLP-R17).
func walkObject(b []byte, fn memberFunc) error {
	s := scanner{b: b}
	return s.walk(fn)
}

// walk is walkObject on a prepared scanner.
func (s *scanner) walk(fn memberFunc) error {
	b := s.b
	if !utf8.Valid(b) {
		return errors.New("invalid UTF-8")
	}
	s.ws()
	if s.i >= len(s.b) {
		return errSyntax
	}
	if s.b[s.i] != '{' {
		if err := s.value(0); err != nil {
			return err
		}
		s.ws()
		if s.i != len(s.b) {
			return errSyntax
		}
		return errNotObject
	}
	if err := s.object(1, fn); err != nil {
		return err
	}
	s.ws()
	if s.i != len(s.b) {
		return errors.New("trailing data after the object")
	}
	return nil
}

// validValue reports whether b is exactly one JSON value (whitespace around it allowed) made of
// valid UTF-8, and whether it is already compact (no insignificant whitespace anywhere).
func validValue(b []byte) (ok, compact bool) {
	if !utf8.Valid(b) {
		return false, false
	}
	s := scanner{b: b}
	s.ws()
	if s.value(0) != nil {
		return false, false
	}
	s.ws()
	return s.i == len(s.b), !s.sawWS
}

// appendCompact appends the valid JSON value v to dst without insignificant whitespace. v must
// already have passed validValue.
func appendCompact(dst, v []byte) []byte {
	inStr := false
	start := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		if c == '"' {
			inStr = true
		} else if isWS(c) {
			dst = append(dst, v[start:i]...)
			start = i + 1
		}
	}
	return append(dst, v[start:]...)
}
