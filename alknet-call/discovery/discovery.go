// Package discovery provides the built-in discovery operations of an alknet/call node:
// services/list, services/schema and, opt-in, services/list-peers (call-registry.md §15).
//
// Every answer is filtered by what the caller may call: an operation is listed, and its schema
// returned, only when it is an External Layer 0 operation whose access control admits the
// caller ([registry.OperationContext.Identity]), which is exactly when a wire call from that
// caller would pass the name, resolution, visibility and access steps of the dispatch core
// (DISC-R4). Internal operations are never revealed (DISC-R2, DISC-R3).
package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"unicode/utf8"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/registry"
)

// Operation names of the built-ins (DISC-R2, DISC-R3, DISC-R5).
const (
	ListName      = "services/list"
	SchemaName    = "services/schema"
	ListPeersName = "services/list-peers"
)

// Options configures [Install].
type Options struct {
	ListPeers       bool                   // register services/list-peers (off by default, DISC-R6)
	ListPeersAccess registry.AccessControl // required when ListPeers is true; must have restrictions
}

var (
	emptyObjectSchema = json.RawMessage(`{}`)
	schemaInput       = json.RawMessage(`{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}`)
)

// Install adds the discovery registrations to b and, through b.OnBuild, binds their handlers to
// the built registry's Catalog (DISC-R1). With ListPeers set and an unrestricted
// ListPeersAccess, b.Build fails (DISC-R6).
func Install(b *registry.Builder, opts Options) *registry.Builder {
	var cat registry.Catalog
	b.OnBuild(func(r *registry.Registry) { cat = r.Catalog() })
	catalog := func() registry.Catalog { return cat }

	b.Local(registry.OperationSpec{
		Name:         ListName,
		Type:         registry.Query,
		Visibility:   registry.External,
		Summary:      "List the operations the caller may call",
		InputSchema:  emptyObjectSchema,
		OutputSchema: json.RawMessage(`{"type":"object","properties":{"operations":{"type":"array"}},"required":["operations"]}`),
	}, registry.HandlerFunc(func(_ context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		return listHandler(catalog(), oc)
	}), nil, nil, secretNone())

	b.Local(registry.OperationSpec{
		Name:        SchemaName,
		Type:        registry.Query,
		Visibility:  registry.External,
		Summary:     "Return the specification of one operation the caller may call",
		InputSchema: schemaInput,
	}, registry.HandlerFunc(func(_ context.Context, oc *registry.OperationContext, input json.RawMessage) (json.RawMessage, error) {
		return schemaHandler(catalog(), oc, input)
	}), nil, nil, secretNone())

	if opts.ListPeers {
		if !opts.ListPeersAccess.HasRestrictions() {
			b.AddError(errors.New("discovery: services/list-peers needs restricted ListPeersAccess (DISC-R6)"))
		}
		b.Local(registry.OperationSpec{
			Name:          ListPeersName,
			Type:          registry.Query,
			Visibility:    registry.External,
			Summary:       "List the attached peers and the operations the caller may call on each",
			InputSchema:   emptyObjectSchema,
			AccessControl: opts.ListPeersAccess,
		}, registry.HandlerFunc(func(_ context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
			return listPeersHandler(oc)
		}), nil, nil, secretNone())
	}
	return b
}

// callable reports whether the caller of oc may call reg from the wire (DISC-R4).
func callable(reg *registry.HandlerRegistration, oc *registry.OperationContext) bool {
	return reg.Spec.Visibility == registry.External && reg.Spec.AccessControl.Check(oc.Identity()) == nil
}

type listOutput struct {
	Operations []registry.OperationSummary `json:"operations"`
}

func listHandler(cat registry.Catalog, oc *registry.OperationContext) (json.RawMessage, error) {
	out := listOutput{Operations: []registry.OperationSummary{}}
	if cat != nil {
		for _, name := range cat.Names() { // sorted
			if reg, ok := cat.Lookup(name); ok && callable(reg, oc) {
				out.Operations = append(out.Operations, registry.Summarize(reg.Spec))
			}
		}
	}
	return marshal(out)
}

func schemaHandler(cat registry.Catalog, oc *registry.OperationContext, input json.RawMessage) (json.RawMessage, error) {
	var in struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(input, &in); err != nil {
		return nil, callerr.New(callerr.InvalidInput, "input does not match input_schema")
	}
	name := in.Name
	if len(name) > 0 && name[0] == '/' {
		name = name[1:]
	}
	notFound := callerr.New(callerr.NotFound, "operation not found: "+truncate(name))
	if cat == nil || !registry.ValidName(name) {
		return nil, notFound
	}
	reg, ok := cat.Lookup(name)
	if !ok || !callable(reg, oc) {
		return nil, notFound // DISC-R3: unknown, Internal and forbidden look the same
	}
	return marshal(reg.Spec)
}

type peerEntry struct {
	PeerID     registry.PeerID             `json:"peer_id"`
	Operations []registry.OperationSummary `json:"operations"`
}

type listPeersOutput struct {
	Peers []peerEntry `json:"peers"`
}

func listPeersHandler(oc *registry.OperationContext) (json.RawMessage, error) {
	env := oc.Env()
	out := listPeersOutput{Peers: []peerEntry{}}
	id := oc.Identity()
	for _, p := range env.PeerIDs() {
		e := peerEntry{PeerID: p, Operations: []registry.OperationSummary{}}
		for _, spec := range env.PeerOperations(p) {
			if spec.AccessControl.Check(id) == nil { // DISC-R5: the imported spec's ACL
				e.Operations = append(e.Operations, registry.Summarize(spec))
			}
		}
		if len(e.Operations) > 0 {
			out.Peers = append(out.Peers, e)
		}
	}
	return marshal(out)
}

// marshal encodes v without HTML escaping, like every other JSON this module writes (CALLP-R26).
func marshal(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// truncate cuts s to at most registry.MaxNameLen bytes on a UTF-8 boundary (REG-R3).
func truncate(s string) string {
	if len(s) <= registry.MaxNameLen {
		return s
	}
	n := registry.MaxNameLen
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
