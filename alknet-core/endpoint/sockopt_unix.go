//go:build unix

package endpoint

import (
	"net"
	"syscall"
)

// bufferSizes reads the socket's SO_RCVBUF and SO_SNDBUF as the kernel reports them (Linux
// reports twice the size it granted). ok is false when they cannot be read.
func bufferSizes(c *net.UDPConn) (recv, send int, ok bool) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, 0, false
	}
	var rerr, serr error
	if err := rc.Control(func(fd uintptr) {
		recv, rerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		send, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
	}); err != nil || rerr != nil || serr != nil {
		return 0, 0, false
	}
	return recv, send, true
}
