package registry

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// A registry that does not answer at all is reported as unreachable, not as a missing image.
func TestUnreachableRegistry(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := New(WithInsecure("127.0.0.1:*"), WithRetry(1, time.Millisecond))
	_, err = c.Digest(context.Background(), addr+"/app/django:1.0.0")
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Digest on a closed port: err = %v, want ErrUnreachable", err)
	}
	if errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), addr) {
		t.Errorf("message must name the registry and not claim a missing image: %v", err)
	}
}
