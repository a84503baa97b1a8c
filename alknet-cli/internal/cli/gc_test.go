package cli_test

import (
	"bytes"
	"runtime/debug"
	"strings"
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

// CLI-B1: Main gives the collector target back (Stdio.RestoreGC) before every command but the
// one-shot client commands call, subscribe, ops list and ops schema, wherever the global flags
// stand.
func TestRestoreGCUnlessClient(t *testing.T) {
	t.Parallel()
	_, flags := isolated(t)
	noNode := []string{"--addr", "127.0.0.1:1", "--pin", "ed25519:" + strings.Repeat("ab", 32), "--connect-timeout", "1ms"}
	for _, tc := range []struct {
		args    []string
		restore bool
	}{
		{append([]string{"call", "/node/ping"}, noNode...), false},
		{append(append([]string{"--json"}, flags...), append([]string{"subscribe", "/node/heartbeat"}, noNode...)...), false},
		{append([]string{"ops", "list"}, noNode...), false},
		{append([]string{"ops", "schema", "node/ping"}, noNode...), false},
		{append(append([]string{}, flags...), "config", "paths"), true},
		{append(append([]string{}, flags...), "identity", "show"), true},
		{[]string{"ops"}, true},
		{[]string{"--version"}, true},
		{[]string{"bogus"}, true},
	} {
		calls := 0
		var out, errb bytes.Buffer
		cli.Main(t.Context(), tc.args, cli.Stdio{In: strings.NewReader(""), Out: &out, Err: &errb, RestoreGC: func() { calls++ }})
		if want := map[bool]int{true: 1, false: 0}[tc.restore]; calls != want {
			t.Errorf("%v: RestoreGC called %d times, want %d", tc.args, calls, want)
		}
	}
}
