package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
)

// Scope constants (CORE-R904).
const (
	// ScopeAdmin grants configuration reload and other node administration (§11.3).
	ScopeAdmin = "admin"
	// ScopeRelayConnect is the relay scope; granted only where a policy lists it.
	ScopeRelayConnect = "relay:connect"
)

// Identity is an authenticated principal as seen by this node.
//
// ID is the stable peer_id for peers (never a fingerprint), the 8-character prefix for
// API keys, and a label chosen by the call module for composition authorities
// (CORE-R901). The JSON form always carries id, scopes ([] when empty) and resources ({}
// when empty); Origin is never serialized (CORE-R902, CORE-R905).
type Identity struct {
	ID        string              `json:"id"`
	Scopes    []string            `json:"scopes"`
	Resources map[string][]string `json:"resources"`
	Origin    Origin              `json:"-"` // how this node came to hold it; never serialized
}

// Origin records where an Identity came from. The zero value is the least trusted.
type Origin uint8

const (
	// OriginClaimed: decoded from the wire (e.g. forwarded_for); a claim, not verified here.
	OriginClaimed Origin = iota
	// OriginPeer: resolved from a PeerEntry (fingerprint or peer token).
	OriginPeer
	// OriginAPIKey: resolved from an APIKeyEntry.
	OriginAPIKey
	// OriginComposition: built by the call module for a composition authority.
	OriginComposition
)

// String returns the origin's lowercase name.
func (o Origin) String() string {
	switch o {
	case OriginClaimed:
		return "claimed"
	case OriginPeer:
		return "peer"
	case OriginAPIKey:
		return "api_key"
	case OriginComposition:
		return "composition"
	}
	return fmt.Sprintf("origin(%d)", uint8(o))
}

// HasScope reports whether s is one of id's scopes.
func (id Identity) HasScope(s string) bool { return slices.Contains(id.Scopes, s) }

// Clone returns a deep copy of id; mutating it never affects id (CORE-R903).
func (id Identity) Clone() Identity {
	// Every copied string slice is carved out of one backing array (capped, so an append on
	// one never writes into another), which keeps resolution on the hot path to two
	// allocations whatever the number of resource types.
	n := len(id.Scopes)
	for _, v := range id.Resources {
		n += len(v)
	}
	var backing []string
	if n > 0 {
		backing = make([]string, 0, n)
	}
	carve := func(v []string) []string {
		if len(v) == 0 {
			return v[:0:0] // nil stays nil, empty stays empty, neither shares storage
		}
		start := len(backing)
		backing = append(backing, v...)
		return backing[start:len(backing):len(backing)]
	}
	c := Identity{ID: id.ID, Origin: id.Origin, Scopes: carve(id.Scopes)}
	if id.Resources != nil {
		c.Resources = make(map[string][]string, len(id.Resources))
		for k, v := range id.Resources {
			c.Resources[k] = carve(v)
		}
	}
	return c
}

// SameGrants reports whether id and other carry the same grants (CORE-R1015): equal ID,
// equal scopes as sets and equal resources as a map from type to a set of names. Order,
// duplicates and nil-versus-empty are ignored; Origin is not compared.
func (id Identity) SameGrants(other Identity) bool {
	if id.ID != other.ID || !sameSet(id.Scopes, other.Scopes) {
		return false
	}
	nonEmpty := func(m map[string][]string) map[string][]string {
		out := map[string][]string{}
		for k, v := range m {
			if len(v) > 0 {
				out[k] = v
			}
		}
		return out
	}
	a, b := nonEmpty(id.Resources), nonEmpty(other.Resources)
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !sameSet(v, w) {
			return false
		}
	}
	return true
}

func sameSet(a, b []string) bool {
	as, bs := map[string]struct{}{}, map[string]struct{}{}
	for _, s := range a {
		as[s] = struct{}{}
	}
	for _, s := range b {
		bs[s] = struct{}{}
	}
	return maps.Equal(as, bs)
}

// MarshalJSON encodes id as {"id":…,"scopes":[…],"resources":{…}}, with [] and {} for
// empty collections, never null (CORE-R902).
func (id Identity) MarshalJSON() ([]byte, error) {
	type wire struct {
		ID        string              `json:"id"`
		Scopes    []string            `json:"scopes"`
		Resources map[string][]string `json:"resources"`
	}
	w := wire{ID: id.ID, Scopes: id.Scopes, Resources: make(map[string][]string, len(id.Resources))}
	if w.Scopes == nil {
		w.Scopes = []string{}
	}
	for k, v := range id.Resources {
		if v == nil {
			v = []string{}
		}
		w.Resources[k] = v
	}
	return json.Marshal(w)
}

// errIdentityJSON is the base of every Identity decoding error.
var errIdentityJSON = errors.New("identity json")

// UnmarshalJSON decodes an identity strictly (CORE-R902, CORE-R906): keys match exactly
// and case-sensitively, a repeated id, scopes or resources key is an error, id must be a
// non-empty string, missing or null scopes/resources become empty, unknown keys are
// ignored and nothing may follow the object. Origin is always OriginClaimed.
func (id *Identity) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%w: %w", errIdentityJSON, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("%w: not an object", errIdentityJSON)
	}
	var out Identity
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %w", errIdentityJSON, err)
		}
		key, _ := tok.(string)
		switch key {
		case "id", "scopes", "resources":
			if seen[key] {
				return fmt.Errorf("%w: duplicate key %q", errIdentityJSON, key)
			}
			seen[key] = true
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("%w: %w", errIdentityJSON, err)
		}
		switch key {
		case "id":
			if bytes.Equal(raw, []byte("null")) {
				return fmt.Errorf("%w: id is null", errIdentityJSON)
			}
			if err := json.Unmarshal(raw, &out.ID); err != nil {
				return fmt.Errorf("%w: id: %w", errIdentityJSON, err)
			}
		case "scopes":
			if err := json.Unmarshal(raw, &out.Scopes); err != nil {
				return fmt.Errorf("%w: scopes: %w", errIdentityJSON, err)
			}
		case "resources":
			if err := json.Unmarshal(raw, &out.Resources); err != nil {
				return fmt.Errorf("%w: resources: %w", errIdentityJSON, err)
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return fmt.Errorf("%w: %w", errIdentityJSON, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the object", errIdentityJSON)
	}
	if out.ID == "" {
		return fmt.Errorf("%w: id is missing or empty", errIdentityJSON)
	}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	if out.Resources == nil {
		out.Resources = map[string][]string{}
	}
	for k, v := range out.Resources {
		if v == nil {
			out.Resources[k] = []string{}
		}
	}
	*id = out
	return nil
}
