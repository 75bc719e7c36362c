package testenv

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"shipyard/internal/provision"
)

// ServeLaunchedOnVMs is ServeLaunched with a Debian 12 arm64 virtual machine per instance
// (hack/arm64-vm: qemu-system-aarch64 under emulation, Debian's kernel, cloud-init and sshd,
// nothing of ours) instead of a test host: the user data moto recorded is the VM's NoCloud
// user-data, gzip-compressed as EC2 hands it over; the instance's public IP leads to the VM's
// sshd (DNAT of PUBLIC_IP:22 to its forwarded port); the launch's key pair is the fleet's own
// key, which cloud-init authorises for admin as EC2's metadata would. An instance counts as
// booted once cloud-init has finished (its console says so). When the instance is stopped or
// terminated, the fleet first reads the VM's record with that key (Launched.VM: the engine's
// executable and the engine's own cache), then powers the VM off and deletes it.
//
// hack/arm64-vm image must have built the VM's disk, and hack/remote-engine up must be up (its
// relay address, VMHostAlias, is where a VM reaches this machine).
func ServeLaunchedOnVMs(t *testing.T, api UserDataAPI) *Fleet {
	t.Helper()
	keys, err := provision.NewJobKeys()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	key, pub := filepath.Join(dir, "key_pair"), filepath.Join(dir, "key_pair.pub")
	if err := os.WriteFile(key, []byte(keys.ClientPrivate), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, []byte(keys.ClientPublic+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &Fleet{api: api, cloud: &Cloud{}, log: t.Logf, byID: map[string]*fleetInstance{}, kind: "arm64 VM"}
	f.boot = func(ctx context.Context, fi *fleetInstance, script string) (TestHost, func() error, error) {
		return bootVM(ctx, fi.InstanceID, fi.PublicIP, script, pub)
	}
	f.settle = func(ctx context.Context, fi *fleetInstance, h TestHost) error {
		return waitCloudInit(ctx, fi.InstanceID, fi.gone, 45*time.Minute)
	}
	f.inspect = func(h TestHost) *VMRecord { return readVMRecord(h, key, dir) }
	f.serve(t)
	return f
}

// VMRecord is what a VM's engine had done when its instance went away, read over SSH with the
// fleet's key (sudo for the engine's socket and process) before the VM was powered off.
type VMRecord struct {
	// Machine is the VM's `uname -m`.
	Machine string
	// EnginePID and EngineExe are the engine process and its executable (/proc/PID/exe);
	// EngineELF is that executable's ELF machine: aarch64, x86-64, or e_machine in hex.
	EnginePID int
	EngineExe string
	EngineELF string
	// Cache is the engine's own record of what it built and pulled: its local cache entries.
	Cache []CacheEntry
	// Err is why the record is incomplete.
	Err error
}

// CacheEntry is one entry of an engine's local cache (Dagger's engine.localCache.entrySet).
type CacheEntry struct {
	Description string
	Created     time.Time
}

// waitCloudInit waits until instance name's console shows that cloud-init finished (its final
// stage, which runs the user data, is over), the instance went away, or limit passed.
func waitCloudInit(ctx context.Context, name string, gone <-chan struct{}, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		console, _ := VMConsole(name)
		if strings.Contains(console, "Cloud-init v.") && strings.Contains(console, " finished at ") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cloud-init on the VM of %s did not finish within %s; its console:\n%s", name, limit, Tail(console, 40))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-gone:
			return fmt.Errorf("the instance %s went away before cloud-init finished on its VM", name)
		case <-time.After(3 * time.Second):
		}
	}
}

// readVMRecord reads the VM's engine process and its cache as admin with the key pair's key (the
// harness's own login, not the product's: the VM is this test's machine, so its host key is not
// checked).
func readVMRecord(h TestHost, key, dir string) *VMRecord {
	rec := &VMRecord{}
	sshArgs := []string{"-F", "none", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=no", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "ConnectTimeout=20"}
	out, err := exec.Command("ssh", append(sshArgs, "-p", strconv.Itoa(h.SSHPort), "admin@"+h.SSHHost,
		`set -e; pid=$(pidof dagger-engine | cut -d' ' -f1); echo "$(uname -m) $pid $(sudo -n readlink /proc/$pid/exe)"; `+
			`sudo -n od -An -tx1 -j18 -N2 /proc/$pid/exe`)...).Output()
	if err != nil {
		rec.Err = fmt.Errorf("ssh admin@%s -p %d: %v: %s", h.SSHHost, h.SSHPort, err, exitStderr(err))
		return rec
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	f := strings.Fields(lines[0])
	if len(f) != 3 || len(lines) != 2 {
		rec.Err = fmt.Errorf("the VM answered %q, want MACHINE PID EXE and the ELF machine", out)
		return rec
	}
	rec.Machine, rec.EngineExe = f[0], f[2]
	rec.EnginePID, _ = strconv.Atoi(f[1])
	rec.EngineELF = elfMachine(strings.Fields(lines[1]))

	// the engine's cache through its socket: Dagger's ssh:// runner host, whose ssh runs
	// `buildctl dial-stdio` on the VM; this ssh runs it with sudo (admin is not in the engine's group)
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		rec.Err = err
		return rec
	}
	realSSH, err := exec.LookPath("ssh")
	if err != nil {
		rec.Err = err
		return rec
	}
	wrapper := "#!/bin/sh\n# the command after `-- HOST` runs with sudo\nseen=0\nfor a do\n  shift\n  set -- \"$@\" \"$a\"\n" +
		"  if [ $seen = 1 ]; then set -- \"$@\" sudo -n; seen=2; fi\n  if [ $seen = 0 ] && [ \"$a\" = -- ]; then seen=1; fi\ndone\n" +
		"exec " + realSSH + " " + strings.Join(sshArgs, " ") + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(wrapper), 0o755); err != nil {
		rec.Err = err
		return rec
	}
	dagger, err := exec.LookPath("dagger")
	if err != nil {
		rec.Err = fmt.Errorf("the dagger CLI (hack/engine env puts it on PATH): %w", err)
		return rec
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, dagger, "query")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(`{ engine { localCache { entrySet { entries { description createdTimeUnixNano } } } } }`)
	cmd.Env = append(withoutEnv(os.Environ(), "PATH", "_EXPERIMENTAL_DAGGER_RUNNER_HOST"),
		"PATH="+bin+":"+os.Getenv("PATH"),
		fmt.Sprintf("_EXPERIMENTAL_DAGGER_RUNNER_HOST=ssh://admin@%s:%d%s", h.SSHHost, h.SSHPort, provision.EngineSocket),
		"DAGGER_NO_NAG=1", "DAGGER_NO_UPDATE_CHECK=1", "NO_COLOR=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	if err != nil {
		rec.Err = fmt.Errorf("dagger query of the VM's engine cache: %v\n%s", err, Tail(stderr.String(), 20))
		return rec
	}
	var res struct {
		Engine struct {
			LocalCache struct {
				EntrySet struct {
					Entries []struct {
						Description         string
						CreatedTimeUnixNano json.Number
					}
				}
			}
		}
	}
	if err := json.Unmarshal(out, &res); err != nil {
		rec.Err = fmt.Errorf("the VM engine's cache: %v: %.300s", err, out)
		return rec
	}
	for _, e := range res.Engine.LocalCache.EntrySet.Entries {
		ns, _ := e.CreatedTimeUnixNano.Int64()
		rec.Cache = append(rec.Cache, CacheEntry{Description: e.Description, Created: time.Unix(0, ns)})
	}
	return rec
}

// elfMachine names the ELF e_machine of its two little-endian bytes in hex.
func elfMachine(hex []string) string {
	if len(hex) != 2 {
		return "unreadable"
	}
	var b [2]byte
	for i, h := range hex {
		v, err := strconv.ParseUint(h, 16, 8)
		if err != nil {
			return "unreadable"
		}
		b[i] = byte(v)
	}
	switch m := binary.LittleEndian.Uint16(b[:]); m {
	case 0xb7:
		return "aarch64"
	case 0x3e:
		return "x86-64"
	default:
		return fmt.Sprintf("0x%04x", m)
	}
}

func exitStderr(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}

// withoutEnv is env without the named variables.
func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		keep := true
		for _, n := range names {
			keep = keep && name != n
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}

// NeedVMImage makes sure hack/arm64-vm's disk image is built (it waits for a build under way,
// which hack/test starts in the background, and builds it when there is none: about 15 minutes).
func NeedVMImage(t *testing.T) {
	t.Helper()
	start := time.Now()
	out, err := exec.Command(filepath.Join(Root(), "hack", "arm64-vm"), "image").CombinedOutput()
	if err != nil {
		t.Fatalf("hack/arm64-vm image: %v\n%s", err, Tail(string(out), 30))
	}
	if d := time.Since(start); d > time.Minute {
		t.Logf("the arm64 VM's image was ready after %s", d.Round(time.Second))
	}
}

// EngineMirrors are the main engine's registry mirrors for a builder's engine: every host the
// local mirror serves (engine.toml of hack/engine), as HOST=relay, relay being the same registry
// as the builder reaches it.
func EngineMirrors(relay string) ([]string, error) {
	state, mirror := StateDir(), Mirror()
	b, err := os.ReadFile(filepath.Join(state, "engine", "engine.toml"))
	if err != nil {
		return nil, fmt.Errorf("the main engine's config (hack/engine up): %w", err)
	}
	section := regexp.MustCompile(`^\[registry\."([^"]+)"\]`)
	var host string
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if m := section.FindStringSubmatch(line); m != nil {
			host = m[1]
			continue
		}
		if strings.HasPrefix(line, "mirrors") && strings.Contains(line, `"`+mirror+`"`) && host != "" {
			out = append(out, host+"="+relay)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the main engine's config names no host mirrored by %s", mirror)
	}
	return out, nil
}

// Problems lists what contradicts "this VM's engine built images FROM bases since since": the
// machine and the engine's executable are not aarch64 (the engine image's dagger-engine), or the
// engine's own cache holds no pull of a base made since then. nil for a record that holds up.
func (r *VMRecord) Problems(since time.Time, bases ...string) []string {
	if r == nil {
		return []string{"no record of the VM's engine (was the instance booted on a VM?)"}
	}
	if r.Err != nil {
		return []string{r.Err.Error()}
	}
	var out []string
	if r.Machine != "aarch64" || r.EngineELF != "aarch64" || r.EngineExe != "/usr/local/bin/dagger-engine" {
		out = append(out, fmt.Sprintf("on the VM: machine %s, engine %s (pid %d) an %s executable; want aarch64 and the engine image's aarch64 dagger-engine",
			r.Machine, r.EngineExe, r.EnginePID, r.EngineELF))
	}
	var described []string
	for _, e := range r.Cache {
		described = append(described, e.Description)
	}
	for _, base := range bases {
		name, _, _ := strings.Cut(base, ":")
		found := false
		for _, e := range r.Cache {
			found = found || e.Created.After(since.Add(-time.Minute)) && strings.Contains(strings.ToLower(e.Description), "pull") && strings.Contains(e.Description, name)
		}
		if !found {
			out = append(out, fmt.Sprintf("the VM engine's cache holds no pull of %s made since %s; it holds:\n%s", base, since.Format(time.TimeOnly), strings.Join(described, "\n")))
		}
	}
	return out
}
