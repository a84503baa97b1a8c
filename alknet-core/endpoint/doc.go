// Package endpoint accepts QUIC connections and dispatches each one to exactly one protocol
// handler by its negotiated ALPN (spec core.md §4 and §6).
//
// An [Endpoint] owns one UDP socket, one quic-go transport and listener, one goroutine per
// live connection (which recovers handler panics, CORE-R413), and, when its identity provider
// can change, one watcher goroutine that re-checks live connections after every change
// (CORE-R440). [Endpoint.Shutdown] really drains: it stops accepting, cancels every handler's
// context, waits up to the drain timeout, then force-closes what is left (CORE-R450).
//
// Close codes 0x00–0x05 ([CloseNormal] … [CloseRateLimited]) are wire-visible diagnostics;
// handlers use codes ≥ 0x100.
package endpoint
