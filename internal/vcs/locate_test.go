package vcs

import (
	"errors"
	"testing"
)

func TestLocate(t *testing.T) {
	for _, tt := range []struct {
		name                  string
		dotGitDir, dotGitFile bool
		head                  bool
		want                  Where
		err                   error
	}{
		{"a checkout", true, false, false, InDotGit, nil},
		{"its .git given directly, or a bare clone", false, false, true, Here, nil},
		{"a worktree or submodule", false, true, false, Nowhere, ErrGitFile},
		{"no repository at all", false, false, false, Nowhere, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Locate(tt.dotGitDir, tt.dotGitFile, tt.head)
			if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Errorf("Locate = %v, %v; want %v, %v", got, err, tt.want, tt.err)
			}
		})
	}
}
