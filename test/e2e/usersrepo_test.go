//go:build full

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"shipyard/internal/testenv"
)

// usersBakeFile is a user's repository's bake file: one image.
const usersBakeFile = `
variable "REGISTRY" { default = "127.0.0.1:5000/users" }
variable "TAG" { default = "dev" }
group "default" { targets = ["web"] }
target "web" {
  dockerfile-inline = "FROM debian:bookworm-slim"
  tags              = ["${REGISTRY}/web:${TAG}"]
}
`

// The git data of a run on a user's repository comes from that repository, with the README's
// -m command: its lightweight tag 2.0.0, which the module's own repository does not have, is
// an internal build and latest stays; --git-dir takes the checkout's .git as well as the
// checkout; a source without a repository says git could not answer and which step decided.
func TestGitDataComesFromTheUsersRepository(t *testing.T) {
	needEngine(t)
	repo := testenv.TagRepo(t, []string{"1.0.0"}, []string{"2.0.0"})
	noGit := t.TempDir()
	for _, dir := range []string{repo, noGit} {
		if err := os.WriteFile(filepath.Join(dir, "docker-bake.hcl"), []byte(usersBakeFile), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	plan := func(source string, extra ...string) string {
		t.Helper()
		args := append([]string{"call", "-m", repoRoot, "--progress=plain", "--source=" + source, "--bake-file=docker-bake.hcl"}, extra...)
		args = append(args, "--release-registry="+mirror+"/e2e-users-rel", "--registry-tunnel=tcp://localhost:"+strings.Split(mirror, ":")[1],
			"plan", "--ref=2.0.0", "--tag=2.0.0")
		r := daggerIn(t, repoRoot, 20*time.Minute, args...)
		if r.Err != nil {
			t.Fatalf("plan: %v\n%s\n%s", r.Err, tail(r.Stdout, 30), tail(r.Stderr, 30))
		}
		return r.Stdout + r.Stderr
	}
	for _, tc := range []struct {
		name, source string
		extra        []string
	}{
		{"--source's own .git", repo, nil},
		{"--git-dir given the checkout's .git", noGit, []string{"--git-dir=" + filepath.Join(repo, ".git")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := plan(tc.source, tc.extra...)
			for _, want := range []string{"tag type [git]: refs/tags/2.0.0 is a commit: lightweight", "tag 2.0.0 is lightweight (decided by git)"} {
				if !strings.Contains(out, want) {
					t.Errorf("the plan does not say %q:\n%s", want, tail(out, 40))
				}
			}
			if strings.Contains(out, "WARNING: git could not tell") {
				t.Errorf("git answered, yet the plan warns:\n%s", tail(out, 40))
			}
		})
	}
	t.Run("no repository", func(t *testing.T) {
		out := plan(noGit)
		for _, want := range []string{"WARNING: git could not tell the type of tag 2.0.0", "heuristic decided it is annotated"} {
			if !strings.Contains(out, want) {
				t.Errorf("the plan does not say %q:\n%s", want, tail(out, 40))
			}
		}
	})
}
