// Package callerr defines the coded error of the alknet call protocol: [CallError], the six
// protocol error codes, and the cancellation causes [ErrAborted] and [ErrRevoked].
//
// It is the leaf package of the alknet-call module: wire, registry and protocol all import it,
// and it imports nothing from the module. The JSON form of a CallError (the call.error payload)
// is produced and parsed by package wire; CallError itself has no JSON tags because its wire
// encoding is strict and canonical (call-protocol.md CALLP-R44, R45).
package callerr
