package bake

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sentinels are the package's sentinel errors: every error it returns wraps exactly one.
var sentinels = []error{ErrSyntax, ErrInvalid, ErrUnsupported, ErrUnknownVariable, ErrUnknownTarget,
	ErrNoDefault, ErrCycle, ErrBadPlatform, ErrValidation, ErrDuplicate}

// bakeSeeds are the bake files in the repository: the reference app's and the example's, this
// package's test files and test/bakediff's corpus (HCL and JSON), each with whether it is JSON.
func bakeSeeds(f *testing.F) map[string]bool {
	var paths []string
	for _, pattern := range []string{"../../docker-bake-production.hcl", "../../examples/goapp/docker-bake.hcl",
		"testdata/*.hcl", "../../test/bakediff/testdata/*/*.hcl", "../../test/bakediff/testdata/*/*.json"} {
		m, err := filepath.Glob(pattern)
		if err != nil || len(m) == 0 {
			f.Fatalf("no seed matches %s (%v)", pattern, err)
		}
		paths = append(paths, m...)
	}
	seeds := map[string]bool{}
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		seeds[string(src)] = strings.HasSuffix(p, ".json")
	}
	return seeds
}

// FuzzParse: Parse never panics, an error wraps exactly one sentinel error, and a file it accepts
// resolves: every target and group, to targets under their own names whose platforms parse back
// to themselves.
func FuzzParse(f *testing.F) {
	for src, isJSON := range bakeSeeds(f) {
		f.Add([]byte(src), isJSON)
	}
	f.Fuzz(func(t *testing.T, src []byte, isJSON bool) {
		name := "docker-bake.hcl"
		if isJSON {
			name = "docker-bake.json"
		}
		file, err := Parse(name, src, Options{})
		if err != nil {
			var n int
			for _, s := range sentinels {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("Parse(%s, %q) = %v, which wraps %d sentinel errors, want 1", name, src, err, n)
			}
			return
		}
		for _, names := range [][]string{sortedKeys(file.Targets), sortedKeys(file.Groups)} {
			for _, n := range names {
				targets, err := file.Resolve(n)
				if err != nil {
					t.Fatalf("Parse(%s, %q) succeeded, but Resolve(%q): %v", name, src, n, err)
				}
				for _, tg := range targets {
					if file.Targets[tg.Name] == nil {
						t.Fatalf("Resolve(%q) gave target %q, which the file does not list", n, tg.Name)
					}
					for _, p := range tg.Platforms {
						if p.IsLocal() {
							continue
						}
						if again, err := ParsePlatform(p.String()); err != nil || again != p {
							t.Fatalf("target %q: platform %+v is written %q, which parses to %+v, %v", tg.Name, p, p.String(), again, err)
						}
					}
				}
			}
		}
	})
}
