//go:build full

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Lint passes on the reference app and fails with Pylint's finding on a broken copy.
func TestLintStage(t *testing.T) {
	r := daggerCall(t, 20*time.Minute, "lint")
	if r.Err != nil {
		t.Fatalf("lint failed on the reference app: %v\n%s\n%s", r.Err, r.Stdout, tail(r.Stderr, 60))
	}
	if !strings.Contains(r.Stdout, "pylint") || !strings.Contains(r.Stdout, "Passed") {
		t.Errorf("lint output does not show the hooks passing:\n%s", r.Stdout)
	}

	broken := copyRepo(t)
	bad := filepath.Join(broken, "services/django/catalog/broken.py")
	src := "\"\"\"A module with a lint error.\"\"\"\n\n\ndef total():\n    \"\"\"Return a total.\"\"\"\n    return undefined_name + 1\n"
	if err := os.WriteFile(bad, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	r = daggerCall(t, 20*time.Minute, "--source", broken, "lint")
	if r.Err == nil {
		t.Fatalf("lint passed on a file using an undefined name:\n%s", r.Stdout)
	}
	all := r.Stdout + r.Stderr
	if !strings.Contains(all, "undefined-variable") || !strings.Contains(all, "broken.py") {
		t.Errorf("lint failure does not show Pylint's message for broken.py:\n%s", tail(all, 80))
	}
}

// The test stage runs pytest against a real postgres service, and fails when a test fails.
func TestTestStage(t *testing.T) {
	r := daggerCall(t, 30*time.Minute, "test", "output")
	if r.Err != nil {
		t.Fatalf("test stage failed on the reference app: %v\n%s\n%s", r.Err, r.Stdout, tail(r.Stderr, 80))
	}
	if !strings.Contains(r.Stdout, " passed") {
		t.Errorf("pytest summary missing:\n%s", r.Stdout)
	}
	report := filepath.Join(t.TempDir(), "junit.xml")
	r = daggerCall(t, 10*time.Minute, "test", "report", "export", "--path", report)
	if r.Err != nil {
		t.Fatalf("exporting the JUnit report: %v\n%s", r.Err, tail(r.Stderr, 40))
	}
	if b, err := os.ReadFile(report); err != nil || !strings.Contains(string(b), "<testsuite") {
		t.Errorf("JUnit report not exported or not JUnit: %v %.200s", err, b)
	}

	broken := copyRepo(t)
	bad := filepath.Join(broken, "services/django/tests/test_zz_broken.py")
	if err := os.WriteFile(bad, []byte("def test_broken():\n    assert 1 + 1 == 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = daggerCall(t, 30*time.Minute, "--source", broken, "test", "output")
	if r.Err == nil {
		t.Fatalf("test stage passed with a failing test:\n%s", r.Stdout)
	}
	if all := r.Stdout + r.Stderr; !strings.Contains(all, "test_broken") || !strings.Contains(all, "failed") {
		t.Errorf("failure does not name the failing test:\n%s", tail(all, 60))
	}
}
