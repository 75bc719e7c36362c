package hits

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"example.test/goapp/internal/resp"
)

// exercise counts hits on two pages through the API and checks the answers.
func exercise(t *testing.T, s Store) {
	t.Helper()
	srv := httptest.NewServer(Handler(s))
	defer srv.Close()
	call := func(method, path string, wantStatus int) Count {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != wantStatus {
			t.Fatalf("%s %s: status %d, want %d", method, path, res.StatusCode, wantStatus)
		}
		var c Count
		if wantStatus == http.StatusOK {
			if err := json.NewDecoder(res.Body).Decode(&c); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
		}
		return c
	}
	if c := call("GET", "/hits/home", 200); c != (Count{"home", 0}) {
		t.Errorf("a page never hit: %+v", c)
	}
	for i := int64(1); i <= 3; i++ {
		if c := call("POST", "/hits/home", 200); c.Hits != i {
			t.Errorf("hit %d of home: %+v", i, c)
		}
	}
	call("POST", "/hits/about", 200)
	if c := call("GET", "/hits/home", 200); c != (Count{"home", 3}) {
		t.Errorf("home after three hits: %+v", c)
	}
	if c := call("GET", "/hits/about", 200); c != (Count{"about", 1}) {
		t.Errorf("about after one hit: %+v", c)
	}
	call("POST", "/hits/Not_A_Page", http.StatusBadRequest)
	res, err := http.Get(srv.URL + "/healthz")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz: %v %v", res, err)
	} else {
		res.Body.Close()
	}
}

func TestMemoryStore(t *testing.T) { exercise(t, &Memory{}) }

type failing struct{}

func (failing) Incr(context.Context, string) (int64, error)  { return 0, errors.New("down") }
func (failing) Count(context.Context, string) (int64, error) { return 0, errors.New("down") }

func TestStoreDown(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler(failing{}).ServeHTTP(rec, httptest.NewRequest("POST", "/hits/home", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("a failing store: status %d, want 503", rec.Code)
	}
}

// The API on a real Redis server, when REDIS_ADDR names one (the test stage's redis service).
// Keys get a random prefix, so runs against the same server do not see each other's counts.
func TestRedisStore(t *testing.T) {
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		t.Skip("REDIS_ADDR is not set: no Redis server to test against")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := resp.Dial(ctx, addr, os.Getenv("REDIS_PASSWORD"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := make([]byte, 6)
	rand.Read(b)
	exercise(t, &Redis{Client: c, Prefix: "test-" + hex.EncodeToString(b) + ":"})
}
