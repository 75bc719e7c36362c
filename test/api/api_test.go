// Package api checks the module's public surface (the functions `dagger functions` lists) from
// its source, without an engine: no function has more than 12 arguments and none is a test hook;
// the defaults its pragmas, dagger.json, go.mod and the pipelines repeat agree with Go's.
package api

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

// maxArgs is the most arguments a function of the module may take.
const maxArgs = 12

// sources are the module's own sources in ci/ (not the generated bindings), parsed with their
// comments.
func sources(t *testing.T) (*token.FileSet, []*ast.File) {
	t.Helper()
	fset := token.NewFileSet()
	names, err := filepath.Glob("../../ci/*.go")
	if err != nil || len(names) == 0 {
		t.Fatalf("no module sources: %v", err)
	}
	var files []*ast.File
	for _, f := range names {
		if strings.HasSuffix(f, "dagger.gen.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, file)
	}
	return fset, files
}

// exported are the module's exported functions (New and the exported methods) in ci/, parsed
// with their comments.
func exported(t *testing.T) (*token.FileSet, []*ast.FuncDecl) {
	t.Helper()
	fset, files := sources(t)
	var fns []*ast.FuncDecl
	for _, file := range files {
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if ok && unicode.IsUpper(rune(fn.Name.Name[0])) && (fn.Recv != nil || fn.Name.Name == "New") {
				fns = append(fns, fn)
			}
		}
	}
	return fset, fns
}

func TestNoFunctionTakesMoreThan12Arguments(t *testing.T) {
	fset, fns := exported(t)
	seen := 0
	for _, fn := range fns {
		seen++
		n := 0
		for _, p := range fn.Type.Params.List {
			if sel, ok := p.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Context" {
				continue
			}
			for _, name := range p.Names {
				n++
				lower := strings.ToLower(name.Name)
				if strings.Contains(lower, "override") && !strings.Contains(lower, "tagtype") || strings.Contains(lower, "testonly") {
					t.Errorf("%s: argument %s looks like a test hook; tests must wire fakes without the public API", fset.Position(fn.Pos()), name.Name)
				}
			}
			if len(p.Names) == 0 {
				n++
			}
		}
		if n > maxArgs {
			t.Errorf("%s: %s takes %d arguments (at most %d): hold configuration in the constructor or a with-… function", fset.Position(fn.Pos()), fn.Name.Name, n, maxArgs)
		}
		if fn.Doc != nil && strings.Contains(fn.Doc.Text(), "TEST-ONLY") {
			t.Errorf("%s: %s is documented as test-only", fset.Position(fn.Pos()), fn.Name.Name)
		}
	}
	if seen < 10 {
		t.Fatalf("found only %d module functions: did the layout change?", seen)
	}
}

// cachedFunctions may be served from the engine's function cache: they only record settings (or
// return what was built from them), so the same arguments give the same result. Every other
// function of the module does work or asks the outside world (registries, GitLab, EC2, the base
// images' tags) and must say +cache="never".
func cachedFunction(recv, name string) bool {
	switch {
	case recv == "" && name == "New":
		return true
	case recv == "Shipyard" && (strings.HasPrefix(name, "With") || name == "ArmBuilder"):
		return true
	case recv == "Images" && name == "Container":
		return true
	}
	return false
}

func TestFunctionCachePolicy(t *testing.T) {
	fset, fns := exported(t)
	never, cached := 0, 0
	for _, fn := range fns {
		recv := ""
		if fn.Recv != nil {
			star, ok := fn.Recv.List[0].Type.(*ast.StarExpr)
			if !ok {
				continue // a value receiver: not a module function
			}
			// the module's objects are its exported types (an unexported error type's Error is not)
			if recv = star.X.(*ast.Ident).Name; !unicode.IsUpper(rune(recv[0])) {
				continue
			}
		}
		doc := ""
		if fn.Doc != nil {
			for _, c := range fn.Doc.List {
				doc += c.Text + "\n"
			}
		}
		isNever := strings.Contains(doc, `// +cache="never"`)
		switch want := !cachedFunction(recv, fn.Name.Name); {
		case want && !isNever:
			t.Errorf(`%s: %s.%s does work or asks the outside world: mark it // +cache="never"`, fset.Position(fn.Pos()), recv, fn.Name.Name)
		case !want && isNever:
			t.Errorf(`%s: %s.%s only records settings: let the engine cache it`, fset.Position(fn.Pos()), recv, fn.Name.Name)
		case want:
			never++
		default:
			cached++
		}
	}
	if never < 10 || cached < 8 {
		t.Fatalf("found %d uncached and %d cached functions: did the layout change?", never, cached)
	}
}
