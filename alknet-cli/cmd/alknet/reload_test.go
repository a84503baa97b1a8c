package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// CLI-T23, CLI-R15..R17: reload applies the dynamic keys, lists static ones as
// restart_required, refuses an invalid file before signalling, and needs a running node.
func TestConfigReload(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	cfgPath := filepath.Join(n.home, ".config", "alknet", "config.toml")
	write := func(body string) {
		if err := os.MkdirAll(filepath.Dir(cfgPath), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("[log]\nlevel = \"info\"\n")
	expectError(t, n.run("", "config", "reload", "--json"), 4, "NODE_NOT_RUNNING")

	p := n.serve()
	write("[log]\nlevel = \"debug\"\n[limits]\nmax_connections_per_ip = 7\n")
	r := n.run("", "config", "reload", "--json")
	var st struct {
		Generation      int64    `json:"generation"`
		At              string   `json:"at"`
		OK              bool     `json:"ok"`
		Error           *string  `json:"error"`
		Applied         []string `json:"applied"`
		RestartRequired []string `json:"restart_required"`
	}
	decodeJSON(t, r.out, &st)
	if r.code != 0 || !st.OK || strings.Join(st.Applied, ",") != "limits.max_connections_per_ip,log.level" || len(st.RestartRequired) != 0 {
		t.Fatalf("reload: %+v %+v", r, st)
	}
	// The node now logs at debug: a call produces debug records.
	n.run("", "call", "/node/ping")
	eventually(t, "debug records after the reload", func() bool { return strings.Contains(p.stderr.String(), `"level":"debug"`) })

	write("[log]\nlevel = \"debug\"\n[limits]\nmax_connections_per_ip = 7\n[listen]\naddr = \"127.0.0.1:1\"\n")
	r = n.run("", "config", "reload", "--json")
	st.Applied, st.RestartRequired = nil, nil
	decodeJSON(t, r.out, &st)
	if r.code != 0 || strings.Join(st.RestartRequired, ",") != "listen.addr" || len(st.Applied) != 0 || st.Generation != 2 {
		t.Fatalf("static change: %+v", st)
	}
	if r := n.run("", "call", "/node/ping"); r.code != 0 {
		t.Fatalf("the node stopped answering on its address: %+v", r)
	}
	write("[log]\nlevel = \"loud\"\n")
	expectError(t, n.run("", "config", "reload", "--json"), 3, "CONFIG_INVALID")
	b, _ := os.ReadFile(filepath.Join(n.dataDir(), "reload.json"))
	var last struct {
		Generation int64 `json:"generation"`
	}
	if json.Unmarshal(b, &last) != nil || last.Generation != 2 {
		t.Fatalf("an invalid file reached the node: %s", b)
	}
	p.stop(syscall.SIGINT)
}
