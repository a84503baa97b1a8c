// Package cli is the alknet command tree (cli.md §2, §7): one cobra tree built fresh for every
// call of Main, one constructor per command, no package-level state (CLI-R1). Every command's
// error goes through internal/output, which prints it and picks the exit code (CLI-R2).
package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/alknet/alknet/alknet-cli/internal/output"
)

// Stdio is the command's view of the outside world (CLI-R1). Terminal opens the controlling
// terminal for prompts and for showing a mnemonic; nil, or an error from it, means "no
// terminal". In-process tests leave it nil so they can never prompt on the developer's shell.
// RestoreGC, when set, is called before any command other than call, subscribe and ops runs: the
// binary gives back there the garbage collector target it raised for those (ShortLivedGC).
type Stdio struct {
	In        io.Reader
	Out, Err  io.Writer
	Terminal  func() (*os.File, error)
	RestoreGC func()
}

// OpenTerminal opens the controlling terminal (/dev/tty). A process without one (setsid,
// systemd, CI) gets an error (ENXIO), which callers treat as "no terminal" (CLI-R23).
func OpenTerminal() (*os.File, error) {
	return os.OpenFile("/dev/tty", os.O_RDWR, 0)
}

// Main runs the alknet command line args and returns the process exit code (cli.md §11). It
// builds a fresh command tree per call, so concurrent calls share nothing. serve stops when ctx
// is cancelled.
func Main(ctx context.Context, args []string, stdio Stdio) int {
	if stdio.In == nil {
		stdio.In = eofReader{}
	}
	if stdio.Out == nil {
		stdio.Out = io.Discard
	}
	if stdio.Err == nil {
		stdio.Err = io.Discard
	}
	inv := &invocation{stdio: stdio}
	root := inv.newRoot()
	restoreGCUnlessClient(root, args, stdio.RestoreGC)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	if _, ok := errors.AsType[*output.Error](err); !ok {
		// Only cobra returns uncoded errors: every RunE is wrapped (CLI-R2).
		err = usageError(err.Error(), root.Name())
	}
	jsonMode := inv.g.json || slices.Contains(args, "--json")
	return output.Report(stdio.Out, stdio.Err, err, output.ReportOptions{JSON: jsonMode, Quiet: inv.g.quiet})
}

// usageError turns cobra's message into a USAGE error; cobra's "Did you mean this?" block
// becomes the hint.
func usageError(msg, name string) *output.Error {
	first, rest, _ := strings.Cut(msg, "\n\n")
	hint := "run `" + name + " --help` for usage"
	if s := strings.Fields(strings.TrimPrefix(strings.TrimSpace(rest), "Did you mean this?")); len(s) > 0 {
		hint = "did you mean " + strings.Join(s, " or ") + "? " + hint
	}
	return &output.Error{Code: output.CodeUsage, Message: first, Hint: hint}
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
