package baseline

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// Latencies collects per-request durations from any number of goroutines and reports their
// percentiles as benchmark metrics.
type Latencies struct {
	mu sync.Mutex
	d  []time.Duration // guarded by mu
}

// Add records one request's duration.
func (l *Latencies) Add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// Time runs fn and records how long it took.
func (l *Latencies) Time(fn func() error) error {
	start := time.Now()
	err := fn()
	l.Add(time.Since(start))
	return err
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of the recorded durations, or 0 when none
// were recorded.
func (l *Latencies) Percentile(p float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	i = max(0, min(i, len(s)-1))
	return s[i]
}

// Report adds p50-us, p99-us and calls/s to b's results. Call it after the timed loop.
func (l *Latencies) Report(b *testing.B) {
	l.mu.Lock()
	n := len(l.d)
	l.mu.Unlock()
	if n == 0 {
		return
	}
	b.ReportMetric(float64(l.Percentile(50).Nanoseconds())/1e3, "p50-us")
	b.ReportMetric(float64(l.Percentile(99).Nanoseconds())/1e3, "p99-us")
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(n)/s, "calls/s")
	}
}
