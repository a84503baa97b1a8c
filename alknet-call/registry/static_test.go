package registry_test

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"

	"github.com/alknet/alknet/alknet-call/registry"
)

const authPkg = "github.com/alknet/alknet/alknet-core/auth"

// allowedIdentityBuilders may build auth.Identity values (FWD-R2).
var allowedIdentityBuilders = map[string]bool{"(*CompositionAuthority).AsIdentity": true}

// identityViolations reports every non-empty composite literal, new() or conversion of auth.Identity and
// every assignment to a field of an auth.Identity value in pkgs, outside the allow-list.
func identityViolations(pkgs []*packages.Package) []string {
	var out []string
	isIdentity := func(t types.Type) bool {
		if t == nil {
			return false
		}
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		n, ok := t.(*types.Named)
		return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == authPkg && n.Obj().Name() == "Identity"
	}
	for _, p := range pkgs {
		if strings.HasSuffix(p.PkgPath, "/calltest") {
			continue
		}
		for _, f := range p.Syntax {
			for _, decl := range f.Decls {
				fd, ok := decl.(*ast.FuncDecl)
				if ok && allowedIdentityBuilders[funcKey(fd)] {
					continue
				}
				ast.Inspect(decl, func(n ast.Node) bool {
					pos := func() string { return p.Fset.Position(n.Pos()).String() }
					switch x := n.(type) {
					case *ast.CompositeLit:
						// An empty literal is a zero value: it carries nothing, and filling it in
						// later is a field assignment, reported below.
						if len(x.Elts) > 0 && isIdentity(p.TypesInfo.TypeOf(x)) {
							out = append(out, "composite literal at "+pos())
						}
					case *ast.CallExpr:
						if id, ok := x.Fun.(*ast.Ident); ok && id.Name == "new" && len(x.Args) == 1 && isIdentity(p.TypesInfo.TypeOf(x.Args[0])) {
							out = append(out, "new at "+pos())
						}
						if tv, ok := p.TypesInfo.Types[x.Fun]; ok && tv.IsType() && isIdentity(tv.Type) {
							out = append(out, "conversion at "+pos())
						}
					case *ast.AssignStmt:
						for _, lhs := range x.Lhs {
							if sel, ok := lhs.(*ast.SelectorExpr); ok && isIdentity(p.TypesInfo.TypeOf(sel.X)) {
								out = append(out, "field assignment at "+pos())
							}
						}
					case *ast.IncDecStmt:
						if sel, ok := x.X.(*ast.SelectorExpr); ok && isIdentity(p.TypesInfo.TypeOf(sel.X)) {
							out = append(out, "field assignment at "+pos())
						}
					}
					return true
				})
			}
		}
	}
	return out
}

func funcKey(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	star := ""
	if s, ok := t.(*ast.StarExpr); ok {
		star, t = "*", s.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return "(" + star + id.Name + ")." + fd.Name.Name
	}
	return fd.Name.Name
}

func loadPackages(t *testing.T, patterns ...string) []*packages.Package {
	t.Helper()
	cfg := &packages.Config{
		Mode:  packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo,
		Dir:   "..",
		Tests: false,
	}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		t.Fatalf("load %v: %v", patterns, err)
	}
	for _, p := range pkgs {
		for _, e := range p.Errors {
			t.Fatalf("load %s: %v", p.PkgPath, e)
		}
	}
	return pkgs
}

// Test 10 [ACL-R7, FWD-R2]: no production code builds or edits an auth.Identity outside the
// allow-list, the check reports a fixture that does, and the dispatch core's only Check call
// passes oc.Identity().
func TestNoIdentityFromClaims(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the module's packages with go/packages")
	}
	t.Parallel()
	pkgs := loadPackages(t, "./...", "./registry/testdata/aclfixture")
	var module, fixture []*packages.Package
	for _, p := range pkgs {
		if strings.HasSuffix(p.PkgPath, "/aclfixture") {
			fixture = append(fixture, p)
		} else {
			module = append(module, p)
		}
	}
	if len(module) == 0 || len(fixture) != 1 {
		t.Fatalf("loaded %d module packages and %d fixtures", len(module), len(fixture))
	}
	if v := identityViolations(module); len(v) != 0 {
		t.Errorf("auth.Identity built outside the allow-list:\n%s", strings.Join(v, "\n"))
	}
	if v := identityViolations(fixture); len(v) != 4 {
		t.Errorf("fixture: %d violations reported, want 4 (literal, field assignment, new, field assignment): %v", len(v), v)
	}
	// The dispatch core's Check calls take oc.Identity().
	for _, p := range module {
		if !strings.HasSuffix(p.PkgPath, "/registry") {
			continue
		}
		calls := 0
		for _, f := range p.Syntax {
			ast.Inspect(f, func(n ast.Node) bool {
				c, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := c.Fun.(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != "Check" {
					return true
				}
				if recv := p.TypesInfo.TypeOf(sel.X); recv == nil || !strings.HasSuffix(recv.String(), "registry.AccessControl") {
					return true
				}
				calls++
				arg, ok := c.Args[0].(*ast.CallExpr)
				if argSel, ok2 := argFun(arg, ok); !ok2 || argSel.Sel.Name != "Identity" || !isIdent(argSel.X, "oc") {
					t.Errorf("Check at %s is not passed oc.Identity()", p.Fset.Position(c.Pos()))
				}
				return true
			})
		}
		if calls != 1 {
			t.Errorf("registry has %d production Check calls, want exactly 1", calls)
		}
	}
}

func argFun(c *ast.CallExpr, ok bool) (*ast.SelectorExpr, bool) {
	if !ok {
		return nil, false
	}
	s, ok := c.Fun.(*ast.SelectorExpr)
	return s, ok
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// Test 67 [CAP-R7]: no package of the module reads the environment.
func TestNoEnvironmentReads(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	root := ".."
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		osName := ""
		for _, imp := range f.Imports {
			if imp.Path.Value == `"os"` {
				osName = "os"
				if imp.Name != nil {
					osName = imp.Name.Name
				}
			}
		}
		if osName == "" {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if ok && isIdent(sel.X, osName) && (sel.Sel.Name == "Getenv" || sel.Sel.Name == "LookupEnv" || sel.Sel.Name == "Environ") {
				t.Errorf("%s reads the environment (os.%s)", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Test 67 [CAP-R7]: a sentinel environment variable never reaches a handler's output.
func TestEnvironmentSentinel(t *testing.T) {
	t.Setenv("ALKNET_SENTINEL_API_KEY", "sentinel-8c1f")
	listRegistry := mustBuild(t, installDiscovery(registryWithEverything()))
	for _, op := range []string{"/services/list", "/caps/report"} {
		out, err := call(t, listRegistry, ident("a", "x"), op, "")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(out), "sentinel-8c1f") {
			t.Errorf("%s output contains the environment sentinel", op)
		}
	}
	if os.Getenv("ALKNET_SENTINEL_API_KEY") == "" {
		t.Fatal("sentinel not set")
	}
}

// registryWithEverything has an op reporting the capabilities it sees.
func registryWithEverything() *registry.Builder {
	report := registry.HandlerFunc(func(_ context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		s, ok := oc.Capabilities().Get("svc")
		if !ok {
			return json.RawMessage(`"none"`), nil
		}
		return json.Marshal(s.Expose())
	})
	return registry.NewBuilder().Local(ext("caps/report", "x"), report, nil, nil, noCaps)
}
