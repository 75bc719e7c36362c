package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"shipyard/internal/e2c"
)

// startMoto runs moto_server (a real implementation of the EC2 API) on a free loopback port.
func startMoto(t *testing.T) (string, int) {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Fatalf("moto_server is not on PATH: pip install 'moto[server]==5.2.1'")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logf, _ := os.Create(filepath.Join(t.TempDir(), "moto.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _, _ = cmd.Process.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return fmt.Sprintf("http://127.0.0.1:%d", port), port
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("moto_server did not listen on port %d within 30s", port)
	return "", 0
}

// remoteEnv reads what hack/remote-engine env prints: the test host behind a real sshd.
func remoteEnv(t *testing.T) map[string]string {
	t.Helper()
	out, err := exec.Command(filepath.Join(repoRoot, "hack", "remote-engine"), "env").Output()
	if err != nil {
		t.Fatalf("hack/remote-engine env: %v (start it with hack/remote-engine up)", err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimPrefix(strings.TrimSpace(line), "export ")
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(k, "#") {
			env[k] = strings.Trim(v, `"`)
		}
	}
	if st, err := exec.Command(filepath.Join(repoRoot, "hack", "remote-engine"), "status").CombinedOutput(); err != nil || !strings.Contains(string(st), "running") {
		t.Fatalf("the remote engine is not up (hack/remote-engine up): %s", st)
	}
	return env
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

// The ARM part of a release is built on the builder instance's own engine, reached over a real
// sshd with a pinned host key, and merged with the local amd64 image; the instance is torn down.
func TestArmBuilderOnRemoteEngine(t *testing.T) {
	needEngine(t)
	renv := remoteEnv(t)
	motoURL, motoPort := startMoto(t)
	ctx := context.Background()
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
	key, err := os.ReadFile(renv["SHIPYARD_REMOTE_SSH_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("E2C_SSH_PRIVATE_KEY", string(key))
	client, err := e2c.NewClient(ctx, "eu-north-1", motoURL, "testing", "testing-secret")
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := client.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: []types.Filter{{Name: aws.String("architecture"), Values: []string{"arm64"}}}})
	if err != nil || len(imgs.Images) == 0 {
		t.Fatalf("moto has no arm64 AMI: %v", err)
	}
	lt, err := client.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String(fmt.Sprintf("e2e-arm-%d", time.Now().UnixNano())),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: imgs.Images[0].ImageId, InstanceType: types.InstanceTypeT4gSmall},
	})
	if err != nil {
		t.Fatal(err)
	}
	jobID := fmt.Sprint(time.Now().Unix())
	stateDir := t.TempDir()
	prefix := fmt.Sprintf("e2e-arm-%s", jobID)
	base := []string{"arm-builder", "--job-id", jobID, "--strategy", "template",
		"--launch-template-id", aws.ToString(lt.LaunchTemplate.LaunchTemplateId), "--use-spot",
		"--aws-access-key-id", "env:AWS_ACCESS_KEY_ID", "--aws-secret-access-key", "env:AWS_SECRET_ACCESS_KEY",
		"--ec2-endpoint", motoURL, "--ec2-tunnel", fmt.Sprintf("tcp://localhost:%d", motoPort),
		"--ssh-key", "env:E2C_SSH_PRIVATE_KEY", "--ssh-host-key", hostKeyFrom(t, renv["SHIPYARD_REMOTE_KNOWN_HOSTS"]),
		"--ssh-user", renv["SHIPYARD_REMOTE_SSH_USER"], "--ssh-port", renv["SHIPYARD_REMOTE_SSH_PORT"],
		"--remote-socket", renv["SHIPYARD_REMOTE_ENGINE_SOCKET"],
		// moto's public IPs are fake: the test maps the instance to the test host behind sshd
		"--ssh-addr-override", renv["SHIPYARD_REMOTE_SSH_HOST"] + ":" + renv["SHIPYARD_REMOTE_SSH_PORT"],
		"--state-dir", stateDir}
	running := func(job ...string) int {
		id := jobID
		if len(job) > 0 {
			id = job[0]
		}
		out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{
			{Name: aws.String("tag:shipyard:job-id"), Values: []string{id}},
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
	defer func() {
		// teardown twice: idempotent, and nothing of this job is left running
		for i := 0; i < 2; i++ {
			r := daggerCall(t, 5*time.Minute, append(base, "teardown")...)
			if r.Err != nil {
				t.Errorf("teardown %d: %v\n%s", i+1, r.Err, tail(r.Stderr, 30))
			}
		}
		if n := running(); n != 0 {
			t.Errorf("%d instance(s) of job %s still running after teardown", n, jobID)
		}
	}()

	statePath := filepath.Join(stateDir, e2c.StateFileName(jobID))
	r := daggerCall(t, 10*time.Minute, append(base, "setup", "export", "--path", statePath)...)
	if r.Err != nil {
		t.Fatalf("setup: %v\n%s", r.Err, tail(r.Stderr, 60))
	}
	st, err := e2c.ReadState(statePath)
	if err != nil || st.InstanceID == "" || !st.Spot {
		t.Fatalf("state file after setup: %+v, %v", st, err)
	}
	if running() != 1 {
		t.Fatalf("setup did not leave exactly one running instance for job %s", jobID)
	}

	dcli, _ := exec.LookPath("dagger")
	r = daggerCall(t, 40*time.Minute, append(base, "build", "--target", "traefik", "--platform", "linux/arm64",
		"--set", "REGISTRY="+renv["SHIPYARD_REMOTE_REGISTRY"]+"/"+prefix, "--set", "TAG=1.0.0", "--dagger-cli", dcli)...)
	if r.Err != nil {
		t.Fatalf("remote build: %v\n%s\n%s", r.Err, r.Stdout, tail(r.Stderr, 80))
	}
	armRef := fmt.Sprintf("%s/%s/traefik:1.0.0-arm64", mirror, prefix)
	armDigest := mustDigest(t, armRef)
	if !strings.Contains(r.Stdout, armDigest) {
		t.Errorf("the remote build's output does not show the pushed digest %s:\n%s", armDigest, r.Stdout)
	}

	local := []string{"--set", "REGISTRY=" + mirror + "/" + prefix, "--set", "TAG=1.0.0"}
	r = daggerCall(t, 20*time.Minute, append([]string{"build", "--target", "traefik", "--platform", "linux/amd64"}, append(local, "publish")...)...)
	if r.Err != nil {
		t.Fatalf("local amd64 build: %v\n%s", r.Err, tail(r.Stderr, 60))
	}
	r = daggerCall(t, 10*time.Minute, append([]string{"manifests", "--target", "traefik", "--platform", "linux/amd64", "--platform", "linux/arm64",
		"--registry-tunnel", "tcp://localhost:" + strings.Split(mirror, ":")[1]}, local...)...)
	if r.Err != nil {
		t.Fatalf("manifests: %v\n%s", r.Err, tail(r.Stderr, 60))
	}
	idx := fmt.Sprintf("%s/%s/traefik:1.0.0", mirror, prefix)
	if !strings.Contains(r.Stdout, "linux/arm64") {
		t.Errorf("merged index %s does not list linux/arm64:\n%s", idx, r.Stdout)
	}
	mustDigest(t, idx)

	// On a laptop: every phase in one call, the instance gone at the end.
	job2 := jobID + "2"
	args2 := append([]string{}, base...)
	args2[2] = job2
	r = daggerCall(t, 20*time.Minute, append(args2, "run", "--target", "traefik", "--platform", "linux/arm64",
		"--set", "REGISTRY="+renv["SHIPYARD_REMOTE_REGISTRY"]+"/"+prefix, "--set", "TAG=1.0.1", "--dagger-cli", dcli)...)
	if r.Err != nil {
		t.Fatalf("run: %v\n%s", r.Err, tail(r.Stderr, 60))
	}
	if !strings.Contains(r.Stdout, "torn down") {
		t.Errorf("run's output does not report the teardown:\n%s", r.Stdout)
	}
	if n := running(job2); n != 0 {
		t.Errorf("%d instance(s) of job %s still running after run", n, job2)
	}
	mustDigest(t, fmt.Sprintf("%s/%s/traefik:1.0.1-arm64", mirror, prefix))
}
