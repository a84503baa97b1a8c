package registry_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/config"
	"github.com/alknet/alknet/alknet-core/coretest"
	"github.com/alknet/alknet/alknet-core/secret"
)

// Test 64 [ACL-R6, DSP-R2, CLNT-R10] over QUIC with core's identity provider: worker-b's token
// resolves per request; without the scope jobs/run is FORBIDDEN and its handler never sees the
// capabilities; after a configuration reload grants the scope, the same token is allowed.
func TestWirePeerScopeAfterReload(t *testing.T) {
	t.Parallel()
	token := []byte("worker-b-token-7f3a")
	dyn, err := config.NewDynamic(config.DynamicConfig{Auth: auth.AuthPolicy{Peers: []auth.PeerEntry{
		{PeerID: "worker-b", Fingerprints: []string{}, AuthTokenHash: auth.HashToken(token), Scopes: []string{"worker"}},
	}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var runs, capsSeen atomic.Int64
	h := registry.HandlerFunc(func(_ context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		runs.Add(1)
		capsSeen.Add(int64(oc.Capabilities().Len()))
		return json.Marshal(oc.Identity().ID)
	})
	r := mustBuild(t, registry.NewBuilder().Local(ext("jobs/run", "jobs:run"), h, nil, nil, secret.Capabilities{}.WithAPIKey("k", "v")))
	cl, sv := coretest.Pair(t, protocol.ALPN)
	client := (&protocol.Dispatcher{Invoker: mustBuild(t, registry.NewBuilder())}).Attach(cl, protocol.WithOutgoingAuthToken(auth.NewAuthToken(token)))
	server := (&protocol.Dispatcher{Invoker: r, Identities: auth.NewConfigIdentityProvider(dyn)}).Attach(sv)
	serveConn(t, client)
	serveConn(t, server)

	_, err = client.Call(t.Context(), "/jobs/run", nil)
	if ce := callErr(t, err); ce.Code != callerr.Forbidden || ce.Message != "missing required scope: jobs:run" {
		t.Errorf("without the scope: %v", err)
	}
	if runs.Load() != 0 || capsSeen.Load() != 0 {
		t.Errorf("handler ran %d times, saw %d capabilities", runs.Load(), capsSeen.Load())
	}
	err = dyn.ReloadHandle().Update(func(c *config.DynamicConfig) error {
		c.Auth.Peers[0].Scopes = append(c.Auth.Peers[0].Scopes, "jobs:run")
		return nil
	}, "test")
	if err != nil {
		t.Fatal(err)
	}
	out, err := client.Call(t.Context(), "/jobs/run", nil)
	if err != nil || string(out) != `"worker-b"` || runs.Load() != 1 || capsSeen.Load() != 1 {
		t.Errorf("after the grant: %s, %v (runs %d)", out, err, runs.Load())
	}
	// A token that does not resolve is FORBIDDEN "authentication failed", never anonymous.
	_, err = client.Call(t.Context(), "/jobs/run", nil, protocol.WithAuthToken(auth.NewAuthToken([]byte("wrong"))))
	if ce := callErr(t, err); ce.Code != callerr.Forbidden || ce.Message != "authentication failed" {
		t.Errorf("bad token: %v", err)
	}
}
