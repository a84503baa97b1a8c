package handler

import (
	"fmt"
	"slices"

	"github.com/alknet/alknet/alknet-core/alkerr"
)

// RegistryBuilder collects handlers before the endpoint starts. It is not safe for
// concurrent use; the assembly layer fills it from one goroutine and calls Build once.
type RegistryBuilder struct {
	handlers map[string]ProtocolHandler
	order    []string
	sealed   bool
}

// NewRegistryBuilder returns an empty builder.
func NewRegistryBuilder() *RegistryBuilder {
	return &RegistryBuilder{handlers: make(map[string]ProtocolHandler)}
}

// Add registers h under h.ALPN(), which is read exactly once. It returns an error matching
// [ErrALPNInvalid] for an ALPN that fails [ValidateALPN], [ErrALPNConflict] when another
// handler already claims the ALPN (the builder stays usable for other ALPNs), and
// [ErrRegistrySealed] after Build. A nil handler is a CONFIG_INVALID error.
func (b *RegistryBuilder) Add(h ProtocolHandler) error {
	if b.sealed {
		return ErrRegistrySealed
	}
	if h == nil {
		return alkerr.New(alkerr.CodeConfigInvalid, "nil protocol handler")
	}
	alpn := h.ALPN()
	if err := ValidateALPN(alpn); err != nil {
		return err
	}
	if _, dup := b.handlers[alpn]; dup {
		return alkerr.New(alkerr.CodeALPNConflict, fmt.Sprintf("ALPN %q already registered", alpn))
	}
	b.handlers[alpn] = h
	b.order = append(b.order, alpn)
	return nil
}

// Build seals the builder and returns the immutable registry. An empty builder gives a
// CONFIG_INVALID error and stays open; after a successful Build, Add and Build return
// [ErrRegistrySealed].
func (b *RegistryBuilder) Build() (*Registry, error) {
	if b.sealed {
		return nil, ErrRegistrySealed
	}
	if len(b.order) == 0 {
		return nil, alkerr.New(alkerr.CodeConfigInvalid, "handler registry: no handler registered")
	}
	b.sealed = true
	r := &Registry{handlers: make(map[string]ProtocolHandler, len(b.handlers)), order: slices.Clone(b.order)}
	for k, v := range b.handlers {
		r.handlers[k] = v
	}
	return r, nil
}

// Registry maps ALPNs to handlers. It never changes after Build (CORE-R510) and is safe for
// concurrent use without locks.
type Registry struct {
	handlers map[string]ProtocolHandler
	order    []string
}

// Lookup returns the handler registered for alpn.
func (r *Registry) Lookup(alpn string) (ProtocolHandler, bool) {
	h, ok := r.handlers[alpn]
	return h, ok
}

// ALPNs returns a copy of the registered ALPNs in registration order, which is the order the
// endpoint advertises (CORE-R511).
func (r *Registry) ALPNs() []string { return slices.Clone(r.order) }

// Len returns the number of registered handlers.
func (r *Registry) Len() int { return len(r.order) }
