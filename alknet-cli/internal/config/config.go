// Package config decodes, fills with defaults and validates the alknet configuration file
// (cli.md §4): TOML, decoded strictly (unknown keys, wrong types and duplicate keys are errors),
// every problem reported as path:line:column: message (CLI-R12, CLI-R13). The file holds no
// secret by construction (CLI-R14).
package config

import (
	"fmt"
	"time"
)

// SupportedVersion is the highest config format version this binary reads.
const SupportedVersion = 1

// Config is the whole configuration file, version 1 (cli.md §4.2). Key names are a one-way
// door for operators. Load returns it with every default filled in.
type Config struct {
	Version int       `toml:"version" json:"version"`
	Node    Node      `toml:"node" json:"node"`
	Listen  Listen    `toml:"listen" json:"listen"`
	TLS     TLS       `toml:"tls" json:"tls"`
	Vault   Vault     `toml:"vault" json:"vault"`
	Auth    Auth      `toml:"auth" json:"auth"`
	Store   Store     `toml:"store" json:"store"`
	Call    Call      `toml:"call" json:"call"`
	HTTP    HTTP      `toml:"http" json:"http"`
	Limits  Limits    `toml:"limits" json:"limits"`
	Metrics Metrics   `toml:"metrics" json:"metrics"`
	Log     Log       `toml:"log" json:"log"`
	Connect []Connect `toml:"connect" json:"connect"`
	Route   []Route   `toml:"route" json:"route"`
}

// Node is [node].
type Node struct {
	Name    string `toml:"name" json:"name"`         // "" = host name
	DataDir string `toml:"data_dir" json:"data_dir"` // "" = XDG data dir
}

// Listen is [listen].
type Listen struct {
	Addr string `toml:"addr" json:"addr"` // UDP address of the QUIC endpoint
}

// TLS is [tls].
type TLS struct {
	Mode     string `toml:"mode" json:"mode"` // vault | x509 | ephemeral
	CertFile string `toml:"cert_file" json:"cert_file"`
	KeyFile  string `toml:"key_file" json:"key_file"`
}

// Vault is [vault].
type Vault struct {
	Keystore string `toml:"keystore" json:"keystore"` // "" = <data_dir>/keystore.json
	Required bool   `toml:"required" json:"required"`
}

// Auth is [auth]. v1 accepts only provider "store" (CLI-R80).
type Auth struct {
	Provider string `toml:"provider" json:"provider"`
}

// Store is [store].
type Store struct {
	Path         string   `toml:"path" json:"path"` // "" = <data_dir>/alknet.db
	BusyTimeout  Duration `toml:"busy_timeout" json:"busy_timeout"`
	PollInterval Duration `toml:"poll_interval" json:"poll_interval"`
	MaxStale     Duration `toml:"max_stale" json:"max_stale"`
}

// Call is [call].
type Call struct {
	DefaultTimeout         Duration `toml:"default_timeout" json:"default_timeout"`
	ImportFromInboundPeers bool     `toml:"import_from_inbound_peers" json:"import_from_inbound_peers"`
	AnyPolicy              string   `toml:"any_policy" json:"any_policy"` // first | round-robin | least-outstanding
}

// HTTP is [http]; this binary has no gateway, so only enabled = false is valid (cli.md §2.2).
type HTTP struct {
	Enabled bool `toml:"enabled" json:"enabled"`
}

// Limits is [limits].
type Limits struct {
	MaxConnectionsPerIP int      `toml:"max_connections_per_ip" json:"max_connections_per_ip"`
	MaxAuthAttempts     int      `toml:"max_auth_attempts" json:"max_auth_attempts"`
	DrainTimeout        Duration `toml:"drain_timeout" json:"drain_timeout"`
	MaxIncomingStreams  int      `toml:"max_incoming_streams" json:"max_incoming_streams"`
	IdleTimeout         Duration `toml:"idle_timeout" json:"idle_timeout"`
}

// Metrics is [metrics].
type Metrics struct {
	Addr string `toml:"addr" json:"addr"` // "" = off; loopback only (CLI-R64)
}

// Log is [log]; it applies to serve only (CLI-R59).
type Log struct {
	Level  string `toml:"level" json:"level"`   // trace | debug | info | warn | error
	Format string `toml:"format" json:"format"` // auto | console | json
}

// Connect is one [[connect]] entry: a head this node dials (cli.md §8.5).
type Connect struct {
	PeerID          string   `toml:"peer_id" json:"peer_id"`
	Addr            string   `toml:"addr" json:"addr"`
	Import          *bool    `toml:"import" json:"import"` // nil in a file = true
	NamespacePrefix string   `toml:"namespace_prefix" json:"namespace_prefix"`
	Operations      []string `toml:"operations" json:"operations"`
	AuthCredential  string   `toml:"auth_credential" json:"auth_credential"`
	PresentIdentity *bool    `toml:"present_identity" json:"present_identity"` // nil in a file = true
	BackoffMin      Duration `toml:"backoff_min" json:"backoff_min"`
	BackoffMax      Duration `toml:"backoff_max" json:"backoff_max"`
}

// Route is one [[route]] entry: an operation this node offers by forwarding (cli.md §8.8).
type Route struct {
	Name   string    `toml:"name" json:"name"`
	Target string    `toml:"target" json:"target"`
	Peer   string    `toml:"peer" json:"peer"`     // "" = any attached peer
	Type   string    `toml:"type" json:"type"`     // query | mutation; "" in a file = mutation
	Scopes []string  `toml:"scopes" json:"scopes"` // callers need all of these
	Grant  *[]string `toml:"grant" json:"grant"`   // nil in a file = Scopes
}

// Default returns the built-in defaults (cli.md §4.2), the "embedded defaults" a node runs
// on without a config file (CLI-R4, CLI-R39).
func Default() *Config {
	return &Config{
		Version: SupportedVersion,
		Listen:  Listen{Addr: "127.0.0.1:4433"},
		TLS:     TLS{Mode: "vault"},
		Auth:    Auth{Provider: "store"},
		Store: Store{
			BusyTimeout:  Duration(5 * time.Second),
			PollInterval: Duration(50 * time.Millisecond),
			MaxStale:     Duration(5 * time.Minute),
		},
		Call: Call{
			DefaultTimeout:         Duration(30 * time.Second),
			ImportFromInboundPeers: true,
			AnyPolicy:              "first",
		},
		Limits: Limits{
			MaxConnectionsPerIP: 100,
			MaxAuthAttempts:     5,
			DrainTimeout:        Duration(2 * time.Second),
			MaxIncomingStreams:  4096,
			IdleTimeout:         Duration(30 * time.Second),
		},
		Log:     Log{Level: "info", Format: "auto"},
		Connect: []Connect{},
		Route:   []Route{},
	}
}

// fillDefaults sets the per-entry defaults of [[connect]] and [[route]] and the documented
// meaning of zero values (CLI-R13: 0 means the default).
func (c *Config) fillDefaults() {
	d := Default()
	if c.Version == 0 {
		c.Version = SupportedVersion
	}
	zeroDur := func(v *Duration, def Duration) {
		if *v == 0 {
			*v = def
		}
	}
	zeroDur(&c.Store.BusyTimeout, d.Store.BusyTimeout)
	zeroDur(&c.Store.PollInterval, d.Store.PollInterval)
	zeroDur(&c.Store.MaxStale, d.Store.MaxStale)
	zeroDur(&c.Call.DefaultTimeout, d.Call.DefaultTimeout)
	zeroDur(&c.Limits.DrainTimeout, d.Limits.DrainTimeout)
	zeroDur(&c.Limits.IdleTimeout, d.Limits.IdleTimeout)
	if c.Limits.MaxIncomingStreams == 0 {
		c.Limits.MaxIncomingStreams = d.Limits.MaxIncomingStreams
	}
	if c.Connect == nil {
		c.Connect = []Connect{}
	}
	if c.Route == nil {
		c.Route = []Route{}
	}
	for i := range c.Connect {
		e := &c.Connect[i]
		if e.Import == nil {
			e.Import = ptr(true)
		}
		if e.PresentIdentity == nil {
			e.PresentIdentity = ptr(true)
		}
		if e.Operations == nil {
			e.Operations = []string{}
		}
		zeroDur(&e.BackoffMin, Duration(time.Second))
		zeroDur(&e.BackoffMax, Duration(time.Minute))
	}
	for i := range c.Route {
		r := &c.Route[i]
		if r.Type == "" {
			r.Type = "mutation"
		}
		if r.Scopes == nil {
			r.Scopes = []string{}
		}
		if r.Grant == nil {
			g := append([]string{}, r.Scopes...)
			r.Grant = &g
		}
	}
}

func ptr[T any](v T) *T { return &v }

// Duration is a TOML string in Go syntax ("250ms", "1m30s"). A bare integer is refused
// (go-toml would otherwise read it as nanoseconds, CLI-R12).
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes the Go syntax.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses the Go syntax with time.ParseDuration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q: write a string such as \"5s\" or \"250ms\"", b)
	}
	*d = Duration(v)
	return nil
}
