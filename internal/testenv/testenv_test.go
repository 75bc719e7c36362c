package testenv

import "testing"

func TestSessionLost(t *testing.T) {
	for _, c := range []struct {
		name, stderr string
		want         bool
	}{
		{"the engine race, as Dagger v0.19.10 prints it",
			`Error: failed to get configured module: failed to stat local path: failed to stat /work/main: failed to get requester session: session for "x1q3tl8o2c" not found`, true},
		{"the module's own message about a missing tag",
			`Error: call release: tag "nope" not found in the build registry`, false},
		{"a module that failed to load for a reason of its own",
			`Error: failed to get configured module: failed to load module: ci/go.mod not found`, false},
		{"a builder session the product reports",
			`Error: failed to get requester session of the ARM builder: not reachable`, false},
		{"nothing", "", false},
	} {
		if got := SessionLost(c.stderr); got != c.want {
			t.Errorf("%s: SessionLost = %v, want %v", c.name, got, c.want)
		}
	}
}
