package tlsconf_test

import (
	"os"
	"strings"
	"testing"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/tlsconf"
)

// Conventions: the codes of this package's sentinels are unique and listed in
// docs/errors.md under "### tlsconf".
func TestCodesDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, _ := strings.Cut(string(doc), "\n### tlsconf ")
	sec, _, _ = strings.Cut(sec, "\n### ")
	sentinels := []error{tlsconf.ErrUnsupportedIdentity, tlsconf.ErrKeyFileNotFound, tlsconf.ErrTLSConfig, tlsconf.ErrPeerMismatch}
	seen := map[alkerr.Code]bool{}
	for i, c := range tlsconf.Codes() {
		if seen[c] || !strings.Contains(sec, "`"+string(c)+"`") || alkerr.CodeOf(sentinels[i]) != c {
			t.Errorf("code %s duplicated, undocumented or not its sentinel's", c)
		}
		seen[c] = true
	}
}
