package secretin_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/alknet/alknet/alknet-cli/internal/output"
	"github.com/alknet/alknet/alknet-cli/internal/secretin"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func codeOf(err error) output.Code {
	if e, ok := errors.AsType[*output.Error](err); ok {
		return e.Code
	}
	return ""
}

func writeFile(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// CLI-R22, CLI-T9: file rules.
func TestReadFile(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		content string
		mode    os.FileMode
		want    string
		code    output.Code
	}{
		{"plain", "hunter2", 0o600, "hunter2", ""},
		{"one newline stripped", "hunter2\n", 0o600, "hunter2", ""},
		{"crlf stripped", "hunter2\r\n", 0o400, "hunter2", ""},
		{"only one newline stripped", "hunter2\n\n", 0o600, "hunter2\n", ""},
		{"spaces kept", " hunter2 ", 0o600, " hunter2 ", ""},
		{"group writable", "x", 0o620, "", output.CodeInsecurePermissions},
		{"other readable", "x", 0o604, "", output.CodeInsecurePermissions},
		{"world readable", "x", 0o644, "", output.CodeInsecurePermissions},
		{"empty", "", 0o600, "", output.CodePassphraseRequired},
		{"only newline", "\n", 0o600, "", output.CodePassphraseRequired},
		{"nul byte", "a\x00b", 0o600, "", output.CodePassphraseRequired},
		{"too large", strings.Repeat("a", secretin.MaxPassphrase+1), 0o600, "", output.CodePassphraseRequired},
		{"at the limit", strings.Repeat("a", secretin.MaxPassphrase), 0o600, strings.Repeat("a", secretin.MaxPassphrase), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := writeFile(t, tc.content, tc.mode)
			got, err := secretin.ReadFile(p, "passphrase file", secretin.MaxPassphrase)
			if tc.code != "" {
				if codeOf(err) != tc.code || output.ExitCode(tc.code) != 6 {
					t.Fatalf("ReadFile = %q, %v; want %s", got, err, tc.code)
				}
				if strings.Contains(err.Error(), tc.content) && tc.content != "" && tc.content != "\n" && tc.content != "x" {
					t.Fatalf("error %q repeats the content", err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("ReadFile = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	p := writeFile(t, "x", 0o644)
	_, err := secretin.ReadFile(p, "passphrase file", 10)
	if e, _ := errors.AsType[*output.Error](err); e == nil || e.Hint != "chmod 600 "+p {
		t.Fatalf("hint = %+v", e)
	}
	if _, err := secretin.ReadFile(t.TempDir(), "passphrase file", 10); codeOf(err) != output.CodeInsecurePermissions {
		t.Fatalf("directory: %v", err)
	}
	if _, err := secretin.ReadFile(filepath.Join(t.TempDir(), "none"), "passphrase file", 10); codeOf(err) != output.CodePassphraseRequired {
		t.Fatalf("missing file: %v", err)
	}
}

// A root-owned file with group read is accepted (the PostgreSQL key-file rule, CLI-R22).
func TestRootGroupReadable(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a root-owned file")
	}
	p := writeFile(t, "s\n", 0o640)
	if got, err := secretin.ReadFile(p, "passphrase file", 10); err != nil || string(got) != "s" {
		t.Fatalf("ReadFile = %q, %v", got, err)
	}
	p = writeFile(t, "s\n", 0o660)
	if _, err := secretin.ReadFile(p, "passphrase file", 10); codeOf(err) != output.CodeInsecurePermissions {
		t.Fatalf("group-writable root file: %v", err)
	}
}

func TestReadStream(t *testing.T) {
	t.Parallel()
	got, err := secretin.ReadStream(strings.NewReader("tok\n"), "token", secretin.MaxToken)
	if err != nil || string(got) != "tok" {
		t.Fatalf("ReadStream = %q, %v", got, err)
	}
	if _, err := secretin.ReadStream(strings.NewReader(""), "token", secretin.MaxToken); codeOf(err) != output.CodePassphraseRequired {
		t.Fatalf("empty stdin: %v", err)
	}
}

// CLI-R24: no source and no terminal is PASSPHRASE_REQUIRED naming the allowed sources; stdin is
// never read as a fallback.
func TestReadWithoutTerminal(t *testing.T) {
	t.Parallel()
	stdin := strings.NewReader("would-be-secret\n")
	req := secretin.Request{What: "keystore passphrase", Max: secretin.MaxPassphrase, Flags: "--passphrase-file PATH or --passphrase-stdin"}
	for _, open := range []func() (*os.File, error){nil, func() (*os.File, error) { return nil, unix.ENXIO }} {
		_, err := secretin.Read(t.Context(), secretin.Source{}, stdin, open, req)
		e, ok := errors.AsType[*output.Error](err)
		if !ok || e.Code != output.CodePassphraseRequired || !strings.Contains(e.Hint, "--passphrase-file") {
			t.Fatalf("Read = %v", err)
		}
	}
	if stdin.Len() != len("would-be-secret\n") {
		t.Fatal("stdin was read")
	}
	got, err := secretin.Read(t.Context(), secretin.Source{Stdin: true}, stdin, nil, req)
	if err != nil || string(got) != "would-be-secret" {
		t.Fatalf("Read(stdin) = %q, %v", got, err)
	}
}

// openPTY returns both ends of a pseudo-terminal with a goroutine draining the terminal's
// output so prompts never block. At cleanup the terminal side closes first, which ends the
// drain (the master then reads EIO); pty descriptors are blocking, so closing the master
// would not interrupt its read.
func openPTY(t *testing.T) (ptmx, tty *os.File) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	var buf syncBuffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 256)
		for {
			n, err := ptmx.Read(b)
			buf.Write(b[:n])
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		tty.Close()
		<-done
		ptmx.Close()
	})
	return ptmx, tty
}

// CLI-R23: a new passphrase is asked twice; a mismatch and an empty answer ask again; echo is
// off while reading and restored afterwards.
func TestNewPasswordOnPTY(t *testing.T) {
	ptmx, tty := openPTY(t)
	if _, err := ptmx.Write([]byte("\nfirst\nsecond\nright\nright\n")); err != nil {
		t.Fatal(err)
	}
	got, err := secretin.Terminal{F: tty}.NewPassword(t.Context(), "keystore passphrase")
	if err != nil || string(got) != "right" {
		t.Fatalf("NewPassword = %q, %v", got, err)
	}
	tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil || tio.Lflag&unix.ECHO == 0 {
		t.Fatalf("echo not restored: %v", err)
	}
}

// CLI-R23: cancelling the command (Ctrl-C) during a prompt restores the terminal and returns
// INTERRUPTED.
func TestPromptInterrupted(t *testing.T) {
	ptmx, tty := openPTY(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := secretin.Terminal{F: tty}.ReadPassword(ctx, "Enter: ")
	if codeOf(err) != output.CodeInterrupted || output.ExitCode(output.CodeInterrupted) != 130 {
		t.Fatalf("ReadPassword after cancel = %v", err)
	}
	tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil || tio.Lflag&unix.ECHO == 0 {
		t.Fatalf("echo not restored after interruption: %v", err)
	}
	// The abandoned reader is still blocked in read, as in a real process until it exits;
	// a line ends it so the test leaks no goroutine.
	if _, err := ptmx.Write([]byte("\n")); err != nil {
		t.Fatal(err)
	}
}

func TestConfirmOnPTY(t *testing.T) {
	ptmx, tty := openPTY(t)
	if _, err := ptmx.Write([]byte("yes\nn\n")); err != nil {
		t.Fatal(err)
	}
	term := secretin.Terminal{F: tty}
	if ok, err := term.Confirm(t.Context(), "Remove?"); err != nil || !ok {
		t.Fatalf("Confirm(yes) = %v, %v", ok, err)
	}
	if ok, err := term.Confirm(t.Context(), "Remove?"); err != nil || ok {
		t.Fatalf("Confirm(n) = %v, %v", ok, err)
	}
}
