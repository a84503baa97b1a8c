package auth_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/alknet/alknet/alknet-core/auth"
)

// tokenHolder keeps a token in an exported and an unexported field (CORE-R1404).
type tokenHolder struct {
	Name  string
	Token auth.AuthToken
	tok   auth.AuthToken
}

// CORE-T908: AuthToken and token-bearing errors never print the token.
func TestAuthTokenRedacts(t *testing.T) {
	t.Parallel()
	raw := []byte(apiToken)
	tok := auth.NewAuthToken(raw)
	clear(raw) // CORE-R706: the token keeps its own copy
	if string(tok.Bytes()) != apiToken || tok.Len() != len(apiToken) {
		t.Fatalf("Bytes = %q after wiping the input", tok.Bytes())
	}
	b := tok.Bytes()
	b[0] = 'X'
	if string(tok.Bytes()) != apiToken {
		t.Fatal("Bytes returned the token's own storage")
	}
	h := tokenHolder{Name: "n", Token: tok, tok: tok}
	tokErr := fmt.Errorf("resolve %v: %w", tok, auth.ErrAuthRequired)
	var out bytes.Buffer
	for _, v := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		fmt.Fprintf(&out, v+"\n", tok)
		fmt.Fprintf(&out, v+"\n", h)
		fmt.Fprintf(&out, v+"\n", &h)
		fmt.Fprintf(&out, v+"\n", tokErr)
	}
	if _, err := json.Marshal(tok); err == nil {
		t.Fatal("json.Marshal(AuthToken) succeeded")
	}
	if _, err := json.Marshal(h); err == nil {
		t.Fatal("json.Marshal of a struct holding an AuthToken succeeded")
	}
	for _, hd := range []slog.Handler{slog.NewJSONHandler(&out, nil), slog.NewTextHandler(&out, nil)} {
		slog.New(hd).Info("auth", "token", tok, slog.Any("holder", h), "err", tokErr)
	}
	assertNoSecrets(t, out.String())
	if !strings.Contains(out.String(), "[REDACTED]") {
		t.Fatalf("no [REDACTED] marker in %s", out.String())
	}
	if !errors.Is(tokErr, auth.ErrAuthRequired) {
		t.Fatal("wrapped ErrAuthRequired not matched")
	}
}

// assertNoSecrets fails if out contains a test token or a token hash (or the hex part of
// one in part), in plain text or hex.
func assertNoSecrets(t *testing.T, out string) {
	t.Helper()
	for _, s := range []string{apiToken, peerToken, "hub-token", fmt.Sprintf("%x", apiToken), apiTokenHash[7:19], peerTokHash[7:19]} {
		if strings.Contains(out, s) {
			t.Fatalf("output contains secret %q:\n%s", s, out)
		}
	}
}

// Issue: secrets never appear in any log line or error string. Every failure path of
// policy compilation and key generation is collected, logged and checked.
func TestErrorsCarryNoSecrets(t *testing.T) {
	t.Parallel()
	var errs []error
	bad := samplePolicy()
	bad.Peers = append(bad.Peers,
		auth.PeerEntry{PeerID: "dup-hash", AuthTokenHash: peerTokHash},
		auth.PeerEntry{PeerID: "api-clash", AuthTokenHash: apiTokenHash},
		auth.PeerEntry{PeerID: "bad-hash", AuthTokenHash: "sha256:" + strings.ToUpper(apiTokenHash[7:])},
		auth.PeerEntry{PeerID: "hub2", AuthTokenHash: auth.HashToken([]byte("hub-token"))},
	)
	bad.APIKeys = append(bad.APIKeys,
		auth.APIKeyEntry{Prefix: "alk_test", Hash: apiTokenHash},
		auth.APIKeyEntry{Prefix: "alk_tes", Hash: "sha256:" + apiTokenHash[7:40]},
	)
	_, err := auth.Compile(bad)
	errs = append(errs, err)
	_, _, err = auth.GenerateAPIKey(auth.APIKeySpec{Rand: constReader(0), Taken: func(string) (bool, error) { return true, nil }})
	errs = append(errs, err)
	_, _, err = auth.GenerateAPIKey(auth.APIKeySpec{Taken: func(p string) (bool, error) { return false, fmt.Errorf("lookup %s failed", p) }})
	errs = append(errs, err)

	var out bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&out, nil))
	for _, e := range errs {
		if e == nil {
			t.Fatal("expected an error")
		}
		fmt.Fprintf(&out, "%v\n%+v\n", e, e)
		logger.Error("failure", "err", e)
	}
	assertNoSecrets(t, out.String())
}
