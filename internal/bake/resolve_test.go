package bake

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// names returns the names of targets in order.
func names(ts []*Target) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

func TestResolveProduction(t *testing.T) {
	f := parseFile(t, productionFile, Options{})
	tests := []struct {
		name  string
		input []string
		want  []string
	}{
		{
			name:  "no names uses the default group and pulls in the target: dependency before its user",
			input: nil,
			want:  []string{"postgres", "traefik", "watchtower", "frontend", "django"},
		},
		{
			name:  "explicit default group",
			input: []string{"default"},
			want:  []string{"postgres", "traefik", "watchtower", "frontend", "django"},
		},
		{
			name:  "single target",
			input: []string{"traefik"},
			want:  []string{"traefik"},
		},
		{
			name:  "dependency named after its user is not repeated",
			input: []string{"django", "frontend"},
			want:  []string{"frontend", "django"},
		},
		{
			name:  "nested groups are expanded and deduplicated in first-named order",
			input: []string{"all"},
			want:  []string{"postgres", "traefik", "watchtower", "frontend", "django"},
		},
		{
			name:  "group and target mixed, duplicates dropped",
			input: []string{"watchtower", "proxy", "postgres", "watchtower"},
			want:  []string{"watchtower", "traefik", "postgres"},
		},
		{
			name:  "hidden-by-convention targets can still be named",
			input: []string{"_common"},
			want:  []string{"_common"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.Resolve(tt.input...)
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.input, err)
			}
			if diff := cmp.Diff(tt.want, names(got)); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
			all := productionTargets()
			for _, target := range got {
				if diff := cmp.Diff(all[target.Name], target); diff != "" {
					t.Errorf("target %s (-want +got):\n%s", target.Name, diff)
				}
			}
		})
	}
}

func TestResolveDependencyOrder(t *testing.T) {
	src := `
group "default" { targets = ["app", "tools"] }
target "app" {
  contexts = {
    base  = "target:base"
    assets = "target:assets"
    local = "./vendor"
    image = "docker-image://127.0.0.1:5000/x:1"
  }
}
target "assets" { contexts = { base = "target:base" } }
target "base" { contexts = { root = "target:root" } }
target "root" {}
target "tools" { contexts = { base = "target:base" } }
`
	f, err := Parse("deps.hcl", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"root", "base", "assets", "app", "tools"}, names(got)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"assets", "base"}, f.Targets["app"].TargetDeps()); diff != "" {
		t.Errorf("app TargetDeps (-want +got):\n%s", diff)
	}
}

func TestTargetDeps(t *testing.T) {
	tests := []struct {
		name     string
		contexts map[string]string
		want     []string
	}{
		{name: "none", contexts: nil, want: nil},
		{name: "only paths and images", contexts: map[string]string{"a": "./x", "b": "docker-image://127.0.0.1:5000/y"}, want: nil},
		{
			name:     "sorted and deduplicated",
			contexts: map[string]string{"z": "target:web", "a": "target:base", "m": "target:base", "p": "../src"},
			want:     []string{"base", "web"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := &Target{Name: "t", Contexts: tt.contexts}
			if diff := cmp.Diff(tt.want, target.TargetDeps()); diff != "" {
				t.Errorf("TargetDeps (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveDefaultTarget(t *testing.T) {
	f := parseFile(t, "testdata/minimal.hcl", Options{})
	got, err := f.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	want := []*Target{{Name: "default", Context: ".", Dockerfile: "Dockerfile", Tags: []string{"app:local"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Resolve() (-want +got):\n%s", diff)
	}
}

func TestResolveReturnsCopies(t *testing.T) {
	f := parseFile(t, productionFile, Options{})
	got, err := f.Resolve("django")
	if err != nil {
		t.Fatal(err)
	}
	django := got[len(got)-1]
	django.Tags[0] = "changed"
	django.Args["PYTHON_VERSION"] = "changed"
	django.Platforms[0].Arch = "changed"
	if diff := cmp.Diff(productionTargets()["django"], f.Targets["django"]); diff != "" {
		t.Errorf("File changed through Resolve's result (-want +got):\n%s", diff)
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    *File
		input   []string
		wantErr error
		wantMsg []string
	}{
		{
			name:    "unknown name lists what exists",
			file:    parseFile(t, productionFile, Options{}),
			input:   []string{"djangoo"},
			wantErr: ErrUnknownTarget,
			wantMsg: []string{`unknown target or group "djangoo"`,
				"targets: _common, django, frontend, postgres, traefik, watchtower; groups: all, default, proxy"},
		},
		{
			name:    "no names and no default",
			file:    &File{Targets: map[string]*Target{"a": {Name: "a"}}, Groups: map[string][]string{"g": {"a"}}},
			wantErr: ErrNoDefault,
			wantMsg: []string{`no "default" group or target`, "targets: a; groups: g", `group "default" { targets = [...] }`},
		},
		{
			name: "group member missing in a hand-built file",
			file: &File{
				Targets: map[string]*Target{"a": {Name: "a"}},
				Groups:  map[string][]string{"default": {"a", "b"}},
			},
			wantErr: ErrUnknownTarget,
			wantMsg: []string{`"b" (member of group "default")`},
		},
		{
			name: "target: dependency missing in a hand-built file",
			file: &File{Targets: map[string]*Target{
				"a": {Name: "a", Contexts: map[string]string{"x": "target:gone"}},
			}},
			input:   []string{"a"},
			wantErr: ErrUnknownTarget,
			wantMsg: []string{`"gone" used as a target: context by target "a"`},
		},
		{
			name: "context cycle in a hand-built file",
			file: &File{Targets: map[string]*Target{
				"a": {Name: "a", Contexts: map[string]string{"x": "target:b"}},
				"b": {Name: "b", Contexts: map[string]string{"y": "target:a"}},
			}},
			input:   []string{"b"},
			wantErr: ErrCycle,
			wantMsg: []string{"b -> a -> b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.file.Resolve(tt.input...)
			if err == nil {
				t.Fatalf("Resolve succeeded with %v, want error %v", names(got), tt.wantErr)
			}
			checkErr(t, err, tt.wantErr, tt.wantMsg)
		})
	}
}
