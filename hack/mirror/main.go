// Command mirror seeds the local registry that stands in for docker.io on an air-gapped machine,
// and exports the Go SDK runtime image the engine needs to run Go modules.
//
// It runs against an engine that already has debian:bookworm-slim in its mirror (hack/engine does
// that first) and skips every image whose recipe has not changed since it was last pushed, and
// the Go SDK runtime image when the tarball was exported from the same recipe. When nothing is to
// be done it does not connect to the engine at all (hack/engine up runs it on every call).
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"dagger.io/dagger"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"shipyard/internal/enginever"
	"shipyard/internal/imageref"
	"shipyard/internal/scan"
)

// recipeLabel carries a hash of the recipe that made an image, so seeding knows when to redo it.
const recipeLabel = "dev.shipyard.mirror.recipe"

// recipeVersion changes whenever the Go-coded recipes below change.
const recipeVersion = "2"

type mirror struct {
	c        *dagger.Client // connected on first use: see connect
	registry string
	root     string
	codegen  string
	engine   engineDirs
	trivy    string // the trivy binary of the scanner's stand-in
}

func main() {
	registry := flag.String("registry", "127.0.0.1:5000", "the mirror registry (host:port)")
	codegen := flag.String("codegen", "", "path of the dagger codegen binary for the Go SDK runtime image")
	sdkOut := flag.String("sdk-out", "", "where to export the Go SDK runtime image as an OCI tarball (empty: skip);\n"+
		"its manifest digest goes to PATH.digest, the hash of its recipe to PATH.recipe")
	sdkOnly := flag.Bool("sdk-only", false, "only build and export the Go SDK runtime image (do not seed the mirror)")
	rebuild := flag.Bool("rebuild", false, "build the Go SDK runtime image again even if PATH.recipe matches, re-running\n"+
		"every step instead of taking it from the engine's cache (what a fresh engine state does)")
	root := flag.String("root", ".", "the repository root (for hack/mirror/standins)")
	engineBin := flag.String("engine-bin", "", "PLATFORM=DIR[,…]: the dagger binaries built for each platform of the engine image's\n"+
		"stand-in ("+enginever.Image+"); empty: the stand-in is not seeded")
	goroot := flag.String("goroot", "", "PLATFORM=DIR[,…]: a Go tree of each platform, for the stand-in's Go SDK runtime image")
	tools := flag.String("tools", "", "a directory for the binaries the mirror's images are made of (syft); empty: those images are not seeded")
	trivyBin := flag.String("trivy", "", "the trivy "+scan.TrivyVersion+" binary (hack/setup-test-deps trivy builds it) for the stand-in of\n"+
		scan.DefaultScannerImage+"; empty: that stand-in is not seeded")
	only := flag.String("only", "", "NAME[,…]: seed only these images of the list (e.g. "+scan.DefaultScannerImage+"); empty: all")
	flag.Parse()
	dirs, err := parseEngineDirs(*engineBin, *goroot)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mirror:", err)
		os.Exit(2)
	}
	if len(dirs.bin) > 0 {
		images = append(images, engineStandIn(dirs))
	}
	if *tools != "" && !*sdkOnly {
		bin, err := buildSyft(*tools)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mirror:", err)
			os.Exit(1)
		}
		images = append(images, syftStandIn(bin))
	}
	if *trivyBin != "" {
		images = append(images, trivyStandIn(*trivyBin))
	}
	if images, err = selectImages(images, *only); err != nil {
		fmt.Fprintln(os.Stderr, "mirror:", err)
		os.Exit(2)
	}
	m := &mirror{registry: *registry, root: *root, codegen: *codegen, engine: dirs, trivy: *trivyBin}
	err = m.run(context.Background(), *sdkOut, *sdkOnly, *rebuild)
	m.close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mirror:", err)
		os.Exit(1)
	}
}

func (m *mirror) run(ctx context.Context, sdkOut string, sdkOnly, rebuild bool) error {
	if !sdkOnly {
		for _, img := range images {
			if err := m.seed(ctx, img); err != nil {
				return fmt.Errorf("seeding %s: %w", img.Name, err)
			}
		}
	}
	if sdkOut != "" {
		if err := m.exportSDK(ctx, sdkOut, rebuild); err != nil {
			return fmt.Errorf("exporting the Go SDK runtime image: %w", err)
		}
	}
	return nil
}

// connect connects to the engine the first time something has to be built.
func (m *mirror) connect(ctx context.Context) error {
	if m.c != nil {
		return nil
	}
	c, err := dagger.Connect(ctx, dagger.WithLogOutput(os.Stderr))
	if err != nil {
		return fmt.Errorf("connecting to the engine: %w (is it up? hack/engine status)", err)
	}
	m.c = c
	return nil
}

func (m *mirror) close() {
	if m.c != nil {
		m.c.Close()
		m.c = nil
	}
}

// ref is where an image name lives in the mirror (the docker.io layout). A name on another
// registry (registry.dagger.io/engine:…) keeps its path without the host: the engine mirrors that
// registry to this one too (hack/engine's engine.toml), and a mirror is asked for the same path.
func (m *mirror) ref(imageName string) string {
	r, err := imageref.Parse(imageName)
	if err != nil {
		return m.registry + "/" + imageName // its publish fails and names it
	}
	if r.Host == "" && !strings.Contains(r.Path, "/") {
		r.Path = "library/" + r.Path
	}
	r.Host = m.registry
	return r.String()
}

func (m *mirror) base(platform dagger.Platform) *dagger.Container {
	return m.c.Container(dagger.ContainerOpts{Platform: platform}).From("debian:bookworm-slim")
}

func (m *mirror) seed(ctx context.Context, img image) error {
	recipe, err := m.recipeHash(img)
	if err != nil {
		return err
	}
	// the Debian base is part of what an image is made from: a base seeded again (another set of
	// CA certificates, a newer Debian) rebuilds every image on it
	base, err := m.baseDigest()
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(recipe + " " + base))
	hash := hex.EncodeToString(sum[:])[:16]
	ref := m.ref(img.Name)
	if m.upToDate(ref, hash) {
		fmt.Fprintf(os.Stderr, "mirror: %s is up to date\n", img.Name)
		return nil
	}
	if err := m.connect(ctx); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "mirror: building %s for %s\n", img.Name, strings.Join(img.Platforms, ", "))
	variants := make([]*dagger.Container, 0, len(img.Platforms))
	for _, p := range img.Platforms {
		ctr, err := m.build(ctx, img, dagger.Platform(p))
		if err != nil {
			return err
		}
		variants = append(variants, ctr.
			WithLabel("org.opencontainers.image.description", "offline stand-in for "+img.StandIn).
			WithLabel("dev.shipyard.standin", "true").
			WithLabel(recipeLabel, hash))
	}
	_, err = m.c.Container().Publish(ctx, ref, dagger.ContainerPublishOpts{PlatformVariants: variants})
	return err
}

func (m *mirror) build(ctx context.Context, img image, p dagger.Platform) (*dagger.Container, error) {
	if img.Build != nil {
		return img.Build(m, ctx, p)
	}
	dir := m.c.Host().Directory(filepath.Join(m.root, "hack/mirror/standins", img.Dir))
	return dir.DockerBuild(dagger.DirectoryDockerBuildOpts{Platform: p}), nil
}

// upToDate tells whether ref exists and was made from the same recipe. A one-platform image is
// pushed as a manifest, not an index: remote.Image reads either (linux/amd64 of an index; every
// image has that platform).
func (m *mirror) upToDate(ref, hash string) bool {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return false
	}
	im, err := remote.Image(r)
	if err != nil {
		return false
	}
	cf, err := im.ConfigFile()
	return err == nil && cf.Config.Labels[recipeLabel] == hash
}

// recipeHash covers the recipe's files (or the Go recipe's version), the host files it reads and
// its platforms.
func (m *mirror) recipeHash(img image) (string, error) {
	h := sha256.New()
	fmt.Fprintln(h, recipeVersion, img.Name, img.StandIn, strings.Join(img.Platforms, ","))
	var files []string
	if img.Dir != "" {
		dir := filepath.Join(m.root, "hack/mirror/standins", img.Dir)
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			return "", fmt.Errorf("reading the recipe %s: %w", dir, err)
		}
		sort.Strings(files)
	}
	for _, f := range append(files, img.HostFiles...) {
		// the path relative to the recipe's directory, so a clone elsewhere hashes the same
		rel := strings.TrimPrefix(f, filepath.Join(m.root, "hack/mirror/standins")+"/")
		fmt.Fprintln(h, rel)
		if err := copyFile(h, f); err != nil {
			return "", fmt.Errorf("reading the recipe of %s: %w", img.Name, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// copyFile writes the file at path to w.
func copyFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// golang is Debian with the host's Go toolchain: the same Go that builds this project.
func (m *mirror) golang(_ context.Context, p dagger.Platform) (*dagger.Container, error) {
	return m.golangBuild(p, ""), nil
}

// golangBuild is golang; a non-empty nonce makes the engine run its steps again instead of
// answering from its cache (the nonce is not left in the image).
func (m *mirror) golangBuild(p dagger.Platform, nonce string) *dagger.Container {
	return m.golangFrom(p, "/usr/local/go", nonce)
}

// golangFrom is Debian with the Go toolchain of this machine's directory goroot (the host's own,
// or another platform's from the Go module proxy).
func (m *mirror) golangFrom(p dagger.Platform, goroot, nonce string) *dagger.Container {
	tree := m.c.Host().Directory(goroot, dagger.HostDirectoryOpts{Exclude: []string{"test", "doc", "api", "misc"}})
	ctr := m.base(p).WithEnvVariable("DEBIAN_FRONTEND", "noninteractive")
	if nonce != "" {
		ctr = ctr.WithEnvVariable("SHIPYARD_REBUILD", nonce)
	}
	ctr = ctr.WithExec([]string{"sh", "-c", "apt-get update -q && apt-get install -y -q --no-install-recommends ca-certificates git openssh-client openssl gcc libc6-dev && rm -rf /var/lib/apt/lists/*"})
	if nonce != "" {
		ctr = ctr.WithoutEnvVariable("SHIPYARD_REBUILD")
	}
	return ctr.
		WithDirectory("/usr/local/go", tree).
		WithEnvVariable("GOPATH", "/go").
		WithEnvVariable("PATH", "/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").
		WithExec([]string{"mkdir", "-p", "/go/pkg/mod", "/go/bin", "/root/.cache/go-build"}).
		WithWorkdir("/go")
}
