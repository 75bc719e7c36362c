//go:build full

// Package ec2 holds the end-to-end tests of the EC2 ARM builder (moto as EC2, test hosts behind a
// real sshd as instances), through the dagger CLI as a user runs it. They are test/e2e's, in a
// package of their own so that they run beside the rest of test/e2e (whose tests run one after
// another) instead of after it. The same rules: one shared engine, fail (never skip) without it.
package ec2

import (
	"os"
	"testing"
	"time"

	"shipyard/internal/testenv"
)

var (
	repoRoot  = testenv.Root()
	mirror    = "127.0.0.1:5000" // the local mirror registry, host:port ($SHIPYARD_REGISTRY)
	engineErr error
)

func TestMain(m *testing.M) {
	if r := os.Getenv("SHIPYARD_REGISTRY"); r != "" {
		mirror = r
	}
	engineErr = testenv.CheckEngine()
	os.Exit(m.Run())
}

func needEngine(t *testing.T) { t.Helper(); testenv.NeedEngine(t, engineErr) }

// daggerCall runs `dagger call --progress=plain ARGS` on the module at the repository root.
func daggerCall(t *testing.T, timeout time.Duration, args ...string) testenv.Result {
	t.Helper()
	needEngine(t)
	return testenv.Dagger(t, repoRoot, timeout, nil, append([]string{"call", "--progress=plain"}, args...)...)
}

var (
	startRegistry    = func(t *testing.T, port int) string { t.Helper(); return testenv.StartRegistry(t, port, "") }
	freeRegistryPort = testenv.FreeRegistryPort
	tail             = testenv.Tail
	mustDigest       = testenv.MustDigest
	tagRepo          = testenv.TagRepo
	indexPlatforms   = testenv.IndexPlatforms
)
