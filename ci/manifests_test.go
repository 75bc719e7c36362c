package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"shipyard/internal/registry"
)

func TestEpochTime(t *testing.T) {
	for _, tt := range []struct{ epoch, want string }{
		{"1700000000", "2023-11-14T22:13:20Z"},
		{" 0\n", "1970-01-01T00:00:00Z"},
		{"yesterday", ""},
		{"1.5", ""},
	} {
		if diff := cmp.Diff(tt.want, epochTime(tt.epoch)); diff != "" {
			t.Errorf("epochTime(%q) (-want +got):\n%s", tt.epoch, diff)
		}
	}
}

func TestMissingOr(t *testing.T) {
	missing := fmt.Errorf("manifest of x: %w", registry.ErrNotFound)
	refused := errors.New("401 Unauthorized")
	for _, tt := range []struct {
		err  error
		want string
	}{
		{missing, "the image x is missing (run the build stage first): manifest of x: not found in the registry"},
		{refused, "401 Unauthorized"},
	} {
		got := missingOr(tt.err, "the image x is missing (run the build stage first)")
		if diff := cmp.Diff(tt.want, got.Error()); diff != "" {
			t.Errorf("missingOr(%v) (-want +got):\n%s", tt.err, diff)
		}
	}
}
