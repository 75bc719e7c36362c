package faultproxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// startBackend serves "ok <method> <path>" for every request.
func startBackend(t *testing.T) *url.URL {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok "+r.Method+" "+r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func startProxy(t *testing.T, rules ...Rule) *Proxy {
	t.Helper()
	p := New(startBackend(t), rules...)
	p.Start()
	t.Cleanup(p.Close)
	return p
}

// outcome is what a client saw for one request: a status and body, or "error".
func do(t *testing.T, p *Proxy, method, path string) string {
	t.Helper()
	req, err := http.NewRequest(method, p.URL()+path, strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	// A fresh connection per request so that a reset cannot be hidden by a
	// transparent retry on a reused idle connection.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return "error"
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Status + " " + string(b)
}

func TestFailWindowCountsOnlyMatchingRequests(t *testing.T) {
	p := startProxy(t, Fail(http.MethodPut, `/manifests/latest$`, http.StatusServiceUnavailable, 2, 3))
	var got []string
	for _, r := range []struct{ method, path string }{
		{"PUT", "/v2/app/manifests/latest"}, // match 1: forwarded
		{"GET", "/v2/app/manifests/latest"}, // other method: forwarded
		{"PUT", "/v2/app/manifests/1.0.0"},  // other path: forwarded
		{"PUT", "/v2/app/manifests/latest"}, // match 2: fault
		{"PUT", "/v2/app/manifests/latest"}, // match 3: fault
		{"PUT", "/v2/app/manifests/latest"}, // match 4: forwarded
	} {
		got = append(got, do(t, p, r.method, r.path))
	}
	want := []string{
		"200 OK ok PUT /v2/app/manifests/latest",
		"200 OK ok GET /v2/app/manifests/latest",
		"200 OK ok PUT /v2/app/manifests/1.0.0",
		"503 Service Unavailable fault injected by faultproxy",
		"503 Service Unavailable fault injected by faultproxy",
		"200 OK ok PUT /v2/app/manifests/latest",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("responses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([2]int{6, 2}, [2]int{p.Requests(), p.Injected()}); diff != "" {
		t.Errorf("[requests, injected] (-want +got):\n%s", diff)
	}
}

func TestFailAllAndSetRulesResetsCounters(t *testing.T) {
	p := startProxy(t, FailAll("", `^/v2/$`, http.StatusUnauthorized))
	got := []string{do(t, p, "GET", "/v2/"), do(t, p, "GET", "/v2/")}
	p.SetRules(Fail("GET", `^/v2/$`, http.StatusBadGateway, 1, 1))
	got = append(got, do(t, p, "GET", "/v2/"), do(t, p, "GET", "/v2/"))
	p.SetRules()
	got = append(got, do(t, p, "GET", "/v2/"))
	want := []string{
		"401 Unauthorized fault injected by faultproxy",
		"401 Unauthorized fault injected by faultproxy",
		"502 Bad Gateway fault injected by faultproxy",
		"200 OK ok GET /v2/",
		"200 OK ok GET /v2/",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("responses (-want +got):\n%s", diff)
	}
}

func TestResetClosesTheConnection(t *testing.T) {
	p := startProxy(t, Reset("", `/blobs/`, 1, 1))
	got := []string{
		do(t, p, "PATCH", "/v2/app/blobs/uploads/1"),
		do(t, p, "PATCH", "/v2/app/blobs/uploads/1"),
	}
	want := []string{"error", "200 OK ok PATCH /v2/app/blobs/uploads/1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("responses (-want +got):\n%s", diff)
	}
	if p.Injected() != 1 {
		t.Errorf("Injected() = %d, want 1", p.Injected())
	}
}

func TestDelayForwardsAndHonoursCancellation(t *testing.T) {
	p := startProxy(t, Delay("GET", `/slow$`, time.Hour), Delay("GET", `/quick$`, time.Millisecond))
	if got := do(t, p, "GET", "/quick"); got != "200 OK ok GET /quick" {
		t.Errorf("delayed request = %q, want it forwarded", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", p.URL()+"/slow", nil)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled request error = %v, want context.Canceled", err)
	}
	if p.Injected() != 0 {
		t.Errorf("delays counted as injected faults: %d", p.Injected())
	}
}
