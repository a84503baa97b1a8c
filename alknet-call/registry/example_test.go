package registry_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/alknet/alknet/alknet-call/discovery"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/secret"
)

// A Layer 0 registry with one External operation, served the way an edge serves a wire call.
func ExampleBuilder() {
	b := registry.NewBuilder()
	discovery.Install(b, discovery.Options{})
	b.Local(registry.OperationSpec{
		Name:          "greet/hello",
		Type:          registry.Query,
		Visibility:    registry.External,
		InputSchema:   json.RawMessage(`{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}`),
		AccessControl: registry.AccessControl{RequiredScopes: []string{"greet"}},
	}, registry.HandlerFunc(func(_ context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		var req struct{ Name string }
		if err := json.Unmarshal(in, &req); err != nil {
			return nil, err
		}
		return json.Marshal("hello " + req.Name + " from " + oc.Identity().ID)
	}), nil, nil, secret.Capabilities{})
	r, err := b.Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	alice := &auth.Identity{ID: "alice", Scopes: []string{"greet"}, Origin: auth.OriginPeer}
	out, err := r.ServeCall(context.Background(), registry.WireCall{RequestID: "r1", Operation: "/greet/hello", Identity: alice}, json.RawMessage(`{"name":"bob"}`))
	fmt.Println(string(out), err)
	_, err = r.ServeCall(context.Background(), registry.WireCall{RequestID: "r2", Operation: "/greet/hello"}, json.RawMessage(`{"name":"bob"}`))
	fmt.Println(err)
	// Output:
	// "hello bob from alice" <nil>
	// FORBIDDEN: authentication required
}
