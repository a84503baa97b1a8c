package output

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"
)

// IsTerminal reports whether w is an *os.File connected to a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// ColorEnabled decides whether output to a stream is coloured (CLI-R56): mode "always" and
// "never" decide alone; "auto" (or "") colours only a terminal, and only while NO_COLOR is unset
// or empty. NO_COLOR and TERM are the presentation variables CLI-R19 allows.
func ColorEnabled(mode string, isTerminal bool) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	return isTerminal
}

// ShortFingerprint shortens a fingerprint for tables (CLI-R56): "ed25519:1a2b3c4d…9f0e".
// Strings too short to shorten come back unchanged.
func ShortFingerprint(fp string) string {
	alg, hex, ok := strings.Cut(fp, ":")
	if !ok || len(hex) <= 12 {
		return fp
	}
	return alg + ":" + hex[:8] + "…" + hex[len(hex)-4:]
}

// Table writes an aligned table with a header row (CLI-R56). Human layout only; scripts use
// --json.
func Table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// Progress prints step lines to a terminal's stderr (CLI-R57); the zero value and a Progress
// with a nil writer print nothing.
type Progress struct {
	W io.Writer // nil: silent (not a terminal, --quiet or --json)
}

// Step prints "✓ name  detail".
func (p Progress) Step(name, detail string) {
	if p.W == nil {
		return
	}
	fmt.Fprintf(p.W, "✓ %-8s %s\n", name, detail)
}
