//go:build !unix

package baseline

import "time"

// processCPU reports 0: CPU time is measured on unix platforms only.
func processCPU() time.Duration { return 0 }
