//go:build full

// Package e2e drives the real Dagger engine through the dagger CLI, the way a user does.
//
// All tests share one engine and one registry (brought up by hack/engine up). When the engine is
// missing the tests fail, never skip: the message says how to start it.
package e2e

import (
	"os"
	"testing"
	"time"

	"shipyard/internal/testenv"
)

var (
	repoRoot  string
	mirror    string // the local mirror registry, host:port
	engineErr error
)

func TestMain(m *testing.M) {
	repoRoot = testenv.Root()
	mirror = os.Getenv("SHIPYARD_REGISTRY")
	if mirror == "" {
		mirror = "127.0.0.1:5000"
	}
	engineErr = testenv.CheckEngine()
	os.Exit(m.Run())
}

// needEngine fails the test (never skips) when no engine answers.
func needEngine(t *testing.T) {
	t.Helper()
	testenv.NeedEngine(t, engineErr)
}

// result is what one dagger CLI run printed.
type result = testenv.Result

// daggerCall runs `dagger call` on the module at the repository root.
func daggerCall(t *testing.T, timeout time.Duration, args ...string) result {
	t.Helper()
	return daggerIn(t, repoRoot, timeout, append([]string{"call", "--progress=plain"}, args...)...)
}

// daggerIn runs the dagger CLI in dir.
func daggerIn(t *testing.T, dir string, timeout time.Duration, args ...string) result {
	t.Helper()
	needEngine(t)
	return testenv.Dagger(t, dir, timeout, nil, args...)
}

func copyRepo(t *testing.T) string { t.Helper(); return testenv.CopyRepo(t, repoRoot) }

// startRegistry runs a throwaway docker-registry on 127.0.0.1:port for one test.
func startRegistry(t *testing.T, port int) string {
	t.Helper()
	return testenv.StartRegistry(t, port, "")
}

var (
	freeRegistryPort = testenv.FreeRegistryPort
	tail             = testenv.Tail
)
