//go:build !linux

package cli

import "golang.org/x/sys/unix"

// disableCoreDumps sets RLIMIT_CORE to 0 (CLI-R26); PR_SET_DUMPABLE is Linux only.
func disableCoreDumps() error {
	return unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0})
}
