//go:build full

package e2e

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"shipyard/internal/testenv"
)

// bakeFilePeopleWrite is a bake file in the forms people write that are not the reference
// app's: an inline Dockerfile, bake's built-in variables, one platforms entry naming two
// platforms, and annotations of the image, of the index and of the index's entries. lite and
// full differ only by their index annotation.
const bakeFilePeopleWrite = `
variable "REGISTRY" { default = "127.0.0.1:5000/bakefiles" }
variable "TAG" { default = "dev" }
group "default" { targets = ["lite", "full"] }
target "_common" {
  context           = BAKE_CMD_CONTEXT
  platforms         = ["linux/amd64,linux/arm64"]
  secret            = ["id=token,env=SHIPYARD_E2E_TOKEN"]
  dockerfile-inline = <<-EOT
    FROM debian:bookworm-slim
    COPY greeting.txt /greeting.txt
    RUN --mount=type=secret,id=token,required=true test "$(sha256sum </run/secrets/token)" = "${tokenSHA256}  -" && echo "built for $(uname -m)" > /arch.txt
  EOT
  annotations = [
    "org.example.built-on=${BAKE_LOCAL_PLATFORM}",
    "manifest[linux/arm64]:org.example.arm=yes",
    "manifest-descriptor[linux/arm64]:org.example.entry=arm64",
  ]
}
target "lite" {
  inherits    = ["_common"]
  tags        = ["${REGISTRY}/lite:${TAG}"]
  annotations = ["index:org.example.flavour=lite"]
}
target "full" {
  inherits    = ["_common"]
  tags        = ["${REGISTRY}/full:${TAG}"]
  annotations = ["index:org.example.flavour=full"]
}
target "tester" {
  dockerfile-inline = "FROM debian:bookworm-slim"
}
`

// bakeSecret is the build secret the inline Dockerfile checks by its SHA-256.
const bakeSecret = "s3cret-bake-token-value"

// shipyardHCLWithImageService tests against a service that is a plain image, not a bake target.
const shipyardHCLWithImageService = `
test {
  target  = "tester"
  command = ["bash", "-c", "exec 3<>/dev/tcp/db/5432 && echo reached the db service at db:5432"]
  service "db" {
    image       = "postgres:15-bookworm"
    port        = 5432
    environment = { POSTGRES_PASSWORD = "pw" }
  }
}
`

// TestBakeFilesPeopleWrite runs the staging pipeline, through the entry point, on a repository
// whose bake file uses dockerfile-inline, BAKE_CMD_CONTEXT and BAKE_LOCAL_PLATFORM, a
// comma-separated platforms entry and annotations, and whose shipyard.hcl runs its tests
// against a plain image as a service: the tests reach it, both platforms of both images are built from
// the inline Dockerfile, every image carries its manifest annotations (the arm64 one its own
// too), each index its target's annotation and the arm64 entry its descriptor annotation, so
// the two targets' indexes differ.
func TestBakeFilesPeopleWrite(t *testing.T) {
	needEngine(t)
	repo := t.TempDir()
	bake := strings.ReplaceAll(bakeFilePeopleWrite, "${tokenSHA256}", fmt.Sprintf("%x", sha256.Sum256([]byte(bakeSecret))))
	for path, text := range map[string]string{"docker-bake.hcl": bake, "greeting.txt": "hello from the repository\n",
		"shipyard.hcl": shipyardHCLWithImageService} {
		if err := os.WriteFile(filepath.Join(repo, path), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	prefix := fmt.Sprintf("%s/e2e-bakefiles-%d", mirror, time.Now().Unix())
	port := strings.Split(mirror, ":")[1]
	call := func(args ...string) result {
		t.Helper()
		needEngine(t)
		return testenv.Dagger(t, repoRoot, 60*time.Minute, []string{"SHIPYARD_E2E_TOKEN=" + bakeSecret},
			append([]string{"call", "-m", repoRoot, "--progress=plain", "--source=" + repo, "--bake-file=docker-bake.hcl", "--build-registry=" + prefix,
				"--registry-tunnel=tcp://localhost:" + port, "--arm64"}, args...)...)
	}
	// without the build secret the bake file declares, nothing is built
	r := call("release", "--ref=staging")
	if r.Err == nil || !strings.Contains(r.Stdout+r.Stderr, `needs the build secret "token"`) {
		t.Fatalf("the pipeline without the build secret: want a preflight error naming it, got %v\n%s\n%s", r.Err, tail(r.Stdout, 20), tail(r.Stderr, 20))
	}
	r = call("with-build-secret", "--id=token", "--secret=env:SHIPYARD_E2E_TOKEN", "release", "--ref=staging")
	if r.Err != nil {
		t.Fatalf("the staging pipeline failed: %v\n%s\n%s", r.Err, tail(r.Stdout, 60), tail(r.Stderr, 60))
	}
	if strings.Contains(r.Stdout+r.Stderr, bakeSecret) {
		t.Errorf("the build secret's value is in dagger's output")
	}
	if !strings.Contains(r.Stdout, "reached the db service at db:5432") {
		t.Errorf("the test stage did not reach its image service:\n%s", tail(r.Stdout, 60))
	}
	indexes := map[string]string{}
	for _, img := range []string{"lite", "full"} {
		ref := fmt.Sprintf("%s/%s:staging", prefix, img)
		m, digest := testenv.Index(t, ref)
		indexes[img] = digest
		if got := m.Annotations["org.example.flavour"]; got != img {
			t.Errorf("%s: index annotation org.example.flavour = %q, want %q (all: %v)", ref, got, img, m.Annotations)
		}
		if got := m.Annotations["org.opencontainers.image.version"]; got != "staging" {
			t.Errorf("%s: the pipeline's version annotation = %q, want staging", ref, got)
		}
		platforms := map[string]bool{}
		for _, d := range m.Manifests {
			p := testenv.EntryPlatform(d)
			if p == "" {
				continue
			}
			platforms[p] = true
			wantEntry := map[string]string{"linux/arm64": "arm64"}[p]
			if got := d.Annotations["org.example.entry"]; got != wantEntry {
				t.Errorf("%s [%s]: index entry annotation org.example.entry = %q, want %q", ref, p, got, wantEntry)
			}
			imageRef := fmt.Sprintf("%s/%s@%s", prefix, img, d.Digest)
			manifest, err := remoteImage(t, imageRef).Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if got := manifest.Annotations["org.example.built-on"]; got != "linux/amd64" {
				t.Errorf("%s [%s]: manifest annotation org.example.built-on = %q, want the engine's platform linux/amd64", ref, p, got)
			}
			wantArm := map[string]string{"linux/arm64": "yes"}[p]
			if got := manifest.Annotations["org.example.arm"]; got != wantArm {
				t.Errorf("%s [%s]: manifest annotation org.example.arm = %q, want %q", ref, p, got, wantArm)
			}
			if got := string(fileInImage(t, imageRef, "greeting.txt")); got != "hello from the repository\n" {
				t.Errorf("%s [%s]: /greeting.txt = %q: the inline Dockerfile did not copy from the context", ref, p, got)
			}
			wantArch := map[string]string{"linux/amd64": "x86_64", "linux/arm64": "aarch64"}[p]
			if got := strings.TrimSpace(string(fileInImage(t, imageRef, "arch.txt"))); got != "built for "+wantArch {
				t.Errorf("%s [%s]: /arch.txt = %q, want built for %s", ref, p, got, wantArch)
			}
		}
		if !platforms["linux/amd64"] || !platforms["linux/arm64"] || len(platforms) != 2 {
			t.Errorf("%s holds %v, want linux/amd64 and linux/arm64 (the comma-separated entry)", ref, platforms)
		}
	}
	if indexes["lite"] == indexes["full"] {
		t.Errorf("lite and full, which differ only by their index annotation, are the same index %s", indexes["lite"])
	}
}
