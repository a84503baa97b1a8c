package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
)

// Defaults applied to rate-limit fields absent from a decoded document (CORE-R1113).
const (
	DefaultMaxConnectionsPerIP = 100
	DefaultMaxAuthAttempts     = 5
)

// DynamicConfig is the hot-reloadable part of the configuration (CORE-R1110..R1113). Its JSON
// field names are a one-way door.
type DynamicConfig struct {
	Auth       auth.AuthPolicy `json:"auth" validate:"-"`
	RateLimits RateLimitConfig `json:"rate_limits"`
}

// RateLimitConfig holds the per-connection limits. In a Go value 0 means unlimited, so
// DynamicConfig{} is a valid, permissive configuration; negative values are rejected.
type RateLimitConfig struct {
	// MaxConnectionsPerIP bounds the live connections from one IP (CORE-R430); 100 when
	// absent from JSON, 0 = unlimited.
	MaxConnectionsPerIP int `json:"max_connections_per_ip" validate:"gte=0"`
	// MaxAuthAttempts is the per-connection credential failure budget handlers enforce
	// (CORE-R431); 5 when absent from JSON, 0 = unlimited.
	MaxAuthAttempts int `json:"max_auth_attempts" validate:"gte=0"`
}

// DefaultDynamic returns the configuration an empty JSON document decodes to: no peers, no API
// keys, at most 100 connections per IP and 5 authentication attempts per connection.
func DefaultDynamic() DynamicConfig {
	return DynamicConfig{RateLimits: RateLimitConfig{
		MaxConnectionsPerIP: DefaultMaxConnectionsPerIP,
		MaxAuthAttempts:     DefaultMaxAuthAttempts,
	}}
}

// DecodeDynamic reads one JSON document strictly (CORE-R1110): unknown fields (a typo such as
// "fingerprint"), object keys that differ from the field names in case only, duplicated keys,
// trailing data and invalid content are rejected with an error matching [ErrInvalid] that
// names the field. Absent rate-limit fields take their defaults and an absent "enabled" reads
// as true. The result is validated and ready for [NewDynamic] or [ReloadHandle.Reload].
func DecodeDynamic(r io.Reader) (DynamicConfig, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return DynamicConfig{}, alkerr.Wrap(alkerr.CodeConfigInvalid, "read dynamic configuration", err)
	}
	if err := checkKeys(raw, reflect.TypeFor[DynamicConfig]()); err != nil {
		return DynamicConfig{}, alkerr.New(alkerr.CodeConfigInvalid, "invalid dynamic configuration: "+err.Error())
	}
	cfg := DefaultDynamic()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return DynamicConfig{}, alkerr.New(alkerr.CodeConfigInvalid, "invalid dynamic configuration: "+describeJSONError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return DynamicConfig{}, alkerr.New(alkerr.CodeConfigInvalid, "invalid dynamic configuration: trailing data after the JSON document")
	}
	for i := range cfg.Auth.Peers {
		if cfg.Auth.Peers[i].Enabled == nil {
			enabled := true
			cfg.Auth.Peers[i].Enabled = &enabled
		}
	}
	if _, err := cfg.compile(); err != nil {
		return DynamicConfig{}, err
	}
	return cfg, nil
}

func describeJSONError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("%s: cannot hold a JSON %s", te.Field, te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "truncated or empty JSON document"
	}
	return err.Error()
}

// Validate checks the configuration: the policy rules of auth.Compile with paths prefixed by
// "auth." (CORE-R1008), then the rate limits. It returns nil or one error matching
// [ErrInvalid] listing every problem in document order.
func (c DynamicConfig) Validate() error {
	_, err := c.compile()
	return err
}

// compile validates c and compiles its policy.
func (c DynamicConfig) compile() (*auth.Policy, error) {
	var p problems
	pol, err := auth.Compile(c.Auth)
	if err != nil {
		p.addAuth(c.Auth, err)
	}
	p.addValidator(jsonNames(), c)
	if err := p.err("dynamic configuration"); err != nil {
		return nil, err
	}
	return pol, nil
}

// addAuth records the policy problems of pol (which auth.Compile refused with err) under
// "auth." (CORE-R1008).
func (p *problems) addAuth(pol auth.AuthPolicy, err error) {
	probs := auth.Validate(pol)
	if len(probs) == 0 {
		p.add("auth", err.Error())
		return
	}
	for _, prob := range probs {
		p.add("auth."+prob.Path, prob.Message)
	}
}

// Clone returns a deep copy.
func (c DynamicConfig) Clone() DynamicConfig {
	out := DynamicConfig{RateLimits: c.RateLimits}
	out.Auth = c.Auth.Clone()
	return out
}

// snapshot is one immutable configuration with its compiled policy.
type snapshot struct {
	cfg    *DynamicConfig
	policy *auth.Policy
}

// Dynamic holds the current [DynamicConfig] and its compiled policy behind one atomic
// pointer, so readers never block and always see a consistent pair (CORE-R1111). One
// *Dynamic is shared by the endpoint (rate limits), the identity provider (it is an
// auth.PolicySource and an auth.ChangeNotifier) and the reload handle. It is safe for
// concurrent use.
type Dynamic struct {
	cur     atomic.Pointer[snapshot]
	changed atomic.Pointer[chan struct{}] // closed and replaced by each successful reload
	mu      sync.Mutex                    // serializes writers
	logger  *slog.Logger
}

var (
	_ auth.PolicySource   = (*Dynamic)(nil)
	_ auth.ChangeNotifier = (*Dynamic)(nil)
)

// NewDynamic validates and compiles initial, keeps a deep copy of it, and returns the holder.
// logger receives one info record per successful reload (CORE-R1123); nil discards them.
func NewDynamic(initial DynamicConfig, logger *slog.Logger) (*Dynamic, error) {
	cfg := initial.Clone()
	pol, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := &Dynamic{logger: logger}
	d.cur.Store(&snapshot{cfg: &cfg, policy: pol})
	ch := make(chan struct{})
	d.changed.Store(&ch)
	return d, nil
}

// Current returns the current configuration. It is shared and read-only: modify a Clone and
// reload it.
func (d *Dynamic) Current() *DynamicConfig { return d.cur.Load().cfg }

// Policy returns the compiled policy of the current configuration (auth.PolicySource).
func (d *Dynamic) Policy() *auth.Policy { return d.cur.Load().policy }

// Changed returns a channel closed by the next successful reload after the call
// (auth.ChangeNotifier). A failed reload closes nothing.
func (d *Dynamic) Changed() <-chan struct{} { return *d.changed.Load() }

// ReloadHandle returns the handle through which the configuration changes. Holding it is the
// right to change who may connect; see the package documentation for who may receive it.
func (d *Dynamic) ReloadHandle() *ReloadHandle { return &ReloadHandle{d: d} }

// swap validates cfg (already a private copy) and installs it; d.mu must be held.
func (d *Dynamic) swap(cfg DynamicConfig, actor string) error {
	if actor == "" {
		return alkerr.New(alkerr.CodeConfigInvalid, "reload: actor required (local:<trigger> or the admin identity's id)")
	}
	pol, err := cfg.compile()
	if err != nil {
		return err
	}
	old := d.cur.Load()
	d.cur.Store(&snapshot{cfg: &cfg, policy: pol})
	next := make(chan struct{})
	close(*d.changed.Swap(&next))
	added, removed, changed := peerDiff(old.cfg.Auth.Peers, cfg.Auth.Peers)
	d.logger.Info("dynamic configuration reloaded",
		slog.String("actor", actor),
		slog.Int("peers", len(cfg.Auth.Peers)),
		slog.Int("api_keys", len(cfg.Auth.APIKeys)),
		slog.Any("peers_added", added),
		slog.Any("peers_removed", removed),
		slog.Any("peers_changed", changed))
	return nil
}

// peerDiff returns the sorted peer ids added, removed and changed between two peer lists.
func peerDiff(old, cur []auth.PeerEntry) (added, removed, changed []string) {
	before := make(map[string]auth.PeerEntry, len(old))
	for _, p := range old {
		before[p.PeerID] = p
	}
	after := make(map[string]auth.PeerEntry, len(cur))
	for _, p := range cur {
		after[p.PeerID] = p
	}
	for id, p := range after {
		switch q, ok := before[id]; {
		case !ok:
			added = append(added, id)
		case !reflect.DeepEqual(p, q):
			changed = append(changed, id)
		}
	}
	for id := range before {
		if _, ok := after[id]; !ok {
			removed = append(removed, id)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	slices.Sort(changed)
	return nonNil(added), nonNil(removed), nonNil(changed)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ReloadHandle changes a [Dynamic]'s configuration (CORE-R1120..R1123). It is safe for
// concurrent use; writers are serialized, so concurrent reloads apply in some order and none
// is lost.
type ReloadHandle struct{ d *Dynamic }

// Reload validates and compiles cfg and, only if that succeeds, swaps it in with one atomic
// store and wakes Changed waiters. On error nothing changes and the error (matching
// [ErrInvalid]) lists every problem. cfg is deep-copied, so the caller may modify it
// afterwards. actor names who asked ("local:sighup", "local:file", or the admin identity's id
// from [AuthorizeReload]) and is logged; it must not be empty.
func (h *ReloadHandle) Reload(cfg DynamicConfig, actor string) error {
	cp := cfg.Clone()
	h.d.mu.Lock()
	defer h.d.mu.Unlock()
	return h.d.swap(cp, actor)
}

// Update applies a read-modify-write atomically with respect to other writers: it clones the
// current configuration, calls fn on the clone, and reloads the result. An error from fn or
// from validation leaves the configuration unchanged; fn's error is returned as is.
func (h *ReloadHandle) Update(fn func(*DynamicConfig) error, actor string) error {
	h.d.mu.Lock()
	defer h.d.mu.Unlock()
	cp := h.d.Current().Clone()
	if err := fn(&cp); err != nil {
		return err
	}
	return h.d.swap(cp.Clone(), actor)
}

// Current returns the current configuration, shared and read-only.
func (h *ReloadHandle) Current() *DynamicConfig { return h.d.Current() }

// AuthorizeReload is the check a network operation runs before it reaches a [ReloadHandle]
// (CORE-R1122): the caller must be authenticated and hold the admin scope. It returns the
// actor string to pass to Reload (the identity's id), or an error matching
// auth.ErrAuthRequired.
func AuthorizeReload(caller *auth.Identity) (string, error) {
	if caller == nil {
		return "", alkerr.Wrap(alkerr.CodeAuthRequired, "configuration reload requires an authenticated caller", auth.ErrAuthRequired)
	}
	if !caller.HasScope(auth.ScopeAdmin) {
		return "", alkerr.Wrap(alkerr.CodeAuthRequired, fmt.Sprintf("configuration reload requires the %s scope", auth.ScopeAdmin), auth.ErrAuthRequired)
	}
	return caller.ID, nil
}
