package registry_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"go.uber.org/goleak"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/secret"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ident builds a peer identity holding scopes.
func ident(id string, scopes ...string) *auth.Identity {
	return &auth.Identity{ID: id, Scopes: scopes, Resources: map[string][]string{}, Origin: auth.OriginPeer}
}

// echo returns its input.
var echo = registry.HandlerFunc(func(_ context.Context, _ *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
	return in, nil
})

// constant returns a handler answering v.
func constant(v string) registry.Handler {
	return registry.HandlerFunc(func(context.Context, *registry.OperationContext, json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(v), nil
	})
}

// ext returns an External Query spec.
func ext(name string, scopes ...string) registry.OperationSpec {
	return registry.OperationSpec{Name: name, Type: registry.Query, Visibility: registry.External,
		AccessControl: registry.AccessControl{RequiredScopes: scopes}}
}

// internalSpec returns an Internal Query spec.
func internalSpec(name string, scopes ...string) registry.OperationSpec {
	s := ext(name, scopes...)
	s.Visibility = registry.Internal
	return s
}

var noCaps = secret.Capabilities{}

func mustBuild(t testing.TB, b *registry.Builder) *registry.Registry {
	t.Helper()
	r, err := b.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return r
}

// call runs a wire call through ServeCall.
func call(t testing.TB, r *registry.Registry, id *auth.Identity, op string, input string) (json.RawMessage, error) {
	t.Helper()
	var in json.RawMessage
	if input != "" {
		in = json.RawMessage(input)
	}
	return r.ServeCall(t.Context(), registry.WireCall{RequestID: "r1", Operation: op, Identity: id}, in)
}

// codeOf returns the CallError code of err, "" for nil, or "!" + the error for anything else.
func codeOf(err error) string {
	if err == nil {
		return ""
	}
	if ce, ok := errors.AsType[*callerr.CallError](err); ok {
		return ce.Code
	}
	return "!" + err.Error()
}

func callErr(t testing.TB, err error) *callerr.CallError {
	t.Helper()
	ce, ok := errors.AsType[*callerr.CallError](err)
	if !ok {
		t.Fatalf("error %v is not a *callerr.CallError", err)
	}
	return ce
}
