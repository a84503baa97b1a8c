//go:build linux

package paths

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/alknet/alknet/alknet-cli/internal/output"
)

// maxLockContent bounds what a reader takes from a lock file.
const maxLockContent = 64 << 10

// InstanceLock is the exclusive open-file-description lock `serve` holds on
// <data_dir>/serve.lock for its lifetime (CLI-R10). The kernel drops it when the process dies,
// so a crash never leaves a stale lock. The file is never renamed or deleted: its content is
// written in place through the locked descriptor.
type InstanceLock struct {
	f *os.File
}

// AcquireLock takes the instance lock at path, creating the file with mode 0600. When another
// open file description holds it the error is INSTANCE_RUNNING (exit 5) naming the PID found in
// the file, or saying that another instance is starting while the file is still empty.
func AcquireLock(path string) (*InstanceLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, FileMode)
	if err != nil {
		return nil, fmt.Errorf("open instance lock %s: %w", path, err)
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
			b, _ := io.ReadAll(io.LimitReader(f, maxLockContent))
			f.Close()
			return nil, runningError(path, b)
		}
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &InstanceLock{f: f}, nil
}

func runningError(path string, content []byte) error {
	if li, ok := parseLockInfo(content); ok {
		return output.Errorf(output.CodeInstanceRunning,
			"another alknet node (pid %d) is already serving from this data directory (lock %s)", li.PID, path).
			WithHint("stop that node first, or use another --data-dir").WithDetail("pid", li.PID)
	}
	return output.Errorf(output.CodeInstanceRunning,
		"another alknet node is starting in this data directory (lock %s)", path).
		WithHint("wait for it, or use another --data-dir")
}

// Write replaces the lock file's content with info, in place through the locked descriptor
// (truncate, write, fsync; CLI-R10).
func (l *InstanceLock) Write(info LockInfo) error {
	b, err := json.Marshal(info)
	if err != nil {
		return fmt.Errorf("encode lock content: %w", err)
	}
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("write lock %s: %w", l.f.Name(), err)
	}
	if _, err := l.f.WriteAt(append(b, '\n'), 0); err != nil {
		return fmt.Errorf("write lock %s: %w", l.f.Name(), err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("write lock %s: %w", l.f.Name(), err)
	}
	return nil
}

// Release truncates the file to empty and closes it, which drops the lock. The file itself
// stays (CLI-R10). Release is idempotent.
func (l *InstanceLock) Release() error {
	if l.f == nil {
		return nil
	}
	terr := l.f.Truncate(0)
	if terr == nil {
		terr = l.f.Sync()
	}
	cerr := l.f.Close()
	l.f = nil
	return errors.Join(terr, cerr)
}

// ProbeLock tests the instance lock without taking it (CLI-R11): F_OFD_GETLK reports a holder,
// also one in this same process through another descriptor. Held with valid content is
// Running with the content; held and empty (or not yet valid JSON) is Starting; a missing file
// or a free lock is NotRunning.
func ProbeLock(path string) (NodeState, LockInfo, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return NotRunning, LockInfo{}, nil
	}
	if err != nil {
		return NotRunning, LockInfo{}, fmt.Errorf("open instance lock %s: %w", path, err)
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_GETLK, &lk); err != nil {
		return NotRunning, LockInfo{}, fmt.Errorf("test instance lock %s: %w", path, err)
	}
	if lk.Type == unix.F_UNLCK {
		return NotRunning, LockInfo{}, nil
	}
	b, err := io.ReadAll(io.LimitReader(f, maxLockContent))
	if err != nil {
		return Starting, LockInfo{}, nil
	}
	if li, ok := parseLockInfo(b); ok {
		return Running, li, nil
	}
	return Starting, LockInfo{}, nil
}
