// Package builtin registers the node's own operations (cli.md §8.4, CLI-R44): /node/ping,
// /node/info, /node/peers, /node/whoami, /node/heartbeat and /node/wait. They are Local,
// External and never compose; none of them changes state.
package builtin

import (
	"context"
	"encoding/json"
	"time"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/secret"
)

// MaxPingInput bounds /node/ping's input.
const MaxPingInput = 64 << 10

// Operation names (without the leading "/", REG-R2).
const (
	Ping      = "node/ping"
	Info      = "node/info"
	Peers     = "node/peers"
	WhoAmI    = "node/whoami"
	Heartbeat = "node/heartbeat"
	Wait      = "node/wait"
)

// Peer is one entry of /node/peers (CLI-R44).
type Peer struct {
	PeerID      string      `json:"peer_id"`
	Fingerprint *string     `json:"fingerprint"`
	Direction   string      `json:"direction"` // inbound | outbound
	State       string      `json:"state"`
	RemoteAddr  *string     `json:"remote_addr"`
	Since       *string     `json:"since"`
	ImportedOps int         `json:"imported_ops"`
	LastError   *string     `json:"last_error"`
	RemoteView  *RemoteView `json:"remote_view"`
}

// RemoteView is how a head sees this node (CLI-R79).
type RemoteView struct {
	ID     *string `json:"id"`
	Origin *string `json:"origin"`
}

// StoreHealth is the store part of /node/info.
type StoreHealth struct {
	Healthy     bool             `json:"healthy"`
	Generations map[string]int64 `json:"generations"`
}

// Node supplies what the operations report. Functions may be nil.
type Node struct {
	Name        string
	Version     string
	Fingerprint string
	StartedAt   time.Time
	ALPNs       []string
	Store       func() StoreHealth
	Peers       func() []Peer // sorted by peer_id, then direction
	Now         func() time.Time
}

var (
	emptyInput = json.RawMessage(`{"type":["object","null"],"maxProperties":0}`)
	hbInput    = json.RawMessage(`{"type":["object","null"],"properties":{"interval_ms":{"type":"integer","minimum":100,"maximum":60000}},"additionalProperties":false}`)
	waitInput  = json.RawMessage(`{"type":"object","properties":{"ms":{"type":"integer","minimum":0,"maximum":60000}},"required":["ms"],"additionalProperties":false}`)
	nodeRead   = registry.AccessControl{RequiredScopes: []string{"node:read"}}
	topology   = registry.AccessControl{RequiredScopes: []string{"ops:topology"}}
)

func none() secret.Capabilities { return secret.Capabilities{} }

func spec(name, summary string, t registry.OperationType, in json.RawMessage, ac registry.AccessControl) registry.OperationSpec {
	return registry.OperationSpec{Name: name, Type: t, Visibility: registry.External, Summary: summary, InputSchema: in, AccessControl: ac}
}

func marshal(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, callerr.New(callerr.Internal, "cannot encode the result").WithCause(err)
	}
	return b, nil
}

// Install registers the built-ins on b (CLI-R43, CLI-R44).
func Install(b *registry.Builder, n Node) *registry.Builder {
	now := n.Now
	if now == nil {
		now = time.Now
	}
	stamp := func() string { return now().UTC().Format(time.RFC3339Nano) }

	b.Local(spec(Ping, "Echo the input with the server's time", registry.Query, nil, registry.AccessControl{}),
		registry.HandlerFunc(func(_ context.Context, _ *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
			if len(in) > MaxPingInput {
				return nil, callerr.New(callerr.InvalidInput, "the input is larger than 64 KiB")
			}
			if len(in) == 0 {
				in = json.RawMessage("null")
			}
			return marshal(map[string]any{"echo": in, "time": stamp()})
		}), nil, nil, none())

	b.Local(spec(Info, "Describe this node", registry.Query, emptyInput, nodeRead),
		registry.HandlerFunc(func(context.Context, *registry.OperationContext, json.RawMessage) (json.RawMessage, error) {
			st := StoreHealth{Healthy: true, Generations: map[string]int64{}}
			if n.Store != nil {
				st = n.Store()
			}
			alpns := n.ALPNs
			if alpns == nil {
				alpns = []string{}
			}
			return marshal(map[string]any{
				"name": n.Name, "version": n.Version, "fingerprint": n.Fingerprint,
				"started_at": n.StartedAt.UTC().Format(time.RFC3339), "uptime_s": int64(now().Sub(n.StartedAt).Seconds()),
				"alpns": alpns, "store": st,
			})
		}), nil, nil, none())

	b.Local(spec(Peers, "List the peer connections of this node", registry.Query, emptyInput, topology),
		registry.HandlerFunc(func(context.Context, *registry.OperationContext, json.RawMessage) (json.RawMessage, error) {
			ps := []Peer{}
			if n.Peers != nil {
				ps = append(ps, n.Peers()...)
			}
			return marshal(ps)
		}), nil, nil, none())

	b.Local(spec(WhoAmI, "Show how this node identifies the caller", registry.Query, emptyInput, registry.AccessControl{}),
		registry.HandlerFunc(func(_ context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
			out := map[string]any{"id": nil, "origin": nil, "scopes": []string{}, "forwarded_for": nil}
			if id := oc.Identity(); id != nil {
				out["id"], out["origin"] = id.ID, id.Origin.String()
				if id.Scopes != nil {
					out["scopes"] = id.Scopes
				}
			}
			// The forwarding node's claim about the originating caller: reported, never used
			// for access (FWD-R2, FWD-R6).
			if f := oc.ForwardedFor(); f != nil {
				out["forwarded_for"] = map[string]any{"id": f.ID, "scopes": nonNil(f.Scopes)}
			}
			return marshal(out)
		}), nil, nil, none())

	b.LocalStream(spec(Heartbeat, "Emit one event per interval until aborted", registry.Subscription, hbInput, nodeRead),
		registry.StreamHandlerFunc(func(ctx context.Context, _ *registry.OperationContext, in json.RawMessage, emit registry.Emit) error {
			var req struct {
				IntervalMS int `json:"interval_ms"`
			}
			_ = json.Unmarshal(in, &req) // the schema already checked it
			if req.IntervalMS == 0 {
				req.IntervalMS = 1000
			}
			t := time.NewTicker(time.Duration(req.IntervalMS) * time.Millisecond)
			defer t.Stop()
			for seq := int64(1); ; seq++ {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-t.C:
				}
				item, err := marshal(map[string]any{"seq": seq, "time": stamp()})
				if err != nil {
					return err
				}
				if err := emit(item); err != nil {
					return err
				}
			}
		}), nil, nil, none())

	b.Local(spec(Wait, "Wait the given number of milliseconds (for deadline and abort tests)", registry.Query, waitInput, nodeRead),
		registry.HandlerFunc(func(ctx context.Context, _ *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
			var req struct {
				MS int64 `json:"ms"`
			}
			if err := json.Unmarshal(in, &req); err != nil {
				return nil, callerr.New(callerr.InvalidInput, "ms must be an integer from 0 to 60000")
			}
			t := time.NewTimer(time.Duration(req.MS) * time.Millisecond)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-t.C:
			}
			return marshal(map[string]any{"waited_ms": req.MS})
		}), nil, nil, none())
	return b
}

// nonNil returns s, or an empty slice for nil, so JSON shows [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
