package registry_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/alknet/alknet/alknet-call/registry"
)

// goldenSpec is the REG-R5 example.
func goldenSpec() registry.OperationSpec {
	return registry.OperationSpec{
		Name:         "fs/readFile",
		Type:         registry.Query,
		Visibility:   registry.External,
		Summary:      "Read a file",
		Description:  "Returns the UTF-8 content of one file below the node's export root.",
		Tags:         []string{"fs"},
		InputSchema:  json.RawMessage(`{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}`),
		OutputSchema: json.RawMessage(`{"type":"string"}`),
		ErrorSchemas: []registry.ErrorDefinition{{
			Code: "FILE_NOT_FOUND", Description: "no such file",
			Schema: json.RawMessage(`{"type":"object","properties":{"path":{"type":"string"}}}`),
		}},
		AccessControl: registry.AccessControl{RequiredScopes: []string{"fs:read"}},
	}
}

// Test 3 [REG-R5]: golden round trip.
func TestSpecJSONGolden(t *testing.T) {
	t.Parallel()
	golden, err := os.ReadFile(filepath.Join("testdata", "spec_readfile.json"))
	if err != nil {
		t.Fatal(err)
	}
	golden = bytes.TrimSpace(golden)
	got, err := json.Marshal(goldenSpec())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, golden) {
		t.Errorf("Marshal =\n%s\nwant\n%s", got, golden)
	}
	var back registry.OperationSpec
	if err := json.Unmarshal(golden, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, goldenSpec()) {
		t.Errorf("Unmarshal(golden) = %+v, want %+v", back, goldenSpec())
	}
}

// Test 3 [REG-R5]: nulls, required_scopes_any nil vs [], http_status null vs 404, nil schema → {}.
func TestSpecJSONNulls(t *testing.T) {
	t.Parallel()
	s := registry.OperationSpec{Name: "a/b", Type: registry.Mutation}
	got, _ := json.Marshal(s)
	want := `{"name":"a/b","namespace":"a","op_type":"mutation","visibility":"internal","input_schema":{},"output_schema":{},"error_schemas":[],"access_control":{"required_scopes":[],"required_scopes_any":null,"resource_type":null,"resource_action":null}}`
	if string(got) != want {
		t.Errorf("Marshal(minimal) =\n%s\nwant\n%s", got, want)
	}
	s.AccessControl = registry.AccessControl{RequiredScopesAny: []string{}, ResourceType: "fs", ResourceAction: "read"}
	s.ErrorSchemas = []registry.ErrorDefinition{{Code: "GONE", HTTPStatus: 404}, {Code: "OTHER"}}
	got, _ = json.Marshal(s)
	for _, frag := range []string{`"required_scopes_any":[]`, `"resource_type":"fs"`, `"resource_action":"read"`,
		`{"code":"GONE","description":"","schema":{},"http_status":404}`, `{"code":"OTHER","description":"","schema":{},"http_status":null}`} {
		if !strings.Contains(string(got), frag) {
			t.Errorf("Marshal = %s, missing %s", got, frag)
		}
	}
	var back registry.OperationSpec
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if back.AccessControl.RequiredScopesAny == nil || len(back.AccessControl.RequiredScopesAny) != 0 {
		t.Errorf("required_scopes_any [] decoded to %#v", back.AccessControl.RequiredScopesAny)
	}
	if back.ErrorSchemas[0].HTTPStatus != 404 || back.ErrorSchemas[1].HTTPStatus != 0 {
		t.Errorf("http_status decoded to %d, %d", back.ErrorSchemas[0].HTTPStatus, back.ErrorSchemas[1].HTTPStatus)
	}
	// Absent and null optional fields decode to zero values.
	for _, doc := range []string{
		`{"name":"a/b","op_type":"query"}`,
		`{"name":"a/b","op_type":"query","visibility":"internal","summary":null,"description":null,"tags":null,"input_schema":null,"output_schema":null,"error_schemas":null,"access_control":{"required_scopes":null,"required_scopes_any":null,"resource_type":null,"resource_action":null}}`,
	} {
		var d registry.OperationSpec
		if err := json.Unmarshal([]byte(doc), &d); err != nil {
			t.Errorf("Unmarshal(%s): %v", doc, err)
			continue
		}
		if !reflect.DeepEqual(d, registry.OperationSpec{Name: "a/b", Type: registry.Query}) {
			t.Errorf("Unmarshal(%s) = %+v", doc, d)
		}
	}
	// Zero and unknown enum strings are errors both ways.
	for _, doc := range []string{`{"name":"a/b"}`, `{"name":"a/b","op_type":"Query"}`, `{"name":"a/b","op_type":"query","visibility":"public"}`, `{"op_type":"query"}`} {
		var d registry.OperationSpec
		if err := json.Unmarshal([]byte(doc), &d); err == nil {
			t.Errorf("Unmarshal(%s) accepted", doc)
		}
	}
	if _, err := json.Marshal(registry.OperationSpec{Name: "a/b"}); err == nil {
		t.Error("Marshal with zero op_type accepted")
	}
	if _, err := json.Marshal(registry.OperationSpec{Name: "a/b", Type: registry.Query, Visibility: 7}); err == nil {
		t.Error("Marshal with invalid visibility accepted")
	}
}

// Test 72 [REG-R5, REG-R21]: descriptive metadata round trip and Build limits.
func TestSpecMetadata(t *testing.T) {
	t.Parallel()
	with := goldenSpec()
	b, _ := json.Marshal(with)
	for _, k := range []string{`"summary":"Read a file"`, `"description":`, `"tags":["fs"]`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("Marshal lacks %s", k)
		}
	}
	without := goldenSpec()
	without.Summary, without.Description, without.Tags = "", "", nil
	b, _ = json.Marshal(without)
	for _, k := range []string{`"summary"`, `"visibility":"external","description"`, `"tags"`} {
		if strings.Contains(string(b), k) {
			t.Errorf("Marshal of a spec without metadata has %s: %s", k, b)
		}
	}
	var back registry.OperationSpec
	if err := json.Unmarshal(b, &back); err != nil || back.Summary != "" || back.Tags != nil {
		t.Errorf("round trip without metadata: %+v, %v", back, err)
	}

	tags17 := make([]string, 17)
	for i := range tags17 {
		tags17[i] = string(rune('a' + i))
	}
	for name, mutate := range map[string]func(*registry.OperationSpec){
		"summary 257 bytes":  func(s *registry.OperationSpec) { s.Summary = strings.Repeat("s", 257) },
		"summary newline":    func(s *registry.OperationSpec) { s.Summary = "a\nb" },
		"description 4097":   func(s *registry.OperationSpec) { s.Description = strings.Repeat("d", 4097) },
		"17 tags":            func(s *registry.OperationSpec) { s.Tags = tags17 },
		"duplicate tag":      func(s *registry.OperationSpec) { s.Tags = []string{"x", "x"} },
		"empty tag":          func(s *registry.OperationSpec) { s.Tags = []string{""} },
		"description escape": func(s *registry.OperationSpec) { s.Description = "a\x1bb" },
	} {
		s := goldenSpec()
		mutate(&s)
		if _, err := registry.NewBuilder().Local(s, echo, nil, nil, noCaps).Build(); err == nil {
			t.Errorf("%s: Build accepted", name)
		}
	}
	ok := goldenSpec()
	ok.Summary = strings.Repeat("s", 256)
	ok.Description = strings.Repeat("line\n", 819)
	ok.Tags = tags17[:16]
	if _, err := registry.NewBuilder().Local(ok, echo, nil, nil, noCaps).Build(); err != nil {
		t.Errorf("Build at the limits: %v", err)
	}
}

// FuzzSpecJSON: decoding never panics, and a decoded spec re-encodes to a document that
// decodes to the same spec.
func FuzzSpecJSON(f *testing.F) {
	golden, _ := os.ReadFile(filepath.Join("testdata", "spec_readfile.json"))
	f.Add(golden)
	f.Add([]byte(`{"name":"a/b","op_type":"query"}`))
	f.Add([]byte(`{"name":"a/b","op_type":"subscription","visibility":"external","error_schemas":[{"code":"X","http_status":404}],"access_control":{"required_scopes_any":[]}}`))
	f.Add([]byte(`{"name":"a/b","op_type":"mutation","tags":["a","b"],"input_schema":true}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s registry.OperationSpec
		if err := json.Unmarshal(b, &s); err != nil {
			return
		}
		enc, err := json.Marshal(s)
		if err != nil {
			return // e.g. an invalid raw schema kept verbatim is refused on the way out
		}
		var again registry.OperationSpec
		if err := json.Unmarshal(enc, &again); err != nil {
			t.Fatalf("re-decode of %s: %v", enc, err)
		}
		enc2, err := json.Marshal(again)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip unstable:\n%s\n%s (%v)", enc, enc2, err)
		}
	})
}

// Test 72 (importer part) [REG-R21]: TrimMetadata cuts instead of failing.
func TestTrimMetadata(t *testing.T) {
	t.Parallel()
	var tags []string
	for i := range 40 {
		tags = append(tags, fmt.Sprintf("t%02d", i))
	}
	tags = append([]string{" t00 ", "", strings.Repeat("x", 65), "a\x01b"}, tags...)
	long := strings.Repeat("é", 6000) // 2 bytes each: 12 000 bytes
	in := registry.OperationSpec{Name: "a/b", Type: registry.Query, Summary: "  one\nline " + long, Description: " " + long + "\n", Tags: tags}
	out := registry.TrimMetadata(in)
	if len(out.Summary) > registry.MaxSummaryLen || !utf8.ValidString(out.Summary) || strings.ContainsAny(out.Summary, "\n\x01") || !strings.HasPrefix(out.Summary, "oneline") {
		t.Errorf("summary %d bytes %q...", len(out.Summary), out.Summary[:min(20, len(out.Summary))])
	}
	if len(out.Description) > registry.MaxDescriptionLen || len(out.Description) < registry.MaxDescriptionLen-1 || !utf8.ValidString(out.Description) {
		t.Errorf("description %d bytes", len(out.Description))
	}
	if len(out.Tags) != registry.MaxTags || out.Tags[0] != "t00" || out.Tags[1] != "ab" || out.Tags[2] != "t01" {
		t.Errorf("tags %v", out.Tags)
	}
	if in.Summary == out.Summary || len(in.Tags) != 44 {
		t.Error("TrimMetadata changed its argument or nothing")
	}
	// The result passes Build's REG-R21 check.
	out.Visibility = registry.External
	if _, err := registry.NewBuilder().Local(out, echo, nil, nil, noCaps).Build(); err != nil {
		t.Errorf("trimmed spec refused: %v", err)
	}
}
