//go:build full

package ec2

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/crypto/ssh"

	"shipyard/internal/e2c"
	"shipyard/internal/provision"
	"shipyard/internal/testenv"
)

// consoleWorld is an existing builder that no variable names the host key of: a running instance
// (moto) whose public IP leads to a test host of its own, set up once with the provisioning
// script the product renders (as a user sets up an existing builder), and whose console, read
// through the EC2 API (testenv.Consoles in front of moto), is what that test host printed at its
// first boot, the run of the script. flags are a user's, with the client key alone.
type consoleWorld struct {
	client   *ec2.Client
	consoles *testenv.Consoles
	instance string
	hostKey  string // the test host's host key line, the one to pin
	bootLog  string // the test host's first boot output
	flags    []string
}

func newConsoleWorld(t *testing.T) *consoleWorld {
	t.Helper()
	remoteEnv(t) // slot 0 up: its relay of the host registry serves the test host
	motoURL, _ := startMoto(t)
	consoles := testenv.ServeConsoles(t, motoURL)
	u, err := url.Parse(consoles.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
	keys, err := provision.NewJobKeys()
	if err != nil {
		t.Fatal(err)
	}
	relay := "10.99.0.1:" + strings.Split(mirror, ":")[1] // slot 0's relay of the host registry
	regs, err := provision.ParseRegistries(builderMirrors(t, relay), []string{relay})
	if err != nil {
		t.Fatal(err)
	}
	script, err := provision.UserData(provision.Options{SSHUser: "root", Keys: keys, Registries: regs,
		InsecureEntitlements: []string{"security.insecure", "network.host"}, IdleShutdown: -1})
	if err != nil {
		t.Fatal(err)
	}
	host := testenv.Boot(t, script)
	t.Setenv("E2C_SSH_PRIVATE_KEY", keys.ClientPrivate)
	t.Setenv("E2C_SSH_HOST_KEY", "") // not given: pinned from the console
	ctx := context.Background()
	client := testenv.MotoEC2(motoURL)
	template := testenv.ArmLaunchTemplate(t, client)
	run, err := client.RunInstances(ctx, &ec2.RunInstancesInput{LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(template)},
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	cloud := &testenv.Cloud{NS: host.NS, NSIP: host.SSHHost, HostIF: host.HostIF}
	cloud.ServeInstances(t, client)
	// the instance runs, its public IP routed to the test host before setup dials it (a dial to
	// an address not routed yet would hang until the ready timeout)
	for deadline := time.Now().Add(30 * time.Second); len(cloud.Mapped()) == 0; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the public IP of %s was not routed to test host %d within 30s", id, host.Slot)
		}
	}
	dcli, _ := exec.LookPath("dagger")
	w := &consoleWorld{client: client, consoles: consoles, instance: id, hostKey: keys.HostPublic, bootLog: host.Output}
	w.flags = []string{
		"with-arm-instance", "--instance-strategy", "existing", "--instance-id", id,
		"--endpoint", consoles.URL, "--tunnel", "tcp://localhost:" + u.Port(),
		"with-arm-access", "--aws-access-key-id", "env:AWS_ACCESS_KEY_ID", "--aws-secret-access-key", "env:AWS_SECRET_ACCESS_KEY",
		"--ssh-private-key", "env:E2C_SSH_PRIVATE_KEY",
		"--ssh-user", "root", "--ssh-port", fmt.Sprint(host.SSHPort), "--dagger-cli", dcli,
	}
	return w
}

// instanceState is the instance's state as moto reports it.
func (w *consoleWorld) instanceState(t *testing.T) types.InstanceStateName {
	t.Helper()
	out, err := w.client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{w.instance}})
	if err != nil || len(out.Reservations) == 0 || len(out.Reservations[0].Instances) == 0 {
		t.Fatalf("describing %s: %v", w.instance, err)
	}
	return out.Reservations[0].Instances[0].State.Name
}

// wantState fails the test unless the instance is in state want; when says after what.
func (w *consoleWorld) wantState(t *testing.T, want types.InstanceStateName, when string) {
	t.Helper()
	if s := w.instanceState(t); s != want {
		t.Errorf("instance %s is %s %s, want %s", w.instance, s, when, want)
	}
}

// GitLab's phases for an existing builder given E2C_SSH_PRIVATE_KEY alone: setup reads the host
// key the builder printed on its console (GetConsoleOutput) before it connects, pins it and
// writes it into the state file; build logs in with it, without reading the console again, and
// builds the arm64 images on the builder's engine; teardown stops the instance.
func TestExistingBuilderPinsItsHostKeyFromTheConsole(t *testing.T) {
	needEngine(t)
	w := newConsoleWorld(t)
	if !strings.Contains(w.bootLog, "-----BEGIN SSH HOST KEY KEYS-----") {
		t.Fatalf("the test host's first boot printed no host key block:\n%s", tail(w.bootLog, 20))
	}
	w.consoles.Console(w.instance, func() (string, error) { return w.bootLog, nil })
	src := armRepo(t)
	stamp := time.Now().Unix()
	port := strings.Split(mirror, ":")[1]
	build := fmt.Sprintf("10.99.0.1:%s/e2e-console-%d", port, stamp)
	hostBuild := fmt.Sprintf("%s/e2e-console-%d", mirror, stamp)
	gitDir := tagRepo(t, []string{"1.0.0"}, nil)
	config := append([]string{"--source", src, "--bake-file", "arm.hcl", "--git-dir", gitDir, "--project", "e2e",
		"--build-registry", build, "--release-registry", hostBuild + "/rel", "--insecure-registry", "10.99.0.1:" + port, "--arm64", "--arm-builder", "ec2",
		"with-gitlab", "--job-id", "51"}, w.flags...)
	stateDir := t.TempDir()
	stateFile := filepath.Join(stateDir, e2c.StateFileName("51"))

	r := daggerCall(t, 15*time.Minute, append(config, "arm-builder", "--ref", "1.0.0", "--tag", "1.0.0", "setup", "export", "--path", stateFile)...)
	if r.Err != nil {
		t.Fatalf("arm-builder setup: %v\n%s\n%s", r.Err, r.Stdout, tail(r.Stderr, 60))
	}
	want, _, _, _, err := ssh.ParseAuthorizedKey([]byte(w.hostKey))
	if err != nil {
		t.Fatal(err)
	}
	logs := r.Stderr + r.Stdout
	for _, line := range []string{
		"e2c: instance " + w.instance + " printed its SSH host keys on its console: pinning ssh-ed25519 " + ssh.FingerprintSHA256(want),
		"SSH verified with the host key pinned from its console",
	} {
		if !strings.Contains(logs, line) {
			t.Errorf("the setup log lacks %q:\n%s", line, tail(r.Stderr, 40))
		}
	}
	if i, j := strings.Index(logs, "printed its SSH host keys on its console"), strings.Index(logs, "up at "); i < 0 || j < i {
		t.Errorf("the host key was not pinned before the builder was reached:\n%s", tail(r.Stderr, 40))
	}
	st, err := e2c.ReadState(stateFile)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _, _, err := ssh.ParseAuthorizedKey([]byte(st.SSHHostKey)); err != nil || ssh.FingerprintSHA256(got) != ssh.FingerprintSHA256(want) {
		t.Errorf("the state file's host key is %q, want the test host's %s (%v)", st.SSHHostKey, ssh.FingerprintSHA256(want), err)
	}
	if st.SSHPrivateKey != "" || st.InstanceID != w.instance || st.Strategy != e2c.StrategyExisting {
		t.Errorf("state %+v (private key in it: %v), want instance %s of the existing strategy and no private key", st, st.SSHPrivateKey != "", w.instance)
	}
	reads := w.consoles.Reads(w.instance)
	if reads == 0 {
		t.Fatal("setup never read the console through the EC2 API")
	}

	r = daggerCall(t, 30*time.Minute, append(config, "arm-builder", "--ref", "1.0.0", "--tag", "1.0.0", "--state-dir", stateDir, "build")...)
	if r.Err != nil {
		t.Fatalf("arm-builder build: %v\n%s\n%s", r.Err, r.Stdout, tail(r.Stderr, 80))
	}
	if n := w.consoles.Reads(w.instance); n != reads {
		t.Errorf("build read the console %d more times; it takes the pinned key from the state file", n-reads)
	}
	if !strings.Contains(r.Stderr+r.Stdout, "on EC2 builder "+w.instance) {
		t.Errorf("the log does not show the builds on EC2 builder %s:\n%s", w.instance, tail(r.Stderr, 60))
	}
	for _, target := range []string{"traefik", "watchtower"} {
		mustDigest(t, fmt.Sprintf("%s/%s:1.0.0-arm64", hostBuild, target))
	}

	r = daggerCall(t, 10*time.Minute, append(config, "arm-builder", "--ref", "1.0.0", "--tag", "1.0.0", "--state-dir", stateDir, "teardown")...)
	if r.Err != nil {
		t.Fatalf("arm-builder teardown: %v\n%s\n%s", r.Err, r.Stdout, tail(r.Stderr, 40))
	}
	w.wantState(t, types.InstanceStateNameStopped, "after teardown")
}

// A console whose newest boot shows a host key other than the one the builder's sshd presents
// (another machine's console, a key replaced since): setup pins the console's key, so the
// builder's key is refused in the key exchange, before any authentication or command, and
// setup fails naming both keys; teardown stops the instance.
func TestExistingBuilderRefusesAKeyItsConsoleDoesNotShow(t *testing.T) {
	needEngine(t)
	w := newConsoleWorld(t)
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	otherLine := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(other)))
	// a newer boot's block, as cloud-init prints it, with the other key
	w.consoles.Console(w.instance, func() (string, error) {
		return w.bootLog + "\nec2: #############################################################\n" +
			"ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----\n" +
			"ec2: 256 " + ssh.FingerprintSHA256(other) + " root@builder (ED25519)\n" +
			"ec2: -----END SSH HOST KEY FINGERPRINTS-----\n" +
			"ec2: #############################################################\n" +
			"-----BEGIN SSH HOST KEY KEYS-----\n" + otherLine + " root@builder\n-----END SSH HOST KEY KEYS-----\n", nil
	})
	want, _, _, _, err := ssh.ParseAuthorizedKey([]byte(w.hostKey))
	if err != nil {
		t.Fatal(err)
	}
	config := append([]string{"--source", armRepo(t), "--bake-file", "arm.hcl", "--project", "e2e", "--arm64", "--arm-builder", "ec2",
		"with-gitlab", "--job-id", "52"}, w.flags...)
	// setup waits out the whole timeout (the key never matches): long enough for the started
	// host's sshd to come up and answer once on a loaded 2-core machine, short of the default
	config = append(config, "with-arm-provisioning", "--ready-timeout", "75s")
	r := daggerCall(t, 15*time.Minute, append(config, "arm-builder", "--ref", "staging", "setup", "contents")...)
	logs := r.Stderr + r.Stdout
	if r.Err == nil {
		t.Fatalf("setup connected to a builder whose key its console does not show:\n%s", tail(r.Stderr, 40))
	}
	for _, line := range []string{
		"pinning ssh-ed25519 " + ssh.FingerprintSHA256(other),
		"presents host key " + ssh.FingerprintSHA256(want) + ", not the pinned " + ssh.FingerprintSHA256(other),
		"sent nothing",
		"host key mismatch",
	} {
		if !strings.Contains(logs, line) {
			t.Errorf("the setup output lacks %q:\n%s", line, tail(r.Stderr, 40))
		}
	}
	if strings.Contains(logs, "up at ") {
		t.Errorf("setup reports the builder up:\n%s", tail(r.Stderr, 40))
	}
	r = daggerCall(t, 10*time.Minute, append(config, "arm-builder", "--ref", "staging", "teardown")...)
	if r.Err != nil {
		t.Fatalf("arm-builder teardown: %v\n%s\n%s", r.Err, r.Stdout, tail(r.Stderr, 40))
	}
	w.wantState(t, types.InstanceStateNameStopped, "after teardown")
}
