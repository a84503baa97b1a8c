// Package secretin reads secrets — keystore passphrases, mnemonics, BIP39 passphrases, bearer
// tokens, credential plaintext — from the only sources cli.md §5 allows: a prompt on the
// controlling terminal with echo off, a permission-checked file, or stdin. Never from argv or
// the environment (CLI-R19..R24). Secrets are returned as []byte the caller wipes (CLI-R25).
package secretin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/alknet/alknet/alknet-cli/internal/output"
	"github.com/alknet/alknet/alknet-cli/internal/paths"
)

// Size limits of CLI-R22 (VAULT-R111 for mnemonics and passphrases).
const (
	MaxPassphrase = 1 << 10  // keystore passphrase, mnemonic, BIP39 passphrase
	MaxToken      = 4 << 10  // bearer tokens
	MaxCredential = 64 << 10 // credential plaintext
)

// Wipe overwrites b with zeros (best effort: Go may have copied it, CLI-R25).
func Wipe(b []byte) { clear(b) }

// ReadFile reads the secret file path (CLI-R22): a regular file owned by the effective user
// with no group or other permission bits, or owned by root with at most group read; at most
// max bytes; non-empty; no NUL byte. Exactly one trailing "\n" or "\r\n" is removed. A mode or
// owner violation is INSECURE_PERMISSIONS (exit 6) with the chmod fix; unusable content is
// PASSPHRASE_REQUIRED (exit 6). what names the secret in messages ("passphrase file").
func ReadFile(path, what string, max int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, output.Errorf(output.CodePassphraseRequired, "%s %s does not exist", what, path)
		}
		return nil, output.Errorf(output.CodeInsecurePermissions, "cannot open %s %s: %v", what, path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("inspect %s %s: %w", what, path, err)
	}
	if err := CheckFileMode(path, what, fi); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", what, path, err)
	}
	return clean(b, what+" "+path, max)
}

// CheckFileMode applies the ownership and mode rule of CLI-R22 (and CLI-R30 for unprotected
// keystores and X.509 key files) to fi.
func CheckFileMode(path, what string, fi os.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return output.Errorf(output.CodeInsecurePermissions, "%s %s is not a regular file", what, path)
	}
	perm := fi.Mode().Perm()
	uid, ok := paths.Owner(fi)
	switch {
	case !ok:
	case uid == uint32(os.Geteuid()) && perm&0o077 == 0:
	case uid == 0 && perm&0o037 == 0:
	case uid != uint32(os.Geteuid()) && uid != 0:
		return output.Errorf(output.CodeInsecurePermissions, "%s %s is owned by %s, not by the current user or root", what, path, paths.UserName(uid)).
			WithHint("give the file to the user running alknet, with mode 0600")
	default:
		return output.Errorf(output.CodeInsecurePermissions, "%s %s has mode %04o: other users could read it", what, path, perm).
			WithHint("chmod 600 " + path)
	}
	return nil
}

// ReadStream reads a secret from r (stdin) with the size, NUL and newline rules of CLI-R22.
func ReadStream(r io.Reader, what string, max int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("read %s from stdin: %w", what, err)
	}
	return clean(b, what+" from stdin", max)
}

// clean applies the content rules; it wipes b when it refuses it.
func clean(b []byte, where string, max int) ([]byte, error) {
	fail := func(format string, args ...any) ([]byte, error) {
		Wipe(b)
		return nil, output.Errorf(output.CodePassphraseRequired, format, args...)
	}
	if len(b) > max {
		return fail("%s is larger than %d bytes", where, max)
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return fail("%s contains a NUL byte", where)
	}
	switch {
	case bytes.HasSuffix(b, []byte("\r\n")):
		b = b[:len(b)-2]
	case bytes.HasSuffix(b, []byte("\n")):
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return fail("%s is empty", where)
	}
	return b, nil
}

// Terminal is the controlling terminal prompts use (CLI-R23). Prompts are written to it and
// answers read from it, so stdin and stdout stay free for data.
type Terminal struct {
	F *os.File
}

// ReadPassword prompts on the terminal and reads one line with echo off. The terminal state
// is saved first and restored on every path, including cancellation of ctx (Ctrl-C), which
// returns INTERRUPTED (CLI-R23). After a cancellation the reading goroutine stays blocked in
// read until the process exits; one-shot commands exit right after.
func (t Terminal) ReadPassword(ctx context.Context, prompt string) ([]byte, error) {
	fd := int(t.F.Fd())
	state, err := term.GetState(fd)
	if err != nil {
		return nil, fmt.Errorf("read terminal state: %w", err)
	}
	fmt.Fprint(t.F, prompt)
	type answer struct {
		b   []byte
		err error
	}
	ch := make(chan answer, 1) // written once by the reader goroutine
	go func() {
		b, err := term.ReadPassword(fd)
		ch <- answer{b, err}
	}()
	select {
	case a := <-ch:
		fmt.Fprintln(t.F)
		if a.err != nil {
			return nil, fmt.Errorf("read from terminal: %w", a.err)
		}
		return a.b, nil
	case <-ctx.Done():
		_ = term.Restore(fd, state)
		fmt.Fprintln(t.F)
		return nil, &output.Error{Code: output.CodeInterrupted, Message: "interrupted", Err: ctx.Err()}
	}
}

// ReadLine prompts and reads one line with echo on (confirmations and the mnemonic check),
// honouring ctx like ReadPassword.
func (t Terminal) ReadLine(ctx context.Context, prompt string) (string, error) {
	fmt.Fprint(t.F, prompt)
	type answer struct {
		s   string
		err error
	}
	ch := make(chan answer, 1) // written once by the reader goroutine
	go func() {
		var buf []byte
		one := make([]byte, 1)
		for {
			n, err := t.F.Read(one)
			if n == 1 {
				if one[0] == '\n' {
					break
				}
				buf = append(buf, one[0])
			}
			if err != nil {
				ch <- answer{string(buf), err}
				return
			}
		}
		ch <- answer{strings.TrimRight(string(buf), "\r"), nil}
	}()
	select {
	case a := <-ch:
		if a.err != nil && a.s == "" {
			return "", fmt.Errorf("read from terminal: %w", a.err)
		}
		return a.s, nil
	case <-ctx.Done():
		fmt.Fprintln(t.F)
		return "", &output.Error{Code: output.CodeInterrupted, Message: "interrupted", Err: ctx.Err()}
	}
}

// NewPassword asks for a new secret twice (CLI-R23): a mismatch asks again, and so does an
// empty answer.
func (t Terminal) NewPassword(ctx context.Context, what string) ([]byte, error) {
	for {
		a, err := t.ReadPassword(ctx, "New "+what+": ")
		if err != nil {
			return nil, err
		}
		if len(a) == 0 {
			fmt.Fprintf(t.F, "The %s must not be empty; try again.\n", what)
			continue
		}
		b, err := t.ReadPassword(ctx, "Repeat the "+what+": ")
		if err != nil {
			Wipe(a)
			return nil, err
		}
		if bytes.Equal(a, b) {
			Wipe(b)
			return a, nil
		}
		Wipe(a)
		Wipe(b)
		fmt.Fprintf(t.F, "The two entries differ; try again.\n")
	}
}

// Confirm asks a yes/no question; only "y" or "yes" is yes.
func (t Terminal) Confirm(ctx context.Context, question string) (bool, error) {
	a, err := t.ReadLine(ctx, question+" [y/N] ")
	if err != nil {
		return false, err
	}
	a = strings.ToLower(strings.TrimSpace(a))
	return a == "y" || a == "yes", nil
}
