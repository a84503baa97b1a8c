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
