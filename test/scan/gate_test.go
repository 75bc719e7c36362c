//go:build full

package scan

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"shipyard/internal/testenv"
)

// gateBakeFile is a repository of one image on the reference app's runtime base, so it holds the
// zlib1g and libzstd1 the fixture advisories are made for.
const gateBakeFile = `
variable "REGISTRY" { default = "127.0.0.1:5000/scan" }
variable "TAG" { default = "dev" }
group "default" { targets = ["app"] }
target "app" {
  dockerfile-inline = "FROM debian:bookworm-slim\nRUN echo app > /app.txt\n"
  platforms         = ["linux/amd64", "linux/arm64"]
  tags              = ["${REGISTRY}/app:${TAG}"]
}
`

// gateShipyardHCL gives the repository a test stage that passes.
const gateShipyardHCL = `
test {
  target  = "app"
  command = ["true"]
}
`

// TestGateThroughTheCLI runs the vulnerability gate the way a user does, with `dagger call` on
// the shared engine, on an image built for linux/amd64 and linux/arm64: trivy v0.74.0 from the
// mirror's aquasec/trivy:0.74.0, its database pulled from the local registry through the registry
// tunnel. An ignore entry without a statement is refused before anything is built. A version
// tag's one-call release stops at the gate on CVE-2099-0001, naming each platform's image by
// digest, zlib1g and both versions, and releases nothing; with the finding accepted in
// .trivyignore.yaml (a statement, an expiry ahead) it releases, with the verdict as a signed
// attestation; scan-report lists what stays open; `scan --tag` then rescans the released image
// and fails once the entry has expired, and with a database built ten days ago it fails naming
// that age.
func TestGateThroughTheCLI(t *testing.T) {
	testenv.NeedEngine(t, testenv.CheckEngine())
	testenv.ScannerImage(t)
	_, trivyDB := testenv.Trivy(t)
	rootfs := baseRootfs(t)
	mirror := testenv.Mirror()
	prefix := fmt.Sprintf("%s/e2e-scan-%d", mirror, time.Now().UnixNano())
	fresh, stale := prefix+"/trivy-db:2", prefix+"/trivy-db-old:2"
	db := buildDB(t, trivyDB, rootfs, fresh)
	buildDB(t, trivyDB, rootfs, stale, "-age", "240h")
	var critical struct{ Package, Installed, Fixed string }
	for _, a := range db.Advisories {
		if a.ID == "CVE-2099-0001" {
			critical.Package, critical.Installed, critical.Fixed = a.Package, a.Installed, a.Fixed
		}
	}
	if critical.Package != "zlib1g" {
		t.Fatalf("hack/vulndb's CVE-2099-0001 is on %q, want zlib1g: %+v", critical.Package, db.Advisories)
	}

	repo := t.TempDir()
	for path, text := range map[string]string{"docker-bake.hcl": gateBakeFile, "shipyard.hcl": gateShipyardHCL} {
		if err := os.WriteFile(filepath.Join(repo, path), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ignore := func(text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(repo, ".trivyignore.yaml"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	keys := t.TempDir()
	cosign := func(args ...string) (string, error) {
		cmd := exec.Command(testenv.Cosign(t), args...)
		cmd.Dir = keys
		cmd.Env = append(os.Environ(), "COSIGN_PASSWORD=pw", "COSIGN_YES=true")
		out, err := cmd.Output()
		if err != nil {
			var stderr string
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			return string(out), fmt.Errorf("cosign %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return string(out), nil
	}
	if _, err := cosign("generate-key-pair"); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(keys, "cosign.key"))
	if err != nil {
		t.Fatal(err)
	}
	release := prefix + "/rel"
	port := strings.Split(mirror, ":")[1]
	// in builds into build and releases into rel (none: no release registry), with the gate
	// pulling db (none: no with-scan)
	in := func(build, rel, db string, args ...string) testenv.Result {
		t.Helper()
		flags := []string{"call", "-m", testenv.Root(), "--progress=plain", "--source=" + repo, "--bake-file=docker-bake.hcl",
			"--build-registry=" + build, "--registry-tunnel=tcp://localhost:" + port, "--arm64"}
		if rel != "" {
			flags = append(flags, "--release-registry="+rel)
		}
		flags = append(flags, "with-latest", "--tag-type-override=annotated", "with-gitlab", "--commit-sha="+strings.Repeat("5ca1ab1e", 5),
			"with-signing", "--key=env:COSIGN_PRIVATE_KEY", "--password=env:COSIGN_PASSWORD")
		if db != "" {
			flags = append(flags, "with-scan", "--db-repository="+db)
		}
		start := time.Now()
		r := testenv.Dagger(t, testenv.Root(), 30*time.Minute, []string{"COSIGN_PRIVATE_KEY=" + string(key), "COSIGN_PASSWORD=pw"}, append(flags, args...)...)
		t.Logf("dagger %s (%s): %v", strings.Join(args, " "), time.Since(start).Round(time.Second), r.Err)
		return r
	}
	call := func(db string, withRelease bool, args ...string) testenv.Result {
		t.Helper()
		rel := ""
		if withRelease {
			rel = release
		}
		return in(prefix, rel, db, args...)
	}
	released := release + "/app-app"

	// plan lists the scans
	r := call(fresh, true, "plan", "--ref=1.2.3", "--tag=1.2.3")
	if want := "scan app [linux/amd64] in manifests: trivy, fail on CRITICAL -> " + prefix + "/app:1.2.3-amd64 (by digest)"; r.Err != nil || !strings.Contains(r.Stdout, want) {
		t.Errorf("plan: want %q, got %v\n%s\n%s", want, r.Err, tail(r.Stdout, 40), tail(r.Stderr, 20))
	}

	// an ignore entry without a statement fails the release before anything is built
	ignore("vulnerabilities:\n  - id: CVE-2099-0001\n")
	r = call(fresh, true, "release", "--ref=1.2.3", "--tag=1.2.3")
	out := r.Stdout + r.Stderr
	if r.Err == nil || !strings.Contains(out, "preflight") || !strings.Contains(out, "no statement") || !strings.Contains(out, "nothing was built or pushed") {
		t.Fatalf("the release with an entry without statement: want a preflight error, got %v\n%s\n%s", r.Err, tail(r.Stdout, 40), tail(r.Stderr, 40))
	}
	if _, err := head(prefix + "/app:1.2.3-amd64"); err == nil {
		t.Errorf("the release refused in preflight pushed %s/app:1.2.3-amd64", prefix)
	}
	if err := os.Remove(filepath.Join(repo, ".trivyignore.yaml")); err != nil {
		t.Fatal(err)
	}

	// the gate fails the release on the critical finding and nothing is released
	r = call(fresh, true, "release", "--ref=1.2.3", "--tag=1.2.3")
	out = r.Stdout + r.Stderr
	blocking := regexp.MustCompile(regexp.QuoteMeta(prefix+"/app@") + `(sha256:[0-9a-f]{64}) \[linux/amd64\]: ` +
		regexp.QuoteMeta(fmt.Sprintf("zlib1g %s (fixed in %s): CVE-2099-0001 CRITICAL", critical.Installed, critical.Fixed)))
	if r.Err == nil || !blocking.MatchString(out) || !strings.Contains(out, "stage manifests failed: vulnerabilities block the release") {
		t.Fatalf("the release: want the gate to fail the manifests stage naming %s, got %v\n%s\n%s", blocking, r.Err, tail(r.Stdout, 40), tail(r.Stderr, 40))
	}
	digest := blocking.FindStringSubmatch(out)[1]
	arm64 := regexp.MustCompile(regexp.QuoteMeta(prefix+"/app@") + `sha256:[0-9a-f]{64} \[linux/arm64\]: ` +
		regexp.QuoteMeta(fmt.Sprintf("zlib1g %s (fixed in %s): CVE-2099-0001 CRITICAL", critical.Installed, critical.Fixed)))
	if !arm64.MatchString(out) || !strings.Contains(out, "2 findings at or above CRITICAL") {
		t.Errorf("the gate does not name the arm64 image's finding too (%s):\n%s", arm64, tail(out, 40))
	}
	if strings.Contains(out, "CVE-2099-0002 HIGH\n") {
		t.Errorf("the HIGH finding blocks below the default threshold CRITICAL:\n%s", tail(out, 40))
	}
	for _, tag := range []string{"1.2.3", "latest"} {
		if _, err := head(released + ":" + tag); err == nil {
			t.Errorf("%s:%s exists after the gate failed the release", released, tag)
		}
	}

	// the finding accepted with a statement and an expiry ahead: the release goes through
	ignore("vulnerabilities:\n  - id: CVE-2099-0001\n    statement: a fixture advisory, accepted by the gate's test\n    expired_at: 2099-01-01\n")
	r = call(fresh, true, "release", "--ref=1.2.3", "--tag=1.2.3")
	out = r.Stdout + r.Stderr
	if r.Err != nil || !strings.Contains(out, "a fixture advisory, accepted by the gate's test") {
		t.Fatalf("the release with the finding accepted: %v\n%s\n%s", r.Err, tail(r.Stdout, 40), tail(r.Stderr, 40))
	}
	if _, err := head(released + ":1.2.3"); err != nil {
		t.Fatalf("the release with the finding accepted released nothing: %v", err)
	}
	// the verdict travelled with the image: cosign verifies its vuln attestation in the release registry
	amd64 := released + "@" + digest
	att, err := cosign("verify-attestation", "--key", "cosign.pub", "--insecure-ignore-tlog=true", "--allow-http-registry", "--type", "vuln", amd64)
	if err != nil {
		t.Fatalf("the released image's vuln attestation: %v", err)
	}
	var env struct{ Payload []byte }
	var st struct {
		PredicateType string
		Predicate     struct {
			Scanner struct {
				URI    string
				DB     struct{ URI string }
				Result struct {
					Results []struct {
						Vulnerabilities []struct{ VulnerabilityID string }
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(strings.SplitN(att, "\n", 2)[0]), &env); err != nil {
		t.Fatalf("cosign printed %q: %v", att, err)
	}
	if err := json.Unmarshal(env.Payload, &st); err != nil {
		t.Fatalf("the attestation's statement: %v\n%s", err, env.Payload)
	}
	if p := st.Predicate.Scanner; st.PredicateType != "https://cosign.sigstore.dev/attestation/vuln/v1" || p.URI != "pkg:github/aquasecurity/trivy@0.74.0" ||
		p.DB.URI != fresh || len(p.Result.Results) == 0 || len(p.Result.Results[0].Vulnerabilities) != 2 {
		t.Errorf("the vuln attestation of %s: %+v", amd64, st)
	}

	// the release's own verification required the scan; verify --require-scan finds it on both
	// platforms and re-checks it at the gate's threshold; at HIGH, the open CVE-2099-0002 fails it
	if want := "verified " + released + ":1.2.3: signed, SBOM and SLSA provenance of 5ca1ab1e5ca1, a signed vulnerability scan that passes at CRITICAL on every platform"; !strings.Contains(out, want) {
		t.Errorf("the release's verification: want %q in\n%s", want, tail(out, 40))
	}
	pub := "--key=" + filepath.Join(keys, "cosign.pub")
	r = call(fresh, true, "verify", pub, "--tag=1.2.3", "--require-scan")
	if want := "a signed vulnerability scan that passes at CRITICAL on every platform"; r.Err != nil || !strings.Contains(r.Stdout+r.Stderr, want) {
		t.Fatalf("verify --require-scan of the scanned release: want %q, got %v\n%s\n%s", want, r.Err, tail(r.Stdout, 40), tail(r.Stderr, 40))
	}
	r = call(fresh, true, "verify", pub, "--tag=1.2.3", "--scan-fail-on=high")
	out = r.Stdout + r.Stderr
	for _, want := range []string{released + ":1.2.3 [linux/amd64]", released + ":1.2.3 [linux/arm64]",
		"the attested scan does not pass at HIGH: 1 finding in the report the gate at CRITICAL passed", "CVE-2099-0002 HIGH", "with-scan --fail-on=high"} {
		if r.Err == nil || !strings.Contains(out, want) {
			t.Errorf("verify --scan-fail-on=high: want it to fail saying %q, got %v\n%s\n%s", want, r.Err, tail(r.Stdout, 40), tail(r.Stderr, 40))
		}
	}

	// GitLab's container-scanning report of the build registry's images lists the open finding,
	// not the accepted one
	glPath := filepath.Join(t.TempDir(), "gl-container-scanning-report.json")
	r = call(fresh, true, "scan-report", "--tag=1.2.3", "export", "--path="+glPath)
	if r.Err != nil {
		t.Fatalf("scan-report: %v\n%s\n%s", r.Err, tail(r.Stdout, 40), tail(r.Stderr, 40))
	}
	b, err := os.ReadFile(glPath)
	if err != nil {
		t.Fatal(err)
	}
	var gl struct {
		Version         string
		Scan            struct{ Type, Status string }
		Vulnerabilities []struct {
			Severity string
			Location struct {
				Dependency struct {
					Package struct{ Name string }
					Version string
				}
				Image string
			}
			Identifiers []struct{ Name string }
		}
	}
	if err := json.Unmarshal(b, &gl); err != nil {
		t.Fatalf("the GitLab report: %v\n%s", err, b)
	}
	if gl.Version != "15.0.7" || gl.Scan.Type != "container_scanning" || len(gl.Vulnerabilities) != 2 {
		t.Fatalf("the GitLab report: want schema 15.0.7, container_scanning, two vulnerabilities (CVE-2099-0002 on each platform; CVE-2099-0001 is accepted): %s", b)
	}
	images := map[string]bool{}
	for _, v := range gl.Vulnerabilities {
		images[v.Location.Image] = true
		if v.Identifiers[0].Name != "CVE-2099-0002" || v.Severity != "High" || v.Location.Dependency.Package.Name != "libzstd1" ||
			!strings.HasPrefix(v.Location.Image, prefix+"/app@sha256:") {
			t.Errorf("the GitLab report's vulnerability: want CVE-2099-0002, High, libzstd1 in %s by digest: %s", prefix+"/app", b)
		}
	}
	if !images[prefix+"/app@"+digest] || len(images) != 2 {
		t.Errorf("the GitLab report names the images %v, want the amd64 one (%s) and the arm64 one", images, digest)
	}

	// the entry expired: a rescan of the released image fails again and says so
	ignore("vulnerabilities:\n  - id: CVE-2099-0001\n    statement: a fixture advisory, accepted by the gate's test\n    expired_at: 2020-01-01\n")
	r = call(fresh, true, "scan", "--tag=1.2.3")
	out = r.Stdout + r.Stderr
	rescanned := regexp.MustCompile(regexp.QuoteMeta(released+"@sha256:") + `[0-9a-f]{64} \[linux/amd64\]: zlib1g .*CVE-2099-0001 CRITICAL; its ignore entry expired on 2020-01-01`)
	if r.Err == nil || !rescanned.MatchString(out) {
		t.Fatalf("scan --tag with the entry expired: want %s, got %v\n%s\n%s", rescanned, r.Err, tail(r.Stdout, 40), tail(r.Stderr, 40))
	}

	// without a release registry, scan --tag scans the build registry's images of the tag
	r = call(fresh, false, "scan", "--tag=1.2.3")
	out = r.Stdout + r.Stderr
	built := regexp.MustCompile(regexp.QuoteMeta(prefix+"/app@"+digest) + ` \[linux/amd64\]: zlib1g .*CVE-2099-0001 CRITICAL; its ignore entry expired on 2020-01-01`)
	if r.Err == nil || !built.MatchString(out) {
		t.Fatalf("scan --tag without a release registry: want %s, got %v\n%s\n%s", built, r.Err, tail(r.Stdout, 40), tail(r.Stderr, 40))
	}

	// a database built ten days ago fails the scan, naming its age, before any image is scanned
	ignore("vulnerabilities:\n  - id: CVE-2099-0001\n    statement: a fixture advisory, accepted by the gate's test\n")
	r = call(stale, true, "scan", "--tag=1.2.3")
	out = r.Stdout + r.Stderr
	if r.Err == nil || !strings.Contains(out, "trivy database too old: 10 days") || !strings.Contains(out, "--db-repository") {
		t.Fatalf("scan with a ten-day-old database: want it refused naming its age, got %v\n%s\n%s", r.Err, tail(r.Stdout, 40), tail(r.Stderr, 40))
	}
	if strings.Contains(out, "scanned app") {
		t.Errorf("images were scanned with a stale database:\n%s", tail(out, 40))
	}

	// a release signed without the gate (its own registries, so no scan of the same digests is
	// there) passes the release's verification, and verify --require-scan refuses it, naming
	// each platform's image and the missing attestation
	unscanned := prefix + "/rel-unscanned"
	r = in(prefix+"/unscanned", unscanned, "", "release", "--ref=1.2.3", "--tag=1.2.3")
	if r.Err != nil {
		t.Fatalf("the release without with-scan: %v\n%s\n%s", r.Err, tail(r.Stdout, 40), tail(r.Stderr, 40))
	}
	r = in(prefix+"/unscanned", unscanned, "", "verify", pub, "--tag=1.2.3", "--require-scan")
	out = r.Stdout + r.Stderr
	for _, platform := range []string{"linux/amd64", "linux/arm64"} {
		missing := regexp.MustCompile(regexp.QuoteMeta(unscanned+"/app-app:1.2.3 ["+platform+"] (") + `sha256:[0-9a-f]{64}\): no vulnerability scan: no signed vulnerability attestation \(cosign predicate https://cosign.sigstore.dev/attestation/vuln/v1\) under sha256-[0-9a-f]{64}\.att`)
		if r.Err == nil || !missing.MatchString(out) {
			t.Errorf("verify --require-scan of a release without the gate: want %s, got %v\n%s\n%s", missing, r.Err, tail(r.Stdout, 40), tail(r.Stderr, 40))
		}
	}
	if r = in(prefix+"/unscanned", unscanned, "", "verify", pub, "--tag=1.2.3"); r.Err != nil {
		t.Errorf("verify without --require-scan of a signed release: %v\n%s", r.Err, tail(r.Stderr, 40))
	}
}

// head is the digest of ref in a plain-HTTP registry.
func head(ref string) (string, error) {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return "", err
	}
	d, err := remote.Head(r)
	if err != nil {
		return "", err
	}
	return d.Digest.String(), nil
}

var tail = testenv.Tail
