package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/conn"
	"github.com/alknet/alknet/alknet-core/secret"
)

// tap records every byte written through it in either direction.
type tap struct {
	io.ReadWriteCloser
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (t tap) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.buf.Write(p)
	t.mu.Unlock()
	return t.ReadWriteCloser.Write(p)
}

// tappedPair connects a client with an empty registry to server over one in-memory stream
// (single-stream mode, CALLP §9.6) and records every frame either side writes.
func tappedPair(t *testing.T, server *registry.Registry, logger *slog.Logger) (*protocol.CallConnection, func() string) {
	t.Helper()
	var mu sync.Mutex
	var buf bytes.Buffer
	p1, p2 := net.Pipe()
	c1 := conn.NewStreamConn(tap{p1, &mu, &buf}, protocol.ALPN, nil)
	c2 := conn.NewStreamConn(tap{p2, &mu, &buf}, protocol.ALPN, nil)
	t.Cleanup(func() { _ = c1.Close(0, ""); _ = c2.Close(0, "") })
	client := engines(t, c1, c2, server, logger, protocol.WithCallerIdentity(ident("alice", "v")))
	return client, func() string {
		mu.Lock()
		defer mu.Unlock()
		return buf.String()
	}
}

// Tests 15 and 66 with frame capture [ERR-R2, CAP-R6]: across every frame of a run and every log
// line, no capability value, handler error text or panic value appears.
func TestFramesCarryNoSecrets(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&logs, &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	caps := secret.Capabilities{}.WithAPIKey("vast", "cap-secret-4711")
	leak := registry.HandlerFunc(func(_ context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		k, _ := oc.Capabilities().Get("vast")
		return nil, errors.New("token sk-live-123 key " + k.Expose())
	})
	boom := registry.HandlerFunc(func(_ context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		k, _ := oc.Capabilities().Get("vast")
		panic("key " + k.Expose())
	})
	compose := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		return oc.Env().Invoke(ctx, "v/leak", nil)
	})
	scope := registry.NewScopedEnv("v/leak")
	r := mustBuild(t, installDiscovery(registry.NewBuilder().Logger(logger).
		Local(ext("v/leak", "v"), leak, nil, nil, caps).
		Local(ext("v/boom", "v"), boom, nil, nil, caps).
		Local(ext("v/compose", "v"), compose, &registry.CompositionAuthority{Label: "c", Scopes: []string{"v"}}, &scope, noCaps)))
	c, frames := tappedPair(t, r, logger)
	for _, op := range []string{"/v/leak", "/v/boom", "/v/compose", "/services/list", "/services/schema"} {
		_, _ = c.Call(t.Context(), op, map[string]string{"name": "v/leak"})
	}
	all := frames()
	if !strings.Contains(all, `"code":"INTERNAL","message":"internal error"`) {
		t.Fatalf("no INTERNAL frame captured:\n%s", all)
	}
	logMu.Lock()
	logText := logs.String()
	logMu.Unlock()
	for _, s := range []string{"sk-live-123", "cap-secret-4711"} {
		if strings.Contains(all, s) {
			t.Errorf("%s appears in a frame", s)
		}
		if strings.Contains(logText, s) {
			t.Errorf("%s appears in a log line", s)
		}
	}
	if _, err := json.Marshal(caps); err == nil {
		t.Error("json.Marshal of capabilities succeeded")
	}
}

var (
	uuidRE    = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	timeoutRE = regexp.MustCompile(`"timeout_ms":[0-9]+`)
)

// Test 83 [OBS-R5]: an observer changes no frame. The same calls run against a registry with and
// without an observer (one that also returns its own traceparent); the captured frames are
// identical once request ids and the remaining budgets are normalised.
func TestObserverChangesNoFrame(t *testing.T) {
	t.Parallel()
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	run := func(o registry.Observer) string {
		spec := ext("v/v", "v")
		spec.InputSchema = json.RawMessage(`{"type":"object","required":["a"]}`)
		compose := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
			return oc.Env().Invoke(ctx, "v/v", in)
		})
		scope := registry.NewScopedEnv("v/v")
		b := registry.NewBuilder().
			Local(spec, echo, nil, nil, noCaps).
			Local(ext("v/admin", "admin"), echo, nil, nil, noCaps).
			Local(ext("v/compose"), compose, &registry.CompositionAuthority{Label: "c", Scopes: []string{"v"}}, &scope, noCaps)
		if o != nil {
			b.Observe(o)
		}
		c, frames := tappedPair(t, mustBuild(t, installDiscovery(b)), nil)
		for _, call := range []struct{ op, in string }{
			{"/v/v", `{"a":1}`}, {"/v/v", `{}`}, {"/v/admin", `1`}, {"/no/such", `1`},
			{"/v/compose", `{"a":2}`}, {"/v/compose", `[]`}, {"/services/list", `{}`},
		} {
			_, _ = c.Call(t.Context(), call.op, json.RawMessage(call.in), protocol.WithTraceParent(tp))
		}
		// Request ids are random and timeout_ms is the caller's remaining budget at send time.
		return timeoutRE.ReplaceAllString(uuidRE.ReplaceAllString(frames(), "ID"), `"timeout_ms":N`)
	}
	without := run(nil)
	with := run(&recorder{tp: func(registry.CallStart) string { return "00-1af7651916cd43dd8448eb211c80319c-c7ad6b7169203331-01" }})
	if with != without {
		t.Errorf("frames differ with an observer:\n%q\n%q", with, without)
	}
}
