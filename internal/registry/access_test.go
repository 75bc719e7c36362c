package registry_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"shipyard/internal/imageref"
	"shipyard/internal/registry"
	"shipyard/internal/registry/registrytest"
)

// privateHost is a registry on a private network, where go-containerregistry falls back to plain
// HTTP by itself when HTTPS fails. The tests' dialer sends its connections to an in-process
// registry on the loopback that speaks HTTP only, as a registry whose HTTPS port is closed or
// blocked would; no connection goes to 10.99.0.5.
const privateHost = "10.99.0.5:5000"

// privateImage pushes an image to s and returns it by digest as privateHost's.
func privateImage(t *testing.T, s *registrytest.Server) string {
	t.Helper()
	ref := s.PushImage(t, s.Host+"/group/app", registrytest.Image(t, "linux/amd64"))
	return privateHost + strings.TrimPrefix(ref, s.Host)
}

// TestPlainHTTPIsRefusedToAPrivateAddress: with credentials for a registry on 10.99.0.5:5000
// that only speaks HTTP, no request goes over HTTP (so no Authorization header), the call fails
// at once naming the host and --insecure-registry, and nothing is retried.
func TestPlainHTTPIsRefusedToAPrivateAddress(t *testing.T) {
	s := registrytest.Start(t, "ci", "registry-pass")
	ref := privateImage(t, s)
	rec := &registrytest.Recorder{Inner: s.DialAs(privateHost)}
	c := registry.New(registry.WithTransport(rec), registry.WithRetry(3, 50*time.Millisecond),
		registry.WithAuth(privateHost, registry.Auth{Username: "ci", Password: "registry-pass"}))

	start := time.Now()
	_, err := c.Digest(context.Background(), ref)
	if err == nil {
		t.Fatal("Digest over plain HTTP to a private address succeeded")
	}
	if !errors.Is(err, registry.ErrPlainHTTP) || !strings.Contains(err.Error(), "--insecure-registry="+privateHost) ||
		!strings.Contains(err.Error(), "refusing plain HTTP to "+privateHost) {
		t.Errorf("err = %v, want ErrPlainHTTP naming %s and --insecure-registry", err, privateHost)
	}
	if errors.Is(err, registry.ErrUnreachable) {
		t.Errorf("err = %v, want it not to blame the network", err)
	}
	if strings.Contains(err.Error(), "registry-pass") {
		t.Errorf("err = %v names the password", err)
	}
	sent := rec.Sent()
	for _, r := range sent {
		if r.Scheme != "https" || r.Authorization {
			t.Errorf("sent %+v, want only HTTPS and no credentials before a challenge", r)
		}
	}
	if len(sent) != 1 || time.Since(start) > 5*time.Second {
		t.Errorf("%d requests in %s, want the one HTTPS ping and no retry: %+v", len(sent), time.Since(start), sent)
	}
}

// TestPlainHTTPToTheLoopbackAndTheFlagsHosts: the loopback needs no flag; a private address
// named by --insecure-registry (with its port, or without one) is spoken to over HTTP with
// its credentials.
func TestPlainHTTPToTheLoopbackAndTheFlagsHosts(t *testing.T) {
	ctx := context.Background()
	s := registrytest.Start(t, "ci", "registry-pass")
	ref := privateImage(t, s)
	auth := registry.Auth{Username: "ci", Password: "registry-pass"}
	for _, flag := range []string{privateHost, "10.99.0.5"} {
		rec := &registrytest.Recorder{Inner: s.DialAs(privateHost)}
		c := registry.New(registry.WithTransport(rec), registry.WithRetry(0, 0), registry.WithInsecure(flag),
			registry.WithAuth(privateHost, auth))
		if _, err := c.Digest(ctx, ref); err != nil {
			t.Errorf("--insecure-registry=%s: %v", flag, err)
		}
		if sent := rec.Sent(); len(sent) == 0 || sent[len(sent)-1].Scheme != "http" || !sent[len(sent)-1].Authorization {
			t.Errorf("--insecure-registry=%s: sent %+v, want HTTP with the credentials", flag, sent)
		}
	}
	loopback := s.Host + strings.TrimPrefix(ref, privateHost)
	for _, r := range []string{loopback, strings.Replace(loopback, "127.0.0.1", "localhost", 1)} {
		parsed, err := imageref.Parse(r)
		if err != nil {
			t.Fatal(err)
		}
		c := registry.New(registry.WithRetry(0, 0), registry.WithAuth(parsed.Host, auth))
		if _, err := c.Digest(ctx, r); err != nil {
			t.Errorf("Digest(%s) without --insecure-registry: %v", r, err)
		}
	}
}

// TestGuardTransportSendsNothing: a refused request never reaches the inner transport, and its
// body is closed; HTTPS and allowed hosts pass.
func TestGuardTransportSendsNothing(t *testing.T) {
	inner := &registrytest.Recorder{Inner: roundTripFunc(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
	})}
	g := registry.GuardTransport(inner, []string{"registry.lan:5000"})
	body := &closeRecorder{Reader: strings.NewReader("blob")}
	req, _ := http.NewRequest(http.MethodPut, "http://192.168.1.10:5000/v2/app/blobs/uploads/x", body)
	req.Header.Set("Authorization", "Basic Y2k6cGFzcw==")
	if _, err := g.RoundTrip(req); !errors.Is(err, registry.ErrPlainHTTP) {
		t.Errorf("err = %v, want ErrPlainHTTP", err)
	}
	if !body.closed || len(inner.Sent()) != 0 {
		t.Errorf("body closed %v, sent %+v: want the body closed and nothing sent", body.closed, inner.Sent())
	}
	for _, u := range []string{"https://192.168.1.10:5000/v2/", "http://registry.lan:5000/v2/", "http://127.0.0.1:5000/v2/", "http://[::1]:5000/v2/"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if _, err := g.RoundTrip(req); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

// TestCredentialsByRepositoryPrefix: the build and the release repositories of one host (the
// GitLab default) each get their own token, and a host-wide credential given last does not
// override them; the registry accepts each token for its own repositories only.
func TestCredentialsByRepositoryPrefix(t *testing.T) {
	s := registrytest.Start(t, "admin", "admin-pass")
	s.RequireForRepository("group/project", "builder", "build-token")
	s.RequireForRepository("group/project/release", "releaser", "release-token")
	s.RequireForRepository("other", "ci", "job-token")
	src := s.PushImage(t, s.Host+"/group/project/app", registrytest.Image(t, "linux/amd64"))
	dst := s.Host + "/group/project/release/app:1.0.0"
	c := newClient(
		registry.WithAuth(s.Host+"/group/project/release", registry.Auth{Username: "releaser", Password: "release-token"}),
		registry.WithAuth(s.Host+"/group/project", registry.Auth{Username: "builder", Password: "build-token"}),
		registry.WithAuth(s.Host, registry.Auth{Username: "ci", Password: "job-token"}),
	)
	digest, err := c.Copy(context.Background(), src, dst)
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	if !strings.HasSuffix(src, "@"+digest) {
		t.Errorf("Copy = %s, want the digest of %s", digest, src)
	}
	// the host-wide credential serves a repository no prefix covers
	if _, err := c.Digest(context.Background(), s.PushImage(t, s.Host+"/other/tool", registrytest.Image(t, "linux/amd64"))); err != nil {
		t.Errorf("Digest under the host-wide credential: %v", err)
	}
	// and the build token is refused for the release repository: the registry checks
	only := newClient(registry.WithAuth(s.Host, registry.Auth{Username: "builder", Password: "build-token"}))
	if _, err := only.Copy(context.Background(), src, s.Host+"/group/project/release/app:1.0.1"); !errors.Is(err, registry.ErrUnauthorized) {
		t.Errorf("Copy with the build token to the release repository: %v, want ErrUnauthorized", err)
	}
}
