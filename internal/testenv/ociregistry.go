package testenv

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
)

// StartOCIRegistry serves, from the test process on 127.0.0.1:port until the test ends, an
// in-memory registry with the OCI 1.1 referrers API (go-containerregistry's), beside Debian's
// docker-registry (StartRegistry), which has none: supply-chain tests cover both kinds. The
// engine speaks plain HTTP to 127.0.0.1:5000-5009.
func StartOCIRegistry(t *testing.T, port int) string {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening on %s for the OCI registry: %v", addr, err)
	}
	srv := &http.Server{Handler: ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)), ggcr.WithReferrersSupport(true))}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("the OCI registry on %s stopped: %v", addr, err)
		}
	}()
	t.Cleanup(func() { _ = srv.Close() })
	return addr
}

// Cosign is the cosign CLI hack/setup-test-deps builds into $SHIPYARD_STATE/bin (on PATH through
// hack/engine env). hack/test builds it in the background while the suite runs: while that build
// is alive ($SHIPYARD_STATE/bin/cosign.building names its process), Cosign waits for it. The test
// fails, never skips, without cosign.
func Cosign(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(os.Getenv("SHIPYARD_STATE"), "bin")
	logged := false
	for {
		if bin, err := exec.LookPath("cosign"); err == nil {
			return bin
		}
		if log, err := os.ReadFile(filepath.Join(dir, "cosign.failed")); err == nil {
			t.Fatalf("building cosign failed (hack/setup-test-deps cosign):\n%s", log)
		}
		pid, err := os.ReadFile(filepath.Join(dir, "cosign.building"))
		n, _ := strconv.Atoi(strings.TrimSpace(string(pid)))
		if err != nil || n <= 0 || syscall.Kill(n, 0) != nil {
			t.Fatalf("cosign is not on PATH and no build of it runs: run hack/setup-test-deps (it builds cosign from the Go module proxy) and eval \"$(hack/engine env)\"")
		}
		if !logged {
			t.Logf("waiting for the background build of cosign (process %d) to finish", n)
			logged = true
		}
		time.Sleep(5 * time.Second)
	}
}
