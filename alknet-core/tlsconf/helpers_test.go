package tlsconf_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"go.uber.org/goleak"

	"github.com/alknet/alknet/alknet-core/fingerprint"
	"github.com/alknet/alknet/alknet-core/tlsconf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testALPN = "alknet/test"

// accepted is one connection a test server completed the handshake for.
type accepted struct {
	clientFP string // "" when no client certificate was presented
}

// server is a quic-go listener on 127.0.0.1:0 using tlsconf.ServerConfig.
type server struct {
	addr  string
	conns chan accepted // sent to by the accept loop; never closed
}

// startServer listens with id and reports every accepted connection. Everything is
// closed, and the accept loop has returned, when the test ends.
func startServer(t *testing.T, id tlsconf.Identity) *server {
	t.Helper()
	cfg, err := tlsconf.ServerConfig(id, []string{testALPN})
	if err != nil {
		t.Fatalf("ServerConfig: %v", err)
	}
	tr := newTransport(t)
	ln, err := tr.Listen(cfg, &quic.Config{HandshakeIdleTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := &server{addr: ln.Addr().String(), conns: make(chan accepted, 16)}
	ctx := t.Context() // cancelled before the cleanup below runs
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept(ctx)
			if err != nil {
				return
			}
			var fp string
			if pc := c.ConnectionState().TLS.PeerCertificates; len(pc) > 0 {
				fp = fingerprint.FromCertificate(pc[0])
			}
			s.conns <- accepted{clientFP: fp}
			_ = c.CloseWithError(0, "done")
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	return s
}

// newTransport returns a quic-go transport on 127.0.0.1:0. Closing it at the end of the
// test closes its connections at once, so no goroutine outlives the test.
func newTransport(t *testing.T) *quic.Transport {
	t.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("listen udp: %v", err)
	}
	tr := &quic.Transport{Conn: udp}
	t.Cleanup(func() {
		_ = tr.Close()
		_ = udp.Close()
	})
	return tr
}

// next returns the next accepted connection, failing after a generous "does not hang" bound.
func (s *server) next(t *testing.T) accepted {
	t.Helper()
	select {
	case a := <-s.conns:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no connection accepted")
		return accepted{}
	}
}

// dial connects with cfg and closes the connection when the test ends.
func dial(t *testing.T, addr string, cfg *tls.Config) (*quic.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return newTransport(t).Dial(ctx, ua, cfg, &quic.Config{HandshakeIdleTimeout: 5 * time.Second})
}

// clientConfig is tlsconf.ClientConfig that fails the test on error.
func clientConfig(t *testing.T, o tlsconf.ClientOptions) *tls.Config {
	t.Helper()
	if o.ALPN == "" {
		o.ALPN = testALPN
	}
	cfg, err := tlsconf.ClientConfig(o)
	if err != nil {
		t.Fatalf("ClientConfig: %v", err)
	}
	return cfg
}

func newKey(t *testing.T) *tlsconf.Ed25519Key {
	t.Helper()
	k, err := tlsconf.GenerateEd25519Key()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func rawKeyIdentity(k *tlsconf.Ed25519Key) tlsconf.Identity {
	return tlsconf.Identity{Kind: tlsconf.KindRawKey, Key: k}
}

// testCA is a certificate authority for the CA verification path.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "alknet test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue writes a CA-issued ECDSA leaf for dnsName and 127.0.0.1 to PEM files and returns
// their paths and the leaf DER.
func (ca *testCA) issue(t *testing.T, dnsName string) (certFile, keyFile string, der []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: dnsName},
		DNSNames:     []string{dnsName},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err = x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", keyDER)
	return certFile, keyFile, der
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitClosed waits until c is closed and returns the cause.
func waitClosed(t *testing.T, c *quic.Conn) error {
	t.Helper()
	select {
	case <-c.Context().Done():
		return context.Cause(c.Context())
	case <-time.After(10 * time.Second):
		t.Fatal("connection not closed")
		return nil
	}
}

// isCryptoError reports whether err is a QUIC transport error in the CRYPTO_ERROR range.
func isCryptoError(err error) bool {
	te, ok := errors.AsType[*quic.TransportError](err)
	return ok && te.ErrorCode.IsCryptoError()
}
