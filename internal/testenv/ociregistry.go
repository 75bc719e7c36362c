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

	"shipyard/internal/scan"
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
	return stateTool(t, "cosign", "cosign")
}

// Trivy is the trivy scanner and trivy-db, the builder of its vulnerability database, that
// hack/setup-test-deps trivy builds into $SHIPYARD_STATE/bin, waited for like Cosign (marker
// $SHIPYARD_STATE/bin/trivy.building).
func Trivy(t *testing.T) (trivy, trivyDB string) {
	t.Helper()
	return stateTool(t, "trivy", "trivy"), stateTool(t, "trivy-db", "trivy")
}

// stateTool finds bin on PATH once no build of hack/setup-test-deps MODE is running (its marker
// $SHIPYARD_STATE/bin/MODE.building names a live process): a build in progress may be replacing
// the binary. A failed build's log ($SHIPYARD_STATE/bin/MODE.failed) fails the test.
func stateTool(t *testing.T, bin, mode string) string {
	t.Helper()
	dir := filepath.Join(os.Getenv("SHIPYARD_STATE"), "bin")
	logged := false
	for {
		pid, err := os.ReadFile(filepath.Join(dir, mode+".building"))
		n, _ := strconv.Atoi(strings.TrimSpace(string(pid)))
		if err == nil && n > 0 && syscall.Kill(n, 0) == nil {
			if !logged {
				t.Logf("waiting for the background build of %s (hack/setup-test-deps %s, process %d) to finish", bin, mode, n)
				logged = true
			}
			time.Sleep(5 * time.Second)
			continue
		}
		if path, err := exec.LookPath(bin); err == nil {
			return path
		}
		if log, err := os.ReadFile(filepath.Join(dir, mode+".failed")); err == nil {
			t.Fatalf("building %s failed (hack/setup-test-deps %s):\n%s", bin, mode, log)
		}
		t.Fatalf("%s is not on PATH and no build of it runs: run hack/setup-test-deps %s (it builds it from the Go module proxy into $SHIPYARD_STATE/bin) and eval \"$(hack/engine env)\"", bin, mode)
	}
}

// ScannerImage seeds the mirror's stand-in of trivy's image (aquasec/trivy:0.74.0, hack/mirror
// -trivy) from the trivy that Trivy waits for, and returns its name. hack/engine seeds it only
// when trivy was already built when it ran: trivy's cold build takes far longer than the engine's
// set-up, and the engine is not kept waiting for it. hack/mirror skips the image when its recipe
// (this binary among it) is what the mirror holds.
func ScannerImage(t *testing.T) string {
	t.Helper()
	trivy, _ := Trivy(t)
	image := scan.DefaultScannerImage
	cmd := exec.Command("go", "run", "./hack/mirror", "-registry", Mirror(), "-root", Root(), "-trivy", trivy, "-only", image)
	cmd.Dir = Root()
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("seeding the scanner image %s: %s: %v\n%s", image, cmd, err, out)
	}
	t.Logf("the scanner image %s is in the mirror (%s)", image, time.Since(start).Round(time.Second))
	return image
}
