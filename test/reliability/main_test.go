// Package reliability feeds the real CLI (`dagger call …`) bad input and checks that every failure
// names its problem, publishes nothing and never prints a secret.
//
// The tests share the engine and registry tools of the end-to-end tests (hack/engine up). When the
// engine is missing they fail, never skip: the message says how to start it. Each CLI call loads the
// module, so run them with a generous timeout, e.g. `go test -timeout 40m ./test/reliability/`
// (hack/test does).
package reliability

import (
	"bytes"
	"context"
	"flag"
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
)

var (
	repoRoot  string
	engineErr error
)

func TestMain(m *testing.M) {
	flag.Parse()
	// The cases mostly wait for the engine (module loading, registry round trips), not the CPU:
	// run four at a time unless -parallel says otherwise.
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", "4")
	}
	repoRoot = findRoot()
	engineErr = checkEngine()
	os.Exit(m.Run())
}

func findRoot() string {
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

func checkEngine() error {
	if _, err := exec.LookPath("dagger"); err != nil {
		return fmt.Errorf("the dagger CLI is not on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "dagger", "core", "version")
	cmd.Dir = os.TempDir() // outside the module: do not load it just to check the engine
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("dagger core version: %v: %s", err, out)
	}
	return nil
}

// needEngine fails the test (never skips) when no engine answers.
func needEngine(t *testing.T) {
	t.Helper()
	if engineErr != nil {
		t.Fatalf("no Dagger engine: %v\nstart one with: hack/engine up && eval \"$(hack/engine env)\" (or run hack/test)", engineErr)
	}
}

// result is what one dagger CLI run printed.
type result struct {
	Stdout, Stderr string
	Err            error
	Took           time.Duration
}

// all is everything the run printed.
func (r result) all() string { return r.Stdout + "\n" + r.Stderr }

// daggerCall runs `dagger call --progress=plain args…` on the module at the repository root, with
// extra environment variables (NAME=VALUE) for env: secrets.
func daggerCall(t *testing.T, timeout time.Duration, env []string, args ...string) result {
	t.Helper()
	needEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	full := append([]string{"call", "--progress=plain"}, args...)
	cmd := exec.CommandContext(ctx, "dagger", full...)
	cmd.Dir = repoRoot
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	t.Logf("dagger %s: %s (%v)", strings.Join(full, " "), took.Round(time.Second), err)
	return result{Stdout: out.String(), Stderr: errb.String(), Err: err, Took: took}
}

// copyRepo copies the repository's tracked and untracked (not ignored) files into a temp dir.
func copyRepo(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	cmd := exec.Command("sh", "-c", `git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents -p {} "$DST" 2>/dev/null; true`)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "DST="+dst)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("copying the repository: %v: %s", err, out)
	}
	return dst
}

// startRegistry runs Debian's docker-registry on 127.0.0.1:port with its own storage until the
// test ends. With a non-empty htpasswd file it requires HTTP basic authentication.
func startRegistry(t *testing.T, port int, htpasswd string) string {
	t.Helper()
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	conf := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n",
		filepath.Join(dir, "data"), addr)
	if htpasswd != "" {
		conf += fmt.Sprintf("auth:\n  htpasswd:\n    realm: reliability\n    path: %s\n", htpasswd)
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
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
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

// freeRegistryPort finds a free port in the engine's plain-HTTP range (127.0.0.1:5000-5009), for
// registries the engine itself pushes to.
func freeRegistryPort(t *testing.T, from int) int {
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

// closedPort returns a loopback port nothing listens on (a kernel-chosen port, released).
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}
