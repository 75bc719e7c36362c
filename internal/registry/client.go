// Package registry is the release-side client for OCI registries: digests,
// multi-platform index merging, digest-preserving copies, tagging, and finding
// which version tag `latest` points at. It wraps go-containerregistry with
// credentials per repository prefix, a guard that keeps plain HTTP to the
// loopback and the hosts named insecure, operation-level retries and errors
// that say what was being done on which reference.
package registry

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"shipyard/internal/imageref"
	"shipyard/internal/regaccess"
	"shipyard/internal/retry"
)

// Auth is a registry user and password; the password is a secret and never
// appears in errors or logs.
type Auth struct{ Username, Password string }

// String hides the password so that printing an Auth cannot leak it.
func (a Auth) String() string { return a.Username + ":***" }

// GoString hides the password from %#v as well.
func (a Auth) GoString() string {
	return fmt.Sprintf("registry.Auth{Username:%q, Password:\"***\"}", a.Username)
}

// Option configures a Client.
type Option func(*Client)

// WithAuth uses basic credentials (or a token exchange started with them) for
// the repositories under prefix: a registry host ("127.0.0.1:5001") or a host
// and leading path segments ("registry.gitlab.com/group/project"). A
// repository takes the credentials of the longest prefix that covers it
// (regaccess.Match); repositories no prefix covers are anonymous.
func WithAuth(prefix string, a Auth) Option {
	return func(c *Client) { c.auths = append(c.auths, prefixAuth{prefix, a}) }
}

// WithInsecure names the hosts ("HOST" or "HOST:PORT", as --insecure-registry
// does) the client speaks plain HTTP to, without trying HTTPS first. The
// loopback may always be spoken to over plain HTTP; any other host not named
// here never is (see GuardTransport).
func WithInsecure(hosts ...string) Option {
	return func(c *Client) { c.insecure = append(c.insecure, hosts...) }
}

// WithTransport sets the HTTP transport under the client's own layers
// (counting, insecure scheme, plain-HTTP guard), e.g. to reach a registry through a proxy.
func WithTransport(rt http.RoundTripper) Option {
	return func(c *Client) { c.inner = rt }
}

// WithRetry retries transient failures (retry.Transient) up to n more times,
// waiting baseDelay, then twice as long each time (n = 0 disables retries), in
// place of retry.Registry's tries and first wait.
func WithRetry(n int, baseDelay time.Duration) Option {
	return func(c *Client) { c.retry.Attempts, c.retry.BaseDelay = max(n, 0)+1, max(baseDelay, 0) }
}

// WithConcurrency bounds the parallel requests of one operation (blob
// uploads, tag scans); at least 1.
func WithConcurrency(n int) Option {
	return func(c *Client) { c.concurrency = max(n, 1) }
}

// Client talks to one or more registries; it is safe for concurrent use and
// caches authentication per repository, so reuse one Client for a release.
type Client struct {
	auths       []prefixAuth
	insecure    []string
	inner       http.RoundTripper
	retry       retry.Policy
	concurrency int

	counter *CountingTransport
	once    sync.Once
	puller  *remote.Puller
	pusher  *remote.Pusher
	initErr error
}

// defaultJobs is how many requests of one operation run in parallel by default.
const defaultJobs = 4

// New returns a client; without options it is anonymous, HTTPS-only but for the loopback, retries
// transient failures as retry.Registry says and runs 4 requests in parallel per operation.
func New(opts ...Option) *Client {
	c := &Client{
		retry:       retry.Registry,
		concurrency: defaultJobs,
	}
	for _, o := range opts {
		o(c)
	}
	if c.inner == nil {
		c.inner = defaultTransport()
	}
	guard := GuardTransport(c.inner, c.insecure)
	c.counter = NewCountingTransport(&schemeTransport{inner: guard, insecure: c.isInsecure})
	return c
}

// defaultTransport is go-containerregistry's transport with a bound on how
// long a registry may take to start answering, so a hung registry becomes a
// (retried) timeout instead of a stuck release.
func defaultTransport() http.RoundTripper {
	t, ok := remote.DefaultTransport.(*http.Transport)
	if !ok {
		return remote.DefaultTransport
	}
	t = t.Clone()
	t.ResponseHeaderTimeout = 2 * time.Minute
	return t
}

// Requests returns how many HTTP requests the client has sent so far.
func (c *Client) Requests() int64 { return c.counter.Count() }

// remote returns the shared puller and pusher; they cache one authenticated
// transport per repository so that a ping/token exchange happens once.
func (c *Client) remote() (*remote.Puller, *remote.Pusher, error) {
	c.once.Do(func() {
		opts := []remote.Option{
			remote.WithTransport(c.counter),
			remote.WithAuthFromKeychain(c.Keychain()),
			remote.WithJobs(c.concurrency),
			remote.WithUserAgent("shipyard"),
			// Retries happen once, at the operation level (see op), so
			// that a retried upload restarts cleanly instead of re-sending a
			// consumed request body.
			remote.WithRetryPredicate(func(error) bool { return false }),
			remote.WithRetryStatusCodes(),
		}
		c.puller, c.initErr = remote.NewPuller(opts...)
		if c.initErr == nil {
			c.pusher, c.initErr = remote.NewPusher(opts...)
		}
	})
	return c.puller, c.pusher, c.initErr
}

// RemoteOptions are go-containerregistry options that reach the registries as this client
// does (its transport, with the plain-HTTP hosts, the guard and the tunnels, and its
// credentials), for adapters that speak to the same registries with go-containerregistry directly.
func (c *Client) RemoteOptions() []remote.Option {
	return []remote.Option{
		remote.WithTransport(c.counter),
		remote.WithAuthFromKeychain(c.Keychain()),
		remote.WithUserAgent("shipyard"),
	}
}

// Transport is the client's HTTP transport: counting, the insecure hosts' scheme, the
// plain-HTTP guard, then the inner transport.
func (c *Client) Transport() http.RoundTripper { return c.counter }

// Insecure returns the hosts named by WithInsecure.
func (c *Client) Insecure() []string { return append([]string(nil), c.insecure...) }

// Keychain resolves a repository to the credentials of the longest prefix that covers it.
func (c *Client) Keychain() authn.Keychain { return keychain(c.auths) }

func (c *Client) isInsecure(host string) bool { return regaccess.Listed(host, c.insecure) }

// ErrBadReference is returned for an image reference that cannot be parsed or lacks a required part.
var ErrBadReference = errors.New("bad image reference")

// parseRef parses a fully qualified reference (registry host required, no
// implicit defaults).
func (c *Client) parseRef(ref string) (name.Reference, error) {
	return parseAs(c, name.ParseReference, ref, "write it as host:port/repo:tag or host:port/repo@sha256:…")
}

// parseTag parses a reference that must name an explicit tag.
func (c *Client) parseTag(ref string) (name.Tag, error) {
	return parseAs(c, name.NewTag, ref, "write it as host:port/repo:tag")
}

// parseDigest parses a reference that must be pinned by digest.
func (c *Client) parseDigest(ref string) (name.Digest, error) {
	return parseAs(c, name.NewDigest, ref, "pin it by digest: host:port/repo@sha256:…")
}

// parseRepo parses a repository (no tag, no digest).
func (c *Client) parseRepo(repo string) (name.Repository, error) {
	return parseAs(c, name.NewRepository, repo, "write it as host:port/repo, without tag")
}

// parseAs parses ref with parse and the client's name options, explaining
// the expected form on failure.
func parseAs[T any](c *Client, parse func(string, ...name.Option) (T, error), ref, form string) (T, error) {
	r, err := parse(ref, c.nameOpts(ref)...)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("%w %q: %v (%s)", ErrBadReference, ref, err, form)
	}
	return r, nil
}

// nameOpts requires fully qualified references and marks as insecure only the
// hosts that may speak plain HTTP (the loopback and the WithInsecure hosts).
func (c *Client) nameOpts(ref string) []name.Option {
	return NameOptions(ref, c.insecure)
}

// NameOptions are the go-containerregistry name options for ref: strict
// validation, and name.Insecure only when ref's host may speak plain HTTP
// (regaccess.PlainHTTP with the hosts of insecure).
func NameOptions(ref string, insecure []string) []name.Option {
	opts := []name.Option{name.StrictValidation}
	// a reference that does not parse gets no name.Insecure: name refuses it with the reason
	if r, err := imageref.Parse(ref); err == nil && regaccess.PlainHTTP(r.Host, insecure) {
		opts = append(opts, name.Insecure)
	}
	return opts
}

// prefixAuth is one WithAuth: the credentials of the repositories under prefix.
type prefixAuth struct {
	prefix string
	auth   Auth
}

// keychain resolves a repository to the credentials of the longest prefix
// that covers it (regaccess.Match); repositories no prefix covers are anonymous.
type keychain []prefixAuth

// Resolve implements authn.Keychain; r is a repository ("host/path") or a registry ("host").
func (k keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	prefixes := make([]string, len(k))
	for i, p := range k {
		prefixes[i] = p.prefix
	}
	i := regaccess.Match(prefixes, r.String())
	if i < 0 {
		return authn.Anonymous, nil
	}
	a := k[i].auth
	return &authn.Basic{Username: a.Username, Password: a.Password}, nil
}

// secrets lists the passwords that must never be printed.
func (c *Client) secrets() []string {
	var s []string
	for _, a := range c.auths {
		if a.auth.Password != "" {
			s = append(s, a.auth.Password)
		}
	}
	return s
}
