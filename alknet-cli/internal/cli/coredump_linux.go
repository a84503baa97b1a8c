//go:build linux

package cli

import "golang.org/x/sys/unix"

// disableCoreDumps makes the process non-dumpable and sets RLIMIT_CORE to 0 (CLI-R26), so a
// crash cannot write the seed or keys to disk.
func disableCoreDumps() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return err
	}
	return unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0})
}
