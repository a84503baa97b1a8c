package baseline

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Certificate is a self-signed certificate for 127.0.0.1 together with a pool that trusts it.
type Certificate struct {
	TLS  tls.Certificate
	Pool *x509.CertPool
}

// NewCertificate generates a fresh ECDSA P-256 certificate valid for the IP address 127.0.0.1.
func NewCertificate() (*Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "bench"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &Certificate{
		TLS:  tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		Pool: pool,
	}, nil
}

// ServerConfig returns a TLS 1.3 server configuration offering the given ALPNs.
func (c *Certificate) ServerConfig(alpn ...string) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{c.TLS},
		NextProtos:   alpn,
		MinVersion:   tls.VersionTLS13,
	}
}

// ClientConfig returns a TLS 1.3 client configuration that trusts only this certificate.
func (c *Certificate) ClientConfig(alpn ...string) *tls.Config {
	return &tls.Config{
		RootCAs:    c.Pool,
		ServerName: "127.0.0.1",
		NextProtos: alpn,
		MinVersion: tls.VersionTLS13,
	}
}
