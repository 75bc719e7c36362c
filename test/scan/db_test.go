//go:build full

// Package scan tests the parts of the offline vulnerability gate (#31): trivy v0.74.0, built by
// hack/setup-test-deps trivy, scanning with a vulnerability database that hack/vulndb builds here
// with trivy's own builder (trivy-db) and serves from a local registry; never the public one.
//
// The scanned root filesystem is the one the reference app's runtime stage starts FROM: the
// mirror's debian:bookworm-slim (hack/engine debootstraps it), of which the test takes
// os-release and the dpkg status. hack/vulndb makes its fixture advisories for the versions that
// status lists, so the expected installed versions are read from it too.
package scan

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"shipyard/internal/testenv"
)

// trivyVersion is what hack/setup-test-deps pins.
const trivyVersion = "0.74.0"

// vulndbSummary is the part of hack/vulndb's output the test reads.
type vulndbSummary struct {
	Advisories []struct {
		ID, Severity, Package, Installed, Fixed, Title string
	}
	UpdatedAt, NextUpdate time.Time
	Digest                string
}

// report is the part of trivy's JSON report the test reads.
type report struct {
	Results []struct {
		Target          string
		Class           string
		Vulnerabilities []struct {
			VulnerabilityID, PkgName, InstalledVersion, FixedVersion, Status, Severity, Title string
		}
	}
}

func TestTrivyScansWithLocalDB(t *testing.T) {
	trivy, rootfs, repo, db := setUp(t, "trivy-db", "24h")
	if len(db.Advisories) != 2 {
		t.Fatalf("hack/vulndb made %d advisories, want 2: %+v", len(db.Advisories), db.Advisories)
	}
	if !db.NextUpdate.After(time.Now()) {
		t.Errorf("a database built with -update-interval 24h has NextUpdate %s, not in the future", db.NextUpdate)
	}
	noInternet(t)
	cache := t.TempDir()

	// first run: an empty cache, so trivy pulls the database from the local registry
	start := time.Now()
	rep, stderr := scan(t, trivy, cache, rootfs, "--db-repository", repo)
	t.Logf("first scan (pulls the DB): %s", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(stderr, "Downloading vulnerability DB") || !strings.Contains(stderr, repo) {
		t.Errorf("the first scan did not say it downloaded the DB from %s:\n%s", repo, stderr)
	}
	checkFindings(t, rep, db)
	info := dbInfo(t, trivy, cache)
	if !info.UpdatedAt.Equal(db.UpdatedAt) || !info.NextUpdate.Equal(db.NextUpdate) || info.DownloadedAt.IsZero() {
		t.Errorf("trivy version reports the DB %+v, want the one hack/vulndb built (UpdatedAt %s, NextUpdate %s) and a download time",
			info, db.UpdatedAt, db.NextUpdate)
	}

	// second run: --skip-db-update with a repository nothing listens on: the cached DB serves
	start = time.Now()
	closed := fmt.Sprintf("127.0.0.1:%d/trivy-db:2", testenv.ClosedPort(t))
	rep, stderr = scan(t, trivy, cache, rootfs, "--skip-db-update", "--db-repository", closed)
	t.Logf("second scan (--skip-db-update, cached DB): %s", time.Since(start).Round(time.Millisecond))
	if strings.Contains(stderr, "Downloading") {
		t.Errorf("with --skip-db-update trivy still downloaded:\n%s", stderr)
	}
	checkFindings(t, rep, db)
}

// A database past its NextUpdate is used without a word: trivy re-downloads it when it is stale
// (unless it was downloaded in the last hour) and, with --skip-db-update, scans with it as it is.
// Its age shows only in trivy version's VulnerabilityDB, which a gate has to check itself.
func TestTrivyStaleDB(t *testing.T) {
	trivy, rootfs, repo, db := setUp(t, "trivy-db-stale", "-48h")
	if !db.NextUpdate.Before(time.Now().Add(-47 * time.Hour)) {
		t.Fatalf("a database built with -update-interval -48h has NextUpdate %s, want two days ago", db.NextUpdate)
	}
	noInternet(t)
	cache := t.TempDir()
	rep, _ := scan(t, trivy, cache, rootfs, "--db-repository", repo)
	checkFindings(t, rep, db)
	info := dbInfo(t, trivy, cache)
	if !info.NextUpdate.Before(time.Now()) || !info.NextUpdate.Before(info.UpdatedAt) {
		t.Errorf("trivy version reports the stale DB with NextUpdate %s (UpdatedAt %s): want it past and before UpdatedAt",
			info.NextUpdate, info.UpdatedAt)
	}
	// stale, yet downloaded within the hour: trivy keeps it (pkg/db isNewDB) and does not call
	// the registry, here one nothing listens on
	closed := fmt.Sprintf("127.0.0.1:%d/trivy-db:2", testenv.ClosedPort(t))
	rep, stderr := scan(t, trivy, cache, rootfs, "--db-repository", closed)
	if strings.Contains(stderr, "Downloading") {
		t.Errorf("trivy downloaded again a DB it had downloaded within the hour:\n%s", stderr)
	}
	checkFindings(t, rep, db)
	// and with --skip-db-update it says nothing of the DB at all (its log prefix is [vulndb])
	rep, stderr = scan(t, trivy, cache, rootfs, "--skip-db-update", "--db-repository", closed)
	checkFindings(t, rep, db)
	if strings.Contains(stderr, "vulndb") {
		t.Errorf("trivy now speaks of a stale DB with --skip-db-update: a gate may rely on it:\n%s", stderr)
	}
	t.Logf("what trivy prints scanning with a stale DB and --skip-db-update:\n%s", stderr)
}

// setUp finds trivy (waiting for its build), takes the base image's root filesystem, starts a
// registry and pushes to its repository NAME:2 a DB hack/vulndb builds with -update-interval.
func setUp(t *testing.T, name, interval string) (trivy, rootfs, repo string, db vulndbSummary) {
	t.Helper()
	trivy, trivyDB := testenv.Trivy(t)
	checkTrivyVersion(t, trivy)
	rootfs = baseRootfs(t)
	repo = testenv.StartRegistry(t, testenv.ClosedPort(t), "") + "/" + name + ":2"
	return trivy, rootfs, repo, buildDB(t, trivyDB, rootfs, repo, "-update-interval", interval)
}

func checkTrivyVersion(t *testing.T, trivy string) {
	t.Helper()
	out, err := exec.Command(trivy, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Version: "+trivyVersion+"\n") {
		t.Fatalf("%s --version: %v\n%s\nwant trivy %s: hack/setup-test-deps trivy builds it", trivy, err, out, trivyVersion)
	}
}

// baseRootfs writes into a temporary directory the files of the mirror's debian:bookworm-slim
// (linux/amd64) trivy's OS and dpkg analyzers read.
func baseRootfs(t *testing.T) string {
	t.Helper()
	ref, err := name.ParseReference(testenv.Mirror() + "/library/debian:bookworm-slim")
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref, remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}))
	if err != nil {
		t.Fatalf("pulling %s (hack/engine up seeds it): %v", ref, err)
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	dir := t.TempDir()
	want := map[string]bool{"etc/os-release": true, "usr/lib/os-release": true, "etc/debian_version": true, "var/lib/dpkg/status": true}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading %s: %v", ref, err)
		}
		p := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if !want[p] {
			continue
		}
		delete(want, p)
		dst := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		switch h.Typeflag {
		case tar.TypeSymlink:
			err = os.Symlink(h.Linkname, dst)
		case tar.TypeReg:
			var b []byte
			if b, err = io.ReadAll(tr); err == nil {
				err = os.WriteFile(dst, b, 0o644)
			}
		default:
			err = fmt.Errorf("%s is a %c in the image", p, h.Typeflag)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(want) > 0 {
		t.Fatalf("%s lacks %v", ref, want)
	}
	return dir
}

// buildDB runs hack/vulndb with flags: the fixture advisories for rootfs, built by trivy-db and
// pushed to repo.
func buildDB(t *testing.T, trivyDB, rootfs, repo string, flags ...string) vulndbSummary {
	t.Helper()
	start := time.Now()
	cmd := exec.Command("go", append([]string{"run", "./hack/vulndb", "-rootfs", rootfs, "-trivy-db", trivyDB, "-push", repo}, flags...)...)
	cmd.Dir = testenv.Root()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, stderr.String())
	}
	var s vulndbSummary
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("hack/vulndb printed %s: %v", out, err)
	}
	t.Logf("hack/vulndb built and pushed the DB to %s (%s) in %s (with go run's compile)", repo, s.Digest, time.Since(start).Round(time.Millisecond))
	return s
}

// scan runs trivy rootfs offline: the vulnerability scanner only, no Java DB, no version check
// and no telemetry (both off, or trivy calls its update API), no look-ups (--offline-scan).
func scan(t *testing.T, trivy, cache, rootfs string, args ...string) (report, string) {
	t.Helper()
	args = append([]string{"rootfs", "--cache-dir", cache, "--format", "json", "--scanners", "vuln",
		"--skip-java-db-update", "--offline-scan", "--skip-version-check", "--disable-telemetry",
		"--no-progress", "--timeout", "2m"}, args...)
	cmd := exec.Command(trivy, append(args, rootfs)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("trivy %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var r report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("trivy's report: %v\n%s", err, out)
	}
	return r, stderr.String()
}

// checkFindings wants each fixture advisory reported for its package, with the installed and the
// fixed versions and the severity, and no other vulnerability (the DB has no other).
func checkFindings(t *testing.T, r report, db vulndbSummary) {
	t.Helper()
	found := map[string]bool{}
	for _, res := range r.Results {
		for _, v := range res.Vulnerabilities {
			found[v.VulnerabilityID] = true
			var want *struct{ ID, Severity, Package, Installed, Fixed, Title string }
			for i := range db.Advisories {
				if db.Advisories[i].ID == v.VulnerabilityID {
					want = &db.Advisories[i]
				}
			}
			if want == nil {
				t.Errorf("trivy reports %s for %s, which the fixture DB does not hold", v.VulnerabilityID, v.PkgName)
				continue
			}
			if v.PkgName != want.Package || v.InstalledVersion != want.Installed || v.FixedVersion != want.Fixed ||
				v.Severity != want.Severity || v.Status != "fixed" || !strings.Contains(v.Title, "SHIPYARD TEST FIXTURE") {
				t.Errorf("trivy reports %s as %+v, want package %s installed %s fixed %s (status fixed), severity %s, the fixture's title",
					v.VulnerabilityID, v, want.Package, want.Installed, want.Fixed, want.Severity)
			}
		}
	}
	for _, a := range db.Advisories {
		if !found[a.ID] {
			t.Errorf("trivy does not report %s (%s %s, fixed in %s): report %+v", a.ID, a.Package, a.Installed, a.Fixed, r)
		}
	}
}

type dbMeta struct{ UpdatedAt, NextUpdate, DownloadedAt time.Time }

// dbInfo is what trivy version says of the cached vulnerability DB.
func dbInfo(t *testing.T, trivy, cache string) dbMeta {
	t.Helper()
	out, err := exec.Command(trivy, "version", "--cache-dir", cache, "--format", "json").Output()
	if err != nil {
		t.Fatalf("trivy version: %v", err)
	}
	var v struct{ VulnerabilityDB *dbMeta }
	if err := json.Unmarshal(out, &v); err != nil || v.VulnerabilityDB == nil {
		t.Fatalf("trivy version --format json printed %s (%v): no VulnerabilityDB", out, err)
	}
	return *v.VulnerabilityDB
}

// noInternet points the proxy variables at a listener that fails the test on any request: Go's
// HTTP clients, trivy's among them, send all but loopback traffic through them.
func noInternet(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var hosts []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hosts = append(hosts, r.Method+" "+r.Host)
		mu.Unlock()
		http.Error(w, "no internet in this test", http.StatusForbidden)
	})}
	go func() { _ = srv.Serve(l) }()
	proxy := "http://" + l.Addr().String()
	for _, k := range []string{"HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"} {
		t.Setenv(k, proxy)
	}
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")
	t.Cleanup(func() {
		_ = srv.Close()
		mu.Lock()
		defer mu.Unlock()
		if len(hosts) > 0 {
			t.Errorf("trivy reached past the loopback registry: %v", hosts)
		}
	})
}
