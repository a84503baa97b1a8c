package cli

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/alknet/alknet/alknet-cli/internal/paths"
	"github.com/alknet/alknet/alknet-peer-store-sqlite/sqlitestore"
)

// completeFromStore completes the first argument from the store, read-only with a 200 ms busy
// timeout, and stays silent on any error (cli.md §7.12).
func (inv *invocation) completeFromStore(list func(ctx context.Context, st *sqlitestore.Store) ([]string, error)) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		s, err := inv.setup(false)
		if err != nil || !paths.Exists(s.layout.Store.Path) || paths.CheckOwner(s.layout.Store.Path, "store") != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Second)
		defer cancel()
		st, err := sqlitestore.Open(ctx, sqlitestore.Options{Path: s.layout.Store.Path, ReadOnly: true, DisableWatch: true, BusyTimeout: 200 * time.Millisecond})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer st.Close()
		names, err := list(ctx, st)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, n := range names {
			if strings.HasPrefix(n, toComplete) {
				out = append(out, n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func (inv *invocation) completePeers() cobra.CompletionFunc {
	return inv.completeFromStore(func(ctx context.Context, st *sqlitestore.Store) ([]string, error) {
		recs, err := st.Identities().PeerRecords(ctx)
		ids := make([]string, 0, len(recs))
		for _, r := range recs {
			ids = append(ids, r.PeerID)
		}
		return ids, err
	})
}

func (inv *invocation) completeKeys() cobra.CompletionFunc {
	return inv.completeFromStore(func(ctx context.Context, st *sqlitestore.Store) ([]string, error) {
		recs, err := st.APIKeys().List(ctx, false)
		out := make([]string, 0, len(recs))
		for _, r := range recs {
			out = append(out, r.Prefix)
		}
		return out, err
	})
}

func (inv *invocation) completeProviders() cobra.CompletionFunc {
	return inv.completeFromStore(func(ctx context.Context, st *sqlitestore.Store) ([]string, error) {
		return st.Credentials().Providers(ctx)
	})
}

// addCompletions attaches the dynamic completions to the commands that name a peer, a key or
// a provider.
func (inv *invocation) addCompletions(root *cobra.Command) {
	for _, c := range root.Commands() {
		for _, sub := range c.Commands() {
			switch c.Name() + " " + sub.Name() {
			case "peers show", "peers update", "peers rotate", "peers enable", "peers disable", "peers remove":
				sub.ValidArgsFunction = inv.completePeers()
			case "apikeys revoke":
				sub.ValidArgsFunction = inv.completeKeys()
			case "creds rm", "creds set":
				sub.ValidArgsFunction = inv.completeProviders()
			}
		}
	}
}
