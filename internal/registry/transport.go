package registry

import (
	"context"
	"net/http"
	"sync/atomic"
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
