package baseline

import (
	"testing"
	"time"
)

// CPUTimer measures the CPU time (user + system) the whole process spends over a benchmark's
// timed loop. Both ends of every loopback pair run in the process, so per call it is the full
// cost of a call; unlike wall-clock rates it barely moves when other work shares the machine.
type CPUTimer struct{ start time.Duration }

// StartCPU starts a CPUTimer.
func StartCPU() CPUTimer { return CPUTimer{start: processCPU()} }

// Report adds cpu-us/op to b's results (nothing where the platform does not report CPU time).
// Call it right after the timed loop.
func (c CPUTimer) Report(b *testing.B) {
	end := processCPU()
	if end == 0 || b.N == 0 {
		return
	}
	b.ReportMetric(float64((end-c.start).Nanoseconds())/1e3/float64(b.N), "cpu-us/op")
}
