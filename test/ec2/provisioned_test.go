//go:build full

package ec2

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"golang.org/x/crypto/ssh"

	"shipyard/internal/testenv"
)

// A laptop's one call without any SSH key: `dagger call … --arm64 --arm-builder=ec2
// with-arm-instance … with-arm-access <AWS only> … release` makes the job's keys, launches the
// builder on moto with user data that installs them, and reaches it at the public IP moto reports.
// The harness plays the cloud: it boots the instance from the user data moto recorded (the image's
// own sshd first, held until the product has met it, then the user data, which installs the job's
// host key and the engine bundle of the local build), and powers it off when it is terminated. The
// release waits through the image's host key without sending anything, verifies the generated one,
// waits for the builder to be ready, builds arm64 there and amd64 here, merges both into every
// index, and leaves no instance running.
func TestReleaseProvisionsItsEC2Builder(t *testing.T) {
	needEngine(t)
	renv := remoteEnv(t) // slot 0's relay (10.99.0.1) is the registry the builder pulls and pushes through
	client, motoURL, motoPort, template, fleet := launchWorld(t, 120)

	src := armRepo(t)
	relPort := freeRegistryPort(t, 5001)
	rel := startRegistry(t, relPort)
	port := strings.Split(mirror, ":")[1]
	relay := "10.99.0.1:" + port
	stamp := time.Now().Unix()
	build := fmt.Sprintf("%s/e2e-prov-%d", relay, stamp)
	hostBuild := fmt.Sprintf("%s/e2e-prov-%d", mirror, stamp) // the same registry, seen from the host
	args := []string{"--source", src, "--bake-file", "arm.hcl", "--git-dir", tagRepo(t, []string{"1.0.0"}, nil), "--project", "e2e",
		"--build-registry", build, "--release-registry", rel + "/rel", "--insecure-registry", relay,
		"--registry-tunnel", fmt.Sprintf("tcp://localhost:%d", relPort), "--arm64", "--arm-builder", "ec2"}
	args = append(args, provisionedBuilder(t, template, motoURL, motoPort, relay)...)
	args = append(args, "release", "--ref", "1.0.0", "--tag", "1.0.0")

	r := daggerCall(t, 75*time.Minute, args...) // a loaded shared machine queues the containers for minutes
	log := r.Stdout + "\n" + r.Stderr
	if r.Err != nil {
		t.Fatalf("release: %v\n%s\n%s", r.Err, tail(r.Stdout, 40), tail(r.Stderr, 120))
	}

	// the builders moto saw: one, booted from its user data, powered off after its termination
	inst := wantOneBuilder(t, fleet, client, 2*time.Minute)

	// the user data holds the host key the product generated and pinned, and no SSH key was given
	userData, err := testenv.InstanceUserData(context.Background(), client, inst.InstanceID)
	if err != nil {
		t.Fatal(err)
	}
	pinned := pinnedHostKey(t, userData)
	if !strings.Contains(userData, "\nIDLE_SECONDS=2700\n") {
		t.Errorf("the builder's user data does not power it off after --idle-shutdown 45m (IDLE_SECONDS=2700)")
	}
	for _, want := range []string{
		"provisioning the builder with keys made for job",
		"host key " + pinned + " (pinned)",
		// the first-boot window: the image's key was presented, nothing was sent, the product waited
		"not this job's builder yet",
		fmt.Sprintf("builder %s up at %s:22, provisioned, SSH verified with the pinned host key", inst.InstanceID, inst.PublicIP),
		"does the builder run 32-bit ARM code (linux/arm/v7 natively)? no: the builder is x86_64, not ARM",
		"on EC2 builder " + inst.InstanceID,
		"torn down",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the release log lacks %q:\n%s", want, tail(r.Stderr, 80))
		}
	}
	if m := regexp.MustCompile(`presents host key (SHA256:[A-Za-z0-9+/]+), not the pinned (SHA256:[A-Za-z0-9+/]+)`).FindStringSubmatch(log); m == nil || m[1] == pinned || m[2] != pinned {
		t.Errorf("the log does not name the image's key and the pinned %s: %v", pinned, m)
	}
	for _, secret := range []string{"PRIVATE KEY", "BEGIN OPENSSH"} {
		if strings.Contains(log, secret) {
			t.Errorf("the release log shows a private key (%q)", secret)
		}
	}
	if !strings.Contains(inst.Host.Output, "first-boot: a client connected to the image's sshd") {
		t.Errorf("the product never met the image's sshd (the first-boot window):\n%s", inst.Host.Output)
	}
	imageLog, err := os.ReadFile(filepath.Join(renv["SHIPYARD_REMOTE_STATE"], fmt.Sprintf("slot-%d", inst.Host.Slot), "instance", "upper", "var", "log", "image-sshd.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(imageLog), "Connection from") || regexp.MustCompile(`(?i)publickey|Accepted|Failed|Invalid user|for root`).Match(imageLog) {
		t.Errorf("the image's sshd should have seen connections and no authentication:\n%s", imageLog)
	}

	// every index holds amd64 (built here) and arm64 (built on the builder)
	wantReleased(t, rel, hostBuild, "1.0.0")
}

// wantOneBuilder checks that the fleet saw one instance, booted from its user data and powered off
// (within wait) after it was stopped or terminated, and that moto has none running; it returns it.
func wantOneBuilder(t *testing.T, fleet *testenv.Fleet, client *ec2.Client, wait time.Duration) testenv.Launched {
	t.Helper()
	if err := fleet.WaitOff(wait); err != nil {
		t.Error(err)
	}
	launched := fleet.Instances()
	if len(launched) != 1 {
		t.Fatalf("the release launched %d instance(s), want 1: %+v", len(launched), launched)
	}
	inst := launched[0]
	if inst.Err != nil || inst.Booted.IsZero() || inst.PoweredOff.IsZero() {
		t.Errorf("instance %s: boot error %v, booted %v, powered off %v", inst.InstanceID, inst.Err, inst.Booted, inst.PoweredOff)
	}
	if n := (&ec2World{client: client}).running(t); n != 0 {
		t.Errorf("%d instance(s) still running after the release", n)
	}
	return inst
}

// wantReleased checks that every index released as rel/e2e-TARGET:tag holds exactly the amd64
// and arm64 images the build pushed to hostBuild.
func wantReleased(t *testing.T, rel, hostBuild, tag string) {
	t.Helper()
	for _, target := range []string{"traefik", "watchtower"} {
		released := fmt.Sprintf("%s/rel/e2e-%s:%s", rel, target, tag)
		got := indexPlatforms(t, released)
		want := map[string]string{
			"linux/amd64": mustDigest(t, fmt.Sprintf("%s/%s:%s-amd64", hostBuild, target, tag)),
			"linux/arm64": mustDigest(t, fmt.Sprintf("%s/%s:%s-arm64", hostBuild, target, tag)),
		}
		if len(got) != 2 || got["linux/amd64"] != want["linux/amd64"] || got["linux/arm64"] != want["linux/arm64"] {
			t.Errorf("released %s holds %v, want %v", released, got, want)
		}
	}
}

// provisionedBuilder are the flags of a laptop's call that launches a spot builder from template
// on moto and provisions it (no SSH key given), its engine pulling through relay.
func provisionedBuilder(t *testing.T, template, motoURL string, motoPort int, relay string) []string {
	t.Helper()
	dcli, err := exec.LookPath("dagger")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"with-arm-instance", "--launch-template-id", template, "--use-spot",
		"--endpoint", motoURL, "--tunnel", fmt.Sprintf("tcp://localhost:%d", motoPort),
		"with-arm-access", "--aws-access-key-id", "env:AWS_ACCESS_KEY_ID", "--aws-secret-access-key", "env:AWS_SECRET_ACCESS_KEY",
		"--dagger-cli", dcli,
		// what a user passes; on the test host SHIPYARD_BUILDER_ENGINE_URL installs the local build instead
		"with-arm-provisioning", "--engine-url", "https://artifacts.example.com/dagger-engine-v0.19.10-linux-arm64.tar.gz",
		"--engine-sha-256", strings.Repeat("0", 64),
		// an interrupted run's builder powers itself off after this long without a pipeline
		"--idle-shutdown", "45m"}
	for _, m := range builderMirrors(t, relay) {
		args = append(args, "--mirror", m)
	}
	return args
}

// pinnedHostKey is the fingerprint of the host key the user data installs.
func pinnedHostKey(t *testing.T, userData string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^echo '(ssh-ed25519 [A-Za-z0-9+/=]+)' >/etc/ssh/ssh_host_ed25519_key.pub$`).FindStringSubmatch(userData)
	if m == nil {
		t.Fatal("the recorded user data installs no ed25519 host key")
	}
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	return ssh.FingerprintSHA256(key)
}

// builderMirrors are the main engine's registry mirrors for the builder's engine, pulled through
// relay (testenv.EngineMirrors).
func builderMirrors(t *testing.T, relay string) []string {
	t.Helper()
	m, err := testenv.EngineMirrors(relay)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// launchWorld is moto with an arm64 launch template and the AWS keys in the environment, and a
// fleet that boots every instance launched from the user data moto recorded (holding each
// image's sshd up to holdImageSSHD seconds).
func launchWorld(t *testing.T, holdImageSSHD int) (client *ec2.Client, motoURL string, motoPort int, template string, fleet *testenv.Fleet) {
	t.Helper()
	motoURL, motoPort = startMoto(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
	client = testenv.MotoEC2(motoURL)
	return client, motoURL, motoPort, testenv.ArmLaunchTemplate(t, client), testenv.ServeLaunched(t, client, holdImageSSHD)
}
