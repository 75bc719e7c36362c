package promote

import (
	"testing"

	"shipyard/internal/registry"
)

// current orders versions as version.Greatest does: of equal precedence the greatest spelling
// wins, whatever the order of the images. The "either order" rows are where a first-found
// tie-break answered with whichever image came first.
func TestCurrent(t *testing.T) {
	found := func(v, d string) registry.Found { return registry.Found{Version: v, Digest: d} }
	tests := []struct {
		name  string
		state []registry.Found
		ours  []string
		want  string
	}{
		{"the greater version", []registry.Found{found("1.2.3", "sha256:a"), found("1.10.0", "sha256:b")}, []string{"", ""}, "1.10.0"},
		{"a pre-release sorts before its release", []registry.Found{found("2.0.0", "sha256:a"), found("2.0.0-rc.1", "sha256:b")}, []string{"", ""}, "2.0.0"},
		{"v prefix, one order", []registry.Found{found("1.2.3", "sha256:a"), found("v1.2.3", "sha256:b")}, []string{"", ""}, "v1.2.3"},
		{"v prefix, the other order", []registry.Found{found("v1.2.3", "sha256:b"), found("1.2.3", "sha256:a")}, []string{"", ""}, "v1.2.3"},
		{"build metadata, one order", []registry.Found{found("1.2.3+b1", "sha256:a"), found("1.2.3+b2", "sha256:b")}, []string{"", ""}, "1.2.3+b2"},
		{"build metadata, the other order", []registry.Found{found("1.2.3+b2", "sha256:b"), found("1.2.3+b1", "sha256:a")}, []string{"", ""}, "1.2.3+b2"},
		{"not a version: its digest", []registry.Found{found("1.2.3", "sha256:a"), found("", "sha256:c")}, []string{"", ""}, "sha256:c"},
		{"ours is left out", []registry.Found{found("9.0.0", "sha256:ours"), found("1.2.3", "sha256:a")}, []string{"sha256:ours", ""}, "1.2.3"},
		{"no latest", []registry.Found{found("", ""), found("", "")}, []string{"", ""}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := current(tt.state, tt.ours); got != tt.want {
				t.Errorf("current = %q, want %q", got, tt.want)
			}
		})
	}
}
