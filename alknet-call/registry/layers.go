package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/secret"
)

// Source is one layer: a set of registrations that a call tree can route to.
type Source interface {
	Lookup(name string) (*HandlerRegistration, bool)
	Names() []string // sorted, for listing
}

// Catalog is a read-only view of Layer 0 handed to discovery handlers (HND-R4).
type Catalog interface {
	Lookup(name string) (*HandlerRegistration, bool)
	Names() []string
}

// layerKind selects the layer-specific rules of accept.
type layerKind uint8

const (
	layerBase layerKind = iota
	layerSession
	layerImported
)

// accept validates reg for a layer and returns the layer's own copy with compiled schemas. n
// is the number of schema documents compiled.
func accept(reg *HandlerRegistration, layer layerKind, assertFormat bool) (*HandlerRegistration, int, error) {
	if reg == nil {
		return nil, 0, &RegistrationError{Code: CodeInvalidRegistration, Err: errors.New("nil registration")}
	}
	errs := []error{reg.validate(layer == layerImported)}
	switch layer {
	case layerBase:
		if reg.Provenance == Session || reg.Provenance == FromCall {
			errs = append(errs, fmt.Errorf("%s registrations do not belong in Layer 0 (REG-R9)", reg.Provenance))
		}
	case layerSession:
		if reg.Provenance != Session {
			errs = append(errs, errors.New("session overlays hold only Session registrations (REG-R17)"))
		}
		if reg.Spec.Visibility != Internal {
			errs = append(errs, errors.New("session registrations are Internal (REG-R17)"))
		}
	case layerImported:
		if !reg.Provenance.isLeaf() {
			errs = append(errs, fmt.Errorf("%s registrations do not belong in an imported set (REG-R18)", reg.Provenance))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, 0, &RegistrationError{Code: CodeInvalidRegistration, Op: reg.Spec.Name, Err: err}
	}
	c := *reg
	if reg.Authority != nil {
		c.Authority = reg.Authority.clone()
	}
	if reg.Scope != nil {
		sc := *reg.Scope
		c.Scope = &sc
	}
	n := 0
	if !assertFormat && reg.Compiled != nil && reg.Compiled.sameSchemas(reg.Spec) && !reg.Compiled.assertFormat {
		c.compiled = reg.Compiled.withSpec(reg.Spec) // REG-R23: no second compile
	} else {
		cs, k, err := compileSpec(reg.Spec, assertFormat)
		n = k
		if err != nil {
			return nil, n, err
		}
		c.compiled = cs
	}
	return &c, n, nil
}

// Builder collects the Layer 0 registrations and options of a [Registry]. It is not safe for
// concurrent use. Every method returns b so calls chain; errors are reported together by Build.
type Builder struct {
	regs          []*HandlerRegistration
	errs          []error
	onBuild       []func(*Registry)
	unrestricted  map[string]bool
	observer      Observer
	observerSet   bool
	logger        *slog.Logger
	validateOut   bool
	assertFormats bool
	built         bool
}

// NewBuilder returns an empty builder.
func NewBuilder() *Builder { return &Builder{unrestricted: map[string]bool{}} }

// Add adds a registration as is.
func (b *Builder) Add(reg *HandlerRegistration) *Builder {
	b.regs = append(b.regs, reg)
	return b
}

// Local adds a Local request/response operation. authority and scope may be nil (a leaf).
func (b *Builder) Local(spec OperationSpec, h Handler, authority *CompositionAuthority, scope *ScopedEnv, caps secret.Capabilities) *Builder {
	return b.Add(&HandlerRegistration{Spec: spec, Handler: h, Provenance: Local, Authority: authority, Scope: scope, Capabilities: caps})
}

// LocalStream adds a Local subscription operation.
func (b *Builder) LocalStream(spec OperationSpec, h StreamHandler, authority *CompositionAuthority, scope *ScopedEnv, caps secret.Capabilities) *Builder {
	return b.Add(&HandlerRegistration{Spec: spec, Stream: h, Provenance: Local, Authority: authority, Scope: scope, Capabilities: caps})
}

// Leaf adds an imported request/response leaf (no authority, no scope) with provenance prov.
func (b *Builder) Leaf(spec OperationSpec, h Handler, prov Provenance, caps secret.Capabilities) *Builder {
	return b.Add(&HandlerRegistration{Spec: spec, Handler: h, Provenance: prov, Capabilities: caps})
}

// OnBuild registers fn to run once after a successful Build, with the built registry (used by
// discovery.Install to bind its handlers to the Catalog).
func (b *Builder) OnBuild(fn func(*Registry)) *Builder {
	b.onBuild = append(b.onBuild, fn)
	return b
}

// AllowUnrestrictedCapabilities lets the External operation name hold capabilities without
// access restrictions (CAP-R5 escape hatch).
func (b *Builder) AllowUnrestrictedCapabilities(name string) *Builder {
	b.unrestricted[name] = true
	return b
}

// Observe installs the registry's observer (OBS-R1). At most one: a second call is a Build
// error; fan out with [Observers].
func (b *Builder) Observe(o Observer) *Builder {
	if b.observerSet {
		b.errs = append(b.errs, errors.New("registry: Observe called twice; combine observers with Observers (OBS-R1)"))
	}
	b.observer, b.observerSet = o, true
	return b
}

// Logger sets the dispatch logger (DSP-R4); nil discards.
func (b *Builder) Logger(l *slog.Logger) *Builder {
	b.logger = l
	return b
}

// ValidateOutputs turns on output validation for every invocation dispatched through the
// registry (VAL-R9); Session registrations are always validated.
func (b *Builder) ValidateOutputs() *Builder {
	b.validateOut = true
	return b
}

// AssertFormats makes Layer 0 schemas assert `format` instead of annotating it (VAL-R3).
func (b *Builder) AssertFormats() *Builder {
	b.assertFormats = true
	return b
}

// AddError records err; Build reports it with the others. Installers that validate their own
// options (discovery.Install) use it.
func (b *Builder) AddError(err error) *Builder {
	if err != nil {
		b.errs = append(b.errs, err)
	}
	return b
}

// Build validates every registration (REG-R9, REG-R10, REG-R14, CAP-R5), compiles their
// schemas (VAL-R3) and returns the immutable Layer 0 registry. All problems are reported
// together (errors.Join); on error no registry is returned and no OnBuild hook runs. A Builder
// builds once: OnBuild hooks bind installer state (discovery's Catalog) to the one registry, so
// a second call returns an error.
func (b *Builder) Build() (*Registry, error) {
	if b.built {
		return nil, errors.New("registry: Builder.Build called twice")
	}
	b.built = true
	r := &Registry{
		regs:            make(map[string]*HandlerRegistration, len(b.regs)),
		observer:        b.observer,
		logger:          b.logger,
		validateOutputs: b.validateOut,
	}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	r.inflight.entries = map[string]map[*inflightEntry]struct{}{}
	errs := slices.Clone(b.errs)
	for _, reg := range b.regs {
		c, n, err := accept(reg, layerBase, b.assertFormats)
		r.compiles += n
		if err != nil {
			errs = append(errs, err)
			continue
		}
		name := c.Spec.Name
		if _, dup := r.regs[name]; dup {
			errs = append(errs, &CollisionError{Op: name})
			continue
		}
		if c.Spec.Visibility == External && c.Capabilities.Len() > 0 && !c.Spec.AccessControl.HasRestrictions() && !b.unrestricted[name] {
			errs = append(errs, &RegistrationError{Code: CodeInvalidRegistration, Op: name,
				Err: errors.New("an External operation with capabilities needs access restrictions or AllowUnrestrictedCapabilities (CAP-R5)")})
			continue
		}
		r.regs[name] = c
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	r.names = slices.Sorted(maps.Keys(r.regs))
	for _, fn := range b.onBuild {
		fn(r)
	}
	return r, nil
}

// Registry is the Layer 0 curated registry and the dispatch core. Its registration table is
// immutable after Build (REG-R13) and read without locks (REG-R15); the only runtime state is
// the mutex-guarded in-flight index of DSP-R5.
type Registry struct {
	regs            map[string]*HandlerRegistration
	names           []string
	observer        Observer
	logger          *slog.Logger
	validateOutputs bool
	compiles        int
	inflight        inflightIndex
	lastObsPanic    atomic.Int64 // unix nanoseconds of the last observer panic log (OBS-R4)
}

// Lookup returns the Layer 0 registration of name. The registration is shared and must be
// treated as read-only (REG-R16).
func (r *Registry) Lookup(name string) (*HandlerRegistration, bool) {
	reg, ok := r.regs[name]
	return reg, ok
}

// Names returns the Layer 0 names, sorted. The slice is a copy.
func (r *Registry) Names() []string { return slices.Clone(r.names) }

// Catalog returns a read-only view of Layer 0 for discovery handlers (HND-R4).
func (r *Registry) Catalog() Catalog { return catalog{r} }

type catalog struct{ r *Registry }

func (c catalog) Lookup(name string) (*HandlerRegistration, bool) { return c.r.Lookup(name) }
func (c catalog) Names() []string                                 { return c.r.Names() }

// SessionOverlay is a Layer 1 set of Session registrations for one agent session. It is
// immutable once created (REG-R17); a new session state is a new overlay.
type SessionOverlay struct {
	regs  map[string]*HandlerRegistration
	names []string
}

// NewSessionOverlay validates regs against REG-R17 — Session provenance, Internal visibility,
// an authority within creator's scopes and resources, a scope — compiles their schemas and
// returns the overlay. Any violation fails the whole overlay.
func NewSessionOverlay(creator *CompositionAuthority, regs ...*HandlerRegistration) (*SessionOverlay, error) {
	o := &SessionOverlay{regs: make(map[string]*HandlerRegistration, len(regs))}
	var errs []error
	for _, reg := range regs {
		c, _, err := accept(reg, layerSession, false)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !c.Authority.within(creator) {
			errs = append(errs, &RegistrationError{Code: CodeInvalidRegistration, Op: c.Spec.Name,
				Err: errors.New("session authority is wider than its creator's (REG-R17)")})
			continue
		}
		if _, dup := o.regs[c.Spec.Name]; dup {
			errs = append(errs, &CollisionError{Op: c.Spec.Name})
			continue
		}
		o.regs[c.Spec.Name] = c
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	o.names = slices.Sorted(maps.Keys(o.regs))
	return o, nil
}

// Lookup returns the registration of name.
func (o *SessionOverlay) Lookup(name string) (*HandlerRegistration, bool) {
	reg, ok := o.regs[name]
	return reg, ok
}

// Names returns the overlay's names, sorted.
func (o *SessionOverlay) Names() []string { return slices.Clone(o.names) }

// ImportedSet is the Layer 2 container of one connection's imported operations (REG-R19). Safe
// for concurrent use. Close it when the connection ends: later lookups miss and registrations
// fail.
type ImportedSet struct {
	mu       sync.RWMutex
	regs     map[string]*HandlerRegistration // guarded by mu
	names    []string                        // guarded by mu
	closed   bool                            // guarded by mu
	compiles atomic.Int64
}

// NewImportedSet returns an empty open set.
func NewImportedSet() *ImportedSet {
	return &ImportedSet{regs: map[string]*HandlerRegistration{}}
}

// prepare validates a batch and returns the accepted copies by name.
func (s *ImportedSet) prepare(regs []*HandlerRegistration) (map[string]*HandlerRegistration, error) {
	batch := make(map[string]*HandlerRegistration, len(regs))
	var errs []error
	for _, reg := range regs {
		c, n, err := accept(reg, layerImported, false)
		s.compiles.Add(int64(n))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := batch[c.Spec.Name]; dup {
			errs = append(errs, &CollisionError{Op: c.Spec.Name})
			continue
		}
		batch[c.Spec.Name] = c
	}
	return batch, errors.Join(errs...)
}

// Register adds regs, all or nothing (REG-R18): a name repeated in the batch or already in the
// set fails with *[CollisionError], a non-leaf registration or one carrying an authority or
// scope with *[RegistrationError], a closed set with [ErrSetClosed].
func (s *ImportedSet) Register(regs ...*HandlerRegistration) error { return s.install(regs, true) }

// Replace swaps the whole content for regs atomically (a refresh, ADPT-R14). Calls in flight
// keep the registration they resolved.
func (s *ImportedSet) Replace(regs ...*HandlerRegistration) error { return s.install(regs, false) }

// install validates regs and either adds them to the set (merge) or replaces its content.
func (s *ImportedSet) install(regs []*HandlerRegistration, merge bool) error {
	batch, err := s.prepare(regs)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrSetClosed
	}
	if merge {
		for name := range batch {
			if _, dup := s.regs[name]; dup {
				return &CollisionError{Op: name}
			}
		}
		next := maps.Clone(s.regs)
		maps.Copy(next, batch)
		batch = next
	}
	s.regs = batch
	s.names = slices.Sorted(maps.Keys(batch))
	return nil
}

// Lookup returns the registration of name; it misses after Close.
func (s *ImportedSet) Lookup(name string) (*HandlerRegistration, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, false
	}
	reg, ok := s.regs[name]
	return reg, ok
}

// Names returns the names, sorted; none after Close.
func (s *ImportedSet) Names() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil
	}
	return slices.Clone(s.names)
}

// Close marks the set closed (its connection is gone). Idempotent.
func (s *ImportedSet) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// SessionSource decides, per wire call, which session overlay applies (if any). The assembly
// layer wires it into the dispatcher; how a call is tied to a session is the agent layer's
// concern. A nil result means no session layer.
type SessionSource interface {
	OverlayFor(ctx context.Context, caller *auth.Identity, metadata map[string]string) Source
}
