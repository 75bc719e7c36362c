package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"dagger.io/dagger"

	"shipyard/internal/enginever"
)

// The engine image users' CLIs and builders pull, Dagger's published enginever.Image, cannot be
// reached here. Its stand-in is made from the pinned source (the binaries hack/engine builds, for
// each platform) on the Debian base, with the published image's entrypoint and layout:
//
//	/usr/local/bin/dagger-entrypoint.sh   the entrypoint: cgroup v2 nesting, open files, then the engine
//	/usr/local/bin/dagger-engine          the engine (--config /etc/dagger/engine.toml)
//	/usr/local/bin/dagger                 the CLI (_EXPERIMENTAL_DAGGER_RUNNER_HOST is the engine's socket)
//	/usr/local/bin/dagger-init            the init of every container the engine runs
//	/usr/local/bin/runc                   the container runtime
//	/usr/bin/dial-stdio, /usr/bin/buildctl the verb the docker-image:// and ssh:// drivers call
//	/opt/cni/bin/{bridge,loopback,firewall,host-local,dnsname}
//	/usr/local/share/dagger/content       the built-in Go SDK runtime image of its platform, chosen by
//	                                      DAGGER_GO_SDK_MANIFEST_DIGEST
//	/etc/dagger/engine.toml, engine.json  the default configurations (replaced by a bind mount)
//	/var/lib/dagger                       the state (a volume)
//
// Runc, the CNI plugins and iptables (legacy, as the published image selects) are Debian's
// packages instead of builds from source. The Go SDK runtime image inside has empty Go caches,
// as the published one has: a fresh engine from this image compiles a module's dependencies, which
// is what users of the published engine pay (the toolchain of hack/engine fills them).

// engineRecipeVersion changes whenever the engine image's recipe below changes.
const engineRecipeVersion = "3"

// engineBinaries are the files hack/engine builds for each platform, by the name they have there.
var engineBinaries = []string{"dagger", "dagger-engine", "dagger-init", "dnsname", "dial-stdio", "codegen"}

// engineEntrypoint is the image's entrypoint. In a container with its own cgroup v2 namespace the
// engine's processes cannot stay in the root group once controllers are delegated, so they move to
// /init first; the engine keeps one SQLite database per client, so it raises its open files.
const engineEntrypoint = `#!/bin/sh
# dagger-entrypoint.sh: start the engine with the image's configuration; arguments are passed on
set -e
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	mkdir -p /sys/fs/cgroup/init
	xargs -rn1 </sys/fs/cgroup/cgroup.procs >/sys/fs/cgroup/init/cgroup.procs || :
	sed -e 's/ / +/g' -e 's/^/+/' </sys/fs/cgroup/cgroup.controllers >/sys/fs/cgroup/cgroup.subtree_control
fi
ulimit -n 1048576 || echo "dagger-entrypoint: cannot raise the open files limit; going on"
exec /usr/local/bin/dagger-engine --config /etc/dagger/engine.toml "$@"
`

// engineDirs are the directories of the engine binaries for each platform: the host's own
// platform (linux/amd64) and the cross-built ones.
type engineDirs struct {
	bin    map[string]string // platform -> directory with engineBinaries
	goroot map[string]string // platform -> a Go tree of that platform
}

// hostFiles are the files the recipe copies from this machine, hashed into its recipe.
func (d engineDirs) hostFiles(platforms []string) []string {
	var files []string
	for _, p := range platforms {
		for _, b := range engineBinaries {
			files = append(files, filepath.Join(d.bin[p], b))
		}
		files = append(files, filepath.Join(d.goroot[p], "VERSION"))
	}
	return files
}

// parseEngineDirs reads -engine-bin / -goroot values: PLATFORM=DIR, comma-separated.
func parseEngineDirs(bins, goroots string) (engineDirs, error) {
	d := engineDirs{bin: map[string]string{}, goroot: map[string]string{}}
	for _, kv := range []struct {
		flag, val string
		into      map[string]string
	}{{"-engine-bin", bins, d.bin}, {"-goroot", goroots, d.goroot}} {
		for _, e := range strings.Split(kv.val, ",") {
			if e == "" {
				continue
			}
			p, dir, ok := strings.Cut(e, "=")
			if !ok || !strings.HasPrefix(p, "linux/") || dir == "" {
				return d, fmt.Errorf("%s %q: want PLATFORM=DIR[,PLATFORM=DIR] (linux/arm64=/path)", kv.flag, e)
			}
			kv.into[p] = dir
		}
	}
	return d, nil
}

// engineStandIn is the mirror's entry for the engine image, built from the binaries in d.
func engineStandIn(d engineDirs) image {
	platforms := []string{"linux/amd64", "linux/arm64"}
	return image{
		Name:      enginever.Image,
		Platforms: platforms,
		StandIn: enginever.Image + ": the engine, its CLI and helpers built from the pinned source on Debian bookworm," +
			" with the published image's entrypoint and layout (recipe " + engineRecipeVersion + ")",
		Build:     (*mirror).engineImage,
		HostFiles: d.hostFiles(platforms),
	}
}

// engineImage is the stand-in of the published engine image for platform p.
func (m *mirror) engineImage(ctx context.Context, p dagger.Platform) (*dagger.Container, error) {
	bin, goroot := m.engine.bin[string(p)], m.engine.goroot[string(p)]
	if bin == "" || goroot == "" {
		return nil, fmt.Errorf("no engine binaries or Go tree for %s: pass -engine-bin %s=DIR -goroot %s=DIR (hack/engine does)", p, p, p)
	}
	file := func(name string) *dagger.File { return m.c.Host().File(filepath.Join(bin, name)) }
	content, err := m.sdkContent(p, goroot, file("codegen"))
	if err != nil {
		return nil, err
	}
	exe := dagger.ContainerWithFileOpts{Permissions: 0o755}
	ctr := m.base(p).
		WithEnvVariable("DEBIAN_FRONTEND", "noninteractive").
		WithExec([]string{"sh", "-c", "apt-get update -q && apt-get install -y -q --no-install-recommends " +
			"runc iptables dnsmasq-base containernetworking-plugins git openssh-client pigz xz-utils ca-certificates " +
			"&& rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log" +
			" && update-alternatives --set iptables /usr/sbin/iptables-legacy" +
			" && update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy" +
			" && ln -s /usr/sbin/runc /usr/local/bin/runc && mkdir -p /opt/cni/bin" +
			" && for p in bridge loopback firewall host-local; do ln -s /usr/lib/cni/$p /opt/cni/bin/$p; done" +
			// as in the published image, no custom CA certificates: the engine installs every file
			// of this directory into every container and runs update-ca-certificates around each
			// exec in an image that has it (15 to 30 s per module function call on 2 cores). The
			// CAs the mirrored base carries are in the image's own bundle since ca-certificates'
			// install, and the images the engine runs (the Go SDK's, the mirrored bases) carry them.
			" && rm -rf /usr/local/share/ca-certificates && mkdir /usr/local/share/ca-certificates"}).
		WithoutEnvVariable("DEBIAN_FRONTEND").
		WithFile("/usr/local/bin/dagger-engine", file("dagger-engine"), exe).
		WithFile("/usr/local/bin/dagger-init", file("dagger-init"), exe).
		WithFile("/usr/local/bin/dagger", file("dagger"), exe).
		WithFile("/usr/bin/dial-stdio", file("dial-stdio"), exe).
		WithFile("/opt/cni/bin/dnsname", file("dnsname"), exe).
		WithExec([]string{"ln", "-s", "/usr/bin/dial-stdio", "/usr/bin/buildctl"}).
		WithNewFile("/usr/local/bin/dagger-entrypoint.sh", engineEntrypoint, dagger.ContainerWithNewFileOpts{Permissions: 0o755}).
		WithNewFile("/etc/dagger/engine.toml", "").
		WithNewFile("/etc/dagger/engine.json", "{}\n").
		WithDirectory("/var/lib/dagger", m.c.Directory()).
		WithDirectory(sdkContentDir, content)
	// the digest the engine loads the Go SDK by is read from the content as the image holds it:
	// an image tarball's index is not reproducible (it carries its creation time), so a digest
	// read from another evaluation of the same recipe (one the engine's cache kept) may name a
	// manifest the image does not hold, and every module load then fails with "content … not found"
	index, err := ctr.File(sdkContentDir + "/index.json").Contents(ctx)
	if err != nil {
		return nil, fmt.Errorf("the Go SDK runtime image for %s: %w", p, err)
	}
	digest, err := firstManifest([]byte(index))
	if err != nil {
		return nil, fmt.Errorf("the Go SDK runtime image for %s: %w", p, err)
	}
	if _, err := ctr.File(sdkContentDir + "/blobs/sha256/" + strings.TrimPrefix(digest, "sha256:")).Size(ctx); err != nil {
		return nil, fmt.Errorf("the Go SDK runtime image for %s: its index names %s, which its content lacks: %w", p, digest, err)
	}
	return ctr.
		WithEnvVariable("DAGGER_GO_SDK_MANIFEST_DIGEST", digest).
		WithEnvVariable("_EXPERIMENTAL_DAGGER_RUNNER_HOST", "unix:///run/dagger/engine.sock").
		WithAnnotation("org.opencontainers.image.version", enginever.Version).
		WithEntrypoint([]string{"dagger-entrypoint.sh"}), nil
}

// sdkContentDir is where the engine image keeps its built-in content.
const sdkContentDir = "/usr/local/share/dagger/content"

// sdkContent is the engine's built-in content for platform p: the Go SDK runtime image (Debian,
// the Go tree goroot, git, openssh, openssl and codegen, with empty Go caches) as an OCI layout.
func (m *mirror) sdkContent(p dagger.Platform, goroot string, codegen *dagger.File) (*dagger.Directory, error) {
	sdk := m.golangFrom(p, goroot, "").
		WithFile("/usr/local/bin/codegen", codegen, dagger.ContainerWithFileOpts{Permissions: 0o755}).
		WithEnvVariable("GOTOOLCHAIN", "auto")
	tarball := sdk.AsTarball(dagger.ContainerAsTarballOpts{ForcedCompression: dagger.ImageLayerCompressionZstd})
	// unpacked on the engine's own platform: a foreign platform's tar would run under emulation
	layout := m.base("linux/amd64").
		WithMountedFile("/sdk.tar", tarball).
		WithExec([]string{"sh", "-c", "mkdir -p /content && tar -xf /sdk.tar -C /content"}).
		Directory("/content")
	return layout, nil
}

// firstManifest is the digest of the first manifest of an OCI index.
func firstManifest(index []byte) (string, error) {
	var idx struct {
		Manifests []struct {
			Digest string `json:"digest"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(index, &idx); err != nil {
		return "", fmt.Errorf("reading index.json: %w", err)
	}
	if len(idx.Manifests) == 0 || !strings.HasPrefix(idx.Manifests[0].Digest, "sha256:") {
		return "", fmt.Errorf("index.json names no sha256 manifest: %s", index)
	}
	return idx.Manifests[0].Digest, nil
}
