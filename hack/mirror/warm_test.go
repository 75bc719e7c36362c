package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The caches are filled for the repository's module: its standard-library and SDK packages, never
// its own, and the modules tidy reads, tool and test imports of its dependencies included.
func TestWarmInputs(t *testing.T) {
	m := &mirror{root: filepath.Join("..", "..")}
	w, err := m.warmInputs()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"fmt", "net/http", "google.golang.org/grpc", "go.opentelemetry.io/otel/sdk/trace", "github.com/hashicorp/hcl/v2"} {
		if !slices.Contains(w.packages, want) {
			t.Errorf("packages lack %s", want)
		}
	}
	for _, p := range w.packages {
		if p == "shipyard/ci" || strings.HasPrefix(p, "shipyard/") || p == "unsafe" {
			t.Errorf("packages hold %s", p)
		}
	}
	has := func(prefix string) bool {
		return slices.ContainsFunc(w.modules, func(m string) bool { return strings.HasPrefix(m, prefix) })
	}
	// hcl's tools file imports x/tools' stringer; shipyard's tests import the AWS SDK
	for _, want := range []string{"golang.org/x/tools@", "github.com/aws/aws-sdk-go-v2/service/ec2@", "google.golang.org/grpc@"} {
		if !has(want) {
			t.Errorf("modules lack %s", want)
		}
	}
	// a module of the graph that provides no package of it is not downloaded (cel.dev/expr is
	// in the graph through grpc's go.mod only)
	if has("cel.dev/expr@") {
		t.Error("modules hold cel.dev/expr, which no package imports")
	}
	for _, m := range w.modules {
		if !strings.Contains(m, "@v") {
			t.Errorf("module without a version: %s", m)
		}
	}
	if !slices.IsSorted(w.packages) || !slices.IsSorted(w.modules) {
		t.Error("lists are not sorted: the recipe hash would depend on go list's order")
	}
}
