package client

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzParseList: a services/list answer either parses into at most maxOps names or fails with
// SchemaParse; it never panics, and every name it returns was a JSON string entry (ADPT-R5).
func FuzzParseList(f *testing.F) {
	f.Add([]byte(`{"operations":[{"name":"a/b"},{"name":"c/d","op_type":"query"}]}`), 4)
	f.Add([]byte(`{"operations":[]}`), 1)
	f.Add([]byte(`{"operations":[{"name":null}]}`), 4)
	f.Add([]byte(`{"operations":[{"op_type":"query"}]}`), 4)
	f.Add([]byte(`{}`), 4)
	f.Add([]byte(`[1,2]`), 4)
	f.Fuzz(func(t *testing.T, raw []byte, maxOps int) {
		if maxOps <= 0 || maxOps > 4096 {
			maxOps = DefaultMaxOperations
		}
		names, err := parseList(raw, maxOps)
		if err != nil {
			if !errors.Is(err, ErrSchemaParse) {
				t.Fatalf("error of kind %v", err)
			}
			return
		}
		if len(names) > maxOps {
			t.Fatalf("%d names above the bound %d", len(names), maxOps)
		}
		var v struct {
			Operations []struct {
				Name string `json:"name"`
			} `json:"operations"`
		}
		if err := json.Unmarshal(raw, &v); err != nil || len(v.Operations) != len(names) {
			t.Fatalf("accepted %q as %v, json says %v", raw, names, err)
		}
	})
}
