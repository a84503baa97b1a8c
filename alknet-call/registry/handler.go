package registry

import (
	"context"
	"encoding/json"
)

// Handler serves Query and Mutation operations (HND-R2). ctx carries cancellation and the
// deadline, which the handler must honour (HND-R1); oc carries the call's metadata; input has
// already passed the input schema and is JSON null when the caller sent none (HND-R3). The
// returned output must be one JSON value (nil means null, DSP-R7); the returned error is mapped
// by ERR-R2.
type Handler interface {
	Handle(ctx context.Context, oc *OperationContext, input json.RawMessage) (json.RawMessage, error)
}

// HandlerFunc adapts a function to [Handler].
type HandlerFunc func(ctx context.Context, oc *OperationContext, input json.RawMessage) (json.RawMessage, error)

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, oc *OperationContext, input json.RawMessage) (json.RawMessage, error) {
	return f(ctx, oc, input)
}

// Emit sends one result item of a subscription. It blocks while the consumer applies
// backpressure and returns an error once the request is over — after Stream returned, on abort,
// deadline, revocation or connection loss — in which case the handler should return (HND-R5,
// HND-R6). item must be one JSON value (DSP-R7). Calls from several goroutines are serialised in
// an unspecified order.
type Emit func(item json.RawMessage) error

// StreamHandler serves Subscription operations (HND-R2). Each successful emit becomes one
// call.responded; returning nil ends the stream with call.completed; returning an error ends it
// with the error mapped by ERR-R2.
type StreamHandler interface {
	Stream(ctx context.Context, oc *OperationContext, input json.RawMessage, emit Emit) error
}

// StreamHandlerFunc adapts a function to [StreamHandler].
type StreamHandlerFunc func(ctx context.Context, oc *OperationContext, input json.RawMessage, emit Emit) error

// Stream calls f.
func (f StreamHandlerFunc) Stream(ctx context.Context, oc *OperationContext, input json.RawMessage, emit Emit) error {
	return f(ctx, oc, input, emit)
}
