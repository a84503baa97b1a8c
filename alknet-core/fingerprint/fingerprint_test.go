package fingerprint_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/fingerprint"
)

const (
	rfc8032Seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
	rfc8032FP   = "ed25519:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
)

func selfSigned(t *testing.T, pub, priv any, serial int64) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "alknet"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatalf("CreateCertificate: %v", err)
	}
	return der
}

// CORE-T701: the RFC 8032 vector, and two wrapper certificates of one key share a fingerprint.
func TestEd25519Vector(t *testing.T) {
	t.Parallel()
	seed, _ := hex.DecodeString(rfc8032Seed)
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	if got := fingerprint.FromEd25519(pub); got != rfc8032FP {
		t.Fatalf("FromEd25519 = %s, want %s", got, rfc8032FP)
	}
	der1 := selfSigned(t, pub, priv, 1)
	der2 := selfSigned(t, pub, priv, 2)
	if string(der1) == string(der2) {
		t.Fatal("two wrapper certificates have identical DER")
	}
	for _, der := range [][]byte{der1, der2} {
		got, err := fingerprint.FromDER(der)
		if err != nil || got != rfc8032FP {
			t.Fatalf("FromDER = %s, %v; want %s", got, err, rfc8032FP)
		}
		leaf, _ := x509.ParseCertificate(der)
		if got := fingerprint.FromCertificate(leaf); got != rfc8032FP {
			t.Fatalf("FromCertificate = %s, want %s", got, rfc8032FP)
		}
	}
}

// CORE-T702: a non-Ed25519 certificate is fingerprinted over its DER.
func TestECDSAFingerprint(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der := selfSigned(t, &key.PublicKey, key, 7)
	sum := sha256.Sum256(der)
	want := "SHA256:" + hex.EncodeToString(sum[:])
	got, err := fingerprint.FromDER(der)
	if err != nil || got != want {
		t.Fatalf("FromDER = %s, %v; want %s", got, err, want)
	}
	if _, err := fingerprint.FromDER([]byte("not a certificate")); alkerr.CodeOf(err) != alkerr.CodeConfigInvalid {
		t.Fatalf("FromDER(garbage) code = %q, want CONFIG_INVALID", alkerr.CodeOf(err))
	}
}

var hex64 = strings.Repeat("ab", 32)

var parseCases = []struct {
	in   string
	want string // "" means rejected
	msg  string // substring of the error message when rejected
}{
	{rfc8032FP, rfc8032FP, ""},
	{"SHA256:" + hex64, "SHA256:" + hex64, ""},
	{"ED25519:" + strings.ToUpper(rfc8032FP[8:]), rfc8032FP, ""},
	{"sha256:" + strings.ToUpper(hex64), "SHA256:" + hex64, ""},
	{"Sha256:" + hex64, "SHA256:" + hex64, ""},
	{"", "", "empty"},
	{"ed25519:" + hex64[:62], "", "64 hex digits"},
	{"ed25519:" + hex64 + "00", "", "64 hex digits"},
	{"ed25519:" + hex64[:63] + "g", "", "64 hex digits"},
	{"md5:" + hex64, "", "prefix"},
	{hex64, "", "prefix"},
	{"ed25519:", "", "64 hex digits"},
	{"SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s", "", "OpenSSH"},
	{"SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s=", "", "OpenSSH"},
	{" ed25519:" + hex64, "", "prefix"},
	{"ed25519:" + hex64 + " ", "", "64 hex digits"},
}

// CORE-T703, CORE-R803.
func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range parseCases {
		got, err := fingerprint.Parse(tc.in)
		if tc.want != "" {
			if err != nil || got != tc.want {
				t.Errorf("Parse(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			again, err := fingerprint.Parse(got)
			if err != nil || again != got {
				t.Errorf("Parse(Parse(%q)) = %q, %v; want fixed point", tc.in, again, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("Parse(%q) = %q, want an error", tc.in, got)
			continue
		}
		if alkerr.CodeOf(err) != alkerr.CodeConfigInvalid {
			t.Errorf("Parse(%q) code = %q, want CONFIG_INVALID", tc.in, alkerr.CodeOf(err))
		}
		if !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Parse(%q) error %q does not mention %q", tc.in, err, tc.msg)
		}
	}
}

// CORE-T703: Parse never panics and every accepted output is a fixed point.
func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := fingerprint.Parse(s)
		if err != nil {
			if got != "" {
				t.Fatalf("Parse(%q) returned %q with error %v", s, got, err)
			}
			return
		}
		again, err := fingerprint.Parse(got)
		if err != nil || again != got {
			t.Fatalf("Parse(%q) = %q, but Parse of that = %q, %v", s, got, again, err)
		}
		if !strings.HasPrefix(got, fingerprint.PrefixEd25519) && !strings.HasPrefix(got, fingerprint.PrefixSHA256) {
			t.Fatalf("Parse(%q) = %q has no canonical prefix", s, got)
		}
	})
}

// Conventions: the one code this package returns is listed under "### fingerprint" in
// docs/errors.md.
func TestCodesDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, _ := strings.Cut(string(doc), "\n### fingerprint ")
	sec, _, _ = strings.Cut(sec, "\n### ")
	_, err = fingerprint.Parse("")
	if c := alkerr.CodeOf(err); !strings.Contains(sec, "`"+string(c)+"`") {
		t.Fatalf("code %q not listed in the fingerprint section of docs/errors.md", c)
	}
}
