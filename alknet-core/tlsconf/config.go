package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"slices"
	"strconv"
	"strings"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/fingerprint"
)

// ServerConfig returns the server TLS configuration for id offering alpns (CORE-R710,
// CORE-R711): TLS 1.3 minimum, the identity's certificate, and a client certificate
// requested but neither required nor chain-verified. crypto/tls still parses a presented
// certificate and checks the client's proof of possession of its key; the identity
// provider, not a CA, decides what the fingerprint is worth.
func ServerConfig(id Identity, alpns []string) (*tls.Config, error) {
	if len(alpns) == 0 {
		return nil, alkerr.New(alkerr.CodeConfigInvalid, "server TLS config needs at least one ALPN")
	}
	cert, err := id.Certificate()
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		NextProtos:   slices.Clone(alpns),
		ClientAuth:   tls.RequestClientCert,
	}, nil
}

// ClientOptions configures ClientConfig.
type ClientOptions struct {
	ALPN               string         // exactly one; required
	ServerName         string         // SNI; required when no pins are given
	Local              *Identity      // optional: presented as client certificate (RawKey or X509)
	PinnedFingerprints []string       // known peer: accept only these (any of them)
	RootCAs            *x509.CertPool // CA path; nil = system roots
}

// ClientConfig returns the client TLS configuration for o (CORE-R712..R715).
//
// With pins, the server's leaf fingerprint must be one of them: the configuration sets
// InsecureSkipVerify together with a VerifyConnection callback that fails with a
// TLS_PEER_MISMATCH error naming the fingerprint the server presented. Without pins, the
// server is verified by CA chain (RootCAs, or the system roots) and ServerName, so a
// self-signed server fails. Invalid options, including an unparsable pin, are
// CONFIG_INVALID before any dial.
func ClientConfig(o ClientOptions) (*tls.Config, error) {
	var problems []string
	if o.ALPN == "" {
		problems = append(problems, "alpn: required")
	}
	pins := make(map[string]struct{}, len(o.PinnedFingerprints))
	for i, p := range o.PinnedFingerprints {
		fp, err := fingerprint.Parse(p)
		if err != nil {
			msg := err.Error()
			if e, ok := err.(*alkerr.Error); ok {
				msg = e.Message
			}
			problems = append(problems, "pinned_fingerprints["+strconv.Itoa(i)+"]: "+msg)
			continue
		}
		pins[fp] = struct{}{}
	}
	if len(o.PinnedFingerprints) == 0 && o.ServerName == "" {
		problems = append(problems, "server_name: required when no fingerprints are pinned")
	}
	var local *tls.Certificate
	if o.Local != nil {
		switch o.Local.Kind {
		case KindRawKey, KindX509:
			cert, err := o.Local.Certificate()
			if err != nil {
				return nil, err
			}
			local = &cert
		default:
			problems = append(problems, "local: a client identity must be raw_key or x509, not "+o.Local.Kind.String())
		}
	}
	if len(problems) > 0 {
		return nil, alkerr.New(alkerr.CodeConfigInvalid, "client TLS options: "+strings.Join(problems, "; "))
	}

	cfg := &tls.Config{
		MinVersion: tls.VersionTLS13,
		NextProtos: []string{o.ALPN},
		ServerName: o.ServerName,
		RootCAs:    o.RootCAs,
	}
	if local != nil {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return local, nil
		}
	}
	if len(pins) > 0 {
		cfg.InsecureSkipVerify = true // replaced by the pin check below, never without it
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyPinned(cs, pins)
		}
	}
	return cfg, nil
}

// verifyPinned accepts the connection only when the leaf's fingerprint is pinned.
func verifyPinned(cs tls.ConnectionState, pins map[string]struct{}) error {
	if len(cs.PeerCertificates) == 0 {
		return alkerr.New(alkerr.CodeTLSPeerMismatch, "server presented no certificate")
	}
	fp := fingerprint.FromCertificate(cs.PeerCertificates[0])
	if _, ok := pins[fp]; ok {
		return nil
	}
	return alkerr.New(alkerr.CodeTLSPeerMismatch, "server presented "+fp+", which is not pinned")
}
