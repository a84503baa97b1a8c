//go:build !unix

package endpoint

import "net"

// bufferSizes reports the sizes as unknown where the standard library offers no getsockopt.
func bufferSizes(*net.UDPConn) (recv, send int, ok bool) { return 0, 0, false }
