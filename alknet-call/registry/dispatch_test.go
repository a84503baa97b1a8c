package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-call/wire"
	"github.com/alknet/alknet/alknet-core/secret"
)

// wireError encodes a CallError the way the call.error payload carries it (code, message,
// retryable, details), so tests can compare what an edge would send.
func wireError(t testing.TB, err error) string {
	t.Helper()
	ce := callErr(t, err)
	b, _ := json.Marshal(struct {
		Code      string          `json:"code"`
		Message   string          `json:"message"`
		Retryable bool            `json:"retryable"`
		Details   json.RawMessage `json:"details,omitempty"`
	}{ce.Code, ce.Message, ce.Retryable, ce.Details})
	return string(b)
}

// Test 11 [REG-R12, DSP-R1]: unknown and Internal ops answer identically apart from the name.
func TestInternalLooksAbsent(t *testing.T) {
	t.Parallel()
	r := mustBuild(t, registry.NewBuilder().Local(internalSpec("audit/record"), echo, nil, nil, noCaps))
	_, e1 := call(t, r, ident("alice"), "/audit/record", `{}`)
	_, e2 := call(t, r, ident("alice"), "/audit/recorX", `{}`)
	w1 := strings.Replace(wireError(t, e1), "audit/record", "NAME", 1)
	w2 := strings.Replace(wireError(t, e2), "audit/recorX", "NAME", 1)
	if w1 != w2 || codeOf(e1) != callerr.NotFound {
		t.Errorf("internal %s\nabsent   %s", w1, w2)
	}
	if _, ok := r.OpType("/audit/record"); ok {
		t.Error("OpType reports an Internal op")
	}
}

// Test 12 [VAL-R7] and test 13 [DSP-R2].
func TestDeniedBeforeValidation(t *testing.T) {
	t.Parallel()
	entered := atomic.Bool{}
	var seen atomic.Int64
	h := registry.HandlerFunc(func(_ context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		entered.Store(true)
		seen.Store(int64(oc.Capabilities().Len()))
		return nil, nil
	})
	spec := ext("fs/write", "fs:write")
	spec.InputSchema = json.RawMessage(`{"type":"object","required":["path"]}`)
	caps := secret.Capabilities{}.WithAPIKey("disk", "k-123")
	obs := &recorder{}
	r := mustBuild(t, registry.NewBuilder().Observe(obs).Local(spec, h, nil, nil, caps))
	_, err := call(t, r, ident("bob", "other"), "/fs/write", `[1,2]`)
	if codeOf(err) != callerr.Forbidden {
		t.Errorf("unauthorised + invalid input = %v, want FORBIDDEN", err)
	}
	if ce := callErr(t, err); ce.Details != nil || ce.Retryable || ce.Message != "missing required scope: fs:write" {
		t.Errorf("FORBIDDEN payload %s", wireError(t, err))
	}
	if entered.Load() {
		t.Error("handler entered for a denied call")
	}
	if _, err := call(t, r, ident("carol", "fs:write"), "/fs/write", `[1,2]`); codeOf(err) != callerr.InvalidInput {
		t.Errorf("authorised + invalid input = %v", err)
	}
	if entered.Load() {
		t.Error("handler entered for invalid input")
	}
	if _, err := call(t, r, ident("carol", "fs:write"), "/fs/write", `{"path":"x"}`); err != nil {
		t.Fatal(err)
	}
	if !entered.Load() || seen.Load() != 1 {
		t.Errorf("allowed call: entered %v, capabilities seen %d", entered.Load(), seen.Load())
	}
}

var sub = registry.StreamHandlerFunc(func(_ context.Context, _ *registry.OperationContext, _ json.RawMessage, emit registry.Emit) error {
	for i := range 3 {
		if err := emit(json.RawMessage{byte('0' + i)}); err != nil {
			return err
		}
	}
	return nil
})

// Test 14 [DSP-R1, DSP-R3].
func TestOperationTypeMismatch(t *testing.T) {
	t.Parallel()
	subSpec := ext("logs/tail")
	subSpec.Type = registry.Subscription
	composer := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		return oc.Env().Invoke(ctx, "logs/tail", nil)
	})
	scope := registry.NewScopedEnv("logs/tail")
	r := mustBuild(t, registry.NewBuilder().
		LocalStream(subSpec, sub, nil, nil, noCaps).
		Local(ext("fs/read"), echo, nil, nil, noCaps).
		Local(ext("job/run"), composer, &registry.CompositionAuthority{Label: "j"}, &scope, noCaps))
	if _, err := call(t, r, nil, "/logs/tail", ""); codeOf(err) != callerr.InvalidOperationType {
		t.Errorf("subscription via ServeCall = %v", err)
	}
	emitted := 0
	err := r.ServeSubscribe(t.Context(), registry.WireCall{RequestID: "s", Operation: "/fs/read"}, nil, func(json.RawMessage) error { emitted++; return nil })
	if codeOf(err) != callerr.InvalidOperationType || emitted != 0 {
		t.Errorf("query via ServeSubscribe = %v (emitted %d)", err, emitted)
	}
	if _, err := call(t, r, nil, "/job/run", ""); codeOf(err) != callerr.InvalidOperationType {
		t.Errorf("Env.Invoke of a subscription = %v", err)
	}
	var items []string
	err = r.ServeSubscribe(t.Context(), registry.WireCall{RequestID: "s", Operation: "/logs/tail"}, nil, func(b json.RawMessage) error {
		items = append(items, string(b))
		return nil
	})
	if err != nil || strings.Join(items, ",") != "0,1,2" {
		t.Errorf("subscription = %v, %v", items, err)
	}
	if typ, ok := r.OpType("logs/tail"); !ok || typ != registry.Subscription {
		t.Errorf("OpType = %v, %v", typ, ok)
	}
}

// Test 15 [ERR-R2, CAP-R6]: an uncoded error's text never leaves the node, nor reaches a log.
func TestUncodedErrorHidden(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	h := registry.HandlerFunc(func(context.Context, *registry.OperationContext, json.RawMessage) (json.RawMessage, error) {
		return nil, errors.New("token sk-live-123")
	})
	r := mustBuild(t, registry.NewBuilder().Logger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))).
		Local(ext("x/y"), h, nil, nil, noCaps))
	_, err := call(t, r, nil, "/x/y", "")
	w := wireError(t, err)
	if w != `{"code":"INTERNAL","message":"internal error","retryable":false}` {
		t.Errorf("payload %s", w)
	}
	if strings.Contains(w, "sk-live") || strings.Contains(logs.String(), "sk-live") {
		t.Errorf("secret leaked: payload %s logs %s", w, logs.String())
	}
}

// Test 16 [ERR-R2 cases 2-4].
func TestDomainErrors(t *testing.T) {
	t.Parallel()
	spec := ext("fs/read")
	spec.ErrorSchemas = []registry.ErrorDefinition{{Code: "FILE_NOT_FOUND", Schema: json.RawMessage(`{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}`)}}
	var ret atomic.Pointer[callerr.CallError]
	h := registry.HandlerFunc(func(context.Context, *registry.OperationContext, json.RawMessage) (json.RawMessage, error) {
		return nil, ret.Load()
	})
	r := mustBuild(t, registry.NewBuilder().Local(spec, h, nil, nil, noCaps))
	for _, tc := range []struct {
		ret  *callerr.CallError
		want string
	}{
		{callerr.New("FILE_NOT_FOUND", "no such file").WithDetails(map[string]string{"path": "/a"}),
			`{"code":"FILE_NOT_FOUND","message":"no such file","retryable":false,"details":{"path":"/a"}}`},
		{callerr.New("FILE_NOT_FOUND", "no such file").WithDetails(map[string]int{"path": 3}),
			`{"code":"FILE_NOT_FOUND","message":"no such file","retryable":false}`},
		{callerr.New("DISK_FULL", "disk full"),
			`{"code":"INTERNAL","message":"disk full","retryable":false,"details":{"original_code":"DISK_FULL"}}`},
		{callerr.New(callerr.Forbidden, "remote says no"),
			`{"code":"FORBIDDEN","message":"remote says no","retryable":false}`},
		{&callerr.CallError{Code: callerr.Timeout, Message: "remote timeout", Retryable: true},
			`{"code":"TIMEOUT","message":"remote timeout","retryable":true}`},
		{&callerr.CallError{Code: "FILE_NOT_FOUND", Message: "m", Details: json.RawMessage(`{bad`)},
			`{"code":"FILE_NOT_FOUND","message":"m","retryable":false}`},
	} {
		ret.Store(tc.ret)
		_, err := call(t, r, nil, "/fs/read", "")
		if got := wireError(t, err); got != tc.want {
			t.Errorf("handler returned %v:\n got %s\nwant %s", tc.ret, got, tc.want)
		}
	}
}

// Test 17 [ERR-R2 case 8]: a panic becomes INTERNAL and the registry keeps serving.
func TestHandlerPanic(t *testing.T) {
	t.Parallel()
	h := registry.HandlerFunc(func(context.Context, *registry.OperationContext, json.RawMessage) (json.RawMessage, error) {
		panic("boom sk-live-9")
	})
	streamPanic := registry.StreamHandlerFunc(func(context.Context, *registry.OperationContext, json.RawMessage, registry.Emit) error {
		panic("stream boom")
	})
	subSpec := ext("s/p")
	subSpec.Type = registry.Subscription
	var logs bytes.Buffer
	r := mustBuild(t, registry.NewBuilder().Logger(slog.New(slog.NewTextHandler(&logs, nil))).
		Local(ext("p/p"), h, nil, nil, noCaps).Local(ext("ok/ok"), constant(`1`), nil, nil, noCaps).LocalStream(subSpec, streamPanic, nil, nil, noCaps))
	for range 3 {
		if _, err := call(t, r, nil, "/p/p", ""); wireError(t, err) != `{"code":"INTERNAL","message":"internal error","retryable":false}` {
			t.Errorf("panic = %v", err)
		}
		if out, err := call(t, r, nil, "/ok/ok", ""); err != nil || string(out) != "1" {
			t.Errorf("after panic: %s, %v", out, err)
		}
	}
	if err := r.ServeSubscribe(t.Context(), registry.WireCall{Operation: "s/p"}, nil, func(json.RawMessage) error { return nil }); codeOf(err) != callerr.Internal {
		t.Errorf("stream panic = %v", err)
	}
	if strings.Contains(logs.String(), "sk-live-9") {
		t.Error("panic value logged")
	}
	if !strings.Contains(logs.String(), "handler panic recovered") {
		t.Error("panic not logged")
	}
}

// Test 18 [ERR-R2 case 6].
func TestDeadlineIsTimeout(t *testing.T) {
	t.Parallel()
	h := registry.HandlerFunc(func(ctx context.Context, _ *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		<-ctx.Done()
		return json.RawMessage(`"late"`), nil
	})
	r := mustBuild(t, registry.NewBuilder().Local(ext("slow/op"), h, nil, nil, noCaps))
	ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
	defer cancel()
	_, err := r.ServeCall(ctx, registry.WireCall{Operation: "/slow/op", Identity: ident("a")}, nil)
	ce := callErr(t, err)
	if ce.Code != callerr.Timeout || !ce.Retryable || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline = %s (cause deadline: %v)", wireError(t, err), errors.Is(err, context.DeadlineExceeded))
	}
	// An already-expired deadline: the handler is not entered (DSP-R1 step 8).
	entered := false
	r2 := mustBuild(t, registry.NewBuilder().Local(ext("a/b"), registry.HandlerFunc(func(context.Context, *registry.OperationContext, json.RawMessage) (json.RawMessage, error) {
		entered = true
		return nil, nil
	}), nil, nil, noCaps))
	if _, err := r2.ServeCall(ctx, registry.WireCall{Operation: "a/b"}, nil); codeOf(err) != callerr.Timeout || entered {
		t.Errorf("expired deadline: %v, entered %v", err, entered)
	}
}

// Test 73 [ERR-R2 cases 6/7, ENV-R5]: aborts pass through unchanged.
func TestAbortPassThrough(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 1)
	blockX := registry.HandlerFunc(func(ctx context.Context, _ *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		started <- struct{}{}
		<-ctx.Done()
		return nil, errors.New("x")
	})
	forwardAbort := registry.HandlerFunc(func(context.Context, *registry.OperationContext, json.RawMessage) (json.RawMessage, error) {
		return nil, callerr.ErrAborted
	})
	parent := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		return oc.Env().Invoke(ctx, "w/leaf", nil)
	})
	scope := registry.NewScopedEnv("w/leaf")
	r := mustBuild(t, registry.NewBuilder().
		Local(ext("w/block"), blockX, nil, nil, noCaps).
		Local(ext("w/abort"), forwardAbort, nil, nil, noCaps).
		Leaf(internalSpec("w/leaf"), forwardAbort, registry.FromOpenAPI, noCaps).
		Local(ext("w/parent"), parent, &registry.CompositionAuthority{Label: "p"}, &scope, noCaps))
	for _, cause := range []error{callerr.ErrAborted, callerr.ErrRevoked} {
		ctx, cancel := context.WithCancelCause(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := r.ServeCall(ctx, registry.WireCall{Operation: "/w/block"}, nil)
			done <- err
		}()
		<-started
		cancel(cause)
		if err := <-done; err != cause {
			t.Errorf("cancelled with %v: ServeCall = %v, want the same value", cause, err)
		}
	}
	if _, err := call(t, r, nil, "/w/abort", ""); err != callerr.ErrAborted {
		t.Errorf("handler returning ErrAborted: %v", err)
	}
	if _, err := call(t, r, nil, "/w/parent", ""); err != callerr.ErrAborted {
		t.Errorf("through composition: %v", err)
	}
}

// Test 19 [VAL-R1].
func TestInputValidation(t *testing.T) {
	t.Parallel()
	spec := ext("v/obj")
	spec.InputSchema = json.RawMessage(`{"type":"object","properties":{"name":{"type":"string","pattern":"^a+$"},"n":{"type":"integer"}},"required":["name"],"additionalProperties":false}`)
	many := ext("v/many")
	many.InputSchema = json.RawMessage(`{"type":"array","items":{"type":"string"}}`)
	r := mustBuild(t, registry.NewBuilder().Local(spec, echo, nil, nil, noCaps).Local(many, echo, nil, nil, noCaps))
	type issue struct {
		InstanceLocation string `json:"instance_location"`
		KeywordLocation  string `json:"keyword_location"`
		Message          string `json:"message"`
	}
	details := func(err error) []issue {
		var d struct{ Errors []issue }
		if err := json.Unmarshal(callErr(t, err).Details, &d); err != nil {
			t.Fatal(err)
		}
		return d.Errors
	}
	if _, err := call(t, r, nil, "/v/obj", `{"name":"aaa","n":3}`); err != nil {
		t.Errorf("valid input refused: %v", err)
	}
	for _, tc := range []struct {
		in, loc, kw string
	}{
		{`{"name":7}`, "/name", "type"},
		{`{"n":1}`, "", "required"},
		{`{"name":"a","extra":1}`, "", "additionalProperties"},
		{`null`, "", "type"},
		{`{"name":"secret-value-xyz"}`, "/name", "pattern"},
	} {
		_, err := call(t, r, nil, "/v/obj", tc.in)
		ce := callErr(t, err)
		if ce.Code != callerr.InvalidInput || ce.Message != "input does not match input_schema" {
			t.Errorf("%s: %s", tc.in, wireError(t, err))
			continue
		}
		is := details(err)
		found := false
		for _, i := range is {
			if i.InstanceLocation == tc.loc && strings.HasSuffix(i.KeywordLocation, "/"+tc.kw) {
				found = true
			}
			if strings.Contains(i.Message, "secret-value") {
				t.Errorf("message quotes the input: %q", i.Message)
			}
		}
		if !found {
			t.Errorf("%s: details %+v lack %s at %q", tc.in, is, tc.kw, tc.loc)
		}
	}
	// No input at all is validated as null (HND-R3).
	if _, err := call(t, r, nil, "/v/obj", ""); codeOf(err) != callerr.InvalidInput {
		t.Errorf("absent input: %v", err)
	}
	bad := "[" + strings.Repeat("1,", 40) + "1]"
	_, err := call(t, r, nil, "/v/many", bad)
	if n := len(details(err)); n == 0 || n > 16 {
		t.Errorf("%d detail entries, want 1..16", n)
	}
	// Large integers are compared exactly (json.Number).
	big := ext("v/big")
	big.InputSchema = json.RawMessage(`{"type":"integer","maximum":9007199254740993}`)
	r2 := mustBuild(t, registry.NewBuilder().Local(big, echo, nil, nil, noCaps))
	if _, err := call(t, r2, nil, "/v/big", `9007199254740994`); codeOf(err) != callerr.InvalidInput {
		t.Errorf("2^53+2 > 2^53+1 accepted: %v", err)
	}
	if _, err := call(t, r2, nil, "/v/big", `9007199254740993`); err != nil {
		t.Errorf("2^53+1 refused: %v", err)
	}
}

// Test 21 [VAL-R6, VAL-R9].
func TestPermissiveSchemasAndOutputValidation(t *testing.T) {
	t.Parallel()
	b := registry.NewBuilder()
	for i, s := range []string{"", "null", "{}", "true", " { } "} {
		spec := ext("any/s" + string(rune('0'+i)))
		if s != "" {
			spec.InputSchema = json.RawMessage(s)
		}
		b.Local(spec, echo, nil, nil, noCaps)
	}
	r := mustBuild(t, b)
	for i := range 5 {
		for _, in := range []string{`1`, `"x"`, `null`, `{"a":[1]}`} {
			if _, err := call(t, r, nil, "/any/s"+string(rune('0'+i)), in); err != nil {
				t.Errorf("schema %d refused %s: %v", i, in, err)
			}
		}
	}
	// Session op with invalid output → INTERNAL.
	outSpec := internalSpec("sess/op")
	outSpec.OutputSchema = json.RawMessage(`{"type":"string"}`)
	scope := registry.NewScopedEnv()
	ov, err := registry.NewSessionOverlay(&registry.CompositionAuthority{Label: "c"}, &registry.HandlerRegistration{
		Spec: outSpec, Handler: constant(`42`), Provenance: registry.Session, Authority: &registry.CompositionAuthority{Label: "s"}, Scope: &scope})
	if err != nil {
		t.Fatal(err)
	}
	composer := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		return oc.Env().Invoke(ctx, "sess/op", nil)
	})
	cs := registry.NewScopedEnv("sess/op")
	r2 := mustBuild(t, registry.NewBuilder().Local(ext("c/c"), composer, &registry.CompositionAuthority{Label: "c"}, &cs, noCaps))
	_, err = r2.ServeCall(t.Context(), registry.WireCall{Operation: "c/c", Routes: registry.Routes{Session: ov}}, nil)
	if codeOf(err) != callerr.Internal {
		t.Errorf("invalid session output = %v", err)
	}
	// Local ops are not output-validated unless ValidateOutputs is set.
	lo := ext("o/o")
	lo.OutputSchema = json.RawMessage(`{"type":"string"}`)
	if _, err := call(t, mustBuild(t, registry.NewBuilder().Local(lo, constant(`42`), nil, nil, noCaps)), nil, "o/o", ""); err != nil {
		t.Errorf("output validated by default: %v", err)
	}
	if _, err := call(t, mustBuild(t, registry.NewBuilder().ValidateOutputs().Local(lo, constant(`42`), nil, nil, noCaps)), nil, "o/o", ""); codeOf(err) != callerr.Internal {
		t.Errorf("ValidateOutputs did not validate: %v", err)
	}
}

// DSP-R7: invalid JSON output and items are handler bugs.
func TestResultsMustBeJSON(t *testing.T) {
	t.Parallel()
	subSpec := ext("s/bad")
	subSpec.Type = registry.Subscription
	badStream := registry.StreamHandlerFunc(func(_ context.Context, _ *registry.OperationContext, _ json.RawMessage, emit registry.Emit) error {
		if err := emit(json.RawMessage(`{"ok":1}`)); err != nil {
			return err
		}
		if err := emit(json.RawMessage(`{bad`)); err == nil {
			t.Error("emit of invalid JSON succeeded")
		}
		return nil
	})
	r := mustBuild(t, registry.NewBuilder().Local(ext("o/bad"), constant(`{bad`), nil, nil, noCaps).Local(ext("o/nil"), constant(``), nil, nil, noCaps).
		LocalStream(subSpec, badStream, nil, nil, noCaps))
	if _, err := call(t, r, nil, "/o/bad", ""); wireError(t, err) != `{"code":"INTERNAL","message":"internal error","retryable":false}` {
		t.Errorf("invalid output = %v", err)
	}
	if out, err := call(t, r, nil, "/o/nil", ""); err != nil || string(out) != "null" {
		t.Errorf("nil output = %s, %v", out, err)
	}
	var items []string
	var mu sync.Mutex
	err := r.ServeSubscribe(t.Context(), registry.WireCall{Operation: "s/bad"}, nil, func(b json.RawMessage) error {
		mu.Lock()
		items = append(items, string(b))
		mu.Unlock()
		return nil
	})
	if codeOf(err) != callerr.Internal || len(items) != 1 {
		t.Errorf("stream with an invalid item: %v, items %v", err, items)
	}

	// ServeSubscribeChecked leaves the check to the emit: the registry hands every item on
	// unscanned and treats the emit's wire.ErrInvalidJSON as its own refusal.
	var seen []string
	err = r.ServeSubscribeChecked(t.Context(), registry.WireCall{Operation: "s/bad"}, nil, func(b json.RawMessage) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, string(b))
		if !wire.Valid(b) {
			return fmt.Errorf("encode: %w", wire.ErrInvalidJSON)
		}
		return nil
	})
	if codeOf(err) != callerr.Internal || len(seen) != 2 || seen[1] != `{bad` {
		t.Errorf("checked stream with an invalid item: %v, items %v", err, seen)
	}
}

// HND-R5: emit after Stream returned sends nothing.
func TestEmitAfterReturn(t *testing.T) {
	t.Parallel()
	var saved registry.Emit
	h := registry.StreamHandlerFunc(func(_ context.Context, _ *registry.OperationContext, _ json.RawMessage, emit registry.Emit) error {
		saved = emit
		return nil
	})
	spec := ext("s/s")
	spec.Type = registry.Subscription
	r := mustBuild(t, registry.NewBuilder().LocalStream(spec, h, nil, nil, noCaps))
	n := 0
	if err := r.ServeSubscribe(t.Context(), registry.WireCall{Operation: "s/s"}, nil, func(json.RawMessage) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := saved(json.RawMessage(`1`)); err == nil || n != 0 {
		t.Errorf("late emit = %v, forwarded %d", err, n)
	}
}
