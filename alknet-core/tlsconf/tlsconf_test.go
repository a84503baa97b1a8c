package tlsconf_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/fingerprint"
	"github.com/alknet/alknet/alknet-core/tlsconf"
)

const (
	rfc8032Seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
	rfc8032FP   = "ed25519:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
)

func rfcKey(t *testing.T) *tlsconf.Ed25519Key {
	t.Helper()
	seed, _ := hex.DecodeString(rfc8032Seed)
	k, err := tlsconf.NewEd25519KeyFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// CORE-T701, CORE-R701: wrapper certificates of one key differ in DER and share the fingerprint.
func TestWrapperCertificate(t *testing.T) {
	t.Parallel()
	k := rfcKey(t)
	if k.Fingerprint() != rfc8032FP {
		t.Fatalf("Fingerprint = %s, want %s", k.Fingerprint(), rfc8032FP)
	}
	c1, err1 := tlsconf.WrapperCertificate(k)
	c2, err2 := tlsconf.Identity{Kind: tlsconf.KindRawKey, Key: k}.Certificate()
	if err1 != nil || err2 != nil {
		t.Fatalf("WrapperCertificate: %v, %v", err1, err2)
	}
	if bytes.Equal(c1.Certificate[0], c2.Certificate[0]) {
		t.Fatal("two wrapper certificates have the same DER")
	}
	now := time.Now()
	for _, c := range []tls.Certificate{c1, c2} {
		leaf := c.Leaf
		if fp := fingerprint.FromCertificate(leaf); fp != rfc8032FP {
			t.Errorf("wrapper fingerprint = %s", fp)
		}
		if leaf.Subject.CommonName != "alknet" || len(leaf.DNSNames)+len(leaf.IPAddresses) != 0 {
			t.Errorf("subject %q, names %v %v", leaf.Subject.CommonName, leaf.DNSNames, leaf.IPAddresses)
		}
		if leaf.SerialNumber.Sign() <= 0 {
			t.Errorf("serial %v is not positive", leaf.SerialNumber)
		}
		if leaf.NotBefore.After(now.Add(-59*time.Minute)) || leaf.NotAfter.Before(now.AddDate(10, 0, -1)) {
			t.Errorf("validity %v..%v", leaf.NotBefore, leaf.NotAfter)
		}
		if leaf.KeyUsage != x509.KeyUsageDigitalSignature || len(leaf.ExtKeyUsage) != 2 {
			t.Errorf("key usage %v, ext %v", leaf.KeyUsage, leaf.ExtKeyUsage)
		}
		if err := leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature); err != nil {
			t.Errorf("not self-signed: %v", err)
		}
	}
}

// CORE-R703, CORE-R704: development certificates and the reserved ACME kind.
func TestOtherKinds(t *testing.T) {
	t.Parallel()
	c, err := tlsconf.Identity{Kind: tlsconf.KindSelfSigned}.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Leaf.PublicKey.(*ecdsa.PublicKey); !ok || c.Leaf.VerifyHostname("localhost") != nil ||
		c.Leaf.VerifyHostname("127.0.0.1") != nil || c.Leaf.VerifyHostname("::1") != nil {
		t.Fatalf("development certificate: key %T, names %v %v", c.Leaf.PublicKey, c.Leaf.DNSNames, c.Leaf.IPAddresses)
	}
	if d := time.Until(c.Leaf.NotAfter); d < 364*24*time.Hour || d > 366*24*time.Hour {
		t.Fatalf("development certificate valid for %v", d)
	}
	_, err = tlsconf.ServerConfig(tlsconf.Identity{Kind: tlsconf.KindACME, ACME: &tlsconf.ACMEConfig{Domains: []string{"a.example"}}}, []string{testALPN})
	if !errors.Is(err, tlsconf.ErrUnsupportedIdentity) || alkerr.CodeOf(err) != alkerr.CodeUnsupported {
		t.Fatalf("ACME: %v, want UNSUPPORTED", err)
	}
	for _, id := range []tlsconf.Identity{{}, {Kind: tlsconf.KindRawKey}, {Kind: tlsconf.KindX509}} {
		if _, err := id.Certificate(); alkerr.CodeOf(err) != alkerr.CodeTLSConfig {
			t.Errorf("Certificate(%v) = %v, want TLS_CONFIG", id.Kind, err)
		}
	}
}

// CORE-R701, CORE-B2: a RawKey identity reuses one wrapper certificate for every
// configuration built from its key, so a dial signs nothing; a destroyed key yields none.
func TestRawKeyCertificateReused(t *testing.T) {
	t.Parallel()
	k, err := tlsconf.GenerateEd25519Key()
	if err != nil {
		t.Fatal(err)
	}
	id := tlsconf.Identity{Kind: tlsconf.KindRawKey, Key: k}
	c1, err1 := id.Certificate()
	c2, err2 := tlsconf.Identity{Kind: tlsconf.KindRawKey, Key: k}.Certificate()
	if err1 != nil || err2 != nil {
		t.Fatalf("Certificate: %v, %v", err1, err2)
	}
	if !bytes.Equal(c1.Certificate[0], c2.Certificate[0]) {
		t.Fatal("two certificates of one RawKey identity differ: the wrapper is re-signed per call")
	}
	cc1, err := tlsconf.ClientConfig(tlsconf.ClientOptions{ALPN: testALPN, Local: &id, PinnedFingerprints: []string{k.Fingerprint()}})
	if err != nil {
		t.Fatal(err)
	}
	presented, err := cc1.GetClientCertificate(&tls.CertificateRequestInfo{})
	if err != nil || !bytes.Equal(presented.Certificate[0], c1.Certificate[0]) {
		t.Fatalf("client config presents another certificate (%v)", err)
	}
	if fp := fingerprint.FromCertificate(presented.Leaf); fp != k.Fingerprint() {
		t.Fatalf("presented fingerprint %s, want %s", fp, k.Fingerprint())
	}
	// A key from the same seed is another key object: its wrapper is its own.
	other := tlsconf.Identity{Kind: tlsconf.KindRawKey, Key: rfcKey(t)}
	o1, _ := other.Certificate()
	o2, _ := tlsconf.Identity{Kind: tlsconf.KindRawKey, Key: rfcKey(t)}.Certificate()
	if bytes.Equal(o1.Certificate[0], o2.Certificate[0]) {
		t.Fatal("two keys share a wrapper certificate")
	}
	k.Destroy()
	if _, err := id.Certificate(); alkerr.CodeOf(err) != alkerr.CodeTLSConfig {
		t.Fatalf("Certificate after Destroy = %v, want TLS_CONFIG", err)
	}
}

// CORE-R710, CORE-R711: the server config.
func TestServerConfig(t *testing.T) {
	t.Parallel()
	alpns := []string{"alknet/a", "alknet/b"}
	cfg, err := tlsconf.ServerConfig(rawKeyIdentity(newKey(t)), alpns)
	if err != nil {
		t.Fatal(err)
	}
	alpns[0] = "changed"
	if cfg.MinVersion != tls.VersionTLS13 || cfg.ClientAuth != tls.RequestClientCert || cfg.NextProtos[0] != "alknet/a" || len(cfg.Certificates) != 1 {
		t.Fatalf("server config: min %x, client auth %v, alpns %v", cfg.MinVersion, cfg.ClientAuth, cfg.NextProtos)
	}
	if _, err := tlsconf.ServerConfig(rawKeyIdentity(newKey(t)), nil); alkerr.CodeOf(err) != alkerr.CodeConfigInvalid {
		t.Fatalf("no ALPN: %v", err)
	}
}

// CORE-T704, CORE-R712, CORE-R715: pins and CA verification over real QUIC.
func TestServerVerification(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	raw := startServer(t, rawKeyIdentity(key))
	ca := newCA(t)
	certFile, keyFile, der := ca.issue(t, "alknet.test")
	x := startServer(t, tlsconf.Identity{Kind: tlsconf.KindX509, CertFile: certFile, KeyFile: keyFile})
	sum := sha256.Sum256(der)
	xFP := "SHA256:" + hex.EncodeToString(sum[:])

	ok := []struct {
		name string
		addr string
		o    tlsconf.ClientOptions
	}{
		{"raw key pinned", raw.addr, tlsconf.ClientOptions{PinnedFingerprints: []string{key.Fingerprint()}}},
		{"raw key in a pin set, non-canonical", raw.addr, tlsconf.ClientOptions{PinnedFingerprints: []string{newKey(t).Fingerprint(), strings.ToUpper(key.Fingerprint())}}},
		{"x509 pinned by DER", x.addr, tlsconf.ClientOptions{PinnedFingerprints: []string{xFP}}},
		{"x509 by CA", x.addr, tlsconf.ClientOptions{ServerName: "alknet.test", RootCAs: ca.pool}},
	}
	for _, tc := range ok {
		if _, err := dial(t, tc.addr, clientConfig(t, tc.o)); err != nil {
			t.Errorf("%s: dial: %v", tc.name, err)
		}
	}

	// Wrong pin: TLS_PEER_MISMATCH naming what the server presented.
	_, err := dial(t, raw.addr, clientConfig(t, tlsconf.ClientOptions{PinnedFingerprints: []string{newKey(t).Fingerprint()}}))
	if !errors.Is(err, tlsconf.ErrPeerMismatch) {
		t.Fatalf("wrong pin: %v, want TLS_PEER_MISMATCH", err)
	}
	ae, found := errors.AsType[*alkerr.Error](err)
	if !found || ae.Message != "server presented "+key.Fingerprint()+", which is not pinned" || !strings.Contains(err.Error(), key.Fingerprint()) {
		t.Fatalf("wrong pin error: %v (%+v)", err, ae)
	}

	fail := []struct {
		name string
		addr string
		o    tlsconf.ClientOptions
	}{
		{"raw key without pin", raw.addr, tlsconf.ClientOptions{ServerName: "localhost"}},
		{"raw key without pin, CA pool", raw.addr, tlsconf.ClientOptions{ServerName: "alknet", RootCAs: ca.pool}},
		{"x509 wrong server name", x.addr, tlsconf.ClientOptions{ServerName: "other.test", RootCAs: ca.pool}},
		{"x509 unknown CA", x.addr, tlsconf.ClientOptions{ServerName: "alknet.test", RootCAs: newCA(t).pool}},
		{"x509 pinned by key-less hex", x.addr, tlsconf.ClientOptions{PinnedFingerprints: []string{"ed25519:" + xFP[7:]}}},
	}
	for _, tc := range fail {
		if _, err := dial(t, tc.addr, clientConfig(t, tc.o)); err == nil {
			t.Errorf("%s: dial succeeded, want a handshake failure", tc.name)
		}
	}
}

// CORE-T708, CORE-R714: invalid options fail before any dial; never skip verification
// without the pin callback.
func TestClientConfigOptions(t *testing.T) {
	t.Parallel()
	bad := []tlsconf.ClientOptions{
		{ALPN: testALPN, PinnedFingerprints: []string{"ed25519:nothex"}},
		{ALPN: testALPN, PinnedFingerprints: []string{""}},
		{ALPN: testALPN},
		{PinnedFingerprints: []string{rfc8032FP}},
		{ALPN: testALPN, ServerName: "x", Local: &tlsconf.Identity{Kind: tlsconf.KindACME}},
	}
	for _, o := range bad {
		if cfg, err := tlsconf.ClientConfig(o); alkerr.CodeOf(err) != alkerr.CodeConfigInvalid || cfg != nil {
			t.Errorf("ClientConfig(%+v) = %v, %v; want CONFIG_INVALID", o, cfg, err)
		}
	}
	local := rawKeyIdentity(newKey(t))
	good := []tlsconf.ClientOptions{
		{ALPN: testALPN, PinnedFingerprints: []string{rfc8032FP}},
		{ALPN: testALPN, ServerName: "example.org"},
		{ALPN: testALPN, ServerName: "example.org", Local: &local},
		{ALPN: testALPN, PinnedFingerprints: []string{rfc8032FP}, Local: &local},
	}
	for _, o := range good {
		cfg, err := tlsconf.ClientConfig(o)
		if err != nil {
			t.Fatalf("ClientConfig(%+v): %v", o, err)
		}
		if cfg.InsecureSkipVerify != (len(o.PinnedFingerprints) > 0) || (cfg.InsecureSkipVerify && cfg.VerifyConnection == nil) {
			t.Errorf("ClientConfig(%+v): InsecureSkipVerify=%v VerifyConnection=%v", o, cfg.InsecureSkipVerify, cfg.VerifyConnection != nil)
		}
		if cfg.MinVersion != tls.VersionTLS13 || len(cfg.NextProtos) != 1 || cfg.NextProtos[0] != testALPN {
			t.Errorf("ClientConfig(%+v): min %x, alpn %v", o, cfg.MinVersion, cfg.NextProtos)
		}
		if (o.Local != nil) != (cfg.GetClientCertificate != nil) {
			t.Errorf("ClientConfig(%+v): client certificate callback %v", o, cfg.GetClientCertificate != nil)
		}
	}
}

// CORE-R713, CORE-R711 and the issue: the server resolves the caller from its key;
// rotation keeps the peer_id; an unknown key resolves to nobody.
func TestClientIdentityResolution(t *testing.T) {
	t.Parallel()
	serverKey := newKey(t)
	srv := startServer(t, rawKeyIdentity(serverKey))
	oldKey, newKeyB, stranger := newKey(t), newKey(t), newKey(t)
	policy := func(fps ...string) *auth.Policy {
		p, err := auth.Compile(auth.AuthPolicy{Peers: []auth.PeerEntry{{PeerID: "worker-a", Fingerprints: fps, Scopes: []string{"fs:read"}}}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	connectAs := func(k *tlsconf.Ed25519Key) string {
		o := tlsconf.ClientOptions{PinnedFingerprints: []string{serverKey.Fingerprint()}}
		if k != nil {
			id := rawKeyIdentity(k)
			o.Local = &id
		}
		if _, err := dial(t, srv.addr, clientConfig(t, o)); err != nil {
			t.Fatalf("dial: %v", err)
		}
		return srv.next(t).clientFP
	}
	before, after := policy(oldKey.Fingerprint()), policy(newKeyB.Fingerprint())
	cases := []struct {
		name   string
		p      *auth.Policy
		key    *tlsconf.Ed25519Key
		wantID string
	}{
		{"old key before rotation", before, oldKey, "worker-a"},
		{"new key before rotation", before, newKeyB, ""},
		{"new key after rotation", after, newKeyB, "worker-a"},
		{"old key after rotation", after, oldKey, ""},
		{"unknown key", after, stranger, ""},
	}
	for _, tc := range cases {
		fp := connectAs(tc.key)
		if fp != tc.key.Fingerprint() {
			t.Fatalf("%s: server saw %q, client key is %s", tc.name, fp, tc.key.Fingerprint())
		}
		id, ok := tc.p.ResolveFingerprint(fp)
		if ok != (tc.wantID != "") || id.ID != tc.wantID {
			t.Errorf("%s: resolved to %q, %v; want %q", tc.name, id.ID, ok, tc.wantID)
		}
	}
	if fp := connectAs(nil); fp != "" {
		t.Fatalf("anonymous client has fingerprint %q", fp)
	}
}

// CORE-T705, CORE-T709: a client certificate without its private key, or garbage, is
// refused during the handshake; no connection is accepted and the server keeps serving.
func TestBadClientCertificates(t *testing.T) {
	t.Parallel()
	serverKey := newKey(t)
	srv := startServer(t, rawKeyIdentity(serverKey))
	victim, attacker := newKey(t), newKey(t)
	victimCert, err := tlsconf.WrapperCertificate(victim)
	if err != nil {
		t.Fatal(err)
	}
	attackerCert, _ := tlsconf.WrapperCertificate(attacker)
	bad := map[string]*tls.Certificate{
		"certificate without its key": {Certificate: victimCert.Certificate, PrivateKey: attackerCert.PrivateKey},
		"garbage certificate":         {Certificate: [][]byte{[]byte("definitely not DER")}, PrivateKey: attackerCert.PrivateKey},
	}
	good := rawKeyIdentity(newKey(t))
	for name, cert := range bad {
		cfg := clientConfig(t, tlsconf.ClientOptions{PinnedFingerprints: []string{serverKey.Fingerprint()}})
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
		c, err := dial(t, srv.addr, cfg)
		if err == nil { // TLS 1.3: the client may finish before the server checks its certificate
			err = waitClosed(t, c)
		}
		if !isCryptoError(err) {
			t.Errorf("%s: connection ended with %v, want a CRYPTO_ERROR", name, err)
		}
		// The server accepts the next, well-behaved client; the bad one never reached Accept.
		if _, err := dial(t, srv.addr, clientConfig(t, tlsconf.ClientOptions{PinnedFingerprints: []string{serverKey.Fingerprint()}, Local: &good})); err != nil {
			t.Fatalf("%s: good client after a bad one: %v", name, err)
		}
		if got := srv.next(t).clientFP; got != good.Key.Fingerprint() {
			t.Fatalf("%s: first accepted connection has fingerprint %q, want the good client's", name, got)
		}
	}
}

// CORE-T706, CORE-R702: X.509 files.
func TestX509Files(t *testing.T) {
	t.Parallel()
	ca := newCA(t)
	certFile, keyFile, _ := ca.issue(t, "alknet.test")
	otherCert, otherKey, _ := ca.issue(t, "other.test")
	keyPEM, _ := os.ReadFile(keyFile)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("-----BEGIN NONSENSE-----\nnope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	cases := []struct {
		name       string
		cert, key  string
		code       alkerr.Code
		mustNotice string
	}{
		{"missing certificate", missing, keyFile, alkerr.CodeKeyFileNotFound, missing},
		{"missing key", certFile, missing, alkerr.CodeKeyFileNotFound, missing},
		{"garbage certificate", garbage, keyFile, alkerr.CodeTLSConfig, garbage},
		{"garbage key", certFile, garbage, alkerr.CodeTLSConfig, garbage},
		{"mismatched key", certFile, otherKey, alkerr.CodeTLSConfig, otherKey},
		{"key as certificate", keyFile, keyFile, alkerr.CodeTLSConfig, keyFile},
	}
	keyB64 := strings.Split(string(keyPEM), "\n")[1]
	for _, tc := range cases {
		_, err := tlsconf.ServerConfig(tlsconf.Identity{Kind: tlsconf.KindX509, CertFile: tc.cert, KeyFile: tc.key}, []string{testALPN})
		if alkerr.CodeOf(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
			continue
		}
		if !strings.Contains(err.Error(), tc.mustNotice) {
			t.Errorf("%s: error %q does not name %s", tc.name, err, tc.mustNotice)
		}
		if strings.Contains(err.Error(), keyB64[:16]) || strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Errorf("%s: error contains key material: %q", tc.name, err)
		}
	}
	if errors.Is(fmt.Errorf("x: %w", alkerr.New(alkerr.CodeKeyFileNotFound, "")), tlsconf.ErrKeyFileNotFound) != true {
		t.Error("KEY_FILE_NOT_FOUND does not match its sentinel")
	}
	if _, err := tlsconf.ServerConfig(tlsconf.Identity{Kind: tlsconf.KindX509, CertFile: otherCert, KeyFile: otherKey}, []string{testALPN}); err != nil {
		t.Errorf("valid files: %v", err)
	}
}

// keyHolder keeps keys in exported and unexported fields (CORE-R1404).
type keyHolder struct {
	ID  tlsconf.Identity
	Key *tlsconf.Ed25519Key
	key *tlsconf.Ed25519Key
	val tlsconf.Ed25519Key
	id  tlsconf.Identity
}

// CORE-T707: the key never prints, marshals or logs its bytes.
func TestKeyRedacts(t *testing.T) {
	t.Parallel()
	seed, _ := hex.DecodeString(rfc8032Seed)
	k := rfcKey(t)
	priv := ed25519.NewKeyFromSeed(seed)
	h := keyHolder{ID: rawKeyIdentity(k), Key: k, key: k, val: *k, id: rawKeyIdentity(k)}
	var out bytes.Buffer
	for _, v := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		fmt.Fprintf(&out, v+"|"+v+"|"+v+"|"+v+"\n", k, *k, h, &h)
	}
	if b, err := json.Marshal(k); err == nil {
		t.Fatalf("json.Marshal(key) = %s", b)
	}
	if b, err := json.Marshal(h); err == nil {
		t.Fatalf("json.Marshal(holder) = %s", b)
	}
	for _, hd := range []slog.Handler{slog.NewJSONHandler(&out, nil), slog.NewTextHandler(&out, nil)} {
		slog.New(hd).Info("key", "key", k, slog.Any("holder", h), slog.Any("id", rawKeyIdentity(k)))
	}
	s := out.String()
	for _, secret := range []string{
		rfc8032Seed, strings.ToUpper(rfc8032Seed), hex.EncodeToString(priv),
		base64.StdEncoding.EncodeToString(seed)[:20], base64.StdEncoding.EncodeToString(priv)[:20],
		base64.RawURLEncoding.EncodeToString(seed)[:20], fmt.Sprint([]byte(seed[:8]))[1:20],
	} {
		if strings.Contains(s, secret) {
			t.Fatalf("output contains key material %q:\n%s", secret, s)
		}
	}
	if !strings.Contains(s, "[REDACTED]") {
		t.Fatalf("no redaction marker in output:\n%s", s)
	}
}

// CORE-T710, CORE-R706: the seed is copied; a wrong length names the length only.
func TestSeedCopied(t *testing.T) {
	t.Parallel()
	seed, _ := hex.DecodeString(rfc8032Seed)
	k, err := tlsconf.NewEd25519KeyFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	clear(seed)
	if k.Fingerprint() != rfc8032FP {
		t.Fatalf("fingerprint changed after wiping the seed: %s", k.Fingerprint())
	}
	srv := startServer(t, rawKeyIdentity(k))
	if _, err := dial(t, srv.addr, clientConfig(t, tlsconf.ClientOptions{PinnedFingerprints: []string{rfc8032FP}})); err != nil {
		t.Fatalf("handshake after wiping the seed: %v", err)
	}
	srv.next(t)

	short := bytes.Repeat([]byte{0xab}, 31)
	_, err = tlsconf.NewEd25519KeyFromSeed(short)
	if alkerr.CodeOf(err) != alkerr.CodeTLSConfig || !strings.Contains(err.Error(), "31") || strings.Contains(err.Error(), "abab") {
		t.Fatalf("31-byte seed: %v", err)
	}
	pub := k.Public()
	pub[0] ^= 0xff
	if k.Fingerprint() != rfc8032FP {
		t.Fatal("Public returned the key's own storage")
	}
}

// CORE-R706: Destroy wipes the key; later certificates fail.
func TestDestroy(t *testing.T) {
	t.Parallel()
	k := newKey(t)
	fp := k.Fingerprint()
	k.Destroy()
	if _, err := tlsconf.WrapperCertificate(k); alkerr.CodeOf(err) != alkerr.CodeTLSConfig {
		t.Fatalf("certificate from a destroyed key: %v", err)
	}
	if k.Fingerprint() != fp {
		t.Fatal("Destroy changed the public fingerprint")
	}
	var zero tlsconf.Ed25519Key
	zero.Destroy()
	if zero.Fingerprint() != "" || zero.Public() != nil {
		t.Fatal("zero key has a fingerprint")
	}
}
