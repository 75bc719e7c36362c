package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"shipyard/ci/internal/dagger"
)

func TestExecOutput(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"an exec's own report", fmt.Errorf("lint: %w", &dagger.ExecError{Stdout: "ruff: 2 findings\n", Stderr: "exit 1\n"}), "ruff: 2 findings\n\nexit 1"},
		{"an exec that wrote only to stderr", &dagger.ExecError{Stderr: "boom"}, "boom"},
		{"any other error", errors.New("the engine went away"), "the engine went away"},
	} {
		if diff := cmp.Diff(tt.want, execOutput(tt.err)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}
