//go:build full

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	attestreg "shipyard/internal/attest/registry"
	"shipyard/internal/enginever"
	"shipyard/internal/imageref"
	"shipyard/internal/testenv"
)

// signedEnv is a signed release's world: a cosign key pair made by cosign itself, a build
// registry with the OCI 1.1 referrers API and a release registry without it (Debian's
// docker-registry: the fallback tag schema).
type signedEnv struct {
	dir, key, pub, password string
	build, release          string
	tunnels                 []string
	gitDir, revision        string
}

func (e *signedEnv) config() []string {
	a := []string{"--build-registry", e.build + "/app", "--release-registry", e.release + "/rel", "--project", "shipyard", "--git-dir", e.gitDir}
	for _, tn := range e.tunnels {
		a = append(a, "--registry-tunnel", tn)
	}
	return append(a, "with-signing", "--key", "env:COSIGN_PRIVATE_KEY", "--password", "env:COSIGN_PASSWORD",
		"with-gitlab", "--commit-sha", e.revision)
}

func (e *signedEnv) env(t *testing.T) []string {
	t.Helper()
	key, err := os.ReadFile(e.key)
	if err != nil {
		t.Fatal(err)
	}
	return []string{"COSIGN_PRIVATE_KEY=" + string(key), "COSIGN_PASSWORD=" + e.password}
}

// call runs dagger call with the environment's configuration and checks that neither the key
// nor its password reaches the output.
func (e *signedEnv) call(t *testing.T, args ...string) result {
	t.Helper()
	needEngine(t)
	r := testenv.Dagger(t, repoRoot, 40*time.Minute, e.env(t), append(append([]string{"call", "--progress=plain"}, e.config()...), args...)...)
	e.noSecret(t, "the output of "+strings.Join(args, " "), []byte(r.Stdout+r.Stderr))
	return r
}

// noSecret fails if b holds the password or any line of the private key's body.
func (e *signedEnv) noSecret(t *testing.T, where string, b []byte) {
	t.Helper()
	key, _ := os.ReadFile(e.key)
	if bytes.Contains(b, []byte(e.password)) {
		t.Errorf("%s holds the signing key's password", where)
	}
	for _, line := range strings.Split(string(key), "\n") {
		if len(line) >= 32 && !strings.HasPrefix(line, "-----") && bytes.Contains(b, []byte(line)) {
			t.Errorf("%s holds a line of the signing key", where)
			return
		}
	}
}

func (e *signedEnv) cosign(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(testenv.Cosign(t), args...)
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), "COSIGN_PASSWORD="+e.password, "COSIGN_YES=true")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("cosign %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

// A release with signing, through the GitLab jobs' calls (build, manifests, release), verified
// with the real cosign in the release registry; then tampering makes verify fail.
func TestSignedRelease(t *testing.T) {
	needEngine(t)
	buildPort := freeRegistryPort(t, 5001)
	build := testenv.StartOCIRegistry(t, buildPort)
	relPort := freeRegistryPort(t, buildPort+1)
	rel := startRegistry(t, relPort)
	e := &signedEnv{dir: t.TempDir(), password: "pw-" + fmt.Sprint(time.Now().UnixNano()), build: build, release: rel,
		tunnels: []string{fmt.Sprintf("tcp://localhost:%d", buildPort), fmt.Sprintf("tcp://localhost:%d", relPort)},
		gitDir:  tagRepo(t, []string{"1.0.0"}, nil)}
	e.key, e.pub = filepath.Join(e.dir, "cosign.key"), filepath.Join(e.dir, "cosign.pub")
	if _, err := e.cosign(t, "generate-key-pair"); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "-C", e.gitDir, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	e.revision = strings.TrimSpace(string(out))

	t.Run("plan lists the steps per image", func(t *testing.T) {
		r := e.call(t, "plan", "--ref", "1.0.0", "--tag", "1.0.0")
		if r.Err != nil {
			t.Fatalf("plan: %v\n%s", r.Err, tail(r.Stderr, 40))
		}
		for _, want := range []string{
			"attest django [linux/amd64] in build: sbom spdx-json, slsa provenance v1, sign -> " + build + "/app/django:1.0.0-amd64",
			"attest django in manifests: sign the index -> " + build + "/app/django:1.0.0",
			"attest django in release: copy signatures, attestations and referrers, verify signature, sbom and provenance of the revision -> " + rel + "/rel/shipyard-django:1.0.0",
		} {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("the plan lacks %q:\n%s", want, r.Stdout)
			}
		}
	})

	for _, stage := range []string{"build", "manifests", "release"} {
		r := e.call(t, "release", "--ref", "1.0.0", "--tag", "1.0.0", "--only", stage)
		if r.Err != nil {
			t.Fatalf("%s: %v\n%s\n%s", stage, r.Err, r.Stdout, tail(r.Stderr, 80))
		}
		if stage == "release" && !strings.Contains(r.Stdout, "verified "+rel+"/rel/shipyard-django:1.0.0") {
			t.Errorf("the release did not verify what it released:\n%s", r.Stdout)
		}
	}

	django := rel + "/rel/shipyard-django:1.0.0"
	t.Run("cosign verifies the index and every platform image", func(t *testing.T) {
		for _, target := range targets {
			if _, err := e.cosign(t, "verify", "--key", e.pub, "--insecure-ignore-tlog=true", "--allow-http-registry", rel+"/rel/shipyard-"+target+":1.0.0"); err != nil {
				t.Error(err)
			}
		}
		for _, img := range platformImages(t, django) {
			if _, err := e.cosign(t, "verify", "--key", e.pub, "--insecure-ignore-tlog=true", "--allow-http-registry", img); err != nil {
				t.Error(err)
			}
		}
	})

	t.Run("cosign verifies the provenance and the SBOM", func(t *testing.T) {
		img := platformImages(t, django)[0]
		out, err := e.cosign(t, "verify-attestation", "--key", e.pub, "--insecure-ignore-tlog=true", "--allow-http-registry", "--type", "slsaprovenance1", img)
		if err != nil {
			t.Fatal(err)
		}
		var prov struct {
			Predicate struct {
				BuildDefinition struct {
					ExternalParameters struct {
						Source   struct{ Revision string }
						Target   string
						Platform string
					}
					ResolvedDependencies []struct{ Name string }
				}
				RunDetails struct{ Builder struct{ ID string } }
			}
		}
		decodeStatement(t, out, &prov)
		ep := prov.Predicate.BuildDefinition.ExternalParameters
		if ep.Source.Revision != e.revision || ep.Target != "django" || ep.Platform != "linux/amd64" {
			t.Errorf("provenance says %+v, want revision %s, target django, linux/amd64", ep, e.revision)
		}
		var deps []string
		for _, d := range prov.Predicate.BuildDefinition.ResolvedDependencies {
			deps = append(deps, d.Name)
		}
		if !strings.Contains(strings.Join(deps, " "), "debian:bookworm-slim") {
			t.Errorf("the provenance's materials %q lack the base image debian:bookworm-slim", deps)
		}
		if !strings.Contains(prov.Predicate.RunDetails.Builder.ID, "dagger-"+enginever.Version) {
			t.Errorf("builder id %q does not name the engine version", prov.Predicate.RunDetails.Builder.ID)
		}

		out, err = e.cosign(t, "verify-attestation", "--key", e.pub, "--insecure-ignore-tlog=true", "--allow-http-registry", "--type", "spdxjson", img)
		if err != nil {
			t.Fatal(err)
		}
		var sbom struct {
			Predicate struct {
				Packages []struct{ Name, VersionInfo string }
			}
		}
		decodeStatement(t, out, &sbom)
		found := map[string]int{}
		for _, p := range sbom.Predicate.Packages {
			found[p.Name]++
		}
		for _, want := range []string{"python3", "python3-django", "libc6"} {
			switch found[want] {
			case 0:
				t.Errorf("the SBOM of %s (%d packages) lacks %s, which the image has", img, len(sbom.Predicate.Packages), want)
			case 1:
			default:
				// the image keeps apt's .deb files; they are not installed packages
				t.Errorf("the SBOM of %s lists %s %d times: each installed package is listed once", img, want, found[want])
			}
		}
	})

	t.Run("the SBOM is a referrer of the image in the build registry", func(t *testing.T) {
		// the build registry has the referrers API: what `oras discover` or `regctl artifact
		// list` show there
		img := platformImages(t, build+"/app/django:1.0.0")[0]
		d, err := name.NewDigest(img, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		refs, err := attestreg.New(attestreg.WithInsecure()).Referrers(context.Background(), img)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, ref := range refs {
			kinds = append(kinds, ref.ArtifactType)
			if ref.ArtifactType != "application/spdx+json" {
				continue
			}
			art, err := remote.Image(d.Context().Digest(ref.Digest))
			if err != nil {
				t.Fatal(err)
			}
			layers, err := art.Layers()
			if err != nil || len(layers) != 1 {
				t.Fatalf("the SBOM artifact has %d layers (%v), want 1", len(layers), err)
			}
			rc, err := layers[0].Compressed() // the blob as stored: SPDX JSON, not compressed
			if err != nil {
				t.Fatal(err)
			}
			var doc struct{ Packages []struct{ Name string } }
			err = json.NewDecoder(rc).Decode(&doc)
			rc.Close()
			if err != nil {
				t.Fatalf("the SBOM artifact is not SPDX JSON: %v", err)
			}
			if !slices.ContainsFunc(doc.Packages, func(p struct{ Name string }) bool { return p.Name == "python3" }) {
				t.Errorf("the SBOM referrer of %s lists %d packages, python3 not among them", img, len(doc.Packages))
			}
		}
		if !slices.Contains(kinds, "application/spdx+json") || !slices.Contains(kinds, "application/vnd.in-toto+json") {
			t.Errorf("the referrers of %s are %q, want an SPDX SBOM and an in-toto provenance", img, kinds)
		}
	})

	t.Run("the key is in no attachment", func(t *testing.T) {
		for _, target := range targets {
			for _, b := range attachmentBytes(t, rel+"/rel/shipyard-"+target) {
				e.noSecret(t, "an attachment of "+target, b)
			}
		}
	})

	t.Run("releasing again copies nothing twice", func(t *testing.T) {
		r := e.call(t, "release", "--ref", "1.0.0", "--tag", "1.0.0", "--only", "release")
		if r.Err != nil {
			t.Fatalf("release again: %v\n%s", r.Err, tail(r.Stderr, 40))
		}
		if !strings.Contains(r.Stdout, "copied the supply chain of django to "+rel+"/rel/shipyard-django: 0 cosign tag(s), 0 referrer(s) written") {
			t.Errorf("a second release wrote attachments again:\n%s", r.Stdout)
		}
	})

	t.Run("building again attests nothing twice", func(t *testing.T) {
		// the same commit built again (a retried job): the same digests, whose SBOMs, provenance
		// and signatures the registry already holds, so no SBOM is computed again
		r := e.call(t, "release", "--ref", "1.0.0", "--tag", "1.0.0", "--only", "build")
		if r.Err != nil {
			t.Fatalf("build again: %v\n%s", r.Err, tail(r.Stderr, 40))
		}
		attested := regexp.MustCompile(`(?m)^attested \S+ \[[^]]+\] .*$`).FindAllString(r.Stdout, -1)
		if len(attested) == 0 {
			t.Fatalf("the second build attested nothing:\n%s", r.Stdout)
		}
		for _, l := range attested {
			if !strings.Contains(l, "; nothing written") {
				t.Errorf("the second build of the same digest wrote its supply chain again: %s", l)
			}
		}
		if strings.Contains(r.Stderr, "sbom (syft)") {
			t.Errorf("the second build ran syft again:\n%s", tail(r.Stderr, 40))
		}
	})

	verify := func(t *testing.T) result {
		t.Helper()
		return e.call(t, "verify", "--key", e.pub, "--tag", "1.0.0")
	}
	if r := verify(t); r.Err != nil {
		t.Fatalf("verify of an untouched release: %v\n%s", r.Err, tail(r.Stderr, 40))
	}

	t.Run("a retagged image fails verify", func(t *testing.T) {
		c := hostRegistry()
		orig := mustDigest(t, django)
		if _, err := c.Copy(context.Background(), rel+"/rel/shipyard-traefik:1.0.0", django); err != nil {
			t.Fatal(err)
		}
		r := verify(t)
		if _, err := c.Copy(context.Background(), rel+"/rel/shipyard-django@"+orig, django); err != nil {
			t.Fatal(err)
		}
		if r.Err == nil || !strings.Contains(r.Stderr, django) || !strings.Contains(r.Stderr, "no signature") {
			t.Errorf("verify after retagging %s: err %v, want it to fail naming the image and the missing signature:\n%s", django, r.Err, tail(r.Stderr, 30))
		}
	})

	t.Run("a deleted signature fails verify", func(t *testing.T) {
		pg := rel + "/rel/shipyard-postgres"
		d := mustDigest(t, pg+":1.0.0")
		sigTag := pg + ":" + strings.Replace(d, ":", "-", 1) + ".sig"
		deleteManifest(t, pg, mustDigest(t, sigTag))
		r := verify(t)
		if r.Err == nil || !strings.Contains(r.Stderr, pg+":1.0.0") || !strings.Contains(r.Stderr, "no signature") {
			t.Errorf("verify after deleting %s: err %v, want it to fail naming the image:\n%s", sigTag, r.Err, tail(r.Stderr, 30))
		}
	})
}

// platformImages are the platform manifests of the index ref, as repo@digest, sorted.
func platformImages(t *testing.T, ref string) []string {
	t.Helper()
	var out []string
	for _, d := range indexPlatforms(t, ref) {
		pinned, err := imageref.Pin(ref, d)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pinned)
	}
	if len(out) == 0 {
		t.Fatalf("the index %s has no platform manifest", ref)
	}
	slices.Sort(out)
	return out
}

// decodeStatement reads the first DSSE envelope cosign verify-attestation printed into st.
func decodeStatement(t *testing.T, out string, st any) {
	t.Helper()
	line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	var env struct{ Payload string }
	if err := json.Unmarshal([]byte(line), &env); err != nil {
		t.Fatalf("cosign printed no envelope: %v\n%.500s", err, out)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(payload, st); err != nil {
		t.Fatalf("the statement does not parse: %v", err)
	}
}

// attachmentBytes are the manifests and blobs of every tag of repo that is not a version
// (the .sig and .att tags, the referrers fallback tags).
func attachmentBytes(t *testing.T, repo string) [][]byte {
	t.Helper()
	r, err := name.NewRepository(repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := remote.List(r)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, tag := range tags {
		if !strings.HasPrefix(tag, "sha256-") {
			continue
		}
		img, err := remote.Image(r.Tag(tag))
		if err != nil {
			// a referrers fallback tag is an index
			if desc, err := remote.Get(r.Tag(tag)); err == nil {
				out = append(out, desc.Manifest)
			}
			continue
		}
		raw, _ := img.RawManifest()
		out = append(out, raw)
		layers, _ := img.Layers()
		for _, l := range layers {
			rc, err := l.Compressed()
			if err != nil {
				continue
			}
			var b bytes.Buffer
			_, _ = b.ReadFrom(rc)
			rc.Close()
			out = append(out, b.Bytes())
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s has no attachment tags", repo)
	}
	return out
}

func deleteManifest(t *testing.T, repo, digest string) {
	t.Helper()
	r, err := imageref.ParseRepo(repo)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodDelete, "http://"+r.Host+"/v2/"+r.Path+"/manifests/"+digest, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("deleting %s@%s: HTTP %d", repo, digest, resp.StatusCode)
	}
}
