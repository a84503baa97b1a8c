// Package config holds the node's configuration (spec core.md §11): the [StaticConfig] fixed
// for an endpoint's lifetime, the hot-reloadable [DynamicConfig] (peers, API keys, rate
// limits), the [Dynamic] holder that swaps it atomically, and the [ReloadHandle] through which
// it changes.
//
// Validation reports every problem at once as one CONFIG_INVALID error ([ErrInvalid]) whose
// message names each field by its path: StaticConfig fields by their Go names
// (QUIC.MaxIncomingStreams), DynamicConfig fields by their JSON names
// (auth.peers[2].fingerprints[0], rate_limits.max_auth_attempts). Struct-level rules are
// go-playground/validator tags; the policy's cross-record rules are auth.Compile's.
//
// Reload trust boundary (CORE-R1122): a reload that adds a fingerprint or key grants access
// at once, so the [ReloadHandle] is a capability. Only local triggers of the assembly layer
// (SIGHUP, a watched local file, an in-process command) and network operations that
// authenticated their caller and checked the admin scope ([AuthorizeReload]) may reach it.
// Core exposes no network path to it.
package config
