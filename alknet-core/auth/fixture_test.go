package auth_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/fingerprint"
)

// Test vectors of core.md §10.5.
const (
	apiToken     = "alk_testsecret123"
	apiTokenHash = "sha256:61210fdb492c840f1838774b822c184083c4093c7cb93e6c2c33732ff3b8903c"
	peerToken    = "alk_0123456789abcdefghijABCDEFGHIJ"
	peerTokHash  = "sha256:7ec7cb477fca72416a3809813a0df5c20de2ac67673ee45f090f9e0a487de7e6"
)

// keyFP returns the fingerprint of the Ed25519 key derived from name.
func keyFP(name string) string {
	seed := sha256.Sum256([]byte(name))
	return fingerprint.FromEd25519(ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey))
}

func ptr[T any](v T) *T { return &v }

// samplePolicy has an enabled peer with two fingerprints and resources, a disabled peer
// holding the peer-token vector, a token-only peer, and the API-key vector.
func samplePolicy() auth.AuthPolicy {
	return auth.AuthPolicy{
		Peers: []auth.PeerEntry{
			{
				PeerID:       "worker-a",
				Fingerprints: []string{keyFP("worker-a-1"), keyFP("worker-a-2")},
				Scopes:       []string{"relay:connect", "docker:start"},
				Resources:    map[string][]string{"service": {"gitea", "registry"}},
				DisplayName:  "Worker A",
			},
			{
				PeerID:        "browser-alice",
				Fingerprints:  []string{keyFP("alice")},
				AuthTokenHash: peerTokHash,
				Scopes:        []string{"fs:read"},
				Enabled:       ptr(false),
			},
			{
				PeerID:        "hub.example",
				AuthTokenHash: auth.HashToken([]byte("hub-token")),
				Scopes:        []string{"fs:read", "fs:write"},
			},
		},
		APIKeys: []auth.APIKeyEntry{
			{Prefix: "alk_test", Hash: apiTokenHash, Scopes: []string{"fs:read"}, Description: "CI key"},
		},
	}
}

func mustCompile(t testing.TB, p auth.AuthPolicy) *auth.Policy {
	t.Helper()
	c, err := auth.Compile(p)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return c
}

// upperHex upper-cases the hex part of a fingerprint.
func upperHex(fp string) string {
	prefix, rest, _ := strings.Cut(fp, ":")
	return prefix + ":" + strings.ToUpper(rest)
}
