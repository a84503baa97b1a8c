package wire

import (
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string exactly as encoding/json does with HTML escaping off
// (CALLP-R26): '"' and '\\' escaped, control characters as \b \f \n \r \t or \u00XX, invalid UTF-8
// as \ufffd, U+2028 and U+2029 as \u2028 and \u2029, everything else verbatim.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	// Ids, event types, operation ids and codes are plain ASCII: skip such bytes eight at a time.
	i := 0
	for i+8 <= len(s) {
		t := s[i : i+8] // one bounds check; the eight loads combine into one
		w := uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
			uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
		if specialBytes(w)|w&highs != 0 { // an escape, or a byte of a multi-byte sequence
			break
		}
		i += 8
	}
	start := 0
	for i < len(s) {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendRaw appends the raw JSON value v compacted, or null when v is empty. It reports false when
// v is not one valid JSON value (nothing useful is appended then).
func appendRaw(dst, v []byte) ([]byte, bool) {
	if len(v) == 0 {
		return append(dst, "null"...), true
	}
	ok, compact := validValue(v)
	switch {
	case !ok:
		return dst, false
	case compact:
		return append(dst, v...), true
	}
	return appendCompact(dst, v), true
}

func appendInt(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }

// Valid reports whether b is exactly one JSON value (RFC 8259, whitespace around it allowed) made
// of valid UTF-8: the check every raw value passes before it is framed. Unlike encoding/json.Valid
// it rejects invalid UTF-8, which a strict receiver would refuse (CALLP-R17).
func Valid(b []byte) bool {
	ok, _ := validValue(b)
	return ok
}
