//go:build full

package e2e

import (
	"archive/tar"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// goappImages are the images of examples/goapp's default group (its matrix target).
var goappImages = []string{"api", "hitctl"}

// overrideVendor is the vendor label examples/goapp's docker-bake.override.hcl gives every image
// (its docker-bake.hcl says "goapp").
const overrideVendor = "goapp example (docker-bake.override.hcl)"

// goappCall runs `dagger call -m <repo root> --source=examples/goapp --bake-file=docker-bake.hcl
// ARGS…` from the repository root, as a user runs the module on their own repository.
func goappCall(t *testing.T, timeout time.Duration, args ...string) result {
	t.Helper()
	return daggerIn(t, repoRoot, timeout, append([]string{"call", "-m", repoRoot, "--progress=plain",
		"--source=examples/goapp", "--bake-file=docker-bake.hcl"}, args...)...)
}

// A second repository, end to end through the entry point: examples/goapp (a Go service whose
// tests need Redis, its own bake file with a function, a matrix and an override file, its own
// shipyard.hcl) runs its whole staging pipeline with arm64: lint runs its shellcheck command
// and the Go checks, test runs gojunit in its test image against the redis service (no test
// skipped, so the Redis tests ran), build pushes api and hitctl for amd64 and arm64 (QEMU),
// manifests merges them; both indexes hold both platforms, every image carries the override
// file's label, and the arm64 binaries are AArch64.
func TestSecondRepositoryStagingPipeline(t *testing.T) {
	needEngine(t)
	prefix := fmt.Sprintf("%s/e2e-goapp-%d", mirror, time.Now().Unix())
	port := strings.Split(mirror, ":")[1]
	r := goappCall(t, 150*time.Minute, "--build-registry="+prefix, "--registry-tunnel=tcp://localhost:"+port, "--arm64",
		"release", "--ref=staging")
	if r.Err != nil {
		t.Fatalf("goapp's staging pipeline failed: %v\n%s\n%s", r.Err, tail(r.Stdout, 80), tail(r.Stderr, 80))
	}
	log := r.Stdout
	t.Logf("the pipeline's log ends:\n%s", tail(log, 30))
	for _, s := range []string{"lint", "test", "build", "manifests"} {
		if !strings.Contains(log, "stage "+s+": ok") {
			t.Errorf("the log does not say stage %s passed:\n%s", s, tail(log, 80))
		}
	}
	for _, want := range []string{
		"lint: shipyard.hcl's command: shellcheck redis/entrypoint.sh", "lint command: ok", // the file's lint block
		"lint: Go checks for go.mod", "go vet: ok", // go.mod, no .pre-commit-config.yaml
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the lint stage's log does not say %q:\n%s", want, tail(log, 80))
		}
	}
	if strings.Contains(log, "pre-commit runs") {
		t.Errorf("lint ran pre-commit in a repository without .pre-commit-config.yaml:\n%s", tail(log, 80))
	}
	summary := regexp.MustCompile(`gojunit: ([0-9]+) tests, ([0-9]+) passed, 0 failed, 0 skipped`).FindStringSubmatch(log)
	if summary == nil || summary[1] != summary[2] || summary[1] == "0" {
		t.Errorf("the test stage's log has no gojunit summary with every test passed and none skipped (the Redis tests skip without the service):\n%s", tail(log, 80))
	}

	for _, img := range goappImages {
		ref := fmt.Sprintf("%s/%s:staging", prefix, img)
		platforms := indexPlatforms(t, ref)
		if d := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, slices.Sorted(maps.Keys(platforms))); d != "" {
			t.Errorf("index %s platforms (-want +got):\n%s", ref, d)
		}
		for p, digest := range platforms {
			imageRef := fmt.Sprintf("%s/%s@%s", prefix, img, digest)
			labels, arch := imageLabels(t, imageRef)
			if labels["org.opencontainers.image.vendor"] != overrideVendor {
				t.Errorf("%s [%s]: vendor label %q, want %q from docker-bake.override.hcl", ref, p, labels["org.opencontainers.image.vendor"], overrideVendor)
			}
			if labels["org.opencontainers.image.title"] != "goapp-"+img {
				t.Errorf("%s [%s]: title label %q, want goapp-%s (the matrix's name)", ref, p, labels["org.opencontainers.image.title"], img)
			}
			if want := strings.TrimPrefix(p, "linux/"); arch != want {
				t.Errorf("%s [%s]: config architecture %q, want %q", ref, p, arch, want)
			}
			if p == "linux/arm64" {
				wantELF(t, imageRef, "usr/local/bin/entrypoint", elf.EM_AARCH64)
			}
		}
	}
	for _, notReleased := range []string{"test", "redis"} {
		if _, err := hostRegistry().Digest(t.Context(), fmt.Sprintf("%s/%s:staging", prefix, notReleased)); err == nil {
			t.Errorf("the %s image (test stage only, not in the default group) was pushed", notReleased)
		}
	}
}

// The project's name comes from --project, else from the repository's shipyard.hcl, else app:
// the plan of a release names the release repositories <registry>/<project>-<target>.
func TestSecondRepositoryProjectName(t *testing.T) {
	needEngine(t)
	releaseRepos := func(t *testing.T, args ...string) []string {
		t.Helper()
		r := goappCall(t, 30*time.Minute, append(args, "--release-registry=127.0.0.1:5000/rel",
			"plan", "--ref=1.2.3", "--tag=1.2.3", "--format=json")...)
		if r.Err != nil {
			t.Fatalf("plan: %v\n%s\n%s", r.Err, r.Stdout, tail(r.Stderr, 40))
		}
		var p struct {
			Copies []struct{ To string } `json:"copies"`
		}
		if err := json.Unmarshal([]byte(r.Stdout), &p); err != nil {
			t.Fatalf("plan --format=json printed no plan: %v\n%s", err, r.Stdout)
		}
		var out []string
		for _, c := range p.Copies {
			out = append(out, c.To)
		}
		slices.Sort(out)
		return out
	}
	t.Run("shipyard.hcl", func(t *testing.T) {
		want := []string{"127.0.0.1:5000/rel/goapp-api", "127.0.0.1:5000/rel/goapp-hitctl"}
		if d := cmp.Diff(want, releaseRepos(t)); d != "" {
			t.Errorf("release repositories with shipyard.hcl's project = \"goapp\" (-want +got):\n%s", d)
		}
	})
	t.Run("--project wins", func(t *testing.T) {
		want := []string{"127.0.0.1:5000/rel/shop-api", "127.0.0.1:5000/rel/shop-hitctl"}
		if d := cmp.Diff(want, releaseRepos(t, "--project=shop")); d != "" {
			t.Errorf("release repositories with --project=shop (-want +got):\n%s", d)
		}
	})
}

// remoteImage reads an image from a registry this process reaches over plain HTTP.
func remoteImage(t *testing.T, ref string) v1.Image {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatalf("reading %s: %v", ref, err)
	}
	return img
}

// imageLabels reads an image's config: its labels and architecture.
func imageLabels(t *testing.T, ref string) (map[string]string, string) {
	t.Helper()
	cf, err := remoteImage(t, ref).ConfigFile()
	if err != nil {
		t.Fatalf("reading the config of %s: %v", ref, err)
	}
	return cf.Config.Labels, cf.Architecture
}

// fileInImage returns the regular file at path (no leading slash) as the image's layers leave
// it, nil when there is none.
func fileInImage(t *testing.T, ref, path string) []byte {
	t.Helper()
	layers, err := remoteImage(t, ref).Layers()
	if err != nil {
		t.Fatal(err)
	}
	for i := len(layers) - 1; i >= 0; i-- {
		rc, err := layers[i].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("reading a layer of %s: %v", ref, err)
			}
			if strings.TrimPrefix(h.Name, "./") == path && h.Typeflag == tar.TypeReg {
				data, err := io.ReadAll(tr)
				rc.Close()
				if err != nil {
					t.Fatalf("reading %s in %s: %v", path, ref, err)
				}
				return data
			}
		}
		rc.Close()
	}
	return nil
}

// wantELF checks that the file at path in the image is an ELF binary for machine.
func wantELF(t *testing.T, ref, path string, machine elf.Machine) {
	t.Helper()
	data := fileInImage(t, ref, path)
	if data == nil {
		t.Errorf("no %s in %s", path, ref)
		return
	}
	f := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := elf.Open(f)
	if err != nil {
		t.Fatalf("%s in %s is not ELF: %v", path, ref, err)
	}
	defer e.Close()
	if e.Machine != machine {
		t.Errorf("%s in %s is %v, want %v", path, ref, e.Machine, machine)
	}
}
