package protocol_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-call/wire"
)

// T-CALLP-65: a subscription handler blocked in emit towards a requester that stopped reading is
// released by a call.aborted (no reset from the requester) or by its own deadline; the stream is
// reset with 0x03 and the slot is free again (CALLP-R98, R155).
func TestBlockedEmitReleased(t *testing.T) {
	t.Parallel()
	for _, viaDeadline := range []bool{false, true} {
		name := "abort"
		if viaDeadline {
			name = "deadline"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			big := json.RawMessage(`"` + strings.Repeat("x", 1<<20) + `"`)
			returned := make(chan error, 1)
			flood := registry.StreamHandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage, emit registry.Emit) error {
				for {
					if err := emit(big); err != nil {
						returned <- err
						return err
					}
				}
			})
			opts := protocol.Options{MaxConcurrentInbound: 1}
			if viaDeadline {
				opts.MaxSubscriptionTimeout = 2 * time.Second
			}
			d := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"s/flood": flood, "x/echo": echo()}, nil), Options: opts}
			cl, acc := rawAcceptor(t, d)
			s := openRaw(t, cl, request("f", "/s/flood", `null`), true)
			waitFor(t, "emit blocked", func() bool { return acc.Writing() == 1 || len(returned) > 0 })
			if len(returned) > 0 {
				t.Skip("the deadline fired before the emit was seen blocked")
			}
			if !viaDeadline {
				openRaw(t, cl, frame(`{"type":"call.aborted","id":"f","payload":{}}`), true)
			}
			if err := <-returned; err == nil {
				t.Fatal("emit returned nil")
			}
			_, err := io.Copy(io.Discard, s)
			var se *quic.StreamError
			if !errors.As(err, &se) || se.ErrorCode != wire.StreamCodeCancelled {
				t.Fatalf("request stream ended with %v, want a reset 0x03", err)
			}
			waitEmpty(t, acc)
			// The single slot is free again.
			envs, err := readAll(openRaw(t, cl, request("e", "/x/echo", `1`), true))
			if err != io.EOF || len(envs) != 1 || envs[0].Type != wire.EventResponded {
				t.Fatalf("call after release: %+v %v", envs, err)
			}
		})
	}
}

// T-CALLP-66: a handler that ignores its ctx gets exactly one TIMEOUT frame; an emit from a
// goroutine left running after the stream handler returned writes nothing after call.completed
// (CALLP-R98, R141, HND-R5).
func TestTerminalOwnership(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	late := make(chan error, 1)
	o := ops{
		"x/stubborn": registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
			<-release
			return json.RawMessage(`"late"`), nil
		}),
		"s/leaky": registry.StreamHandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage, emit registry.Emit) error {
			_ = emit(json.RawMessage(`1`))
			go func() {
				<-release
				late <- emit(json.RawMessage(`2`))
			}()
			return nil
		}),
	}
	d := &protocol.Dispatcher{Invoker: newRegistry(t, o, nil), Options: protocol.Options{ServeTimeout: 200 * time.Millisecond}}
	cl, acc := rawAcceptor(t, d)
	s1 := openRaw(t, cl, request("t", "/x/stubborn", `null`), true)
	envs, err := readAll(s1)
	if err != io.EOF || len(envs) != 1 || envs[0].Type != wire.EventError || wire.DecodeCallError(envs[0].Payload).Code != "TIMEOUT" {
		t.Fatalf("stubborn: %+v %v", envs, err)
	}
	envs, err = readAll(openRaw(t, cl, request("l", "/s/leaky", `null`), true))
	if err != io.EOF || len(envs) != 2 || envs[1].Type != wire.EventCompleted {
		t.Fatalf("leaky: %+v %v", envs, err)
	}
	close(release)
	if err := <-late; err == nil {
		t.Fatal("emit after the end returned nil")
	}
	waitEmpty(t, acc)
}

// T-CALLP-36, T-CALLP-37: a duplicate in-flight id is dropped; aborts of unknown, finished or
// already aborted ids do nothing (CALLP-R63, R118).
func TestDuplicateIDsAndAborts(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var calls atomic.Int64
	o := ops{"x/wait": registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
		calls.Add(1)
		<-release
		return in, nil
	}), "x/echo": echo()}
	d := &protocol.Dispatcher{Invoker: newRegistry(t, o, nil)}
	cl, acc := rawAcceptor(t, d)
	s := openRaw(t, cl, request("dup", "/x/wait", `1`), false)
	waitFor(t, "first served", func() bool { return calls.Load() == 1 })
	if _, err := s.Write(request("dup", "/x/wait", `2`)); err != nil {
		t.Fatal(err)
	}
	_ = s.CloseWrite()
	abort := func(id string) {
		_, _ = readAll(openRaw(t, cl, frame(`{"type":"call.aborted","id":"`+id+`","payload":{}}`), true))
	}
	abort("never-seen")
	close(release)
	envs, err := readAll(s)
	if err != io.EOF || len(envs) != 1 || string(wire.DecodeResponded(envs[0].Payload).Output) != "1" {
		t.Fatalf("duplicate id: %+v %v", envs, err)
	}
	if calls.Load() != 1 {
		t.Fatalf("handler ran %d times", calls.Load())
	}
	abort("dup")
	abort("dup")
	envs, err = readAll(openRaw(t, cl, request("e", "/x/echo", `3`), true))
	if err != io.EOF || len(envs) != 1 {
		t.Fatalf("after aborts: %+v %v", envs, err)
	}
	waitEmpty(t, acc)
}

// T-CALLP-70: 100 streams announcing 64 MiB frames and stalling cost a few MiB at most
// (CALLP-R14, R184). Not parallel: it measures the heap.
func TestStalledHugeFrames(t *testing.T) {
	d := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"x/echo": echo()}, nil)}
	cl, _ := rawAcceptor(t, d)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 100 {
		openRaw(t, cl, []byte{4, 0, 0, 0, '{', '"', 't'}, false)
	}
	// A round trip on a later stream: the acceptor accepts streams in order, so all 100 stalled
	// streams have been accepted and are being read by then.
	if envs, err := readAll(openRaw(t, cl, request("e", "/x/echo", `1`), true)); err != io.EOF || len(envs) != 1 {
		t.Fatalf("echo after the stalled streams: %+v %v", envs, err)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grow := int64(after.HeapInuse) - int64(before.HeapInuse); grow > 8<<20 {
		t.Fatalf("heap grew by %d bytes, want < 8 MiB", grow)
	}
}

// CALLP-R95: an oversize subscription value ends the subscription with INTERNAL "response too
// large"; that emit and every later one fail.
func TestSubscriptionValueTooLarge(t *testing.T) {
	t.Parallel()
	emitErrs := make(chan error, 2)
	s := registry.StreamHandlerFunc(func(ctx context.Context, oc *registry.OperationContext, in json.RawMessage, emit registry.Emit) error {
		_ = emit(json.RawMessage(`1`))
		emitErrs <- emit(json.RawMessage(`"` + strings.Repeat("x", 4096) + `"`))
		emitErrs <- emit(json.RawMessage(`2`))
		return nil
	})
	d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
	d2 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{"s/big": s}, nil), Options: protocol.Options{MaxFrameSize: 1024}}
	c, _, _, _ := pair(t, d1, d2, nil, nil)
	sub, err := c.Subscribe(t.Context(), "s/big", nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := sub.Next(t.Context()); err != nil || string(v) != "1" {
		t.Fatalf("first value: %s %v", v, err)
	}
	_, err = sub.Next(t.Context())
	if ce, ok := errors.AsType[*callerr.CallError](err); !ok || ce.Code != callerr.Internal || ce.Message != "response too large" {
		t.Fatalf("terminal = %v", err)
	}
	if e1, e2 := <-emitErrs, <-emitErrs; e1 == nil || e2 == nil {
		t.Fatalf("emits after the oversize value: %v, %v", e1, e2)
	}
}
