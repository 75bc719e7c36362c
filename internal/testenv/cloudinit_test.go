//go:build full

package testenv

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

	"shipyard/internal/e2c"
	"shipyard/internal/enginever"
	"shipyard/internal/provision"

	"shipyard/internal/awsapi"
)

// A builder launched with the product's user data comes up from that user data alone: the job's
// keys are generated here, the script is rendered, the instance launched on moto with it, and the
// user data moto recorded runs on a test host as cloud-init would, behind the instance's public IP.
// Then the real ssh client, dialling that IP, sees
// exactly the generated host key (and refuses any other), and Dagger's ssh:// runner host reaches,
// through `buildctl dial-stdio`, an engine that answers with the pinned version.
func TestCloudInitBootsTheBuilderFromItsUserData(t *testing.T) {
	keys, err := provision.NewJobKeys()
	if err != nil {
		t.Fatal(err)
	}
	o := provision.Options{
		// the Debian image's login user, which the test host has like a booted image
		SSHUser: "admin",
		Keys:    keys,
		// what a real job would download; on the test host SHIPYARD_BUILDER_ENGINE_URL replaces it
		EngineURL:    "https://artifacts.example.com/dagger-engine-v0.19.10-linux-arm64.tar.gz",
		EngineSHA256: strings.Repeat("0", 64),
		NetworkCIDR:  "10.89.0.0/16",
	}
	script, err := provision.UserData(o)
	if err != nil {
		t.Fatal(err)
	}
	launch, err := provision.LaunchUserData(o) // what the module launches with: the script, gzip-compressed
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("sh", "-n", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("sh -n rejects the user data: %v\n%s", err, out)
	}

	// launch on moto with the user data, as the module's setup does
	ctx := context.Background()
	moto := StartMoto(t)
	client := MotoEC2(moto)
	product, err := awsapi.New("eu-north-1", moto, awsapi.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing-secret"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := e2c.Config{
		Region: "eu-north-1", Strategy: e2c.StrategyTemplate, LaunchTemplateID: ArmLaunchTemplate(t, client),
		Project: "group/cloudinit", PipelineID: "1", JobID: fmt.Sprint(time.Now().UnixNano()),
		TTL: time.Hour, SSHUser: "admin", SSHPort: 22, WaitTimeout: time.Minute, PollInterval: 100 * time.Millisecond,
		UserData: string(launch),
	}
	if err := cfg.Preflight(); err != nil {
		t.Fatal(err)
	}
	mgr := e2c.NewManager(product, cfg, func(l string) { t.Log(l) })
	st, err := mgr.Setup(ctx, nil)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	t.Cleanup(func() { _ = mgr.Teardown(context.Background(), st) })
	recorded, err := InstanceUserData(ctx, client, st.InstanceID)
	if err != nil {
		t.Fatal(err)
	}
	if recorded != script {
		t.Fatalf("moto holds other user data for %s than the one launched with (decompressed as cloud-init does)", st.InstanceID)
	}
	clientBody := strings.Split(strings.TrimSpace(keys.ClientPrivate), "\n")
	if strings.Contains(recorded, strings.Join(clientBody[1:len(clientBody)-1], "\n")) {
		t.Fatal("the user data holds the client's private key")
	}

	// the instance's public IP, as EC2 reports it, leads to the booted test host
	host := CloudInit(t, client, &Cloud{}, st.InstanceID)
	if host.PublicIP != st.PublicIP || host.PublicIP == "" {
		t.Fatalf("the test host answers at %q, want the instance's public IP %q", host.PublicIP, st.PublicIP)
	}
	t.Logf("the first boot printed:\n%s", host.Output)
	for _, step := range []string{"first-boot: the image's sshd presents", "1/7 sshd", "2/7 packages", "3/7 engine: file://", "5/7 engine", "6/7 idle watchdog: power off after 1200s", "7/7 ready"} {
		if !strings.Contains(host.Output, step) {
			t.Errorf("the user data's output has no %q", step)
		}
	}

	dir := t.TempDir()
	key := filepath.Join(dir, "id_builder")
	writeFile(t, key, keys.ClientPrivate, 0o600)

	// the one host key sshd presents is the generated one
	scan, err := exec.Command("ssh-keyscan", "-T", "10", "-p", fmt.Sprint(host.SSHPort), host.PublicIP).Output()
	if err != nil {
		t.Fatalf("ssh-keyscan %s: %v", host.PublicAddr(), err)
	}
	var presented []string
	for _, line := range strings.Split(strings.TrimSpace(string(scan)), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && !strings.HasPrefix(line, "#") {
			presented = append(presented, f[1]+" "+f[2])
		}
	}
	if len(presented) != 1 || presented[0] != keys.HostPublic {
		t.Errorf("sshd at %s presents %q, want only the generated %q", host.PublicAddr(), presented, keys.HostPublic)
	}

	// the real ssh client, pinned to the generated key, logs in with the client key; pinned to
	// another key it refuses the host
	ssh := func(hostKey string, args ...string) (string, error) {
		kh := filepath.Join(dir, "known_hosts")
		writeFile(t, kh, host.PublicIP+" "+hostKey+"\n", 0o644)
		cmd := exec.Command("ssh", append([]string{"-F", "none", "-i", key, "-o", "IdentitiesOnly=yes",
			"-o", "UserKnownHostsFile=" + kh, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
			"-o", "ConnectTimeout=10", "-p", fmt.Sprint(host.SSHPort), "admin@" + host.PublicIP}, args...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := ssh(keys.HostPublic, "test -e "+provision.ReadyFile+" && id -un && command -v buildctl"); err != nil {
		t.Fatalf("ssh with the pinned host key: %v\n%s", err, out)
	} else if got := strings.Fields(out); len(got) != 2 || got[0] != "admin" || got[1] != "/usr/local/bin/buildctl" {
		t.Errorf("on the builder: %q, want the user admin and /usr/local/bin/buildctl", out)
	}
	other, err := provision.NewJobKeys()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := ssh(other.HostPublic, "true"); err == nil || !strings.Contains(out, "Host key verification failed") {
		t.Errorf("ssh pinned to another host key: %v, want a refused host\n%s", err, out)
	}

	// dagger's ssh:// runner host: `ssh -l admin -p 22 -- HOST buildctl --addr unix://SOCK dial-stdio`
	// (admin reaches the engine's socket through the group dagger)
	stdout, stderr := daggerOverSSH(t, host.PublicIP, host.SSHPort, keys, "core", "version")
	if got := strings.TrimSpace(stdout); got != enginever.Version {
		t.Errorf("the builder's engine answers %q, want %s", got, enginever.Version)
	}
	m := regexp.MustCompile(`connected name=(\S+)`).FindStringSubmatch(regexp.MustCompile(`\x1b\[[0-9;]*m`).ReplaceAllString(stderr, ""))
	if m == nil || m[1] != host.EngineName {
		t.Errorf("dagger connected to engine %v, want the test host's %q\n%s", m, host.EngineName, Tail(stderr, 30))
	}
}

// daggerOverSSH runs the dagger CLI with args on the builder at ip:port through Dagger's ssh://
// runner host as admin, with the job's client key and its host key pinned (dagger has no option
// for a key: a wrapper ssh first on PATH adds this test's config).
func daggerOverSSH(t *testing.T, ip string, port int, keys provision.Keys, args ...string) (stdout, stderr string) {
	t.Helper()
	dir := t.TempDir()
	key := filepath.Join(dir, "id_builder")
	writeFile(t, key, keys.ClientPrivate, 0o600)
	cfgFile := filepath.Join(dir, "ssh_config")
	writeFile(t, cfgFile, fmt.Sprintf("Host %s\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n"+
		"  StrictHostKeyChecking yes\n  BatchMode yes\n  ConnectTimeout 5\n", ip, key, filepath.Join(dir, "known_hosts")), 0o644)
	writeFile(t, filepath.Join(dir, "known_hosts"), ip+" "+keys.HostPublic+"\n", 0o644)
	realSSH, err := exec.LookPath("ssh")
	if err != nil {
		t.Fatal(err)
	}
	wrapDir := filepath.Join(dir, "bin")
	if err := os.Mkdir(wrapDir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(wrapDir, "ssh"), fmt.Sprintf("#!/bin/sh\nexec %s -F %s \"$@\"\n", realSSH, cfgFile), 0o755)
	runner := fmt.Sprintf("ssh://admin@%s:%d%s", ip, port, provision.EngineSocket)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, engineDagger(t), append([]string{"-vv", "--progress", "plain"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(withoutEnv(os.Environ(), "PATH", "_EXPERIMENTAL_DAGGER_RUNNER_HOST"),
		"PATH="+wrapDir+":"+os.Getenv("PATH"), "_EXPERIMENTAL_DAGGER_RUNNER_HOST="+runner,
		"DAGGER_NO_NAG=1", "DAGGER_NO_UPDATE_CHECK=1", "NO_COLOR=1")
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("dagger %s on %s: %v\n%s", strings.Join(args, " "), runner, err, Tail(errOut.String(), 30))
	}
	return out.String(), errOut.String()
}

// engineDagger is the dagger CLI hack/engine env names (_EXPERIMENTAL_DAGGER_CLI_BIN).
func engineDagger(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(Root(), "hack", "engine"), "env").Output()
	if err != nil {
		t.Fatalf("hack/engine env: %v (run hack/engine up)", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "export _EXPERIMENTAL_DAGGER_CLI_BIN="); ok {
			return strings.Trim(v, `"`)
		}
	}
	p, err := exec.LookPath("dagger")
	if err != nil {
		t.Fatal("no dagger CLI: hack/engine env names none and none is on PATH")
	}
	return p
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// A provisioned builder nobody uses powers itself off (a launched instance then terminates, its
// shutdown behaviour), so the builder of an interrupted pipeline does not run until its expiry:
// booted from the user data with a 60 s idle limit, it stays up while an SSH session is open,
// then, once no session is left, stops answering (the test image's poweroff stops its sshd and
// engine; the host's is never called).
func TestIdleBuilderPowersItselfOff(t *testing.T) {
	keys, err := provision.NewJobKeys()
	if err != nil {
		t.Fatal(err)
	}
	script, err := provision.UserData(provision.Options{
		SSHUser: "admin", Keys: keys, NetworkCIDR: "10.89.0.0/16", IdleShutdown: time.Minute,
		EngineURL: "https://artifacts.example.com/dagger-engine-v0.19.10-linux-arm64.tar.gz", EngineSHA256: strings.Repeat("0", 64),
	})
	if err != nil {
		t.Fatal(err)
	}
	host := Boot(t, script)
	if !strings.Contains(host.Output, "6/7 idle watchdog: power off after 60s") {
		t.Fatalf("the user data did not start the idle watchdog:\n%s", host.Output)
	}
	dir := t.TempDir()
	key, kh := filepath.Join(dir, "id_builder"), filepath.Join(dir, "known_hosts")
	writeFile(t, key, keys.ClientPrivate, 0o600)
	writeFile(t, kh, host.SSHHost+" "+keys.HostPublic+"\n", 0o644)
	ssh := func(args ...string) *exec.Cmd {
		return exec.Command("ssh", append([]string{"-F", "none", "-i", key, "-o", "IdentitiesOnly=yes",
			"-o", "UserKnownHostsFile=" + kh, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
			"-o", "ConnectTimeout=10", "-p", fmt.Sprint(host.SSHPort), "admin@" + host.SSHHost}, args...)...)
	}

	// the test image's poweroff records when it ran, on the instance's disk (an overlay whose
	// upper directory the host sees)
	state, err := remoteState(filepath.Join(Root(), "hack", "remote-engine"))
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(state, fmt.Sprintf("slot-%d", host.Slot), "instance", "upper", "var", "lib", "cloud", "powered-off")
	poweredOff := func() bool { _, err := os.Stat(marker); return err == nil }

	// a session open for longer than the limit: the builder stays up all along
	session := ssh("sleep 75")
	if err := session.Start(); err != nil {
		t.Fatal(err)
	}
	if err := session.Wait(); err != nil {
		t.Fatalf("the SSH session ended with %v", err)
	}
	if poweredOff() {
		t.Fatal("the builder powered off while an SSH session was open")
	}

	// no session left: it powers off within the limit and a check or two
	deadline := time.Now().Add(5 * time.Minute)
	for !poweredOff() {
		if time.Now().After(deadline) {
			t.Fatal("the idle builder did not power off within 5 minutes of its last session (limit 60 s)")
		}
		time.Sleep(5 * time.Second)
	}
	if err := ssh("true").Run(); err == nil {
		t.Error("the builder still answers SSH after it powered off")
	}
}
