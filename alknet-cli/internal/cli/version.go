package cli

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"sort"

	"github.com/spf13/cobra"

	"github.com/alknet/alknet/alknet-cli/internal/output"
)

// buildVersion is the main module's version from the build information, or "devel" for a
// build from a work tree.
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// versionInfo is the `version --json` shape (CLI-R77).
type versionInfo struct {
	Version   string            `json:"version"`
	Commit    *string           `json:"commit"`
	GoVersion string            `json:"go_version"`
	Modules   map[string]string `json:"modules"`
}

func readVersionInfo() versionInfo {
	vi := versionInfo{Version: buildVersion(), GoVersion: runtime.Version(), Modules: map[string]string{}}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return vi
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			c := s.Value
			vi.Commit = &c
		}
	}
	for _, d := range bi.Deps {
		v := d.Version
		if d.Replace != nil {
			v = d.Replace.Version
			if v == "" {
				v = "(replaced by " + d.Replace.Path + ")"
			}
		}
		vi.Modules[d.Path] = v
	}
	return vi
}

func (inv *invocation) newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, Go version and module versions",
		Args:  cobra.NoArgs,
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			vi := readVersionInfo()
			if inv.g.json {
				return output.WriteJSON(inv.stdio.Out, vi, false)
			}
			w := inv.stdio.Out
			fmt.Fprintf(w, "alknet version %s\n", vi.Version)
			if vi.Commit != nil {
				fmt.Fprintf(w, "commit      %s\n", *vi.Commit)
			}
			fmt.Fprintf(w, "go          %s\n", vi.GoVersion)
			names := make([]string, 0, len(vi.Modules))
			for p := range vi.Modules {
				names = append(names, p)
			}
			sort.Strings(names)
			for _, p := range names {
				fmt.Fprintf(w, "module      %s %s\n", p, vi.Modules[p])
			}
			return nil
		}),
	}
}
