package registry

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/secret"
)

// Provenance records where a registration came from; it decides whether the registration may
// compose and which layers accept it (REG-R9). The zero value is invalid.
type Provenance uint8

const (
	// Local registrations are written by the assembly layer; trusted, may compose.
	Local Provenance = iota + 1
	// FromOpenAPI is an HTTP forwarding leaf imported from an OpenAPI document.
	FromOpenAPI
	// FromMCP is a forwarding leaf imported from an MCP server.
	FromMCP
	// FromCall is a QUIC forwarding leaf imported from a peer.
	FromCall
	// FromJsonSchema is a single-endpoint HTTP forwarding leaf.
	FromJsonSchema
	// Session registrations are agent-written and sandboxed; they compose within their sandbox.
	Session
)

// String names p.
func (p Provenance) String() string {
	switch p {
	case Local:
		return "local"
	case FromOpenAPI:
		return "from_openapi"
	case FromMCP:
		return "from_mcp"
	case FromCall:
		return "from_call"
	case FromJsonSchema:
		return "from_jsonschema"
	case Session:
		return "session"
	}
	return fmt.Sprintf("Provenance(%d)", uint8(p))
}

// isLeaf reports whether p is an imported leaf provenance that can never compose.
func (p Provenance) isLeaf() bool {
	return p == FromOpenAPI || p == FromMCP || p == FromCall || p == FromJsonSchema
}

// CompositionAuthority is the declared authority a handler composes under (ACL-R6). It is not
// a peer identity and is never resolved through an IdentityProvider; only the assembly layer
// grants one, through a registration.
type CompositionAuthority struct {
	Label     string              // for attribution and logs, e.g. "jobs-runner"
	Scopes    []string            // scopes its composed calls are checked against
	Resources map[string][]string // resources its composed calls are checked against
}

// AsIdentity returns the authority as the identity composed children are checked against:
// ID = Label, copies of Scopes and Resources, Origin = auth.OriginComposition. A nil receiver
// gives nil (an anonymous caller, ACL-R8).
func (a *CompositionAuthority) AsIdentity() *auth.Identity {
	if a == nil {
		return nil
	}
	scopes := slices.Clone(a.Scopes)
	if scopes == nil {
		scopes = []string{}
	}
	return &auth.Identity{ID: a.Label, Scopes: scopes, Resources: cloneResources(a.Resources), Origin: auth.OriginComposition}
}

// clone returns a deep copy of a.
func (a *CompositionAuthority) clone() *CompositionAuthority {
	if a == nil {
		return nil
	}
	return &CompositionAuthority{Label: a.Label, Scopes: slices.Clone(a.Scopes), Resources: cloneResources(a.Resources)}
}

// within reports whether a's scopes and resources are a subset of b's (REG-R17).
func (a *CompositionAuthority) within(b *CompositionAuthority) bool {
	if a == nil {
		return true
	}
	if b == nil {
		return len(a.Scopes) == 0 && len(a.Resources) == 0
	}
	for _, s := range a.Scopes {
		if !slices.Contains(b.Scopes, s) {
			return false
		}
	}
	for k, v := range a.Resources {
		for _, act := range v {
			if !slices.Contains(b.Resources[k], act) {
				return false
			}
		}
	}
	return true
}

// cloneResources deep-copies a resources map; the result is never nil.
func cloneResources(m map[string][]string) map[string][]string {
	c := make(map[string][]string, len(m))
	for k, v := range m {
		c[k] = slices.Clone(v)
	}
	return c
}

// PeerOp is a scope entry pinned to one peer (ROUTE-R3).
type PeerOp struct {
	Peer PeerID
	Op   string
}

// ScopedEnv is the reachability set of a composing handler: the operation names it may invoke
// through any route, and the names it may invoke only through one pinned peer (ENV-R3,
// ROUTE-R3). It is an immutable value; the zero value allows nothing.
type ScopedEnv struct {
	allowed map[string]struct{}
	pinned  map[PeerOp]struct{}
}

// NewScopedEnv returns a scope allowing exactly ops (exact names, no wildcards, REG-R11).
func NewScopedEnv(ops ...string) ScopedEnv {
	s := ScopedEnv{allowed: make(map[string]struct{}, len(ops))}
	for _, op := range ops {
		s.allowed[op] = struct{}{}
	}
	return s
}

// WithPinned returns a copy of s that additionally allows each pin's operation through its peer
// only.
func (s ScopedEnv) WithPinned(pins ...PeerOp) ScopedEnv {
	c := ScopedEnv{allowed: maps.Clone(s.allowed), pinned: maps.Clone(s.pinned)}
	if c.pinned == nil {
		c.pinned = make(map[PeerOp]struct{}, len(pins))
	}
	for _, p := range pins {
		c.pinned[p] = struct{}{}
	}
	return c
}

// Allows reports whether op is in the peer-agnostic set.
func (s ScopedEnv) Allows(op string) bool {
	_, ok := s.allowed[op]
	return ok
}

// AllowsVia reports whether op may be invoked through ref (ROUTE-R3): for Any, op must be in
// the peer-agnostic set; for Peer(p), in the peer-agnostic set or pinned to p.
func (s ScopedEnv) AllowsVia(ref PeerRef, op string) bool {
	if s.Allows(op) {
		return true
	}
	p, ok := ref.Specific()
	if !ok {
		return false
	}
	_, pinned := s.pinned[PeerOp{Peer: p, Op: op}]
	return pinned
}

// Narrow returns the intersection of s with ops: the peer-agnostic entries of s named in ops
// and the pinned entries whose operation is named in ops.
func (s ScopedEnv) Narrow(ops ...string) ScopedEnv {
	keep := make(map[string]struct{}, len(ops))
	for _, op := range ops {
		keep[op] = struct{}{}
	}
	c := ScopedEnv{allowed: map[string]struct{}{}, pinned: map[PeerOp]struct{}{}}
	for op := range s.allowed {
		if _, ok := keep[op]; ok {
			c.allowed[op] = struct{}{}
		}
	}
	for p := range s.pinned {
		if _, ok := keep[p.Op]; ok {
			c.pinned[p] = struct{}{}
		}
	}
	return c
}

// IsEmpty reports whether s allows nothing.
func (s ScopedEnv) IsEmpty() bool { return len(s.allowed) == 0 && len(s.pinned) == 0 }

// names returns the peer-agnostic entries, sorted.
func (s ScopedEnv) names() []string { return slices.Sorted(maps.Keys(s.allowed)) }

// pins returns the pinned entries sorted by operation, then peer.
func (s ScopedEnv) pins() []PeerOp {
	out := slices.Collect(maps.Keys(s.pinned))
	slices.SortFunc(out, func(a, b PeerOp) int {
		if a.Op != b.Op {
			if a.Op < b.Op {
				return -1
			}
			return 1
		}
		if a.Peer < b.Peer {
			return -1
		}
		if a.Peer > b.Peer {
			return 1
		}
		return 0
	})
	return out
}

// check validates every entry (REG-R10, REG-R11).
func (s ScopedEnv) check() error {
	var errs []error
	for _, op := range s.names() {
		if !ValidName(op) {
			errs = append(errs, fmt.Errorf("scope entry %q is not an operation name (REG-R11)", truncateName(op)))
		}
	}
	for _, p := range s.pins() {
		if p.Peer == "" {
			errs = append(errs, fmt.Errorf("pinned scope entry %q has an empty peer id (REG-R10)", truncateName(p.Op)))
		}
		if !ValidName(p.Op) {
			errs = append(errs, fmt.Errorf("pinned scope entry %q is not an operation name (REG-R11)", truncateName(p.Op)))
		}
	}
	return errors.Join(errs...)
}

// HandlerRegistration bundles an operation's spec and handler with its provenance, composition
// authority, reachability scope and capabilities (REG-R8). Only the assembly layer, or an
// adapter it calls, builds one. A layer that accepts a registration stores its own copy;
// registrations returned by Lookup are shared and must be treated as read-only (REG-R16).
type HandlerRegistration struct {
	Spec         OperationSpec
	Handler      Handler       // exactly one of Handler / Stream, matching Spec.Type (HND-R2)
	Stream       StreamHandler // for Subscription operations
	Provenance   Provenance
	Authority    *CompositionAuthority // nil for leaves
	Scope        *ScopedEnv            // nil for leaves
	Capabilities secret.Capabilities   // zero value = none (CORE-R1301)
	Compiled     *CompiledSpec         // optional: the spec as an importer already compiled it (REG-R23); nil = compile here

	// NonBlocking declares that Handler returns promptly without waiting on anything: no I/O, no
	// locks held by other requests, no composition, no sleeping. An edge may then run the
	// handler on the goroutine that reads the request's stream instead of handing it to a
	// worker, which saves a goroutine switch and lets the answer leave in the packet that
	// acknowledges the request. While such a handler runs, the other requests of its stream
	// wait, and an abort sent on that stream is read only after it returned; its deadline still
	// ends the request with TIMEOUT. Only Local Query and Mutation registrations without a
	// composition authority may set it (see docs/decisions.md, alknet-call).
	NonBlocking bool

	compiled *CompiledSpec // set when a layer accepts the registration
}

// scope returns the registration's reachability set (empty when nil).
func (r *HandlerRegistration) scope() ScopedEnv {
	if r == nil || r.Scope == nil || r.Authority == nil {
		return ScopedEnv{}
	}
	return *r.Scope
}

// validate applies the REG-R10 checks. Schemas are compiled by accept. imported relaxes the
// checks that mirror a remote's policy faithfully: an empty RequiredScopesAny is kept (it denies
// every caller, REG-R7) and an out-of-range HTTP status is ignored (it only feeds adapter
// projections).
func (r *HandlerRegistration) validate(imported bool) error {
	var errs []error
	s := r.Spec
	if !ValidName(s.Name) {
		errs = append(errs, errors.New("name breaks REG-R1"))
	}
	switch s.Type {
	case Query, Mutation:
		if r.Handler == nil || r.Stream != nil {
			errs = append(errs, fmt.Errorf("a %s operation needs a Handler and no StreamHandler (HND-R2)", s.Type))
		}
	case Subscription:
		if r.Stream == nil || r.Handler != nil {
			errs = append(errs, errors.New("a subscription operation needs a StreamHandler and no Handler (HND-R2)"))
		}
	default:
		errs = append(errs, errors.New("operation type is not set (REG-R4)"))
	}
	if s.Visibility != Internal && s.Visibility != External {
		errs = append(errs, fmt.Errorf("invalid visibility %d", uint8(s.Visibility)))
	}
	if r.NonBlocking && (s.Type == Subscription || r.Provenance != Local || r.Authority != nil) {
		errs = append(errs, errors.New("only a Local Query or Mutation without a composition authority can be NonBlocking"))
	}
	switch {
	case r.Provenance == Local:
		if r.Authority == nil && r.Scope != nil && !r.Scope.IsEmpty() {
			errs = append(errs, errors.New("a scope without an authority (REG-R9)"))
		}
	case r.Provenance == Session:
		if r.Authority == nil || r.Scope == nil {
			errs = append(errs, errors.New("a session registration needs an authority and a scope (REG-R9)"))
		}
	case r.Provenance.isLeaf():
		if r.Authority != nil {
			errs = append(errs, fmt.Errorf("a %s leaf cannot carry a composition authority (REG-R9)", r.Provenance))
		}
		if r.Scope != nil {
			errs = append(errs, fmt.Errorf("a %s leaf cannot carry a scope (REG-R9)", r.Provenance))
		}
	default:
		errs = append(errs, errors.New("provenance is not set (REG-R4)"))
	}
	if r.Scope != nil {
		if err := r.Scope.check(); err != nil {
			errs = append(errs, err)
		}
	}
	seen := map[string]bool{}
	for _, d := range s.ErrorSchemas {
		if !ValidDomainCode(d.Code) {
			errs = append(errs, fmt.Errorf("error code %q is not a valid domain code (REG-R6)", truncateName(d.Code)))
		}
		if seen[d.Code] {
			errs = append(errs, fmt.Errorf("error code %q declared twice", truncateName(d.Code)))
		}
		seen[d.Code] = true
		if !imported && d.HTTPStatus != 0 && (d.HTTPStatus < 100 || d.HTTPStatus > 599) {
			errs = append(errs, fmt.Errorf("error code %q has HTTP status %d outside 100..599", d.Code, d.HTTPStatus))
		}
	}
	if !imported && s.AccessControl.RequiredScopesAny != nil && len(s.AccessControl.RequiredScopesAny) == 0 {
		errs = append(errs, errors.New("required_scopes_any is empty and can never be satisfied (REG-R7)"))
	}
	if err := s.checkMetadata(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
