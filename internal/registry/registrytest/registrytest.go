// Package registrytest serves in-process OCI registries and pushes small
// random multi-platform images into them, for the tests and benchmarks of
// the registry and promote packages.
package registrytest

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Server is an in-process registry served over plain http on 127.0.0.1.
type Server struct {
	// Host is "127.0.0.1:port", the registry part of image references.
	Host string
	// URL is the server's base URL, e.g. a faultproxy target.
	URL *url.URL

	user, password string
	writes         atomic.Int64

	mu       sync.Mutex
	repoAuth map[string][2]string // repository prefix -> user, password
}

// Start serves a fresh empty registry until the test ends; with a non-empty
// user it requires HTTP basic authentication with user and password.
func Start(tb testing.TB, user, password string) *Server {
	tb.Helper()
	s := &Server{user: user, password: password}
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.user != "" {
			if u, p, ok := r.BasicAuth(); !ok || !s.allowed(r.URL.Path, u, p) {
				w.Header().Set("WWW-Authenticate", `Basic realm="registrytest"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
		}
		switch r.Method {
		case http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete:
			s.writes.Add(1)
		}
		reg.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		tb.Fatal(err)
	}
	s.Host, s.URL = u.Host, u
	return s
}

// RequireForRepository gives the repositories under prefix ("group/app": group/app and
// group/app/…) their own credentials: besides the server's own (which fixtures use), only user
// and password are accepted for them, and they are accepted for no other repository. The
// server must have been started with a user.
func (s *Server) RequireForRepository(prefix, user, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repoAuth == nil {
		s.repoAuth = map[string][2]string{}
	}
	s.repoAuth[prefix] = [2]string{user, password}
}

// repoPath finds the repository in a distribution API path.
var repoPath = regexp.MustCompile(`^/v2/(.+)/(manifests|blobs|tags|referrers)/`)

// allowed reports whether user and password may request path: the server's own credentials
// always; a repository's own (RequireForRepository, the longest prefix) for that repository;
// any repository's for the ping (/v2/).
func (s *Server) allowed(path, user, password string) bool {
	if user == s.user && password == s.password {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := repoPath.FindStringSubmatch(path)
	best := ""
	for prefix, cred := range s.repoAuth {
		if m == nil && cred == [2]string{user, password} {
			return true
		}
		if m != nil && (m[1] == prefix || strings.HasPrefix(m[1], prefix+"/")) && len(prefix) > len(best) {
			best = prefix
		}
	}
	return best != "" && s.repoAuth[best] == [2]string{user, password}
}

// Writes returns how many write requests (PUT, POST, PATCH, DELETE) the registry accepted past authentication.
func (s *Server) Writes() int { return int(s.writes.Load()) }

// options returns go-containerregistry options to write fixtures directly.
func (s *Server) options() []remote.Option {
	if s.user == "" {
		return nil
	}
	return []remote.Option{remote.WithAuth(&authn.Basic{Username: s.user, Password: s.password})}
}

// Image returns a small random image whose config says platform ("os/arch[/variant]").
// Every call returns a different image.
func Image(tb testing.TB, platform string) v1.Image {
	tb.Helper()
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		tb.Fatal(err)
	}
	img, err := random.Image(256, 2)
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		tb.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

// Attestation returns a random image to be listed in an index as a BuildKit
// attestation of subject (platform unknown/unknown, reference annotations).
func Attestation(tb testing.TB, subject v1.Hash) mutate.IndexAddendum {
	tb.Helper()
	img := Image(tb, "unknown/unknown")
	return mutate.IndexAddendum{
		Add: img,
		Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{
				"vnd.docker.reference.type":   "attestation-manifest",
				"vnd.docker.reference.digest": subject.String(),
			},
		},
	}
}

// PlatformEntry lists img in an index under its config's platform.
func PlatformEntry(tb testing.TB, img v1.Image) mutate.IndexAddendum {
	tb.Helper()
	cfg, err := img.ConfigFile()
	if err != nil {
		tb.Fatal(err)
	}
	return mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: cfg.Platform()}}
}

// Index returns an OCI index of the given entries, with annotations if any.
func Index(ann map[string]string, entries ...mutate.IndexAddendum) v1.ImageIndex {
	idx := mutate.IndexMediaType(mutate.AppendManifests(empty.Index, entries...), types.OCIImageIndex)
	if len(ann) > 0 {
		idx = mutate.Annotations(idx, ann).(v1.ImageIndex)
	}
	return idx
}

// PushImage writes img to repo (host/path, no tag) by digest and returns "repo@sha256:…".
func (s *Server) PushImage(tb testing.TB, repo string, img v1.Image) string {
	tb.Helper()
	d, err := img.Digest()
	if err != nil {
		tb.Fatal(err)
	}
	ref := s.ref(tb, repo+"@"+d.String())
	if err := remote.Write(ref, img, s.options()...); err != nil {
		tb.Fatalf("pushing %s: %v", ref, err)
	}
	return ref.String()
}

// PushIndex writes idx (and its children) to ref, a tag or a digest reference, and returns "repo@sha256:…".
func (s *Server) PushIndex(tb testing.TB, ref string, idx v1.ImageIndex) string {
	tb.Helper()
	r := s.ref(tb, ref)
	if err := remote.WriteIndex(r, idx, s.options()...); err != nil {
		tb.Fatalf("pushing %s: %v", r, err)
	}
	d, err := idx.Digest()
	if err != nil {
		tb.Fatal(err)
	}
	return r.Context().String() + "@" + d.String()
}

// Put writes raw manifest bytes of the given media type to ref (a tag); the
// blobs and children it refers to must already be in the repository.
func (s *Server) Put(tb testing.TB, ref string, raw []byte, mt types.MediaType) {
	tb.Helper()
	r := s.ref(tb, ref)
	if err := remote.Put(r, rawManifest{raw, mt}, s.options()...); err != nil {
		tb.Fatalf("putting %s: %v", r, err)
	}
}

// Manifest returns the raw manifest behind ref and its media type.
func (s *Server) Manifest(tb testing.TB, ref string) ([]byte, types.MediaType) {
	tb.Helper()
	desc, err := remote.Get(s.ref(tb, ref), s.options()...)
	if err != nil {
		tb.Fatalf("reading %s: %v", ref, err)
	}
	return desc.Manifest, desc.MediaType
}

// ReadIndex returns the index behind ref, backed by the registry.
func (s *Server) ReadIndex(tb testing.TB, ref string) v1.ImageIndex {
	tb.Helper()
	idx, err := remote.Index(s.ref(tb, ref), s.options()...)
	if err != nil {
		tb.Fatalf("reading %s: %v", ref, err)
	}
	return idx
}

func (s *Server) ref(tb testing.TB, ref string) name.Reference {
	tb.Helper()
	if !strings.HasPrefix(ref, s.Host+"/") {
		tb.Fatalf("reference %q is not on this registry (%s)", ref, s.Host)
	}
	r, err := name.ParseReference(ref, name.Insecure, name.StrictValidation)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

// RawManifest returns the manifest bytes.
func (m rawManifest) RawManifest() ([]byte, error) { return m.raw, nil }

// MediaType returns the manifest's media type.
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// DialAs returns a transport that reaches s when it dials addr ("10.99.0.5:5000": an address the
// test must not really dial) and refuses every other address. HTTPS to addr fails as it does
// against a registry without TLS (s speaks plain HTTP); nothing leaves this machine.
func (s *Server) DialAs(addr string) http.RoundTripper {
	d := &net.Dialer{}
	return &http.Transport{DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		if a != addr {
			return nil, fmt.Errorf("registrytest: %s is not the address this test serves (%s)", a, addr)
		}
		return d.DialContext(ctx, network, s.Host)
	}}
}

// Sent is what a Recorder saw of one request.
type Sent struct {
	Scheme, Host, Path string
	Authorization      bool // the request carried an Authorization header
}

// Recorder is an http.RoundTripper that records each request it is handed, then sends it with
// Inner: as the innermost transport of a client, it sees what would leave the machine.
type Recorder struct {
	Inner http.RoundTripper

	mu   sync.Mutex
	sent []Sent
}

// RoundTrip records req and sends it.
func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.sent = append(r.sent, Sent{Scheme: req.URL.Scheme, Host: req.URL.Host, Path: req.URL.Path, Authorization: req.Header.Get("Authorization") != ""})
	r.mu.Unlock()
	return r.Inner.RoundTrip(req)
}

// Sent returns the requests recorded so far.
func (r *Recorder) Sent() []Sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Sent(nil), r.sent...)
}
