package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"dagger.io/dagger"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// The Go SDK runtime image is reproducible: the same inputs (the Debian base in the mirror, the
// packages the Debian mirror serves, the host's Go toolchain, the codegen binary and this recipe)
// give the same bytes, so the same manifest digest, whichever engine state builds it. The engine
// keys its module cache on that digest: a new digest after a restart throws that cache away.
//
// What made it differ from one build to the next, and what is done about each:
//   - file times: every step writes files stamped with the time it ran (apt-get, mkdir, the copies
//     of the host's Go tree and of codegen keep the host's times). All times are set to sdkEpoch.
//   - logs and caches that record when and how they were made (dpkg and apt logs, apt's package
//     caches and downloaded .debs, ldconfig's aux-cache with inode numbers and times, dpkg's and
//     debconf's -old copies): left out of the image (150 MB smaller, too).
//   - layers: each layer's history and the config carry the time the engine made the layer, and a
//     cached layer keeps its time while a rebuilt one gets a new time. The filesystem is copied
//     into one layer and the exported config's times are set to sdkEpoch (normaliseOCI).
//   - the tarball: index.json's created annotation is the export time; the tarball is rewritten
//     with fixed entry times in a fixed order (normaliseOCI).
// The engine's tar stream of one layer and its zstd compression are deterministic: two builds with
// every step re-run (-rebuild) gave byte-identical tarballs (test/engine).

// sdkRecipeVersion changes whenever the Go SDK runtime image's recipe below changes.
const sdkRecipeVersion = "4"

// sdkEpoch is the time of every file and of the config of the Go SDK runtime image
// (SOURCE_DATE_EPOCH): 2026-01-01T00:00:00Z.
const sdkEpoch int64 = 1767225600

// sdkPlatform is the engine's platform.
const sdkPlatform = "linux/amd64"

// sdkLeftOut are the files of the image (relative to /) that record when or how they were made,
// apt's downloads, and documentation and translations nothing in the image reads (the
// directories stay).
var sdkLeftOut = []string{
	"var/log/*.log",
	"var/log/apt/*",
	"var/cache/apt/*.bin",
	"var/cache/apt/archives/*.deb",
	"var/cache/ldconfig/aux-cache",
	"var/cache/debconf/*-old",
	"var/lib/dpkg/*-old",
	"usr/share/doc/*",
	"usr/share/man/*",
	"usr/share/locale/*",
	"root/.config/go", // the go command's telemetry counters, one file per day
}

// sdkRecipeHash covers everything the Go SDK runtime image is made from: the golang recipe (and the
// host's Go version), the codegen binary, the Debian base's digest in the mirror, what its Go
// caches are filled from (warmInputs) and this recipe.
func (m *mirror) sdkRecipeHash(w warmInputs) (string, error) {
	golang, err := m.recipeHash(images[golangImage()])
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintln(h, sdkRecipeVersion, sdkEpoch, sdkPlatform, golang, strings.Join(sdkLeftOut, ","))
	w.hash(h)
	if err := copyFile(h, m.codegen); err != nil {
		return "", fmt.Errorf("reading codegen: %w", err)
	}
	base, err := m.baseDigest()
	if err != nil {
		return "", err
	}
	fmt.Fprintln(h, base)
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// golangImage is the index of the golang recipe in images.
func golangImage() int {
	for i, img := range images {
		if strings.HasPrefix(img.Name, "golang:") {
			return i
		}
	}
	panic("no golang image in images")
}

// baseDigest is the digest of debian:bookworm-slim in the mirror.
func (m *mirror) baseDigest() (string, error) {
	r, err := name.ParseReference(m.ref("debian:bookworm-slim"), name.Insecure)
	if err != nil {
		return "", err
	}
	d, err := remote.Head(r)
	if err != nil {
		return "", fmt.Errorf("reading debian:bookworm-slim from the mirror %s: %w", m.registry, err)
	}
	return d.Digest.String(), nil
}

// sdkImage is the Go SDK runtime image: golang + the engine's codegen, with Go caches filled for
// the module (warmGo), in one layer with every file time at sdkEpoch. A non-empty nonce re-runs
// every step instead of using the engine's cache.
func (m *mirror) sdkImage(nonce string, w warmInputs) *dagger.Container {
	sdk := m.warmGo(m.golangBuild(sdkPlatform, nonce).
		WithFile("/usr/local/bin/codegen", m.c.Host().File(m.codegen), dagger.ContainerWithFileOpts{Permissions: 0o755}).
		WithEnvVariable("GOTOOLCHAIN", "auto"), w)
	// every time (symlinks' own included, never their targets) set to sdkEpoch, on the root file
	// system mounted into a helper so that nothing the container runtime mounts is touched
	stamped := m.base(sdkPlatform).
		WithMountedDirectory("/rootfs", sdk.Rootfs()).
		WithExec([]string{"find", "/rootfs", "-exec", "touch", "-h", "-d", fmt.Sprintf("@%d", sdkEpoch), "{}", "+"}).
		Directory("/rootfs")
	// Copied into an empty directory: one new layer (with a filter, withDirectory copies instead of
	// stacking the layers it came from), without what records when it was made. The copy keeps
	// times, owners and modes.
	flat := m.c.Directory().WithDirectory("/", stamped, dagger.DirectoryWithDirectoryOpts{Exclude: sdkLeftOut})
	return sdk.WithRootfs(flat)
}

// exportSDK writes the Go SDK runtime image to out (an OCI tarball), its manifest digest to
// out.digest and its recipe hash to out.recipe; it does nothing when out.recipe is this recipe's
// hash, unless rebuild is set.
func (m *mirror) exportSDK(ctx context.Context, out string, rebuild bool) error {
	if m.codegen == "" {
		return errors.New("-codegen is required with -sdk-out")
	}
	w, err := m.warmInputs()
	if err != nil {
		return err
	}
	hash, err := m.sdkRecipeHash(w)
	if err != nil {
		return err
	}
	if !rebuild && sdkUpToDate(out, hash) {
		fmt.Fprintf(os.Stderr, "mirror: the Go SDK runtime image is up to date (%s)\n", readTrim(out+".digest"))
		return nil
	}
	if err := m.connect(ctx); err != nil {
		return err
	}
	nonce := ""
	if rebuild {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		nonce = hex.EncodeToString(b)
	}
	fmt.Fprintf(os.Stderr, "mirror: building the Go SDK runtime image (recipe %s)\n", hash)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	raw := out + ".engine.tar"
	defer os.Remove(raw)
	if _, err := m.sdkImage(nonce, w).Export(ctx, raw, dagger.ContainerExportOpts{ForcedCompression: dagger.ImageLayerCompressionZstd}); err != nil {
		return err
	}
	digest, err := normaliseOCI(raw, out+".tmp", time.Unix(sdkEpoch, 0).UTC())
	if err != nil {
		return fmt.Errorf("normalising %s: %w", raw, err)
	}
	if err := os.Rename(out+".tmp", out); err != nil {
		return err
	}
	if err := os.WriteFile(out+".digest", []byte(digest+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(out+".recipe", []byte(hash+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "mirror: the Go SDK runtime image is %s\n", digest)
	return nil
}

// sdkUpToDate tells whether out was exported from the recipe hash.
func sdkUpToDate(out, hash string) bool {
	if _, err := os.Stat(out); err != nil {
		return false
	}
	return readTrim(out+".recipe") == hash && strings.HasPrefix(readTrim(out+".digest"), "sha256:")
}

func readTrim(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}
