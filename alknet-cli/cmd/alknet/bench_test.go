package main_test

import (
	"os/exec"
	"syscall"
	"testing"
)

// BenchmarkCLI (CLI-B1) measures, side by side, the bare start of the binary (`--version`)
// and a whole `alknet call /node/ping` against a node started once and found through its lock
// file: the difference is one QUIC handshake plus one call round trip (and the client's own
// set-up). Measured only, never asserted; run it without -race.
func BenchmarkCLI(b *testing.B) {
	n := newNode(b)
	p := n.serve()
	run := func(b *testing.B, args ...string) {
		for b.Loop() {
			cmd := exec.Command(binary, args...)
			cmd.Env = n.env
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%v: %v\n%s", args, err, out)
			}
		}
	}
	b.Run("version", func(b *testing.B) { run(b, "--version") })
	b.Run("call", func(b *testing.B) { run(b, "call", "/node/ping") })
	p.stop(syscall.SIGINT)
}
