//go:build full

package ec2

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The builder's engine dies in the middle of a laptop's one-call staging run while its instance
// keeps running (an out-of-memory kill, a crash): the module notices by asking the engine, not
// EC2, names the builder and the phase, builds those ARM images with QEMU here (the default
// --on-builder-loss), merges every index with both platforms, and tears the builder down. The
// builder is one the module launched and provisioned itself; the test kills its dagger-engine with
// SIGKILL while the slow target's arm64 step runs there.
func TestBuilderEngineDiesMidBuild(t *testing.T) {
	needEngine(t)
	remoteEnv(t) // slot 0's relay (10.99.0.1) is the registry the builder pulls and pushes through
	client, motoURL, motoPort, template, fleet := launchWorld(t, 120)
	w := &ec2World{client: client}

	src := slowRepo(t)
	port := strings.Split(mirror, ":")[1]
	relay := "10.99.0.1:" + port
	stamp := time.Now().UnixNano()
	build := fmt.Sprintf("%s/e2e-death-%d", relay, stamp)
	hostBuild := fmt.Sprintf("%s/e2e-death-%d", mirror, stamp)
	args := []string{"--progress=plain", "call", "--source", src, "--bake-file", "arm.hcl", "--project", "e2e",
		"--build-registry", build, "--insecure-registry", relay, "--arm64", "--arm-builder", "ec2"}
	args = append(append(args, provisionedBuilder(t, template, motoURL, motoPort, relay)...), "release", "--ref", "staging")

	const lostLine = "was lost in the build phase: its engine is gone"
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	_, out, done := startDagger(t, ctx, args, lostLine)

	// the slow target's arm64 step runs on the builder (under the test host's qemu-aarch64: the
	// test host is x86_64): kill the engine of the test host the instance booted on
	var step, engine int
	for step == 0 {
		select {
		case err := <-done:
			t.Fatalf("the run ended (%v) before the arm64 step ran on the builder:\n%s", err, tail(out.String(), 60))
		case <-time.After(time.Second):
		}
		step = findProcess(t, func(exe, cmdline string) bool {
			return strings.HasPrefix(exe, "qemu-aarch64") && strings.Contains(cmdline, "sleep 40")
		})
	}
	launched := fleet.Instances()
	if len(launched) != 1 || launched[0].Host.NS == "" {
		t.Fatalf("the arm64 step runs, but the fleet booted %+v, want one test host", launched)
	}
	id, ns := launched[0].InstanceID, launched[0].Host.NS
	engine = findProcess(t, func(exe, _ string) bool { return exe == "dagger-engine" }, ns)
	if engine == 0 {
		t.Fatalf("no dagger-engine runs in the network namespace %s of %s's test host", ns, id)
	}
	if err := syscall.Kill(engine, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	t.Logf("killed the builder's engine (pid %d) while the arm64 step (pid %d) ran", engine, step)

	err := <-done
	log := out.String()
	if err != nil {
		t.Fatalf("the staging run failed after its builder's engine died (--on-builder-loss qemu should carry on): %v\n%s", err, tail(log, 80))
	}
	// a dead engine's socket refuses at once: two waits of 10 s and two quick refusals (about
	// 25 s); the rest is a loaded machine starting the probe's containers
	lossReported(t, out, lostLine, killedAt, 60*time.Second)
	for _, line := range []string{
		"the EC2 ARM builder " + id + " " + lostLine,
		"E2C_ON_BUILDER_LOSS=qemu (the default)",
		"build slow [linux/arm64] on qemu: the EC2 ARM builder failed",
		"stage manifests: ok",
		"torn down",
	} {
		if !strings.Contains(log, line) {
			t.Errorf("the log lacks %q:\n%s", line, tail(log, 80))
		}
	}
	bothPlatformsMerged(t, hostBuild)
	if err := fleet.WaitOff(2 * time.Minute); err != nil {
		t.Error(err)
	}
	if n := w.running(t); n != 0 {
		t.Errorf("%d instance(s) still running after the run", n)
	}
}

// findProcess is the pid of a process whose executable's base name and command line (spaces for
// NULs) match, in the network namespace netns when one is named; 0 when none does.
func findProcess(t *testing.T, match func(exe, cmdline string) bool, netns ...string) int {
	t.Helper()
	var want os.FileInfo
	if len(netns) > 0 {
		fi, err := os.Stat(filepath.Join("/run/netns", netns[0]))
		if err != nil {
			t.Fatalf("the network namespace %s: %v", netns[0], err)
		}
		want = fi
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || pid == os.Getpid() {
			continue
		}
		exe, err := os.Readlink(filepath.Join(d, "exe"))
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(d, "cmdline"))
		if !match(filepath.Base(strings.TrimSuffix(exe, " (deleted)")), strings.ReplaceAll(string(cmdline), "\x00", " ")) {
			continue
		}
		if want != nil {
			fi, err := os.Stat(filepath.Join(d, "ns", "net"))
			if err != nil || !os.SameFile(fi, want) {
				continue
			}
		}
		return pid
	}
	return 0
}
