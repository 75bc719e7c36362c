package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The committed generated bindings are what `dagger develop` produces: go build works without an
// engine, and nobody's change to the module's API is left ungenerated.
func TestGeneratedBindingsAreCurrent(t *testing.T) {
	dir := copyRepo(t)
	r := daggerIn(t, dir, 15*time.Minute, "develop")
	if r.Err != nil {
		t.Fatalf("dagger develop: %v\n%s", r.Err, tail(r.Stderr, 40))
	}
	cmd := exec.Command("diff", "-r", "-q", filepath.Join(repoRoot, "ci"), filepath.Join(dir, "ci"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("dagger develop changed the committed bindings (run dagger develop and commit):\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "ci", "dagger.gen.go")); err != nil {
		t.Errorf("no ci/dagger.gen.go after dagger develop: %v", err)
	}
}
