package wire

import (
	"errors"
	"fmt"
)

// Event types (call-protocol.md §6). The strings are wire format.
const (
	EventRequested = "call.requested"
	EventResponded = "call.responded"
	EventCompleted = "call.completed"
	EventAborted   = "call.aborted"
	EventError     = "call.error"
)

// MaxIDLen is the longest request id, in bytes, accepted for the five known event types
// (CALLP-R24).
const MaxIDLen = 256

// KnownType reports whether t is one of the five event types.
func KnownType(t string) bool {
	switch t {
	case EventRequested, EventResponded, EventCompleted, EventAborted, EventError:
		return true
	}
	return false
}

// Envelope is one decoded frame body: {"type": …, "id": …, "payload": …} (CALLP-R20).
type Envelope struct {
	Type string
	ID   string
	// Payload is the raw JSON value of "payload". After decoding it is never nil ("null" for JSON
	// null) and aliases the decoded body. When encoding, nil means null.
	Payload []byte

	output  []byte // DecodeEnvelope: the payload's single top-level "output" value, if any
	scanned bool   // DecodeEnvelope filled output
}

// Responded returns e's payload decoded as call.responded (CALLP-R40). For an envelope returned by
// [DecodeEnvelope] or [FrameReader.Next] it reuses the scan that decoder made; otherwise it is
// [DecodeResponded](e.Payload).
func (e Envelope) Responded() Responded {
	if !e.scanned {
		return DecodeResponded(e.Payload)
	}
	if e.output == nil {
		return Responded{Output: []byte("null")}
	}
	return Responded{Output: e.output}
}

// MarshalJSON returns the canonical body of e (CALLP-R26): compact, keys in the order type, id,
// payload, no HTML escaping. Note that json.Marshal(e) re-escapes '<', '>' and '&' in the result:
// frames are built with [AppendFrame] or [FrameWriter], never with json.Marshal.
func (e Envelope) MarshalJSON() ([]byte, error) {
	return appendEnvelope(nil, e)
}

func appendEnvelope(dst []byte, e Envelope) ([]byte, error) {
	dst = append(dst, `{"type":`...)
	dst = appendString(dst, e.Type)
	dst = append(dst, `,"id":`...)
	dst = appendString(dst, e.ID)
	dst = append(dst, `,"payload":`...)
	var ok bool
	if dst, ok = appendRaw(dst, e.Payload); !ok {
		return nil, fmt.Errorf("encode %s payload: %w", e.Type, ErrInvalidJSON)
	}
	return append(dst, '}'), nil
}

// ErrInvalidJSON is wrapped by the encoders' error when a raw value to be sent (an output, an
// input, details) is not one strictly valid JSON value, invalid UTF-8 included (CALLP-R17).
var ErrInvalidJSON = errors.New("payload is not one valid JSON value")

// DecodeEnvelope decodes one frame body strictly (CALLP-R17, R20..R25): valid UTF-8 without a byte
// order mark, exactly one JSON object, the keys "type" and "id" as strings and "payload" as any
// value, each present exactly once and matched case-sensitively; unknown keys are ignored; for the
// five known types the id is 1..[MaxIDLen] bytes. Every failure wraps [ErrMalformed]. The returned
// Payload aliases body.
func DecodeEnvelope(body []byte) (Envelope, error) {
	var e Envelope
	var hasType, hasID, hasPayload bool
	sc := scanner{b: body, nestedKey: "payload"}
	err := sc.walk(func(key string, start, end int) error {
		switch key {
		case "type":
			if hasType {
				return errors.New(`duplicate key "type"`)
			}
			hasType = true
			if body[start] != '"' {
				return errors.New(`"type" is not a string`)
			}
			s := scanner{b: body, i: start}
			v, err := s.str()
			e.Type = v
			return err
		case "id":
			if hasID {
				return errors.New(`duplicate key "id"`)
			}
			hasID = true
			if body[start] != '"' {
				return errors.New(`"id" is not a string`)
			}
			s := scanner{b: body, i: start}
			v, err := s.str()
			e.ID = v
			return err
		case "payload":
			if hasPayload {
				return errors.New(`duplicate key "payload"`)
			}
			hasPayload = true
			e.Payload = body[start:end:end]
		}
		return nil
	})
	if err != nil {
		return Envelope{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	switch {
	case !hasType:
		return Envelope{}, fmt.Errorf(`%w: missing "type"`, ErrMalformed)
	case !hasID:
		return Envelope{}, fmt.Errorf(`%w: missing "id"`, ErrMalformed)
	case !hasPayload:
		return Envelope{}, fmt.Errorf(`%w: missing "payload"`, ErrMalformed)
	}
	if KnownType(e.Type) && (len(e.ID) == 0 || len(e.ID) > MaxIDLen) {
		return Envelope{}, fmt.Errorf("%w: id length %d outside 1..%d", ErrMalformed, len(e.ID), MaxIDLen)
	}
	if sc.outputs == 1 && e.Payload[0] == '{' { // otherwise output is null (CALLP-R27, R40)
		e.output = body[sc.outStart:sc.outEnd:sc.outEnd]
	}
	e.scanned = true
	return e, nil
}
