package registry_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"shipyard/internal/faultproxy"
	"shipyard/internal/registry"
	"shipyard/internal/registry/registrytest"
)

// newClient is a client for in-process registries with fast retries.
func newClient(opts ...registry.Option) *registry.Client {
	base := []registry.Option{registry.WithInsecure("127.0.0.1:*"), registry.WithRetry(3, time.Millisecond)}
	return registry.New(append(base, opts...)...)
}

// sources pushes what a build produces for one bake target: an amd64 image
// on its own, and an index holding an arm64 image plus its attestation. It
// returns the two sources by digest and the two platform manifest digests.
func sources(t *testing.T, s *registrytest.Server, target string) (srcs []string, amd, arm v1.Hash) {
	t.Helper()
	amdImg := registrytest.Image(t, "linux/amd64")
	armImg := registrytest.Image(t, "linux/arm64")
	amd, _ = amdImg.Digest()
	arm, _ = armImg.Digest()
	srcs = []string{
		s.PushImage(t, s.Host+"/build/"+target+"-amd64", amdImg),
		s.PushIndex(t, s.Host+"/build/"+target+"-arm64:run-1",
			registrytest.Index(nil, registrytest.PlatformEntry(t, armImg), registrytest.Attestation(t, arm))),
	}
	return srcs, amd, arm
}

// indexSummary is what matters in a merged index.
type indexSummary struct {
	MediaType   types.MediaType
	Annotations map[string]string
	Manifests   []string // "platform digest"
}

func summarize(t *testing.T, raw []byte) indexSummary {
	t.Helper()
	im, err := v1.ParseIndexManifest(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	s := indexSummary{MediaType: im.MediaType, Annotations: im.Annotations}
	for _, m := range im.Manifests {
		s.Manifests = append(s.Manifests, m.Platform.String()+" "+m.Digest.String())
	}
	return s
}

func sha256Of(t *testing.T, raw []byte) string {
	t.Helper()
	h, _, err := v1.SHA256(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

func TestMergeIndexDropsAttestationsAndCarriesAnnotations(t *testing.T) {
	ctx := context.Background()
	s := registrytest.Start(t, "", "")
	srcs, amd, arm := sources(t, s, "django")
	ann := map[string]string{
		registry.AnnotationVersion:  "1.0.0",
		registry.AnnotationRevision: "0123456789abcdef",
		registry.AnnotationCreated:  "2025-01-02T03:04:05Z",
		registry.AnnotationSource:   "https://git.example.invalid/shop/app",
	}
	dst := s.Host + "/app/django:1.0.0"
	c := newClient()

	digest, err := c.MergeIndex(ctx, dst, srcs, ann)
	if err != nil {
		t.Fatal(err)
	}

	raw, mt := s.Manifest(t, dst)
	if mt != types.OCIImageIndex {
		t.Errorf("media type = %s, want %s", mt, types.OCIImageIndex)
	}
	if got := sha256Of(t, raw); got != digest {
		t.Errorf("returned digest %s, registry holds %s", digest, got)
	}
	want := indexSummary{
		MediaType:   types.OCIImageIndex,
		Annotations: ann,
		Manifests:   []string{"linux/amd64 " + amd.String(), "linux/arm64 " + arm.String()},
	}
	if diff := cmp.Diff(want, summarize(t, raw)); diff != "" {
		t.Errorf("merged index (-want +got):\n%s", diff)
	}
	// Every platform manifest and blob was brought into app/django.
	if err := validate.Index(s.ReadIndex(t, dst)); err != nil {
		t.Errorf("merged index is incomplete in its repository: %v", err)
	}

	gotDigest, gotAnn, err := c.Annotations(ctx, dst)
	if err != nil || gotDigest != digest {
		t.Errorf("Annotations(%s) = %s, %v; want the index digest %s", dst, gotDigest, err, digest)
	}
	if diff := cmp.Diff(ann, gotAnn); diff != "" {
		t.Errorf("Annotations (-want +got):\n%s", diff)
	}
	if _, _, err := c.Annotations(ctx, s.Host+"/app/django:absent"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Annotations of a missing tag: %v, want ErrNotFound", err)
	}

	again, err := c.MergeIndex(ctx, s.Host+"/app/django:again", srcs, ann)
	if err != nil {
		t.Fatal(err)
	}
	if again != digest {
		t.Errorf("merging the same inputs gave %s then %s, want a deterministic digest", digest, again)
	}
}

func TestMergeIndexAnnotatesEntries(t *testing.T) {
	ctx := context.Background()
	s := registrytest.Start(t, "", "")
	srcs, _, _ := sources(t, s, "django")
	c := newClient()
	dst := s.Host + "/app/django:ann"
	if _, err := c.MergeIndexAnnotated(ctx, dst, srcs, nil, []map[string]string{nil, {"org.example.arm": "yes"}}); err != nil {
		t.Fatal(err)
	}
	raw, _ := s.Manifest(t, dst)
	var idx v1.IndexManifest
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 2 || idx.Manifests[0].Annotations != nil || idx.Manifests[1].Annotations["org.example.arm"] != "yes" {
		t.Errorf("entries' annotations: %+v", idx.Manifests)
	}
	if _, err := c.MergeIndexAnnotated(ctx, dst, srcs, nil, []map[string]string{nil}); err == nil || !strings.Contains(err.Error(), "1 descriptor annotation sets for 2 sources") {
		t.Errorf("mismatched descriptor annotations: %v", err)
	}
}

func TestMergeIndexRejectsBadInputs(t *testing.T) {
	ctx := context.Background()
	s := registrytest.Start(t, "", "")
	srcs, _, _ := sources(t, s, "vue")
	otherAmd := s.PushImage(t, s.Host+"/build/other", registrytest.Image(t, "linux/amd64"))
	noPlatform, err := mutate.ConfigFile(registrytest.Image(t, "linux/amd64"), &v1.ConfigFile{RootFS: v1.RootFS{Type: "layers"}})
	if err != nil {
		t.Fatal(err)
	}
	bare := s.PushImage(t, s.Host+"/build/bare", noPlatform)
	c := newClient()

	tests := []struct {
		name     string
		dst      string
		srcs     []string
		want     error
		contains []string
	}{
		{"duplicate platform", s.Host + "/app/vue:1", []string{srcs[0], srcs[1], otherAmd}, registry.ErrDuplicatePlatform,
			[]string{"linux/amd64", srcs[0], otherAmd}},
		{"source by tag", s.Host + "/app/vue:1", []string{s.Host + "/build/vue-arm64:run-1"}, registry.ErrBadReference,
			[]string{"pin it by digest"}},
		{"image without platform", s.Host + "/app/vue:1", []string{bare}, registry.ErrNoPlatform, []string{bare}},
		{"destination without tag", s.Host + "/app/vue", srcs, registry.ErrBadReference, []string{"host:port/repo:tag"}},
		{"no sources", s.Host + "/app/vue:1", nil, nil, []string{"no source images"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.MergeIndex(ctx, tc.dst, tc.srcs, nil)
			if err == nil {
				t.Fatal("MergeIndex succeeded, want an error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %q is not %v", err, tc.want)
			}
			for _, sub := range tc.contains {
				if !strings.Contains(err.Error(), sub) {
					t.Errorf("error %q does not mention %q", err, sub)
				}
			}
		})
	}
}

func TestCopyBetweenRegistriesPreservesDigestAndIsIdempotent(t *testing.T) {
	ctx := context.Background()
	build := registrytest.Start(t, "builder", "build-pass-1")
	release := registrytest.Start(t, "releaser", "release-pass-2")
	amd := registrytest.Image(t, "linux/amd64")
	arm := registrytest.Image(t, "linux/arm64")
	armDigest, _ := arm.Digest()
	// Copy carries everything, attestations included.
	src := build.PushIndex(t, build.Host+"/build/django:sha-1", registrytest.Index(
		map[string]string{registry.AnnotationVersion: "1.0.0"},
		registrytest.PlatformEntry(t, amd), registrytest.PlatformEntry(t, arm), registrytest.Attestation(t, armDigest)))
	dst := release.Host + "/app/django:1.0.0"
	auth := []registry.Option{
		registry.WithAuth(build.Host, registry.Auth{Username: "builder", Password: "build-pass-1"}),
		registry.WithAuth(release.Host, registry.Auth{Username: "releaser", Password: "release-pass-2"}),
	}
	c := newClient(auth...)

	digest, err := c.Copy(ctx, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	if want := src[strings.Index(src, "@")+1:]; digest != want {
		t.Errorf("Copy returned %s, want the source digest %s", digest, want)
	}
	srcRaw, _ := build.Manifest(t, src)
	dstRaw, _ := release.Manifest(t, dst)
	if diff := cmp.Diff(string(srcRaw), string(dstRaw)); diff != "" {
		t.Errorf("copied manifest bytes differ (-src +dst):\n%s", diff)
	}
	if err := validate.Index(release.ReadIndex(t, dst)); err != nil {
		t.Errorf("copy is incomplete: %v", err)
	}

	// Again, with the same client and with a fresh one (no cached state):
	// same digest, nothing written.
	for _, client := range []*registry.Client{c, newClient(auth...)} {
		writes := release.Writes()
		again, err := client.Copy(ctx, src, dst)
		if err != nil {
			t.Fatal(err)
		}
		if again != digest || release.Writes() != writes {
			t.Errorf("second copy: digest %s (want %s), %d writes (want 0)", again, digest, release.Writes()-writes)
		}
	}
}

func TestCopyToAnotherDigestIsRefused(t *testing.T) {
	s := registrytest.Start(t, "", "")
	src := s.PushImage(t, s.Host+"/build/a", registrytest.Image(t, "linux/amd64"))
	other := s.PushImage(t, s.Host+"/build/b", registrytest.Image(t, "linux/amd64"))
	dst := s.Host + "/app/a" + other[strings.Index(other, "@"):]
	_, err := newClient().Copy(context.Background(), src, dst)
	if !errors.Is(err, registry.ErrDigestMismatch) {
		t.Fatalf("Copy to a different digest: err = %v, want ErrDigestMismatch", err)
	}
	if !strings.Contains(err.Error(), "copying "+src+" to "+dst) {
		t.Errorf("error %q does not say what was being copied", err)
	}
}

func TestTagPointsAtTheExactBytes(t *testing.T) {
	ctx := context.Background()
	s := registrytest.Start(t, "", "")
	srcs, _, _ := sources(t, s, "django")
	c := newClient()
	digest, err := c.MergeIndex(ctx, s.Host+"/app/django:1.0.0", srcs, map[string]string{registry.AnnotationVersion: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Tag(ctx, s.Host+"/app/django@"+digest, "latest"); err != nil {
		t.Fatal(err)
	}
	got, err := c.Digest(ctx, s.Host+"/app/django:latest")
	if err != nil {
		t.Fatal(err)
	}
	if got != digest {
		t.Errorf("latest = %s, want %s", got, digest)
	}
	if err := c.Tag(ctx, s.Host+"/app/django:1.0.0", "not a tag"); !errors.Is(err, registry.ErrBadReference) {
		t.Errorf("invalid tag name: err = %v, want ErrBadReference", err)
	}
	_, err = c.Digest(ctx, s.Host+"/app/django:9.9.9")
	if !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("missing tag: err = %v, want ErrNotFound", err)
	}
}

// release merges the two platforms of one version into repo:version with
// the version annotation (or none when annotated is ""), and returns its digest.
func release(t *testing.T, c *registry.Client, repo, version, annotated string, srcs []string) string {
	t.Helper()
	var ann map[string]string
	if annotated != "" {
		ann = map[string]string{registry.AnnotationVersion: annotated}
	}
	d, err := c.MergeIndex(context.Background(), repo+":"+version, srcs, ann)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestVersionBehind(t *testing.T) {
	ctx := context.Background()
	s := registrytest.Start(t, "", "")
	srcs, _, _ := sources(t, s, "django")
	setup := newClient()
	repo := func(name string) string { return s.Host + "/app/" + name }
	tag := func(digest, repoName, tag string) {
		t.Helper()
		if err := setup.Tag(ctx, repo(repoName)+"@"+digest, tag); err != nil {
			t.Fatal(err)
		}
	}

	// good: latest is 1.0.1, annotated and consistent.
	release(t, setup, repo("good"), "1.0.0", "1.0.0", srcs)
	good := release(t, setup, repo("good"), "1.0.1", "1.0.1", srcs)
	tag(good, "good", "latest")
	// bare: indexes without annotation; latest is 1.2.0, also tagged by commit.
	release(t, setup, repo("bare"), "1.1.0", "", srcs[:1])
	bare := release(t, setup, repo("bare"), "1.2.0", "", srcs)
	tag(bare, "bare", "latest")
	tag(bare, "bare", "sha-0123abc")
	// liar: latest says 2.0.0 but the 2.0.0 tag is another index; it is really 1.9.0.
	release(t, setup, repo("liar"), "2.0.0", "2.0.0", srcs)
	liar := release(t, setup, repo("liar"), "1.9.0", "2.0.0", srcs[:1])
	tag(liar, "liar", "latest")
	// dangling: latest says 3.0.0, which was never pushed; it is 2.9.0.
	dangling := release(t, setup, repo("dangling"), "2.9.0", "3.0.0", srcs)
	tag(dangling, "dangling", "latest")
	// orphan: latest is no version at all.
	release(t, setup, repo("orphan"), "1.0.0", "1.0.0", srcs)
	orphan := release(t, setup, repo("orphan"), "edge", "", srcs[:1])
	tag(orphan, "orphan", "latest")
	// nolatest: versions but no latest.
	release(t, setup, repo("nolatest"), "1.0.0", "1.0.0", srcs)
	// glued: no annotation; latest is the glued pre-release 1.8.7beta2, a version like 1.8.7-beta2.
	release(t, setup, repo("glued"), "1.8.6", "", srcs[:1])
	glued := release(t, setup, repo("glued"), "1.8.7beta2", "", srcs)
	tag(glued, "glued", "latest")
	// gluedann: the annotation names a glued pre-release, which is trusted once confirmed.
	release(t, setup, repo("gluedann"), "1.8.6", "1.8.6", srcs[:1])
	gluedAnn := release(t, setup, repo("gluedann"), "1.8.7beta2", "1.8.7beta2", srcs)
	tag(gluedAnn, "gluedann", "latest")
	// gluedties: one index under three glued pre-releases; ASCII orders the suffixes (alpha < beta2 < rc1).
	gluedTies := release(t, setup, repo("gluedties"), "1.8.7beta2", "", srcs)
	tag(gluedTies, "gluedties", "1.8.7rc1")
	tag(gluedTies, "gluedties", "1.8.7alpha")
	tag(gluedTies, "gluedties", "latest")
	// gluedstable: the release and its glued pre-release share the index; the release is greater.
	gluedStable := release(t, setup, repo("gluedstable"), "1.8.7rc1", "", srcs)
	tag(gluedStable, "gluedstable", "1.8.7")
	tag(gluedStable, "gluedstable", "latest")

	tests := []struct {
		repo string
		want registry.Found
	}{
		// GET latest + HEAD 1.0.1.
		{"good", registry.Found{Version: "1.0.1", Digest: good, Method: "annotation", Requests: 2}},
		// GET latest + list + HEAD 1.1.0, 1.2.0 (sha-… and latest are not versions).
		{"bare", registry.Found{Version: "1.2.0", Digest: bare, Method: "scan", Requests: 4}},
		// GET latest + HEAD 2.0.0 (mismatch) + list + HEAD 1.9.0, 2.0.0.
		{"liar", registry.Found{Version: "1.9.0", Digest: liar, Method: "scan", Requests: 5}},
		// GET latest + HEAD 3.0.0 (404) + list + HEAD 2.9.0.
		{"dangling", registry.Found{Version: "2.9.0", Digest: dangling, Method: "scan", Requests: 4}},
		// GET latest + list + HEAD 1.0.0.
		{"orphan", registry.Found{Version: "", Digest: orphan, Method: "scan", Requests: 3}},
		{"nolatest", registry.Found{Method: "none", Requests: 1}},
		// GET latest + list + HEAD 1.8.6, 1.8.7beta2.
		{"glued", registry.Found{Version: "1.8.7beta2", Digest: glued, Method: "scan", Requests: 4}},
		// GET latest + HEAD 1.8.7beta2.
		{"gluedann", registry.Found{Version: "1.8.7beta2", Digest: gluedAnn, Method: "annotation", Requests: 2}},
		// GET latest + list + HEAD 1.8.7alpha, 1.8.7beta2, 1.8.7rc1.
		{"gluedties", registry.Found{Version: "1.8.7rc1", Digest: gluedTies, Method: "scan", Requests: 5}},
		// GET latest + list + HEAD 1.8.7, 1.8.7rc1.
		{"gluedstable", registry.Found{Version: "1.8.7", Digest: gluedStable, Method: "scan", Requests: 4}},
		{"missing", registry.Found{Method: "none", Requests: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.repo, func(t *testing.T) {
			c := newClient()
			// Authenticate the repository first so that the counts below are
			// the steady-state cost, without the one-off ping.
			_, _ = c.Digest(ctx, repo(tc.repo)+":warm-up")
			got, err := c.VersionBehind(ctx, repo(tc.repo), "latest")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("VersionBehind (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("cold client pays one ping", func(t *testing.T) {
		got, err := newClient().VersionBehind(ctx, repo("good"), "latest")
		if err != nil {
			t.Fatal(err)
		}
		want := registry.Found{Version: "1.0.1", Digest: good, Method: "annotation", Requests: 3}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("VersionBehind (-want +got):\n%s", diff)
		}
	})
}

func TestAuthFailureIsExplainedNotRetriedAndRedacted(t *testing.T) {
	ctx := context.Background()
	s := registrytest.Start(t, "releaser", "correct-horse-battery")
	const wrong = "wrong-password-xyz"
	c := newClient(registry.WithAuth(s.Host, registry.Auth{Username: "releaser", Password: wrong}))
	ref := s.Host + "/app/django:latest"

	_, err := c.Digest(ctx, ref)
	if !errors.Is(err, registry.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	for _, sub := range []string{"reading the digest of " + ref, "check the registry user/password secret"} {
		if !strings.Contains(err.Error(), sub) {
			t.Errorf("error %q does not mention %q", err, sub)
		}
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("error leaks the password: %q", err)
	}
	// The auth challenge ping and the HEAD: a 401 is not retried.
	if got := c.Requests(); got != 2 {
		t.Errorf("%d requests, want 2 (no retry on 401)", got)
	}

	a := registry.Auth{Username: "releaser", Password: wrong}
	if s := fmt.Sprintf("%v %+v %#v %s", a, a, a, a); strings.Contains(s, wrong) {
		t.Errorf("formatting an Auth leaks the password: %s", s)
	}
}

func TestErrorsNeverEchoThePassword(t *testing.T) {
	// A registry that quotes the password it was sent in its error body.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, p, ok := r.BasicAuth()
		w.Header().Set("WWW-Authenticate", `Basic realm="echo"`)
		w.WriteHeader(http.StatusUnauthorized)
		if ok {
			_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"bad password `+p+`"}]}`)
		}
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	const secret = "s3cret-registry-password"
	c := newClient(registry.WithAuth(u.Host, registry.Auth{Username: "u", Password: secret}))
	_, err := c.Copy(context.Background(), u.Host+"/app/x:1", u.Host+"/app/x:2")
	if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "bad password ***") {
		t.Errorf("err = %v, want the password replaced by ***", err)
	}
	if !errors.Is(err, registry.ErrUnauthorized) {
		t.Errorf("redaction lost the error kind: %v", err)
	}
}

func TestTransientFailuresAreRetriedPermanentOnesAreNot(t *testing.T) {
	tests := []struct {
		name         string
		rule         faultproxy.Rule
		wantErr      string // "" for success
		wantInjected int
	}{
		{"503 on manifest PUT twice", faultproxy.Fail("PUT", `/manifests/`, 503, 1, 2), "", 2},
		{"429 on the existence check", faultproxy.Fail("HEAD", `/manifests/`, 429, 1, 1), "", 1},
		{"connection reset on blob upload", faultproxy.Reset("PATCH", `/blobs/uploads/`, 1, 1), "", 1},
		{"connection reset on upload start", faultproxy.Reset("POST", `/blobs/uploads/`, 1, 1), "", 1},
		// The ping's own https/http fallback absorbs one failure; two need a retry.
		{"502 on ping twice", faultproxy.Fail("GET", `^/v2/$`, 502, 1, 2), "", 2},
		{"400 is permanent", faultproxy.Fail("PUT", `/manifests/`, 400, 1, 0), "400 Bad Request", 1},
		{"403 is permanent", faultproxy.Fail("PUT", `/manifests/`, 403, 1, 0), "check that the registry user may", 1},
		{"503 forever gives up", faultproxy.FailAll("PUT", `/manifests/`, 503), "giving up after 4 attempts", 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			build := registrytest.Start(t, "", "")
			rel := registrytest.Start(t, "", "")
			p := faultproxy.New(rel.URL, tc.rule)
			p.Start()
			t.Cleanup(p.Close)
			src := build.PushImage(t, build.Host+"/build/app", registrytest.Image(t, "linux/amd64"))
			dst := p.Host() + "/app/app:1.0.0"

			got, err := newClient().Copy(context.Background(), src, dst)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Copy: %v", err)
				}
				if want := src[strings.Index(src, "@")+1:]; got != want {
					t.Errorf("digest = %s, want %s", got, want)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "copying "+src+" to "+dst) {
				t.Errorf("err = %v, want it to say what was copied and %q", err, tc.wantErr)
			}
			if p.Injected() != tc.wantInjected {
				t.Errorf("%d faults injected, want %d", p.Injected(), tc.wantInjected)
			}
		})
	}
}
