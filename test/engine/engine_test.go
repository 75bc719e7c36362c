//go:build full

// Package engine tests hack/engine and hack/mirror on the shared engine the way a user runs them:
// the Go SDK runtime image is reproducible (rebuilt from scratch it has the same digest, so a
// restarted engine keeps its module cache), and `hack/engine up` on a running, current engine
// neither restarts it nor rebuilds anything.
//
// A failure here can restart the shared engine (that is the behaviour under test): run the package
// on its own when other tests are running.
package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"dagger.io/dagger"

	"shipyard/internal/testenv"
)

var (
	root      string
	state     string // $SHIPYARD_STATE of the engine hack/engine runs
	engineErr error
)

func TestMain(m *testing.M) {
	root = testenv.Root()
	state = os.Getenv("SHIPYARD_STATE")
	if state == "" {
		home, _ := os.UserHomeDir()
		state = filepath.Join(home, ".cache", "shipyard")
	}
	engineErr = testenv.CheckEngine()
	os.Exit(m.Run())
}

// connectEngine connects to the engine of hack/engine for at most timeout; the connection closes
// when the test ends.
func connectEngine(t *testing.T, timeout time.Duration) (context.Context, *dagger.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	c, err := dagger.Connect(ctx, dagger.WithLogOutput(io.Discard))
	if err != nil {
		t.Fatalf("connecting to the engine: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return ctx, c
}

// needLocalEngine fails (never skips) unless the engine is the one hack/engine started.
func needLocalEngine(t *testing.T) {
	t.Helper()
	testenv.NeedEngine(t, engineErr)
	if _, err := os.Stat(filepath.Join(state, "engine", "engine.pid")); err != nil {
		t.Fatalf("no engine started by hack/engine in %s (%v): start it with hack/engine up && eval \"$(hack/engine env)\"", state, err)
	}
}

// run runs a command in the repository and returns what it printed, failing the test on an error.
func run(t *testing.T, timeout time.Duration, env []string, name string, args ...string) (string, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = root
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	t.Logf("%s %s: %v (%v)", name, strings.Join(args, " "), took.Round(100*time.Millisecond), err)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, testenv.Tail(out.String(), 40))
	}
	return out.String(), took
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestSDKImageReproducible rebuilds the Go SDK runtime image with every step re-run (not one taken
// from the engine's cache, as on a fresh engine state) and expects the image hack/engine up
// exported from the same tree, to the byte.
func TestSDKImageReproducible(t *testing.T) {
	needLocalEngine(t)
	run(t, 20*time.Minute, nil, "hack/engine", "up")
	want := read(t, filepath.Join(state, "sdk-image", "image.tar.digest"))

	out := filepath.Join(t.TempDir(), "image.tar")
	log, _ := run(t, 20*time.Minute, nil, "go", "run", "./hack/mirror", "-sdk-only", "-rebuild",
		"-registry", registry(), "-codegen", filepath.Join(state, "bin", "codegen"), "-sdk-out", out)
	if !strings.Contains(log, "Setting up gcc") {
		t.Errorf("-rebuild did not run apt-get again (no \"Setting up gcc\" in the log): the test proves nothing\n%s", testenv.Tail(log, 20))
	}
	got := read(t, out+".digest")
	if got != want {
		t.Fatalf("rebuilt Go SDK runtime image: digest %s, want %s (what hack/engine up exported)", got, want)
	}
	if fileHash(t, out) != fileHash(t, filepath.Join(state, "sdk-image", "image.tar")) {
		t.Errorf("same digest %s but the tarballs differ", got)
	}
	if strings.Contains(log, "mirror: building golang") {
		t.Errorf("-sdk-only seeded the mirror:\n%s", testenv.Tail(log, 20))
	}
}

// TestUpKeepsRunningEngine makes hack/engine up export the Go SDK runtime image again (its recipe
// stamp removed, as when the recipe changes or the state is fresh): the image keeps its digest, so
// the running engine is kept. Then up on the running engine takes the fast path: nothing is built,
// the engine is not restarted.
func TestUpKeepsRunningEngine(t *testing.T) {
	needLocalEngine(t)
	run(t, 20*time.Minute, nil, "hack/engine", "up")
	pid := read(t, filepath.Join(state, "engine", "engine.pid"))
	digest := read(t, filepath.Join(state, "engine", "sdk-digest"))

	if err := os.Remove(filepath.Join(state, "sdk-image", "image.tar.recipe")); err != nil {
		t.Fatal(err)
	}
	out, _ := run(t, 20*time.Minute, nil, "hack/engine", "up")
	if !strings.Contains(lastMirrorRun(t), "building the Go SDK runtime image") {
		t.Fatalf("without its recipe stamp the Go SDK runtime image was not exported again:\n%s", lastMirrorRun(t))
	}
	if got := read(t, filepath.Join(state, "sdk-image", "image.tar.digest")); got != digest {
		t.Errorf("exported again, the Go SDK runtime image is %s; the engine runs %s", got, digest)
	}
	if got := read(t, filepath.Join(state, "engine", "engine.pid")); got != pid || !strings.Contains(out, "engine ready (already running)") {
		t.Fatalf("hack/engine up restarted the engine (pid %s, now %s) although its Go SDK image did not change:\n%s", pid, got, out)
	}

	for i := 0; i < 3; i++ {
		out, _ := run(t, time.Minute, nil, "hack/engine", "up")
		if !strings.Contains(out, "engine ready (already running)") {
			t.Fatalf("hack/engine up on the running engine did not take the fast path:\n%s", out)
		}
		if last := lastMirrorRun(t); strings.Contains(last, "building") || strings.Contains(last, "dagger session") {
			t.Fatalf("hack/engine up on the running engine built something:\n%s", last)
		}
	}
	if got := read(t, filepath.Join(state, "engine", "engine.pid")); got != pid {
		t.Fatalf("hack/engine up restarted the engine (pid %s, now %s)", pid, got)
	}
}

// TestModuleCacheSurvivesRestart: after hack/engine down and up, loading the module is served
// from the engine's cache (its codegen exec CACHED), because the restarted engine runs a Go SDK
// runtime image of the same digest. How long that takes is bench/run's (f) and (g), not a test's.
func TestModuleCacheSurvivesRestart(t *testing.T) {
	needLocalEngine(t)
	run(t, 20*time.Minute, nil, "hack/engine", "up")
	run(t, 20*time.Minute, nil, "dagger", "functions") // the module loaded once on this engine
	digest := read(t, filepath.Join(state, "engine", "sdk-digest"))
	pid := read(t, filepath.Join(state, "engine", "engine.pid"))

	run(t, 5*time.Minute, nil, "hack/engine", "down")
	run(t, 20*time.Minute, nil, "hack/engine", "up")
	if got := read(t, filepath.Join(state, "engine", "engine.pid")); got == pid {
		t.Fatalf("hack/engine down and up left the engine running (pid %s): the test proves nothing", pid)
	}
	if got := read(t, filepath.Join(state, "engine", "sdk-digest")); got != digest {
		t.Fatalf("after down and up the engine runs Go SDK image %s, before %s", got, digest)
	}
	out, _ := run(t, 20*time.Minute, nil, "dagger", "-vv", "--progress=plain", "functions")
	if err := codegenCached(out); err != nil {
		t.Fatalf("after hack/engine down and up: %v\n%s", err, testenv.Tail(out, 60))
	}
}

// codegenCached checks in a `dagger -vv --progress=plain` log that the module's codegen exec
// (generate-typedefs, the step that compiles the module on a cold engine) was served from the
// cache: its span ends CACHED, not DONE.
func codegenCached(log string) error {
	id := ""
	for _, l := range strings.Split(log, "\n") {
		span, rest, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		span = strings.TrimSpace(span)
		switch {
		case id == "" && strings.Contains(rest, "withExec codegen generate-typedefs"):
			id = span
		case id != "" && span == id && strings.Contains(rest, "Container.withExec CACHED"):
			return nil
		case id != "" && span == id && strings.Contains(rest, "Container.withExec DONE"):
			return errors.New("the module's codegen ran again (its exec DONE, not CACHED): the engine lost its module cache")
		}
	}
	if id == "" {
		return errors.New("no codegen generate-typedefs exec in the log (did dagger -vv change its output?)")
	}
	return errors.New("the codegen exec's span never ended in the log")
}

// TestContainersTrustTheProxyWithoutEngineCAs: the engine runs natively, and Dagger installs every
// certificate in its /usr/local/share/ca-certificates into every container, running
// update-ca-certificates (seconds) before and after each exec. hack/engine gives it none; a
// container that needs a custom CA (a TLS-intercepting proxy between it and the Go module proxy)
// gets it from the mirrored Debian base, which carries the host's custom CAs exactly when the
// proxy's certificate does not verify with Debian's own bundle. Either way a container of the
// mirrored golang image downloads a module from the Go module proxy over HTTPS.
func TestContainersTrustTheProxyWithoutEngineCAs(t *testing.T) {
	needLocalEngine(t)
	pid := read(t, filepath.Join(state, "engine", "engine.pid"))
	if os.Getenv("SHIPYARD_ENGINE_CA_CERTS") == "" {
		dir := filepath.Join("/proc", pid, "root", "usr", "local", "share", "ca-certificates")
		ents, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("reading the engine's view of /usr/local/share/ca-certificates: %v", err)
		}
		for _, e := range ents {
			t.Errorf("the engine (pid %s) installs %s into every container (and runs update-ca-certificates twice per exec)", pid, e.Name())
		}
	}

	proxy := "proxy.golang.org"
	hostCAs, _ := filepath.Glob("/usr/local/share/ca-certificates/*.crt")
	intercepted := !verifiesWithDebianBundle(t, proxy)
	ctx, c := connectEngine(t, 10*time.Minute)
	base := c.Container().From("debian:bookworm-slim")
	var want []string
	if intercepted {
		for _, f := range hostCAs {
			want = append(want, filepath.Base(f))
		}
	}
	got, err := base.WithExec([]string{"sh", "-c", "ls /usr/local/share/ca-certificates 2>/dev/null || true"}).Stdout(ctx)
	if err != nil {
		t.Fatalf("listing the base image's CA directory: %v", err)
	}
	if strings.Join(strings.Fields(got), " ") != strings.Join(want, " ") {
		t.Errorf("the mirrored debian:bookworm-slim carries CA certificates %q, want %q (intercepted: %v; hack/engine up seeds it again)", strings.Fields(got), want, intercepted)
	}
	// a nonce, so the engine runs the download instead of answering from its cache
	out, err := c.Container().From("golang:1.26-bookworm").
		WithEnvVariable("GOPROXY", "https://"+proxy).
		WithEnvVariable("GOFLAGS", "-modcacherw").
		WithEnvVariable("NONCE", time.Now().String()).
		WithExec([]string{"go", "mod", "download", "-json", "golang.org/x/text@v0.3.8"}).
		Stdout(ctx)
	if err != nil {
		t.Fatalf("a golang container could not download a module from https://%s (intercepted: %v): %v", proxy, intercepted, err)
	}
	if !strings.Contains(out, `"Version": "v0.3.8"`) {
		t.Errorf("go mod download printed no v0.3.8 module:\n%s", out)
	}
}

// verifiesWithDebianBundle tells whether host's TLS certificate chain verifies with the Mozilla
// bundle Debian's ca-certificates ships, and nothing else.
func verifiesWithDebianBundle(t *testing.T, host string) bool {
	t.Helper()
	files, _ := filepath.Glob("/usr/share/ca-certificates/mozilla/*.crt")
	pool := x509.NewCertPool()
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil {
			pool.AppendCertsFromPEM(b)
		}
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 20 * time.Second}, "tcp", host+":443", &tls.Config{RootCAs: pool, ServerName: host})
	if err != nil {
		var unknown x509.UnknownAuthorityError
		if errors.As(err, &unknown) {
			return false
		}
		var verr *tls.CertificateVerificationError
		if errors.As(err, &verr) {
			return false
		}
		t.Fatalf("connecting to %s: %v", host, err)
	}
	conn.Close()
	return true
}

// lastMirrorRun is the log of the last command hack/engine ran in its mirror step.
func lastMirrorRun(t *testing.T) string {
	t.Helper()
	log := read(t, filepath.Join(state, "logs", "mirror.log"))
	return log[strings.LastIndex(log, "\n+ ")+1:]
}

func fileHash(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func registry() string {
	if r := os.Getenv("SHIPYARD_REGISTRY"); r != "" {
		return r
	}
	return "127.0.0.1:5000"
}

// TestSDKImageCompilesOnlyTheRepositorysPackages: in a container of the exported Go SDK runtime
// image, with the module proxy switched off, the module (ci/) builds and `go mod tidy` (what
// codegen runs on every module load) passes, and go compiles nothing but the repository's own
// packages: the standard library, the Go SDK's and the other dependencies' packages come from the
// image's build cache, the modules from its module cache. That is what a fresh engine then skips
// (bench/run l measures it).
func TestSDKImageCompilesOnlyTheRepositorysPackages(t *testing.T) {
	needLocalEngine(t)
	run(t, 20*time.Minute, nil, "hack/engine", "up")
	ctx, c := connectEngine(t, 15*time.Minute)
	src := c.Host().Directory(root, dagger.HostDirectoryOpts{Include: []string{"go.mod", "go.sum", "ci/**", "internal/**"}})
	out, err := c.Container().
		Import(c.Host().File(filepath.Join(state, "sdk-image", "image.tar"))).
		WithDirectory("/src", src).
		WithWorkdir("/src/ci").
		WithEnvVariable("GOPROXY", "off").
		WithEnvVariable("NONCE", time.Now().String()).
		WithExec([]string{"sh", "-c", "go build -v -o /tmp/module . 2>&1 && echo '-- tidy' && GOFLAGS=-mod=mod go mod tidy 2>&1; echo \"-- exit $?\""}).
		Stdout(ctx)
	if err != nil {
		t.Fatalf("running go in the Go SDK runtime image: %v", err)
	}
	if !strings.Contains(out, "-- tidy\n") || !strings.HasSuffix(out, "-- exit 0\n") {
		t.Fatalf("with GOPROXY=off, go build or go mod tidy of the module failed in the Go SDK runtime image:\n%s", testenv.Tail(out, 40))
	}
	out = strings.TrimSuffix(out, "-- exit 0\n")
	built, tidy, _ := strings.Cut(out, "-- tidy\n")
	var own int
	for _, p := range strings.Fields(built) {
		if p == "shipyard/ci" || strings.HasPrefix(p, "shipyard/") {
			own++
			continue
		}
		t.Errorf("go compiled %s, which the image's build cache should hold", p)
	}
	if own == 0 {
		t.Errorf("go build -v listed none of the repository's packages (did it build at all?):\n%s", out)
	}
	if strings.TrimSpace(tidy) != "" {
		t.Errorf("go mod tidy printed something (a module missing from the image's module cache?):\n%s", tidy)
	}
}

func TestCodegenCached(t *testing.T) {
	exec := "44  : ┆ ┆ ┆ withExec codegen generate-typedefs --module-source-path /src/ci --output typedefs.json ("
	for _, tc := range []struct {
		name, log string
		ok        bool
	}{
		{"cached", exec + "\n45  : ┆ ┆ ┆ Container.withExec DONE [0.0s]\n44  : ┆ ┆ ┆ Container.withExec CACHED [0.0s]\n", true},
		{"ran", exec + "\n44  : ┆ ┆ ┆ Container.withExec DONE [25.1s]\n", false},
		{"no codegen", "5   : load module: . DONE [0.6s]\n", false},
		{"never ended", exec + "\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := codegenCached(tc.log); (err == nil) != tc.ok {
				t.Errorf("codegenCached: %v, want ok %v", err, tc.ok)
			}
		})
	}
	// what dagger v0.19.10 printed (NO_COLOR=1 dagger -vv --progress=plain functions, to the end of
	// "load module") on an engine with an empty state and on the same engine again
	for name, ok := range map[string]bool{"functions-vv-cold.log": false, "functions-vv-warm.log": true} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			if err := codegenCached(string(b)); (err == nil) != ok {
				t.Errorf("codegenCached: %v, want ok %v", err, ok)
			}
		})
	}
}

// TestEngineCacheIsCapped: the engine hack/engine starts reports the cap of SHIPYARD_ENGINE_CACHE
// (default 24GB) as its garbage collector's maximum, and a cap that is no size fails
// `hack/engine up` before it touches the running engine, naming the variable.
func TestEngineCacheIsCapped(t *testing.T) {
	needLocalEngine(t)
	run(t, 20*time.Minute, nil, "hack/engine", "up")
	pid := read(t, filepath.Join(state, "engine", "engine.pid"))

	want := int64(24) << 30
	if v := os.Getenv("SHIPYARD_ENGINE_CACHE"); v != "" {
		n, err := strconv.ParseInt(strings.TrimSuffix(v, "GB"), 10, 64)
		if err != nil {
			t.Fatalf("this test reads SHIPYARD_ENGINE_CACHE in GB only, not %q", v)
		}
		want = n << 30
	}
	cmd := exec.Command("dagger", "core", "engine", "local-cache", "max-used-space")
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dagger core engine local-cache max-used-space: %v", err)
	}
	// the value is the last thing the CLI prints on stdout
	fields := strings.Fields(string(out))
	if len(fields) == 0 {
		t.Fatal("dagger core engine local-cache max-used-space printed nothing")
	}
	got, err := strconv.ParseFloat(fields[len(fields)-1], 64)
	if err != nil || int64(got) != want {
		t.Fatalf("the engine's cache may use %q bytes, want %d (SHIPYARD_ENGINE_CACHE): engine.toml's cap did not reach its GC", out, want)
	}

	bad := exec.Command("hack/engine", "up")
	bad.Dir = root
	bad.Env = append(os.Environ(), "SHIPYARD_ENGINE_CACHE=lots")
	msg, err := bad.CombinedOutput()
	if err == nil || !strings.Contains(string(msg), "SHIPYARD_ENGINE_CACHE is the engine cache's cap") {
		t.Fatalf("hack/engine up with SHIPYARD_ENGINE_CACHE=lots: %v, want a failure naming the variable:\n%s", err, msg)
	}
	if got := read(t, filepath.Join(state, "engine", "engine.pid")); got != pid {
		t.Fatalf("a bad SHIPYARD_ENGINE_CACHE restarted the engine (pid %s, now %s)", pid, got)
	}
}
