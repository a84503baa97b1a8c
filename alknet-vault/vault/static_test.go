package vault_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// moduleRoot is the alknet-vault module directory, seen from this package.
const moduleRoot = ".."

// nonTestFiles parses every non-test .go file of the module.
func nonTestFiles(t *testing.T) map[string]*ast.File {
	t.Helper()
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	err := filepath.WalkDir(moduleRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(path)] = f
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d source files", len(files))
	}
	return files
}

// forbiddenNameParts are the parameter names (or camel-case parts) that
// signal a caller-chosen key, nonce or randomness (VAULT-T47).
var forbiddenNameParts = map[string]bool{"key": true, "nonce": true, "iv": true, "salt": true, "rand": true, "random": true}

func nameParts(name string) []string {
	// Split on underscores, then on camel-case boundaries, keeping an
	// upper-case run such as "AES" or "IV" together: "aesIV" gives "aes" and
	// "iv", "AESKey" gives "aes" and "key".
	var parts []string
	for _, word := range strings.Split(name, "_") {
		rs := []rune(word)
		start := 0
		for i := 1; i < len(rs); i++ {
			lowerToUpper := unicode.IsLower(rs[i-1]) && unicode.IsUpper(rs[i])
			acronymEnd := unicode.IsUpper(rs[i-1]) && unicode.IsUpper(rs[i]) && i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if lowerToUpper || acronymEnd {
				parts = append(parts, strings.ToLower(string(rs[start:i])))
				start = i
			}
		}
		parts = append(parts, strings.ToLower(string(rs[start:])))
	}
	return parts
}

func isByteSliceOrString(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name == "string"
	case *ast.ArrayType:
		id, ok := x.Elt.(*ast.Ident)
		return x.Len == nil && ok && id.Name == "byte"
	}
	return false
}

// storedBlobTypes are exempt from the field check: EncryptedData's IV and
// Salt are the stored blob's, which Decrypt and Rotate necessarily read; they
// never encrypt with them (VAULT-T45 checks fresh nonces).
var storedBlobTypes = map[string]bool{"EncryptedData": true}

// typeFinding reports why a parameter or field of type e named name would
// let a caller choose a key, nonce or random source, or "" when it would not.
func typeFinding(name string, e ast.Expr) string {
	if s, ok := e.(*ast.StarExpr); ok {
		if a, ok := s.X.(*ast.ArrayType); ok && a.Len != nil {
			return "pointer to a byte array"
		}
	}
	switch x := e.(type) {
	case *ast.SelectorExpr:
		if pkg, ok := x.X.(*ast.Ident); ok {
			q := pkg.Name + "." + x.Sel.Name
			if q == "cipher.AEAD" || q == "cipher.Block" || q == "io.Reader" {
				return "type " + q
			}
		}
	case *ast.ArrayType:
		if x.Len != nil {
			return "byte array"
		}
	}
	if isByteSliceOrString(e) && slices.ContainsFunc(nameParts(name), func(p string) bool { return forbiddenNameParts[p] }) {
		return "name " + name
	}
	return ""
}

// keyNonceFindings reports exported functions and methods of exported types
// whose parameters, and exported fields of exported struct types (such as a
// Config), that let a caller choose a key, nonce or random source (VAULT-R53).
func keyNonceFindings(f *ast.File) []string {
	var out []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, s := range g.Specs {
			ts, ok := s.(*ast.TypeSpec)
			if !ok || !ts.Name.IsExported() {
				continue
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok || storedBlobTypes[ts.Name.Name] {
				continue
			}
			for _, field := range st.Fields.List {
				for _, n := range field.Names {
					if n.IsExported() {
						if why := typeFinding(n.Name, field.Type); why != "" {
							out = append(out, ts.Name.Name+"."+n.Name+": field with "+why)
						}
					}
				}
			}
		}
	}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || !fd.Name.IsExported() {
			continue
		}
		if fd.Recv != nil {
			rt := fd.Recv.List[0].Type
			if s, ok := rt.(*ast.StarExpr); ok {
				rt = s.X
			}
			if id, ok := rt.(*ast.Ident); !ok || !ast.IsExported(id.Name) {
				continue
			}
		}
		for _, field := range fd.Type.Params.List {
			names := field.Names
			if len(names) == 0 {
				names = []*ast.Ident{ast.NewIdent("_")}
			}
			for _, n := range names {
				if why := typeFinding(n.Name, field.Type); why != "" {
					out = append(out, fd.Name.Name+": parameter with "+why)
				}
			}
		}
	}
	return out
}

// VAULT-T47, VAULT-R53: no exported function takes a caller-chosen key,
// nonce, salt or random source, and only package vault imports internal/aead.
func TestNoCallerChosenKeyOrNonce(t *testing.T) {
	t.Parallel()
	for path, f := range nonTestFiles(t) {
		if !strings.Contains(path, "/internal/") {
			for _, finding := range keyNonceFindings(f) {
				t.Errorf("%s: %s", path, finding)
			}
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasSuffix(p, "/internal/aead") && !strings.HasPrefix(path, "../vault/") {
				t.Errorf("%s imports internal/aead; only package vault may", path)
			}
		}
	}
	// The checker itself finds a planted violation.
	planted := `package x
import ("crypto/cipher"; "io")
func Encrypt(pt, key []byte) {}
func Seal(aesKey string) {}
func WithAEAD(a cipher.AEAD) {}
func Fixed(n [12]byte) {}
type V struct{}
func (v *V) Open(nonce []byte) {}
func (v *V) Fine(keyVersion uint32, plaintext []byte) {}
func unexported(key []byte) {}
func KeyPtr(k *[32]byte) {}
func Anon(io.Reader) {}
type Config struct {
	Rand     io.Reader
	AESKey   []byte
	Path     string
	internal []byte
}
type hidden struct{ Key []byte }
func Acronyms(aesIV, rawNONCE []byte, AESKey string, random_salt []byte) {}
func NotFlagged(keyVersion uint32, monkey, ivory, keystone []byte) {}`
	f, err := parser.ParseFile(token.NewFileSet(), "planted.go", planted, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := keyNonceFindings(f); len(got) != 13 {
		t.Errorf("planted snippet: findings %q, want 13", got)
	}
}

// VAULT-T44, VAULT-R2: no net, os/exec or alknet dependency; no environment
// reads, logging calls or file writes in non-test code.
func TestIsolation(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}}", "./...")
	cmd.Dir = moduleRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		dep, std, _ := strings.Cut(line, " ")
		switch {
		case dep == "net" || strings.HasPrefix(dep, "net/") || dep == "os/exec":
			t.Errorf("non-test dependency %s", dep)
		case strings.HasPrefix(dep, "github.com/alknet/alknet/") && !strings.HasPrefix(dep, "github.com/alknet/alknet/alknet-vault/"):
			t.Errorf("dependency on another alknet module: %s", dep)
		case std != "true" && !strings.HasPrefix(dep, "golang.org/x/text/") && !strings.HasPrefix(dep, "github.com/alknet/alknet/alknet-vault/"):
			t.Errorf("third-party dependency %s (only golang.org/x/text is allowed)", dep)
		}
	}
	forbidden := map[string]map[string]bool{
		"os": {"Getenv": true, "LookupEnv": true, "Environ": true, "Setenv": true, "WriteFile": true,
			"Create": true, "OpenFile": true, "Mkdir": true, "MkdirAll": true, "CreateTemp": true},
		"slog": {"Debug": true, "Info": true, "Warn": true, "Error": true, "Log": true, "LogAttrs": true,
			"DebugContext": true, "InfoContext": true, "WarnContext": true, "ErrorContext": true,
			"New": true, "Default": true, "SetDefault": true, "NewJSONHandler": true, "NewTextHandler": true},
	}
	for path, f := range nonTestFiles(t) {
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "log" || p == "syscall" {
				t.Errorf("%s imports %s", path, p)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); ok && forbidden[pkg.Name][sel.Sel.Name] {
				t.Errorf("%s uses %s.%s", path, pkg.Name, sel.Sel.Name)
			}
			return true
		})
	}
}
