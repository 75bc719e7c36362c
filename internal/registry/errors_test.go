package registry

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"shipyard/internal/retry"
)

// go-containerregistry's answers become *retry.StatusError once, keeping their text and
// chain, so that retry.Transient and describe decide by the status.
func TestTypedRegistryErrors(t *testing.T) {
	tests := []struct {
		status    int
		transient bool
		kind      error
	}{
		{http.StatusServiceUnavailable, true, nil},
		{http.StatusBadGateway, true, nil},
		{http.StatusTooManyRequests, true, nil},
		{http.StatusNotImplemented, false, nil},
		{http.StatusBadRequest, false, nil},
		{http.StatusUnauthorized, false, ErrUnauthorized},
		{http.StatusForbidden, false, ErrDenied},
		{http.StatusNotFound, false, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			terr := &transport.Error{StatusCode: tt.status}
			err := typed(fmt.Errorf("HEAD: %w", terr))
			var serr *retry.StatusError
			if !errors.As(err, &serr) || serr.Code != tt.status || !errors.Is(err, terr) || err.Error() != "HEAD: "+terr.Error() {
				t.Fatalf("typed = %#v, want a StatusError %d wrapping the registry's error unchanged", err, tt.status)
			}
			if got := retry.Transient(err); got != tt.transient {
				t.Errorf("Transient = %v, want %v", got, tt.transient)
			}
			if typed(err) != err {
				t.Error("typing twice wraps again")
			}
			described := New().describe("reading x", err)
			if tt.kind != nil && !errors.Is(described, tt.kind) {
				t.Errorf("describe = %v, want %v", described, tt.kind)
			}
		})
	}
	if plain := errors.New("digest mismatch"); typed(plain) != plain || typed(nil) != nil {
		t.Error("typed changes errors that are no registry answer")
	}
}
