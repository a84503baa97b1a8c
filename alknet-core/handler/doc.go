// Package handler defines the protocol-handler contract and the immutable registry the
// endpoint dispatches through (spec core.md §2 and §5).
//
// A [ProtocolHandler] claims one ALPN and receives whole connections negotiated for it. The
// assembly layer adds every handler to a [RegistryBuilder] and calls [RegistryBuilder.Build];
// the resulting [Registry] never changes (CORE-R510), so lookups need no lock. alknet's own
// protocols use ALPNs of the form alknet/<name> (CORE-R502), checked by [ValidateALPN].
package handler
