package auth_test

import (
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/alknet/alknet/alknet-core/auth"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Conventions: the codes of this package's sentinels are unique and listed in
// docs/errors.md under "### auth".
func TestCodesDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, _ := strings.Cut(string(doc), "\n### auth ")
	sec, _, _ = strings.Cut(sec, "\n### ")
	seen := map[string]bool{}
	for _, c := range auth.Codes() {
		if seen[string(c)] || !strings.Contains(sec, "`"+string(c)+"`") {
			t.Errorf("code %s duplicated or missing from the auth section of docs/errors.md", c)
		}
		seen[string(c)] = true
	}
	for _, e := range []error{auth.ErrAuthRequired, auth.ErrPrefixExhausted} {
		if !strings.Contains(sec, "`"+e.(interface{ ErrorCode() string }).ErrorCode()+"`") {
			t.Errorf("sentinel %v not documented", e)
		}
	}
}
