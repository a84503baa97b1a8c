package callerr_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alknet/alknet/alknet-call/callerr"
)

// ERR-R1: the six protocol codes are distinct and documented in docs/errors.md.
func TestCodesUniqueAndDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "errors.md"))
	if err != nil {
		t.Fatalf("read docs/errors.md: %v", err)
	}
	seen := map[string]bool{}
	for _, c := range callerr.Codes() {
		if seen[c] {
			t.Errorf("code %s listed twice", c)
		}
		seen[c] = true
		if !strings.Contains(string(doc), "`"+c+"`") {
			t.Errorf("code %s missing from docs/errors.md", c)
		}
		if !callerr.IsProtocolCode(c) {
			t.Errorf("IsProtocolCode(%s) = false", c)
		}
	}
	if len(seen) != 6 {
		t.Errorf("got %d codes, want 6", len(seen))
	}
	if callerr.IsProtocolCode("FILE_NOT_FOUND") {
		t.Error("IsProtocolCode(FILE_NOT_FOUND) = true")
	}
}

func TestNewRetryableDefault(t *testing.T) {
	t.Parallel()
	for _, c := range callerr.Codes() {
		if got, want := callerr.New(c, "m").Retryable, c == callerr.Timeout; got != want {
			t.Errorf("New(%s).Retryable = %v, want %v", c, got, want)
		}
	}
}

func TestErrorTextAndCause(t *testing.T) {
	t.Parallel()
	base := callerr.New(callerr.Timeout, "request timed out")
	if got := base.Error(); got != "TIMEOUT: request timed out" {
		t.Errorf("Error() = %q", got)
	}
	withCause := base.WithCause(context.DeadlineExceeded)
	if base.Unwrap() != nil {
		t.Error("WithCause modified the receiver")
	}
	if !errors.Is(withCause, context.DeadlineExceeded) {
		t.Error("errors.Is(withCause, DeadlineExceeded) = false")
	}
	if !errors.Is(withCause, callerr.New(callerr.Timeout, "")) {
		t.Error("errors.Is by code = false")
	}
	if errors.Is(withCause, callerr.New(callerr.Internal, "")) {
		t.Error("errors.Is matched a different code")
	}
	if got := withCause.ErrorCode(); got != callerr.Timeout {
		t.Errorf("ErrorCode() = %q", got)
	}
	if ce, ok := errors.AsType[*callerr.CallError](withCause); !ok || ce.Code != callerr.Timeout {
		t.Errorf("AsType = %v, %v", ce, ok)
	}
}

func TestWithDetails(t *testing.T) {
	t.Parallel()
	base := callerr.New("FILE_NOT_FOUND", "file not found")
	d := base.WithDetails(map[string]string{"path": "/nope"})
	if base.Details != nil {
		t.Error("WithDetails modified the receiver")
	}
	if string(d.Details) != `{"path":"/nope"}` {
		t.Errorf("Details = %s", d.Details)
	}
	raw := base.WithDetails(json.RawMessage(`{"a":1}`))
	if string(raw.Details) != `{"a":1}` {
		t.Errorf("raw Details = %s", raw.Details)
	}
	defer func() {
		if recover() == nil {
			t.Error("WithDetails(invalid raw) did not panic")
		}
	}()
	base.WithDetails(json.RawMessage(`{`))
}

func TestSentinelsDistinct(t *testing.T) {
	t.Parallel()
	if errors.Is(callerr.ErrAborted, callerr.ErrRevoked) {
		t.Error("ErrAborted matches ErrRevoked")
	}
	if _, ok := errors.AsType[*callerr.CallError](callerr.ErrAborted); ok {
		t.Error("ErrAborted is a CallError")
	}
}
