package cli_test

import (
	"context"
	"io"
	"strings"

	"github.com/alknet/alknet/alknet-cli/internal/cli"
	"github.com/alknet/alknet/alknet-cli/internal/config"
)

func templateForTest() string { return string(config.Template("127.0.0.1:4433")) }

func mainWith(ctx context.Context, args []string, out, errw io.Writer) int {
	return cli.Main(ctx, args, cli.Stdio{In: strings.NewReader(""), Out: out, Err: errw})
}
