package secretin

import (
	"context"
	"io"
	"os"

	"github.com/alknet/alknet/alknet-cli/internal/output"
)

// Source says where one secret comes from: a file, stdin, or (the zero value) a prompt on the
// controlling terminal (cli.md §5.1).
type Source struct {
	File  string // read this permission-checked file (--passphrase-file, --token-file, ...)
	Stdin bool   // read stdin (--passphrase-stdin, --token-stdin, ...)
}

// Request describes the secret being read.
type Request struct {
	What  string // "keystore passphrase", "mnemonic", "token", ...
	Max   int    // size limit (CLI-R22)
	New   bool   // a new secret: asked twice on a terminal (CLI-R23)
	Flags string // the non-interactive sources, for the PASSPHRASE_REQUIRED message
}

// Read obtains the secret from src. Without a file or stdin source it prompts on the terminal
// that openTerm opens; when there is none (openTerm nil or failing) it fails with
// PASSPHRASE_REQUIRED listing the allowed sources and never falls back to stdin (CLI-R24).
func Read(ctx context.Context, src Source, stdin io.Reader, openTerm func() (*os.File, error), req Request) ([]byte, error) {
	switch {
	case src.File != "":
		return ReadFile(src.File, req.What+" file", req.Max)
	case src.Stdin:
		return ReadStream(stdin, req.What, req.Max)
	}
	tty, err := Open(openTerm)
	if err != nil {
		return nil, output.Errorf(output.CodePassphraseRequired, "a %s is needed and there is no terminal to ask for it", req.What).
			WithHint("provide it with " + req.Flags)
	}
	defer tty.F.Close()
	if req.New {
		return tty.NewPassword(ctx, req.What)
	}
	return tty.ReadPassword(ctx, "Enter the "+req.What+": ")
}

// Open opens the controlling terminal through openTerm; nil or an error means there is none.
func Open(openTerm func() (*os.File, error)) (Terminal, error) {
	if openTerm == nil {
		return Terminal{}, os.ErrNotExist
	}
	f, err := openTerm()
	if err != nil {
		return Terminal{}, err
	}
	return Terminal{F: f}, nil
}
