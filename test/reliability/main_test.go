//go:build full

// Package reliability feeds the real CLI (`dagger call …`) bad input and checks that every failure
// names its problem, publishes nothing and never prints a secret.
//
// The tests share the engine and registry tools of the end-to-end tests (hack/engine up). When the
// engine is missing they fail, never skip: the message says how to start it. Each CLI call loads the
// module, so run them with a generous timeout, e.g. `go test -timeout 40m ./test/reliability/`
// (hack/test does).
package reliability

import (
	"flag"
	"os"
	"testing"
	"time"

	"shipyard/internal/testenv"
)

var (
	repoRoot  string
	engineErr error
)

func TestMain(m *testing.M) {
	flag.Parse()
	// The cases mostly wait for the engine (module loading, registry round trips), not the CPU:
	// run four at a time unless -parallel says otherwise.
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", "4")
	}
	repoRoot = testenv.Root()
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

// daggerCall runs `dagger call --progress=plain args…` on the module at the repository root, with
// extra environment variables (NAME=VALUE) for env: secrets.
func daggerCall(t *testing.T, timeout time.Duration, env []string, args ...string) result {
	t.Helper()
	needEngine(t)
	return testenv.Dagger(t, repoRoot, timeout, env, append([]string{"call", "--progress=plain"}, args...)...)
}

func copyRepo(t *testing.T) string { t.Helper(); return testenv.CopyRepo(t, repoRoot) }

var (
	startRegistry    = testenv.StartRegistry
	closedPort       = testenv.ClosedPort
	freeRegistryPort = testenv.FreeRegistryPort
	tail             = testenv.Tail
)
