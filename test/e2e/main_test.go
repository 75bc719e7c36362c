// Package e2e drives the real Dagger engine through the dagger CLI, the way a user does.
//
// All tests share one engine and one registry (brought up by hack/engine up). When the engine is
// missing the tests fail, never skip: the message says how to start it.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var (
	repoRoot  string
	mirror    string // the local mirror registry, host:port
	engineErr error
)

func TestMain(m *testing.M) {
	repoRoot = findRoot()
	mirror = os.Getenv("SHIPYARD_REGISTRY")
	if mirror == "" {
		mirror = "127.0.0.1:5000"
	}
	engineErr = checkEngine()
	os.Exit(m.Run())
}

func findRoot() string {
	if r := os.Getenv("SHIPYARD_ROOT"); r != "" {
		return r
	}
	dir, _ := os.Getwd()
	for dir != "/" {
		if _, err := os.Stat(filepath.Join(dir, "dagger.json")); err == nil {
			return dir
		}
		dir = filepath.Dir(dir)
	}
	return ""
}

func checkEngine() error {
	if _, err := exec.LookPath("dagger"); err != nil {
		return fmt.Errorf("the dagger CLI is not on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "dagger", "core", "version").CombinedOutput()
	if err != nil {
		return fmt.Errorf("dagger core version: %v: %s", err, out)
	}
	return nil
}

// needEngine fails the test (never skips) when no engine answers.
func needEngine(t *testing.T) {
	t.Helper()
	if engineErr != nil {
		t.Fatalf("no Dagger engine: %v\nstart one with: hack/engine up && eval \"$(hack/engine env)\" (or run hack/test)", engineErr)
	}
}

// result is what one dagger CLI run printed.
type result struct {
	Stdout, Stderr string
	Err            error
}

// daggerCall runs `dagger call` on the module at the repository root.
func daggerCall(t *testing.T, timeout time.Duration, args ...string) result {
	t.Helper()
	return daggerIn(t, repoRoot, timeout, append([]string{"call", "--progress=plain"}, args...)...)
}

// daggerIn runs the dagger CLI in dir.
func daggerIn(t *testing.T, dir string, timeout time.Duration, args ...string) result {
	t.Helper()
	needEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "dagger", args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	t.Logf("dagger %s: %s (%v)", strings.Join(args, " "), time.Since(start).Round(time.Second), err)
	return result{Stdout: out.String(), Stderr: errb.String(), Err: err}
}

// copyRepo copies the repository's tracked and untracked (not ignored) files into a temp dir.
func copyRepo(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	cmd := exec.Command("sh", "-c", `git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents -p {} "$DST" 2>/dev/null; true`)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "DST="+dst)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("copying the repository: %v: %s", err, out)
	}
	return dst
}
