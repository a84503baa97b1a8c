package alkerr_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/alknet/alknet/alknet-core/alkerr"
)

type foreignError struct{ code string }

func (e foreignError) Error() string     { return "foreign failure" }
func (e foreignError) ErrorCode() string { return e.code }

func TestErrorText(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		want string
	}{
		{alkerr.New(alkerr.CodeTimeout, "idle"), "TIMEOUT: idle"},
		{alkerr.Wrap(alkerr.CodeTLSConfig, "read cert.pem", io.EOF), "TLS_CONFIG: read cert.pem: EOF"},
		{&alkerr.Error{Code: alkerr.CodeStoreBackend}, "STORE_BACKEND"},
	}
	for _, tc := range cases {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

// CORE-R010: errors with the same code match each other, wrapping keeps the cause.
func TestIsMatchesByCode(t *testing.T) {
	t.Parallel()
	sentinel := alkerr.New(alkerr.CodeConfigInvalid, "configuration invalid")
	other := alkerr.Wrap(alkerr.CodeConfigInvalid, "peers[0].peer_id: bad", io.ErrUnexpectedEOF)
	wrapped := fmt.Errorf("load: %w", other)
	if !errors.Is(wrapped, sentinel) {
		t.Fatalf("errors.Is(%v, sentinel) = false, want true", wrapped)
	}
	if !errors.Is(wrapped, io.ErrUnexpectedEOF) {
		t.Fatalf("cause not reachable through %v", wrapped)
	}
	if errors.Is(wrapped, alkerr.New(alkerr.CodeTimeout, "")) {
		t.Fatalf("errors.Is matched a different code")
	}
	if e, ok := errors.AsType[*alkerr.Error](wrapped); !ok || e.Message != "peers[0].peer_id: bad" {
		t.Fatalf("errors.AsType = %v, %v", e, ok)
	}
}

// CORE-R011: CodeOf finds the first Coded error in the chain, of any module.
func TestCodeOf(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		want alkerr.Code
	}{
		{nil, ""},
		{io.EOF, ""},
		{alkerr.New(alkerr.CodeBindFailed, "x"), alkerr.CodeBindFailed},
		{fmt.Errorf("a: %w", alkerr.New(alkerr.CodeStoreNotFound, "x")), alkerr.CodeStoreNotFound},
		{fmt.Errorf("a: %w", foreignError{"VAULT_LOCKED"}), "VAULT_LOCKED"},
		{fmt.Errorf("%w and %w", io.EOF, alkerr.New(alkerr.CodeTimeout, "t")), alkerr.CodeTimeout},
		{alkerr.Wrap(alkerr.CodeStoreBackend, "x", foreignError{"INNER"}), alkerr.CodeStoreBackend},
	}
	for _, tc := range cases {
		if got := alkerr.CodeOf(tc.err); got != tc.want {
			t.Errorf("CodeOf(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	var _ alkerr.Coded = (*alkerr.Error)(nil)
}

// Conventions: codes are unique, upper snake case and listed in the alknet-core section
// of docs/errors.md. Each package that owns a sentinel also checks its own subsection.
func TestCoreCodesUnique(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(doc), "\n## alknet-core\n")
	section, _, _ = strings.Cut(section, "\n## ")
	re := regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)
	seen := map[alkerr.Code]bool{}
	for _, c := range alkerr.CoreCodes() {
		if seen[c] {
			t.Errorf("code %s defined twice", c)
		}
		seen[c] = true
		if !re.MatchString(string(c)) {
			t.Errorf("code %q is not upper snake case", c)
		}
		if !strings.Contains(section, "`"+string(c)+"`") {
			t.Errorf("code %s is not listed in the alknet-core section of docs/errors.md", c)
		}
	}
	if len(seen) != 20 {
		t.Errorf("CoreCodes has %d codes, want the 20 of core.md §1", len(seen))
	}
}
