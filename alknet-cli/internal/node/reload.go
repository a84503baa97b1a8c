package node

import (
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/alknet/alknet/alknet-cli/internal/config"
	"github.com/alknet/alknet/alknet-cli/internal/logging"
	"github.com/alknet/alknet/alknet-cli/internal/paths"
	"github.com/alknet/alknet/alknet-core/auth"
	coreconfig "github.com/alknet/alknet/alknet-core/config"
)

// ReloadStatus is <data_dir>/reload.json (CLI-R17) and the serve --json "reload" event.
type ReloadStatus struct {
	Event           string   `json:"event,omitempty"`
	Generation      int64    `json:"generation"`
	At              string   `json:"at"`
	OK              bool     `json:"ok"`
	Error           *string  `json:"error"`
	Applied         []string `json:"applied"`
	RestartRequired []string `json:"restart_required"`
}

// ReadReloadStatus reads reload.json; a missing file is generation 0.
func ReadReloadStatus(path string) (ReloadStatus, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return ReloadStatus{}, nil
	}
	if err != nil {
		return ReloadStatus{}, err
	}
	var st ReloadStatus
	if err := json.Unmarshal(b, &st); err != nil {
		return ReloadStatus{}, err
	}
	return st, nil
}

// dynamicKeys are the keys a reload applies (cli.md §4.3); every other changed key is listed
// as restart_required and keeps its running value.
var dynamicKeys = map[string]bool{
	"log.level":                     true,
	"connect":                       true,
	"limits.max_connections_per_ip": true,
	"limits.max_auth_attempts":      true,
}

// flatten maps a configuration to its key paths and JSON values.
func flatten(c *config.Config) map[string]any {
	b, _ := json.Marshal(c)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	out := map[string]any{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if mm, ok := v.(map[string]any); ok && prefix != "connect" && prefix != "route" {
			for k, x := range mm {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, x)
			}
			return
		}
		out[prefix] = v
	}
	walk("", m)
	return out
}

// reloader re-reads the config file on SIGHUP and applies the dynamic keys all together, or
// nothing when the file is invalid (CLI-R15); the outcome goes to reload.json (CLI-R17).
type reloader struct {
	connect    func([]config.Connect)    // applies the [[connect]] list
	tokens     map[string]auth.AuthToken // credentials decrypted at start
	file       string
	statusPath string
	running    *config.Config // the values in force
	level      *slog.LevelVar
	levelFixed bool // --log-level or -v given: the flag wins over the file
	dyn        *coreconfig.Dynamic
	log        *slog.Logger
	generation int64
}

func (r *reloader) reload() ReloadStatus {
	r.generation++
	st := ReloadStatus{Generation: r.generation, At: time.Now().UTC().Format(time.RFC3339), Applied: []string{}, RestartRequired: []string{}}
	loaded, err := config.Load(r.file, false)
	if err != nil {
		msg := err.Error()
		st.Error = &msg
		r.log.Error("configuration reload refused; nothing changed", "err", err)
		r.write(st)
		return st
	}
	next := loaded.Config
	before, after := flatten(r.running), flatten(next)
	var changed []string
	for k, v := range after {
		if !reflect.DeepEqual(before[k], v) {
			changed = append(changed, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			changed = append(changed, k)
		}
	}
	sort.Strings(changed)
	for _, k := range changed {
		if dynamicKeys[k] {
			st.Applied = append(st.Applied, k)
		} else {
			st.RestartRequired = append(st.RestartRequired, k)
		}
	}
	// A new entry may only use a credential decrypted at start (D5): otherwise nothing changes.
	for _, e := range next.Connect {
		if _, ok := r.tokens[e.AuthCredential]; e.AuthCredential != "" && !ok {
			msg := "[[connect]] " + e.PeerID + " names credential " + e.AuthCredential + ", which was not loaded at start; restart the node to use it"
			st.Error, st.Applied, st.RestartRequired = &msg, []string{}, []string{}
			r.log.Error("configuration reload refused; nothing changed", "err", msg)
			r.write(st)
			return st
		}
	}
	// Apply everything dynamic together.
	if !r.levelFixed {
		if lv, err := logging.ParseLevel(next.Log.Level); err == nil {
			r.level.Set(lv)
		}
	}
	rl := coreconfig.RateLimitConfig{MaxConnectionsPerIP: next.Limits.MaxConnectionsPerIP, MaxAuthAttempts: next.Limits.MaxAuthAttempts}
	if err := r.dyn.ReloadHandle().Update(func(d *coreconfig.DynamicConfig) error { d.RateLimits = rl; return nil }, "local:sighup"); err != nil {
		msg := err.Error()
		st.Error = &msg
		st.Applied = []string{}
		r.write(st)
		return st
	}
	if r.connect != nil && slices.Contains(st.Applied, "connect") {
		r.connect(next.Connect)
	}
	r.running.Connect = next.Connect
	r.running.Log.Level = next.Log.Level
	r.running.Limits.MaxConnectionsPerIP = next.Limits.MaxConnectionsPerIP
	r.running.Limits.MaxAuthAttempts = next.Limits.MaxAuthAttempts
	st.OK = true
	r.log.Info("configuration reloaded", "applied", strings.Join(st.Applied, ","), "restart_required", strings.Join(st.RestartRequired, ","))
	r.write(st)
	return st
}

func (r *reloader) write(st ReloadStatus) {
	b, _ := json.Marshal(st)
	if err := paths.WriteAtomic(r.statusPath, append(b, '\n'), paths.FileMode); err != nil {
		r.log.Error("cannot write the reload status", "path", r.statusPath, "err", err)
	}
}
