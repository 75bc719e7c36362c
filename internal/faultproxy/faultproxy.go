// Package faultproxy is an HTTP reverse proxy that injects faults (error
// statuses, connection resets, delays) in front of a container registry, so
// that retry and release logic can be tested against a real server.
package faultproxy

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"sync"
	"sync/atomic"
	"time"
)

// Rule describes one fault: which requests it matches and what it does to them.
//
// A request matches when its method equals Method (empty matches any) and its
// URL path matches Path (nil matches any). Every rule counts the requests it
// matches; the fault applies to the First..Last-th of them (1-based,
// inclusive; First 0 means 1, Last 0 means no upper bound).
type Rule struct {
	// Method is the HTTP method to match, e.g. "PUT"; empty matches every method.
	Method string
	// Path is matched against the request's URL path; nil matches every path.
	Path *regexp.Regexp
	// First is the 1-based index of the first matching request the fault applies to.
	First int
	// Last is the 1-based index of the last matching request the fault applies to; 0 means unbounded.
	Last int
	// Status, when non-zero, answers with this HTTP status instead of forwarding.
	Status int
	// Body is the body of that answer ("" is a plain-text note that the proxy injected it), e.g.
	// an AWS error document; ContentType is its type ("": text/plain).
	Body, ContentType string
	// Reset, when true, hijacks the connection and closes it (TCP RST) without answering.
	Reset bool
	// Delay waits this long before forwarding or injecting the fault.
	Delay time.Duration
}

// Fail answers status to the first..last-th request matching method and the path regexp.
func Fail(method, path string, status, first, last int) Rule {
	return Rule{Method: method, Path: compile(path), First: first, Last: last, Status: status}
}

// FailAll answers status to every request matching method and the path regexp.
func FailAll(method, path string, status int) Rule {
	return Rule{Method: method, Path: compile(path), Status: status}
}

// Answer answers status with body (of type contentType) to the first..last-th request matching
// method and the path regexp, e.g. an EC2 RequestLimitExceeded error document.
func Answer(method, path string, status int, contentType, body string, first, last int) Rule {
	return Rule{Method: method, Path: compile(path), First: first, Last: last, Status: status, ContentType: contentType, Body: body}
}

// Reset closes the connection of the first..last-th request matching method and the path regexp.
func Reset(method, path string, first, last int) Rule {
	return Rule{Method: method, Path: compile(path), First: first, Last: last, Reset: true}
}

// Delay holds every request matching method and the path regexp for d before forwarding it.
func Delay(method, path string, d time.Duration) Rule {
	return Rule{Method: method, Path: compile(path), Delay: d}
}

// compile turns an empty pattern into "match everything" and panics on an
// invalid one, since rules are written by tests.
func compile(pattern string) *regexp.Regexp {
	if pattern == "" {
		return nil
	}
	return regexp.MustCompile(pattern)
}

func (r Rule) matches(req *http.Request) bool {
	if r.Method != "" && r.Method != req.Method {
		return false
	}
	return r.Path == nil || r.Path.MatchString(req.URL.Path)
}

func (r Rule) inWindow(n int) bool {
	first := max(r.First, 1)
	return n >= first && (r.Last == 0 || n <= r.Last)
}

type ruleState struct {
	Rule
	seen int
}

// Proxy forwards requests to a target server, injecting the faults of its rules.
type Proxy struct {
	forward  *httputil.ReverseProxy
	srv      *httptest.Server
	mu       sync.Mutex
	rules    []*ruleState
	requests atomic.Int64
	injected atomic.Int64
}

// New returns a proxy to target with the given rules; call Start to serve it.
func New(target *url.URL, rules ...Rule) *Proxy {
	p := &Proxy{forward: httputil.NewSingleHostReverseProxy(target)}
	p.srv = httptest.NewUnstartedServer(p)
	p.SetRules(rules...)
	return p
}

// Start starts serving on a loopback port.
func (p *Proxy) Start() { p.srv.Start() }

// URL returns the proxy's base URL, e.g. "http://127.0.0.1:41234".
func (p *Proxy) URL() string { return p.srv.URL }

// Host returns the proxy's host:port, ready to be used as a registry host in image references.
func (p *Proxy) Host() string { return p.srv.Listener.Addr().String() }

// Close stops the proxy and closes its connections.
func (p *Proxy) Close() { p.srv.Close() }

// SetRules replaces the rules and resets their match counters.
func (p *Proxy) SetRules(rules ...Rule) {
	states := make([]*ruleState, len(rules))
	for i, r := range rules {
		states[i] = &ruleState{Rule: r}
	}
	p.mu.Lock()
	p.rules = states
	p.mu.Unlock()
}

// Requests returns how many requests reached the proxy.
func (p *Proxy) Requests() int { return int(p.requests.Load()) }

// Injected returns how many faults (statuses or resets, not delays) the proxy injected.
func (p *Proxy) Injected() int { return int(p.injected.Load()) }

// plan decides, under the lock, what to do with one request.
func (p *Proxy) plan(req *http.Request) (delay time.Duration, fault *Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.rules {
		if !r.matches(req) {
			continue
		}
		r.seen++
		if !r.inWindow(r.seen) {
			continue
		}
		delay += r.Delay
		if fault == nil && (r.Status != 0 || r.Reset) {
			rule := r.Rule
			fault = &rule
		}
	}
	return delay, fault
}

// ServeHTTP applies the rules to one request and forwards it unless a fault answers it.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	p.requests.Add(1)
	delay, fault := p.plan(req)
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-req.Context().Done():
			t.Stop()
			return
		}
	}
	switch {
	case fault == nil:
		p.forward.ServeHTTP(w, req)
	case fault.Reset:
		p.injected.Add(1)
		resetConnection(w)
	default:
		p.injected.Add(1)
		ct, body := "text/plain; charset=utf-8", "fault injected by faultproxy"
		if fault.Body != "" {
			body = fault.Body
		}
		if fault.ContentType != "" {
			ct = fault.ContentType
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(fault.Status)
		_, _ = w.Write([]byte(body))
	}
}

// resetConnection closes the client connection abruptly; with SO_LINGER 0 the
// kernel sends a RST instead of an orderly FIN.
func resetConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("faultproxy: response writer cannot be hijacked (HTTP/2?)")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}
