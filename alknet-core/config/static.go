package config

import (
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/alknet/alknet/alknet-core/tlsconf"
)

// Defaults applied by [StaticConfig.WithDefaults] (CORE-R403, CORE-R404, CORE-R407, CORE-R450).
const (
	DefaultDrainTimeout          = 2 * time.Second
	DefaultHandshakeIdleTimeout  = 5 * time.Second
	DefaultMaxIdleTimeout        = 30 * time.Second
	DefaultKeepAlivePeriod       = 15 * time.Second
	DefaultMaxIncomingStreams    = 4096
	DefaultMaxIncomingUniStreams = 16
	DefaultUDPBuffer             = 7 << 20
	// MaxStreamLimit is the largest stream limit QUIC can announce (2^60).
	MaxStreamLimit = 1 << 60
)

// StaticConfig is fixed for an endpoint's lifetime; changing it means restarting
// (CORE-R1101). The assembly layer builds it; it carries the node's private key, so core
// defines no file format for it. Zero fields mean the documented defaults.
type StaticConfig struct {
	// ListenAddr is the "host:port" of the QUIC listener, e.g. "0.0.0.0:4433" or
	// "127.0.0.1:0". Required.
	ListenAddr string `validate:"required,hostport"`
	// TLS is the node's server identity. Required.
	TLS tlsconf.Identity `validate:"-"`
	// DrainTimeout bounds the graceful-shutdown wait for handlers (CORE-R450). If zero, 2 s.
	DrainTimeout time.Duration `validate:"gte=0"`
	// QUIC tunes the transport; zero values mean the defaults of CORE-R403.
	QUIC QUICSettings
}

// QUICSettings tunes quic-go for the listener and for dialing (CORE-R403..R407). Zero values
// mean the defaults.
type QUICSettings struct {
	// HandshakeIdleTimeout: if zero, 5 s.
	HandshakeIdleTimeout time.Duration `validate:"gte=0"`
	// MaxIdleTimeout closes a silent connection; if zero, 30 s.
	MaxIdleTimeout time.Duration `validate:"gte=0"`
	// KeepAlivePeriod: if zero, 15 s; negative disables keep-alives.
	KeepAlivePeriod time.Duration
	// MaxIncomingStreams is the number of concurrent bidirectional streams a peer may open on
	// one connection: 1..2^60, or 0 for the default 4096. Negative values are rejected because
	// quic-go would read them as "no bidirectional streams".
	MaxIncomingStreams int64 `validate:"gte=0,lte=1152921504606846976"`
	// MaxIncomingUniStreams is the number of concurrent unidirectional streams a peer may
	// open, used only when an h3 handler is registered (CORE-R404): 3..2^60, or 0 for the
	// default 16.
	MaxIncomingUniStreams int64 `validate:"eq=0|gte=3,lte=1152921504606846976"`
	// UDPReceiveBuffer is the SO_RCVBUF size requested: if zero, 7 MiB; negative keeps the OS
	// default (CORE-R407).
	UDPReceiveBuffer int
	// UDPSendBuffer is the SO_SNDBUF size requested: if zero, 7 MiB; negative keeps the OS
	// default (CORE-R407).
	UDPSendBuffer int
}

// WithDefaults returns a copy in which every zero field holds its documented default
// (CORE-R1103). The receiver is not changed.
func (c StaticConfig) WithDefaults() StaticConfig {
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	c.QUIC = c.QUIC.WithDefaults()
	return c
}

// WithDefaults returns a copy in which every zero field holds its documented default.
func (q QUICSettings) WithDefaults() QUICSettings {
	if q.HandshakeIdleTimeout == 0 {
		q.HandshakeIdleTimeout = DefaultHandshakeIdleTimeout
	}
	if q.MaxIdleTimeout == 0 {
		q.MaxIdleTimeout = DefaultMaxIdleTimeout
	}
	if q.KeepAlivePeriod == 0 {
		q.KeepAlivePeriod = DefaultKeepAlivePeriod
	}
	if q.MaxIncomingStreams == 0 {
		q.MaxIncomingStreams = DefaultMaxIncomingStreams
	}
	if q.MaxIncomingUniStreams == 0 {
		q.MaxIncomingUniStreams = DefaultMaxIncomingUniStreams
	}
	if q.UDPReceiveBuffer == 0 {
		q.UDPReceiveBuffer = DefaultUDPBuffer
	}
	if q.UDPSendBuffer == 0 {
		q.UDPSendBuffer = DefaultUDPBuffer
	}
	return q
}

// Validate checks the configuration (CORE-R1102) and returns nil or one error matching
// [ErrInvalid] that lists every problem, each named by its Go field path
// (QUIC.MaxIncomingStreams: must be at least 0).
func (c StaticConfig) Validate() error {
	var tagged problems
	tagged.addValidator(goNames(), c)
	// Field order: ListenAddr, TLS, then the rest.
	var p problems
	for _, prob := range tagged {
		if strings.HasPrefix(prob, "ListenAddr:") {
			p = append(p, prob)
		}
	}
	p.addIdentity("TLS", c.TLS)
	for _, prob := range tagged {
		if !strings.HasPrefix(prob, "ListenAddr:") {
			p = append(p, prob)
		}
	}
	return p.err("static configuration")
}

// Validate checks the settings alone, with paths rooted at the struct (MaxIncomingStreams).
func (q QUICSettings) Validate() error {
	var p problems
	p.addValidator(goNames(), q)
	return p.err("QUIC settings")
}

func (p *problems) addIdentity(path string, id tlsconf.Identity) {
	switch id.Kind {
	case tlsconf.KindRawKey:
		if id.Key == nil {
			p.add(path+".Key", "required for a RawKey identity")
		}
	case tlsconf.KindX509:
		if id.CertFile == "" {
			p.add(path+".CertFile", "required for an X509 identity")
		}
		if id.KeyFile == "" {
			p.add(path+".KeyFile", "required for an X509 identity")
		}
	case tlsconf.KindSelfSigned:
	case tlsconf.KindACME:
		if id.ACME == nil {
			p.add(path+".ACME", "required for an ACME identity")
		}
	case 0:
		p.add(path+".Kind", "required")
	default:
		p.add(path+".Kind", "unknown identity kind "+strconv.Itoa(int(id.Kind)))
	}
}

// validHostPort reports whether s is host:port with a numeric port in 0..65535.
func validHostPort(s string) bool {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	n, err := strconv.ParseUint(port, 10, 16)
	return err == nil && n <= 65535
}
