package cli_test

import (
	"runtime/debug"
	"testing"

	"github.com/alknet/alknet/alknet-cli/internal/cli"
)

// CLI-B1: short-lived commands run at ShortLivedGCPercent unless GOGC chose another target, and
// the returned function gives back the target that was replaced.
func TestShortLivedGC(t *testing.T) {
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(orig) })

	restore := cli.ShortLivedGC()
	if got := debug.SetGCPercent(cli.ShortLivedGCPercent); got != cli.ShortLivedGCPercent {
		t.Fatalf("GC target after ShortLivedGC = %d, want %d", got, cli.ShortLivedGCPercent)
	}
	restore()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GC target after restore = %d, want the runtime default 100", got)
	}

	for _, env := range []int{50, -1} { // GOGC=50, GOGC=off
		debug.SetGCPercent(env)
		restore := cli.ShortLivedGC()
		if got := debug.SetGCPercent(env); got != env {
			t.Fatalf("GOGC target %d replaced by %d", env, got)
		}
		restore()
		if got := debug.SetGCPercent(100); got != env {
			t.Fatalf("restore after GOGC target %d gave %d", env, got)
		}
	}
}
