//go:build full

package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"shipyard/internal/enginever"
	"shipyard/internal/provision"
)

// A stock machine becomes a builder from the user data alone, with nothing built or hosted by the
// user: the script pulls the engine image Dagger publishes (registry.dagger.io/engine:v0.19.10,
// here the mirror's stand-in, through the registry mirror its options name, as an account with a
// pull-through mirror would) and runs the engine from the image's root file system. Its engine,
// reached through Dagger's ssh:// runner host, answers with the pinned version and runs a
// container (the image's runc, CNI plugins and iptables, the docker.io mirror of its config).
func TestUserDataRunsTheEngineImage(t *testing.T) {
	keys, err := provision.NewJobKeys()
	if err != nil {
		t.Fatal(err)
	}
	var relay string
	host := BootFromUserData(t, func(h TestHost) (string, error) {
		relay = h.Registry
		return provision.UserData(provision.Options{
			SSHUser: "admin", Keys: keys, NetworkCIDR: "10.89.0.0/16",
			Registries: []provision.Registry{
				{Host: "registry.dagger.io", Mirrors: []string{h.Registry}},
				{Host: "docker.io", Mirrors: []string{h.Registry}},
				{Host: h.Registry, HTTP: true},
			},
		})
	})
	t.Logf("the first boot printed:\n%s", host.Output)
	for _, step := range []string{
		"2/7 packages: all there",
		"3/7 engine: the image " + enginever.Image + " (from http://" + relay + " https://registry.dagger.io)",
		"pull: " + enginever.Image + " for linux/amd64 is sha256:",
		"unpacked in " + provision.EngineRoot + "/rootfs",
		"5/7 engine", "7/7 ready",
	} {
		if !strings.Contains(host.Output, step) {
			t.Errorf("the user data's output has no %q", step)
		}
	}
	if strings.Contains(host.Output, "engine bundle") {
		t.Error("the test host was given this machine's engine bundle, not the image")
	}

	// the engine process of the test host runs from the image's root file system: its executable
	// is the image's, and its root holds the image's files and none of the machine's
	pids, err := exec.Command("ip", "netns", "pids", host.NS).Output()
	if err != nil {
		t.Fatalf("ip netns pids %s: %v", host.NS, err)
	}
	var engines, others []string
	for _, pid := range strings.Fields(string(pids)) {
		comm, _ := os.ReadFile(filepath.Join("/proc", pid, "comm"))
		if strings.TrimSpace(string(comm)) == "dagger-engine" {
			engines = append(engines, pid)
		} else {
			others = append(others, pid)
		}
	}
	if len(engines) != 1 || len(others) == 0 {
		t.Fatalf("the test host runs %d dagger-engine process(es) (want 1) beside %d others", len(engines), len(others))
	}
	exe, err := os.Stat(filepath.Join("/proc", engines[0], "exe"))
	if err != nil {
		t.Fatal(err)
	}
	// the machine as the test host's other processes (sshd, the watchdog) see it
	imageEngine, err := os.Stat(filepath.Join("/proc", others[0], "root", provision.EngineRoot, "rootfs/usr/local/bin/dagger-engine"))
	if err != nil {
		t.Fatalf("the unpacked image on the test host: %v", err)
	}
	if !os.SameFile(exe, imageEngine) {
		t.Errorf("the engine's executable is not the image's %s/rootfs/usr/local/bin/dagger-engine", provision.EngineRoot)
	}
	engineRoot := filepath.Join("/proc", engines[0], "root")
	if _, err := os.Stat(filepath.Join(engineRoot, "usr/local/bin/dagger-entrypoint.sh")); err != nil {
		t.Errorf("the engine's root is not the image's: %v", err)
	}
	if _, err := os.Stat(filepath.Join(engineRoot, "var/lib/cloud")); err == nil {
		t.Error("the engine sees the machine's own files (/var/lib/cloud): the machine's root was not detached")
	}
	stdout, _ := daggerOverSSH(t, host.SSHHost, host.SSHPort, keys, "core", "version")
	if got := strings.TrimSpace(stdout); got != enginever.Version {
		t.Errorf("the builder's engine answers %q, want %s", got, enginever.Version)
	}
	stdout, _ = daggerOverSSH(t, host.SSHHost, host.SSHPort, keys,
		"core", "container", "from", "--address=debian:bookworm-slim", "with-exec", "--args=cat,/etc/debian_version", "stdout")
	if !strings.HasPrefix(strings.TrimSpace(stdout), "12.") {
		t.Errorf("a container on the builder's engine printed %q, want Debian 12's version", stdout)
	}
}
