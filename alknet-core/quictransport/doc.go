// Package quictransport adapts quic-go connections to package conn (spec core.md §3.2): [Wrap]
// turns a *quic.Conn into a *conn.Connection, [Dial] connects to a node, [ClientConfig] gives
// the dial-side quic-go settings, and [Underlying] is the escape hatch for libraries that need
// the raw QUIC connection (HTTP/3).
//
// quic-go errors are mapped to the conn sentinels (CORE-R314) with the quic-go error kept in
// the chain for errors.As.
package quictransport
