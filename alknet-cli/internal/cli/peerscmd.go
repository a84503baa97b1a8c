package cli

import (
	"context"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/alknet/alknet/alknet-cli/internal/output"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/fingerprint"
	"github.com/alknet/alknet/alknet-peer-store-sqlite/sqlitestore"
)

// peerJSON is the peer object of CLI-R77. Live is omitted by `peers list`.
type peerJSON struct {
	PeerID       string              `json:"peer_id"`
	DisplayName  *string             `json:"display_name"`
	Enabled      bool                `json:"enabled"`
	Fingerprints []string            `json:"fingerprints"`
	HasToken     bool                `json:"has_token"`
	Scopes       []string            `json:"scopes"`
	Resources    map[string][]string `json:"resources"`
	Revision     int64               `json:"revision"`
	CreatedAt    *string             `json:"created_at"`
	UpdatedAt    *string             `json:"updated_at"`
	Live         *bool               `json:"live,omitempty"`
}

func peerObject(r sqlitestore.PeerRecord) peerJSON {
	p := peerJSON{PeerID: r.PeerID, Enabled: r.IsEnabled(), Fingerprints: r.Fingerprints, HasToken: r.AuthTokenHash != "",
		Scopes: r.Scopes, Resources: r.Resources, Revision: r.Revision, CreatedAt: rfc3339(r.CreatedAt), UpdatedAt: rfc3339(r.UpdatedAt)}
	if r.DisplayName != "" {
		d := r.DisplayName
		p.DisplayName = &d
	}
	if p.Fingerprints == nil {
		p.Fingerprints = []string{}
	}
	if p.Scopes == nil {
		p.Scopes = []string{}
	}
	if p.Resources == nil {
		p.Resources = map[string][]string{}
	}
	return p
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// canonicalFingerprints parses each value (CLI-R35): pasting "ED25519:ABCD…" works.
func canonicalFingerprints(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, s := range in {
		fp, err := fingerprint.Parse(s)
		if err != nil {
			return nil, output.Errorf(output.CodeInvalidInput, "fingerprint %q: %v", s, output.Classify(err).Message)
		}
		out = append(out, fp)
	}
	return out, nil
}

func (inv *invocation) newPeersCmd() *cobra.Command {
	return group(&cobra.Command{
		Use:   "peers",
		Short: "Manage the peers this node admits (live on a running node)",
	},
		inv.newPeersAddCmd(), inv.newPeersListCmd(), inv.newPeersShowCmd(), inv.newPeersUpdateCmd(),
		inv.newPeersRotateCmd(), inv.newPeersToggleCmd(true), inv.newPeersToggleCmd(false), inv.newPeersRemoveCmd(),
	)
}

// withStore runs fn with the session and an open store (closed afterwards).
func (inv *invocation) withStore(ctx context.Context, mode storeMode, fn func(s *session, st *sqlitestore.Store) error) error {
	s, err := inv.setup(false)
	if err != nil {
		return err
	}
	st, err := inv.openStore(ctx, s, mode)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(s, st)
}

// printPeer writes one peer object (with live) or its human form.
func (inv *invocation) printPeer(s *session, r sqlitestore.PeerRecord, change bool) error {
	p := peerObject(r)
	if change {
		live := inv.liveNote(s)
		p.Live = &live
	}
	if inv.g.json {
		return output.WriteJSON(inv.stdio.Out, p, false)
	}
	name := "-"
	if p.DisplayName != nil {
		name = *p.DisplayName
	}
	inv.printf("peer_id       %s\ndisplay_name  %s\nenabled       %s\n", p.PeerID, name, yesNo(p.Enabled))
	for i, fp := range p.Fingerprints {
		label := ""
		if i == 0 {
			label = "fingerprints"
		}
		inv.printf("%-13s %s\n", label, fp)
	}
	if len(p.Fingerprints) == 0 {
		inv.printf("fingerprints  -\n")
	}
	inv.printf("token         %s\nscopes        %s\n", yesNo(p.HasToken), strings.Join(p.Scopes, ","))
	types := make([]string, 0, len(p.Resources))
	for t := range p.Resources {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		inv.printf("resource      %s=%s\n", t, strings.Join(p.Resources[t], ","))
	}
	inv.printf("revision      %d\ncreated       %s\nupdated       %s\n", p.Revision, humanTime(p.CreatedAt), humanTime(p.UpdatedAt))
	return nil
}

func (inv *invocation) newPeersAddCmd() *cobra.Command {
	var fps, scopes, resources []string
	var displayName string
	var disabled bool
	cmd := &cobra.Command{
		Use:   "add <peer-id>",
		Short: "Admit a peer by its key fingerprint",
		Args:  cobra.ExactArgs(1),
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			id := args[0]
			if !auth.ValidPeerID(id) {
				return output.Errorf(output.CodeInvalidInput, "%q is not a valid peer id (1-63 characters of a-z, 0-9, '.', '-', starting with a letter or digit)", id)
			}
			canon, err := canonicalFingerprints(fps)
			if err != nil {
				return err
			}
			if len(canon) == 0 && !disabled {
				return output.Errorf(output.CodeUsage, "an enabled peer needs a fingerprint").
					WithHint("pass --fingerprint FP, or --disabled to pre-provision the peer")
			}
			entry := auth.PeerEntry{PeerID: id, Fingerprints: canon, Scopes: scopes, DisplayName: displayName}
			if disabled {
				f := false
				entry.Enabled = &f
			}
			for _, r := range resources {
				typ, names, err := parseResource(r)
				if err != nil {
					return err
				}
				if entry.Resources == nil {
					entry.Resources = map[string][]string{}
				}
				entry.Resources[typ] = append(entry.Resources[typ], names...)
			}
			return inv.withStore(ctx, storeExisting, func(s *session, st *sqlitestore.Store) error {
				if _, err := st.Identities().PeerRecord(ctx, id); err == nil {
					return output.Errorf(output.CodeAlreadyExists, "peer %s already exists", id).
						WithHint("change it with `alknet peers update " + id + "`")
				}
				rec, err := st.Identities().CreatePeer(ctx, entry)
				if err != nil {
					return err
				}
				return inv.printPeer(s, rec, true)
			})
		}),
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&fps, "fingerprint", nil, "key fingerprint (ed25519:<hex>); repeatable")
	fs.StringArrayVar(&scopes, "scope", nil, "scope granted to the peer; repeatable")
	fs.StringArrayVar(&resources, "resource", nil, "resource grant TYPE=a,b; repeatable")
	fs.StringVar(&displayName, "display-name", "", "human-readable name")
	fs.BoolVar(&disabled, "disabled", false, "create the peer disabled (pre-provisioning)")
	return cmd
}

func (inv *invocation) newPeersListCmd() *cobra.Command {
	var enabled, disabled bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the peers",
		Args:  cobra.NoArgs,
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			return inv.withStore(ctx, storeExisting, func(s *session, st *sqlitestore.Store) error {
				recs, err := st.Identities().PeerRecords(ctx)
				if err != nil {
					return err
				}
				out := []peerJSON{}
				for _, r := range recs {
					if enabled && !r.IsEnabled() || disabled && r.IsEnabled() {
						continue
					}
					out = append(out, peerObject(r))
				}
				if inv.g.json {
					return output.WriteJSON(inv.stdio.Out, out, false)
				}
				rows := make([][]string, 0, len(out))
				for _, p := range out {
					fp := "-"
					if len(p.Fingerprints) > 0 {
						fp = output.ShortFingerprint(p.Fingerprints[0])
						if n := len(p.Fingerprints) - 1; n > 0 {
							fp += " (+" + itoa(n) + ")"
						}
					}
					name := "-"
					if p.DisplayName != nil {
						name = *p.DisplayName
					}
					rows = append(rows, []string{p.PeerID, name, yesNo(p.Enabled), fp, yesNo(p.HasToken), strings.Join(p.Scopes, ","), ago(p.UpdatedAt, time.Now())})
				}
				return output.Table(inv.stdio.Out, []string{"PEER ID", "NAME", "ENABLED", "FINGERPRINTS", "TOKEN", "SCOPES", "UPDATED"}, rows)
			})
		}),
	}
	cmd.Flags().BoolVar(&enabled, "enabled", false, "only enabled peers")
	cmd.Flags().BoolVar(&disabled, "disabled", false, "only disabled peers")
	cmd.MarkFlagsMutuallyExclusive("enabled", "disabled")
	return cmd
}

func (inv *invocation) newPeersShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show <peer-id>",
		Short: "Show one peer in full",
		Args:  cobra.ExactArgs(1),
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			return inv.withStore(ctx, storeExisting, func(s *session, st *sqlitestore.Store) error {
				rec, err := st.Identities().PeerRecord(ctx, args[0])
				if err != nil {
					return notFoundAs(err, "peer "+args[0])
				}
				p := peerObject(rec)
				if inv.g.json {
					return output.WriteJSON(inv.stdio.Out, p, false)
				}
				return inv.printPeer(s, rec, false)
			})
		}),
	}
}

// modifyPeer runs a read-modify-write of one peer and prints the result (CLI-R34).
func (inv *invocation) modifyPeer(ctx context.Context, id string, fn func(*auth.PeerEntry) error) error {
	return inv.withStore(ctx, storeExisting, func(s *session, st *sqlitestore.Store) error {
		rec, err := st.Identities().ModifyPeer(ctx, id, fn)
		if err != nil {
			return notFoundAs(err, "peer "+id)
		}
		return inv.printPeer(s, rec, true)
	})
}

func (inv *invocation) newPeersUpdateCmd() *cobra.Command {
	var addScope, removeScope, setResource, removeResource, addFP, removeFP []string
	var displayName string
	cmd := &cobra.Command{
		Use:   "update <peer-id>",
		Short: "Change a peer's scopes, resources, name or fingerprints",
		Args:  cobra.ExactArgs(1),
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			add, err := canonicalFingerprints(addFP)
			if err != nil {
				return err
			}
			rm, err := canonicalFingerprints(removeFP)
			if err != nil {
				return err
			}
			type res struct {
				typ   string
				names []string
			}
			var sets []res
			for _, r := range setResource {
				typ, names, err := parseResource(r)
				if err != nil {
					return err
				}
				sets = append(sets, res{typ, names})
			}
			nameSet := cmd.Flags().Changed("display-name")
			return inv.modifyPeer(ctx, args[0], func(p *auth.PeerEntry) error {
				for _, sc := range addScope {
					if !slices.Contains(p.Scopes, sc) {
						p.Scopes = append(p.Scopes, sc)
					}
				}
				p.Scopes = slices.DeleteFunc(p.Scopes, func(s string) bool { return slices.Contains(removeScope, s) })
				for _, r := range sets {
					if p.Resources == nil {
						p.Resources = map[string][]string{}
					}
					p.Resources[r.typ] = r.names
				}
				for _, t := range removeResource {
					delete(p.Resources, t)
				}
				if nameSet {
					p.DisplayName = displayName
				}
				for _, fp := range add {
					if !slices.Contains(p.Fingerprints, fp) {
						p.Fingerprints = append(p.Fingerprints, fp)
					}
				}
				p.Fingerprints = slices.DeleteFunc(p.Fingerprints, func(s string) bool { return slices.Contains(rm, s) })
				return nil
			})
		}),
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&addScope, "add-scope", nil, "grant a scope; repeatable")
	fs.StringArrayVar(&removeScope, "remove-scope", nil, "withdraw a scope; repeatable")
	fs.StringArrayVar(&setResource, "set-resource", nil, "set a resource grant TYPE=a,b; repeatable")
	fs.StringArrayVar(&removeResource, "remove-resource", nil, "remove the resource grants of TYPE; repeatable")
	fs.StringVar(&displayName, "display-name", "", "human-readable name")
	fs.StringArrayVar(&addFP, "add-fingerprint", nil, "admit another key; repeatable")
	fs.StringArrayVar(&removeFP, "remove-fingerprint", nil, "stop admitting a key; repeatable")
	return cmd
}

func (inv *invocation) newPeersRotateCmd() *cobra.Command {
	var fp string
	var keepOld bool
	cmd := &cobra.Command{
		Use:   "rotate <peer-id>",
		Short: "Replace a peer's key; the peer id and its grants stay",
		Args:  cobra.ExactArgs(1),
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			canon, err := canonicalFingerprints([]string{fp})
			if err != nil {
				return err
			}
			return inv.modifyPeer(ctx, args[0], func(p *auth.PeerEntry) error {
				if keepOld {
					if !slices.Contains(p.Fingerprints, canon[0]) {
						p.Fingerprints = append(p.Fingerprints, canon[0])
					}
				} else {
					p.Fingerprints = canon
				}
				return nil
			})
		}),
	}
	cmd.Flags().StringVar(&fp, "fingerprint", "", "the new key fingerprint")
	cmd.Flags().BoolVar(&keepOld, "keep-old", false, "keep admitting the old key too (overlap while the peer restarts)")
	_ = cmd.MarkFlagRequired("fingerprint")
	return cmd
}

func (inv *invocation) newPeersToggleCmd(enable bool) *cobra.Command {
	use, short := "disable <peer-id>", "Disable a peer: its connections are closed at once"
	if enable {
		use, short = "enable <peer-id>", "Enable a peer"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			return inv.modifyPeer(ctx, args[0], func(p *auth.PeerEntry) error {
				if enable {
					p.Enabled = nil
				} else {
					f := false
					p.Enabled = &f
				}
				return nil
			})
		}),
	}
}

func (inv *invocation) newPeersRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "remove <peer-id>",
		Short: "Delete a peer (asks for confirmation)",
		Args:  cobra.ExactArgs(1),
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			id := args[0]
			return inv.withStore(ctx, storeExisting, func(s *session, st *sqlitestore.Store) error {
				if _, err := st.Identities().PeerRecord(ctx, id); err != nil {
					return notFoundAs(err, "peer "+id)
				}
				if err := inv.confirm(ctx, "Remove peer "+id+"?"); err != nil {
					return err
				}
				if err := st.Identities().RemovePeer(ctx, id); err != nil {
					return notFoundAs(err, "peer "+id)
				}
				inv.liveNote(s)
				if inv.g.json {
					return output.WriteJSON(inv.stdio.Out, map[string]any{"peer_id": id, "removed": true}, false)
				}
				inv.printf("removed peer %s\n", id)
				return nil
			})
		}),
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
