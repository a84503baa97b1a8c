package main_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// CLI-T1 as real processes: --version, help, usage errors with suggestions and exit 2.
func TestProcessBasics(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	r := n.run("", "--version")
	if r.code != 0 || !strings.HasPrefix(r.out, "alknet version ") || strings.Count(r.out, "\n") != 1 {
		t.Fatalf("--version: %+v", r)
	}
	if r := n.run("", "--help"); r.code != 0 || !strings.Contains(r.out, "Usage:") {
		t.Fatalf("--help: %+v", r)
	}
	r = n.run("", "config", "shw", "--json")
	je := expectError(t, r, 2, "USAGE")
	if !strings.Contains(r.err, "show") || je.Error.Message == "" {
		t.Fatalf("suggestion missing: %q", r.err)
	}
	expectError(t, n.run("", "bogus", "--json"), 2, "USAGE")
}

// CLI-R4, CLI-T34 (CONFIG_NOT_FOUND): a missing default config means embedded defaults; a
// missing --config file is exit 3. Paths follow the child's XDG environment.
func TestProcessConfigPaths(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	r := n.run("", "config", "paths", "--json")
	type path struct {
		Path   string `json:"path"`
		Source string `json:"source"`
	}
	var got struct {
		Config       path `json:"config"`
		DataDir      path `json:"data_dir"`
		Store        path `json:"store"`
		Keystore     path `json:"keystore"`
		Lock         path `json:"lock"`
		ReloadStatus path `json:"reload_status"`
	}
	decodeJSON(t, r.out, &got)
	if r.code != 0 || got.Config.Path != filepath.Join(n.home, ".config", "alknet", "config.toml") ||
		got.DataDir.Path != n.dataDir() || got.DataDir.Source != "default" {
		t.Fatalf("config paths: %+v %+v", r, got)
	}
	r = n.run("", "config", "validate", "--json")
	if r.code != 0 || !strings.Contains(r.out, `"ok":true`) {
		t.Fatalf("validate of the embedded defaults: %+v", r)
	}
	je := expectError(t, n.run("", "--config", filepath.Join(n.home, "missing.toml"), "config", "paths", "--json"), 3, "CONFIG_NOT_FOUND")
	if !strings.Contains(je.Error.Message, "missing.toml") {
		t.Fatalf("message does not name the file: %q", je.Error.Message)
	}
}
