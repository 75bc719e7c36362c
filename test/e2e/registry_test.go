//go:build full

package e2e

import (
	"context"
	"testing"
	"time"

	"shipyard/internal/registry"
)

// hostRegistry is a registry client for the test process itself (it sees the host's loopback).
func hostRegistry() *registry.Client {
	return registry.New(registry.WithInsecure("127.0.0.1:*"), registry.WithRetry(1, 100*time.Millisecond))
}

func mustDigest(t *testing.T, ref string) string {
	t.Helper()
	d, err := hostRegistry().Digest(context.Background(), ref)
	if err != nil {
		t.Fatalf("digest of %s: %v", ref, err)
	}
	return d
}
