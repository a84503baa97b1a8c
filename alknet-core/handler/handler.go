package handler

import (
	"context"
	"fmt"
	"strings"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/conn"
)

// Well-known ALPN strings (CORE-R504). The names alknet/ssh, alknet/git, alknet/sftp,
// alknet/msg, alknet/http, alknet/dns and alknet/tty are reserved for the upstream protocols
// of those names.
const (
	ALPNCall   = "alknet/call"
	ALPNHTTP3  = "h3"
	ALPNHTTP2  = "h2"
	ALPNHTTP11 = "http/1.1"
	// ALPNACME is the TLS-ALPN-01 challenge protocol; it can never be registered (CORE-R503).
	ALPNACME = "acme-tls/1"
)

// ProtocolHandler serves every connection whose negotiated ALPN equals ALPN().
//
// Handle's return value decides the close code the endpoint uses (CORE-R204): nil or an
// error matching conn.ErrConnectionClosed is a clean end; auth.ErrAuthRequired means the peer
// could not be authenticated; conn.ErrStreamClosed, conn.ErrTimeout or an io/net error is a
// transport problem; anything else is an internal error. Error text never reaches the wire,
// and must not contain secrets because it is logged (CORE-R206). Implementations must be safe
// for concurrent use: Handle runs once per connection, in parallel.
type ProtocolHandler interface {
	// ALPN returns the constant protocol identifier, e.g. "alknet/call". It is read once, at
	// registration (CORE-R201).
	ALPN() string
	// Handle serves one connection until the protocol is finished, the peer goes away, or
	// ctx is cancelled. ctx is cancelled when the endpoint starts shutting down; the
	// connection's own lifetime is observable via c.Done(). Handle returns only after every
	// goroutine it started for this connection has stopped touching it (CORE-R203); the
	// endpoint closes the connection afterwards. a is the endpoint's view of the caller and
	// its Identity may be nil (CORE-R910).
	Handle(ctx context.Context, c *conn.Connection, a auth.AuthContext) error
}

// ValidateALPN applies CORE-R502/R503: 1–255 bytes of printable ASCII without space
// (0x21–0x7E); never acme-tls/1; and in the alknet namespace (any ALPN starting with
// "alknet/", the prefix compared without regard to case) a lowercase name of segments
// matching [a-z0-9][a-z0-9._-]* separated by '/'. It returns an error matching
// [ErrALPNInvalid] whose message names the problem.
func ValidateALPN(alpn string) error {
	invalid := func(problem string) error {
		return alkerr.New(alkerr.CodeALPNInvalid, fmt.Sprintf("invalid ALPN %q: %s", alpn, problem))
	}
	switch {
	case alpn == "":
		return invalid("empty")
	case len(alpn) > 255:
		return invalid(fmt.Sprintf("%d bytes, at most 255 allowed", len(alpn)))
	}
	for i := 0; i < len(alpn); i++ {
		if b := alpn[i]; b < 0x21 || b > 0x7e {
			return invalid(fmt.Sprintf("byte %d (0x%02x) is not printable ASCII without space", i, b))
		}
	}
	if alpn == ALPNACME {
		return invalid("reserved for ACME challenges")
	}
	const ns = "alknet/"
	if len(alpn) >= len(ns) && strings.EqualFold(alpn[:len(ns)], ns) {
		if alpn[:len(ns)] != ns {
			return invalid("the alknet/ prefix must be lowercase")
		}
		name := alpn[len(ns):]
		if name == "" {
			return invalid("missing name after alknet/")
		}
		for seg := range strings.SplitSeq(name, "/") {
			if !validSegment(seg) {
				return invalid(fmt.Sprintf("segment %q must match [a-z0-9][a-z0-9._-]*", seg))
			}
		}
	} else if strings.EqualFold(alpn, "alknet") {
		return invalid("missing name after alknet/")
	}
	return nil
}

func validSegment(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		alnum := (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9')
		if i == 0 && !alnum {
			return false
		}
		if !alnum && b != '.' && b != '_' && b != '-' {
			return false
		}
	}
	return true
}
