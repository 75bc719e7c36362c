//go:build full

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
	for _, fields := range lines(r.Stdout) {
		if fields[0] == "check" {
			t.Errorf("check is listed as a function: the module's self-check is this repository's hack/check, and users' repositories run `dagger check`")
		}
	}
	for _, fn := range []string{"lint", "test", "test-report", "build", "plan", "release", "arm-builder",
		"with-registry-auth", "with-gitlab", "with-latest", "with-arm-instance", "with-arm-access", "with-scan", "scan"} {
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

// `dagger check` runs the module's checks, lint and test, on the repository that installs the module
// as its blueprint (examples/goapp, whose dagger.json names this checkout): they pass there in the
// README's cookbook (TestCookbook), and here an unformatted Go file fails the lint check, naming
// gofmt and the file, with a non-zero exit. The checkout is copied with a git repository of its
// own, so that the blueprint (two directories up) is inside the copy's context.
func TestDaggerCheckFailsOnAnUnformattedFile(t *testing.T) {
	broken := copyRepo(t)
	if out, err := exec.Command("git", "-C", broken, "init", "-q").CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	app := filepath.Join(broken, "examples", "goapp")
	list := daggerIn(t, app, 20*time.Minute, "check", "-l")
	if list.Err != nil {
		t.Fatalf("dagger check -l in examples/goapp: %v\n%s\n%s", list.Err, list.Stdout, tail(list.Stderr, 40))
	}
	for _, want := range []string{"lint", "test"} {
		if !regexp.MustCompile(`(?m)^\s*` + want + `\b`).MatchString(list.Stdout) {
			t.Errorf("dagger check -l does not list %s:\n%s", want, list.Stdout)
		}
	}
	bad := filepath.Join(app, "internal", "zz_unformatted.go")
	if err := os.WriteFile(bad, []byte("package internal\nfunc  unformatted( ) {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := daggerIn(t, app, 20*time.Minute, "--progress=plain", "check", "lint")
	if r.Err == nil {
		t.Fatalf("dagger check passed on a repository with an unformatted file:\n%s\n%s", r.Stdout, tail(r.Stderr, 40))
	}
	all := r.Stdout + r.Stderr
	if !strings.Contains(all, "internal/zz_unformatted.go") || !strings.Contains(all, "gofmt") {
		t.Errorf("the failed check does not name gofmt and the file:\n%s", tail(all, 60))
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

// lines is each non-empty line of out, split into its fields.
func lines(out string) [][]string {
	var ls [][]string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			ls = append(ls, f)
		}
	}
	return ls
}
