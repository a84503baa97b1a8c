package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
)

// Discovery operation names on the remote (DISC-R2, DISC-R3).
const (
	remoteList   = "services/list"
	remoteSchema = "services/schema"
)

// DefaultMaxOperations bounds the entries of a remote's services/list answer when
// FromCallConfig.MaxOperations is not set (ADPT-R5).
const DefaultMaxOperations = 1024

// schemaConcurrency is how many services/schema calls FromCall keeps in flight (ADPT-R7).
const schemaConcurrency = 8

// FromCallConfig selects and names what [FromCall] imports.
type FromCallConfig struct {
	NamespacePrefix    string       // "" = none; local naming sugar only (ADPT-R8, R15)
	Include            []string     // remote names to import; empty = every op the remote lists to us
	IncludeBuiltins    bool         // also import services/*; default false
	WithholdOriginator bool         // do not send forwarded_for (FWD-R5)
	MaxOperations      int          // ≤ 0 = DefaultMaxOperations; bound on the remote's services/list entries
	Logger             *slog.Logger // skipped names and ignored Include entries; nil = discard
}

// FromCallAdapter is the [OperationAdapter] form of [FromCall].
type FromCallAdapter struct {
	Conn   *protocol.CallConnection
	Config FromCallConfig
}

// Import runs FromCall(ctx, a.Conn, a.Config).
func (a FromCallAdapter) Import(ctx context.Context) ([]*registry.HandlerRegistration, error) {
	return FromCall(ctx, a.Conn, a.Config)
}

// SpecFromJSON parses the REG-R5 JSON of an operation spec, as services/schema returns it
// (ADPT-R4, ADPT-R7). A missing or unknown op_type, a missing name or malformed JSON is an error.
// Schemas are not compiled here; use registry.CompileSpec for that.
func SpecFromJSON(data []byte) (registry.OperationSpec, error) {
	var s registry.OperationSpec
	if err := json.Unmarshal(data, &s); err != nil {
		return registry.OperationSpec{}, err
	}
	return s, nil
}

// FromCall discovers conn's remote operations with services/list and services/schema and
// returns one forwarding registration per selected operation, sorted by local name (ADPT-R5..R11).
// It registers nothing. Every round trip is bounded by ctx (ADPT-R16). Errors are *AdapterError.
func FromCall(ctx context.Context, conn *protocol.CallConnection, cfg FromCallConfig) ([]*registry.HandlerRegistration, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NamespacePrefix != "" && !validPrefix(cfg.NamespacePrefix) {
		return nil, adapterErr(SchemaParse, "", fmt.Sprintf("namespace prefix %q is not one or more REG-R1 segments", cut(cfg.NamespacePrefix)), nil)
	}
	maxOps := cfg.MaxOperations
	if maxOps <= 0 {
		maxOps = DefaultMaxOperations
	}

	raw, err := conn.Call(ctx, remoteList, json.RawMessage(`{}`))
	if err != nil {
		return nil, classify(ctx, "", remoteList, err)
	}
	listed, err := parseList(raw, maxOps)
	if err != nil {
		return nil, err
	}

	// Selection (ADPT-R6).
	include := map[string]bool{}
	for _, n := range cfg.Include {
		include[n] = true
	}
	type selected struct{ remote, local string }
	var sel []selected
	seenLocal := map[string]string{}
	for _, name := range listed {
		if !registry.ValidName(name) {
			logger.Warn("from_call: skipping a remote operation with an invalid name", "op", cut(name))
			continue
		}
		if strings.HasPrefix(name, "services/") && !cfg.IncludeBuiltins {
			continue
		}
		if len(include) > 0 && !include[name] {
			continue
		}
		local := name
		if cfg.NamespacePrefix != "" {
			local = cfg.NamespacePrefix + "/" + name
		}
		if !registry.ValidName(local) {
			logger.Warn("from_call: skipping a remote operation whose local name is too long", "op", cut(name))
			continue
		}
		if prev, dup := seenLocal[local]; dup {
			return nil, adapterErr(SamePeerCollision, local, fmt.Sprintf("listed twice by the remote (%s)", cut(prev)), nil)
		}
		seenLocal[local] = name
		sel = append(sel, selected{remote: name, local: local})
	}
	for _, n := range cfg.Include {
		if !slices.Contains(listed, n) {
			logger.Debug("from_call: an included operation is not listed by the remote", "op", cut(n))
		}
	}

	// Specs, at most schemaConcurrency in flight; the first failure cancels the rest (ADPT-R7).
	regs := make([]*registry.HandlerRegistration, len(sel))
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	sem := make(chan struct{}, schemaConcurrency)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
		mu.Unlock()
	}
	for i, s := range sel {
		select {
		case sem <- struct{}{}:
		case <-gctx.Done():
		}
		if gctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			reg, err := importOne(gctx, ctx, conn, cfg, s.remote, s.local)
			if err != nil {
				fail(err)
				return
			}
			regs[i] = reg
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, adapterErr(DiscoveryFailed, "", "import interrupted", context.Cause(ctx))
	}
	slices.SortFunc(regs, func(a, b *registry.HandlerRegistration) int { return strings.Compare(a.Spec.Name, b.Spec.Name) })
	return regs, nil
}

// parseList reads a services/list answer: an object with an operations array of at most maxOps
// entries, each with a string name (ADPT-R5). Anything else is SchemaParse.
func parseList(raw []byte, maxOps int) ([]string, error) {
	var list struct {
		Operations *[]struct {
			Name json.RawMessage `json:"name"`
		} `json:"operations"`
	}
	if err := json.Unmarshal(raw, &list); err != nil || list.Operations == nil {
		return nil, adapterErr(SchemaParse, "", "services/list answer has no operations array", err)
	}
	if len(*list.Operations) > maxOps {
		return nil, adapterErr(SchemaParse, "", fmt.Sprintf("services/list lists %d operations, more than %d", len(*list.Operations), maxOps), nil)
	}
	listed := make([]string, 0, len(*list.Operations))
	for i, e := range *list.Operations {
		var name string
		if v := bytes.TrimSpace(e.Name); len(v) == 0 || v[0] != '"' {
			return nil, adapterErr(SchemaParse, "", fmt.Sprintf("services/list entry %d has no string name", i), nil)
		}
		if err := json.Unmarshal(e.Name, &name); err != nil {
			return nil, adapterErr(SchemaParse, "", fmt.Sprintf("services/list entry %d has no string name", i), err)
		}
		listed = append(listed, name)
	}
	return listed, nil
}

// importOne fetches, parses, compiles and wraps one remote operation (ADPT-R7..R9, R11).
func importOne(ctx, parent context.Context, conn *protocol.CallConnection, cfg FromCallConfig, remote, local string) (*registry.HandlerRegistration, error) {
	in, _ := json.Marshal(struct {
		Name string `json:"name"`
	}{remote})
	raw, err := conn.Call(ctx, remoteSchema, json.RawMessage(in))
	if err != nil {
		return nil, classify(parent, remote, remoteSchema, err)
	}
	spec, err := SpecFromJSON(raw)
	if err != nil {
		return nil, adapterErr(SchemaParse, remote, "unparsable spec", err)
	}
	if spec.Name != remote {
		return nil, adapterErr(SchemaParse, remote, fmt.Sprintf("services/schema returned the spec of %q", cut(spec.Name)), nil)
	}
	spec = registry.TrimMetadata(spec)
	spec.Name = local
	spec.Visibility = registry.Internal // ADPT-R9
	var defs []registry.ErrorDefinition
	seen := map[string]bool{}
	for _, d := range spec.ErrorSchemas {
		if !registry.ValidDomainCode(d.Code) || seen[d.Code] { // REG-R6
			continue
		}
		seen[d.Code] = true
		defs = append(defs, d)
	}
	spec.ErrorSchemas = defs
	compiled, err := registry.CompileSpec(spec)
	if err != nil {
		return nil, adapterErr(SchemaParse, local, "schema does not compile", err)
	}
	reg := &registry.HandlerRegistration{Spec: spec, Provenance: registry.FromCall, Compiled: compiled}
	if spec.Type == registry.Subscription {
		reg.Stream = registry.StreamHandlerFunc(streamStub) // ADPT-R12 v1
	} else {
		reg.Handler = forwarder{conn: conn, path: registry.Path(remote), withhold: cfg.WithholdOriginator}
	}
	return reg, nil
}

// streamStub is the v1 handler of an imported subscription: nothing reaches it (REG-R20,
// DSP-R3), and called directly it answers INVALID_OPERATION_TYPE without sending a frame.
func streamStub(context.Context, *registry.OperationContext, json.RawMessage, registry.Emit) error {
	return callerr.New(callerr.InvalidOperationType, "streaming forwarding is not available for imported subscriptions")
}

// forwarder is the forwarding handler of an imported query or mutation (ADPT-R11).
type forwarder struct {
	conn     *protocol.CallConnection
	path     string
	withhold bool
}

// Handle sends input to the remote operation with forwarded_for = oc.Origin() (FWD-R5), the
// remaining deadline as timeout_ms (CALLP-R136) and the trace parent (CTX-R7). Cancelling ctx
// aborts the remote request.
func (f forwarder) Handle(ctx context.Context, oc *registry.OperationContext, input json.RawMessage) (json.RawMessage, error) {
	opts := make([]protocol.CallOption, 0, 3)
	opts = append(opts, protocol.WithParent(oc.RequestID()))
	if !f.withhold {
		if o := oc.Origin(); o != nil {
			opts = append(opts, protocol.WithForwardedFor(o))
		}
	}
	if tp := oc.TraceParent(); tp != "" {
		opts = append(opts, protocol.WithTraceParent(tp))
	}
	if input == nil {
		input = json.RawMessage("null")
	}
	return f.conn.Call(ctx, f.path, input, opts...)
}

// classify maps a failed discovery round trip to its kind (ADPT-R5). parent is FromCall's ctx.
func classify(parent context.Context, op, what string, err error) *AdapterError {
	if parent.Err() != nil {
		return adapterErr(DiscoveryFailed, op, what+" did not finish before the import's context ended", err)
	}
	if errors.Is(err, protocol.ErrConnectionClosed) || errors.Is(err, protocol.ErrStreamClosed) {
		return adapterErr(Transport, op, what+": connection ended", err)
	}
	var ce *callerr.CallError
	if errors.As(err, &ce) {
		if ce.Code == callerr.Forbidden {
			return adapterErr(Unauthorized, op, what+" refused", err)
		}
		return adapterErr(DiscoveryFailed, op, what+" answered "+ce.Code, err)
	}
	if errors.Is(err, callerr.ErrAborted) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return adapterErr(DiscoveryFailed, op, what+" aborted", err)
	}
	return adapterErr(Transport, op, what+" could not be sent", err)
}

// validPrefix reports whether p is one or more REG-R1 segments joined by "/" (ADPT-R6).
func validPrefix(p string) bool {
	return registry.ValidName(p+"/x") && len(p) < registry.MaxNameLen
}

// cut shortens a remote-supplied string for messages and logs.
func cut(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "…"
}

// ImportAndAttach is the common connection hook (ADPT-R17): FromCall, register into
// conn.Imported() (all or nothing), and, when ps is non-nil and conn has a PeerID, attach the set
// to ps until the connection ends. A connection without a PeerID is imported and not attached
// (ROUTE-R2). It starts no goroutine. Errors are *AdapterError.
func ImportAndAttach(ctx context.Context, conn *protocol.CallConnection, cfg FromCallConfig, ps *registry.PeerSet) error {
	regs, err := FromCall(ctx, conn, cfg)
	if err != nil {
		return err
	}
	if err := conn.Imported().Register(regs...); err != nil {
		var ce *registry.CollisionError
		if errors.As(err, &ce) {
			return adapterErr(SamePeerCollision, ce.Op, "already imported on this connection", err)
		}
		return adapterErr(Transport, "", "the connection's imported set refused the import", err)
	}
	if ps == nil {
		return nil
	}
	id, ok := conn.PeerID()
	if !ok {
		return nil
	}
	if err := ps.AttachConnection(id, conn.Imported(), conn); err != nil {
		return adapterErr(Transport, "", "attach to the peer set", err)
	}
	return nil
}
