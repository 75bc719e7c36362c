//go:build full

package engine

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"dagger.io/dagger"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"shipyard/internal/enginever"
)

// engineImage is the published engine image's name; the mirror serves its stand-in under the path
// an engine asks its registry.dagger.io mirror for.
const engineImage = enginever.Image

// TestEngineImageStandIn: the mirror's stand-in of the published engine image has, for linux/amd64
// and linux/arm64, the published image's entrypoint, environment and layout, binaries of its own
// platform, a built-in Go SDK runtime image of its platform that DAGGER_GO_SDK_MANIFEST_DIGEST
// names, and labels that say it is a stand-in.
func TestEngineImageStandIn(t *testing.T) {
	needLocalEngine(t)
	run(t, 30*time.Minute, nil, "hack/engine", "up")
	ref, err := name.ParseReference(registry()+"/engine:"+enginever.Version, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(ref)
	if err != nil {
		t.Fatalf("the mirror does not serve %s as an index (%v): hack/engine up seeds it", engineImage, err)
	}
	for _, want := range []struct {
		arch    string
		machine elf.Machine
	}{{"amd64", elf.EM_X86_64}, {"arm64", elf.EM_AARCH64}} {
		t.Run(want.arch, func(t *testing.T) {
			img := platformImage(t, idx, want.arch)
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(cf.Config.Entrypoint, " "); got != "dagger-entrypoint.sh" {
				t.Errorf("entrypoint %q, want dagger-entrypoint.sh", got)
			}
			if cf.Config.Labels["dev.shipyard.standin"] != "true" || !strings.Contains(cf.Config.Labels["org.opencontainers.image.description"], "stand-in") {
				t.Errorf("not labelled as a stand-in: %v", cf.Config.Labels)
			}
			env := map[string]string{}
			for _, e := range cf.Config.Env {
				k, v, _ := strings.Cut(e, "=")
				env[k] = v
			}
			if env["_EXPERIMENTAL_DAGGER_RUNNER_HOST"] != "unix:///run/dagger/engine.sock" {
				t.Errorf("_EXPERIMENTAL_DAGGER_RUNNER_HOST=%q", env["_EXPERIMENTAL_DAGGER_RUNNER_HOST"])
			}
			sdk := env["DAGGER_GO_SDK_MANIFEST_DIGEST"]
			if !strings.HasPrefix(sdk, "sha256:") {
				t.Fatalf("DAGGER_GO_SDK_MANIFEST_DIGEST=%q", sdk)
			}
			files := readFS(t, img, func(p string) bool {
				return strings.HasPrefix(p, "usr/local/bin/") || p == "usr/bin/dial-stdio" ||
					(strings.HasPrefix(p, "usr/local/share/dagger/content/") && !strings.HasSuffix(p, "/"))
			})
			for _, bin := range []string{"usr/local/bin/dagger-engine", "usr/local/bin/dagger", "usr/local/bin/dagger-init", "usr/bin/dial-stdio"} {
				f, ok := files.regular[bin]
				if !ok {
					t.Errorf("%s is missing", bin)
					continue
				}
				e, err := elf.NewFile(bytes.NewReader(f))
				if err != nil {
					t.Errorf("%s is not an ELF file: %v", bin, err)
					continue
				}
				if e.Machine != want.machine {
					t.Errorf("%s is for %v, want %v", bin, e.Machine, want.machine)
				}
			}
			for link, target := range map[string]string{"usr/bin/buildctl": "/usr/bin/dial-stdio", "usr/local/bin/runc": "/usr/sbin/runc"} {
				if files.links[link] != target {
					t.Errorf("%s -> %q, want %s", link, files.links[link], target)
				}
			}
			for _, p := range []string{"bridge", "loopback", "firewall", "host-local", "dnsname"} {
				if !files.names["opt/cni/bin/"+p] {
					t.Errorf("CNI plugin %s is missing from /opt/cni/bin", p)
				}
			}
			if !files.names["usr/local/bin/dagger-entrypoint.sh"] || !files.names["etc/dagger/engine.toml"] {
				t.Errorf("the entrypoint script or /etc/dagger/engine.toml is missing")
			}
			// the built-in Go SDK runtime image: the digest the environment names, of this platform
			const content = "usr/local/share/dagger/content/"
			manifest, ok := files.regular[content+"blobs/sha256/"+strings.TrimPrefix(sdk, "sha256:")]
			if !ok {
				t.Fatalf("the Go SDK runtime image %s is not in /%s", sdk, content)
			}
			var m v1.Manifest
			if err := json.Unmarshal(manifest, &m); err != nil {
				t.Fatal(err)
			}
			var sdkCfg v1.ConfigFile
			if err := json.Unmarshal(files.regular[content+"blobs/sha256/"+m.Config.Digest.Hex], &sdkCfg); err != nil {
				t.Fatalf("the Go SDK runtime image's config: %v", err)
			}
			if sdkCfg.Architecture != want.arch {
				t.Errorf("the Go SDK runtime image is for %s, want %s", sdkCfg.Architecture, want.arch)
			}
		})
	}
}

// TestEngineImageStandInRuns: the stand-in starts the way Dagger's own drivers start the published
// image (its entrypoint, privileged, a state volume, --addr), and a CLI taken from the image
// runs a container on it, pulled through a registry mirror given in /etc/dagger/engine.toml.
func TestEngineImageStandInRuns(t *testing.T) {
	needLocalEngine(t)
	run(t, 30*time.Minute, nil, "hack/engine", "up")
	ctx, c := connectEngine(t, 10*time.Minute)
	_, port, _ := strings.Cut(registry(), ":")
	mirror := c.Host().Service([]dagger.PortForward{{Frontend: 5000, Backend: atoi(t, port)}})
	cfg := "[registry.\"docker.io\"]\n  mirrors = [\"mirror:5000\"]\n[registry.\"mirror:5000\"]\n  http = true\n  insecure = true\n"
	image := c.Container().From(engineImage)
	engine := image.
		WithServiceBinding("mirror", mirror).
		WithNewFile("/etc/dagger/engine.toml", cfg).
		WithMountedCache("/var/lib/dagger", c.CacheVolume(fmt.Sprintf("standin-engine-%d", time.Now().UnixNano()))).
		WithExposedPort(1234).
		AsService(dagger.ContainerAsServiceOpts{
			Args:                     []string{"--addr", "tcp://0.0.0.0:1234", "--network-name", "standin", "--network-cidr", "10.89.0.0/16"},
			UseEntrypoint:            true,
			InsecureRootCapabilities: true,
		})
	out, err := image.
		WithServiceBinding("engine", engine).
		WithEnvVariable("_EXPERIMENTAL_DAGGER_RUNNER_HOST", "tcp://engine:1234").
		WithEnvVariable("DAGGER_NO_NAG", "1").
		WithEnvVariable("CACHEBUST", time.Now().String()).
		WithExec([]string{"sh", "-c", "dagger core version && echo && dagger core container from --address=debian:bookworm-slim with-exec --args=cat,/etc/debian_version stdout"}).
		Stdout(ctx)
	if err != nil {
		t.Fatalf("the stand-in engine did not run a container: %v", err)
	}
	lines := strings.Fields(out)
	if len(lines) < 2 || lines[0] != enginever.Version || !strings.HasPrefix(lines[len(lines)-1], "12.") {
		t.Fatalf("want the engine's version %s and Debian 12's version from a container it ran, got:\n%s", enginever.Version, out)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil {
		t.Fatalf("port %q: %v", s, err)
	}
	return n
}

// platformImage is the linux/arch image of idx.
func platformImage(t *testing.T, idx v1.ImageIndex, arch string) v1.Image {
	t.Helper()
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		if d.Platform != nil && d.Platform.OS == "linux" && d.Platform.Architecture == arch {
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			return img
		}
	}
	t.Fatalf("no linux/%s image in the index", arch)
	return nil
}

// fsView is an image's flattened file system: every name, symlink targets, and the contents of the
// regular files a filter kept.
type fsView struct {
	names   map[string]bool
	links   map[string]string
	regular map[string][]byte
}

func readFS(t *testing.T, img v1.Image, keep func(string) bool) fsView {
	t.Helper()
	v := fsView{names: map[string]bool{}, links: map[string]string{}, regular: map[string][]byte{}}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return v
		}
		if err != nil {
			t.Fatalf("reading the image's file system: %v", err)
		}
		p := strings.TrimPrefix(h.Name, "./")
		v.names[p] = true
		switch {
		case h.Typeflag == tar.TypeSymlink:
			v.links[p] = h.Linkname
		case h.Typeflag == tar.TypeReg && keep(p):
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			v.regular[p] = b
		}
	}
}

// TestEngineImageAsPublished: the mirror's stand-in of the engine image, which every GitLab
// Docker-executor job starts, keeps /usr/local/share/ca-certificates empty as the published image
// does (a file there is installed into every container, with update-ca-certificates around each
// exec: 15 to 30 s per module call), and its Go SDK digest names a manifest its content holds (a
// module load fails with "content … not found" otherwise).
func TestEngineImageAsPublished(t *testing.T) {
	needLocalEngine(t)
	ctx, c := connectEngine(t, 10*time.Minute)
	img := c.Container().From(enginever.Image)
	cas, err := img.Directory("/usr/local/share/ca-certificates").Entries(ctx)
	if err != nil {
		t.Fatalf("reading %s's /usr/local/share/ca-certificates: %v", enginever.Image, err)
	}
	if len(cas) > 0 {
		t.Errorf("%s carries custom CA certificates %v, which the engine installs into every container: the published image has none (hack/mirror's engine recipe)", enginever.Image, cas)
	}
	digest, err := img.EnvVariable(ctx, "DAGGER_GO_SDK_MANIFEST_DIGEST")
	if err != nil || !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("%s's DAGGER_GO_SDK_MANIFEST_DIGEST: %q (%v)", enginever.Image, digest, err)
	}
	blob := "/usr/local/share/dagger/content/blobs/sha256/" + strings.TrimPrefix(digest, "sha256:")
	if _, err := img.File(blob).Size(ctx); err != nil {
		t.Errorf("%s names Go SDK manifest %s, which its content lacks (%s): %v", enginever.Image, digest, blob, err)
	}
}
