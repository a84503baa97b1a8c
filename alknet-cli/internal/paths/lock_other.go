//go:build !linux

package paths

import (
	"runtime"

	"github.com/alknet/alknet/alknet-cli/internal/output"
)

// InstanceLock is the instance lock of CLI-R10; this build has no implementation (the flock
// fallback is deferred, cli.md §13.1).
type InstanceLock struct{}

// AcquireLock fails: v1 implements the instance lock on Linux only (CLI-R80).
func AcquireLock(path string) (*InstanceLock, error) {
	return nil, output.Errorf(output.CodeInternal,
		"the instance lock is implemented on Linux only; serve is not supported on %s in this version", runtime.GOOS)
}

// Write does nothing on this build.
func (l *InstanceLock) Write(info LockInfo) error { return nil }

// Release does nothing on this build.
func (l *InstanceLock) Release() error { return nil }

// ProbeLock reports NotRunning: without the Linux lock no node can be running (CLI-R80).
func ProbeLock(path string) (NodeState, LockInfo, error) { return NotRunning, LockInfo{}, nil }
