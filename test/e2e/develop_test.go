//go:build full

package e2e

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The committed generated bindings are what `dagger develop` produces: go build works without an
// engine, and nobody's change to the module's API is left ungenerated. Dagger's codegen emits
// some declarations in map order, so Go files are compared as sets of top-level declarations.
func TestGeneratedBindingsAreCurrent(t *testing.T) {
	dir := copyRepo(t)
	// a file the module ignores, so the engine regenerates instead of answering from its cache
	if err := os.WriteFile(filepath.Join(dir, "ci", ".develop-nonce"), []byte(time.Now().String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r := daggerIn(t, dir, 15*time.Minute, "develop")
	if r.Err != nil {
		t.Fatalf("dagger develop: %v\n%s", r.Err, tail(r.Stderr, 40))
	}
	committed := treeOf(t, filepath.Join(repoRoot, "ci"))
	generated := treeOf(t, filepath.Join(dir, "ci"))
	delete(generated, ".develop-nonce")
	if d := cmp.Diff(committed, generated); d != "" {
		t.Errorf("dagger develop changed the committed bindings (run dagger develop and commit) (-committed +generated):\n%s", d)
	}
	if _, ok := generated["dagger.gen.go"]; !ok {
		t.Errorf("no ci/dagger.gen.go after dagger develop")
	}
}

// treeOf maps each file under dir to its content; Go files to their sorted top-level declarations.
func treeOf(t *testing.T, dir string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if rel == ".env" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !strings.HasSuffix(path, ".go") {
			out[rel] = []string{string(b)}
			return nil
		}
		out[rel] = goDecls(t, path, b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func goDecls(t *testing.T, path string, src []byte) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	if err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	decls := []string{"package " + f.Name.Name}
	for _, d := range f.Decls {
		var b bytes.Buffer
		if err := printer.Fprint(&b, fset, []ast.Decl{d}[0]); err != nil {
			t.Fatal(err)
		}
		decls = append(decls, b.String())
	}
	sort.Strings(decls)
	return decls
}
