package registry_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alknet/alknet/alknet-call/registry"
)

// The package's codes are unique and listed in docs/errors.md (conventions: errors).
func TestCodesDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "errors.md"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range registry.Codes() {
		if seen[c] {
			t.Errorf("code %s listed twice", c)
		}
		seen[c] = true
		if !strings.Contains(string(doc), "`"+c+"`") {
			t.Errorf("code %s missing from docs/errors.md", c)
		}
	}
	for _, e := range []interface{ ErrorCode() string }{registry.ErrSetClosed, registry.ErrEmptyPeerID, registry.ErrConnectionEnded,
		&registry.CollisionError{Op: "a/b"}, &registry.RegistrationError{Code: registry.CodeInvalidRegistration}} {
		if !seen[e.ErrorCode()] {
			t.Errorf("%T reports unlisted code %s", e, e.ErrorCode())
		}
	}
}
