package cli

import (
	"runtime/debug"

	"github.com/spf13/cobra"
)

// ShortLivedGCPercent is the garbage collector's target of the one-shot client commands (call,
// subscribe, ops; CLI-B1). Package initialisation leaves about 2.5 MB on the heap (1.7 MB of it the
// JSON Schema library's compiled meta-schemas), just under the point where the runtime starts its
// first collection (goal 4 MB at the default of 100), so the few hundred kilobytes of the command
// tree, a QUIC handshake and one call started a collection in the middle of nearly every `alknet
// call`. At 400 the first goal is 16 MB, which a one-shot call never reaches and a subscription's
// small live heap keeps bounded.
const ShortLivedGCPercent = 400

// ShortLivedGC sets ShortLivedGCPercent for the process and returns the function that restores
// the target it replaced. The binary calls it first thing in main, before the command tree is
// built, and passes the function as Stdio.RestoreGC: Main calls it for every command but the
// client ones, so serve and the commands that run Argon2id keep the runtime's default. The
// environment is not read (CLI-R20): the runtime has already applied GOGC, so a target other than
// the default 100 was set there, and it wins; only an explicit GOGC=100 cannot be told apart from
// none.
func ShortLivedGC() (restore func()) {
	prev := debug.SetGCPercent(ShortLivedGCPercent)
	if prev != 100 {
		debug.SetGCPercent(prev)
	}
	return func() { debug.SetGCPercent(prev) }
}

// clientAnnotation marks the commands that connect to a node and run one request (connFlags).
const clientAnnotation = "alknet/one-shot-client"

// restoreGCUnlessClient calls restore unless args select a one-shot client command; cobra's
// Find is the lookup Execute itself does.
func restoreGCUnlessClient(root *cobra.Command, args []string, restore func()) {
	if restore == nil {
		return
	}
	if c, _, err := root.Find(args); err == nil && c.Annotations[clientAnnotation] != "" {
		return
	}
	restore()
}
