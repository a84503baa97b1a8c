package slip10

import (
	"strconv"

	"github.com/alknet/alknet/alknet-vault/internal/vaulterr"
)

// HardenedOffset is added to an index written with ' or h.
const HardenedOffset uint32 = 0x80000000

// MaxDepth is the largest number of components a path may have (VAULT-R20).
const MaxDepth = 255

// Path is a parsed derivation path. The zero Path is the master path "m".
// A Path is not secret and prints normally.
type Path struct {
	indices []uint32
}

func invalidPath(detail string) error {
	return vaulterr.New(vaulterr.CodeInvalidPath, "invalid derivation path: "+detail)
}

// ParsePath parses a path in the VAULT-R20 grammar: "m" followed by zero or
// more "/<index>" components, each a decimal number below 2^31 with no sign
// and no leading zero, optionally followed by ' or h for a hardened index; no
// white space, no empty component, at most 255 components. Violations are
// VAULT_INVALID_PATH; the detail may quote the 1-based component position but
// never more than the caller's own path.
func ParsePath(s string) (Path, error) {
	if s == "" {
		return Path{}, invalidPath("empty")
	}
	if s[0] != 'm' {
		return Path{}, invalidPath("must start with m")
	}
	rest := s[1:]
	if rest == "" {
		return Path{}, nil
	}
	var idx []uint32
	pos := 0
	for rest != "" {
		if rest[0] != '/' {
			return Path{}, invalidPath("expected / after component " + strconv.Itoa(pos))
		}
		rest = rest[1:]
		pos++
		if pos > MaxDepth {
			return Path{}, invalidPath("more than " + strconv.Itoa(MaxDepth) + " components")
		}
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 0 {
			return Path{}, invalidPath("component " + strconv.Itoa(pos) + " is not a decimal index")
		}
		digits := rest[:n]
		if len(digits) > 1 && digits[0] == '0' {
			return Path{}, invalidPath("component " + strconv.Itoa(pos) + " has a leading zero")
		}
		v, err := strconv.ParseUint(digits, 10, 32)
		if err != nil || v >= uint64(HardenedOffset) {
			return Path{}, invalidPath("component " + strconv.Itoa(pos) + " is not below 2^31")
		}
		rest = rest[n:]
		i := uint32(v)
		if rest != "" && (rest[0] == '\'' || rest[0] == 'h') {
			i += HardenedOffset
			rest = rest[1:]
		}
		if rest != "" && rest[0] != '/' {
			return Path{}, invalidPath("unexpected character in component " + strconv.Itoa(pos))
		}
		idx = append(idx, i)
	}
	return Path{indices: idx}, nil
}

// FromIndices returns the path with the given indices (hardened ones already
// include [HardenedOffset]). More than 255 indices is VAULT_INVALID_PATH.
// The slice is copied.
func FromIndices(indices []uint32) (Path, error) {
	if len(indices) > MaxDepth {
		return Path{}, invalidPath("more than " + strconv.Itoa(MaxDepth) + " components")
	}
	if len(indices) == 0 {
		return Path{}, nil
	}
	return Path{indices: append([]uint32(nil), indices...)}, nil
}

// String returns the canonical form, with hardened indices written with '.
func (p Path) String() string {
	b := make([]byte, 0, 1+len(p.indices)*12)
	b = append(b, 'm')
	for _, i := range p.indices {
		b = append(b, '/')
		if i >= HardenedOffset {
			b = strconv.AppendUint(b, uint64(i-HardenedOffset), 10)
			b = append(b, '\'')
		} else {
			b = strconv.AppendUint(b, uint64(i), 10)
		}
	}
	return string(b)
}

// Indices returns a copy of the indices; hardened ones include
// [HardenedOffset].
func (p Path) Indices() []uint32 {
	return append([]uint32(nil), p.indices...)
}

// Depth returns the number of components; 0 for "m".
func (p Path) Depth() int { return len(p.indices) }

// AllHardened reports whether every index is hardened, as Ed25519
// derivation requires (VAULT-R31). The master path is trivially hardened.
func (p Path) AllHardened() bool {
	for _, i := range p.indices {
		if i < HardenedOffset {
			return false
		}
	}
	return true
}
