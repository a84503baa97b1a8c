// Package route registers the [[route]] operations of a head (cli.md §8.8, CLI-R75, CLI-R76):
// each one is a Local, External Layer 0 operation whose handler makes one composed call to its
// target on any attached peer or on one pinned peer, returning the result and the error
// unchanged. The composition authority and the scoped environment are granted here, by the
// assembly layer, and nowhere else (ADR-022).
package route

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-cli/internal/config"
	"github.com/alknet/alknet/alknet-core/secret"
)

// Install adds one registration per route to b. The routes were validated with the
// configuration (CLI-R75); a route without scopes is logged as open to any caller.
func Install(b *registry.Builder, routes []config.Route, log *slog.Logger) *registry.Builder {
	for _, r := range routes {
		typ := registry.Mutation
		if r.Type == "query" {
			typ = registry.Query
		}
		where := "any peer"
		ref := registry.AnyPeer()
		scope := registry.NewScopedEnv(r.Target)
		if r.Peer != "" {
			where = "peer " + r.Peer
			ref = registry.Peer(registry.PeerID(r.Peer))
			scope = registry.NewScopedEnv().WithPinned(registry.PeerOp{Peer: registry.PeerID(r.Peer), Op: r.Target})
		}
		grant := r.Scopes
		if r.Grant != nil {
			grant = *r.Grant
		}
		if len(r.Scopes) == 0 {
			log.Warn("route has no scopes: any caller, anonymous ones included, may call it", "op", r.Name)
		}
		target := r.Target
		spec := registry.OperationSpec{
			Name: r.Name, Type: typ, Visibility: registry.External,
			Summary:       "routes to " + r.Target + " on " + where,
			AccessControl: registry.AccessControl{RequiredScopes: append([]string(nil), r.Scopes...)},
		}
		h := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, input json.RawMessage) (json.RawMessage, error) {
			return oc.Env().InvokePeer(ctx, ref, target, input) // result and error unchanged (ENV-R5)
		})
		b.Local(spec, h, &registry.CompositionAuthority{Label: "route:" + r.Name, Scopes: append([]string(nil), grant...)}, &scope, secret.Capabilities{})
	}
	return b
}
