package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"shipyard/internal/registry"
)

// startRegistry runs Debian's docker-registry on 127.0.0.1:port with its own storage for one test.
// The engine's config (hack/engine) treats 127.0.0.1:5000-5009 as plain-HTTP registries.
func startRegistry(t *testing.T, port int) string {
	t.Helper()
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := filepath.Join(dir, "config.yml")
	conf := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Fatalf("docker-registry is not installed (apt-get install docker-registry; hack/engine up does it)")
	}
	cmd := exec.Command(bin, "serve", cfg)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logf, _ := os.Create(filepath.Join(dir, "registry.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting docker-registry on %s: %v", addr, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
	})
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			return addr
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("docker-registry did not answer on %s within 15s (port in use? ss -ltnp)", addr)
	return ""
}

// freeRegistryPort finds a free port in the engine's plain-HTTP range.
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

// hostRegistry is a registry client for the test process itself (it sees the host's loopback).
func hostRegistry() *registry.Client {
	return registry.New(registry.WithInsecure("127.0.0.1:*"), registry.WithRetry(1, 100*time.Millisecond))
}

func mustDigest(t *testing.T, ref string) string {
	t.Helper()
	d, err := hostRegistry().Digest(context.Background(), ref)
	if err != nil {
		t.Fatalf("digest of %s: %v", ref, err)
	}
	return d
}
