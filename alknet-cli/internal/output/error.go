// Package output is where every result and every error of the alknet command leaves the
// process: JSON documents, aligned tables, progress lines, and the one function that turns an
// error into a printed message and an exit code (cli.md §9, §11; CLI-R2, CLI-R53..R57, CLI-R62).
package output

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/alknet/alknet/alknet-core/alkerr"
)

// Error is a CLI failure carrying one of the closed set of codes (cli.md §11). Message says what
// happened and to which object; Hint says what to do next. Both are printed as they are and must
// never contain secret material. Err is the local cause: it is shown on stderr for INTERNAL
// errors only and never written to --json output.
type Error struct {
	Code    Code
	Message string
	Hint    string
	Details map[string]any
	Err     error
	// Silent is set when the command already wrote its own --json document describing the
	// failure (config validate); Report then writes no error object.
	Silent bool
}

// Error returns the message, followed by the cause when there is one.
func (e *Error) Error() string {
	if e.Err == nil {
		return e.Message
	}
	return e.Message + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code as a string.
func (e *Error) ErrorCode() string { return string(e.Code) }

// Errorf returns an *Error with code c and a formatted message. A %w verb sets the cause.
func Errorf(c Code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	e := &Error{Code: c, Message: err.Error()}
	if u := errors.Unwrap(err); u != nil {
		e.Err = u
		e.Message = strings.TrimSuffix(e.Message, ": "+u.Error())
	}
	return e
}

// WithHint returns e with its next-step hint set.
func (e *Error) WithHint(h string) *Error { e.Hint = h; return e }

// WithDetail returns e with details[key] = value.
func (e *Error) WithDetail(key string, value any) *Error {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	e.Details[key] = value
	return e
}

// Classify turns any error into an *Error of the closed set (CLI-R62): an *Error in the chain is
// returned as it is; a cancelled context is INTERRUPTED; an error with a module code
// (alkerr.CodeOf) is mapped through one table, the original code kept as details.cause_code when
// it differs; anything else is INTERNAL with a generic message and the error as its cause.
func Classify(err error) *Error {
	if err == nil {
		return nil
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	if errors.Is(err, context.Canceled) {
		return &Error{Code: CodeInterrupted, Message: "interrupted", Err: err}
	}
	mc := string(alkerr.CodeOf(err))
	if mc == "" {
		return &Error{Code: CodeInternal, Message: "internal error", Err: err}
	}
	c, ok := moduleCodes[mc]
	if !ok {
		c = Code(mc)
		if !known(c) {
			c = CodeInternal
		}
	}
	e := &Error{Code: c, Message: moduleMessage(err)}
	if c == CodeInternal {
		e.Message = "internal error"
		e.Err = err
	}
	if string(c) != mc {
		e.WithDetail("cause_code", mc)
	}
	return e
}

// moduleMessage is the text of a coded module error: the wrapping context, then the coded
// error's own message without its cause chain (which repeats codes and inner messages).
func moduleMessage(err error) string {
	ae, ok := errors.AsType[*alkerr.Error](err)
	if !ok || ae.Message == "" {
		return err.Error()
	}
	full, inner := err.Error(), ae.Error()
	prefix := ""
	if i := strings.Index(full, inner); i > 0 {
		prefix = full[:i]
	}
	return prefix + ae.Message
}

// ReportOptions selects how Report prints.
type ReportOptions struct {
	JSON  bool // write the CLI-R55 error object to stdout
	Quiet bool // with JSON, suppress the human line on stderr
}

// jsonError is the CLI-R55 error object (one-way for scripts, CLI-R54).
type jsonError struct {
	Error jsonErrorBody `json:"error"`
}

type jsonErrorBody struct {
	Code     Code           `json:"code"`
	Message  string         `json:"message"`
	ExitCode int            `json:"exit_code"`
	Details  map[string]any `json:"details"`
}

// Report prints err and returns the exit code (CLI-R2, CLI-R55). The human form on stderr is
// "error: <message> (<CODE>)" (VAULT-R115), then the hint; INTERNAL errors add their cause. With
// JSON, stdout receives the error object and nothing else.
func Report(stdout, stderr io.Writer, err error, opts ReportOptions) int {
	e := Classify(err)
	if e == nil {
		return 0
	}
	code := ExitCode(e.Code)
	if opts.JSON && !e.Silent {
		details := e.Details
		if details == nil {
			details = map[string]any{}
		}
		_ = WriteJSON(stdout, jsonError{Error: jsonErrorBody{
			Code: e.Code, Message: e.Message, ExitCode: code, Details: details,
		}}, false)
	}
	if !opts.JSON || !opts.Quiet {
		msg := e.Message
		if e.Code == CodeInternal && e.Err != nil {
			msg += ": " + e.Err.Error()
		}
		fmt.Fprintf(stderr, "error: %s (%s)\n", msg, e.Code)
		if e.Hint != "" {
			fmt.Fprintf(stderr, "hint: %s\n", e.Hint)
		}
	}
	return code
}

// WriteJSON writes v as one JSON document followed by a newline; indented when indent is set
// (a terminal), compact otherwise. HTML escaping is off, so "<" and "&" stay readable.
func WriteJSON(w io.Writer, v any, indent bool) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(v)
}
