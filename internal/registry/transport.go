package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	"shipyard/internal/regaccess"
	"shipyard/internal/retry"
)

// CountingTransport is an http.RoundTripper that counts the requests it sends
// (every attempt, including authentication pings and retries), in total and
// per context (see CountRequests), so that tests and benchmarks can measure
// what an operation costs in registry round trips.
type CountingTransport struct {
	inner http.RoundTripper
	n     atomic.Int64
}

// NewCountingTransport wraps inner (http.DefaultTransport when nil).
func NewCountingTransport(inner http.RoundTripper) *CountingTransport {
	if inner == nil {
		inner = http.DefaultTransport
	}
	return &CountingTransport{inner: inner}
}

// RoundTrip counts the request and sends it.
func (t *CountingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.n.Add(1)
	if c, ok := req.Context().Value(counterKey{}).(*atomic.Int64); ok {
		c.Add(1)
	}
	return t.inner.RoundTrip(req)
}

// Count returns how many requests went through the transport.
func (t *CountingTransport) Count() int64 { return t.n.Load() }

type counterKey struct{}

// CountRequests returns a context under which every request sent through a
// CountingTransport is also added to the returned counter.
func CountRequests(ctx context.Context) (context.Context, *atomic.Int64) {
	c := new(atomic.Int64)
	return context.WithValue(ctx, counterKey{}, c), c
}

// schemeTransport sends requests for insecure hosts over plain http, so that
// go-containerregistry's https-first probe does not cost a failed attempt.
type schemeTransport struct {
	inner    http.RoundTripper
	insecure func(host string) bool
}

// RoundTrip rewrites https to http for insecure hosts.
func (t *schemeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "https" && t.insecure(req.URL.Host) {
		req = req.Clone(req.Context())
		req.URL.Scheme = "http"
	}
	return t.inner.RoundTrip(req)
}

// ErrPlainHTTP means a request was about to go over plain HTTP to a host that
// is neither the loopback nor named by --insecure-registry; it was not sent.
var ErrPlainHTTP = errors.New("plain HTTP refused")

// PlainHTTPError names the host a plain-HTTP request was refused for.
type PlainHTTPError struct{ Host string }

func (e *PlainHTTPError) Error() string {
	return fmt.Sprintf("refusing plain HTTP to %s: only the loopback and the registries named by %s are spoken to without TLS, "+
		"so no credential crosses the network in the clear; if %s really has no HTTPS, pass --insecure-registry=%s", e.Host, regaccess.Flag, e.Host, e.Host)
}

// Is makes errors.Is(err, ErrPlainHTTP) hold.
func (e *PlainHTTPError) Is(target error) bool { return target == ErrPlainHTTP }

// GuardTransport wraps inner (remote.DefaultTransport's clone when nil) so that a plain-HTTP
// request to a host that regaccess.PlainHTTP refuses (with the hosts of insecure) is never
// sent: it fails with a permanent *PlainHTTPError instead. go-containerregistry falls back to
// HTTP by itself for private addresses, and a redirect may point anywhere; the guard, the
// innermost layer, sees every request as it would leave.
func GuardTransport(inner http.RoundTripper, insecure []string) http.RoundTripper {
	if inner == nil {
		inner = defaultTransport()
	}
	return &guardTransport{inner: inner, insecure: append([]string(nil), insecure...)}
}

type guardTransport struct {
	inner    http.RoundTripper
	insecure []string
}

// RoundTrip refuses a plain-HTTP request to a host not allowed, and sends the others.
func (t *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" && !regaccess.PlainHTTP(req.URL.Host, t.insecure) {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, retry.Permanent(&PlainHTTPError{Host: req.URL.Host})
	}
	return t.inner.RoundTrip(req)
}
