package registry

import (
	"strings"
	"unicode/utf8"
)

// MaxNameLen is the largest operation name in bytes (REG-R1).
const MaxNameLen = 256

// maxSegmentLen is the largest length of one name segment (REG-R1).
const maxSegmentLen = 64

// ValidName reports whether name is a valid operation name (REG-R1): two or more segments joined
// by "/", no leading or trailing "/", no empty segment, each segment matching
// ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$ and not "." or "..", and at most 256 bytes in all.
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > MaxNameLen {
		return false
	}
	segments := 0
	for rest := name; ; {
		seg, tail, more := strings.Cut(rest, "/")
		if !validSegment(seg) {
			return false
		}
		segments++
		if !more {
			break
		}
		rest = tail
	}
	return segments >= 2
}

func validSegment(s string) bool {
	if len(s) == 0 || len(s) > maxSegmentLen || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
		case (c == '.' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// Name joins a service and an operation into an operation name: Name("fs", "readFile") is
// "fs/readFile". It does not validate; see [ValidName].
func Name(service, op string) string { return service + "/" + op }

// Path returns the wire path of an operation name: "/" + name (REG-R2).
func Path(name string) string { return "/" + name }

// namespace returns the first segment of name.
func namespace(name string) string {
	ns, _, _ := strings.Cut(name, "/")
	return ns
}

// stripPath removes exactly one leading "/" (REG-R2).
func stripPath(s string) string {
	if len(s) > 0 && s[0] == '/' {
		return s[1:]
	}
	return s
}

// truncateName cuts a requested name to at most MaxNameLen bytes for echoing in NOT_FOUND
// messages (REG-R3).
func truncateName(s string) string {
	if len(s) <= MaxNameLen {
		return s
	}
	n := MaxNameLen
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
