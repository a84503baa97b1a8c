// Command alknet runs and manages an alknet node: the assembly layer that wires the vault, the
// peer store, the QUIC endpoint and the call protocol together (spec cli.md).
package main

import (
	"context"
	"os"

	"github.com/alknet/alknet/alknet-cli/internal/cli"
)

func main() {
	restoreGC := cli.ShortLivedGC()
	os.Exit(cli.Main(context.Background(), os.Args[1:], cli.Stdio{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Terminal: cli.OpenTerminal, RestoreGC: restoreGC,
	}))
}
