// Package bakediff evaluates a corpus of bake files with buildx's own bake package and with
// shipyard's internal/bake, and fails when the two disagree on any target field, group or
// variable, or when one errors and the other does not.
//
// Each directory under testdata/ is one case: its *.hcl and *.json files are the bake files, in
// the order "files:" gives (default: sorted, docker-bake.override.* last), and an optional
// case.txt holds lines:
//
//	files: a.hcl b.json     the files, in order
//	var: NAME=VALUE         a variable override (buildx: its vars map; ours: Options.Vars)
//	set: TARGET.KEY=VALUE   a --set override (both)
//	setvar: NAME=VALUE      ours: --set NAME=VALUE (a variable override); buildx: its vars map
//	error: both             both must fail
//	error: ours             only ours fails: we are deliberately stricter (the reason follows)
package bakediff

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	buildx "github.com/docker/buildx/bake"
	"github.com/google/go-cmp/cmp"

	"shipyard/internal/bake"
)

func TestMain(m *testing.M) {
	// buildx reads variables from the process environment; the corpus passes them explicitly.
	os.Setenv("BUILDX_BAKE_DISABLE_VARS_ENV_LOOKUP", "1")
	os.Exit(m.Run())
}

// testCase is one directory of testdata.
type testCase struct {
	dir     string
	files   []string
	vars    map[string]string
	set     []string
	setVars []string // NAME=VALUE through ours' Options.Set (buildx: its vars map)
	err     string   // "", "both" or "ours"
}

func loadCase(t *testing.T, dir string) testCase {
	t.Helper()
	c := testCase{dir: dir, vars: map[string]string{}}
	if b, err := os.ReadFile(filepath.Join(dir, "case.txt")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			key, val, ok := strings.Cut(line, ":")
			if !ok || strings.HasPrefix(line, "#") {
				continue
			}
			val = strings.TrimSpace(val)
			switch key {
			case "files":
				c.files = strings.Fields(val)
			case "var":
				k, v, _ := strings.Cut(val, "=")
				c.vars[k] = v
			case "set":
				c.set = append(c.set, val)
			case "setvar":
				k, v, _ := strings.Cut(val, "=")
				c.setVars = append(c.setVars, val)
				c.vars[k] = v
			case "error":
				c.err = strings.Fields(val)[0]
			}
		}
	}
	if c.files == nil {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var main, override []string
		for _, e := range entries {
			n := e.Name()
			if filepath.Ext(n) != ".hcl" && filepath.Ext(n) != ".json" {
				continue
			}
			if strings.Contains(n, ".override.") {
				override = append(override, n)
			} else {
				main = append(main, n)
			}
		}
		c.files = append(main, override...)
	}
	return c
}

// target is the comparable form of a target from either evaluator.
type target struct {
	Name, Description, Context, Dockerfile, Target string
	DockerfileInline                               string
	Args, Labels, Contexts, ExtraHosts             map[string]string
	Tags, Platforms, Annotations, NoCacheFilter    []string
	Ulimits, Entitlements                          []string
	Secrets, SSH, CacheFrom, CacheTo, Outputs      []string // canonical key=value renderings
	Attest                                         []string
	NoCache, Pull                                  bool
	Call, Network, ShmSize                         string
}

func nilMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

func nilList[T any](l []T) []T {
	if len(l) == 0 {
		return nil
	}
	return l
}

func derefMap(m map[string]*string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if v != nil {
			out[k] = *v
		}
	}
	return nilMap(out)
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// render writes a type and sorted attributes as one canonical string.
func render(parts []string, attrs map[string]string) string {
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		parts = append(parts, k+"="+attrs[k])
	}
	return strings.Join(parts, ",")
}

// sorted sorts a rendering list: buildx's de-duplication of cache and output entries reorders them.
func sorted(l []string) []string {
	l = nilList(l)
	sort.Strings(l)
	return l
}

// platforms normalises platform strings with our parser, keeping order and dropping repeats;
// an entry holding commas is split, as buildx splits it when it builds (platformutil.Parse).
func platforms(raw []string) []bake.Platform {
	var out []bake.Platform
	for _, entry := range raw {
		for _, s := range strings.Split(entry, ",") {
			p, err := bake.ParsePlatform(s)
			if err != nil {
				p = bake.Platform{OS: "INVALID:" + s}
			}
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// cmdPath resolves a "cwd://" path as buildx does when it builds (toBuildOpt).
func cmdPath(s string) string {
	if rest, ok := strings.CutPrefix(s, "cwd://"); ok {
		return path.Clean(rest)
	}
	return s
}

// builtins are the values buildx's bake command gives its built-in variables on a local
// invocation on linux/amd64 (commands/bake.go), which ours gets from its defaults.
var builtins = map[string]string{"BAKE_CMD_CONTEXT": "cwd://", "BAKE_LOCAL_PLATFORM": "linux/amd64"}

// fromBuildx converts a target resolved by buildx into ours, to be compared through fromOurs.
func fromBuildx(name string, t *buildx.Target) target {
	ctx := cmdPath(str(t.Context))
	if ctx == "" {
		ctx = "." // ours reads an empty context as the default "."
	}
	contexts := map[string]string{}
	for k, v := range t.Contexts {
		contexts[k] = cmdPath(v)
	}
	out := &bake.Target{
		Name: name, Description: t.Description, Context: ctx, Dockerfile: str(t.Dockerfile), Target: str(t.Target),
		DockerfileInline: str(t.DockerfileInline),
		Args:             derefMap(t.Args), Labels: derefMap(t.Labels), Contexts: nilMap(contexts), ExtraHosts: derefMap(t.ExtraHosts),
		Tags: nilList(t.Tags), Platforms: platforms(t.Platforms), Annotations: nilList(t.Annotations),
		NoCacheFilter: nilList(t.NoCacheFilter), Ulimits: nilList(t.Ulimits), Entitlements: nilList(t.Entitlements),
		NoCache: t.NoCache != nil && *t.NoCache, Pull: t.Pull != nil && *t.Pull,
		Call: str(t.Call), Network: str(t.NetworkMode), ShmSize: str(t.ShmSize),
	}
	for _, s := range t.Secrets {
		out.Secrets = append(out.Secrets, bake.Secret{ID: s.ID, Src: s.FilePath, Env: s.Env})
	}
	for _, s := range t.SSH {
		out.SSH = append(out.SSH, bake.SSH{ID: s.ID, Paths: s.Paths})
	}
	for _, c := range t.CacheFrom {
		out.CacheFrom = append(out.CacheFrom, bake.CacheEntry{Type: c.Type, Attrs: c.Attrs})
	}
	for _, c := range t.CacheTo {
		out.CacheTo = append(out.CacheTo, bake.CacheEntry{Type: c.Type, Attrs: c.Attrs})
	}
	for _, o := range t.Outputs {
		out.Outputs = append(out.Outputs, bake.Output{Type: o.Type, Dest: o.Destination, Attrs: o.Attrs})
	}
	for _, a := range t.Attest {
		out.Attest = append(out.Attest, bake.Attest{Type: a.Type, Disabled: a.Disabled, Attrs: a.Attrs})
	}
	return fromOurs(out)
}

func fromOurs(t *bake.Target) target {
	out := target{
		Name: t.Name, Description: t.Description, Context: t.Context, Dockerfile: t.Dockerfile, Target: t.Target,
		DockerfileInline: t.DockerfileInline, Args: nilMap(t.Args), Labels: nilMap(t.Labels), Contexts: nilMap(t.Contexts), ExtraHosts: nilMap(t.ExtraHosts),
		Tags: nilList(t.Tags), Annotations: t.Annotations, NoCacheFilter: t.NoCacheFilter, Ulimits: t.Ulimits,
		Entitlements: t.Entitlements, NoCache: t.NoCache, Pull: t.Pull, Call: t.Call, Network: t.Network, ShmSize: t.ShmSize,
	}
	for _, p := range t.Platforms {
		out.Platforms = append(out.Platforms, p.String())
	}
	for _, s := range t.Secrets {
		out.Secrets = append(out.Secrets, render([]string{"id=" + s.ID, "src=" + s.Src, "env=" + s.Env}, nil))
	}
	for _, s := range t.SSH {
		out.SSH = append(out.SSH, render([]string{"id=" + s.ID, "paths=" + strings.Join(s.Paths, ":")}, nil))
	}
	for _, c := range t.CacheFrom {
		out.CacheFrom = append(out.CacheFrom, render([]string{"type=" + c.Type}, c.Attrs))
	}
	for _, c := range t.CacheTo {
		out.CacheTo = append(out.CacheTo, render([]string{"type=" + c.Type}, c.Attrs))
	}
	for _, o := range t.Outputs {
		out.Outputs = append(out.Outputs, render([]string{"type=" + o.Type, "dest=" + o.Dest}, o.Attrs))
	}
	for _, a := range t.Attest {
		out.Attest = append(out.Attest, render([]string{"type=" + a.Type, fmt.Sprint("disabled=", a.Disabled)}, a.Attrs))
	}
	out.CacheFrom, out.CacheTo, out.Outputs = sorted(out.CacheFrom), sorted(out.CacheTo), sorted(out.Outputs)
	return out
}

// result is what one evaluator made of a case.
type result struct {
	targets map[string]target
	groups  map[string][]string
	vars    map[string]string
	err     error
}

func runBuildx(c testCase, files []buildx.File) result {
	cfg, meta, err := buildx.ParseFiles(files, builtins, c.vars)
	if err != nil {
		return result{err: err}
	}
	var names []string
	for _, t := range cfg.Targets {
		names = append(names, t.Name)
	}
	ts, gs, err := buildx.ReadTargets(context.Background(), files, names, slices.Clone(c.set), builtins, c.vars, &buildx.EntitlementConf{})
	if err != nil {
		return result{err: err}
	}
	r := result{targets: map[string]target{}, groups: map[string][]string{}, vars: map[string]string{}}
	for name, t := range ts {
		r.targets[name] = fromBuildx(name, t) // ReadTargets leaves Name empty on resolved targets
	}
	for _, g := range cfg.Groups {
		r.groups[g.Name] = slices.Sorted(slices.Values(g.Targets))
	}
	_ = gs
	for _, v := range meta.AllVariables {
		r.vars[v.Name] = str(v.Value)
	}
	return r
}

func runOurs(c testCase, files []bake.SourceFile) result {
	vars := maps.Clone(c.vars)
	for _, sv := range c.setVars {
		k, _, _ := strings.Cut(sv, "=")
		delete(vars, k)
	}
	opts := bake.Options{Vars: vars, Set: append(slices.Clone(c.set), c.setVars...)}
	f, err := bake.ParseFiles(files, opts)
	if err != nil {
		return result{err: err}
	}
	r := result{targets: map[string]target{}, groups: map[string][]string{}, vars: f.Variables}
	for name, t := range f.Targets {
		r.targets[name] = fromOurs(t)
	}
	for name, g := range f.Groups {
		r.groups[name] = slices.Sorted(slices.Values(g))
	}
	return r
}

func TestCorpus(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 30 {
		t.Fatalf("the corpus has %d cases, want at least 30", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			c := loadCase(t, dir)
			var bx []buildx.File
			var ours []bake.SourceFile
			for _, n := range c.files {
				b, err := os.ReadFile(filepath.Join(dir, n))
				if err != nil {
					t.Fatal(err)
				}
				bx = append(bx, buildx.File{Name: n, Data: b})
				ours = append(ours, bake.SourceFile{Name: n, Data: b})
			}
			want, got := runBuildx(c, bx), runOurs(c, ours)
			switch c.err {
			case "both":
				if want.err == nil || got.err == nil {
					t.Fatalf("want both to fail:\n buildx: %v\n ours:   %v", want.err, got.err)
				}
				t.Logf("buildx: %v\nours:   %v", want.err, got.err)
				return
			case "ours":
				if want.err != nil || got.err == nil {
					t.Fatalf("want only ours to fail:\n buildx: %v\n ours:   %v", want.err, got.err)
				}
				t.Logf("ours (stricter): %v", got.err)
				return
			}
			if want.err != nil || got.err != nil {
				t.Fatalf("want both to succeed:\n buildx: %v\n ours:   %v", want.err, got.err)
			}
			if diff := cmp.Diff(want.targets, got.targets); diff != "" {
				t.Errorf("targets (-buildx +ours):\n%s", diff)
			}
			for name, g := range want.groups {
				if diff := cmp.Diff(g, got.groups[name]); diff != "" {
					t.Errorf("group %q (-buildx +ours):\n%s", name, diff)
				}
			}
			for name := range got.groups {
				if _, ok := want.groups[name]; !ok {
					t.Errorf("group %q: only ours has it", name)
				}
			}
			for name := range got.vars {
				if _, ok := want.vars[name]; !ok {
					delete(got.vars, name) // buildx lists variable blocks only, ours top-level attributes too
				}
			}
			if diff := cmp.Diff(want.vars, got.vars); diff != "" {
				t.Errorf("variables (-buildx +ours):\n%s", diff)
			}
		})
	}
}
