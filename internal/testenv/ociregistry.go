package testenv

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os/exec"
	"testing"

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

// Cosign is the cosign CLI hack/setup-test-deps builds (on PATH through hack/engine env); the
// test fails, never skips, without it.
func Cosign(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("cosign")
	if err != nil {
		t.Fatalf("cosign is not on PATH: run hack/setup-test-deps (it builds cosign from the Go module proxy) and eval \"$(hack/engine env)\"")
	}
	return bin
}
