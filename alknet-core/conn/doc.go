// Package conn defines the connection and stream abstractions protocol handlers program
// against (spec core.md §3).
//
// A [Connection] wraps a [StreamSource]: package quictransport supplies one over a QUIC
// connection, and [NewStreamConn] supplies one over any io.ReadWriteCloser (a TLS-over-TCP
// connection, an SSH channel, one end of net.Pipe). Handlers only see [Connection] and
// [BiStream] and never branch on the transport kind; a protocol that behaves differently on
// a connection carrying exactly one stream asks [Connection.SingleStream] (CORE-R306).
//
// Errors that callers act on match the sentinels of this package with errors.Is and carry
// a stable code (see codes.go); the transport's own error stays reachable with errors.As.
package conn
