// Command mirror seeds the local registry that stands in for docker.io on an air-gapped machine,
// and exports the Go SDK runtime image the engine needs to run Go modules.
//
// It runs against an engine that already has debian:bookworm-slim in its mirror (hack/engine does
// that first) and skips every image whose recipe has not changed since it was last pushed.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"dagger.io/dagger"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// recipeLabel carries a hash of the recipe that made an image, so seeding knows when to redo it.
const recipeLabel = "dev.shipyard.mirror.recipe"

// recipeVersion changes whenever the Go-coded recipes below change.
const recipeVersion = "2"

type mirror struct {
	c        *dagger.Client
	registry string
	root     string
	codegen  string
}

func main() {
	registry := flag.String("registry", "127.0.0.1:5000", "the mirror registry (host:port)")
	codegen := flag.String("codegen", "", "path of the dagger codegen binary for the Go SDK runtime image")
	sdkOut := flag.String("sdk-out", "", "where to export the Go SDK runtime image as an OCI tarball (empty: skip)")
	root := flag.String("root", ".", "the repository root (for hack/mirror/standins)")
	flag.Parse()
	if err := run(context.Background(), *registry, *codegen, *sdkOut, *root); err != nil {
		fmt.Fprintln(os.Stderr, "mirror:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, registry, codegen, sdkOut, root string) error {
	c, err := dagger.Connect(ctx, dagger.WithLogOutput(os.Stderr))
	if err != nil {
		return fmt.Errorf("connecting to the engine: %w (is it up? hack/engine status)", err)
	}
	defer c.Close()
	m := &mirror{c: c, registry: registry, root: root, codegen: codegen}
	for _, img := range images {
		if err := m.seed(ctx, img); err != nil {
			return fmt.Errorf("seeding %s: %w", img.Name, err)
		}
	}
	if sdkOut != "" {
		if err := m.exportSDK(ctx, sdkOut); err != nil {
			return fmt.Errorf("exporting the Go SDK runtime image: %w", err)
		}
	}
	return nil
}

// ref is where an image name lives in the mirror (the docker.io layout).
func (m *mirror) ref(imageName string) string {
	repo := imageName
	if !strings.Contains(strings.SplitN(repo, ":", 2)[0], "/") {
		repo = "library/" + repo
	}
	return m.registry + "/" + repo
}

func (m *mirror) base(platform dagger.Platform) *dagger.Container {
	return m.c.Container(dagger.ContainerOpts{Platform: platform}).From("debian:bookworm-slim")
}

func (m *mirror) seed(ctx context.Context, img image) error {
	hash, err := m.recipeHash(img)
	if err != nil {
		return err
	}
	ref := m.ref(img.Name)
	if m.upToDate(ref, hash) {
		fmt.Fprintf(os.Stderr, "mirror: %s is up to date\n", img.Name)
		return nil
	}
	fmt.Fprintf(os.Stderr, "mirror: building %s for %s\n", img.Name, strings.Join(img.Platforms, ", "))
	variants := make([]*dagger.Container, 0, len(img.Platforms))
	for _, p := range img.Platforms {
		variants = append(variants, m.build(img, dagger.Platform(p)).
			WithLabel("org.opencontainers.image.description", "offline stand-in for "+img.StandIn).
			WithLabel("dev.shipyard.standin", "true").
			WithLabel(recipeLabel, hash))
	}
	_, err = m.c.Container().Publish(ctx, ref, dagger.ContainerPublishOpts{PlatformVariants: variants})
	return err
}

func (m *mirror) build(img image, p dagger.Platform) *dagger.Container {
	if img.Build != nil {
		return img.Build(m, p)
	}
	dir := m.c.Host().Directory(filepath.Join(m.root, "hack/mirror/standins", img.Dir))
	return dir.DockerBuild(dagger.DirectoryDockerBuildOpts{Platform: p})
}

// upToDate tells whether ref exists and was made from the same recipe.
func (m *mirror) upToDate(ref, hash string) bool {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return false
	}
	idx, err := remote.Index(r)
	if err != nil {
		return false
	}
	mf, err := idx.IndexManifest()
	if err != nil || len(mf.Manifests) == 0 {
		return false
	}
	im, err := idx.Image(mf.Manifests[0].Digest)
	if err != nil {
		return false
	}
	cf, err := im.ConfigFile()
	return err == nil && cf.Config.Labels[recipeLabel] == hash
}

// recipeHash covers the recipe's files (or the Go recipe's version) and its platforms.
func (m *mirror) recipeHash(img image) (string, error) {
	h := sha256.New()
	fmt.Fprintln(h, recipeVersion, img.Name, img.StandIn, strings.Join(img.Platforms, ","))
	if img.Dir != "" {
		dir := filepath.Join(m.root, "hack/mirror/standins", img.Dir)
		var files []string
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
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return "", err
			}
			fmt.Fprintln(h, f)
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// golang is Debian with the host's Go toolchain: the same Go that builds this project.
func (m *mirror) golang(p dagger.Platform) *dagger.Container {
	goroot := m.c.Host().Directory("/usr/local/go", dagger.HostDirectoryOpts{Exclude: []string{"test", "doc", "api", "misc"}})
	return m.base(p).
		WithEnvVariable("DEBIAN_FRONTEND", "noninteractive").
		WithExec([]string{"sh", "-c", "apt-get update -q && apt-get install -y -q --no-install-recommends ca-certificates git openssh-client openssl gcc libc6-dev && rm -rf /var/lib/apt/lists/*"}).
		WithDirectory("/usr/local/go", goroot).
		WithEnvVariable("GOPATH", "/go").
		WithEnvVariable("PATH", "/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").
		WithExec([]string{"mkdir", "-p", "/go/pkg/mod", "/go/bin", "/root/.cache/go-build"}).
		WithWorkdir("/go")
}

// exportSDK writes the image the engine runs Go-SDK modules in: golang + the engine's codegen.
func (m *mirror) exportSDK(ctx context.Context, out string) error {
	if m.codegen == "" {
		return errors.New("-codegen is required with -sdk-out")
	}
	codegen := m.c.Host().File(m.codegen)
	sdk := m.golang("linux/amd64").
		WithFile("/usr/local/bin/codegen", codegen, dagger.ContainerWithFileOpts{Permissions: 0o755}).
		WithEnvVariable("GOTOOLCHAIN", "auto")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	_, err := sdk.Export(ctx, out, dagger.ContainerExportOpts{ForcedCompression: dagger.ImageLayerCompressionZstd})
	return err
}
