package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/wire"
)

// Schema size limits of VAL-R10, checked before any compilation.
const (
	MaxSchemaDepth = 64
	MaxSchemaBytes = 256 << 10
)

// maxValidationErrors caps the entries of INVALID_INPUT details (VAL-R1).
const maxValidationErrors = 16

// CompiledSpec is an OperationSpec whose schemas compiled under VAL-R2..R6 and VAL-R10. It is
// read-only and safe for concurrent use; every accepted registration caches one.
type CompiledSpec struct {
	spec         OperationSpec
	input        *jsonschema.Schema            // nil = accept anything
	inputFast    string                        // first bytes a value of input's only keyword ("type") may start with; "" = none
	output       *jsonschema.Schema            // nil = accept anything
	details      map[string]*jsonschema.Schema // by error code; absent = any details
	assertFormat bool
}

// CompileSpec compiles spec's input, output and error-details schemas exactly as the registry
// does at registration (VAL-R11), with format as an annotation only (VAL-R3). It checks the
// schemas only; the other REG-R10 checks happen when a layer accepts the registration. Errors
// are *[RegistrationError] with code REGISTRY_SCHEMA_INVALID.
func CompileSpec(spec OperationSpec) (*CompiledSpec, error) {
	c, _, err := compileSpec(spec, false)
	return c, err
}

// compileSpec compiles spec and reports how many schema documents it compiled.
func compileSpec(spec OperationSpec, assertFormat bool) (*CompiledSpec, int, error) {
	c := &CompiledSpec{spec: spec, assertFormat: assertFormat}
	n := 0
	var errs []error
	compile := func(kind string, doc json.RawMessage) *jsonschema.Schema {
		sch, compiled, err := compileSchema(spec.Name, kind, doc, assertFormat)
		if compiled {
			n++
		}
		if err != nil {
			errs = append(errs, err)
		}
		return sch
	}
	c.input = compile("input", spec.InputSchema)
	if c.input != nil {
		c.inputFast = typeOnly(spec.InputSchema)
	}
	c.output = compile("output", spec.OutputSchema)
	for _, d := range spec.ErrorSchemas {
		if sch := compile("errors/"+url.PathEscape(d.Code), d.Schema); sch != nil {
			if c.details == nil {
				c.details = map[string]*jsonschema.Schema{}
			}
			c.details[d.Code] = sch
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, n, &RegistrationError{Code: CodeSchemaInvalid, Op: spec.Name, Err: err}
	}
	return c, n, nil
}

// compileSchema compiles one schema document. A nil, null, {} or true schema accepts
// everything and is not compiled (VAL-R6). compiled reports whether the library ran.
func compileSchema(op, kind string, doc json.RawMessage, assertFormat bool) (sch *jsonschema.Schema, compiled bool, err error) {
	doc = bytes.TrimSpace(doc)
	if isNullSchema(doc) || string(doc) == "true" || isEmptyObject(doc) {
		return nil, false, nil
	}
	if err := checkSchemaLimits(doc); err != nil {
		return nil, false, fmt.Errorf("%s schema: %w", kind, err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, false, fmt.Errorf("%s schema: not valid JSON: %w", kind, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(jsonschema.SchemeURLLoader{}) // VAL-R4: no file://, no http(s)://
	if assertFormat {
		c.AssertFormat()
	}
	loc := "mem://alknet/" + url.PathEscape(op) + "/" + kind // VAL-R5
	if err := c.AddResource(loc, v); err != nil {
		return nil, false, fmt.Errorf("%s schema: %w", kind, err)
	}
	s, err := c.Compile(loc)
	if err != nil {
		return nil, true, fmt.Errorf("%s schema does not compile: %w", kind, err)
	}
	return s, true, nil
}

// typeOnly recognises a schema whose only keyword is "type" naming one of object, array, string,
// boolean or null, and returns the bytes a JSON value of that type starts with. A valid value
// starting with one of them satisfies the schema, so ValidateInput can skip the library for it;
// anything else (and every failure) still goes through the library, so answers never change.
// Numbers are left to the library: "integer" accepts 1.0 and 1e2 and needs the value.
func typeOnly(doc json.RawMessage) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(doc, &m) != nil || len(m) != 1 {
		return ""
	}
	switch string(bytes.TrimSpace(m["type"])) {
	case `"object"`:
		return "{"
	case `"array"`:
		return "["
	case `"string"`:
		return `"`
	case `"boolean"`:
		return "tf"
	case `"null"`:
		return "n"
	}
	return ""
}

// firstByte returns the first byte of b that is not JSON whitespace, or 0.
func firstByte(b []byte) byte {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c
		}
	}
	return 0
}

func isEmptyObject(doc []byte) bool {
	if len(doc) < 2 || doc[0] != '{' || doc[len(doc)-1] != '}' {
		return false
	}
	return len(bytes.TrimSpace(doc[1:len(doc)-1])) == 0
}

// checkSchemaLimits refuses a document larger than MaxSchemaBytes or nested deeper than
// MaxSchemaDepth levels of arrays and objects, without decoding it (VAL-R10).
func checkSchemaLimits(doc []byte) error {
	if len(doc) > MaxSchemaBytes {
		return fmt.Errorf("%d bytes, more than the limit of %d (VAL-R10)", len(doc), MaxSchemaBytes)
	}
	depth := 0
	inString := false
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > MaxSchemaDepth {
				return fmt.Errorf("nested deeper than %d levels (VAL-R10)", MaxSchemaDepth)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

// Spec returns the compiled spec.
func (c *CompiledSpec) Spec() OperationSpec { return c.spec }

// sameSchemas reports whether c's schema documents are byte-for-byte those of s (REG-R23).
func (c *CompiledSpec) sameSchemas(s OperationSpec) bool {
	if c == nil || !bytes.Equal(c.spec.InputSchema, s.InputSchema) || !bytes.Equal(c.spec.OutputSchema, s.OutputSchema) ||
		len(c.spec.ErrorSchemas) != len(s.ErrorSchemas) {
		return false
	}
	for i, d := range s.ErrorSchemas {
		o := c.spec.ErrorSchemas[i]
		if o.Code != d.Code || !bytes.Equal(o.Schema, d.Schema) {
			return false
		}
	}
	return true
}

// withSpec returns a copy of c that reports s as its spec (same compiled schemas).
func (c *CompiledSpec) withSpec(s OperationSpec) *CompiledSpec {
	cp := *c
	cp.spec = s
	return &cp
}

// ValidateInput checks input against the input schema. It returns nil, or a
// *callerr.CallError INVALID_INPUT whose details list at most 16 failing locations and never
// quote the input (VAL-R1). nil input is validated as JSON null.
func (c *CompiledSpec) ValidateInput(input json.RawMessage) error {
	if len(input) == 0 {
		input = nullJSON
	}
	if c.input == nil {
		if !wire.Valid(input) {
			return callerr.New(callerr.InvalidInput, "input is not valid JSON")
		}
		return nil
	}
	if c.inputFast != "" && strings.IndexByte(c.inputFast, firstByte(input)) >= 0 && wire.Valid(input) {
		return nil // a {"type": ...}-only schema and a valid value of that type (see typeOnly)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(input))
	if err != nil {
		return callerr.New(callerr.InvalidInput, "input is not valid JSON")
	}
	if err := c.input.Validate(v); err != nil {
		return callerr.New(callerr.InvalidInput, "input does not match input_schema").WithDetails(validationDetails(err))
	}
	return nil
}

// ValidateOutput checks output against the output schema: nil, or a *callerr.CallError
// INTERNAL with details of the first errors (VAL-R9).
func (c *CompiledSpec) ValidateOutput(output json.RawMessage) error {
	if c.output == nil {
		return nil
	}
	if len(output) == 0 {
		output = nullJSON
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(output))
	if err != nil {
		return callerr.New(callerr.Internal, "output is not valid JSON")
	}
	if err := c.output.Validate(v); err != nil {
		return callerr.New(callerr.Internal, "output does not match output_schema").WithDetails(validationDetails(err))
	}
	return nil
}

// ValidateDetails checks the details of a returned domain error against the schema declared
// for code (ERR-R2 case 3). It returns nil when the details validate or code has no schema.
func (c *CompiledSpec) ValidateDetails(code string, details json.RawMessage) error {
	sch := c.details[code]
	if sch == nil {
		return nil
	}
	if len(details) == 0 {
		details = nullJSON
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(details))
	if err != nil {
		return fmt.Errorf("details of %s are not valid JSON", code)
	}
	if err := sch.Validate(v); err != nil {
		return fmt.Errorf("details of %s do not match their schema", code)
	}
	return nil
}

var nullJSON = json.RawMessage("null")

// validationIssue is one entry of INVALID_INPUT details (VAL-R1).
type validationIssue struct {
	InstanceLocation string `json:"instance_location"`
	KeywordLocation  string `json:"keyword_location"`
	Message          string `json:"message"`
}

type validationDetailsJSON struct {
	Errors []validationIssue `json:"errors"`
}

// validationDetails turns a library error into VAL-R1 details. Messages are written here from
// the failing keyword and never quote the instance.
func validationDetails(err error) validationDetailsJSON {
	out := validationDetailsJSON{Errors: []validationIssue{}}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		out.Errors = append(out.Errors, validationIssue{Message: "input does not match input_schema"})
		return out
	}
	basic := ve.BasicOutput()
	var walk func(u *jsonschema.OutputUnit)
	walk = func(u *jsonschema.OutputUnit) {
		if len(out.Errors) >= maxValidationErrors {
			return
		}
		if u.Error != nil {
			out.Errors = append(out.Errors, validationIssue{
				InstanceLocation: u.InstanceLocation,
				KeywordLocation:  u.KeywordLocation,
				Message:          keywordMessage(u.KeywordLocation),
			})
		}
		for i := range u.Errors {
			walk(&u.Errors[i])
		}
	}
	walk(basic)
	if len(out.Errors) == 0 {
		out.Errors = append(out.Errors, validationIssue{InstanceLocation: "", KeywordLocation: "", Message: "input does not match input_schema"})
	}
	return out
}

// keywordMessage names the failing keyword without quoting any value.
func keywordMessage(kwLoc string) string {
	kw := kwLoc
	if i := strings.LastIndexByte(kwLoc, '/'); i >= 0 {
		kw = kwLoc[i+1:]
	}
	switch kw {
	case "":
		return "value not allowed by the schema"
	case "false":
		return "value not allowed by a false schema"
	}
	kw = strings.ReplaceAll(strings.ReplaceAll(kw, "~1", "/"), "~0", "~")
	if !knownKeyword(kw) {
		return "value not allowed by the schema"
	}
	return "`" + kw + "` constraint not met"
}

var keywords = map[string]bool{
	"type": true, "enum": true, "const": true, "format": true, "required": true, "properties": true,
	"additionalProperties": true, "patternProperties": true, "propertyNames": true, "minProperties": true,
	"maxProperties": true, "dependentRequired": true, "dependentSchemas": true, "dependencies": true,
	"items": true, "prefixItems": true, "additionalItems": true, "contains": true, "minContains": true,
	"maxContains": true, "minItems": true, "maxItems": true, "uniqueItems": true, "minLength": true,
	"maxLength": true, "pattern": true, "contentEncoding": true, "contentMediaType": true,
	"contentSchema": true, "minimum": true, "maximum": true, "exclusiveMinimum": true,
	"exclusiveMaximum": true, "multipleOf": true, "allOf": true, "anyOf": true, "oneOf": true,
	"not": true, "if": true, "then": true, "else": true, "unevaluatedProperties": true,
	"unevaluatedItems": true, "$ref": true, "$dynamicRef": true, "$recursiveRef": true,
}

func knownKeyword(kw string) bool { return keywords[kw] }
