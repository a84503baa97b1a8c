// Package wire is the codec of the alknet call protocol (ALPN "alknet/call"): length-prefixed
// frames, the EventEnvelope, the payloads of the five event types, and the JSON form of
// [callerr.CallError]. Everything here is wire format and therefore a one-way door
// (call-protocol.md §4–§6, §21).
//
// A frame is a 4-byte big-endian length N (1 ≤ N ≤ [MaxFrameSize]) followed by N bytes of UTF-8
// JSON holding one envelope {"type","id","payload"}. Decoding is strict in the places where Go's
// encoding/json is lax and serde-based peers are not: keys match byte for byte, known keys may not
// repeat, invalid UTF-8 is rejected, and numbers are kept as raw text (CALLP-R17, R21, R22, R25).
// Encoding is canonical: compact, keys in the documented order, no HTML escaping (CALLP-R26).
//
// The package is pure: it starts no goroutines and knows nothing of QUIC. [FrameWriter] is safe for
// concurrent use; [FrameReader] is used by one goroutine.
package wire
