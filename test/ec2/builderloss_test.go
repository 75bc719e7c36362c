//go:build full

package ec2

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// watchWriter keeps what is written and the time each watched string first appeared.
type watchWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	seen  map[string]time.Time
	watch []string
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for _, s := range w.watch {
		if _, ok := w.seen[s]; !ok && strings.Contains(w.buf.String(), s) {
			w.seen[s] = time.Now()
		}
	}
	return len(p), nil
}

func (w *watchWriter) at(s string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.seen[s]
	return t, ok
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// slowTarget is a target that cannot come from any cache (a nonce) and takes a while to build,
// so that the builder is surely lost in the middle of its build.
const slowTarget = `
target "slow" {
  context   = "slow"
  args      = { NONCE = "%s" }
  tags      = ["${REGISTRY}/slow:${TAG}"]
  platforms = ["linux/amd64", "linux/arm64"]
}
`

// A spot interruption or a terminate by hand in the middle of a laptop's one-call staging run
// with the EC2 builder: the module notices within 60 s, names the builder and the phase, then
// does what --on-builder-loss says, merges every index with both platforms and leaves no
// instance running:
//   - qemu (the default): those ARM images are built with QEMU here instead;
//   - on-demand: one on-demand builder is launched in the lost spot builder's place, and the
//     ARM images are built there.
func TestBuilderLostMidBuild(t *testing.T) {
	needEngine(t)
	for _, tc := range []struct {
		name  string
		flags []string
		// want: lines the log must have; none: lines it must not have
		want, none []string
		// onDemand: the builds end on a second, on-demand builder
		onDemand bool
	}{
		{
			name: "qemu",
			want: []string{"E2C_ON_BUILDER_LOSS=qemu (the default)", "build slow [linux/arm64] on qemu: the EC2 ARM builder failed"},
		},
		{
			name:     "on-demand",
			flags:    []string{"--on-builder-loss", "on-demand"},
			want:     []string{"E2C_ON_BUILDER_LOSS=on-demand: one on-demand builder in its place"},
			none:     []string{"on qemu:"},
			onDemand: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lostMidBuild(t, tc.flags, tc.want, tc.none, tc.onDemand)
		})
	}
}

func lostMidBuild(t *testing.T, lossFlags, want, none []string, onDemand bool) {
	w := newEC2World(t)
	src := slowRepo(t)
	stamp := time.Now().UnixNano()
	port := strings.Split(mirror, ":")[1]
	build := fmt.Sprintf("10.99.0.1:%s/e2e-loss-%d", port, stamp)
	hostBuild := fmt.Sprintf("%s/e2e-loss-%d", mirror, stamp)
	args := []string{"--progress=plain", "call", "--source", src, "--bake-file", "arm.hcl", "--project", "e2e",
		"--build-registry", build, "--insecure-registry", "10.99.0.1:" + port, "--arm64", "--arm-builder", "ec2"}
	flags := w.flags
	if len(lossFlags) > 0 {
		// --on-builder-loss is a with-arm-instance setting: given after that call's other flags
		flags = slices.Clone(w.flags)
		i := slices.Index(flags, "with-arm-access")
		flags = slices.Concat(flags[:i], lossFlags, flags[i:])
	}
	args = append(append(args, flags...), "release", "--ref", "staging")

	const lostLine = "was lost in the build phase: instance "
	const upLine = "e2c: builder i-"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	_, out, done := startDagger(t, ctx, args, upLine, lostLine)

	// the builder is up (SSH verified): terminate it, as a spot interruption would
	var id string
	var killedAt time.Time
	for id == "" {
		select {
		case err := <-done:
			t.Fatalf("the run ended (%v) before its builder was up:\n%s", err, tail(out.String(), 60))
		case <-time.After(time.Second):
		}
		if _, ok := out.at(upLine); !ok {
			continue
		}
		res, err := w.client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{
			{Name: aws.String("instance-state-name"), Values: []string{"running"}}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Reservations {
			for _, inst := range r.Instances {
				id = aws.ToString(inst.InstanceId)
			}
		}
	}
	// mid-build: the slow target's arm64 step runs on the builder (under the test host's
	// qemu-aarch64), so the loss is one of a running build, not of a builder still starting
	for findProcess(t, func(exe, cmdline string) bool {
		return strings.HasPrefix(exe, "qemu-aarch64") && strings.Contains(cmdline, "sleep 40")
	}) == 0 {
		select {
		case err := <-done:
			t.Fatalf("the run ended (%v) before the arm64 step ran on the builder:\n%s", err, tail(out.String(), 60))
		case <-time.After(time.Second):
		}
	}
	if _, err := w.client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	killedAt = time.Now()
	err := <-done
	log := out.String()
	if err != nil {
		t.Fatalf("the staging run failed after its builder was lost (--on-builder-loss should carry on): %v\n%s", err, tail(log, 80))
	}
	lossReported(t, out, lostLine, killedAt, 60*time.Second)
	for _, line := range append([]string{
		"the EC2 ARM builder " + id + " was lost in the build phase: instance " + id + " is terminated",
		"stage manifests: ok",
		"torn down",
	}, want...) {
		if !strings.Contains(log, line) {
			t.Errorf("the log lacks %q:\n%s", line, tail(log, 80))
		}
	}
	for _, line := range none {
		if strings.Contains(log, line) {
			t.Errorf("the log has %q:\n%s", line, tail(log, 80))
		}
	}
	if onDemand {
		// a second builder, launched on demand, was up after the loss, and is gone now
		res, err := w.client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
		if err != nil {
			t.Fatal(err)
		}
		var others []types.Instance
		for _, r := range res.Reservations {
			for _, inst := range r.Instances {
				if aws.ToString(inst.InstanceId) != id {
					others = append(others, inst)
				}
			}
		}
		if len(others) != 1 {
			t.Fatalf("moto has %d instance(s) besides the lost %s, want the one on-demand replacement", len(others), id)
		}
		repl := others[0]
		rid := aws.ToString(repl.InstanceId)
		if repl.InstanceLifecycle == types.InstanceLifecycleTypeSpot {
			t.Errorf("the replacement %s is a spot instance, want on-demand", rid)
		}
		if upAgain := strings.Index(log, "e2c: builder "+rid+" up at "); upAgain < 0 || upAgain < strings.Index(log, lostLine) {
			t.Errorf("the log does not show the replacement %s up after the loss:\n%s", rid, tail(log, 80))
		}
		if repl.State == nil || repl.State.Name != types.InstanceStateNameTerminated {
			t.Errorf("the replacement %s is %v after the run, want terminated", rid, repl.State)
		}
	}
	bothPlatformsMerged(t, hostBuild)
	if n := w.running(t); n != 0 {
		t.Errorf("%d instance(s) still running after the run", n)
	}
}

// lossReported checks that line, the log's report of a loss at lostAt, appeared within limit.
func lossReported(t *testing.T, out *watchWriter, line string, lostAt time.Time, limit time.Duration) {
	t.Helper()
	at, ok := out.at(line)
	switch {
	case !ok:
		t.Errorf("the log never says %q:\n%s", line, tail(out.String(), 80))
	case at.Sub(lostAt) > limit:
		t.Errorf("the loss was reported %v after it happened, want within %v", at.Sub(lostAt).Round(time.Second), limit)
	default:
		t.Logf("the loss was reported %v after it happened", at.Sub(lostAt).Round(time.Second))
	}
}

// bothPlatformsMerged checks that the staging index of every target of slowRepo in the build
// registry hostBuild holds linux/amd64 and the linux/arm64 image pushed beside it.
func bothPlatformsMerged(t *testing.T, hostBuild string) {
	t.Helper()
	for _, target := range []string{"traefik", "slow"} {
		ref := fmt.Sprintf("%s/%s:staging", hostBuild, target)
		got := indexPlatforms(t, ref)
		arm := mustDigest(t, fmt.Sprintf("%s/%s:staging-arm64", hostBuild, target))
		if len(got) != 2 || got["linux/arm64"] != arm || got["linux/amd64"] == "" {
			t.Errorf("%s holds %v, want linux/amd64 and the linux/arm64 image %s", ref, got, arm)
		}
	}
}

// slowRepo is armRepo with traefik and the slow target in its default group.
func slowRepo(t *testing.T) string {
	t.Helper()
	return slowRepoFor(t, 40)
}

// slowRepoFor is slowRepo with a slow target that sleeps seconds.
func slowRepoFor(t *testing.T, seconds int) string {
	t.Helper()
	src := armRepo(t)
	if err := os.MkdirAll(filepath.Join(src, "slow"), 0o755); err != nil {
		t.Fatal(err)
	}
	dockerfile := fmt.Sprintf("FROM debian:bookworm-slim\nARG NONCE\nRUN echo \"$NONCE\" > /nonce && sleep %d\n", seconds)
	if err := os.WriteFile(filepath.Join(src, "slow", "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	bake, err := os.ReadFile(filepath.Join(src, "arm.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	bake = bytes.Replace(bake, []byte(`targets = ["traefik", "watchtower"]`), []byte(`targets = ["traefik", "slow"]`), 1)
	bake = append(bake, fmt.Sprintf(slowTarget, fmt.Sprint(time.Now().UnixNano()))...)
	if err := os.WriteFile(filepath.Join(src, "arm.hcl"), bake, 0o644); err != nil {
		t.Fatal(err)
	}
	return src
}

// startDagger starts the dagger CLI with args in the repository, its output kept by a
// watchWriter that notes when each of watch first appears; done receives its exit.
func startDagger(t *testing.T, ctx context.Context, args []string, watch ...string) (*exec.Cmd, *watchWriter, chan error) {
	t.Helper()
	out := &watchWriter{seen: map[string]time.Time{}, watch: watch}
	cmd := exec.CommandContext(ctx, "dagger", args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return cmd, out, done
}
