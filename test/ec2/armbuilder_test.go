//go:build full

package ec2

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"shipyard/internal/testenv"
)

// startMoto runs moto_server (a real implementation of the EC2 API) on a free loopback port
// (testenv.StartMoto) and returns its URL and port.
func startMoto(t *testing.T) (string, int) {
	t.Helper()
	u := testenv.StartMoto(t)
	_, p, _ := net.SplitHostPort(strings.TrimPrefix(u, "http://"))
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("moto's URL %s has no port: %v", u, err)
	}
	return u, port
}

// remoteEnv reads what hack/remote-engine env prints: the test host behind a real sshd.
func remoteEnv(t *testing.T) map[string]string {
	t.Helper()
	return testenv.RemoteEngineEnv(t, repoRoot)
}

func hostKeyFrom(t *testing.T, knownHosts string) string {
	t.Helper()
	b, err := os.ReadFile(knownHosts)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])
	if len(f) < 3 {
		t.Fatalf("unexpected known_hosts line in %s", knownHosts)
	}
	return f[1] + " " + f[2]
}

// armBake is a bake file of two ARM-capable images of the reference app (the released set of
// the EC2 tests; django under QEMU on the test host's "remote" engine would take minutes).
const armBake = `variable "REGISTRY" { default = "127.0.0.1:5000/shipyard" }
variable "TAG" { default = "dev" }
group "default" { targets = ["traefik", "watchtower"] }
target "traefik" {
  context   = "services/traefik"
  tags      = ["${REGISTRY}/traefik:${TAG}"]
  platforms = ["linux/amd64", "linux/arm64", "linux/arm/v7"]
}
target "watchtower" {
  context   = "services/watchtower"
  tags      = ["${REGISTRY}/watchtower:${TAG}"]
  platforms = ["linux/amd64", "linux/arm64"]
}
`

// armRepo is a user's small repository: the two images of armBake and nothing to lint or test
// (no shipyard.hcl, no pre-commit, no go.mod), so the test spends its time on the ARM path.
func armRepo(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	for _, svc := range []string{"traefik", "watchtower"} {
		if out, err := exec.Command("cp", "-a", filepath.Join(repoRoot, "services", svc), filepath.Join(src, svc)).CombinedOutput(); err != nil {
			t.Fatalf("copying %s: %v %s", svc, err, out)
		}
	}
	bake := strings.ReplaceAll(armBake, `"services/`, `"`)
	if err := os.WriteFile(filepath.Join(src, "arm.hcl"), []byte(bake), 0o644); err != nil {
		t.Fatal(err)
	}
	return src
}

// ec2World is moto, a launch template for an arm64 AMI, the test host behind sshd that every
// launched instance's public IP leads to, and the flags a user passes for that builder.
type ec2World struct {
	client   *ec2.Client
	template string
	flags    []string
}

func newEC2World(t *testing.T) *ec2World {
	t.Helper()
	renv := remoteEnv(t)
	motoURL, motoPort := startMoto(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
	key, err := os.ReadFile(renv["SHIPYARD_REMOTE_SSH_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("E2C_SSH_PRIVATE_KEY", string(key))
	client := testenv.MotoEC2(motoURL)
	template := testenv.ArmLaunchTemplate(t, client)
	cloud := &testenv.Cloud{NS: renv["SHIPYARD_REMOTE_NETNS"], NSIP: renv["SHIPYARD_REMOTE_SSH_HOST"], HostIF: renv["SHIPYARD_REMOTE_HOST_IF"]}
	if cloud.NS == "" || cloud.HostIF == "" {
		t.Fatalf("hack/remote-engine env does not name its namespace and veth: %v", renv)
	}
	cloud.ServeInstances(t, client)
	dcli, _ := exec.LookPath("dagger")
	w := &ec2World{client: client, template: template}
	w.flags = []string{
		"with-arm-instance", "--launch-template-id", w.template, "--use-spot",
		"--endpoint", motoURL, "--tunnel", fmt.Sprintf("tcp://localhost:%d", motoPort),
		"with-arm-access", "--aws-access-key-id", "env:AWS_ACCESS_KEY_ID", "--aws-secret-access-key", "env:AWS_SECRET_ACCESS_KEY",
		"--ssh-private-key", "env:E2C_SSH_PRIVATE_KEY", "--ssh-host-key", hostKeyFrom(t, renv["SHIPYARD_REMOTE_KNOWN_HOSTS"]),
		"--ssh-user", renv["SHIPYARD_REMOTE_SSH_USER"], "--ssh-port", renv["SHIPYARD_REMOTE_SSH_PORT"],
		"--remote-socket", renv["SHIPYARD_REMOTE_ENGINE_SOCKET"], "--dagger-cli", dcli,
	}
	return w
}

// running counts the instances moto has pending or running (for one job, or all).
func (w *ec2World) running(t *testing.T) int {
	t.Helper()
	out, err := w.client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{Filters: []types.Filter{
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running"}}}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range out.Reservations {
		n += len(r.Instances)
	}
	return n
}

// A laptop's one call: `dagger call … --arm64 --arm-builder=ec2 … release` for a version tag
// launches the builder (moto), builds amd64 here while arm64 builds on the builder's engine
// (reached over a real sshd with the pinned host key), merges both into every index, releases
// them, moves latest, and leaves no instance running. `plan` shows the same routing.
func TestReleaseWithEC2Builder(t *testing.T) {
	needEngine(t)
	w := newEC2World(t)
	src := armRepo(t)
	relPort := freeRegistryPort(t, 5001)
	rel := startRegistry(t, relPort)
	stamp := time.Now().Unix()
	build := fmt.Sprintf("10.99.0.1:%s/e2e-ec2-%d", strings.Split(mirror, ":")[1], stamp)
	hostBuild := fmt.Sprintf("%s/e2e-ec2-%d", mirror, stamp) // the same registry, seen from the host
	gitDir := tagRepo(t, []string{"1.0.0"}, nil)
	config := []string{"--source", src, "--bake-file", "arm.hcl", "--git-dir", gitDir, "--project", "e2e",
		"--build-registry", build, "--release-registry", rel + "/rel", "--insecure-registry", "10.99.0.1:" + strings.Split(mirror, ":")[1],
		"--registry-tunnel", fmt.Sprintf("tcp://localhost:%d", relPort), "--arm64", "--arm-builder", "ec2"}
	config = append(config, w.flags...)

	t.Run("plan", func(t *testing.T) {
		r := daggerCall(t, 10*time.Minute, append(config, "plan", "--ref", "1.0.0", "--tag", "1.0.0")...)
		if r.Err != nil {
			t.Fatalf("plan: %v\n%s", r.Err, tail(r.Stderr, 40))
		}
		for _, want := range []string{
			"build traefik [linux/arm64] on remote: native on the EC2 ARM builder's engine",
			"build traefik [linux/amd64] on local: native on the local engine",
			"merge watchtower [linux/amd64, linux/arm64]",
		} {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("plan lacks %q:\n%s", want, r.Stdout)
			}
		}
		r = daggerCall(t, 10*time.Minute, append(config, "plan", "--ref", "1.0.0", "--tag", "1.0.0", "--format", "json")...)
		var p struct {
			Builds []struct{ Target, Platform, Builder string }
			Merges []struct {
				Target    string
				Platforms []string
			}
		}
		if r.Err != nil || json.Unmarshal([]byte(r.Stdout), &p) != nil || len(p.Builds) != 4 || len(p.Merges) != 2 {
			t.Fatalf("plan --format json: %v\n%s\n%s", r.Err, r.Stdout, tail(r.Stderr, 20))
		}

		// --armv7 with version 2 of the template, a c7g.large (Graviton 3): before anything runs,
		// the plan reads the template and routes linux/arm/v7 to QEMU here; arm64 stays native
		if _, err := w.client.CreateLaunchTemplateVersion(context.Background(), &ec2.CreateLaunchTemplateVersionInput{
			LaunchTemplateId: aws.String(w.template), SourceVersion: aws.String("1"),
			LaunchTemplateData: &types.RequestLaunchTemplateData{InstanceType: types.InstanceTypeC7gLarge},
		}); err != nil {
			t.Fatal(err)
		}
		v7 := append(slices.Clone(config[:len(config)-len(w.flags)]), "--armv7")
		v7 = append(append(v7, w.flags[:3]...), "--launch-template-version", "2")
		v7 = append(append(v7, w.flags[3:]...), "plan", "--ref", "1.0.0", "--tag", "1.0.0")
		r = daggerCall(t, 10*time.Minute, v7...)
		if r.Err != nil {
			t.Fatalf("plan --armv7: %v\n%s", r.Err, tail(r.Stderr, 40))
		}
		for _, want := range []string{
			"build traefik [linux/arm/v7] on qemu: the EC2 ARM builder is a c7g.large (Graviton 3, Neoverse V1), as launch template " + w.template +
				" (version 2) says: Graviton 3 and later have no 32-bit mode (no AArch32 at EL0): emulated on the local engine",
			"build traefik [linux/arm64] on remote: native on the EC2 ARM builder's engine",
			"merge traefik [linux/amd64, linux/arm64, linux/arm/v7]",
		} {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("plan --armv7 lacks %q:\n%s", want, r.Stdout)
			}
		}
	})
	if w.running(t) != 0 {
		t.Fatalf("plan launched an instance")
	}

	r := daggerCall(t, 40*time.Minute, append(config, "release", "--ref", "1.0.0", "--tag", "1.0.0")...)
	if r.Err != nil {
		t.Fatalf("release: %v\n%s\n%s", r.Err, r.Stdout, tail(r.Stderr, 80))
	}
	if n := w.running(t); n != 0 {
		t.Errorf("%d instance(s) still running after the release", n)
	}
	for _, target := range []string{"traefik", "watchtower"} {
		released := fmt.Sprintf("%s/rel/e2e-%s:1.0.0", rel, target)
		got := indexPlatforms(t, released)
		armDigest := mustDigest(t, fmt.Sprintf("%s/%s:1.0.0-arm64", hostBuild, target))
		amdDigest := mustDigest(t, fmt.Sprintf("%s/%s:1.0.0-amd64", hostBuild, target))
		want := map[string]string{"linux/amd64": amdDigest, "linux/arm64": armDigest}
		if len(got) != 2 || got["linux/amd64"] != amdDigest || got["linux/arm64"] != armDigest {
			t.Errorf("released %s holds %v, want %v", released, got, want)
		}
		if l, v := mustDigest(t, fmt.Sprintf("%s/rel/e2e-%s:latest", rel, target)), mustDigest(t, released); l != v {
			t.Errorf("latest of %s is %s, want the 1.0.0 index %s", target, l, v)
		}
	}
	// the builder reports its instance type (the template's default version, a t4g.small) and
	// the kernel's answer, which wins: the test host is x86_64
	for _, want := range []string{
		"is a t4g.small (Graviton 2, Neoverse N1), which runs 32-bit ARM code (AArch32 at EL0)",
		"does the builder run 32-bit ARM code (linux/arm/v7 natively)? no: the builder is x86_64, not ARM; its instance type t4g.small said yes: the builder's own answer counts",
	} {
		if !strings.Contains(r.Stderr+r.Stdout, want) {
			t.Errorf("the release log lacks %q:\n%s", want, tail(r.Stderr, 60))
		}
	}
	if !strings.Contains(r.Stderr+r.Stdout, "on EC2 builder") {
		t.Errorf("the log does not show the builds on the EC2 builder:\n%s", tail(r.Stderr, 60))
	}
	if !strings.Contains(r.Stderr+r.Stdout, "torn down") {
		t.Errorf("the log does not report the teardown:\n%s", tail(r.Stderr, 60))
	}
}
