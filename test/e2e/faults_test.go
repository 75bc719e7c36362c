//go:build full

package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"shipyard/internal/faultproxy"
)

// serveProxy serves a fault proxy on a fixed port of the engine's plain-HTTP range, so the
// engine's own pushes go through it.
func serveProxy(t *testing.T, target string, rules ...faultproxy.Rule) (*faultproxy.Proxy, string) {
	t.Helper()
	u, _ := url.Parse("http://" + target)
	p := faultproxy.New(u, rules...)
	port := freeRegistryPort(t, 5002)
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: p}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return p, l.Addr().String()
}

// Build pushes survive transient registry faults (retried with backoff) and stop with a clear
// error on a registry that keeps failing.
func TestBuildPushFaults(t *testing.T) {
	needEngine(t)
	reg := startRegistry(t, freeRegistryPort(t, 5001))

	transient, addr := serveProxy(t, reg, faultproxy.Fail("PUT", `/v2/.*/manifests/.*`, 503, 1, 2))
	r := daggerCall(t, 15*time.Minute, "--set", "REGISTRY="+addr+"/faults", "--set", "TAG=t1",
		"build", "--target", "traefik", "--platform", "linux/amd64", "publish")
	if r.Err != nil {
		t.Fatalf("publish through two transient 503s failed: %v\n%s", r.Err, tail(r.Stderr, 40))
	}
	if transient.Injected() == 0 {
		t.Errorf("no fault was injected: the push did not go through the proxy")
	}
	mustDigest(t, reg+"/faults/traefik:t1-amd64")

	permanent, addr2 := serveProxy(t, reg, faultproxy.FailAll("PUT", `/v2/.*/manifests/.*`, 500))
	r = daggerCall(t, 15*time.Minute, "--set", "REGISTRY="+addr2+"/faults", "--set", "TAG=t2",
		"build", "--target", "traefik", "--platform", "linux/amd64", "publish")
	if r.Err == nil {
		t.Fatalf("publish to a registry that always fails succeeded:\n%s", r.Stdout)
	}
	if all := r.Stdout + r.Stderr; !strings.Contains(all, "push traefik [linux/amd64]") || !strings.Contains(all, "after 4 attempts") {
		t.Errorf("the error does not name the image and the attempts:\n%s", tail(all, 30))
	}
	if permanent.Injected() < 4 {
		t.Errorf("the push was tried %d times, want 4", permanent.Injected())
	}
}
