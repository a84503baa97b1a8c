package main_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeCert writes a self-signed ECDSA certificate and its key (mode keyMode).
func writeCert(t *testing.T, dir string, keyMode os.FileMode) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "alknet-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(keyFile, keyMode); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// CLI-R38 step 9, CLI-R30: tls.mode = "x509" serves the PEM identity without unlocking the
// vault, and a loose key file is refused with exit 6.
func TestServeX509(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	n.initNode() // a protected keystore exists, yet no passphrase is needed in x509 mode
	dir := t.TempDir()
	cert, key := writeCert(t, dir, 0o600)
	cfg := filepath.Join(n.home, ".config", "alknet", "config.toml")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
		t.Fatal(err)
	}
	body := "[tls]\nmode = \"x509\"\ncert_file = \"" + cert + "\"\nkey_file = \"" + key + "\"\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	p := n.serve()
	if !strings.HasPrefix(p.ready.Fingerprint, "SHA256:") {
		t.Fatalf("x509 node fingerprint = %q", p.ready.Fingerprint)
	}
	if r := n.run("", "call", "/node/ping"); r.code != 0 {
		t.Fatalf("call an x509 node through the lock file: %+v", r)
	}
	p.stop(syscall.SIGINT)
	if err := os.Chmod(key, 0o640); err != nil {
		t.Fatal(err)
	}
	expectError(t, n.run("", "serve", "--listen", "127.0.0.1:0", "--json"), 6, "INSECURE_PERMISSIONS")
}
