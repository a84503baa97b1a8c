// Package wipe zeroes buffers that held secret material (VAULT-R90).
package wipe

import "runtime"

// Bytes overwrites every byte of b with zero. The runtime.KeepAlive call keeps
// the compiler from treating the stores as dead when b is not read again.
// A nil or empty slice is fine.
func Bytes(b []byte) {
	clear(b)
	runtime.KeepAlive(b)
}
