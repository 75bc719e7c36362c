package scan

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// decodeJSON decodes b into plain maps, slices and values, to compare JSON by its names.
func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return v
}

// wantError fails unless err wraps sentinel (any error when sentinel is nil) and says every part.
func wantError(t *testing.T, err, sentinel error, parts ...string) {
	t.Helper()
	if err == nil || sentinel != nil && !errors.Is(err, sentinel) {
		t.Fatalf("error = %v, want one wrapping %v", err, sentinel)
	}
	for _, part := range parts {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error\n%s\ndoes not say %q", err, part)
		}
	}
}
