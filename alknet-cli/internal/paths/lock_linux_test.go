//go:build linux

package paths_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-cli/internal/output"
	"github.com/alknet/alknet/alknet-cli/internal/paths"
)

// CLI-R10, CLI-R11: one holder; a second acquisition (another open file description, here in
// the same process) is INSTANCE_RUNNING; probing never takes the lock and reports the states.
func TestInstanceLock(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "serve.lock")

	if st, _, err := paths.ProbeLock(p); err != nil || st != paths.NotRunning {
		t.Fatalf("probe of a missing file = %v, %v", st, err)
	}
	l, err := paths.AcquireLock(p)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("lock file mode = %v, %v", fi.Mode(), err)
	}
	if st, _, err := paths.ProbeLock(p); err != nil || st != paths.Starting {
		t.Fatalf("probe of an empty held lock = %v, %v", st, err)
	}
	_, err = paths.AcquireLock(p)
	if e, ok := errors.AsType[*output.Error](err); !ok || e.Code != output.CodeInstanceRunning {
		t.Fatalf("second acquire while starting = %v", err)
	}

	info := paths.LockInfo{PID: 4242, StartedAt: time.Unix(1700000000, 0).UTC(), Version: "v1",
		Listen: "127.0.0.1:4433", Fingerprint: "ed25519:00", ALPNs: []string{"alknet/call"}}
	if err := l.Write(info); err != nil {
		t.Fatal(err)
	}
	st, got, err := paths.ProbeLock(p)
	if err != nil || st != paths.Running || got.PID != 4242 || got.Listen != info.Listen || !got.StartedAt.Equal(info.StartedAt) {
		t.Fatalf("probe of a running node = %v, %+v, %v", st, got, err)
	}
	_, err = paths.AcquireLock(p)
	e, ok := errors.AsType[*output.Error](err)
	if !ok || e.Code != output.CodeInstanceRunning || e.Details["pid"] != 4242 || output.ExitCode(e.Code) != 5 {
		t.Fatalf("second acquire while running = %v", err)
	}

	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	if st, _, err := paths.ProbeLock(p); err != nil || st != paths.NotRunning {
		t.Fatalf("probe after release = %v, %v", st, err)
	}
	b, err := os.ReadFile(p)
	if err != nil || len(b) != 0 {
		t.Fatalf("lock file after release = %q, %v (want it present and empty)", b, err)
	}
	l2, err := paths.AcquireLock(p)
	if err != nil {
		t.Fatalf("acquire after release: %v", err)
	}
	l2.Release()
}
