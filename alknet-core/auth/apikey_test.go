package auth_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
)

var tokenPattern = regexp.MustCompile(`^alk_[0-9A-Za-z]{40}$`)

// constReader returns b forever.
type constReader byte

func (c constReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}

// failReader fails every read.
type failReader struct{}

var errEntropy = errors.New("entropy source broken")

func (failReader) Read([]byte) (int, error) { return 0, errEntropy }

// CORE-T905: format, hash verification, distinctness, Taken forcing regeneration, redaction.
func TestGenerateAPIKey(t *testing.T) {
	t.Parallel()
	exp := int64(4_000_000_000)
	tok, entry, err := auth.GenerateAPIKey(auth.APIKeySpec{Scopes: []string{"fs:read"}, Description: "ci", ExpiresAt: &exp})
	if err != nil {
		t.Fatalf("GenerateAPIKey: %v", err)
	}
	raw := tok.Expose()
	if !tokenPattern.MatchString(raw) {
		t.Fatalf("token %q does not match alk_ + 40 base62", raw)
	}
	if entry.Prefix != raw[:8] || entry.Hash != auth.HashToken([]byte(raw)) || entry.Description != "ci" || *entry.ExpiresAt != exp {
		t.Fatalf("entry = %+v", entry)
	}
	p := mustCompile(t, auth.AuthPolicy{APIKeys: []auth.APIKeyEntry{entry}})
	if id, ok := p.ResolveToken([]byte(raw), time.Now()); !ok || id.ID != entry.Prefix || !id.HasScope("fs:read") {
		t.Fatalf("generated key resolves to %+v, %v", id, ok)
	}
	if got := fmt.Sprintf("%v %+v %#v %s", tok, tok, tok, tok); strings.Contains(got, raw) || !strings.Contains(got, "[REDACTED]") {
		t.Fatalf("token printed as %q", got)
	}

	seen := map[string]bool{}
	for range 1000 {
		tok, _, err := auth.GenerateAPIKey(auth.APIKeySpec{})
		if err != nil {
			t.Fatal(err)
		}
		if seen[tok.Expose()] {
			t.Fatalf("duplicate token after %d generations", len(seen))
		}
		seen[tok.Expose()] = true
	}

	for n := range 16 {
		calls := 0
		var prefixes []string
		tok, entry, err := auth.GenerateAPIKey(auth.APIKeySpec{Taken: func(prefix string) (bool, error) {
			calls++
			prefixes = append(prefixes, prefix)
			return calls <= n, nil
		}})
		if err != nil || calls != n+1 || entry.Prefix != prefixes[n] || tok.Expose()[:8] != entry.Prefix {
			t.Fatalf("Taken rejecting %d prefixes: calls=%d entry=%+v err=%v", n, calls, entry, err)
		}
	}

	if _, _, err := auth.GenerateAPIKey(auth.APIKeySpec{Scopes: []string{"bad scope"}}); alkerr.CodeOf(err) != alkerr.CodeConfigInvalid {
		t.Fatalf("invalid scope: %v, want CONFIG_INVALID", err)
	}
}

// CORE-T911: bounded attempts, deterministic reader, rejection sampling, reader and Taken errors.
func TestGenerateAPIKeyBounds(t *testing.T) {
	t.Parallel()
	calls := 0
	tok, _, err := auth.GenerateAPIKey(auth.APIKeySpec{Rand: constReader(0), Taken: func(string) (bool, error) { calls++; return true, nil }})
	if !errors.Is(err, auth.ErrPrefixExhausted) || alkerr.CodeOf(err) != alkerr.CodeAPIKeyPrefixExhausted || calls != auth.MaxAPIKeyAttempts || !tok.IsZero() {
		t.Fatalf("all taken: err=%v calls=%d", err, calls)
	}

	tok, entry, err := auth.GenerateAPIKey(auth.APIKeySpec{Rand: constReader(0), Taken: func(string) (bool, error) { return false, nil }})
	if want := "alk_" + strings.Repeat("0", 40); err != nil || tok.Expose() != want || entry.Prefix != "alk_0000" {
		t.Fatalf("zero reader: %q, %+v, %v", tok.Expose(), entry, err)
	}

	// 300 bytes ≥ 248 are all rejected, then 61 maps to 'z'.
	r := io.MultiReader(bytes.NewReader(bytes.Repeat([]byte{248, 255, 250}, 100)), constReader(61))
	tok, _, err = auth.GenerateAPIKey(auth.APIKeySpec{Rand: r})
	if want := "alk_" + strings.Repeat("z", 40); err != nil || tok.Expose() != want {
		t.Fatalf("rejection sampling: %q, %v; want %q", tok.Expose(), err, want)
	}

	tok, entry, err = auth.GenerateAPIKey(auth.APIKeySpec{Rand: failReader{}})
	if !errors.Is(err, errEntropy) || !tok.IsZero() || entry.Hash != "" {
		t.Fatalf("failing reader: %q, %+v, %v", tok.Expose(), entry, err)
	}
	// A reader that fails half-way never yields a partial token.
	tok, _, err = auth.GenerateAPIKey(auth.APIKeySpec{Rand: io.LimitReader(constReader(1), 20)})
	if err == nil || !tok.IsZero() {
		t.Fatalf("short reader: %q, %v", tok.Expose(), err)
	}

	errStore := errors.New("store locked")
	calls = 0
	_, _, err = auth.GenerateAPIKey(auth.APIKeySpec{Taken: func(string) (bool, error) { calls++; return false, errStore }})
	if !errors.Is(err, errStore) || calls != 1 {
		t.Fatalf("Taken error: %v after %d calls", err, calls)
	}
}

// CORE-T912: GenerateToken.
func TestGenerateToken(t *testing.T) {
	t.Parallel()
	tok, err := auth.GenerateToken("alkp_", nil)
	if err != nil || !regexp.MustCompile(`^alkp_[0-9A-Za-z]{40}$`).MatchString(tok.Expose()) {
		t.Fatalf("GenerateToken = %q, %v", tok.Expose(), err)
	}
	tok, err = auth.GenerateToken("alkp_", constReader(0))
	if err != nil || tok.Expose() != "alkp_"+strings.Repeat("0", 40) {
		t.Fatalf("zero reader: %q, %v", tok.Expose(), err)
	}
	tok, err = auth.GenerateToken("alkp_", failReader{})
	if !errors.Is(err, errEntropy) || !tok.IsZero() {
		t.Fatalf("failing reader: %q, %v", tok.Expose(), err)
	}
	seq := make([]byte, 200)
	for i := range seq {
		seq[i] = byte(i * 37)
	}
	a, err1 := auth.GenerateToken("alk_", bytes.NewReader(seq))
	b, _, err2 := auth.GenerateAPIKey(auth.APIKeySpec{Rand: bytes.NewReader(seq)})
	if err1 != nil || err2 != nil || a.Expose() != b.Expose() {
		t.Fatalf("GenerateToken %q != GenerateAPIKey %q (%v, %v)", a.Expose(), b.Expose(), err1, err2)
	}
	if fmt.Sprint(a) != "[REDACTED]" {
		t.Fatalf("token prints as %q", fmt.Sprint(a))
	}
}
