package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binary is the alknet binary built once for this package's tests (CLI-R78).
var binary string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "alknet-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "alknet")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "github.com/alknet/alknet/alknet-cli/cmd/alknet")
	cmd := exec.Command("go", args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build alknet:", err)
		return 1
	}
	return m.Run()
}

// node is an isolated home for child processes: HOME and the XDG directories inside
// t.TempDir(), so the developer's config and data are never touched (CLI-R78).
type node struct {
	t    testing.TB
	home string
	env  []string
}

func newNode(t testing.TB) *node {
	t.Helper()
	home := t.TempDir()
	env := []string{
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		"PATH=" + os.Getenv("PATH"),
	}
	if raceEnabled {
		env = append(env, "GORACE=atexit_sleep_ms=0")
	}
	return &node{t: t, home: home, env: env}
}

// dataDir is the default data directory of this node's environment.
func (n *node) dataDir() string { return filepath.Join(n.home, ".local", "share", "alknet") }

type procResult struct {
	code     int
	out, err string
}

// command prepares a child in a new session without a controlling terminal (Setsid), so it can
// never prompt on the developer's terminal (CLI-R78).
func (n *node) command(ctx context.Context, stdin string, extraEnv []string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(append([]string{}, n.env...), extraEnv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	return cmd, &out, &errb
}

// run runs alknet to completion with a deadline and checks for data races in the child.
func (n *node) run(stdin string, args ...string) procResult {
	return n.runEnv(stdin, nil, args...)
}

func (n *node) runEnv(stdin string, extraEnv []string, args ...string) procResult {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(n.t.Context(), 60*time.Second)
	defer cancel()
	cmd, out, errb := n.command(ctx, stdin, extraEnv, args...)
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			n.t.Fatalf("run alknet %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	r := procResult{code, out.String(), errb.String()}
	checkRace(n.t, r.code, r.err)
	return r
}

func checkRace(t testing.TB, code int, stderr string) {
	t.Helper()
	if strings.Contains(stderr, "WARNING: DATA RACE") || code == 66 {
		t.Fatalf("data race in child (exit %d):\n%s", code, stderr)
	}
}

// jsonErr is the CLI-R55 error object.
type jsonErr struct {
	Error struct {
		Code     string         `json:"code"`
		Message  string         `json:"message"`
		ExitCode int            `json:"exit_code"`
		Details  map[string]any `json:"details"`
	} `json:"error"`
}

func decodeJSON(t *testing.T, s string, v any) {
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

// expectError checks an exit code and the --json error code.
func expectError(t *testing.T, r procResult, exit int, code string) jsonErr {
	t.Helper()
	var je jsonErr
	decodeJSON(t, r.out, &je)
	if r.code != exit || je.Error.Code != code || je.Error.ExitCode != exit {
		t.Fatalf("exit %d, error %+v (stderr %q); want exit %d %s", r.code, je.Error, r.err, exit, code)
	}
	return je
}

func readAll(p string) (string, error) {
	b, err := os.ReadFile(p)
	return string(b), err
}
