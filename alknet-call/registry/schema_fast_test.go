package registry_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/alknet/alknet/alknet-call/registry"
)

// VAL-R1, VAL-R3: a schema whose only keyword is "type" is checked without the library when the
// value has that type; every input gets exactly the answer the library gives (the same schema
// with a $comment added never takes the short cut).
func TestTypeOnlySchemaSameAnswers(t *testing.T) {
	inputs := []string{
		`{}`, ` {"a":1} `, `[]`, `[1,2]`, `"s"`, `""`, `true`, `false`, `null`, `0`, `1.5`, `-3`,
		`{"a":`, `{"a":1}}`, `[1,]`, `"\xff"`, "{\"a\":\"\xff\"}", ``, ` `, `nul`, `tru`, `{"a":1} x`,
	}
	for _, typ := range []string{"object", "array", "string", "boolean", "null", "integer", "number"} {
		fast := compile(t, `{"type":"`+typ+`"}`)
		slow := compile(t, `{"type":"`+typ+`","$comment":"no short cut"}`)
		for _, in := range inputs {
			got, want := fast.ValidateInput(json.RawMessage(in)), slow.ValidateInput(json.RawMessage(in))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("type %s, input %q: ValidateInput = %v, want %v", typ, in, got, want)
			}
		}
	}
}

func compile(t *testing.T, schema string) *registry.CompiledSpec {
	t.Helper()
	c, err := registry.CompileSpec(registry.OperationSpec{Name: "x/y", Type: registry.Query, InputSchema: json.RawMessage(schema)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
