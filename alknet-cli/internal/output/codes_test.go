package output_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alknet/alknet/alknet-cli/internal/output"
	"github.com/alknet/alknet/alknet-core/alkerr"
)

// Conventions: the codes are unique, each has its exit code from cli.md §11, and each is listed
// in docs/errors.md under alknet-cli.
func TestCodesDocumented(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "errors.md"))
	if err != nil {
		t.Skipf("docs/errors.md not found: %v", err)
	}
	_, sec, ok := strings.Cut(string(b), "## alknet-cli")
	if !ok {
		t.Fatal("docs/errors.md has no alknet-cli section")
	}
	seen := map[output.Code]bool{}
	for _, c := range output.Codes() {
		if seen[c] {
			t.Errorf("code %s twice", c)
		}
		seen[c] = true
		want := fmt.Sprintf("| `%s` | %d |", c, output.ExitCode(c))
		if !strings.Contains(sec, want) {
			t.Errorf("docs/errors.md lacks the row %q", want)
		}
	}
	if len(seen) != 35 {
		t.Errorf("%d codes, want the 35 of cli.md §11", len(seen))
	}
}

type foreign struct{ code string }

func (f foreign) Error() string     { return "foreign: " + f.code }
func (f foreign) ErrorCode() string { return f.code }

// CLI-R62: module codes map through one table; differing codes travel as cause_code.
func TestClassify(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err   error
		code  output.Code
		cause string
	}{
		{alkerr.New(alkerr.CodeStoreNotFound, "x"), output.CodeNotFound, "STORE_NOT_FOUND"},
		{fmt.Errorf("open: %w", foreign{"STORE_BUSY"}), output.CodeStoreBusy, ""},
		{foreign{"STORE_SERIALIZATION"}, output.CodeStoreCorrupt, "STORE_SERIALIZATION"},
		{foreign{"STORE_NOT_INITIALIZED"}, output.CodeNotInitialized, "STORE_NOT_INITIALIZED"},
		{foreign{"STORE_BACKEND"}, output.CodeInternal, "STORE_BACKEND"},
		{foreign{"VAULT_DECRYPT_FAILED"}, output.CodeCredentialUndecryptable, "VAULT_DECRYPT_FAILED"},
		{foreign{"VAULT_LOCKED"}, output.CodeInternal, "VAULT_LOCKED"},
		{foreign{"TLS_PEER_MISMATCH"}, output.CodeServerUntrusted, "TLS_PEER_MISMATCH"},
		{alkerr.New(alkerr.CodeBindFailed, "x"), output.CodeBindFailed, ""},
		{errors.New("plain"), output.CodeInternal, ""},
		{fmt.Errorf("w: %w", io.EOF), output.CodeInternal, ""},
		{&output.Error{Code: output.CodeTimeout, Message: "m"}, output.CodeTimeout, ""},
	}
	for _, tc := range cases {
		e := output.Classify(tc.err)
		if e.Code != tc.code || (tc.cause != "" && e.Details["cause_code"] != tc.cause) {
			t.Errorf("Classify(%v) = %s %v, want %s cause %q", tc.err, e.Code, e.Details, tc.code, tc.cause)
		}
	}
}

// CLI-R55: --json failure output is the error object alone; --quiet drops the human line.
func TestReport(t *testing.T) {
	t.Parallel()
	var out, errb strings.Builder
	code := output.Report(&out, &errb, output.Errorf(output.CodeWrongOwner, "store x is owned by y").WithHint("sudo -u y alknet"), output.ReportOptions{JSON: true})
	if code != 6 || out.String() != `{"error":{"code":"WRONG_OWNER","message":"store x is owned by y","exit_code":6,"details":{}}}`+"\n" ||
		!strings.Contains(errb.String(), "error: store x is owned by y (WRONG_OWNER)") || !strings.Contains(errb.String(), "hint: sudo -u y alknet") {
		t.Fatalf("Report = %d %q %q", code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	output.Report(&out, &errb, errors.New("boom"), output.ReportOptions{JSON: true, Quiet: true})
	if errb.Len() != 0 || !strings.Contains(out.String(), `"message":"internal error"`) || strings.Contains(out.String(), "boom") {
		t.Fatalf("INTERNAL: %q %q", out.String(), errb.String())
	}
	if output.ShortFingerprint("ed25519:1a2b3c4d5e6f00112233445566778899aabbccddeeff00112233445566779f0e") != "ed25519:1a2b3c4d…9f0e" {
		t.Fatal("ShortFingerprint")
	}
}
