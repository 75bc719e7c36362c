//go:build full

package provision

import (
	"archive/tar"
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// tarLayer is a layer of the given entries (regular files, or symlinks when the content starts
// with "->", or a directory when the name ends with "/").
func tarLayer(t *testing.T, entries ...[2]string) v1.Layer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e[0], Mode: 0o755, Size: int64(len(e[1])), Typeflag: tar.TypeReg}
		switch {
		case strings.HasSuffix(e[0], "/"):
			h.Typeflag, h.Size = tar.TypeDir, 0
		case strings.HasPrefix(e[1], "->"):
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e[1][2:], 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e[1])); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// engineIndex is a two-platform image like the engine's: per platform a base layer and one that
// removes, replaces and adds files.
func engineIndex(t *testing.T) v1.ImageIndex {
	t.Helper()
	idx := v1.ImageIndex(empty.Index)
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := mutate.AppendLayers(empty.Image,
			tarLayer(t, [2]string{"usr/", ""}, [2]string{"usr/bin/", ""}, [2]string{"usr/bin/dial-stdio", "dial " + arch},
				[2]string{"usr/bin/old", "gone"}, [2]string{"etc/", ""}, [2]string{"etc/cache/", ""}, [2]string{"etc/cache/a", "a"}),
			tarLayer(t, [2]string{"usr/bin/.wh.old", ""}, [2]string{"usr/bin/buildctl", "->/usr/bin/dial-stdio"},
				[2]string{"etc/cache/.wh..wh..opq", ""}, [2]string{"etc/cache/b", "b"}, [2]string{"usr/local/bin/engine", "engine " + arch}))
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = "linux", arch
		cf.Config.Env = []string{"PATH=/usr/local/bin:/usr/bin", "DAGGER_GO_SDK_MANIFEST_DIGEST=sha256:" + arch, "QUOTED=it's"}
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	return idx
}

// tokenRegistry is a registry that asks for an anonymous pull token, as registry.dagger.io and
// Docker Hub do, and counts the requests with the token; push is the same registry without
// authentication, to put the test's image there.
func tokenRegistry(t *testing.T, authorized *atomic.Int32) (srv, push *httptest.Server) {
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	push = httptest.NewServer(reg)
	t.Cleanup(push.Close)
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/token":
			if r.URL.Query().Get("scope") != "repository:dagger/engine:pull" {
				http.Error(w, "scope "+r.URL.Query().Get("scope"), http.StatusBadRequest)
				return
			}
			_, _ = io.WriteString(w, `{"token":"t0k3n"}`)
		case r.Header.Get("Authorization") == "Bearer t0k3n":
			authorized.Add(1)
			reg.ServeHTTP(w, r)
		default:
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+srv.URL+`/token",service="test",scope="repository:dagger/engine:pull"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, push
}

func runPull(t *testing.T, args ...string) (string, error) {
	t.Helper()
	script := filepath.Join(t.TempDir(), "pull.py")
	if err := os.WriteFile(script, []byte(puller), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("python3", append([]string{script}, args...)...).CombinedOutput()
	return string(out), err
}

// The script's puller, run with python3 (full tier: the Go toolchain image of this repository's
// lint stage and of `dagger call check` has no python3) against a registry that wants a token: the mirror that
// does not answer is skipped, the image of this machine's platform is unpacked with its
// whiteouts applied and symlinks kept, its environment is written for sh, a second run does
// nothing, and a pinned digest that is not the image's fails without touching the unpacked one.
func TestPuller(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("python3 is needed (it is on every machine cloud-init runs on): apt-get install python3")
	}
	var authorized atomic.Int32
	srv, push := tokenRegistry(t, &authorized)
	host := strings.TrimPrefix(push.URL, "http://")
	ref, err := name.ParseReference(host+"/dagger/engine:v0.19.10", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx := engineIndex(t)
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	arch := map[string]string{"amd64": "amd64", "arm64": "arm64"}[runtime.GOARCH]
	root := t.TempDir()
	image := "registry.example/dagger/engine:v0.19.10"
	dead := "http://" + closedAddr(t)
	out, err := runPull(t, image, root, dead, srv.URL)
	if err != nil {
		t.Fatalf("pull: %v\n%s", err, out)
	}
	if !strings.Contains(out, "from "+dead+": ") || authorized.Load() == 0 {
		t.Errorf("the dead mirror is not reported, or no request carried the token (%d):\n%s", authorized.Load(), out)
	}
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			return "<" + err.Error() + ">"
		}
		return string(b)
	}
	for p, want := range map[string]string{
		"rootfs/usr/bin/dial-stdio":   "dial " + arch,
		"rootfs/usr/local/bin/engine": "engine " + arch,
		"rootfs/etc/cache/b":          "b",
		"image.env":                   "PATH='/usr/local/bin:/usr/bin'\nDAGGER_GO_SDK_MANIFEST_DIGEST='sha256:" + arch + "'\nQUOTED='it'\\''s'\n",
	} {
		if got := read(p); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	for _, gone := range []string{"rootfs/usr/bin/old", "rootfs/etc/cache/a", "rootfs/usr/bin/.wh.old"} {
		if _, err := os.Lstat(filepath.Join(root, gone)); err == nil {
			t.Errorf("%s is there: a whiteout was not applied", gone)
		}
	}
	if l, err := os.Readlink(filepath.Join(root, "rootfs/usr/bin/buildctl")); err != nil || l != "/usr/bin/dial-stdio" {
		t.Errorf("usr/bin/buildctl -> %q (%v)", l, err)
	}
	// sh reads image.env back as the image's environment
	env, err := exec.Command("sh", "-c", `set -a; . "$0"; printf %s "$QUOTED"`, filepath.Join(root, "image.env")).Output()
	if err != nil || string(env) != "it's" {
		t.Errorf("sh reads QUOTED=%q from image.env (%v)", env, err)
	}
	digest := strings.TrimSpace(read("digest"))
	im, _ := idx.IndexManifest()
	var want, otherPlatform, otherArch string
	for _, d := range im.Manifests {
		if d.Platform.Architecture == arch {
			want = d.Digest.String()
		} else {
			otherPlatform, otherArch = d.Digest.String(), d.Platform.Architecture
		}
	}
	if digest != want {
		t.Errorf("digest %q, want the linux/%s manifest %s", digest, arch, want)
	}

	out, err = runPull(t, image, root, srv.URL)
	if err != nil || !strings.Contains(out, "is already here ("+digest+")") {
		t.Errorf("a second pull: %v\n%s", err, out)
	}

	indexDigest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	out, err = runPull(t, "registry.example/dagger/engine:v0.19.10@"+indexDigest.String(), root, srv.URL)
	if err != nil || !strings.Contains(out, "is already here ("+digest+")") {
		t.Errorf("pinned to the index's digest: %v\n%s", err, out)
	}
	for _, bad := range []struct{ ref, why string }{
		{"registry.example/dagger/engine@sha256:" + strings.Repeat("0", 64), "404"},
		{"registry.example/dagger/engine@" + otherPlatform, "is an image for linux/" + otherArch + ", this machine is linux/" + arch},
	} {
		out, err = runPull(t, bad.ref, root, srv.URL)
		if err == nil || !strings.Contains(out, "no source gave "+bad.ref) || !strings.Contains(out, bad.why) {
			t.Errorf("%s: %v, want %q\n%s", bad.ref, err, bad.why, out)
		}
	}
	if read("rootfs/usr/local/bin/engine") != "engine "+arch || strings.TrimSpace(read("digest")) != digest {
		t.Error("a failed pull changed the unpacked image")
	}
	if entries, _ := os.ReadDir(root); len(entries) != 3 {
		t.Errorf("a failed pull left files behind: %v", entries)
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	return addr
}
