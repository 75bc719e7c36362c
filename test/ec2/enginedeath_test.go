//go:build full

package ec2

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The builder's engine dies in the middle of a build while its instance keeps running (an OOM
// kill, a crash): on a laptop's one-call staging run with a builder the module provisioned, the
// engine on the test host is killed while the slow target's arm64 build runs there. The module
// says within 60 s that the builder was lost in the build phase because its engine stopped
// answering, builds those ARM images with QEMU here (the default of --on-builder-loss), merges
// every index with both platforms, and terminates the builder.
func TestBuilderEngineDiesMidBuild(t *testing.T) {
	needEngine(t)
	remoteEnv(t) // slot 0's relay (10.99.0.1) is the registry the builder pulls and pushes through
	client, motoURL, motoPort, template, fleet := launchWorld(t, 0)

	src := slowRepo(t)
	port := strings.Split(mirror, ":")[1]
	relay := "10.99.0.1:" + port
	stamp := time.Now().UnixNano()
	build := fmt.Sprintf("%s/e2e-dead-%d", relay, stamp)
	hostBuild := fmt.Sprintf("%s/e2e-dead-%d", mirror, stamp)
	dcli, err := exec.LookPath("dagger")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--progress=plain", "call", "--source", src, "--bake-file", "arm.hcl", "--project", "e2e",
		"--build-registry", build, "--insecure-registry", relay, "--arm64", "--arm-builder", "ec2",
		"with-arm-instance", "--launch-template-id", template,
		"--endpoint", motoURL, "--tunnel", fmt.Sprintf("tcp://localhost:%d", motoPort),
		"with-arm-access", "--aws-access-key-id", "env:AWS_ACCESS_KEY_ID", "--aws-secret-access-key", "env:AWS_SECRET_ACCESS_KEY",
		"--dagger-cli", dcli,
		"with-arm-provisioning", "--engine-url", "https://artifacts.example.com/dagger-engine-v0.19.10-linux-arm64.tar.gz",
		"--engine-sha-256", strings.Repeat("0", 64)}
	for _, m := range builderMirrors(t, relay) {
		args = append(args, "--mirror", m)
	}
	args = append(args, "release", "--ref", "staging")

	const lostLine = "was lost in the build phase: its engine stopped answering"
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	_, out, done := startDagger(t, ctx, args, lostLine)

	// the builder booted and its engine runs the slow target's build: kill that engine
	var engine int
	var killedAt time.Time
	for killedAt.IsZero() {
		select {
		case err := <-done:
			t.Fatalf("the run ended (%v) before the builder's engine built the slow target:\n%s", err, tail(out.String(), 60))
		case <-time.After(time.Second):
		}
		launched := fleet.Instances()
		if len(launched) != 1 || launched[0].Booted.IsZero() || launched[0].Host.NS == "" {
			continue
		}
		if engine == 0 {
			engine = processInNetns(t, launched[0].Host.NS, "dagger-engine")
			if engine == 0 {
				continue
			}
		}
		if !hasDescendant(engine, "sleep 40") {
			continue
		}
		if err := syscall.Kill(engine, syscall.SIGKILL); err != nil {
			t.Fatalf("killing the builder's engine (pid %d): %v", engine, err)
		}
		killedAt = time.Now()
		t.Logf("killed the builder's engine (pid %d) during the slow target's build", engine)
	}
	err = <-done
	log := out.String()
	if err != nil {
		t.Fatalf("the staging run failed after its builder's engine died (the QEMU fallback should carry on): %v\n%s", err, tail(log, 80))
	}
	lostAt, ok := out.at(lostLine)
	switch {
	case !ok:
		t.Errorf("the log never says the builder's engine stopped answering:\n%s", tail(log, 80))
	case lostAt.Sub(killedAt) > 60*time.Second:
		t.Errorf("the engine's death was reported %v after the kill, want within 60 s", lostAt.Sub(killedAt).Round(time.Second))
	}
	id := fleet.Instances()[0].InstanceID
	for _, want := range []string{
		"the EC2 ARM builder " + id + " was lost in the build phase: its engine stopped answering",
		"E2C_ON_BUILDER_LOSS=qemu (the default)",
		"build slow [linux/arm64] on qemu: the EC2 ARM builder failed",
		"stage manifests: ok",
		"torn down",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, tail(log, 80))
		}
	}
	for _, target := range []string{"traefik", "slow"} {
		ref := fmt.Sprintf("%s/%s:staging", hostBuild, target)
		got := indexPlatforms(t, ref)
		arm := mustDigest(t, fmt.Sprintf("%s/%s:staging-arm64", hostBuild, target))
		if len(got) != 2 || got["linux/arm64"] != arm || got["linux/amd64"] == "" {
			t.Errorf("%s holds %v, want linux/amd64 and the linux/arm64 image %s", ref, got, arm)
		}
	}
	if err := fleet.WaitOff(2 * time.Minute); err != nil {
		t.Error(err)
	}
	if n := (&ec2World{client: client}).running(t); n != 0 {
		t.Errorf("%d instance(s) still running after the run", n)
	}
}

// processInNetns is the pid of a process named comm in the network namespace ns (ip netns), 0
// when there is none.
func processInNetns(t *testing.T, ns, comm string) int {
	t.Helper()
	st, err := os.Stat(filepath.Join("/run/netns", ns))
	if err != nil {
		return 0
	}
	ino := st.Sys().(*syscall.Stat_t).Ino
	want := fmt.Sprintf("net:[%d]", ino)
	for _, pid := range pids() {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
		if err != nil || link != want {
			continue
		}
		if c, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(c)) == comm {
			return pid
		}
	}
	return 0
}

// hasDescendant reports whether a process below pid runs a command line starting with cmd.
func hasDescendant(pid int, cmd string) bool {
	parent := map[int]int{}
	for _, p := range pids() {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …: comm may hold spaces, so cut after its closing parenthesis
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		if f := strings.Fields(rest); len(f) > 1 {
			parent[p], _ = strconv.Atoi(f[1])
		}
	}
	for p := range parent {
		line, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
		if err != nil || !strings.HasPrefix(strings.ReplaceAll(string(line), "\x00", " "), cmd) {
			continue
		}
		for a, n := parent[p], 0; a > 1 && n < 64; a, n = parent[a], n+1 {
			if a == pid {
				return true
			}
		}
	}
	return false
}

// pids lists the processes of /proc.
func pids() []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, n)
		}
	}
	return out
}
