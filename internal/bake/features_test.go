package bake

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The buildx-compatible features, one case each; test/bakediff checks the same files against buildx itself.
func TestBuildxFeatures(t *testing.T) {
	tests := []struct {
		name  string
		files []SourceFile
		opts  Options
		check func(t *testing.T, f *File)
	}{
		{
			name: "built-in variables: the command's context and the builder's platform, which a file cannot redefine",
			files: []SourceFile{{"docker-bake.hcl", []byte(`
variable "BAKE_LOCAL_PLATFORM" { default = "windows/amd64" }
target "app" {
  context = BAKE_CMD_CONTEXT
  contexts = { shared = "${BAKE_CMD_CONTEXT}lib" }
  platforms = [BAKE_LOCAL_PLATFORM]
  args = { ON = BAKE_LOCAL_PLATFORM }
}
`)}},
			opts: Options{Builder: Platform{OS: "linux", Arch: "arm64"}},
			check: func(t *testing.T, f *File) {
				app := f.Targets["app"]
				want(t, ".", app.Context)
				want(t, map[string]string{"shared": "lib"}, app.Contexts)
				want(t, map[string]string{"ON": "linux/arm64"}, app.Args)
				want(t, []Platform{{OS: "linux", Arch: "arm64"}}, app.Platforms)
				if _, ok := f.Variables["BAKE_LOCAL_PLATFORM"]; ok {
					t.Errorf("the built-in is listed as a variable of the file: %v", f.Variables)
				}
			},
		},
		{
			name:  "BAKE_LOCAL_PLATFORM defaults to the builder platform",
			files: []SourceFile{{"docker-bake.hcl", []byte(`target "app" { args = { ON = BAKE_LOCAL_PLATFORM } }`)}},
			check: func(t *testing.T, f *File) {
				want(t, map[string]string{"ON": BuilderPlatform.String()}, f.Targets["app"].Args)
			},
		},
		{
			name:  "a platform entry holding a comma is several platforms",
			files: []SourceFile{{"docker-bake.hcl", []byte(`target "app" { platforms = ["linux/amd64,linux/arm64", "linux/arm64"] }`)}},
			check: func(t *testing.T, f *File) {
				want(t, []Platform{{OS: "linux", Arch: "amd64"}, {OS: "linux", Arch: "arm64"}}, f.Targets["app"].Platforms)
			},
		},
		{
			name: "dockerfile-inline is kept and inherited; the child may replace it",
			files: []SourceFile{{"docker-bake.hcl", []byte(`
target "base" { dockerfile-inline = "FROM scratch\nCOPY a /a\n" }
target "app" { inherits = ["base"] }
target "other" {
  inherits = ["base"]
  dockerfile-inline = "FROM busybox"
}
`)}},
			check: func(t *testing.T, f *File) {
				want(t, "FROM scratch\nCOPY a /a\n", f.Targets["app"].DockerfileInline)
				want(t, "FROM busybox", f.Targets["other"].DockerfileInline)
				want(t, "Dockerfile", f.Targets["app"].Dockerfile)
			},
		},
		{
			name:  "ssh entries as objects with only an id",
			files: []SourceFile{{"docker-bake.hcl", []byte(`target "app" { ssh = [{ id = "default" }, { paths = ["/k"] }] }`)}},
			check: func(t *testing.T, f *File) {
				want(t, []SSH{{ID: "default"}, {Paths: []string{"/k"}}}, f.Targets["app"].SSH)
			},
		},
		{
			name: "function blocks with variadic params",
			files: []SourceFile{{"docker-bake.hcl", []byte(`
function "tags" {
  params = [repo]
  variadic_params = versions
  result = [for v in versions : "${repo}:${v}"]
}
target "app" { tags = tags("app", "1", "latest") }
`)}},
			check: func(t *testing.T, f *File) {
				want(t, []string{"app:1", "app:latest"}, f.Targets["app"].Tags)
			},
		},
		{
			name: "empty and repeated tags are dropped in order, empty contexts removed",
			files: []SourceFile{{"docker-bake.hcl", []byte(`
target "base" { contexts = { a = "./a", b = "./b" } }
target "app" {
  inherits = ["base"]
  tags = ["x:1", "", "x:2", "x:1"]
  contexts = { b = "" }
}
`)}},
			check: func(t *testing.T, f *File) {
				want(t, []string{"x:1", "x:2"}, f.Targets["app"].Tags)
				want(t, map[string]string{"a": "./a"}, f.Targets["app"].Contexts)
			},
		},
		{
			name: "matrix targets are named from their values, grouped under the label and inheritable",
			files: []SourceFile{{"docker-bake.hcl", []byte(`
target "svc" {
  name = "svc-${s}"
  matrix = { s = ["api", "worker"] }
  args = { S = s }
}
target "extra" { inherits = ["svc-worker"] }
`)}},
			check: func(t *testing.T, f *File) {
				want(t, []string{"svc-api", "svc-worker"}, f.Groups["svc"])
				want(t, map[string]string{"S": "worker"}, f.Targets["extra"].Args)
				got, err := f.Resolve("svc")
				if err != nil || len(got) != 2 {
					t.Fatalf("Resolve(svc) = %v, %v", got, err)
				}
			},
		},
		{
			name: "later files override; JSON files take part",
			files: []SourceFile{
				{"docker-bake.hcl", []byte(`
variable "TAG" { default = "dev" }
target "app" {
  tags = ["app:${TAG}"]
  args = { A = "1" }
}
`)},
				{"docker-bake.override.json", []byte(`{"variable": {"TAG": {"default": "2"}}, "target": {"app": {"args": {"B": "2"}}}}`)},
			},
			check: func(t *testing.T, f *File) {
				want(t, []string{"app:2"}, f.Targets["app"].Tags)
				want(t, map[string]string{"A": "1", "B": "2"}, f.Targets["app"].Args)
			},
		},
		{
			name: "--set overrides targets by pattern and sets variables without a dot",
			files: []SourceFile{{"docker-bake.hcl", []byte(`
variable "TAG" { default = "dev" }
target "a" { tags = ["a:${TAG}"] }
target "b" { tags = ["b:${TAG}"] }
`)}},
			opts: Options{Set: []string{"TAG=9", "*.platform=linux/arm64", "a.args.X=1", "b.tags+=b:extra"}},
			check: func(t *testing.T, f *File) {
				want(t, []string{"a:9"}, f.Targets["a"].Tags)
				want(t, []string{"b:9", "b:extra"}, f.Targets["b"].Tags)
				want(t, []Platform{{OS: "linux", Arch: "arm64"}}, f.Targets["a"].Platforms)
				want(t, map[string]string{"X": "1"}, f.Targets["a"].Args)
			},
		},
		{
			name: "typed variables read CSV and JSON overrides",
			files: []SourceFile{{"docker-bake.hcl", []byte(`
variable "ARCHS" {
  type = list(string)
  default = ["amd64"]
}
variable "OBJ" {
  type = object({ n = number })
  default = { n = 1 }
}
target "app" {
  platforms = [for a in ARCHS : "linux/${a}"]
  args = { N = OBJ.n }
}
`)}},
			opts: Options{Vars: map[string]string{"ARCHS": "amd64,arm64", "OBJ_JSON": `{"n": 5}`}},
			check: func(t *testing.T, f *File) {
				want(t, twoArch, f.Targets["app"].Platforms)
				want(t, map[string]string{"N": "5"}, f.Targets["app"].Args)
			},
		},
		{
			name: "build-time attributes are parsed and stored",
			files: []SourceFile{{"docker-bake.hcl", []byte(`
target "app" {
  secret = ["id=npm,src=/run/npmrc", { id = "tok", env = "TOKEN" }]
  ssh = ["default"]
  cache-from = ["user/app:cache"]
  cache-to = ["type=inline"]
  output = ["type=image,push=true"]
  no-cache = true
  pull = true
  network = "host"
  platforms = ["local"]
}
`)}},
			check: func(t *testing.T, f *File) {
				a := f.Targets["app"]
				want(t, []Secret{{ID: "npm", Src: "/run/npmrc"}, {ID: "tok", Env: "TOKEN"}}, a.Secrets)
				want(t, []SSH{{ID: "default"}}, a.SSH)
				want(t, []CacheEntry{{Type: "registry", Attrs: map[string]string{"ref": "user/app:cache"}}}, a.CacheFrom)
				want(t, []Output{{Type: "image", Attrs: map[string]string{"push": "true"}}}, a.Outputs)
				want(t, []string{"network.host"}, a.Entitlements)
				if !a.NoCache || !a.Pull {
					t.Errorf("NoCache, Pull = %v, %v; want true, true", a.NoCache, a.Pull)
				}
				want(t, []Platform{LocalPlatform}, a.Platforms)
				m, err := Matrix([]*Target{a}, nil, Platform{})
				if err != nil || len(m) != 1 || m[0].Platform != "linux/amd64" {
					t.Errorf("Matrix of a local target = %v, %v; want one linux/amd64 entry", m, err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFiles(tt.files, tt.opts)
			if err != nil {
				t.Fatalf("ParseFiles: %v", err)
			}
			tt.check(t, f)
		})
	}
}

func TestValidationFails(t *testing.T) {
	src := `
variable "TAG" {
  default = "x"
  validation {
    condition = can(regex("^[0-9.]+$", TAG))
    error_message = "TAG must be a version"
  }
}
`
	_, err := Parse("docker-bake.hcl", []byte(src), Options{})
	if !errors.Is(err, ErrValidation) {
		t.Fatalf("err = %v, want ErrValidation", err)
	}
	if _, err := Parse("docker-bake.hcl", []byte(src), Options{Vars: map[string]string{"TAG": "1.2"}}); err != nil {
		t.Fatalf("valid override: %v", err)
	}
}

func TestOverrideFiles(t *testing.T) {
	want(t, []string{"ci/docker-bake.override.json", "ci/docker-bake.override.hcl"}, OverrideFiles("ci/docker-bake.hcl"))
}

func want[T any](t *testing.T, want, got T) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
