package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/alknet/alknet/alknet-call/registry"
)

// Test 22: dispatch overhead (lookup + ACL + validation of a 1 KiB input + handler call).
func BenchmarkDispatch(b *testing.B) {
	spec := ext("bench/op", "bench:run")
	spec.InputSchema = json.RawMessage(`{"type":"object","properties":{"name":{"type":"string","maxLength":64},"items":{"type":"array","items":{"type":"object","properties":{"k":{"type":"string"},"v":{"type":"integer"}},"required":["k","v"]}}},"required":["name","items"]}`)
	var items []string
	for i := 0; len(strings.Join(items, ",")) < 1000; i++ {
		items = append(items, fmt.Sprintf(`{"k":"key-%03d","v":%d}`, i, i))
	}
	input := json.RawMessage(`{"name":"bench","items":[` + strings.Join(items, ",") + `]}`)
	small := json.RawMessage(`{"name":"bench","items":[]}`)
	composer := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		return oc.Env().Invoke(ctx, "bench/op", in)
	})
	scope := registry.NewScopedEnv("bench/op")
	r := mustBuild(b, registry.NewBuilder().
		Local(spec, constant(`{"ok":true}`), nil, nil, noCaps).
		Local(ext("bench/noschema", "bench:run"), constant(`{"ok":true}`), nil, nil, noCaps).
		Local(ext("bench/compose"), composer, &registry.CompositionAuthority{Label: "c", Scopes: []string{"bench:run"}}, &scope, noCaps))
	id := ident("alice", "bench:run")
	run := func(b *testing.B, op string, in json.RawMessage) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		w := registry.WireCall{RequestID: "r", Operation: op, Identity: id}
		for b.Loop() {
			if _, err := r.ServeCall(b.Context(), w, in); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("baseline-handler-only", func(b *testing.B) {
		h := constant(`{"ok":true}`)
		b.ReportAllocs()
		b.SetBytes(int64(len(input)))
		for b.Loop() {
			if _, err := h.Handle(b.Context(), &registry.OperationContext{}, input); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("validate-1KiB", func(b *testing.B) { run(b, "/bench/op", input) })
	b.Run("validate-small", func(b *testing.B) { run(b, "/bench/op", small) })
	b.Run("no-schema", func(b *testing.B) { run(b, "/bench/noschema", input) })
	b.Run("composed-1KiB", func(b *testing.B) { run(b, "/bench/compose", input) })
	b.Run("not-found", func(b *testing.B) {
		w := registry.WireCall{RequestID: "r", Operation: "/bench/missing", Identity: id}
		b.ReportAllocs()
		for b.Loop() {
			r.ServeCall(b.Context(), w, input)
		}
	})
}

// Test 40: Any routing with 100 attached peers, each built-in policy.
func BenchmarkAnyRouting(b *testing.B) {
	for _, pol := range []struct {
		name string
		p    registry.AnyPolicy
	}{{"first-match", registry.FirstMatch()}, {"round-robin", registry.RoundRobin()}, {"least-outstanding", registry.LeastOutstanding()}} {
		b.Run(pol.name, func(b *testing.B) {
			ps := registry.NewPeerSet(registry.PeerSetOptions{AnyPolicy: pol.p})
			for i := range 100 {
				set := registry.NewImportedSet()
				if err := set.Register(leaf("w/run")); err != nil {
					b.Fatal(err)
				}
				ps.Attach(registry.PeerID(fmt.Sprintf("w%03d", i)), set)
			}
			composer := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
				return oc.Env().Invoke(ctx, "w/run", in)
			})
			scope := registry.NewScopedEnv("w/run")
			r := mustBuild(b, registry.NewBuilder().Local(ext("c/c"), composer, &registry.CompositionAuthority{Label: "c"}, &scope, noCaps))
			w := registry.WireCall{RequestID: "r", Operation: "c/c", Routes: registry.Routes{Peers: ps.View()}}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.ServeCall(b.Context(), w, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
