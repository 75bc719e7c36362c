package bake

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const productionFile = "testdata/docker-bake-production.hcl"

// twoArch is the platform list _common gives its children.
var twoArch = []Platform{{OS: "linux", Arch: "amd64"}, {OS: "linux", Arch: "arm64"}}

// parseFile parses a file from testdata, failing the test on error.
func parseFile(t *testing.T, path string, opts Options) *File {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(path, src, opts)
	if err != nil {
		t.Fatalf("Parse(%s): %v", path, err)
	}
	return f
}

// envFrom returns a LookupEnv function backed by a map.
func envFrom(env map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

// productionTargets is what the production test file evaluates to with no overrides.
func productionTargets() map[string]*Target {
	commonLabels := func(extra map[string]string) map[string]string {
		m := map[string]string{
			"org.opencontainers.image.vendor":  "shipyard",
			"org.opencontainers.image.version": "dev",
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	return map[string]*Target{
		"_common": {
			Name: "_common", Context: ".", Dockerfile: "Dockerfile",
			Platforms: twoArch, Labels: commonLabels(nil),
		},
		"postgres": {
			Name: "postgres", Context: "docker/postgres", Dockerfile: "Dockerfile",
			Tags:      []string{"127.0.0.1:5000/shipyard/postgres:dev"},
			Platforms: twoArch,
			Labels:    commonLabels(map[string]string{"org.opencontainers.image.title": "postgres"}),
		},
		"traefik": {
			Name: "traefik", Context: "docker/traefik", Dockerfile: "Dockerfile",
			Tags:      []string{"127.0.0.1:5000/shipyard/traefik:dev"},
			Platforms: twoArch, Labels: commonLabels(nil),
		},
		"watchtower": {
			Name: "watchtower", Context: "docker/watchtower", Dockerfile: "Dockerfile",
			Tags: []string{"127.0.0.1:5000/shipyard/watchtower:dev"},
			Platforms: []Platform{
				{OS: "linux", Arch: "amd64"}, {OS: "linux", Arch: "arm64"}, {OS: "linux", Arch: "arm", Variant: "v7"},
			},
			Labels: commonLabels(nil),
		},
		"frontend": {
			Name: "frontend", Context: "frontend", Dockerfile: "docker/Dockerfile", Target: "build",
			Args: map[string]string{"NODE_ENV": "production"},
		},
		"django": {
			Name: "django", Context: "backend", Dockerfile: "docker/django/Dockerfile", Target: "production",
			Args: map[string]string{"PYTHON_VERSION": "3.12", "BUILD_TAG": "DEV", "WORKERS": "4", "DEBUG": "1"},
			Tags: []string{"127.0.0.1:5000/shipyard/django:dev"}, Platforms: twoArch,
			Labels: commonLabels(map[string]string{
				"org.opencontainers.image.title":   "django",
				"org.opencontainers.image.version": "vdev",
			}),
			Contexts: map[string]string{
				"frontend": "target:frontend",
				"python":   "docker-image://127.0.0.1:5000/mirror/python:3.12-slim",
			},
		},
	}
}

func TestParseProductionFile(t *testing.T) {
	f := parseFile(t, productionFile, Options{})
	if diff := cmp.Diff(productionTargets(), f.Targets); diff != "" {
		t.Errorf("Targets (-want +got):\n%s", diff)
	}
	wantGroups := map[string][]string{
		"default": {"postgres", "traefik", "watchtower", "django"},
		"proxy":   {"traefik", "watchtower"},
		"all":     {"default", "proxy", "frontend"},
	}
	if diff := cmp.Diff(wantGroups, f.Groups); diff != "" {
		t.Errorf("Groups (-want +got):\n%s", diff)
	}
	wantVars := map[string]string{
		"REGISTRY": "127.0.0.1:5000", "IMAGE_PREFIX": "shipyard", "TAG": "dev", "PYTHON_VERSION": "3.12",
		"PUSH_LATEST": "false", "IMAGE_BASE": "127.0.0.1:5000/shipyard",
	}
	if diff := cmp.Diff(wantVars, f.Variables); diff != "" {
		t.Errorf("Variables (-want +got):\n%s", diff)
	}
}

func TestVariableOverridePriority(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		// wantVars holds the variables to check; wantDjangoTags the resulting django tags.
		wantVars       map[string]string
		wantDjangoTags []string
	}{
		{
			name:           "defaults",
			opts:           Options{},
			wantVars:       map[string]string{"TAG": "dev", "REGISTRY": "127.0.0.1:5000", "PUSH_LATEST": "false"},
			wantDjangoTags: []string{"127.0.0.1:5000/shipyard/django:dev"},
		},
		{
			name:           "environment beats default",
			opts:           Options{LookupEnv: envFrom(map[string]string{"TAG": "1.4.0", "UNRELATED": "x"})},
			wantVars:       map[string]string{"TAG": "1.4.0", "REGISTRY": "127.0.0.1:5000", "PUSH_LATEST": "false"},
			wantDjangoTags: []string{"127.0.0.1:5000/shipyard/django:1.4.0"},
		},
		{
			name: "explicit vars beat environment",
			opts: Options{
				Vars:      map[string]string{"TAG": "2.0.0"},
				LookupEnv: envFrom(map[string]string{"TAG": "1.4.0", "REGISTRY": "127.0.0.1:6000"}),
			},
			wantVars:       map[string]string{"TAG": "2.0.0", "REGISTRY": "127.0.0.1:6000", "PUSH_LATEST": "false"},
			wantDjangoTags: []string{"127.0.0.1:6000/shipyard/django:2.0.0"},
		},
		{
			name:           "empty environment value counts as set",
			opts:           Options{LookupEnv: envFrom(map[string]string{"IMAGE_PREFIX": ""})},
			wantVars:       map[string]string{"TAG": "dev", "REGISTRY": "127.0.0.1:5000", "PUSH_LATEST": "false"},
			wantDjangoTags: []string{"127.0.0.1:5000//django:dev"},
		},
		{
			name:     "bool default converts the override and drives conditionals",
			opts:     Options{Vars: map[string]string{"PUSH_LATEST": "true", "TAG": "3.1.0"}},
			wantVars: map[string]string{"TAG": "3.1.0", "REGISTRY": "127.0.0.1:5000", "PUSH_LATEST": "true"},
			wantDjangoTags: []string{
				"127.0.0.1:5000/shipyard/django:3.1.0",
				"127.0.0.1:5000/shipyard/django:latest",
			},
		},
		{
			name: "derived variable default can itself be overridden",
			opts: Options{
				Vars:      map[string]string{"IMAGE_BASE": "127.0.0.1:7000/other"},
				LookupEnv: envFrom(map[string]string{"REGISTRY": "127.0.0.1:6000"}),
			},
			wantVars:       map[string]string{"TAG": "dev", "REGISTRY": "127.0.0.1:6000", "PUSH_LATEST": "false"},
			wantDjangoTags: []string{"127.0.0.1:7000/other/django:dev"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := parseFile(t, productionFile, tt.opts)
			gotVars := map[string]string{}
			for k := range tt.wantVars {
				gotVars[k] = f.Variables[k]
			}
			if diff := cmp.Diff(tt.wantVars, gotVars); diff != "" {
				t.Errorf("Variables (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantDjangoTags, f.Targets["django"].Tags); diff != "" {
				t.Errorf("django tags (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOverrideErrors(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr error
		wantMsg []string
	}{
		{
			name:    "explicit override of undeclared variable",
			opts:    Options{Vars: map[string]string{"TAGG": "1"}},
			wantErr: ErrUnknownVariable,
			wantMsg: []string{`"TAGG"`, "declared: IMAGE_BASE, IMAGE_PREFIX, PUSH_LATEST, PYTHON_VERSION, REGISTRY, TAG"},
		},
		{
			name:    "environment value not a bool",
			opts:    Options{LookupEnv: envFrom(map[string]string{"PUSH_LATEST": "yes please"})},
			wantErr: ErrInvalid,
			wantMsg: []string{`environment variable "PUSH_LATEST"`, `"yes please" is not a boolean`, "use true or false"},
		},
	}
	src, err := os.ReadFile(productionFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(productionFile, src, tt.opts)
			checkErr(t, err, tt.wantErr, tt.wantMsg)
		})
	}
}

// checkErr asserts that err wraps want and mentions every fragment.
func checkErr(t *testing.T, err, want error, fragments []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", want)
	}
	if !errors.Is(err, want) {
		t.Errorf("error %q does not wrap %v", err, want)
	}
	for _, frag := range fragments {
		if !strings.Contains(err.Error(), frag) {
			t.Errorf("error %q does not mention %q", err, frag)
		}
	}
}

func TestParseFeatures(t *testing.T) {
	tests := []struct {
		name string
		src  string
		opts Options
		want map[string]*Target
	}{
		{
			name: "multiple parents merge in order and the child wins",
			src: `
target "a" {
  context = "ctx-a"
  dockerfile = "a.Dockerfile"
  args = { X = "a", Y = "a" }
  tags = ["a:1"]
  platforms = ["linux/amd64"]
}
target "b" {
  context = "ctx-b"
  args = { Y = "b", Z = "b" }
  labels = { L = "b" }
}
target "c" {
  inherits = ["a", "b"]
  args = { Z = "c" }
  target = "final"
}
`,
			want: map[string]*Target{
				"a": {Name: "a", Context: "ctx-a", Dockerfile: "a.Dockerfile", Args: map[string]string{"X": "a", "Y": "a"},
					Tags: []string{"a:1"}, Platforms: []Platform{{OS: "linux", Arch: "amd64"}}},
				"b": {Name: "b", Context: "ctx-b", Dockerfile: "Dockerfile", Args: map[string]string{"Y": "b", "Z": "b"},
					Labels: map[string]string{"L": "b"}},
				"c": {Name: "c", Context: "ctx-b", Dockerfile: "a.Dockerfile", Target: "final",
					Args:   map[string]string{"X": "a", "Y": "b", "Z": "c"},
					Labels: map[string]string{"L": "b"}, Tags: []string{"a:1"}, Platforms: []Platform{{OS: "linux", Arch: "amd64"}}},
			},
		},
		{
			name: "inheritance is transitive and a child list replaces the parent's, even when empty",
			src: `
target "base" {
  tags = ["base:1"]
  platforms = ["linux/amd64", "linux/arm64"]
  target = "stage"
}
target "mid" {
  inherits = ["base"]
  tags = []
}
target "leaf" {
  inherits = ["mid"]
  platforms = ["linux/arm/v6"]
  target = ""
}
`,
			want: map[string]*Target{
				"base": {Name: "base", Context: ".", Dockerfile: "Dockerfile", Target: "stage", Tags: []string{"base:1"}, Platforms: twoArch},
				"mid":  {Name: "mid", Context: ".", Dockerfile: "Dockerfile", Target: "stage", Platforms: twoArch},
				"leaf": {Name: "leaf", Context: ".", Dockerfile: "Dockerfile",
					Platforms: []Platform{{OS: "linux", Arch: "arm", Variant: "v6"}}},
			},
		},
		{
			name: "functions, numbers, bools and null map values",
			src: `
variable "NAME" { default = "My-App" }
variable "N" { default = 2 }
target "t" {
  description = "built ${N} times"
  args = {
    LOWER  = lower(NAME)
    PARTS  = join(",", split("-", NAME))
    TRIM   = trimprefix(NAME, "My-")
    REPL   = replace(NAME, "-", "_")
    SUM    = N + 1
    FLAG   = equal(N, 2)
    OTHER  = notequal(NAME, "x") && N == 2
    FMT    = format("%s:%d", NAME, N)
    UNSET  = null
  }
}
`,
			want: map[string]*Target{
				"t": {Name: "t", Description: "built 2 times", Context: ".", Dockerfile: "Dockerfile", Args: map[string]string{
					"LOWER": "my-app", "PARTS": "My,App", "TRIM": "App", "REPL": "My_App", "SUM": "3",
					"FLAG": "true", "OTHER": "true", "FMT": "My-App:2",
				}},
			},
		},
		{
			name: "number variable overridden from the environment",
			src: `
variable "N" { default = 2 }
variable "EMPTY" {}
target "t" { args = { N = N * 10, E = "[${EMPTY}]" } }
`,
			opts: Options{LookupEnv: envFrom(map[string]string{"N": "5"})},
			want: map[string]*Target{
				"t": {Name: "t", Context: ".", Dockerfile: "Dockerfile", Args: map[string]string{"N": "50", "E": "[]"}},
			},
		},
		{
			name: "null means not written, so the parent's value stays",
			src: `
variable "RELEASE" { default = false }
target "base" {
  context = "base-ctx"
  tags = ["base:1"]
  args = { A = "base" }
}
target "child" {
  inherits = ["base"]
  context = null
  tags = RELEASE ? ["child:1"] : null
  args = { A = null, B = "child" }
}
`,
			want: map[string]*Target{
				"base": {Name: "base", Context: "base-ctx", Dockerfile: "Dockerfile", Tags: []string{"base:1"},
					Args: map[string]string{"A": "base"}},
				"child": {Name: "child", Context: "base-ctx", Dockerfile: "Dockerfile", Tags: []string{"base:1"},
					Args: map[string]string{"A": "base", "B": "child"}},
			},
		},
		{
			name: "escaped interpolation stays literal",
			src: `
target "t" { args = { LITERAL = "$${NOT_A_VAR}" } }
`,
			want: map[string]*Target{
				"t": {Name: "t", Context: ".", Dockerfile: "Dockerfile", Args: map[string]string{"LITERAL": "${NOT_A_VAR}"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("test.hcl", []byte(tt.src), tt.opts)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, f.Targets); diff != "" {
				t.Errorf("Targets (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name     string
		filename string // default "bake.hcl"
		src      string
		wantErr  error
		wantMsg  []string
	}{
		{
			name:    "syntax error keeps file:line:column",
			src:     "target \"a\" {\n  tags = [\"x\"\n}\n",
			wantErr: ErrSyntax,
			wantMsg: []string{"bake.hcl:3:1: HCL syntax error: Missing item separator", "fix the HCL syntax"},
		},
		{
			name:    "unclosed block",
			src:     "target \"a\" {\n",
			wantErr: ErrSyntax,
			wantMsg: []string{"bake.hcl:1:12: HCL syntax error: Unclosed configuration block"},
		},
		{
			name:    "group and target share a name",
			src:     "group \"x\" { targets = [] }\ntarget \"x\" {}\n",
			wantErr: ErrDuplicate,
			wantMsg: []string{`bake.hcl:1:7:`, `"x" is both a group and a target`},
		},
		{
			name:    "unknown variable in interpolation",
			src:     "variable \"TAG\" {}\ntarget \"a\" {\n  tags = [\"app:${TAGG}\"]\n}\n",
			wantErr: ErrUnknownVariable,
			wantMsg: []string{`bake.hcl:3:18: unknown variable "TAGG" in attribute "tags" of target "a"`, "declared variables: TAG", `variable "TAGG"`},
		},
		{
			name:    "unknown variable in a variable default",
			src:     "variable \"A\" { default = \"${B}-x\" }\n",
			wantErr: ErrUnknownVariable,
			wantMsg: []string{`bake.hcl:1:29: unknown variable "B" in the default of variable "A"`},
		},
		{
			name:    "unknown built-in bake variable",
			src:     "target \"a\" { args = { P = BAKE_REMOTE_PLATFORM } }\n",
			wantErr: ErrUnknownVariable,
			wantMsg: []string{`"BAKE_REMOTE_PLATFORM"`, "built-in variables are BAKE_CMD_CONTEXT and BAKE_LOCAL_PLATFORM"},
		},
		{
			name:    "reference to a group",
			src:     "group \"g\" { targets = [\"a\"] }\ntarget \"a\" {}\ntarget \"b\" { tags = group.g.targets }\n",
			wantErr: ErrUnsupported,
			wantMsg: []string{`bake.hcl:3:21:`, "group.NAME.targets) are not supported"},
		},
		{
			name:    "reference cycle between target attributes",
			src:     "target \"a\" { tags = target.b.tags }\ntarget \"b\" { tags = target.a.tags }\n",
			wantErr: ErrCycle,
			wantMsg: []string{"cycle between target attributes: target.b.tags -> target.a.tags -> target.b.tags"},
		},
		{
			name:    "variable default cycle",
			src:     "variable \"A\" { default = B }\nvariable \"B\" { default = \"${A}\" }\n",
			wantErr: ErrCycle,
			wantMsg: []string{"A -> B -> A"},
		},
		{
			name:    "inherits cycle",
			src:     "target \"a\" { inherits = [\"b\"] }\ntarget \"b\" { inherits = [\"c\"] }\ntarget \"c\" { inherits = [\"a\"] }\n",
			wantErr: ErrCycle,
			wantMsg: []string{"bake.hcl:1:25:", "cycle in inherits: a -> b -> c -> a", "remove one of these inherits"},
		},
		{
			name:    "inherits itself",
			src:     "target \"a\" { inherits = [\"a\"] }\n",
			wantErr: ErrCycle,
			wantMsg: []string{"a -> a"},
		},
		{
			name:    "inherits unknown target",
			src:     "target \"a\" { inherits = [\"commmon\"] }\ntarget \"common\" {}\n",
			wantErr: ErrUnknownTarget,
			wantMsg: []string{"bake.hcl:1:25:", `inherits "commmon"`, "available targets: a, common"},
		},
		{
			name:    "target context names a missing target",
			src:     "target \"a\" {\n  contexts = { base = \"target:bsae\" }\n}\ntarget \"base\" {}\n",
			wantErr: ErrUnknownTarget,
			wantMsg: []string{"bake.hcl:2:14:", `context "base" of target "a" refers to target "bsae"`, "available targets: a, base"},
		},
		{
			name: "cycle through target contexts",
			src: `target "a" { contexts = { b = "target:b" } }
target "b" { contexts = { a = "target:a" } }
`,
			wantErr: ErrCycle,
			wantMsg: []string{"cycle in target: contexts: a -> b -> a", "cannot depend on itself"},
		},
		{
			name:    "cycle through an inherited target context",
			src:     "target \"_c\" { contexts = { x = \"target:a\" } }\ntarget \"a\" { inherits = [\"_c\"] }\n",
			wantErr: ErrCycle,
			wantMsg: []string{"a -> a"},
		},
		{
			name:    "group member missing",
			src:     "group \"default\" { targets = [\"a\", \"nope\"] }\ntarget \"a\" {}\n",
			wantErr: ErrUnknownTarget,
			wantMsg: []string{"bake.hcl:1:29:", `group "default" has member "nope"`, "available targets: a; groups: default"},
		},
		{
			name:    "group cycle",
			src:     "group \"x\" { targets = [\"y\"] }\ngroup \"y\" { targets = [\"x\"] }\n",
			wantErr: ErrCycle,
			wantMsg: []string{"cycle in groups: x -> y -> x"},
		},
		{
			name:    "bad platform names the target",
			src:     "target \"django\" {\n  platforms = [\"linux/amd64\", \"linux\"]\n}\n",
			wantErr: ErrBadPlatform,
			wantMsg: []string{`bake.hcl:2:15: target "django": bad platform "linux"`, "linux/arm/v7"},
		},
		{
			name:    "unknown target attribute",
			src:     "target \"a\" {\n  dockerfiel = \"x\"\n}\n",
			wantErr: ErrInvalid,
			wantMsg: []string{`bake.hcl:2:3:`, `unknown attribute "dockerfiel" in target "a"`, "supported attributes: annotations, args"},
		},
		{
			name:    "real bake attribute outside the subset",
			src:     "target \"a\" {\n  resources = { memory = \"1g\" }\n}\n",
			wantErr: ErrUnsupported,
			wantMsg: []string{`bake.hcl:2:3:`, `"resources"`, "resource limits are not supported"},
		},
		{
			name:    "name without matrix",
			src:     "target \"a\" {\n  name = \"a-1\"\n}\n",
			wantErr: ErrInvalid,
			wantMsg: []string{"bake.hcl:2:3:", "requires matrix"},
		},
		{
			name:    "matrix without name generates one name twice",
			src:     "target \"a\" {\n  matrix = { v = [\"1\", \"2\"] }\n}\n",
			wantErr: ErrDuplicate,
			wantMsg: []string{"bake.hcl:1:8:", `generates the name "a" twice`},
		},
		{
			name:    "function block without result",
			src:     "function \"inc\" {\n  params = [x]\n}\n",
			wantErr: ErrInvalid,
			wantMsg: []string{"bake.hcl:1:16:", `"result" is required`},
		},
		{
			name:    "function cycle",
			src:     "function \"f\" {\n  params = [x]\n  result = g(x)\n}\nfunction \"g\" {\n  params = [x]\n  result = f(x)\n}\n",
			wantErr: ErrCycle,
			wantMsg: []string{"function f -> function g -> function f"},
		},
		{
			name:    "unknown function",
			src:     "target \"a\" { tags = [nosuch()] }\n",
			wantErr: ErrInvalid,
			wantMsg: []string{"bake.hcl:1:22:", `function "nosuch"`, "does not exist", "md5"},
		},
		{
			name:    "variable validation block without error_message",
			src:     "variable \"A\" {\n  validation {\n    condition = true\n  }\n}\n",
			wantErr: ErrInvalid,
			wantMsg: []string{"bake.hcl:2:14:", "needs condition and error_message"},
		},
		{
			name:    "variable validation fails",
			src:     "variable \"A\" {\n  default = \"x\"\n  validation {\n    condition = A != \"x\"\n    error_message = \"A must not be x\"\n  }\n}\n",
			wantErr: ErrValidation,
			wantMsg: []string{"bake.hcl:4:17:", `variable "A" (value x): A must not be x`},
		},
		{
			name:    "typed variable default of the wrong type",
			src:     "variable \"A\" {\n  type = number\n  default = \"x\"\n}\n",
			wantErr: ErrInvalid,
			wantMsg: []string{"bake.hcl:3:13:", `the default of variable "A" is not a number`},
		},
		{
			name:    "unknown block type",
			src:     "service \"a\" {}\n",
			wantErr: ErrInvalid,
			wantMsg: []string{"bake.hcl:1:1:", `unknown block type "service"`},
		},
		{
			name:    "block without name",
			src:     "target {}\n",
			wantErr: ErrInvalid,
			wantMsg: []string{"bake.hcl:1:8:", "Missing name for target"},
		},
		{
			name:    "bad target name",
			src:     "target \"a b\" {}\n",
			wantErr: ErrInvalid,
			wantMsg: []string{"bake.hcl:1:8:", `target name "a b"`},
		},
		{
			name:    "tags of the wrong type",
			src:     "target \"a\" {\n  tags = \"app:1\"\n}\n",
			wantErr: ErrInvalid,
			wantMsg: []string{"bake.hcl:2:10:", `attribute "tags" of target "a" must be a list of strings`, "got string"},
		},
		{
			name:    "args of the wrong type",
			src:     "target \"a\" {\n  args = [\"A=1\"]\n}\n",
			wantErr: ErrInvalid,
			wantMsg: []string{"bake.hcl:2:10:", `attribute "args" of target "a" must be a map of strings`},
		},
		{
			name:    "evaluation error from HCL",
			src:     "variable \"N\" { default = 1 }\ntarget \"a\" { args = { X = N + \"abc\" } }\n",
			wantErr: ErrInvalid,
			wantMsg: []string{"bake.hcl:2:31: invalid bake file: Invalid operand", `fix the expression of attribute "args" of target "a"`},
		},
		{
			name:     "JSON bake file with a syntax error",
			filename: "docker-bake.json",
			src:      `{"target": {}`,
			wantErr:  ErrSyntax,
			wantMsg:  []string{"docker-bake.json:1:", "fix the JSON syntax"},
		},
		{
			name:     "compose file",
			filename: "compose.yaml",
			src:      "services: {}\n",
			wantErr:  ErrUnsupported,
			wantMsg:  []string{"compose.yaml", "compose files are not supported"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			filename := tt.filename
			if filename == "" {
				filename = "bake.hcl"
			}
			f, err := Parse(filename, []byte(tt.src), Options{})
			if err == nil {
				t.Fatalf("Parse succeeded with targets %v, want error %v", f.Targets, tt.wantErr)
			}
			checkErr(t, err, tt.wantErr, tt.wantMsg)
		})
	}
}

func TestVariableValues(t *testing.T) {
	const src = `
variable "S" { default = "text" }
variable "N" { default = 1.5 }
variable "B" { default = true }
variable "L" { default = ["a", "b"] }
variable "NONE" {}
`
	tests := []struct {
		name    string
		opts    Options
		want    map[string]string
		wantErr error
		wantMsg []string
	}{
		{
			name: "defaults rendered as strings, lists as JSON",
			want: map[string]string{"S": "text", "N": "1.5", "B": "true", "L": `["a","b"]`, "NONE": ""},
		},
		{
			name: "overrides converted to the default's type",
			opts: Options{Vars: map[string]string{"N": "42", "B": "0", "NONE": "set"}},
			want: map[string]string{"S": "text", "N": "42", "B": "false", "L": `["a","b"]`, "NONE": "set"},
		},
		{
			name:    "number override that is not a number",
			opts:    Options{LookupEnv: envFrom(map[string]string{"N": "many"})},
			wantErr: ErrInvalid,
			wantMsg: []string{`environment variable "N": invalid bake file: value "many" is not a number`},
		},
		{
			name:    "list variable cannot be overridden from a string",
			opts:    Options{Vars: map[string]string{"L": "a,b"}},
			wantErr: ErrUnsupported,
			wantMsg: []string{`explicit override of variable "L": unsupported bake feature: the default is a tuple`, "declare type = ... and pass JSON in L_JSON"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("vars.hcl", []byte(src), tt.opts)
			if tt.wantErr != nil {
				checkErr(t, err, tt.wantErr, tt.wantMsg)
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, f.Variables); diff != "" {
				t.Errorf("Variables (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultFile(t *testing.T) {
	tests := []struct {
		name    string
		present []string
		want    string
	}{
		{"the old pipeline's name first", []string{"docker-bake.hcl", "docker-bake-production.hcl"}, "docker-bake-production.hcl"},
		{"buildx's JSON before its HCL", []string{"docker-bake.hcl", "docker-bake.json"}, "docker-bake.json"},
		{"buildx's HCL", []string{"docker-bake.hcl", "docker-bake.override.hcl"}, "docker-bake.hcl"},
		{"an override file alone is no bake file", []string{"docker-bake.override.hcl", "compose.yaml"}, ""},
		{"nothing", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DefaultFile(func(name string) bool { return slices.Contains(tt.present, name) })
			if tt.want == "" {
				if !errors.Is(err, ErrNoBakeFile) || !strings.Contains(err.Error(), "--bake-file") {
					t.Fatalf("DefaultFile(%v) = %q, %v; want ErrNoBakeFile naming --bake-file", tt.present, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("DefaultFile(%v) = %q, %v; want %q", tt.present, got, err, tt.want)
			}
		})
	}
}
