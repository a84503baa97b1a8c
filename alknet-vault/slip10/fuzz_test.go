package slip10_test

import (
	"slices"
	"testing"

	"github.com/alknet/alknet/alknet-vault/internal/vaulterr"
	"github.com/alknet/alknet/alknet-vault/slip10"
)

// VAULT-T50: FuzzParsePath never panics; a valid path's canonical form
// re-parses to the same indices and prints identically.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"m", "m/0'", "m/74'/0'/0'/0'", "m/44'/60'/0'/0/0", "m/0h/1h", "m//0'", "m/01'", "m/2147483648'", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := slip10.ParsePath(s)
		if err != nil {
			if vaulterr.CodeOf(err) != vaulterr.CodeInvalidPath {
				t.Fatalf("ParsePath(%q) error %v has code %q", s, err, vaulterr.CodeOf(err))
			}
			return
		}
		q, err := slip10.ParsePath(p.String())
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", p.String(), s, err)
		}
		if !slices.Equal(p.Indices(), q.Indices()) || q.String() != p.String() {
			t.Fatalf("round trip of %q: %v/%q vs %v/%q", s, p.Indices(), p.String(), q.Indices(), q.String())
		}
	})
}
