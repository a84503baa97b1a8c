package cli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// CLI-R21: no flag takes a secret as its value. Flags about secrets name a source (a file,
// stdin, a prompt), never the secret itself.
func TestNoSecretValuedFlags(t *testing.T) {
	t.Parallel()
	forbidden := []string{"passphrase", "password", "token", "mnemonic", "secret", "api-key", "apikey", "credential"}
	allowedSuffix := []string{"-file", "-stdin", "-prompt", "-out"}
	root := (&invocation{}).newRoot()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		check := func(f *pflag.Flag) {
			name := f.Name
			for _, w := range forbidden {
				if !strings.Contains(name, w) {
					continue
				}
				ok := f.Value.Type() == "bool" || strings.HasPrefix(name, "no-")
				for _, s := range allowedSuffix {
					ok = ok || strings.HasSuffix(name, s)
				}
				if !ok {
					t.Errorf("%s: flag --%s looks like it takes a secret value", c.CommandPath(), name)
				}
			}
		}
		c.LocalFlags().VisitAll(check)
		c.PersistentFlags().VisitAll(check)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// CLI-T1: every command's --help exits 0, and every group rejects an unknown subcommand with
// exit 2.
func TestEveryHelp(t *testing.T) {
	t.Parallel()
	root := (&invocation{}).newRoot()
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		var out, errb strings.Builder
		if code := Main(t.Context(), append(append([]string{}, path...), "--help"), Stdio{Out: &out, Err: &errb}); code != 0 || out.Len() == 0 {
			t.Errorf("%v --help: exit %d, %q", path, code, errb.String())
		}
		if c.HasSubCommands() && len(path) > 0 {
			if code := Main(t.Context(), append(append([]string{}, path...), "bogus"), Stdio{}); code != 2 {
				t.Errorf("%v bogus: exit %d, want 2", path, code)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub, append(append([]string{}, path...), sub.Name()))
		}
	}
	walk(root, nil)
}
