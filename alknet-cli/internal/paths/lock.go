package paths

import (
	"encoding/json"
	"time"
)

// LockInfo is the JSON object a running node writes into its lock file once bound (CLI-R10).
// It is public information: address, public fingerprint, PID.
type LockInfo struct {
	PID         int       `json:"pid"`
	StartedAt   time.Time `json:"started_at"`
	Version     string    `json:"version"`
	Listen      string    `json:"listen"`
	Fingerprint string    `json:"fingerprint"`
	ALPNs       []string  `json:"alpns"`
	MetricsAddr string    `json:"metrics_addr,omitempty"`
}

// NodeState is what a probe of the instance lock found (CLI-R11).
type NodeState int

// The states a probe reports.
const (
	NotRunning NodeState = iota // nobody holds the lock
	Starting                    // the lock is held and the file has no valid content yet
	Running                     // the lock is held and the file holds a LockInfo
)

// String names the state.
func (s NodeState) String() string {
	switch s {
	case Starting:
		return "starting"
	case Running:
		return "running"
	}
	return "not running"
}

// parseLockInfo decodes lock file content; empty or invalid content reports false.
func parseLockInfo(b []byte) (LockInfo, bool) {
	var li LockInfo
	if len(b) == 0 || json.Unmarshal(b, &li) != nil || li.PID <= 0 {
		return LockInfo{}, false
	}
	return li, true
}
