package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ptyProc is alknet with a pseudo-terminal as its controlling terminal (CLI-R78: the only
// tests that give a child a terminal). stdin, stdout and stderr stay separate from it.
type ptyProc struct {
	*proc
	ptmx   *os.File
	screen *lockedBuffer // everything written to the terminal
	seen   int           // offset already matched by expect
}

func (n *node) startPTY(args ...string) *ptyProc {
	n.t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		n.t.Skipf("no pseudo-terminal: %v", err)
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = n.env
	cmd.ExtraFiles = []*os.File{tty} // fd 3 in the child
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 3}
	p := &proc{t: n.t, cmd: cmd, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	tty.Close() // the child holds its own copy; the master then reads EIO once it exits
	pp := &ptyProc{proc: p, ptmx: ptmx, screen: &lockedBuffer{}}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		b := make([]byte, 4096)
		for {
			k, err := ptmx.Read(b)
			pp.screen.Write(b[:k])
			if err != nil {
				return
			}
		}
	}()
	go func() {
		defer close(p.done)
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			p.exitCode = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				p.exitCode = 128 + int(ws.Signal())
			}
		}
	}()
	n.t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		<-readDone
		ptmx.Close()
		checkRace(n.t, p.exitCode, p.stderr.String())
	})
	return pp
}

// expect waits until the terminal shows s after what earlier calls matched, and returns the
// text up to and including it.
func (pp *ptyProc) expect(s string) string {
	pp.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		all := pp.screen.String()
		if i := strings.Index(all[pp.seen:], s); i >= 0 {
			out := all[pp.seen : pp.seen+i+len(s)]
			pp.seen += i + len(s)
			return out
		}
		select {
		case <-pp.done:
			pp.t.Fatalf("exited %d while waiting for %q; screen:\n%s\nstderr:\n%s", pp.exitCode, s, all, pp.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			pp.t.Fatalf("timed out waiting for %q; screen:\n%s", s, all)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (pp *ptyProc) send(s string) {
	pp.t.Helper()
	if _, err := pp.ptmx.Write([]byte(s)); err != nil {
		pp.t.Fatal(err)
	}
}

var wordLine = regexp.MustCompile(`\s*(\d+)\. (\S+)`)

// CLI-T6: interactive init through a pseudo-terminal.
func TestInteractiveInit(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	args := append([]string{"init", "--words", "12"}, minKDF...)
	pp := n.startPTY(args...)
	pp.expect("New keystore passphrase: ")
	pp.send("first\r")
	pp.expect("Repeat the keystore passphrase: ")
	pp.send("second\r")
	pp.expect("differ")
	pp.expect("New keystore passphrase: ")
	pp.send("\r")
	pp.expect("must not be empty")
	pp.expect("New keystore passphrase: ")
	pp.send("right horse\r")
	pp.expect("Repeat the keystore passphrase: ")
	pp.send("right horse\r")
	shown := pp.expect("Type word #")
	words := map[int]string{}
	for _, m := range wordLine.FindAllStringSubmatch(shown, -1) {
		i, _ := strconv.Atoi(m[1])
		words[i] = m[2]
	}
	if len(words) != 12 {
		t.Fatalf("mnemonic display has %d numbered words:\n%s", len(words), shown)
	}
	const ask = " to confirm you wrote it down: "
	for k := range 2 {
		if k == 1 {
			pp.expect("Type word #")
		}
		numText := pp.expect(ask)
		num, err := strconv.Atoi(strings.TrimSuffix(numText, ask))
		if err != nil || num < 1 || num > 12 {
			t.Fatalf("asked for word %q", numText)
		}
		if k == 0 { // a wrong word asks again
			pp.send("wrongword\r")
			pp.expect("not the word")
			pp.expect("Type word #" + strconv.Itoa(num) + ask)
		}
		pp.send(words[num] + "\r")
	}
	<-pp.done
	if pp.exitCode != 0 {
		t.Fatalf("interactive init exited %d: %s", pp.exitCode, pp.stderr.String())
	}
	for _, w := range words {
		if strings.Contains(pp.stdout.String()+pp.stderr.String(), " "+w+" ") {
			t.Fatalf("a mnemonic word reached stdout or stderr")
		}
	}
	pw := secretFile(t, "right horse")
	if r := n.run("", "identity", "show", "--verify", "--passphrase-file", pw); r.code != 0 {
		t.Fatalf("the typed passphrase does not unlock: %+v", r)
	}
}

// CLI-T6: Ctrl-C before the words are confirmed leaves no keystore and exits 130.
func TestInteractiveInitInterrupted(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	pp := n.startPTY(append([]string{"init", "--words", "12", "--no-passphrase"}, minKDF...)...)
	pp.expect("Type word #")
	pp.expect(": ")
	pp.send("\x03")
	<-pp.done
	if pp.exitCode != 130 {
		t.Fatalf("exit after Ctrl-C = %d: %s", pp.exitCode, pp.stderr.String())
	}
	if _, err := os.Stat(filepath.Join(n.dataDir(), "keystore.json")); !os.IsNotExist(err) {
		t.Fatalf("keystore left behind: %v", err)
	}
}
