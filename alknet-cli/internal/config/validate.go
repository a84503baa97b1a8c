package config

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/auth"
)

// Builtins are the operation names a node registers itself (call module built-ins and the
// CLI's /node/* operations, CLI-R43, CLI-R44); a [[route]] may not take one (CLI-R75).
var Builtins = []string{
	"services/list", "services/schema", "services/list-peers",
	"node/ping", "node/info", "node/peers", "node/whoami", "node/heartbeat", "node/wait",
}

type validator struct {
	idx   *docIndex
	errs  []Problem
	warns []Problem
}

func (v *validator) add(path, format string, args ...any) {
	line, col := v.idx.pos(path)
	v.errs = append(v.errs, Problem{Path: path, Line: line, Column: col, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) warn(path, format string, args ...any) {
	line, col := v.idx.pos(path)
	v.warns = append(v.warns, Problem{Path: path, Line: line, Column: col, Message: fmt.Sprintf(format, args...)})
}

func oneOf(s string, allowed ...string) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	return false
}

func (v *validator) config(c *Config) {
	if c.Version < 1 || c.Version > SupportedVersion {
		v.add("version", "version %d is not supported by this binary (it reads version %d)", c.Version, SupportedVersion)
	}
	if err := checkHostPort(c.Listen.Addr); err != nil {
		v.add("listen.addr", "%v", err)
	}
	v.tls(c.TLS)
	if c.Auth.Provider != "store" {
		if c.Auth.Provider == "config" {
			v.add("auth.provider", "auth.provider = \"config\" is deferred to a later version; v1 keeps peers and API keys in the store (\"store\")")
		} else {
			v.add("auth.provider", "unknown provider %q; v1 accepts only \"store\"", c.Auth.Provider)
		}
	}
	if c.Store.BusyTimeout < 0 {
		v.add("store.busy_timeout", "must not be negative")
	}
	if c.Store.PollInterval.D() < 1e6 {
		v.add("store.poll_interval", "must be at least 1ms")
	}
	if c.Call.DefaultTimeout < 0 {
		v.add("call.default_timeout", "must not be negative")
	}
	if !oneOf(c.Call.AnyPolicy, "first", "round-robin", "least-outstanding") {
		v.add("call.any_policy", "unknown policy %q; use first, round-robin or least-outstanding", c.Call.AnyPolicy)
	}
	if c.HTTP.Enabled {
		v.add("http.enabled", "this binary has no HTTP gateway (alknet-http); set http.enabled = false")
	}
	v.limits(c.Limits)
	if c.Metrics.Addr != "" {
		if err := CheckMetricsAddr(c.Metrics.Addr); err != nil {
			v.add("metrics.addr", "%v", err)
		}
	}
	if !oneOf(c.Log.Level, "trace", "debug", "info", "warn", "error") {
		v.add("log.level", "unknown level %q; use trace, debug, info, warn or error", c.Log.Level)
	}
	if !oneOf(c.Log.Format, "auto", "console", "json") {
		v.add("log.format", "unknown format %q; use auto, console or json", c.Log.Format)
	}
	for i, e := range c.Connect {
		v.connect(fmt.Sprintf("connect[%d]", i), e)
	}
	v.routes(c.Route)
}

func (v *validator) tls(t TLS) {
	switch t.Mode {
	case "vault", "ephemeral":
	case "x509":
		for _, f := range []struct{ key, path string }{{"tls.cert_file", t.CertFile}, {"tls.key_file", t.KeyFile}} {
			if f.path == "" {
				v.add(f.key, "tls.mode = \"x509\" needs %s", f.key)
				continue
			}
			fh, err := os.Open(f.path)
			if err != nil {
				v.add(f.key, "cannot read %s: %v", f.path, err)
				continue
			}
			fh.Close()
		}
	default:
		v.add("tls.mode", "unknown mode %q; use vault, x509 or ephemeral", t.Mode)
	}
}

func (v *validator) limits(l Limits) {
	for _, f := range []struct {
		key string
		n   int
	}{
		{"limits.max_connections_per_ip", l.MaxConnectionsPerIP},
		{"limits.max_auth_attempts", l.MaxAuthAttempts},
		{"limits.max_incoming_streams", l.MaxIncomingStreams},
	} {
		if f.n < 0 {
			v.add(f.key, "must not be negative")
		}
	}
	if l.DrainTimeout < 0 {
		v.add("limits.drain_timeout", "must not be negative")
	}
	if l.IdleTimeout < 0 {
		v.add("limits.idle_timeout", "must not be negative")
	}
}

func (v *validator) connect(path string, e Connect) {
	if !auth.ValidPeerID(e.PeerID) {
		v.add(path+".peer_id", "%q is not a valid peer id (1-63 characters of a-z, 0-9, '.', '-', starting with a letter or digit)", e.PeerID)
	}
	if err := checkHostPort(e.Addr); err != nil {
		v.add(path+".addr", "%v", err)
	}
	if e.NamespacePrefix != "" && !validPrefix(e.NamespacePrefix) {
		v.add(path+".namespace_prefix", "%q is not one or more operation-name segments joined by '/'", e.NamespacePrefix)
	}
	for i, op := range e.Operations {
		if !registry.ValidName(op) {
			v.add(fmt.Sprintf("%s.operations[%d]", path, i), "%q is not a valid operation name", op)
		}
	}
	if e.BackoffMin <= 0 || e.BackoffMax <= 0 {
		v.add(path+".backoff_min", "backoff durations must be positive")
	} else if e.BackoffMin > e.BackoffMax {
		v.add(path+".backoff_min", "backoff_min (%s) is larger than backoff_max (%s)", e.BackoffMin, e.BackoffMax)
	}
}

// validPrefix reports whether p is one or more valid name segments joined by "/" (ADPT-R6):
// appending any valid name to it must give a valid name.
func validPrefix(p string) bool { return registry.ValidName(p + "/x/y") }

func (v *validator) routes(rs []Route) {
	taken := map[string]string{}
	for _, b := range Builtins {
		taken[b] = "a built-in operation"
	}
	for i, r := range rs {
		path := fmt.Sprintf("route[%d]", i)
		label := fmt.Sprintf("route %q", r.Name)
		switch {
		case !registry.ValidName(r.Name):
			v.add(path+".name", "%s: not a valid operation name (two or more segments joined by '/')", label)
		case taken[r.Name] != "":
			v.add(path+".name", "%s: the name is already taken by %s", label, taken[r.Name])
		default:
			taken[r.Name] = fmt.Sprintf("route[%d]", i)
		}
		if !registry.ValidName(r.Target) {
			v.add(path+".target", "%s: target %q is not a valid operation name", label, r.Target)
		}
		if r.Peer != "" && !auth.ValidPeerID(r.Peer) {
			v.add(path+".peer", "%s: %q is not a valid peer id", label, r.Peer)
		}
		switch r.Type {
		case "query", "mutation":
		case "subscription":
			v.add(path+".type", "%s: subscriptions cannot be routed (composition is request/response only)", label)
		default:
			v.add(path+".type", "%s: unknown type %q; use query or mutation", label, r.Type)
		}
		if len(r.Scopes) == 0 {
			v.warn(path+".scopes", "%s has no scopes: any caller, anonymous ones included, may call it", label)
		}
	}
}

// checkHostPort accepts HOST:PORT with a numeric port (0 allowed, meaning any free port).
func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not a HOST:PORT address", addr)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("%q has an invalid host", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has an invalid port", addr)
	}
	return nil
}

// CheckMetricsAddr enforces CLI-R64: the metrics listener binds a loopback IP literal or
// "localhost" only.
func CheckMetricsAddr(addr string) error {
	if err := checkHostPort(addr); err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(addr)
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address: metrics are served on loopback only (127.0.0.1, ::1 or localhost); export them through a local agent or an SSH tunnel", addr)
	}
	return nil
}
