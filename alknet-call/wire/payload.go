package wire

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/alknet/alknet/alknet-call/callerr"
)

// MaxTimeoutMS is the largest valid timeout_ms, 24 hours in milliseconds (CALLP-R39).
const MaxTimeoutMS = 86_400_000

// Limits on a received forwarded_for (CALLP-R36, FWD-R3): longer strings, lists or maps make the
// whole claim absent.
const (
	maxForwardedString = 256
	maxForwardedList   = 256
)

// ForwardedIdentity is the identity object of forwarded_for (CALLP-R36): a forwarding hub's
// unverified claim of the original caller. It mirrors registry.ForwardedIdentity field for field,
// so the engine converts with a plain struct conversion; it is not an auth.Identity and never
// authorizes anything (CALLP-R89).
type ForwardedIdentity struct {
	ID        string              `json:"id"`
	Scopes    []string            `json:"scopes"`
	Resources map[string][]string `json:"resources"`
}

func appendForwarded(dst []byte, f *ForwardedIdentity) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, f.ID)
	dst = append(dst, `,"scopes":[`...)
	for i, s := range f.Scopes {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s)
	}
	dst = append(dst, `],"resources":{`...)
	first := true
	for _, k := range sortedKeys(f.Resources) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendString(dst, k)
		dst = append(dst, ":["...)
		for i, s := range f.Resources[k] {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, s)
		}
		dst = append(dst, ']')
	}
	return append(dst, "}}"...)
}

// decodeForwarded decodes a forwarded_for value; ok is false when it must be treated as absent
// (CALLP-R36).
func decodeForwarded(b []byte) (f *ForwardedIdentity, ok bool) {
	out := ForwardedIdentity{Scopes: []string{}, Resources: map[string][]string{}}
	var hasID, hasScopes, hasResources bool
	err := walkObject(b, func(key string, start, end int) error {
		v := b[start:end]
		switch key {
		case "id":
			if hasID || v[0] != '"' {
				return errSyntax
			}
			hasID = true
			s := scanner{b: b, i: start}
			id, err := s.str()
			if err != nil || id == "" || len(id) > maxForwardedString {
				return errSyntax
			}
			out.ID = id
		case "scopes":
			if hasScopes {
				return errSyntax
			}
			hasScopes = true
			if string(v) == "null" {
				return nil
			}
			list, ok := decodeStringList(v)
			if !ok {
				return errSyntax
			}
			out.Scopes = list
		case "resources":
			if hasResources {
				return errSyntax
			}
			hasResources = true
			if string(v) == "null" {
				return nil
			}
			if v[0] != '{' {
				return errSyntax
			}
			n := 0
			seen := map[string]bool{}
			return walkObject(v, func(k string, s, e int) error {
				n++
				if n > maxForwardedList || len(k) > maxForwardedString || seen[k] {
					return errSyntax
				}
				seen[k] = true
				list, ok := decodeStringList(v[s:e])
				if !ok {
					return errSyntax
				}
				out.Resources[k] = list
				return nil
			})
		}
		return nil
	})
	if err != nil || !hasID {
		return nil, false
	}
	return &out, true
}

// decodeStringList decodes a JSON array of at most maxForwardedList strings of at most
// maxForwardedString bytes each.
func decodeStringList(v []byte) ([]string, bool) {
	if len(v) == 0 || v[0] != '[' {
		return nil, false
	}
	s := scanner{b: v, i: 1}
	list := []string{}
	s.ws()
	if s.i < len(v) && v[s.i] == ']' {
		return list, true
	}
	for {
		s.ws()
		if s.i >= len(v) || v[s.i] != '"' {
			return nil, false
		}
		str, err := s.str()
		if err != nil || len(str) > maxForwardedString || len(list) == maxForwardedList {
			return nil, false
		}
		list = append(list, str)
		s.ws()
		if s.i >= len(v) {
			return nil, false
		}
		switch v[s.i] {
		case ',':
			s.i++
		case ']':
			return list, true
		default:
			return nil, false
		}
	}
}

// Requested is the payload of call.requested (call-protocol.md §6.1).
type Requested struct {
	OperationID  string             // wire form, leading "/" (CALLP-R33)
	Input        []byte             // raw JSON; nil encodes as null (CALLP-R34)
	AuthToken    string             // bearer credential; "" = none. Redacted by String and LogValue (CALLP-R87)
	ForwardedFor *ForwardedIdentity // nil when absent
	HasTimeout   bool               // false when absent or invalid (CALLP-R39); the zero value sends no key
	TimeoutMS    int64              // 0..MaxTimeoutMS, meaningful only when HasTimeout
	TraceParent  string             // "" when absent or invalid (CALLP-R46)
}

// MarshalJSON returns the canonical payload (CALLP-R37): operationId, input, then auth_token,
// forwarded_for, timeout_ms and traceparent when set. A timeout outside 0..MaxTimeoutMS and an
// invalid traceparent are left out, so only valid values are ever sent.
func (r Requested) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil) }

// AppendJSON appends the canonical payload of [Requested.MarshalJSON] to dst.
func (r Requested) AppendJSON(dst []byte) ([]byte, error) {
	dst = append(dst, `{"operationId":`...)
	dst = appendString(dst, r.OperationID)
	dst = append(dst, `,"input":`...)
	var ok bool
	if dst, ok = appendRaw(dst, r.Input); !ok {
		return nil, fmt.Errorf("encode call.requested input: %w", ErrInvalidJSON)
	}
	if r.AuthToken != "" {
		dst = append(dst, `,"auth_token":`...)
		dst = appendString(dst, r.AuthToken)
	}
	if r.ForwardedFor != nil {
		dst = append(dst, `,"forwarded_for":`...)
		dst = appendForwarded(dst, r.ForwardedFor)
	}
	if r.HasTimeout && r.TimeoutMS >= 0 && r.TimeoutMS <= MaxTimeoutMS {
		dst = append(dst, `,"timeout_ms":`...)
		dst = appendInt(dst, r.TimeoutMS)
	}
	if r.TraceParent != "" && ValidTraceParent(r.TraceParent) {
		dst = append(dst, `,"traceparent":`...)
		dst = appendString(dst, r.TraceParent)
	}
	return append(dst, '}'), nil
}

// String describes r for logs without its token or input (CALLP-R87, R181).
func (r Requested) String() string {
	tok := ""
	if r.AuthToken != "" {
		tok = " auth_token=[REDACTED]"
	}
	return fmt.Sprintf("call.requested{operationId=%q%s}", r.OperationID, tok)
}

// LogValue logs r without its token or input (CALLP-R87, R181).
func (r Requested) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("op", r.OperationID)}
	if r.AuthToken != "" {
		attrs = append(attrs, slog.String("auth_token", "[REDACTED]"))
	}
	if r.ForwardedFor != nil {
		attrs = append(attrs, slog.String("forwarded_for", r.ForwardedFor.ID))
	}
	if r.HasTimeout {
		attrs = append(attrs, slog.Int64("timeout_ms", r.TimeoutMS))
	}
	if r.TraceParent != "" {
		attrs = append(attrs, slog.String("traceparent", r.TraceParent))
	}
	return slog.GroupValue(attrs...)
}

// DecodeRequested decodes a call.requested payload (call-protocol.md §6.1). It fails, with an
// error wrapping [ErrMalformed] whose text after the sentinel is a fixed reason safe to send
// (CALLP-R32), when the payload is not an object, when operationId is missing or not a string, or
// when a payload key of §6.1 appears twice (CALLP-R27). Every optional key that is invalid is
// treated as absent: a non-string auth_token, a malformed forwarded_for (CALLP-R36), a timeout_ms
// that is not plain digits up to MaxTimeoutMS (CALLP-R39), an invalid traceparent (CALLP-R46).
// Unknown keys are ignored (CALLP-R35). A missing input is "null". Input aliases p.
func DecodeRequested(p []byte) (Requested, error) {
	var r Requested
	var hasOp bool
	var seen [6]bool
	once := func(i int, key string) error {
		if seen[i] {
			return fmt.Errorf("duplicate key %s", key)
		}
		seen[i] = true
		return nil
	}
	err := walkObject(p, func(key string, start, end int) error {
		v := p[start:end:end]
		switch key {
		case "operationId":
			if err := once(0, key); err != nil {
				return err
			}
			if v[0] != '"' {
				return errors.New("operationId is not a string")
			}
			s := scanner{b: p, i: start}
			op, err := s.str()
			if err != nil {
				return errors.New("operationId is not a valid string")
			}
			r.OperationID, hasOp = op, true
		case "input":
			if err := once(1, key); err != nil {
				return err
			}
			r.Input = v
		case "auth_token":
			if err := once(2, key); err != nil {
				return err
			}
			if v[0] == '"' {
				s := scanner{b: p, i: start}
				if tok, err := s.str(); err == nil {
					r.AuthToken = tok
				}
			}
		case "forwarded_for":
			if err := once(3, key); err != nil {
				return err
			}
			if f, ok := decodeForwarded(v); ok {
				r.ForwardedFor = f
			}
		case "timeout_ms":
			if err := once(4, key); err != nil {
				return err
			}
			if n, ok := parseTimeout(v); ok {
				r.HasTimeout, r.TimeoutMS = true, n
			}
		case "traceparent":
			if err := once(5, key); err != nil {
				return err
			}
			if v[0] == '"' {
				s := scanner{b: p, i: start}
				if tp, err := s.str(); err == nil && ValidTraceParent(tp) {
					r.TraceParent = tp
				}
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, errNotObject):
		return Requested{}, fmt.Errorf("%w: payload is not an object", ErrMalformed)
	case errors.Is(err, errSyntax):
		return Requested{}, fmt.Errorf("%w: payload is not valid JSON", ErrMalformed)
	case err != nil:
		return Requested{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	case !hasOp:
		return Requested{}, fmt.Errorf("%w: operationId missing", ErrMalformed)
	}
	if r.Input == nil {
		r.Input = []byte("null")
	}
	return r, nil
}

// parseTimeout accepts a JSON number written as plain decimal digits with a value up to
// MaxTimeoutMS (CALLP-R39).
func parseTimeout(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 8 {
		return 0, false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || n > MaxTimeoutMS {
		return 0, false
	}
	return n, true
}

// Responded is the payload of call.responded (CALLP-R40).
type Responded struct {
	Output []byte // raw JSON; nil encodes as null
}

// MarshalJSON returns the canonical payload {"output": …}.
func (r Responded) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil) }

// AppendJSON appends the canonical payload of [Responded.MarshalJSON] to dst.
func (r Responded) AppendJSON(dst []byte) ([]byte, error) {
	dst = append(dst, `{"output":`...)
	var ok bool
	if dst, ok = appendRaw(dst, r.Output); !ok {
		return nil, fmt.Errorf("encode call.responded output: %w", ErrInvalidJSON)
	}
	return append(dst, '}'), nil
}

// DecodeResponded decodes a call.responded payload. It never fails: a payload that is not an
// object, has no output, or has output twice yields output null (CALLP-R40, R27). Output aliases p.
func DecodeResponded(p []byte) Responded {
	var out []byte
	dup := false
	err := walkObject(p, func(key string, start, end int) error {
		if key == "output" {
			if out != nil {
				dup = true
			}
			out = p[start:end:end]
		}
		return nil
	})
	if err != nil || out == nil || dup {
		return Responded{Output: []byte("null")}
	}
	return Responded{Output: out}
}

// EncodeCallError returns the canonical call.error payload of e (CALLP-R44): code, message,
// retryable, then details when not nil (a details value of JSON null is left out as well). Details
// that are not one valid JSON value give an error.
func EncodeCallError(e *callerr.CallError) ([]byte, error) { return AppendCallError(nil, e) }

// AppendCallError appends the payload of [EncodeCallError] to dst.
func AppendCallError(dst []byte, e *callerr.CallError) ([]byte, error) {
	dst = append(dst, `{"code":`...)
	dst = appendString(dst, e.Code)
	dst = append(dst, `,"message":`...)
	dst = appendString(dst, e.Message)
	if e.Retryable {
		dst = append(dst, `,"retryable":true`...)
	} else {
		dst = append(dst, `,"retryable":false`...)
	}
	if len(e.Details) > 0 && !isNull(e.Details) {
		dst = append(dst, `,"details":`...)
		var ok bool
		if dst, ok = appendRaw(dst, e.Details); !ok {
			return nil, fmt.Errorf("encode call.error details: %w", ErrInvalidJSON)
		}
	}
	return append(dst, '}'), nil
}

func isNull(v []byte) bool {
	s := scanner{b: v}
	s.ws()
	if s.literal("null") != nil {
		return false
	}
	s.ws()
	return s.i == len(v)
}

// MalformedCallErrorMessage is the message of the error a receiver substitutes for a call.error
// payload it cannot decode (CALLP-R45).
const MalformedCallErrorMessage = "malformed call.error payload"

// DecodeCallError decodes a call.error payload. It never fails: a payload that is not an object,
// lacks code, message or retryable with the right JSON types, or repeats one of the four keys
// becomes INTERNAL / "malformed call.error payload" / retryable false (CALLP-R45). "details": null
// means no details (CALLP-R44). Details alias p.
func DecodeCallError(p []byte) *callerr.CallError {
	var e callerr.CallError
	var seen [4]bool
	err := walkObject(p, func(key string, start, end int) error {
		v := p[start:end:end]
		idx := -1
		switch key {
		case "code":
			idx = 0
		case "message":
			idx = 1
		case "retryable":
			idx = 2
		case "details":
			idx = 3
		default:
			return nil
		}
		if seen[idx] {
			return errSyntax
		}
		seen[idx] = true
		switch idx {
		case 0, 1:
			if v[0] != '"' {
				return errSyntax
			}
			s := scanner{b: p, i: start}
			str, err := s.str()
			if err != nil {
				return err
			}
			if idx == 0 {
				e.Code = str
			} else {
				e.Message = str
			}
		case 2:
			switch string(v) {
			case "true":
				e.Retryable = true
			case "false":
			default:
				return errSyntax
			}
		case 3:
			if string(v) != "null" {
				e.Details = v
			}
		}
		return nil
	})
	if err != nil || !seen[0] || !seen[1] || !seen[2] {
		return &callerr.CallError{Code: callerr.Internal, Message: MalformedCallErrorMessage}
	}
	return &e
}

// NewRequestID returns a random UUID version 4 (RFC 9562) in its 36-character lower-case form,
// from crypto/rand (CALLP-R60).
func NewRequestID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails (Go 1.24+)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var out [36]byte
	j := 0
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j] = hexDigits[b>>4]
		out[j+1] = hexDigits[b&0xf]
		j += 2
	}
	return string(out[:])
}

// ValidTraceParent reports whether s is a W3C Trace Context traceparent of version 00: 55
// characters "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>", lower-case hex, neither id
// all zeros (CALLP-R46).
func ValidTraceParent(s string) bool {
	if len(s) != 55 || s[0] != '0' || s[1] != '0' || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return false
	}
	return lowerHexNonZero(s[3:35]) && lowerHexNonZero(s[36:52]) && lowerHex(s[53:55])
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func lowerHexNonZero(s string) bool {
	if !lowerHex(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return true
		}
	}
	return false
}
