package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"example.test/goapp/internal/hits"
)

func TestCall(t *testing.T) {
	srv := httptest.NewServer(hits.Handler(&hits.Memory{}))
	defer srv.Close()
	for want := int64(1); want <= 2; want++ {
		if n, err := call(srv.Client(), http.MethodPost, srv.URL+"/hits/home"); err != nil || n != want {
			t.Errorf("hit = %d, %v; want %d", n, err, want)
		}
	}
	if n, err := call(srv.Client(), http.MethodGet, srv.URL+"/hits/home"); err != nil || n != 2 {
		t.Errorf("count = %d, %v; want 2", n, err)
	}
	if _, err := call(srv.Client(), http.MethodGet, srv.URL+"/hits/Bad_Page"); err == nil {
		t.Error("a bad page name: no error")
	}
}
