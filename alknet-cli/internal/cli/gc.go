package cli

import "runtime/debug"

// ShortLivedGCPercent is the garbage collector's target while a command runs (CLI-B1). Package
// initialisation leaves about 2.5 MB on the heap (1.7 MB of it the JSON Schema library's compiled
// meta-schemas), just under the point where the runtime starts its first collection (goal 4 MB at
// the default of 100), so the few hundred kilobytes of a QUIC handshake and one call started a
// collection in the middle of nearly every `alknet call`. At 400 the first goal is 16 MB, which a
// one-shot command never reaches and a subscription's small live heap keeps bounded. serve, which
// runs for long, gets the previous target back through Stdio.Serving.
const ShortLivedGCPercent = 400

// ShortLivedGC sets ShortLivedGCPercent for the process and returns the function that restores
// the target it replaced. The binary calls it first thing in main. The environment is not read
// (CLI-R20): the runtime has already applied GOGC, so a target other than the default 100 was set
// there, and it wins; only an explicit GOGC=100 cannot be told apart from none.
func ShortLivedGC() (restore func()) {
	prev := debug.SetGCPercent(ShortLivedGCPercent)
	if prev != 100 {
		debug.SetGCPercent(prev)
	}
	return func() { debug.SetGCPercent(prev) }
}
