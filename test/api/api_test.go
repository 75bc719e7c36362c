// Package api checks the module's public surface (the functions `dagger functions` lists) from
// its source, without an engine: no function has more than 12 arguments and none is a test hook.
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

func TestNoFunctionTakesMoreThan12Arguments(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("../../ci/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no module sources: %v", err)
	}
	seen := 0
	for _, f := range files {
		if strings.HasSuffix(f, "dagger.gen.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || !unicode.IsUpper(rune(fn.Name.Name[0])) {
				continue
			}
			if fn.Recv == nil && fn.Name.Name != "New" {
				continue
			}
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
	}
	if seen < 10 {
		t.Fatalf("found only %d module functions: did the layout change?", seen)
	}
}
