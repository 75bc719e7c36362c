package bake

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMatrix(t *testing.T) {
	src := `
target "frontend" {
  target = "dist"
}
target "db" {
  platforms = ["linux/amd64"]
}
target "app" {
  platforms = ["linux/amd64", "linux/arm64", "linux/arm/v7"]
  contexts = { dist = "target:frontend" }
}
target "any" {}
group "default" { targets = ["db", "app", "any"] }
`
	f, err := Parse("m.hcl", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	targets, err := f.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		requested []string
		want      []string
	}{
		{"default is amd64 only", nil, []string{"db linux/amd64", "app linux/amd64", "any linux/amd64"}},
		{"arm64 only where declared", []string{"linux/amd64", "linux/arm64"},
			[]string{"db linux/amd64", "app linux/amd64", "app linux/arm64", "any linux/amd64", "any linux/arm64"}},
		{"normalised platform names", []string{"linux/arm"}, []string{"app linux/arm/v7", "any linux/arm/v7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantMatrix(t, targets, tt.requested, Platform{}, tt.want) })
	}
}

// wantMatrix checks Matrix's entries as "target platform".
func wantMatrix(t *testing.T, targets []*Target, requested []string, builder Platform, want []string) {
	t.Helper()
	got, err := Matrix(targets, requested, builder)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range got {
		names = append(names, e.Target.Name+" "+e.Platform)
	}
	if d := cmp.Diff(want, names); d != "" {
		t.Errorf("matrix (-want +got):\n%s", d)
	}
}

func TestMatrixLocalIsTheBuilder(t *testing.T) {
	f, err := Parse("m.hcl", []byte(`
target "native" { platforms = ["local"] }
target "any" {}
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	targets, _ := f.Resolve("native", "any")
	arm := Platform{OS: "linux", Arch: "arm64"}
	for _, tt := range []struct {
		name      string
		requested []string
		builder   Platform
		want      []string
	}{
		{"an arm64 builder builds local as arm64", []string{"linux/amd64", "linux/arm64"}, arm,
			[]string{"native linux/arm64", "any linux/amd64", "any linux/arm64"}},
		{"local requested is the builder's platform", []string{"local"}, arm, []string{"native linux/arm64", "any linux/arm64"}},
		{"an unknown builder is linux/amd64", []string{"local"}, Platform{}, []string{"native linux/amd64", "any linux/amd64"}},
	} {
		t.Run(tt.name, func(t *testing.T) { wantMatrix(t, targets, tt.requested, tt.builder, tt.want) })
	}
}

func TestMatrixErrors(t *testing.T) {
	f, err := Parse("m.hcl", []byte(`target "db" { platforms = ["linux/amd64"] }`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	targets, _ := f.Resolve("db")
	if _, err := Matrix(targets, []string{"linux/arm64"}, Platform{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a platform no target supports: err = %v, want ErrInvalid", err)
	}
	if _, err := Matrix(targets, []string{"linux"}, Platform{}); !errors.Is(err, ErrBadPlatform) {
		t.Errorf("a malformed platform: err = %v, want ErrBadPlatform", err)
	}
}
