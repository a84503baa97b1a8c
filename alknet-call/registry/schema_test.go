package registry_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-call/registry"
)

// Test 20 [VAL-R4]: remote and file references never load.
func TestSchemaRefsNotLoaded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "schema.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	// Opening a FIFO for reading blocks until a writer appears, so a loader that tried would
	// hang the compile; the test's deadline would then fail it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	for _, ref := range []string{
		"file://" + fifo,
		"http://" + ln.Addr().String() + "/schema.json",
		"https://" + ln.Addr().String() + "/schema.json",
	} {
		spec := ext("x/ref")
		spec.InputSchema = json.RawMessage(fmt.Sprintf(`{"$ref":%q}`, ref))
		done := make(chan error, 1)
		go func() {
			_, err := registry.CompileSpec(spec)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("$ref %s compiled", ref)
			}
			var re *registry.RegistrationError
			if !errors.As(err, &re) || re.ErrorCode() != registry.CodeSchemaInvalid {
				t.Errorf("$ref %s: error %v, want REGISTRY_SCHEMA_INVALID", ref, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("compile of $ref %s blocked: the reference was opened", ref)
		}
	}
	// A relative reference under an $id naming a remote base is refused the same way.
	spec := ext("x/ref")
	spec.InputSchema = json.RawMessage(fmt.Sprintf(`{"$id":"http://%s/base/","$ref":"other.json"}`, ln.Addr()))
	if _, err := registry.CompileSpec(spec); err == nil {
		t.Error("$id-relative remote reference compiled")
	}
	ln.Close()
	if n := accepted.Load(); n != 0 {
		t.Errorf("listener saw %d connections", n)
	}
	// In-document references resolve.
	spec.InputSchema = json.RawMessage(`{"$defs":{"s":{"type":"string"}},"$ref":"#/$defs/s"}`)
	cs, err := registry.CompileSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	if cs.ValidateInput(json.RawMessage(`"ok"`)) != nil || cs.ValidateInput(json.RawMessage(`1`)) == nil {
		t.Error("in-document $ref not applied")
	}
	if _, err := os.Stat(fifo); err != nil {
		t.Fatal(err)
	}
}

func nested(depth int) string {
	return strings.Repeat(`{"items":`, depth-1) + `{}` + strings.Repeat(`}`, depth-1)
}

// Test 71 [VAL-R10] (registry part): hostile schemas are refused before compiling.
func TestSchemaLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		schema string
		ok     bool
	}{
		{"64 levels", nested(64), true},
		{"65 levels", nested(65), false},
		{"10000 levels", nested(10000), false},
		{"257 KiB", `{"description":"` + strings.Repeat("x", 257<<10) + `"}`, false},
		{"deep in a string is fine", `{"description":"` + strings.Repeat("[", 200) + `"}`, true},
		{"escaped quote", `{"description":"\"[[[[","type":"string"}`, true},
	} {
		spec := ext("x/lim")
		spec.InputSchema = json.RawMessage(tc.schema)
		_, err := registry.CompileSpec(spec)
		if (err == nil) != tc.ok {
			t.Errorf("%s: CompileSpec = %v, want ok %v", tc.name, err, tc.ok)
		}
		// The same limits apply to error-details and output schemas.
		spec = ext("x/lim")
		spec.ErrorSchemas = []registry.ErrorDefinition{{Code: "E", Schema: json.RawMessage(tc.schema)}}
		if _, err := registry.CompileSpec(spec); (err == nil) != tc.ok {
			t.Errorf("%s as details schema: %v", tc.name, err)
		}
	}
	if err := registry.CheckSchemaLimits([]byte(nested(64))); err != nil {
		t.Errorf("64 levels refused by the scan: %v", err)
	}
}

// FuzzCompileSpec: compiling arbitrary schema documents never panics, and a compiled schema
// validates arbitrary input without panicking.
func FuzzCompileSpec(f *testing.F) {
	for _, s := range []string{
		`{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}`,
		`{"$ref":"file:///etc/passwd"}`,
		`{"$defs":{"a":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"}`,
		`{"type":"string","pattern":"^(a+)+$"}`,
		`{"$schema":"http://json-schema.org/draft-07/schema#","type":"integer"}`,
		nested(70), `true`, `false`, `null`, `{}`, `[]`, `{"type":12}`,
	} {
		f.Add([]byte(s), []byte(`{"path":"x"}`))
	}
	f.Fuzz(func(t *testing.T, schema, input []byte) {
		spec := registry.OperationSpec{Name: "f/z", Type: registry.Query, InputSchema: schema}
		cs, err := registry.CompileSpec(spec)
		if err != nil {
			return
		}
		_ = cs.ValidateInput(input)
	})
}
