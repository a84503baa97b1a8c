// Package baseline holds the reference implementations alknet's benchmarks are measured against in
// the same run: a raw quic-go echo that uses alknet's 4-byte length framing (a new stream per
// request, or one long-lived stream ping-ponged), and a gRPC-go unary echo over TLS.
//
// They do the least work a request/response over each transport can do, so the gap between one of
// them and alknet is the cost of alknet's own layers. Nothing here is used outside benchmarks.
package baseline
