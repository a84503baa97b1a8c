package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(entries)
}

// serveOnce runs serve in-process until it is ready, checks one call through cli.Main, then
// cancels the ctx given to Main (CLI-R1) and waits for exit 0.
func serveOnce(t *testing.T, flags []string, dir string) {
	t.Helper()
	ready := filepath.Join(dir, "ready.json")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan result, 1)
	go func() {
		var out, errb strings.Builder
		code := mainWith(ctx, append(append([]string{}, flags...), "serve", "--ephemeral", "--listen", "127.0.0.1:0", "--ready-file", ready), &out, &errb)
		done <- result{code, out.String(), errb.String()}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(ready)
		var ri struct {
			Listen string `json:"listen"`
		}
		if err == nil && json.Unmarshal(b, &ri) == nil {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("serve ended early: %+v", r)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("serve not ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r := runCLI(t, "", append(flags, "call", "/node/ping", "--json")...); r.code != 0 {
		t.Fatalf("call: %+v", r)
	}
	cancel()
	r := <-done
	if r.code != 0 {
		t.Fatalf("serve exit %d: %s", r.code, r.err)
	}
	if _, err := os.Stat(ready); !os.IsNotExist(err) {
		t.Fatalf("ready file left behind: %v", err)
	}
}

// CLI-T31, CLI-R52: serve started and stopped 20 times in one process leaks no goroutine
// (goleak in TestMain checks after every test) and no file descriptor.
func TestServeRepeatedly(t *testing.T) {
	dir, flags := isolated(t)
	writeConfig(t, dir, "[limits]\ndrain_timeout = \"200ms\"\n")
	serveOnce(t, flags, dir) // the first run creates the store and warms up
	before := openFDs(t)
	for range 19 {
		serveOnce(t, flags, dir)
	}
	if after := openFDs(t); after > before {
		t.Fatalf("open file descriptors grew from %d to %d", before, after)
	}
}
