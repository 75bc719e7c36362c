//go:build full

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The module lists its functions, each with a one-line description: the verbs and the with-…
// calls that hold the configuration; stages that are no function of their own any more
// (manifests is `release --only=manifests`) are not listed.
func TestFunctionsAreListedWithDocs(t *testing.T) {
	r := daggerIn(t, repoRoot, 15*time.Minute, "functions")
	if r.Err != nil {
		t.Fatalf("dagger functions: %v\n%s", r.Err, r.Stderr)
	}
	for _, line := range strings.Split(r.Stdout, "\n") {
		if fields := strings.Fields(line); len(fields) > 0 && fields[0] == "manifests" {
			t.Errorf("manifests is listed as a function; it is a stage of release (release --only=manifests): %q", line)
		}
	}
	for _, fn := range []string{"check", "lint", "test", "test-report", "build", "plan", "release", "arm-builder",
		"with-registry-auth", "with-gitlab", "with-latest", "with-arm-instance", "with-arm-access"} {
		found := false
		for _, line := range strings.Split(r.Stdout, "\n") {
			fields := strings.Fields(line)
			if len(fields) > 0 && fields[0] == fn {
				found = true
				if len(fields) < 2 {
					t.Errorf("function %s has no description: %q", fn, line)
				}
			}
		}
		if !found {
			t.Errorf("function %s is not listed by dagger functions:\n%s", fn, r.Stdout)
		}
	}
}

// The module's own Go checks pass on the repository, and name the file when gofmt is broken.
func TestCheckPassesAndFailsOnUnformattedFile(t *testing.T) {
	r := daggerCall(t, 20*time.Minute, "check", "--go-image=golang:1.26-bookworm")
	if r.Err != nil {
		t.Fatalf("check on the repository failed: %v\n%s\n%s", r.Err, r.Stdout, r.Stderr)
	}
	for _, want := range []string{"gofmt: ok", "go vet: ok", "ok  \tshipyard/internal/"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("check output lacks %q:\n%s", want, r.Stdout)
		}
	}

	broken := copyRepo(t)
	bad := filepath.Join(broken, "internal", "rules", "zz_unformatted.go")
	if err := os.MkdirAll(filepath.Dir(bad), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("package rules\nfunc  unformatted( ) {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = daggerCall(t, 20*time.Minute, "--source", broken, "check")
	if r.Err == nil {
		t.Fatalf("check passed on a repository with an unformatted file:\n%s", r.Stdout)
	}
	all := r.Stdout + r.Stderr
	if !strings.Contains(all, "internal/rules/zz_unformatted.go") || !strings.Contains(all, "gofmt") {
		t.Errorf("check failure does not name gofmt and the file:\n%s", all)
	}
	if code := exitCode(r.Err); code == 0 {
		t.Errorf("exit code 0 on failure")
	}
}

func exitCode(err error) int {
	if e, ok := err.(*exec.ExitError); ok {
		return e.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
