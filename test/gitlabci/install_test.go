//go:build full

package gitlabci_test

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// releaseServer serves a Dagger release as Dagger's download location lays it out:
// VERSION/dagger_vVERSION_linux_ARCH.tar.gz (the CLI at the archive's top) and VERSION/checksums.txt
// (sha256sum lines). The CLI is the one on this machine's PATH (hack/engine builds it from the
// pinned source). With corrupt, the checksum listed is of other bytes. It records the paths asked.
type releaseServer struct {
	*httptest.Server
	mu    sync.Mutex
	asked []string
}

func newReleaseServer(t *testing.T, version string, corrupt bool) *releaseServer {
	t.Helper()
	return newReleaseServerOn(t, "127.0.0.1:0", version, corrupt)
}

// newReleaseServerOn is newReleaseServer listening on addr (HOST:PORT).
func newReleaseServerOn(t *testing.T, addr, version string, corrupt bool) *releaseServer {
	t.Helper()
	cli, err := exec.LookPath("dagger")
	if err != nil {
		t.Fatalf("no dagger on PATH to serve as the release (%v): %s", err, engineHint)
	}
	bin, err := os.ReadFile(cli)
	if err != nil {
		t.Fatal(err)
	}
	var tgz strings.Builder
	zw := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(zw)
	for _, f := range []struct {
		name string
		data []byte
		mode int64
	}{{"LICENSE", []byte("Apache License 2.0\n"), 0o644}, {"dagger", bin, 0o755}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("dagger_v%s_linux_%s.tar.gz", version, runtime.GOARCH)
	sum := sha256.Sum256([]byte(tgz.String()))
	if corrupt {
		sum = sha256.Sum256([]byte("other bytes"))
	}
	checksums := fmt.Sprintf("%s  dagger_v%s_darwin_arm64.tar.gz\n%s  %s\n", strings.Repeat("0", 64), version, hex.EncodeToString(sum[:]), name)
	files := map[string]string{"/" + version + "/" + name: tgz.String(), "/" + version + "/checksums.txt": checksums}
	rs := &releaseServer{}
	rs.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		rs.asked = append(rs.asked, r.URL.Path)
		rs.mu.Unlock()
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the release server cannot listen on %s: %v", addr, err)
	}
	rs.Listener.Close()
	rs.Listener = ln
	rs.Start()
	t.Cleanup(rs.Close)
	return rs
}

// jobEnvWithoutDagger is the job environment (toolEnv) with the directory of dagger taken off
// PATH and binDir put first: the job finds no CLI until it installs one into binDir.
func jobEnvWithoutDagger(t *testing.T, home, binDir string) []string {
	t.Helper()
	cli, err := exec.LookPath("dagger")
	if err != nil {
		t.Fatalf("no dagger on PATH: %s", engineHint)
	}
	var env []string
	for _, kv := range toolEnv(home) {
		name, value, _ := strings.Cut(kv, "=")
		switch {
		case name == "_EXPERIMENTAL_DAGGER_RUNNER_HOST":
		case name == "PATH":
			dirs := []string{binDir}
			for _, d := range filepath.SplitList(value) {
				if _, err := os.Stat(filepath.Join(d, "dagger")); err != nil && d != filepath.Dir(cli) {
					dirs = append(dirs, d)
				}
			}
			env = append(env, "PATH="+strings.Join(dirs, string(os.PathListSeparator)))
		default:
			env = append(env, kv)
		}
	}
	return env
}

// TestJobInstallsTheCLI runs the lint job of .gitlab-ci.yml on a runner whose PATH has no
// dagger, as the Docker executor's docker image has none: the job's before_script downloads
// DAGGER_VERSION's release from DAGGER_DOWNLOAD_URL (a local server laid out as Dagger's
// download location), checks it against checksums.txt, installs it into DAGGER_BIN_DIR, and
// the stage runs with that CLI on the engine. With SHIPYARD_CACHE_REF, as such a job starts a
// fresh engine, that CLI has the engine push the cache of its call to a registry that requires
// a login (the job's CI_REGISTRY_USER and CI_REGISTRY_PASSWORD) as feat-x-lint. A release whose checksum does not match, and an
// empty or wrong download location, fail the job before any stage, naming what to fix, with
// nothing installed.
func TestJobInstallsTheCLI(t *testing.T) {
	gitlabCILocal(t)
	needRsync(t)
	host := needEngine(t)
	files := checkoutFiles(t)
	const version = "0.19.10"

	run := func(t *testing.T, url string, extra map[string]*string) (jobRun, string) {
		t.Helper()
		r := featRepo(t, files, nil)
		binDir := t.TempDir()
		r.env = jobEnvWithoutDagger(t, r.home, binDir)
		vars := map[string]*string{"DAGGER_DOWNLOAD_URL": str(url), "DAGGER_BIN_DIR": str(binDir)}
		for k, v := range extra {
			vars[k] = v
		}
		return r.runDaggerJob(t, "lint", host, vars), binDir
	}

	t.Run("installs the release, runs the stage with it and exports the cache", func(t *testing.T) {
		rs := newReleaseServer(t, version, false)
		const user, password = "gitlab-ci-token", "job-token-for-the-cache"
		cacheRepo := cacheRegistry(t, user, password)
		job, binDir := run(t, rs.URL+"/", map[string]*string{
			"SHIPYARD_CACHE_REF": str(cacheRepo), "CI_REGISTRY_USER": str(user), "CI_REGISTRY_PASSWORD": str(password),
		})
		job.wantPassed(t, host)
		wantCacheExported(t, job, cacheRepo, "feat-x-lint", user, password)
		if _, err := os.Stat(filepath.Join(binDir, "dagger")); err != nil {
			t.Errorf("the job did not install dagger into DAGGER_BIN_DIR: %v", err)
		}
		if !strings.Contains(job.log, "dagger v"+version) {
			t.Errorf("the job's `dagger version` does not report v%s:\n%s", version, tail(job.log, 40))
		}
		want := []string{"/" + version + "/dagger_v" + version + "_linux_" + runtime.GOARCH + ".tar.gz", "/" + version + "/checksums.txt"}
		rs.mu.Lock()
		asked := strings.Join(rs.asked, " ")
		rs.mu.Unlock()
		for _, p := range want {
			if !strings.Contains(asked, p) {
				t.Errorf("the job did not download %s (asked: %s)", p, asked)
			}
		}
	})

	failing := []struct {
		name, url, want string
		corrupt         bool
	}{
		{"a release that does not match its checksum is not installed", "", "does not match the sha256 in", true},
		{"a download location that serves no release names the variable", "/nothing-here", "check DAGGER_DOWNLOAD_URL", false},
		{"an empty download location names the variable", "-", "DAGGER_DOWNLOAD_URL is empty", false},
	}
	// they fail before the CLI exists, so they need no engine time and run side by side
	for _, tc := range failing {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs := newReleaseServer(t, version, tc.corrupt)
			url := rs.URL + tc.url
			if tc.url == "-" {
				url = ""
			}
			job, binDir := run(t, url, nil)
			job.wantStatus(t, "FAIL")
			if job.err == nil {
				t.Errorf("gitlab-ci-local exited 0 although the job failed")
			}
			if !strings.Contains(job.log, "shipyard: ") || !strings.Contains(job.log, tc.want) {
				t.Errorf("the job's log does not say %q:\n%s", tc.want, tail(job.log, 30))
			}
			if strings.Contains(job.log, "stage lint") || strings.Contains(job.log, "dagger v"+version) {
				t.Errorf("the job ran the CLI although it was not installed:\n%s", tail(job.log, 30))
			}
			if _, err := os.Stat(filepath.Join(binDir, "dagger")); err == nil {
				t.Errorf("dagger was installed into DAGGER_BIN_DIR from a bad download")
			}
		})
	}
}
