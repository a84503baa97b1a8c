// Package protocol is the per-connection engine of the alknet call protocol (ALPN
// "alknet/call", call-protocol.md): one [CallConnection] per connection, used the same way on the
// accepting side ([CallAdapter], a core ProtocolHandler) and on the dialing side (the client
// package). Either side calls the other over the same connection.
//
// The requester carries unary calls on a small pool of long-lived request streams (CALLP-R74,
// Options.RequestStreams, default 4) and gives every subscription a stream of its own, which it
// half-closes after the call.requested frame (CALLP-R72); with a negative RequestStreams every
// request gets its own stream. Answers are correlated by request id, never by stream
// (CALLP-R64). The handler side
// reads every stream concurrently with the requests it runs (CALLP-R75), dispatches each request
// through the [Invoker] (the registry's dispatch core) and writes exactly one terminal event per
// request (CALLP-R98). Aborts cascade through contexts: a received call.aborted cancels the
// request's context, and every outgoing call a handler makes with that context sends its own
// call.aborted (§12). Deadlines cross the wire as the caller's remaining budget, timeout_ms
// (§13).
//
// Goroutines: [CallConnection.Serve] owns every goroutine the engine starts for a connection and
// returns only after all of them have exited (CALLP-R99).
package protocol
