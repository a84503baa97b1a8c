package cli

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/alknet/alknet/alknet-cli/internal/output"
	"github.com/alknet/alknet/alknet-peer-store-sqlite/sqlitestore"
)

// apiKeyJSON is one element of `apikeys list --json` (CLI-R77); Live is set by revoke only.
type apiKeyJSON struct {
	Prefix      string   `json:"prefix"`
	Status      string   `json:"status"`
	Scopes      []string `json:"scopes"`
	Description *string  `json:"description"`
	CreatedAt   *string  `json:"created_at"`
	ExpiresAt   *string  `json:"expires_at"`
	RevokedAt   *string  `json:"revoked_at"`
	Live        *bool    `json:"live,omitempty"`
}

func apiKeyObject(r sqlitestore.APIKeyRecord, now time.Time) apiKeyJSON {
	k := apiKeyJSON{Prefix: r.Prefix, Status: "active", Scopes: r.Scopes, CreatedAt: rfc3339(r.CreatedAt),
		ExpiresAt: unixRFC3339(r.ExpiresAt), RevokedAt: rfc3339(r.RevokedAt)}
	if k.Scopes == nil {
		k.Scopes = []string{}
	}
	if r.Description != "" {
		d := r.Description
		k.Description = &d
	}
	switch {
	case !r.RevokedAt.IsZero():
		k.Status = "revoked"
	case r.ExpiresAt != nil && now.Unix() >= *r.ExpiresAt:
		k.Status = "expired"
	}
	return k
}

func (inv *invocation) newAPIKeysCmd() *cobra.Command {
	return group(&cobra.Command{
		Use:   "apikeys",
		Short: "Create, list and revoke API keys (live on a running node)",
	}, inv.newAPIKeysCreateCmd(), inv.newAPIKeysListCmd(), inv.newAPIKeysRevokeCmd())
}

// apiKeyCreated is the `apikeys create --json` shape (cli.md §7.6). The token appears here
// once and nowhere else.
type apiKeyCreated struct {
	Prefix      string   `json:"prefix"`
	Token       string   `json:"token"`
	Scopes      []string `json:"scopes"`
	Description *string  `json:"description"`
	ExpiresAt   *string  `json:"expires_at"`
}

func (inv *invocation) newAPIKeysCreateCmd() *cobra.Command {
	var scopes []string
	var description, expires string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an API key; the token is printed once",
		Args:  cobra.NoArgs,
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			req := sqlitestore.NewAPIKey{Scopes: scopes, Description: description}
			if expires != "" {
				at, err := parseExpires(expires, time.Now())
				if err != nil {
					return err
				}
				req.ExpiresAt = &at
			}
			return inv.withStore(ctx, storeExisting, func(s *session, st *sqlitestore.Store) error {
				tok, rec, err := st.APIKeys().Create(ctx, req)
				if err != nil {
					return err
				}
				defer tok.Destroy()
				out := apiKeyCreated{Prefix: rec.Prefix, Token: tok.Expose(), Scopes: rec.Scopes, ExpiresAt: unixRFC3339(rec.ExpiresAt)}
				if out.Scopes == nil {
					out.Scopes = []string{}
				}
				if rec.Description != "" {
					out.Description = &rec.Description
				}
				inv.liveNote(s)
				if inv.g.json {
					return output.WriteJSON(inv.stdio.Out, out, false)
				}
				inv.printf("token    %s\nprefix   %s\nscopes   %s\nexpires  %s\n", out.Token, out.Prefix, strings.Join(out.Scopes, ","), humanTime(out.ExpiresAt))
				inv.printf("The token is shown only this once; store it now (for example in a 0600 file for --token-file).\n")
				return nil
			})
		}),
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&scopes, "scope", nil, "scope granted to the key; repeatable")
	fs.StringVar(&description, "description", "", "what the key is for")
	fs.StringVar(&expires, "expires", "", "expiry: <n>d, a duration such as 12h, YYYY-MM-DD or an RFC 3339 time")
	return cmd
}

func (inv *invocation) newAPIKeysListCmd() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List API keys (revoked ones with --all)",
		Args:  cobra.NoArgs,
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			return inv.withStore(ctx, storeExisting, func(s *session, st *sqlitestore.Store) error {
				recs, err := st.APIKeys().List(ctx, all)
				if err != nil {
					return err
				}
				now := time.Now()
				out := make([]apiKeyJSON, 0, len(recs))
				for _, r := range recs {
					out = append(out, apiKeyObject(r, now))
				}
				if inv.g.json {
					return output.WriteJSON(inv.stdio.Out, out, false)
				}
				rows := make([][]string, 0, len(out))
				for _, k := range out {
					d := "-"
					if k.Description != nil {
						d = *k.Description
					}
					rows = append(rows, []string{k.Prefix, k.Status, strings.Join(k.Scopes, ","), d, ago(k.CreatedAt, now), ago(k.ExpiresAt, now), ago(k.RevokedAt, now)})
				}
				return output.Table(inv.stdio.Out, []string{"PREFIX", "STATUS", "SCOPES", "DESCRIPTION", "CREATED", "EXPIRES", "REVOKED"}, rows)
			})
		}),
	}
	cmd.Flags().BoolVar(&all, "all", false, "include revoked keys")
	return cmd
}

func (inv *invocation) newAPIKeysRevokeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke <prefix>",
		Short: "Revoke an API key; a running node refuses it at once",
		Args:  cobra.ExactArgs(1),
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			return inv.withStore(ctx, storeExisting, func(s *session, st *sqlitestore.Store) error {
				rec, err := st.APIKeys().Revoke(ctx, args[0])
				if err != nil {
					return notFoundAs(err, "API key "+args[0])
				}
				k := apiKeyObject(rec, time.Now())
				live := inv.liveNote(s)
				k.Live = &live
				if inv.g.json {
					return output.WriteJSON(inv.stdio.Out, k, false)
				}
				inv.printf("revoked API key %s\n", k.Prefix)
				return nil
			})
		}),
	}
}
