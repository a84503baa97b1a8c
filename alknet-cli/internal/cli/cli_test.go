package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/alknet/alknet/alknet-cli/internal/cli"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type result struct {
	code     int
	out, err string
}

// runCLI runs alknet in-process with a nil terminal (CLI-R1) and, unless the test passes its
// own, a --config and --data-dir inside t.TempDir() so the real home directory is never read.
func runCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(t.Context(), args, cli.Stdio{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	return result{code, out.String(), errb.String()}
}

// isolated returns --config and --data-dir flags inside a fresh temporary directory.
func isolated(t *testing.T) (dir string, flags []string) {
	dir = t.TempDir()
	return dir, []string{"--config", filepath.Join(dir, "config.toml"), "--data-dir", filepath.Join(dir, "data")}
}

func writeConfig(t *testing.T, dir, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// jsonError decodes the CLI-R55 error object.
type jsonError struct {
	Error struct {
		Code     string         `json:"code"`
		Message  string         `json:"message"`
		ExitCode int            `json:"exit_code"`
		Details  map[string]any `json:"details"`
	} `json:"error"`
}

func decodeStrict(t *testing.T, s string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	if dec.More() {
		t.Fatalf("more than one JSON document in %q", s)
	}
}

// CLI-T1: help exits 0 everywhere; unknown commands and flags exit 2 with a suggestion, at the
// root and under a group; --version prints one line.
func TestBasics(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--help"}, {"config", "--help"}, {"config", "validate", "--help"}, {"config", "show", "--help"},
		{"config", "paths", "--help"}, {"version", "--help"}, {"completion", "--help"},
	} {
		if r := runCLI(t, "", args...); r.code != 0 || r.out == "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, r.code, r.out, r.err)
		}
	}
	r := runCLI(t, "", "--version")
	if r.code != 0 || !strings.HasPrefix(r.out, "alknet version ") || strings.Count(r.out, "\n") != 1 {
		t.Fatalf("--version: %+v", r)
	}
	cases := []struct {
		args    []string
		suggest string
	}{
		{[]string{"bogus"}, ""},
		{[]string{"confg"}, "config"},
		{[]string{"config", "bogus"}, ""},
		{[]string{"config", "shw"}, "show"},
		{[]string{"completion", "bogus"}, ""},
		{[]string{"--no-such-flag"}, ""},
		{[]string{"version", "extra"}, ""},
		{[]string{"config", "show", "--nope"}, ""},
	}
	for _, tc := range cases {
		r := runCLI(t, "", tc.args...)
		if r.code != 2 || !strings.Contains(r.err, "(USAGE)") || !strings.Contains(r.err, tc.suggest) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 suggesting %q", tc.args, r.code, r.err, tc.suggest)
		}
		r = runCLI(t, "", append(tc.args, "--json")...)
		var je jsonError
		decodeStrict(t, r.out, &je)
		if r.code != 2 || je.Error.Code != "USAGE" || je.Error.ExitCode != 2 {
			t.Errorf("%v --json: exit %d, %+v", tc.args, r.code, je)
		}
	}
}

// CLI-R77: version --json has exactly the documented fields.
func TestVersionJSON(t *testing.T) {
	t.Parallel()
	r := runCLI(t, "", "version", "--json")
	var v struct {
		Version   string            `json:"version"`
		Commit    *string           `json:"commit"`
		GoVersion string            `json:"go_version"`
		Modules   map[string]string `json:"modules"`
	}
	decodeStrict(t, r.out, &v)
	if r.code != 0 || v.Version == "" || !strings.HasPrefix(v.GoVersion, "go") || v.Modules == nil {
		t.Fatalf("version --json: %+v %+v", r, v)
	}
	if !strings.Contains(r.out, `"commit":`) {
		t.Fatalf("commit field missing: %s", r.out)
	}
}

// CLI-T2: completion scripts for every shell.
func TestCompletion(t *testing.T) {
	t.Parallel()
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		r := runCLI(t, "", "completion", sh)
		if r.code != 0 || len(r.out) < 100 {
			t.Errorf("completion %s: exit %d, %d bytes", sh, r.code, len(r.out))
		}
	}
}

// CLI-R6, CLI-R77: config paths with sources.
func TestConfigPaths(t *testing.T) {
	t.Parallel()
	dir, flags := isolated(t)
	writeConfig(t, dir, "")
	r := runCLI(t, "", append(flags, "config", "paths", "--json")...)
	type p struct {
		Path   string `json:"path"`
		Source string `json:"source"`
	}
	var got struct {
		Config       p `json:"config"`
		DataDir      p `json:"data_dir"`
		Store        p `json:"store"`
		Keystore     p `json:"keystore"`
		Lock         p `json:"lock"`
		ReloadStatus p `json:"reload_status"`
	}
	decodeStrict(t, r.out, &got)
	data := filepath.Join(dir, "data")
	if r.code != 0 || got.Config != (p{filepath.Join(dir, "config.toml"), "flag"}) ||
		got.DataDir != (p{data, "flag"}) || got.Store != (p{filepath.Join(data, "alknet.db"), "flag"}) ||
		got.Lock.Path != filepath.Join(data, "serve.lock") || got.ReloadStatus.Path != filepath.Join(data, "reload.json") {
		t.Fatalf("config paths: %+v %+v", r, got)
	}
	// --config names a file that does not exist: exit 3 CONFIG_NOT_FOUND (CLI-R4).
	_ = os.Remove(filepath.Join(dir, "config.toml"))
	r = runCLI(t, "", append(flags, "config", "paths", "--json")...)
	var je jsonError
	decodeStrict(t, r.out, &je)
	if r.code != 3 || je.Error.Code != "CONFIG_NOT_FOUND" {
		t.Fatalf("missing --config: %+v", r)
	}
	// With a config file, store.path comes from it.
	writeConfig(t, dir, "[store]\npath = \"other.db\"\n")
	r = runCLI(t, "", "--config", filepath.Join(dir, "config.toml"), "config", "paths", "--json")
	decodeStrict(t, r.out, &got)
	if got.Store != (p{filepath.Join(dir, "other.db"), "config"}) {
		t.Fatalf("store from config: %+v", got)
	}
}

// CLI-T22, cli.md §7.10: validate reports positioned problems (exit 3) or ok (exit 0).
func TestConfigValidate(t *testing.T) {
	t.Parallel()
	dir, flags := isolated(t)
	type report struct {
		OK     bool `json:"ok"`
		Errors []struct {
			Path    string `json:"path"`
			Line    int    `json:"line"`
			Column  int    `json:"column"`
			Message string `json:"message"`
		} `json:"errors"`
		Warnings []json.RawMessage `json:"warnings"`
	}
	writeConfig(t, dir, "[listen]\naddr = \"127.0.0.1:0\"\n")
	r := runCLI(t, "", append(flags, "config", "validate", "--json")...)
	var rep report
	decodeStrict(t, r.out, &rep)
	if r.code != 0 || !rep.OK || rep.Errors == nil || rep.Warnings == nil {
		t.Fatalf("valid file: %+v %+v", r, rep)
	}

	cases := []struct{ body, path, part string }{
		{"[listen\n", "", "]"},
		{"[listen]\nadr = \"x:1\"\n", "listen.adr", "unknown key"},
		{"[auth]\nprovider = \"config\"\n", "auth.provider", "deferred"},
		{"[store]\nauto_migrate = true\n", "store.auto_migrate", "deferred"},
		{"[call]\nenabled = true\n", "call.enabled", "deferred"},
	}
	for _, tc := range cases {
		writeConfig(t, dir, tc.body)
		r := runCLI(t, "", append(flags, "config", "validate", "--json")...)
		var rep report
		decodeStrict(t, r.out, &rep)
		if r.code != 3 || rep.OK || len(rep.Errors) == 0 || rep.Errors[0].Path != tc.path ||
			rep.Errors[0].Line == 0 || !strings.Contains(rep.Errors[0].Message, tc.part) {
			t.Errorf("%q: exit %d %+v", tc.body, r.code, rep)
		}
		// Human form: file:line:column on stdout, the error line on stderr.
		r = runCLI(t, "", append(flags, "config", "validate")...)
		if r.code != 3 || !strings.Contains(r.out, filepath.Join(dir, "config.toml")+":"+"") || !strings.Contains(r.err, "CONFIG_INVALID") {
			t.Errorf("%q human: %+v", tc.body, r)
		}
		// Every other command that loads the config fails the same way (CLI-R13).
		r = runCLI(t, "", append(flags, "config", "paths", "--json")...)
		var je jsonError
		decodeStrict(t, r.out, &je)
		if r.code != 3 || je.Error.Code != "CONFIG_INVALID" || !strings.Contains(je.Error.Message, ":") {
			t.Errorf("%q config paths: %+v", tc.body, r)
		}
	}

	// The template written by init validates (CLI-T22).
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(templateForTest()), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "", append(flags, "config", "validate")...); r.code != 0 {
		t.Fatalf("template: %+v", r)
	}
}

// config show prints the effective configuration as TOML or JSON.
func TestConfigShow(t *testing.T) {
	t.Parallel()
	dir, flags := isolated(t)
	writeConfig(t, dir, "[call]\nany_policy = \"round-robin\"\n")
	r := runCLI(t, "", append(flags, "config", "show")...)
	if r.code != 0 || !strings.Contains(r.out, "any_policy = 'round-robin'") || !strings.Contains(r.out, "poll_interval = '50ms'") {
		t.Fatalf("config show: %+v", r)
	}
	r = runCLI(t, "", append(flags, "config", "show", "--json")...)
	var m map[string]any
	if err := json.Unmarshal([]byte(r.out), &m); err != nil || r.code != 0 {
		t.Fatalf("config show --json: %v %+v", err, r)
	}
	if m["call"].(map[string]any)["any_policy"] != "round-robin" || m["store"].(map[string]any)["busy_timeout"] != "5s" {
		t.Fatalf("config show --json = %v", m)
	}
	r = runCLI(t, "", append(flags, "config", "show", "--defaults")...)
	if r.code != 0 || !strings.Contains(r.out, "any_policy = 'first'") {
		t.Fatalf("config show --defaults: %+v", r)
	}
}
