package store

import (
	"context"
	"slices"
	"sync"

	"github.com/alknet/alknet/alknet-core/alkerr"
)

// CredentialStore keeps encrypted outbound credentials keyed by provider name (ADR-033).
// Implementations are safe for concurrent use. A missing provider is the normal case,
// never an error; backend failures carry STORE_BACKEND (CORE-R1211).
type CredentialStore interface {
	// Get returns the blob for provider; found=false with err=nil when absent.
	Get(ctx context.Context, provider string) (data EncryptedData, found bool, err error)
	// Put inserts or replaces provider's blob. An invalid name or blob is STORE_INVALID.
	Put(ctx context.Context, provider string, data EncryptedData) error
	// Delete removes provider's blob; an absent provider is not an error.
	Delete(ctx context.Context, provider string) error
}

// CredentialLister is an optional capability of a CredentialStore, found with a type
// assertion (CORE-R1213). Providers returns every stored provider name, sorted, without
// duplicates; an empty store gives an empty slice and a nil error.
type CredentialLister interface {
	Providers(ctx context.Context) ([]string, error)
}

// MaxProviderLen is the longest provider name (CORE-R1210).
const MaxProviderLen = 128

// ValidProvider reports whether name is 1–128 bytes of [A-Za-z0-9._-] (CORE-R1210).
func ValidProvider(name string) bool {
	if len(name) == 0 || len(name) > MaxProviderLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// checkPut validates a provider name and a blob for Put.
func checkPut(provider string, data EncryptedData) error {
	if !ValidProvider(provider) {
		return alkerr.New(alkerr.CodeStoreInvalid, "provider name must be 1-128 bytes of [A-Za-z0-9._-]")
	}
	if err := data.Validate(); err != nil {
		return alkerr.Wrap(alkerr.CodeStoreInvalid, "provider "+provider, err)
	}
	return nil
}

// InMemoryCredentialStore is the in-memory CredentialStore and CredentialLister. It keeps
// nothing across restarts (CORE-R1220) and copies blobs on Put and Get, so callers never
// alter stored state through slices they hold (CORE-R1212). The context arguments are
// unused: nothing blocks. It is safe for concurrent use.
type InMemoryCredentialStore struct {
	mu   sync.RWMutex
	blob map[string]EncryptedData // guarded by mu
}

var (
	_ CredentialStore  = (*InMemoryCredentialStore)(nil)
	_ CredentialLister = (*InMemoryCredentialStore)(nil)
)

// NewInMemoryCredentialStore returns a store holding copies of initial, which may be nil.
// An invalid name or blob in initial is STORE_INVALID.
func NewInMemoryCredentialStore(initial map[string]EncryptedData) (*InMemoryCredentialStore, error) {
	s := &InMemoryCredentialStore{blob: make(map[string]EncryptedData, len(initial))}
	names := make([]string, 0, len(initial))
	for name := range initial {
		names = append(names, name)
	}
	slices.Sort(names) // report the first problem deterministically
	for _, name := range names {
		if err := checkPut(name, initial[name]); err != nil {
			return nil, err
		}
		s.blob[name] = initial[name].Clone()
	}
	return s, nil
}

// Get returns a copy of provider's blob. An invalid name is simply not found.
func (s *InMemoryCredentialStore) Get(_ context.Context, provider string) (EncryptedData, bool, error) {
	if !ValidProvider(provider) {
		return EncryptedData{}, false, nil
	}
	s.mu.RLock()
	d, ok := s.blob[provider]
	s.mu.RUnlock()
	if !ok {
		return EncryptedData{}, false, nil
	}
	return d.Clone(), true, nil
}

// Put validates provider and data and stores a copy of data.
func (s *InMemoryCredentialStore) Put(_ context.Context, provider string, data EncryptedData) error {
	if err := checkPut(provider, data); err != nil {
		return err
	}
	c := data.Clone()
	s.mu.Lock()
	s.blob[provider] = c
	s.mu.Unlock()
	return nil
}

// Delete removes provider's blob; an absent or invalid provider is not an error.
func (s *InMemoryCredentialStore) Delete(_ context.Context, provider string) error {
	s.mu.Lock()
	delete(s.blob, provider)
	s.mu.Unlock()
	return nil
}

// Providers returns the stored provider names, sorted.
func (s *InMemoryCredentialStore) Providers(context.Context) ([]string, error) {
	s.mu.RLock()
	out := make([]string, 0, len(s.blob))
	for name := range s.blob {
		out = append(out, name)
	}
	s.mu.RUnlock()
	slices.Sort(out)
	return out, nil
}
