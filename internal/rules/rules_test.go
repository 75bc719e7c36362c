package rules

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFor(t *testing.T) {
	all := []Stage{Lint, Test, Build, Manifests, Release}
	tests := []struct {
		name string
		ref  Ref
		want Plan
	}{
		{"feat branch", Ref{Branch: "feat/x", DefaultBranch: "main"},
			Plan{[]Stage{Lint, Test}, "branch feat/x matches feat/*: lint, test"}},
		{"fix branch", Ref{Branch: "fix/y", DefaultBranch: "main"},
			Plan{[]Stage{Lint, Test}, "branch fix/y matches fix/*: lint, test"}},
		{"test branch", Ref{Branch: "test/z", DefaultBranch: "main"},
			Plan{[]Stage{Lint, Test}, "branch test/z matches test/*: lint, test"}},
		{"chore branch", Ref{Branch: "chore/w", DefaultBranch: "main"},
			Plan{[]Stage{Lint, Test}, "branch chore/w matches chore/*: lint, test"}},
		{"nested work branch", Ref{Branch: "feat/a/b", DefaultBranch: "main"},
			Plan{[]Stage{Lint, Test}, "branch feat/a/b matches feat/*: lint, test"}},
		{"staging", Ref{Branch: "staging", DefaultBranch: "main"},
			Plan{[]Stage{Lint, Test, Build, Manifests}, "branch staging is the staging branch: lint, test, build, manifests"}},
		{"default branch", Ref{Branch: "main", DefaultBranch: "main"},
			Plan{[]Stage{Lint, Test, Build}, "branch main is the default branch (images are built to prove they build; nothing is released): lint, test, build"}},
		{"default branch with another name", Ref{Branch: "trunk", DefaultBranch: "trunk"},
			Plan{[]Stage{Lint, Test, Build}, "branch trunk is the default branch (images are built to prove they build; nothing is released): lint, test, build"}},
		{"main is not special when another branch is the default", Ref{Branch: "main", DefaultBranch: "trunk"},
			Plan{[]Stage{Lint, Test}, "branch main matches no build rule: lint, test"}},
		{"no default branch known", Ref{Branch: "main"},
			Plan{[]Stage{Lint, Test}, "branch main matches no build rule: lint, test"}},
		{"other branch", Ref{Branch: "wip", DefaultBranch: "main"},
			Plan{[]Stage{Lint, Test}, "branch wip matches no build rule: lint, test"}},
		{"prefix without slash is not a work branch", Ref{Branch: "feature", DefaultBranch: "main"},
			Plan{[]Stage{Lint, Test}, "branch feature matches no build rule: lint, test"}},
		{"merge request from a work branch", Ref{Branch: "feat/x", DefaultBranch: "main", MergeRequest: true},
			Plan{[]Stage{Lint, Test}, "merge request from branch feat/x: lint, test"}},
		{"merge request from staging builds nothing", Ref{Branch: "staging", DefaultBranch: "main", MergeRequest: true},
			Plan{[]Stage{Lint, Test}, "merge request from branch staging: lint, test"}},
		{"version tag", Ref{Tag: "1.2.3", DefaultBranch: "main"},
			Plan{all, "tag 1.2.3 is a version: lint, test, build, manifests, release"}},
		{"v-prefixed version tag", Ref{Tag: "v1.2.3"},
			Plan{all, "tag v1.2.3 is a version: lint, test, build, manifests, release"}},
		{"pre-release version tag", Ref{Tag: "1.2.3-rc.1"},
			Plan{all, "tag 1.2.3-rc.1 is a version: lint, test, build, manifests, release"}},
		{"lightweight-style version tag", Ref{Tag: "2.0.0alpha"},
			Plan{all, "tag 2.0.0alpha is a version: lint, test, build, manifests, release"}},
		{"tag wins over branch", Ref{Tag: "1.2.3", Branch: "1.2.3", DefaultBranch: "main"},
			Plan{all, "tag 1.2.3 is a version: lint, test, build, manifests, release"}},
		{"surrounding blanks make a tag no version", Ref{Tag: " 1.2.3"},
			Plan{[]Stage{Lint, Test}, "tag  1.2.3 is not a version (like 1.2.3, v1.2.3, 1.2.3-rc.1 or 1.2.3alpha), so nothing is built or released: lint, test"}},
		{"non-version tag", Ref{Tag: "nightly", DefaultBranch: "main"},
			Plan{[]Stage{Lint, Test}, "tag nightly is not a version (like 1.2.3, v1.2.3, 1.2.3-rc.1 or 1.2.3alpha), so nothing is built or released: lint, test"}},
		{"tag with a version inside is not a version", Ref{Tag: "release-1.2.3"},
			Plan{[]Stage{Lint, Test}, "tag release-1.2.3 is not a version (like 1.2.3, v1.2.3, 1.2.3-rc.1 or 1.2.3alpha), so nothing is built or released: lint, test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := For(tt.ref)
			if err != nil {
				t.Fatalf("For(%+v): %v", tt.ref, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("For(%+v) (-want +got):\n%s", tt.ref, diff)
			}
			if strings.Contains(got.Reason, "\n") {
				t.Errorf("Reason %q spans several lines; want one line", got.Reason)
			}
		})
	}
}

func TestForWithoutRef(t *testing.T) {
	for _, ref := range []Ref{{}, {DefaultBranch: "main"}, {MergeRequest: true}} {
		_, err := For(ref)
		if !errors.Is(err, ErrNoRef) {
			t.Fatalf("For(%+v) error = %v, want ErrNoRef", ref, err)
		}
		for _, hint := range []string{"--ref", "--tag"} {
			if !strings.Contains(err.Error(), hint) {
				t.Errorf("For(%+v) error %q does not say to pass %s", ref, err, hint)
			}
		}
	}
}

func TestPlanHasAndRequire(t *testing.T) {
	p, err := For(Ref{Branch: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[Stage]bool{}
	for _, s := range Stages() {
		got[s] = p.Has(s)
		if reqErr := p.Require(s); (reqErr == nil) != p.Has(s) {
			t.Errorf("Require(%s) = %v, but Has(%s) = %v", s, reqErr, s, p.Has(s))
		}
	}
	want := map[Stage]bool{Lint: true, Test: true, Build: true, Manifests: true, Release: false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Has per stage (-want +got):\n%s", diff)
	}
	err = p.Require(Release)
	if !errors.Is(err, ErrStageNotAllowed) {
		t.Fatalf("Require(release) = %v, want ErrStageNotAllowed", err)
	}
	if !strings.Contains(err.Error(), p.Reason) {
		t.Errorf("Require(release) error %q does not quote the reason %q", err, p.Reason)
	}
}

func TestParseStage(t *testing.T) {
	for _, s := range Stages() {
		got, err := ParseStage(string(s))
		if err != nil {
			t.Fatalf("ParseStage(%q): %v", s, err)
		}
		if got != s {
			t.Errorf("ParseStage(%q) = %q", s, got)
		}
	}
	for _, name := range []string{"", "deploy", "build_manifests", "Lint"} {
		_, err := ParseStage(name)
		if !errors.Is(err, ErrUnknownStage) {
			t.Errorf("ParseStage(%q) error = %v, want ErrUnknownStage", name, err)
			continue
		}
		if !strings.Contains(err.Error(), "lint, test, build, manifests, release") {
			t.Errorf("ParseStage(%q) error %q does not list the stages", name, err)
		}
	}
}

func TestStagesOrder(t *testing.T) {
	want := []Stage{"lint", "test", "build", "manifests", "release"}
	got := Stages()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Stages() (-want +got):\n%s", diff)
	}
	got[0] = "mutated"
	if Stages()[0] != Lint {
		t.Error("Stages() returns the package's own slice; callers can change it")
	}
}

func TestPlatforms(t *testing.T) {
	tests := []struct {
		arm64, armv7 bool
		want         []string
	}{
		{false, false, []string{"linux/amd64"}},
		{true, false, []string{"linux/amd64", "linux/arm64"}},
		{false, true, []string{"linux/amd64", "linux/arm/v7"}},
		{true, true, []string{"linux/amd64", "linux/arm64", "linux/arm/v7"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, Platforms(tt.arm64, tt.armv7)); diff != "" {
			t.Errorf("Platforms(%v, %v) (-want +got):\n%s", tt.arm64, tt.armv7, diff)
		}
	}
}
