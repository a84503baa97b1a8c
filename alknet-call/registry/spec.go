package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/alknet/alknet/alknet-call/callerr"
)

// OperationType says how an operation answers. The zero value is invalid and rejected at
// registration (REG-R4).
type OperationType uint8

const (
	// Query is a read-only, idempotent request/response operation; JSON "query".
	Query OperationType = iota + 1
	// Mutation is a request/response operation with side effects; JSON "mutation".
	Mutation
	// Subscription answers with a stream of results; JSON "subscription".
	Subscription
)

// String returns the wire string of t, or "OperationType(n)" for an invalid value.
func (t OperationType) String() string {
	switch t {
	case Query:
		return "query"
	case Mutation:
		return "mutation"
	case Subscription:
		return "subscription"
	}
	return fmt.Sprintf("OperationType(%d)", uint8(t))
}

// MarshalText encodes t as "query", "mutation" or "subscription" (REG-R5); the zero value and
// unknown values are errors.
func (t OperationType) MarshalText() ([]byte, error) {
	switch t {
	case Query, Mutation, Subscription:
		return []byte(t.String()), nil
	}
	return nil, fmt.Errorf("registry: invalid operation type %d", uint8(t))
}

// UnmarshalText accepts exactly "query", "mutation" and "subscription" (REG-R5).
func (t *OperationType) UnmarshalText(b []byte) error {
	switch string(b) {
	case "query":
		*t = Query
	case "mutation":
		*t = Mutation
	case "subscription":
		*t = Subscription
	default:
		return fmt.Errorf("registry: unknown operation type %q", truncateName(string(b)))
	}
	return nil
}

// Visibility says who may call an operation. The zero value is [Internal], so a spec that
// forgets to set it is never wire-callable (REG-R4).
type Visibility uint8

const (
	// Internal operations are reachable by composition only; JSON "internal".
	Internal Visibility = iota
	// External operations are callable from the wire; JSON "external".
	External
)

// String returns the wire string of v.
func (v Visibility) String() string {
	switch v {
	case Internal:
		return "internal"
	case External:
		return "external"
	}
	return fmt.Sprintf("Visibility(%d)", uint8(v))
}

// MarshalText encodes v as "internal" or "external" (REG-R5).
func (v Visibility) MarshalText() ([]byte, error) {
	switch v {
	case Internal, External:
		return []byte(v.String()), nil
	}
	return nil, fmt.Errorf("registry: invalid visibility %d", uint8(v))
}

// UnmarshalText accepts exactly "internal" and "external" (REG-R5).
func (v *Visibility) UnmarshalText(b []byte) error {
	switch string(b) {
	case "internal":
		*v = Internal
	case "external":
		*v = External
	default:
		return fmt.Errorf("registry: unknown visibility %q", truncateName(string(b)))
	}
	return nil
}

// ErrorDefinition declares a domain error code an operation may return (ERR-R2 case 3).
type ErrorDefinition struct {
	Code        string          // domain code, e.g. "FILE_NOT_FOUND" (REG-R6)
	Description string          // human-readable meaning
	Schema      json.RawMessage // JSON Schema for the call.error "details"; nil = any details
	HTTPStatus  int             // 0 = none; else 100..599 (adapter projection only)
}

// AccessControl is the access rule of an operation, checked on the direct caller (ACL-R6).
// The zero value has no restrictions.
type AccessControl struct {
	RequiredScopes    []string // AND: the caller must hold every one
	RequiredScopesAny []string // OR: nil = no OR gate; non-nil = the caller must hold at least one
	ResourceType      string   // "" = none
	ResourceAction    string   // "" = none
}

// OperationSpec describes one operation. Its JSON form (REG-R5) is what services/schema
// answers and what from_call parses.
type OperationSpec struct {
	Name          string          // "service/op" (REG-R1)
	Type          OperationType   // zero value invalid (REG-R4)
	Visibility    Visibility      // zero value Internal (REG-R4)
	Summary       string          // optional one-line summary (REG-R21)
	Description   string          // optional longer description (REG-R21)
	Tags          []string        // optional grouping labels (REG-R21)
	InputSchema   json.RawMessage // nil or JSON null = accept any input (VAL-R6)
	OutputSchema  json.RawMessage // nil or JSON null = any output
	ErrorSchemas  []ErrorDefinition
	AccessControl AccessControl
}

// Namespace returns the first segment of s.Name.
func (s OperationSpec) Namespace() string { return namespace(s.Name) }

// Path returns "/" + s.Name, the wire form of the name (REG-R2).
func (s OperationSpec) Path() string { return Path(s.Name) }

// errorDef returns the definition of code, if s declares it.
func (s OperationSpec) errorDef(code string) (ErrorDefinition, bool) {
	for _, d := range s.ErrorSchemas {
		if d.Code == code {
			return d, true
		}
	}
	return ErrorDefinition{}, false
}

// Metadata limits of REG-R21.
const (
	MaxSummaryLen     = 256
	MaxDescriptionLen = 4096
	MaxTags           = 16
	MaxTagLen         = 64
)

var domainCodeRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// ValidDomainCode reports whether code may be declared as a domain error code (REG-R6): it
// matches ^[A-Z][A-Z0-9_]*$, is not a protocol code, and is not the reserved outcome label OK
// or ABORTED.
func ValidDomainCode(code string) bool {
	return domainCodeRE.MatchString(code) && !callerr.IsProtocolCode(code) && code != "OK" && code != "ABORTED"
}

// checkMetadata applies the REG-R21 limits.
func (s OperationSpec) checkMetadata() error {
	var errs []error
	if len(s.Summary) > MaxSummaryLen || !utf8.ValidString(s.Summary) || hasControl(s.Summary, false) {
		errs = append(errs, errors.New("summary breaks REG-R21 (at most 256 bytes of UTF-8, no control characters)"))
	}
	if len(s.Description) > MaxDescriptionLen || !utf8.ValidString(s.Description) || hasControl(s.Description, true) {
		errs = append(errs, errors.New("description breaks REG-R21 (at most 4096 bytes of UTF-8, no control characters but newlines)"))
	}
	if len(s.Tags) > MaxTags {
		errs = append(errs, fmt.Errorf("%d tags, at most %d allowed (REG-R21)", len(s.Tags), MaxTags))
	}
	seen := make(map[string]bool, len(s.Tags))
	for _, t := range s.Tags {
		if len(t) == 0 || len(t) > MaxTagLen || !utf8.ValidString(t) || hasControl(t, false) {
			errs = append(errs, fmt.Errorf("tag %q breaks REG-R21 (1-64 bytes of UTF-8, no control characters)", truncateName(t)))
		}
		if seen[t] {
			errs = append(errs, fmt.Errorf("duplicate tag %q (REG-R21)", truncateName(t)))
		}
		seen[t] = true
	}
	return errors.Join(errs...)
}

func hasControl(s string, allowNewline bool) bool {
	for _, r := range s {
		if r == '\n' && allowNewline {
			continue
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return true
		}
	}
	return false
}

// specJSON is the wire form of an OperationSpec (REG-R5).
type specJSON struct {
	Name          string          `json:"name"`
	Namespace     string          `json:"namespace"`
	OpType        OperationType   `json:"op_type"`
	Visibility    Visibility      `json:"visibility"`
	Summary       string          `json:"summary,omitempty"`
	Description   string          `json:"description,omitempty"`
	Tags          []string        `json:"tags,omitempty"`
	InputSchema   json.RawMessage `json:"input_schema"`
	OutputSchema  json.RawMessage `json:"output_schema"`
	ErrorSchemas  []errorDefJSON  `json:"error_schemas"`
	AccessControl aclJSON         `json:"access_control"`
}

type errorDefJSON struct {
	Code        string          `json:"code"`
	Description string          `json:"description"`
	Schema      json.RawMessage `json:"schema"`
	HTTPStatus  *int            `json:"http_status"`
}

type aclJSON struct {
	RequiredScopes    []string `json:"required_scopes"`
	RequiredScopesAny []string `json:"required_scopes_any"`
	ResourceType      *string  `json:"resource_type"`
	ResourceAction    *string  `json:"resource_action"`
}

var emptySchema = json.RawMessage(`{}`)

func schemaOrEmpty(s json.RawMessage) json.RawMessage {
	if isNullSchema(s) {
		return emptySchema
	}
	return s
}

// isNullSchema reports whether s is absent or JSON null (VAL-R6).
func isNullSchema(s json.RawMessage) bool {
	t := bytes.TrimSpace(s)
	return len(t) == 0 || string(t) == "null"
}

// MarshalJSON encodes s in the REG-R5 form: required_scopes always an array,
// required_scopes_any null when nil, empty resource fields and a zero HTTP status as null, a nil
// schema as {}, and summary, description and tags omitted when empty.
func (s OperationSpec) MarshalJSON() ([]byte, error) {
	j := specJSON{
		Name:         s.Name,
		Namespace:    s.Namespace(),
		OpType:       s.Type,
		Visibility:   s.Visibility,
		Summary:      s.Summary,
		Description:  s.Description,
		Tags:         s.Tags,
		InputSchema:  schemaOrEmpty(s.InputSchema),
		OutputSchema: schemaOrEmpty(s.OutputSchema),
		ErrorSchemas: make([]errorDefJSON, 0, len(s.ErrorSchemas)),
		AccessControl: aclJSON{
			RequiredScopes:    s.AccessControl.RequiredScopes,
			RequiredScopesAny: s.AccessControl.RequiredScopesAny,
		},
	}
	if j.AccessControl.RequiredScopes == nil {
		j.AccessControl.RequiredScopes = []string{}
	}
	if s.AccessControl.ResourceType != "" {
		j.AccessControl.ResourceType = &s.AccessControl.ResourceType
	}
	if s.AccessControl.ResourceAction != "" {
		j.AccessControl.ResourceAction = &s.AccessControl.ResourceAction
	}
	for _, d := range s.ErrorSchemas {
		e := errorDefJSON{Code: d.Code, Description: d.Description, Schema: schemaOrEmpty(d.Schema)}
		if d.HTTPStatus != 0 {
			st := d.HTTPStatus
			e.HTTPStatus = &st
		}
		j.ErrorSchemas = append(j.ErrorSchemas, e)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(j); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// UnmarshalJSON decodes the REG-R5 form. Absent and null optional fields decode to their zero
// values; op_type and visibility must be one of their exact strings. The namespace key is
// ignored (it is derived from the name). Schemas are kept as raw JSON; JSON null schemas decode
// to nil.
func (s *OperationSpec) UnmarshalJSON(b []byte) error {
	var j struct {
		Name          *string         `json:"name"`
		OpType        *OperationType  `json:"op_type"`
		Visibility    *Visibility     `json:"visibility"`
		Summary       *string         `json:"summary"`
		Description   *string         `json:"description"`
		Tags          []string        `json:"tags"`
		InputSchema   json.RawMessage `json:"input_schema"`
		OutputSchema  json.RawMessage `json:"output_schema"`
		ErrorSchemas  []errorDefJSON  `json:"error_schemas"`
		AccessControl *aclJSON        `json:"access_control"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("decode operation spec: %w", err)
	}
	if j.Name == nil {
		return errors.New("decode operation spec: missing name")
	}
	if j.OpType == nil {
		return errors.New("decode operation spec: missing op_type")
	}
	out := OperationSpec{Name: *j.Name, Type: *j.OpType, Tags: j.Tags}
	if j.Visibility != nil {
		out.Visibility = *j.Visibility
	}
	if j.Summary != nil {
		out.Summary = *j.Summary
	}
	if j.Description != nil {
		out.Description = *j.Description
	}
	out.InputSchema = nonNullRaw(j.InputSchema)
	out.OutputSchema = nonNullRaw(j.OutputSchema)
	for _, d := range j.ErrorSchemas {
		def := ErrorDefinition{Code: d.Code, Description: d.Description, Schema: nonNullRaw(d.Schema)}
		if d.HTTPStatus != nil {
			def.HTTPStatus = *d.HTTPStatus
		}
		out.ErrorSchemas = append(out.ErrorSchemas, def)
	}
	if a := j.AccessControl; a != nil {
		out.AccessControl.RequiredScopes = a.RequiredScopes
		out.AccessControl.RequiredScopesAny = a.RequiredScopesAny
		if a.ResourceType != nil {
			out.AccessControl.ResourceType = *a.ResourceType
		}
		if a.ResourceAction != nil {
			out.AccessControl.ResourceAction = *a.ResourceAction
		}
	}
	*s = out
	return nil
}

func nonNullRaw(r json.RawMessage) json.RawMessage {
	if isNullSchema(r) {
		return nil
	}
	return append(json.RawMessage(nil), bytes.TrimSpace(r)...)
}

// joinScopes formats a scope list for ACL reasons.
func joinScopes(s []string) string { return strings.Join(s, ", ") }
