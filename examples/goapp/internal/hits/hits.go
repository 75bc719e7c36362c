// Package hits is goapp's HTTP API: it counts hits per page in a Store (Redis in production).
package hits

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"sync"

	"example.test/goapp/internal/resp"
)

// Store keeps one counter per page.
type Store interface {
	// Incr adds one to page's counter and returns the new count.
	Incr(ctx context.Context, page string) (int64, error)
	// Count returns page's counter (0 for a page never hit).
	Count(ctx context.Context, page string) (int64, error)
}

// Count is the API's answer.
type Count struct {
	Page string `json:"page"`
	Hits int64  `json:"hits"`
}

var pageName = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

// Handler serves GET /healthz, POST /hits/{page} (count a hit) and GET /hits/{page}.
func Handler(s Store) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	page := func(f func(context.Context, string) (int64, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			p := r.PathValue("page")
			if !pageName.MatchString(p) {
				http.Error(w, "a page name is 1 to 64 lower-case letters, digits and -", http.StatusBadRequest)
				return
			}
			n, err := f(r.Context(), p)
			if err != nil {
				http.Error(w, "store: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(Count{Page: p, Hits: n})
		}
	}
	mux.Handle("POST /hits/{page}", page(s.Incr))
	mux.Handle("GET /hits/{page}", page(s.Count))
	return mux
}

// Memory is a Store in memory (for tests and for running without Redis).
type Memory struct {
	mu sync.Mutex
	n  map[string]int64
}

// Incr implements Store.
func (m *Memory) Incr(_ context.Context, page string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n == nil {
		m.n = map[string]int64{}
	}
	m.n[page]++
	return m.n[page], nil
}

// Count implements Store.
func (m *Memory) Count(_ context.Context, page string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n[page], nil
}

// Redis is a Store in Redis: one key per page, Prefix + page.
type Redis struct {
	Client *resp.Client
	Prefix string
}

// Incr implements Store.
func (r *Redis) Incr(ctx context.Context, page string) (int64, error) {
	return r.Client.Int(ctx, "INCR", r.Prefix+page)
}

// Count implements Store.
func (r *Redis) Count(ctx context.Context, page string) (int64, error) {
	n, err := r.Client.Int(ctx, "GET", r.Prefix+page)
	if errors.Is(err, resp.ErrNil) {
		return 0, nil
	}
	return n, err
}
