package tlsconf

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io/fs"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/alknet/alknet/alknet-core/alkerr"
)

// Kind selects how a node proves its identity in TLS.
type Kind int

const (
	// KindRawKey is an Ed25519 key in a self-signed wrapper certificate (default).
	KindRawKey Kind = iota + 1
	// KindX509 is a PEM certificate chain and private key read from files.
	KindX509
	// KindSelfSigned is a throw-away development certificate, new at every start.
	KindSelfSigned
	// KindACME is reserved; building a configuration for it returns ErrUnsupportedIdentity.
	KindACME
)

// String returns the kind's configuration name.
func (k Kind) String() string {
	switch k {
	case KindRawKey:
		return "raw_key"
	case KindX509:
		return "x509"
	case KindSelfSigned:
		return "self_signed"
	case KindACME:
		return "acme"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Identity is a node's TLS identity. Only the fields of its Kind are used.
type Identity struct {
	Kind     Kind
	Key      *Ed25519Key // KindRawKey
	CertFile string      // KindX509: PEM certificate chain, leaf first
	KeyFile  string      // KindX509: PEM private key (PKCS#8, PKCS#1 or SEC 1)
	ACME     *ACMEConfig // KindACME (reserved)
}

// ACMEConfig is the reserved configuration shape of ACME certificates (CORE-R704). It is
// accepted in configuration so files stay forward compatible; v1 cannot serve it.
type ACMEConfig struct {
	Domains   []string
	CacheDir  string
	Directory string   // ACMEProduction, ACMEStaging, or a custom URL
	Contact   []string // e.g. "mailto:admin@example.com"
}

// ACME directory URLs.
const (
	ACMEProduction = "https://acme-v02.api.letsencrypt.org/directory"
	ACMEStaging    = "https://acme-staging-v02.api.letsencrypt.org/directory"
)

// Certificate returns the certificate id presents, with Leaf set. A RawKey identity's
// wrapper certificate is made the first time its key is asked for one and then reused for the
// life of the process (CORE-R701: nothing about it is persisted, so every start has a new
// one), which keeps certificate signing out of every dial; a destroyed key is TLS_CONFIG.
// SelfSigned identities get a freshly generated certificate on every call (CORE-R703); X509
// identities are read from their files (CORE-R702). KindACME returns ErrUnsupportedIdentity;
// an unknown kind or a missing required field is TLS_CONFIG.
func (id Identity) Certificate() (tls.Certificate, error) {
	switch id.Kind {
	case KindRawKey:
		if id.Key == nil {
			return tls.Certificate{}, alkerr.New(alkerr.CodeTLSConfig, "raw key identity has no key")
		}
		return id.Key.wrapperCertificate()
	case KindX509:
		return loadX509(id.CertFile, id.KeyFile)
	case KindSelfSigned:
		return selfSignedCertificate()
	case KindACME:
		return tls.Certificate{}, alkerr.Wrap(alkerr.CodeUnsupported,
			"ACME identities are not supported in this version; use x509 with externally managed certificates",
			ErrUnsupportedIdentity)
	}
	return tls.Certificate{}, alkerr.New(alkerr.CodeTLSConfig, "unknown identity kind "+id.Kind.String())
}

// WrapperCertificate returns a new self-signed X.509 certificate carrying k (CORE-R701):
// random serial, subject CN "alknet", no names, valid from one hour ago for ten years,
// digital-signature key usage, server- and client-auth extended key usage. Two calls give
// different certificates with the same fingerprint.
func WrapperCertificate(k *Ed25519Key) (tls.Certificate, error) {
	priv, err := k.privateKey()
	if err != nil {
		return tls.Certificate{}, err
	}
	return newWrapper(priv)
}

// wrapperCertificate returns the key's cached wrapper certificate, making it on first use.
// crypto/tls only reads a tls.Certificate, so one value serves every configuration.
func (k *Ed25519Key) wrapperCertificate() (tls.Certificate, error) {
	st := k.state()
	if st == nil {
		return tls.Certificate{}, alkerr.New(alkerr.CodeTLSConfig, "ed25519 key is not set")
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.destroyed {
		return tls.Certificate{}, alkerr.New(alkerr.CodeTLSConfig, "ed25519 key has been destroyed")
	}
	if st.wrapper == nil {
		cert, err := newWrapper(st.priv)
		if err != nil {
			return tls.Certificate{}, err
		}
		st.wrapper = &cert
	}
	return *st.wrapper, nil
}

// newWrapper signs a new wrapper certificate with priv (CORE-R701).
func newWrapper(priv ed25519.PrivateKey) (tls.Certificate, error) {
	now := time.Now()
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "alknet"},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.AddDate(10, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return tls.Certificate{}, alkerr.Wrap(alkerr.CodeTLSConfig, "create wrapper certificate", err)
	}
	return certificateFromDER(der, priv)
}

func selfSignedCertificate() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, alkerr.Wrap(alkerr.CodeTLSConfig, "generate development key", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.AddDate(1, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, alkerr.Wrap(alkerr.CodeTLSConfig, "create development certificate", err)
	}
	return certificateFromDER(der, key)
}

func certificateFromDER(der []byte, priv any) (tls.Certificate, error) {
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, alkerr.Wrap(alkerr.CodeTLSConfig, "parse generated certificate", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv, Leaf: leaf}, nil
}

// loadX509 reads a PEM chain and key. Errors name the path, never key bytes.
func loadX509(certFile, keyFile string) (tls.Certificate, error) {
	if certFile == "" || keyFile == "" {
		return tls.Certificate{}, alkerr.New(alkerr.CodeTLSConfig, "x509 identity needs both a certificate file and a key file")
	}
	certPEM, err := readFile(certFile, "certificate")
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := readFile(keyFile, "key")
	if err != nil {
		return tls.Certificate{}, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	clear(keyPEM)
	if err != nil {
		// crypto/tls's messages describe the problem and never quote key material.
		return tls.Certificate{}, alkerr.Wrap(alkerr.CodeTLSConfig,
			"load certificate "+certFile+" with key "+keyFile, err)
	}
	return cert, nil
}

func readFile(path, what string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, alkerr.New(alkerr.CodeKeyFileNotFound, what+" file "+path+" does not exist")
	}
	if err != nil {
		return nil, alkerr.Wrap(alkerr.CodeTLSConfig, "read "+what+" file "+path, err)
	}
	return b, nil
}
