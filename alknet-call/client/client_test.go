package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/alknet/alknet/alknet-call/client"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/coretest"
	"github.com/alknet/alknet/alknet-core/secret"
	"github.com/alknet/alknet/alknet-core/tlsconf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func registryWith(t *testing.T, name string, h registry.HandlerFunc) *registry.Registry {
	t.Helper()
	b := registry.NewBuilder()
	if name != "" {
		b.Local(registry.OperationSpec{Name: name, Type: registry.Query, Visibility: registry.External}, h, nil, nil, secret.Capabilities{})
	}
	r, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func echo(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
	return in, nil
}

type fpProvider struct{ fp, id string }

func (p fpProvider) ResolveFingerprint(_ context.Context, fp string) (auth.Identity, bool) {
	if fp == p.fp {
		return auth.Identity{ID: p.id, Origin: auth.OriginPeer}, true
	}
	return auth.Identity{}, false
}

func (fpProvider) ResolveToken(context.Context, auth.AuthToken) (auth.Identity, bool) {
	return auth.Identity{}, false
}

// CLNT-R1, R2, R5, R6, R12: a pinned dial, calls in both directions, the server resolved as a
// peer, and Close waiting for the engine.
func TestConnect(t *testing.T) {
	t.Parallel()
	var server atomic.Pointer[protocol.CallConnection]
	hooked := make(chan struct{})
	sd := &protocol.Dispatcher{Invoker: registryWith(t, "server/echo", echo)}
	node := coretest.StartEndpoint(t, protocol.NewCallAdapter(sd, protocol.WithAcceptHook(func(ctx context.Context, c *protocol.CallConnection) error {
		server.Store(c)
		close(hooked)
		return nil
	})))
	cd := &protocol.Dispatcher{Invoker: registryWith(t, "client/echo", echo), Identities: fpProvider{fp: node.Fingerprint, id: "head"}}
	onConnect := make(chan struct{}, 1)
	cl := client.New(cd, client.WithOnConnect(func(ctx context.Context, c *protocol.CallConnection) error {
		onConnect <- struct{}{}
		return nil
	}))
	defer cl.Close()
	cc, err := cl.Connect(t.Context(), node.Addr, client.CallCredentials{RemoteIdentity: &client.RemoteIdentity{Fingerprints: []string{node.Fingerprint}}})
	if err != nil {
		t.Fatal(err)
	}
	<-onConnect
	if id, ok := cc.PeerID(); !ok || id != "head" {
		t.Errorf("PeerID = %q %v, want head", id, ok)
	}
	if cc.RemoteFingerprint() != node.Fingerprint {
		t.Errorf("RemoteFingerprint = %q", cc.RemoteFingerprint())
	}
	if out, err := cc.Call(t.Context(), "server/echo", 1); err != nil || string(out) != "1" {
		t.Fatalf("client→server: %s %v", out, err)
	}
	<-hooked
	if out, err := server.Load().Call(t.Context(), "client/echo", 2); err != nil || string(out) != "2" {
		t.Fatalf("server→client: %s %v", out, err)
	}
	if err := cl.Close(); err != nil {
		t.Fatal(err)
	}
	<-cc.Done()
	if _, err := cl.Connect(t.Context(), node.Addr, client.CallCredentials{}); !isKind(err, client.ErrKindConnectionClosed) {
		t.Fatalf("Connect after Close = %v", err)
	}
}

func isKind(err error, k client.ClientErrorKind) bool {
	ce, ok := errors.AsType[*client.ClientError](err)
	return ok && ce.Kind == k
}

// CLNT-R5: a wrong pin, an empty pin set and an unparsable pin fail; hook errors are returned.
func TestConnectFailures(t *testing.T) {
	t.Parallel()
	node := coretest.StartEndpoint(t, protocol.NewCallAdapter(&protocol.Dispatcher{Invoker: registryWith(t, "", nil)}))
	cl := client.New(&protocol.Dispatcher{Invoker: registryWith(t, "", nil)})
	defer cl.Close()
	_, other := coretest.NewIdentity(t)
	_, err := cl.Connect(t.Context(), node.Addr, client.CallCredentials{RemoteIdentity: &client.RemoteIdentity{Fingerprints: []string{other}}})
	if !isKind(err, client.ErrKindRemoteIdentityMismatch) || !errors.Is(err, tlsconf.ErrPeerMismatch) {
		t.Errorf("wrong pin: %v", err)
	}
	if _, err := cl.Connect(t.Context(), node.Addr, client.CallCredentials{RemoteIdentity: &client.RemoteIdentity{}}); !isKind(err, client.ErrKindTLSSetup) {
		t.Errorf("empty pins: %v", err)
	}
	if _, err := cl.Connect(t.Context(), node.Addr, client.CallCredentials{RemoteIdentity: &client.RemoteIdentity{Fingerprints: []string{"nonsense"}}}); !isKind(err, client.ErrKindTLSSetup) {
		t.Errorf("bad pin: %v", err)
	}
	hookErr := errors.New("import failed")
	cl2 := client.New(&protocol.Dispatcher{Invoker: registryWith(t, "", nil)}, client.WithOnConnect(func(context.Context, *protocol.CallConnection) error {
		return hookErr
	}))
	defer cl2.Close()
	if _, err := cl2.Connect(t.Context(), node.Addr, client.CallCredentials{RemoteIdentity: &client.RemoteIdentity{Fingerprints: []string{node.Fingerprint}}}); !errors.Is(err, hookErr) {
		t.Errorf("hook error: %v", err)
	}
}

// CLNT-R11: Supervise redials with capped, jittered delays and stops when ctx ends (fake time).
func TestSupervise(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		var dials atomic.Int64
		failure := errors.New("unreachable")
		done := make(chan error, 1)
		go func() {
			done <- client.Supervise(ctx, func(context.Context) (*protocol.CallConnection, error) {
				dials.Add(1)
				return nil, failure
			}, client.Backoff{Min: time.Second, Max: 4 * time.Second})
		}()
		// Delays are at most 1, 2, 4, 4, … seconds: after 11 s of fake time at least 4 dials ran.
		time.Sleep(11 * time.Second)
		synctest.Wait()
		if n := dials.Load(); n < 4 {
			t.Errorf("%d dials in 11s, want at least 4", n)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Supervise = %v", err)
		}
	})
}

// T-CALLP-86: Revoke of the server's identity closes a dialled connection (CALLP-R124).
func TestRevokeDialled(t *testing.T) {
	t.Parallel()
	node := coretest.StartEndpoint(t, protocol.NewCallAdapter(&protocol.Dispatcher{Invoker: registryWith(t, "server/echo", echo)}))
	cd := &protocol.Dispatcher{Invoker: registryWith(t, "", nil), Identities: fpProvider{fp: node.Fingerprint, id: "head"}}
	cl := client.New(cd)
	defer cl.Close()
	cc, err := cl.Connect(t.Context(), node.Addr, client.CallCredentials{RemoteIdentity: &client.RemoteIdentity{Fingerprints: []string{node.Fingerprint}}})
	if err != nil {
		t.Fatal(err)
	}
	if res := cd.Revoke("head"); res.Connections != 1 {
		t.Fatalf("Revoke(head) = %+v", res)
	}
	<-cc.Done()
	if _, err := cc.Call(t.Context(), "server/echo", 1); !errors.Is(err, protocol.ErrConnectionClosed) {
		t.Fatalf("call after revocation = %v", err)
	}
}

// CLNT-R9: a panicking connect hook is an error returned by Connect.
func TestConnectHookPanic(t *testing.T) {
	t.Parallel()
	node := coretest.StartEndpoint(t, protocol.NewCallAdapter(&protocol.Dispatcher{Invoker: registryWith(t, "", nil)}))
	cl := client.New(&protocol.Dispatcher{Invoker: registryWith(t, "", nil)}, client.WithOnConnect(func(context.Context, *protocol.CallConnection) error {
		panic("hook bug")
	}))
	defer cl.Close()
	if _, err := cl.Connect(t.Context(), node.Addr, client.CallCredentials{RemoteIdentity: &client.RemoteIdentity{Fingerprints: []string{node.Fingerprint}}}); err == nil {
		t.Fatal("Connect succeeded despite a panicking hook")
	}
}
