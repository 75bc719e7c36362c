//go:build full

package provision

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
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
// with "->", or a directory when the name ends with "/"), all of mode 0755.
func tarLayer(t *testing.T, entries ...[2]string) v1.Layer {
	t.Helper()
	var es []entry
	for _, e := range entries {
		es = append(es, entry{name: e[0], body: e[1], mode: 0o755})
	}
	return layerOf(t, es...)
}

// platformImage is an image of layers for linux/arch with the environment env.
func platformImage(t *testing.T, arch string, env []string, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Config.Env = "linux", arch, env
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// engineIndex is a two-platform image like the engine's: per platform a base layer and one that
// removes, replaces and adds files.
func engineIndex(t *testing.T) v1.ImageIndex {
	t.Helper()
	idx := v1.ImageIndex(empty.Index)
	for _, arch := range []string{"amd64", "arm64"} {
		img := platformImage(t, arch, []string{"PATH=/usr/local/bin:/usr/bin", "DAGGER_GO_SDK_MANIFEST_DIGEST=sha256:" + arch, "QUOTED=it's"},
			tarLayer(t, [2]string{"usr/", ""}, [2]string{"usr/bin/", ""}, [2]string{"usr/bin/dial-stdio", "dial " + arch},
				[2]string{"usr/bin/old", "gone"}, [2]string{"etc/", ""}, [2]string{"etc/cache/", ""}, [2]string{"etc/cache/a", "a"}),
			tarLayer(t, [2]string{"usr/bin/.wh.old", ""}, [2]string{"usr/bin/buildctl", "->/usr/bin/dial-stdio"},
				[2]string{"etc/cache/.wh..wh..opq", ""}, [2]string{"etc/cache/b", "b"}, [2]string{"usr/local/bin/engine", "engine " + arch}))
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
	return runPullEnv(t, nil, args...)
}

// runPullEnv runs the puller with env added to the test's environment.
func runPullEnv(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	script := filepath.Join(t.TempDir(), "pull.py")
	if err := os.WriteFile(script, []byte(puller), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
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

// entry is a layer's member: a regular file of body, a directory when name ends with "/", a
// symlink to X when body is "->X", a hard link to X when body is "=>X" (with X's mode and owner,
// as layer writers give it: Python's tarfile applies a link's own to the file), a FIFO when body
// is "|"; mode 0 is 0644 (0755 for a directory).
type entry struct {
	name, body string
	mode       int64
	uid, gid   int
}

func layerOf(t *testing.T, entries ...entry) v1.Layer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.gid, Typeflag: tar.TypeReg, Size: int64(len(e.body)), Format: tar.FormatPAX}
		switch {
		case strings.HasSuffix(e.name, "/"):
			h.Typeflag, h.Size = tar.TypeDir, 0
		case strings.HasPrefix(e.body, "->"):
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e.body[2:], 0
		case strings.HasPrefix(e.body, "=>"):
			h.Typeflag, h.Linkname, h.Size = tar.TypeLink, e.body[2:], 0
		case e.body == "|":
			h.Typeflag, h.Size = tar.TypeFifo, 0
		}
		if h.Mode == 0 {
			h.Mode = map[bool]int64{true: 0o755, false: 0o644}[h.Typeflag == tar.TypeDir]
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, e.body); err != nil {
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

// tree describes every path under dir: its mode, owner, and its content, symlink target or, for a
// further hard link to a file already seen, that file.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out, seen := map[string]string{}, map[uint64]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		what := ""
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			what = "-> " + l
		case fi.Mode().IsRegular() && seen[st.Ino] != "":
			what = "link to " + seen[st.Ino]
		case fi.Mode().IsRegular():
			seen[st.Ino] = rel
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			what = strconv.Quote(string(b))
		}
		out[rel] = fmt.Sprintf("%v %d:%d %s", fi.Mode(), st.Uid, st.Gid, what)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The same image unpacked by GNU tar (the puller's default), in Python (SHIPYARD_PULL_NO_TAR=1,
// the path a layer takes when tar is missing or fails on it) and by a tar that fails after
// unpacking each layer (Python then applies the layer again) gives the same tree, for each way a
// layer changes its lower layers.
func TestPullerTarAndPython(t *testing.T) {
	for _, tool := range []string{"python3", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (it is on every stock Debian and Ubuntu image)", tool)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("the puller runs as root: owners can only be compared as root")
	}
	var authorized atomic.Int32
	srv, push := tokenRegistry(t, &authorized)
	host := strings.TrimPrefix(push.URL, "http://")
	outside := t.TempDir() // a lower layer's symlink points here; nothing may be written through it
	realTar, _ := exec.LookPath("tar")
	failingTar := t.TempDir()
	script := "#!/bin/sh\n\"" + realTar + "\" \"$@\"\ncase $1 in -x) echo 'tar: broken' >&2; exit 2;; esac\n"
	if err := os.WriteFile(filepath.Join(failingTar, "tar"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		layers [][]entry
		want   map[string]string // path: its description in tree
		gone   []string
	}{
		{"whiteouts", [][]entry{
			{{name: "a/"}, {name: "a/x", body: "x"}, {name: "a/y", body: "y"}, {name: "a/sub/"}, {name: "a/sub/z", body: "z"}, {name: "b", body: "b"}},
			{{name: "a/.wh.x"}, {name: "a/.wh.sub"}, {name: ".wh.b"}, {name: "a/w", body: "w"}},
		}, map[string]string{"a/y": `-rw-r--r-- 0:0 "y"`, "a/w": `-rw-r--r-- 0:0 "w"`}, []string{"a/x", "a/sub", "b", "a/.wh.x", ".wh.b"}},
		{"opaque directory", [][]entry{
			{{name: "d/"}, {name: "d/old", body: "old"}, {name: "d/sub/"}, {name: "d/sub/o", body: "o"}, {name: "e/"}, {name: "e/kept", body: "kept"}},
			{{name: "d/", mode: 0o750}, {name: "d/.wh..wh..opq"}, {name: "d/new", body: "new"}, {name: "e/more", body: "more"}},
		}, map[string]string{"d": "drwxr-x--- 0:0 ", "d/new": `-rw-r--r-- 0:0 "new"`, "e/kept": `-rw-r--r-- 0:0 "kept"`}, []string{"d/old", "d/sub", "d/.wh..wh..opq"}},
		{"directory replaced by a file", [][]entry{
			{{name: "p/"}, {name: "p/q/"}, {name: "p/q/r", body: "r"}, {name: "p2/"}, {name: "p2/s", body: "s"}},
			{{name: "p", body: "now a file"}, {name: "p2", body: "->p"}},
		}, map[string]string{"p": `-rw-r--r-- 0:0 "now a file"`, "p2": "Lrwxrwxrwx 0:0 -> p"}, []string{"p/q", "p2/s"}},
		{"file replaced by a directory", [][]entry{
			{{name: "f", body: "f"}, {name: "g", body: "g", mode: 0o600}},
			{{name: "f/"}, {name: "f/in", body: "in"}, {name: "g/", mode: 0o700}},
		}, map[string]string{"f": "drwxr-xr-x 0:0 ", "f/in": `-rw-r--r-- 0:0 "in"`, "g": "drwx------ 0:0 "}, nil},
		{"symlinks replaced", [][]entry{
			{{name: "s", body: "->target"}, {name: "t/"}, {name: "t/kept", body: "kept"}, {name: "l", body: "->t"}, {name: "e", body: "->" + outside}, {name: "o", body: "o"}},
			{{name: "s", body: "now a file"}, {name: "l/"}, {name: "l/in", body: "in"}, {name: "e/"}, {name: "e/passwd", body: "mine"}, {name: "o", body: "->s"}},
		}, map[string]string{"s": `-rw-r--r-- 0:0 "now a file"`, "l": "drwxr-xr-x 0:0 ", "e/passwd": `-rw-r--r-- 0:0 "mine"`, "o": "Lrwxrwxrwx 0:0 -> s", "t/kept": `-rw-r--r-- 0:0 "kept"`}, []string{"t/in"}},
		{"hard links", [][]entry{
			{{name: "h/"}, {name: "h/a", body: "a", mode: 0o600, uid: 7, gid: 8}, {name: "h/b", body: "=>h/a", mode: 0o600, uid: 7, gid: 8}},
			{{name: "h/c", body: "=>h/a", mode: 0o600, uid: 7, gid: 8}, {name: "h/b", body: "b2"}, {name: "i/"}, {name: "i/d", body: "=>h/a", mode: 0o600, uid: 7, gid: 8}},
		}, map[string]string{"h/a": `-rw------- 7:8 "a"`, "h/b": `-rw-r--r-- 0:0 "b2"`, "h/c": "-rw------- 7:8 link to h/a", "i/d": "-rw------- 7:8 link to h/a"}, nil},
		{"names with spaces, quotes and escapes", [][]entry{
			{{name: "with space/"}, {name: "with space/a file", body: "1"}, {name: "with space/kept file", body: "2"}, {name: `quote"d`, body: "3"},
				{name: `back\slash`, body: "4"}, {name: "tab\tname", body: "5"}, {name: "new\nline", body: "6"}, {name: "é ü", body: "7"}, {name: "arrow -> here", body: "->with space"},
				{name: "hard link to", body: "=>with space/kept file"}},
			{{name: "with space/.wh.a file"}, {name: `.wh.quote"d`}, {name: "new\nline/"}, {name: "é ü/"}, {name: "é ü/x y", body: "8"}, {name: `back\slash`, body: "->tab\tname"}},
		}, map[string]string{"hard link to": `-rw-r--r-- 0:0 "2"`, "with space/kept file": "-rw-r--r-- 0:0 link to hard link to", "with space": "drwxr-xr-x 0:0 ",
			"new\nline": "drwxr-xr-x 0:0 ", "é ü/x y": `-rw-r--r-- 0:0 "8"`, `back\slash`: "Lrwxrwxrwx 0:0 -> tab\tname", "arrow -> here": "Lrwxrwxrwx 0:0 -> with space"},
			[]string{"with space/a file", `quote"d`}},
		{"owners and modes", [][]entry{
			{{name: "priv/", mode: 0o700, uid: 1000, gid: 1000}, {name: "priv/key", body: "k", mode: 0o600, uid: 1000, gid: 1000},
				{name: "bin/"}, {name: "bin/su", body: "su", mode: 0o4755}, {name: "tmp/", mode: 0o1777}, {name: "sg", body: "sg", mode: 0o2711, gid: 50},
				{name: "run/"}, {name: "run/fifo", body: "|", mode: 0o620, uid: 3, gid: 4}},
			{{name: "priv/", mode: 0o750, gid: 1000}, {name: "bin/su", body: "su2", mode: 0o4750, gid: 10}},
		}, map[string]string{"priv": "drwxr-x--- 0:1000 ", "priv/key": `-rw------- 1000:1000 "k"`, "bin/su": `urwxr-x--- 0:10 "su2"`,
			"tmp": "dtrwxrwxrwx 0:0 ", "sg": `grwx--x--x 0:50 "sg"`, "run/fifo": "prw--w---- 3:4 "}, nil},
		{"dot and absolute names", [][]entry{
			{{name: "./"}, {name: "./x/"}, {name: "./x/y", body: "y"}, {name: "./x/z", body: "z"}, {name: "/abs/"}, {name: "/abs/w", body: "w"}},
			{{name: "./x/.wh.y"}, {name: "/abs/.wh.w"}, {name: "/abs/v", body: "v"}},
		}, map[string]string{"x/z": `-rw-r--r-- 0:0 "z"`, "abs/v": `-rw-r--r-- 0:0 "v"`}, []string{"x/y", "abs/w"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var layers []v1.Layer
			for _, l := range tc.layers {
				layers = append(layers, layerOf(t, l...))
			}
			img := platformImage(t, runtime.GOARCH, nil, layers...)
			tag := strings.ReplaceAll(strings.ReplaceAll(tc.name, " ", "-"), ",", "")
			ref, err := name.ParseReference(host+"/dagger/engine:"+tag, name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.Write(ref, img); err != nil {
				t.Fatal(err)
			}
			trees := map[string]map[string]string{}
			for _, way := range []struct {
				name, env, says string
			}{
				{"tar", "SHIPYARD_PULL_NO_TAR=", ""},
				{"python", "SHIPYARD_PULL_NO_TAR=1", "unpacking it in Python (SHIPYARD_PULL_NO_TAR=1)"},
				// tar unpacks the layer, then fails: Python applies it again over what tar left
				{"failing tar", "PATH=" + failingTar + string(os.PathListSeparator) + os.Getenv("PATH"), "unpacking it in Python (tar -x: broken)"},
			} {
				root := t.TempDir()
				out, err := runPullEnv(t, []string{way.env}, "registry.example/dagger/engine:"+tag, root, srv.URL)
				if err != nil {
					t.Fatalf("%s: pull: %v\n%s", way.name, err, out)
				}
				if n := strings.Count(out, "unpacking it in Python"); (way.says == "" && n != 0) || (way.says != "" && strings.Count(out, way.says) != len(layers)) {
					t.Errorf("%s: the log does not say how every layer was unpacked:\n%s", way.name, out)
				}
				trees[way.name] = tree(t, filepath.Join(root, "rootfs"))
			}
			got := trees["tar"]
			for _, way := range []string{"python", "failing tar"} {
				for _, p := range sortedKeys(got, trees[way]) {
					if got[p] != trees[way][p] {
						t.Errorf("%q: tar %q, %s %q", p, got[p], way, trees[way][p])
					}
				}
			}
			for p, want := range tc.want {
				if got[p] != want {
					t.Errorf("%q = %q, want %q", p, got[p], want)
				}
			}
			for _, p := range tc.gone {
				if d, ok := got[p]; ok {
					t.Errorf("%q is there (%s)", p, d)
				}
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 0 {
				t.Errorf("written through a lower layer's symlink out of the root: %v", entries)
			}
		})
	}
}

func sortedKeys(ms ...map[string]string) []string {
	var keys []string
	seen := map[string]bool{}
	for _, m := range ms {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}
