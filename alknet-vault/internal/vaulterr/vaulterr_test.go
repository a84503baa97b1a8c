package vaulterr

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// VAULT-R100, VAULT-R102: codes are unique, prefixed and listed in
// docs/errors.md; Is matches on the code; ErrorCode exposes it.
func TestCodesUniqueAndDocumented(t *testing.T) {
	seen := map[Code]bool{}
	for _, c := range AllCodes {
		if seen[c] {
			t.Errorf("code %s listed twice", c)
		}
		seen[c] = true
		if !strings.HasPrefix(string(c), "VAULT_") {
			t.Errorf("code %s lacks the VAULT_ prefix", c)
		}
	}
	if len(seen) != 13 {
		t.Errorf("got %d codes, want 13 (spec/vault.md §12)", len(seen))
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "errors.md"))
	if err != nil {
		t.Skipf("docs/errors.md not readable from the module (%v); checked in the workspace", err)
	}
	for _, c := range AllCodes {
		if !strings.Contains(string(doc), "`"+string(c)+"`") {
			t.Errorf("docs/errors.md does not list %s", c)
		}
	}
}

func TestErrorMethods(t *testing.T) {
	e := New(CodeInvalidPath, "invalid derivation path: empty")
	if got, want := e.Error(), "vault: invalid derivation path: empty"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if e.ErrorCode() != "VAULT_INVALID_PATH" {
		t.Errorf("ErrorCode() = %q", e.ErrorCode())
	}
	wrapped := fmt.Errorf("derive identity: %w", e)
	if !errors.Is(wrapped, ErrInvalidPath) {
		t.Error("errors.Is(wrapped, ErrInvalidPath) = false")
	}
	if errors.Is(wrapped, ErrLocked) {
		t.Error("errors.Is(wrapped, ErrLocked) = true")
	}
	if CodeOf(wrapped) != CodeInvalidPath {
		t.Errorf("CodeOf = %q", CodeOf(wrapped))
	}
	if CodeOf(errors.New("other")) != "" || CodeOf(nil) != "" {
		t.Error("CodeOf of a foreign error is not empty")
	}
	var nilErr *Error
	_ = nilErr.Error()
	_ = nilErr.ErrorCode()
}
