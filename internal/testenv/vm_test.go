//go:build full && vm

package testenv

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"shipyard/internal/enginever"
	"shipyard/internal/provision"
)

// On a real arm64 machine (a Debian 12 arm64 VM under emulation: Debian's kernel, cloud-init and
// sshd, nothing of ours), the default user data alone makes the builder: cloud-init runs it from
// the NoCloud seed, it pulls the linux/arm64 engine image through the registry mirror and runs the
// engine, an aarch64 executable, which answers through Dagger's ssh:// runner host and runs an
// arm64 container natively. The VM prints its host keys on its serial console as cloud-init does.
//
// Run it with: hack/engine up && hack/remote-engine up && go test -tags 'full vm' -timeout 60m -run Arm64VM -v ./internal/testenv/
// (hack/arm64-vm image builds the VM's disk first when there is none: about 15 minutes).
func TestUserDataRunsTheEngineImageOnArm64VM(t *testing.T) {
	keys, err := provision.NewJobKeys()
	if err != nil {
		t.Fatal(err)
	}
	reg := VMHostAlias + ":5000" // the VM reaches this machine's registry there
	script, err := provision.UserData(provision.Options{
		SSHUser: "admin", Keys: keys, NetworkCIDR: "10.89.0.0/16",
		Registries: []provision.Registry{
			{Host: "registry.dagger.io", Mirrors: []string{reg}},
			{Host: "docker.io", Mirrors: []string{reg}},
			{Host: reg, HTTP: true},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	NeedVMImage(t)
	name := fmt.Sprintf("t%d", time.Now().UnixNano())
	ctx := context.Background()
	started := time.Now()
	h, stop, err := bootVM(ctx, name, "", script, "")
	if stop != nil {
		t.Cleanup(func() {
			if err := stop(); err != nil {
				t.Error(err)
			}
		})
	}
	if err != nil {
		t.Fatal(err)
	}

	// sshd with the job's host key (the image's own keys are refused until the user data
	// replaces them), then the builder's readiness
	dir := t.TempDir()
	key := filepath.Join(dir, "id")
	writeFile(t, key, keys.ClientPrivate, 0o600)
	kh := filepath.Join(dir, "known_hosts")
	writeFile(t, kh, fmt.Sprintf("[%s]:%d %s\n", h.SSHHost, h.SSHPort, keys.HostPublic), 0o644)
	// ssh runs cmd on the VM and returns its standard output (sudo's warnings about the host name
	// go to standard error and into the error)
	ssh := func(cmd string) (string, error) {
		c := exec.Command("ssh", "-F", "none", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "UserKnownHostsFile="+kh,
			"-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
			"-p", fmt.Sprint(h.SSHPort), "admin@"+h.SSHHost, cmd)
		var stderr strings.Builder
		c.Stderr = &stderr
		out, err := c.Output()
		if err != nil {
			err = fmt.Errorf("%v: %s", err, stderr.String())
		}
		return string(out), err
	}
	var sshAt, readyAt time.Duration
	for deadline := time.Now().Add(40 * time.Minute); ; time.Sleep(5 * time.Second) {
		out, err := ssh("test -e " + provision.ReadyFile + " && echo ready || echo waiting")
		if err == nil && sshAt == 0 {
			sshAt = time.Since(started)
		}
		if err == nil && strings.TrimSpace(out) == "ready" {
			readyAt = time.Since(started)
			break
		}
		if time.Now().After(deadline) {
			console, _ := VMConsole(name)
			t.Fatalf("the VM was not ready after 40 minutes (last: %v %s); its console:\n%s", err, out, Tail(console, 60))
		}
	}
	t.Logf("boot -> SSH with the job's host key %s, -> ready %s", sshAt.Round(time.Second), readyAt.Round(time.Second))

	out, err := ssh(`set -e; pid=$(cat /run/dagger-engine.pid 2>/dev/null || pidof dagger-engine); ` +
		`uname -m; sudo od -An -tx1 -j18 -N2 /proc/$(pidof dagger-engine)/exe; sudo readlink /proc/$(pidof dagger-engine)/exe; ` +
		`sudo cat ` + provision.EngineRoot + `/digest`)
	if err != nil {
		t.Fatalf("inspecting the engine on the VM: %v\n%s", err, out)
	}
	f := strings.Fields(out)
	// uname, the ELF e_machine (little-endian 0x00b7: EM_AARCH64), the executable, the image digest
	if len(f) < 5 || f[0] != "aarch64" || f[1] != "b7" || f[2] != "00" || f[3] != "/usr/local/bin/dagger-engine" || !strings.HasPrefix(f[4], "sha256:") {
		t.Errorf("on the VM: %q, want aarch64, an aarch64 ELF engine from the image and its digest", out)
	}

	stdout, _ := daggerOverSSH(t, h.SSHHost, h.SSHPort, keys, "core", "version")
	if strings.TrimSpace(stdout) != enginever.Version {
		t.Errorf("the VM's engine answers %q", stdout)
	}
	stdout, _ = daggerOverSSH(t, h.SSHHost, h.SSHPort, keys,
		"core", "container", "from", "--address=debian:bookworm-slim", "with-exec", "--args=uname,-m", "stdout")
	if strings.TrimSpace(stdout) != "aarch64" {
		t.Errorf("a container on the VM's engine runs on %q, want aarch64", stdout)
	}

	// the host keys cloud-init printed on the serial console (what GetConsoleOutput returns) hold
	// the key sshd presents now: the builder prints its own after replacing the image's
	console, err := VMConsole(name)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(console, "-----BEGIN SSH HOST KEY KEYS-----") || !strings.Contains(console, keys.HostPublic) {
		t.Errorf("the console does not show the builder's host key %s in a cloud-init key block", keys.HostPublic)
	}
}
