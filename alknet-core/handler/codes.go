package handler

import "github.com/alknet/alknet/alknet-core/alkerr"

// Sentinel errors of this package; errors.Is matches any error carrying the same code.
var (
	// ErrALPNInvalid reports an ALPN string that breaks the convention of CORE-R502/R503
	// (ALPN_INVALID). The returned error's message names the problem.
	ErrALPNInvalid = alkerr.New(alkerr.CodeALPNInvalid, "invalid ALPN")
	// ErrALPNConflict reports a second handler for an ALPN already registered (ALPN_CONFLICT).
	ErrALPNConflict = alkerr.New(alkerr.CodeALPNConflict, "ALPN already registered")
	// ErrRegistrySealed reports an Add or Build after Build (REGISTRY_SEALED).
	ErrRegistrySealed = alkerr.New(alkerr.CodeRegistrySealed, "registry already built")
)

// codes lists the codes this package returns; a test checks each appears in docs/errors.md.
var codes = []alkerr.Code{
	alkerr.CodeALPNInvalid,
	alkerr.CodeALPNConflict,
	alkerr.CodeRegistrySealed,
	alkerr.CodeConfigInvalid,
}
