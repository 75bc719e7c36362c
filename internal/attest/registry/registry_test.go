package registry_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"shipyard/internal/attest"
	"shipyard/internal/attest/registry"
	shipreg "shipyard/internal/registry"
	"shipyard/internal/registry/registrytest"
)

const revision = "0123456789abcdef0123456789abcdef01234567"

// server is an in-process registry; without referrers it answers 404 to the
// referrers API, as registries without OCI 1.1 support do.
type server struct {
	host string
	puts atomic.Int64
}

func start(t *testing.T, referrers bool) *server {
	t.Helper()
	s := &server{}
	reg := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)), ggcr.WithReferrersSupport(referrers))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !referrers && strings.Contains(r.URL.Path, "/referrers/") {
			http.NotFound(w, r)
			return
		}
		if r.Method == http.MethodPut {
			s.puts.Add(1)
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.host = strings.TrimPrefix(srv.URL, "http://")
	return s
}

var kinds = []struct {
	name      string
	referrers bool
}{{"referrers API", true}, {"fallback tag", false}}

// release pushes a two-platform index to repo:1.2.3 and returns it by digest
// with its platform manifests' digests.
func release(t *testing.T, repo string) (string, []string) {
	t.Helper()
	amd, arm := registrytest.Image(t, "linux/amd64"), registrytest.Image(t, "linux/arm64")
	idx := registrytest.Index(nil, registrytest.PlatformEntry(t, amd), registrytest.PlatformEntry(t, arm))
	tag, err := name.NewTag(repo+":1.2.3", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatal(err)
	}
	d, _ := idx.Digest()
	da, _ := amd.Digest()
	dr, _ := arm.Digest()
	return repo + "@" + d.String(), []string{repo + "@" + da.String(), repo + "@" + dr.String()}
}

// sign signs the index and attaches, to each platform manifest, a signature,
// signed SBOM and provenance attestations and both as referrers.
func sign(t *testing.T, c *registry.Client, s *attest.Signer, index string, kids []string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.Sign(ctx, index, s); err != nil {
		t.Fatal(err)
	}
	for _, k := range kids {
		repo, digest, _ := strings.Cut(k, "@")
		if _, err := c.Sign(ctx, k, s); err != nil {
			t.Fatal(err)
		}
		start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		prov, err := attest.ProvenanceStatement(attest.Build{
			Image: repo, Digest: digest, Module: "git+https://gitlab.example/group/shipyard@1.0.0", EngineVersion: "v0.19.10",
			Repository: "git+https://gitlab.example/group/app", Revision: revision, Target: "web", Platform: "linux/amd64",
			StartedOn: start, FinishedOn: start.Add(time.Minute),
		})
		if err != nil {
			t.Fatal(err)
		}
		spdx := []byte(`{"spdxVersion":"SPDX-2.3","name":"` + digest + `","packages":[{"name":"python3"}]}`)
		sbom, err := attest.NewStatement(repo, digest, attest.PredicateSPDX, spdx)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range [][]byte{sbom, prov} {
			if _, err := c.Attest(ctx, k, s, st); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.Attach(ctx, k, attest.ArtifactSPDX, spdx); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Attach(ctx, k, attest.ArtifactProvenance, prov); err != nil {
			t.Fatal(err)
		}
	}
}

func policy(s *attest.Signer) attest.Policy {
	return attest.Policy{Key: s.Public(), SBOM: true, Revision: revision, Referrers: true}
}

func newSigner(t *testing.T) *attest.Signer {
	t.Helper()
	s, err := attest.GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSignAttachVerify: a signed release verifies on both kinds of registry;
// the fallback tag exists exactly where there is no referrers API; signing
// and attaching again writes nothing.
func TestSignAttachVerify(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind.name, func(t *testing.T) {
			srv := start(t, kind.referrers)
			c := registry.New(registry.WithInsecure())
			s := newSigner(t)
			repo := srv.host + "/shipyard/app-web"
			index, kids := release(t, repo)
			sign(t, c, s, index, kids)
			ctx := context.Background()
			if err := c.Verify(ctx, repo+":1.2.3", policy(s)); err != nil {
				t.Fatalf("Verify = %v", err)
			}
			refs, err := c.Referrers(ctx, kids[0])
			if err != nil || len(refs) != 2 {
				t.Fatalf("Referrers = %v, %v; want the SBOM and the provenance", refs, err)
			}
			_, digest, _ := strings.Cut(kids[0], "@")
			fallback, _ := attest.ReferrersTag(digest)
			_, err = remote.Head(mustRef(t, repo+":"+fallback))
			if kind.referrers != (err != nil) {
				t.Errorf("fallback tag %s: %v (referrers API: %v)", fallback, err, kind.referrers)
			}
			before := srv.puts.Load()
			sign(t, c, s, index, kids)
			if n := srv.puts.Load() - before; n != 0 {
				t.Errorf("signing and attaching again wrote %d manifests or blobs, want 0", n)
			}
		})
	}
}

func mustRef(t *testing.T, ref string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCopy promotes the attachments between every pair of registry kinds;
// they verify in the destination and a second copy writes nothing.
func TestCopy(t *testing.T) {
	for _, from := range kinds {
		for _, to := range kinds {
			t.Run(from.name+" to "+to.name, func(t *testing.T) {
				src, dst := start(t, from.referrers), start(t, to.referrers)
				c := registry.New(registry.WithInsecure())
				s := newSigner(t)
				index, kids := release(t, src.host+"/shipyard/app-web")
				sign(t, c, s, index, kids)
				_, digest, _ := strings.Cut(index, "@")
				dstRepo := dst.host + "/releases/app-web"
				copyIndex(t, index, dstRepo+":1.2.3")
				ctx := context.Background()
				n, err := c.Copy(ctx, index, dstRepo)
				if err != nil {
					t.Fatal(err)
				}
				if want := (registry.Copied{Tags: 5, Referrers: 4}); n != want {
					t.Errorf("Copy = %+v, want %+v", n, want)
				}
				if err := c.Verify(ctx, dstRepo+"@"+digest, policy(s)); err != nil {
					t.Fatalf("Verify in the destination = %v", err)
				}
				before := dst.puts.Load()
				n, err = c.Copy(ctx, index, dstRepo)
				if err != nil || n != (registry.Copied{}) {
					t.Errorf("second Copy = %+v, %v; want nothing copied", n, err)
				}
				if puts := dst.puts.Load() - before; puts != 0 {
					t.Errorf("second Copy sent %d PUTs, want 0", puts)
				}
			})
		}
	}
}

// copyIndex stands for promote: the index and its platform images, by digest.
func copyIndex(t *testing.T, src, dst string) {
	t.Helper()
	idx, err := remote.Index(mustRef(t, src))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(mustRef(t, dst), idx); err != nil {
		t.Fatal(err)
	}
}

// TestCopyKeepsDestinationSignatures: a signature already in the
// destination (another key's) stays, and the source's is added.
func TestCopyKeepsDestinationSignatures(t *testing.T) {
	srv := start(t, true)
	c := registry.New(registry.WithInsecure())
	build, rel := newSigner(t), newSigner(t)
	index, kids := release(t, srv.host+"/shipyard/app-web")
	sign(t, c, build, index, kids)
	dstRepo := srv.host + "/releases/app-web"
	copyIndex(t, index, dstRepo+":1.2.3")
	_, digest, _ := strings.Cut(index, "@")
	ctx := context.Background()
	if _, err := c.Sign(ctx, dstRepo+"@"+digest, rel); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Copy(ctx, index, dstRepo); err != nil {
		t.Fatal(err)
	}
	ev, err := c.Evidence(ctx, dstRepo+"@"+digest, "index")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*attest.Signer{build, rel} {
		if err := attest.Check(ev, attest.Policy{Key: s.Public()}); err != nil {
			t.Errorf("Check = %v", err)
		}
	}
}

// TestVerifyTampered: what an attacker or a mistake can do to a release
// makes Verify fail, saying what is wrong.
func TestVerifyTampered(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, repo, index string, kids []string)
		is     error
		says   string
	}{
		{"another image re-tagged as the release", func(t *testing.T, repo, _ string, _ []string) {
			release(t, repo) // a new, unsigned index under the same tag
		}, attest.ErrNoSignature, ".sig holds no signature"},
		{"index signature deleted", func(t *testing.T, repo, index string, _ []string) {
			deleteTag(t, repo, index, attest.SignatureTag)
		}, attest.ErrNoSignature, ":1.2.3 ("},
		{"platform signature deleted", func(t *testing.T, repo, _ string, kids []string) {
			deleteTag(t, repo, kids[1], attest.SignatureTag)
		}, attest.ErrNoSignature, ":1.2.3 [linux/arm64]"},
		{"attestations deleted", func(t *testing.T, repo, _ string, kids []string) {
			deleteTag(t, repo, kids[0], attest.AttestationTag)
		}, attest.ErrNoProvenance, "no signed SLSA v1 provenance attestation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := start(t, false)
			c := registry.New(registry.WithInsecure())
			s := newSigner(t)
			repo := srv.host + "/releases/app-web"
			index, kids := release(t, repo)
			sign(t, c, s, index, kids)
			tc.tamper(t, repo, index, kids)
			err := c.Verify(ctx, repo+":1.2.3", policy(s))
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("Verify = %v\nwant %v saying %q", err, tc.is, tc.says)
			}
		})
	}
}

func deleteTag(t *testing.T, repo, ref string, tag func(string) (string, error)) {
	t.Helper()
	_, digest, _ := strings.Cut(ref, "@")
	name, err := tag(digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Delete(mustRef(t, repo+":"+name)); err != nil {
		t.Fatal(err)
	}
}

// TestPlainHTTPOnlyToTheLoopbackAndTheFlagsHosts: the signing client, on its own or built from
// the pipeline's registry client, sends nothing over plain HTTP to a private address that
// --insecure-registry does not name (a dialer sends 10.99.0.5:5000 to an in-process registry
// that speaks HTTP only; nothing leaves this machine), and fails naming the flag; named, it works.
func TestPlainHTTPOnlyToTheLoopbackAndTheFlagsHosts(t *testing.T) {
	const private = "10.99.0.5:5000"
	ctx := context.Background()
	s := registrytest.Start(t, "ci", "registry-pass")
	ref := private + strings.TrimPrefix(s.PushImage(t, s.Host+"/group/app", registrytest.Image(t, "linux/amd64")), s.Host)
	auth := remote.WithAuth(&authn.Basic{Username: "ci", Password: "registry-pass"})
	clients := map[string]func(rt http.RoundTripper, insecure ...string) *registry.Client{
		"on its own": func(rt http.RoundTripper, insecure ...string) *registry.Client {
			// a transport among the remote options does not get around the guard
			return registry.New(registry.WithRemoteOptions(auth, remote.WithTransport(rt)), registry.WithTransport(rt), registry.WithInsecure(insecure...))
		},
		"from the pipeline's client": func(rt http.RoundTripper, insecure ...string) *registry.Client {
			return registry.New(registry.WithClient(shipreg.New(shipreg.WithTransport(rt), shipreg.WithInsecure(insecure...),
				shipreg.WithAuth(private, shipreg.Auth{Username: "ci", Password: "registry-pass"}))))
		},
	}
	for name, client := range clients {
		t.Run(name, func(t *testing.T) {
			rec := &registrytest.Recorder{Inner: s.DialAs(private)}
			_, err := client(rec).Referrers(ctx, ref)
			if !errors.Is(err, shipreg.ErrPlainHTTP) || !strings.Contains(err.Error(), "--insecure-registry="+private) {
				t.Errorf("err = %v, want ErrPlainHTTP naming --insecure-registry=%s", err, private)
			}
			for _, r := range rec.Sent() {
				if r.Scheme != "https" || r.Authorization {
					t.Errorf("sent %+v, want only HTTPS and no credentials", r)
				}
			}
			rec = &registrytest.Recorder{Inner: s.DialAs(private)}
			if _, err := client(rec, private).Referrers(ctx, ref); err != nil {
				t.Errorf("with --insecure-registry=%s: %v", private, err)
			}
			if sent := rec.Sent(); len(sent) == 0 || sent[len(sent)-1].Scheme != "http" || !sent[len(sent)-1].Authorization {
				t.Errorf("with --insecure-registry=%s: sent %+v, want HTTP with the credentials", private, sent)
			}
		})
	}
}
