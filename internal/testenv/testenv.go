// Package testenv holds what the end-to-end test packages share: finding the repository, checking
// the engine, running the dagger CLI, copying the repository and starting throwaway registries.
// Only tests import it.
package testenv

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Root is the repository root: $SHIPYARD_ROOT, else the nearest directory up with a dagger.json.
func Root() string {
	if r := os.Getenv("SHIPYARD_ROOT"); r != "" {
		return r
	}
	dir, _ := os.Getwd()
	for dir != "/" {
		if _, err := os.Stat(filepath.Join(dir, "dagger.json")); err == nil {
			return dir
		}
		dir = filepath.Dir(dir)
	}
	return ""
}

// StateDir is hack/engine's state directory: $SHIPYARD_STATE, default ~/.cache/shipyard.
func StateDir() string {
	if state := os.Getenv("SHIPYARD_STATE"); state != "" {
		return state
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "shipyard")
}

// Mirror is hack/engine's local registry, host:port: $SHIPYARD_REGISTRY, default 127.0.0.1:5000.
func Mirror() string {
	if r := os.Getenv("SHIPYARD_REGISTRY"); r != "" {
		return r
	}
	return "127.0.0.1:5000"
}

// CheckEngine tells whether a dagger CLI on PATH reaches an engine (run outside the module, so it
// is not loaded just for the check).
func CheckEngine() error {
	if _, err := exec.LookPath("dagger"); err != nil {
		return fmt.Errorf("the dagger CLI is not on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "dagger", "core", "version")
	cmd.Dir = os.TempDir()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("dagger core version: %v: %s", err, out)
	}
	return nil
}

// NeedEngine fails the test (never skips) when CheckEngine failed, saying how to start one.
func NeedEngine(t *testing.T, engineErr error) {
	t.Helper()
	if engineErr != nil {
		t.Fatalf("no Dagger engine: %v\nstart one with: hack/engine up && eval \"$(hack/engine env)\" (or run hack/test)", engineErr)
	}
}

// Result is what one dagger CLI run printed.
type Result struct {
	Stdout, Stderr string
	Err            error
	Took           time.Duration
}

// All is everything the run printed.
func (r Result) All() string { return r.Stdout + "\n" + r.Stderr }

// Dagger runs the dagger CLI in dir with extra NAME=VALUE environment variables.
//
// A call the engine lost before loading the module (see SessionLost) is run once more: nothing of
// the module ran, so nothing was published, and the verdict stays the product's, not the engine's.
func Dagger(t *testing.T, dir string, timeout time.Duration, env []string, args ...string) Result {
	t.Helper()
	r := daggerOnce(t, dir, timeout, env, args...)
	if r.Err != nil && SessionLost(r.Stderr) {
		t.Logf("the engine lost the CLI's session before loading the module (an engine race, not the module); running the call once more:\n%s", Tail(r.Stderr, 5))
		r = daggerOnce(t, dir, timeout, env, args...)
	}
	return r
}

func daggerOnce(t *testing.T, dir string, timeout time.Duration, env []string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "dagger", args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	t.Logf("dagger %s: %s (%v)", strings.Join(args, " "), took.Round(time.Second), err)
	return Result{Stdout: out.String(), Stderr: errb.String(), Err: err, Took: took}
}

// SessionLost tells whether a failed CLI run's stderr is Dagger v0.19.10's race between
// concurrent clients of one engine: the engine cannot find the CLI's own session while loading the
// module from the local directory ("failed to get configured module: … failed to get requester
// session: session for … not found"). It happens before any function of the module runs.
func SessionLost(stderr string) bool {
	return strings.Contains(stderr, "failed to get configured module") &&
		strings.Contains(stderr, "failed to get requester session") &&
		strings.Contains(stderr, "not found")
}

// CopyRepo copies the repository's tracked and untracked (not ignored) files into a temp dir.
func CopyRepo(t *testing.T, root string) string {
	t.Helper()
	dst := t.TempDir()
	cmd := exec.Command("sh", "-c", `git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents -p {} "$DST" 2>/dev/null; true`)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "DST="+dst)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("copying the repository: %v: %s", err, out)
	}
	return dst
}

// Htpasswd writes an htpasswd file that lets user in with password (a bcrypt hash), for
// StartRegistry.
func Htpasswd(t *testing.T, user, password string) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(path, []byte(user+":"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// StartRegistry runs Debian's docker-registry on 127.0.0.1:port with its own storage until the
// test ends. With a non-empty htpasswd file it requires HTTP basic authentication. The engine's
// config (hack/engine) treats 127.0.0.1:5000-5009 as plain-HTTP registries.
func StartRegistry(t *testing.T, port int, htpasswd string) string {
	t.Helper()
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	conf := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n",
		filepath.Join(dir, "data"), addr)
	if htpasswd != "" {
		conf += fmt.Sprintf("auth:\n  htpasswd:\n    realm: shipyard-tests\n    path: %s\n", htpasswd)
	}
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Fatalf("docker-registry is not installed (apt-get install docker-registry; hack/engine up does it)")
	}
	cmd := exec.Command(bin, "serve", cfg)
	// the registry dies with the test binary, also when go test kills it without running cleanups
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting docker-registry on %s: %v", addr, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		logf.Close()
	})
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			return addr
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "registry.log"))
	t.Fatalf("docker-registry did not answer on %s within 15s (port in use? ss -ltnp): %s", addr, log)
	return ""
}

// FreeRegistryPort finds a free port in the engine's plain-HTTP range (127.0.0.1:5000-5009), for
// registries the engine itself pushes to.
func FreeRegistryPort(t *testing.T, from int) int {
	t.Helper()
	for p := from; p <= 5009; p++ {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			l.Close()
			return p
		}
	}
	t.Fatalf("no free port in 127.0.0.1:%d-5009 for a test registry", from)
	return 0
}

// ClosedPort returns a loopback port nothing listens on (a kernel-chosen port, released).
func ClosedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// Tail is the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
