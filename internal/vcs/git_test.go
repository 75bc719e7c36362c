package vcs

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"shipyard/internal/tagtype"
)

// heuristicAnnotated is the heuristic's outcome for a plain version name.
const heuristicAnnotated = `guessed from the name: "1.0.0" has none of alpha, beta, rc, pre, dev, test: annotated (set TAG_TYPE_OVERRIDE if wrong)`

// firstCommitTime is the committer time of the first commit repoWithTags makes (its author time
// is a day earlier, so a test can tell the two apart).
var firstCommitTime = time.Unix(1700000000, 0).UTC()

// gitIn runs git in dir with a clean, deterministic configuration, the commit dates of
// firstCommitTime unless env sets others, and returns its output without surrounding space.
func gitIn(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.invalid",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.invalid",
		"GIT_AUTHOR_DATE=1699913600 +0000", "GIT_COMMITTER_DATE=1700000000 +0000",
	)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// repoWithTags makes a repository (a work tree with its .git) with one commit, tagged by an
// annotated 1.0.0 and a lightweight 1.1.0alpha, and a shallow clone of it that has no tags and
// whose origin is the repository.
func repoWithTags(t *testing.T) (repo, shallow string) {
	t.Helper()
	root := t.TempDir()
	repo = filepath.Join(root, "repo")
	shallow = filepath.Join(root, "shallow")
	if err := os.Mkdir(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	gitIn(t, repo, nil, "init", "-q")
	if err := os.WriteFile(filepath.Join(repo, "README"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitIn(t, repo, nil, "add", "README")
	gitIn(t, repo, nil, "commit", "-q", "-m", "first")
	gitIn(t, repo, nil, "tag", "-a", "1.0.0", "-m", "Release 1.0.0")
	gitIn(t, repo, nil, "tag", "1.1.0alpha")
	gitIn(t, root, nil, "clone", "-q", "--depth", "1", "--no-tags", "file://"+repo, shallow)
	return repo, shallow
}

// emptyRepo makes a repository without commits and returns its git directory.
func emptyRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	gitIn(t, dir, nil, "init", "-q")
	return filepath.Join(dir, ".git")
}

// gitErrorCase is what one table row expects of an error: none (zero), a sentinel, or a text.
type gitErrorCase struct {
	is       error
	contains string
}

// check fails t unless err is what c expects.
func (c gitErrorCase) check(t *testing.T, err error) {
	t.Helper()
	switch {
	case c.is == nil && c.contains == "":
		if err != nil {
			t.Errorf("error = %v, want none", err)
		}
	case c.is != nil && !errors.Is(err, c.is):
		t.Errorf("error = %v, want %v", err, c.is)
	case c.contains != "" && (err == nil || !strings.Contains(err.Error(), c.contains)):
		t.Errorf("error = %v, want one containing %q", err, c.contains)
	}
}

func TestDetectGit(t *testing.T) {
	repo, shallow := repoWithTags(t)
	definite := []struct {
		tag, message string
		want         tagtype.Result
	}{
		{"1.0.0", "", tagtype.Result{Type: tagtype.Annotated, DecidedBy: tagtype.SourceGit, Trail: []tagtype.Step{
			{Source: tagtype.SourceOverride, Outcome: "not set"},
			{Source: tagtype.SourceGit, Outcome: "refs/tags/1.0.0 is a tag object: annotated"}}}},
		// The message would say annotated: git is asked first and is definite.
		{"1.1.0alpha", "stale", tagtype.Result{Type: tagtype.Lightweight, DecidedBy: tagtype.SourceGit, Trail: []tagtype.Step{
			{Source: tagtype.SourceOverride, Outcome: "not set"},
			{Source: tagtype.SourceGit, Outcome: "refs/tags/1.1.0alpha is a commit: lightweight"}}}},
	}
	for _, c := range definite {
		got, err := tagtype.Detect(context.Background(), c.tag, "", Chain(Repo{filepath.Join(repo, ".git")}, c.message, nil)...)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("Detect(%q) (-want +got):\n%s", c.tag, diff)
		}
	}
	for _, c := range []struct{ name, gitDir, tag string }{
		{"shallow clone without tags", filepath.Join(shallow, ".git"), "1.1.0alpha"},
		{"tag missing", filepath.Join(repo, ".git"), "9.9.9alpha"},
		{"not a repository", t.TempDir(), "1.1.0alpha"},
		{"the work tree instead of its git directory", repo, "1.1.0alpha"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := tagtype.Detect(context.Background(), c.tag, "", Chain(Repo{c.gitDir}, "", nil)...)
			if err != nil {
				t.Fatal(err)
			}
			// Git never guesses: the heuristic decides, and would say lightweight for these names.
			if diff := cmp.Diff([]string{string(tagtype.Lightweight), tagtype.SourceHeuristic}, []string{string(got.Type), got.DecidedBy}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			var sources []string
			for _, s := range got.Trail {
				sources = append(sources, s.Source)
			}
			if diff := cmp.Diff([]string{tagtype.SourceOverride, tagtype.SourceGit, tagtype.SourceTagMessage, tagtype.SourceGitLab, tagtype.SourceHeuristic}, sources); diff != "" {
				t.Errorf("trail sources (-want +got):\n%s", diff)
			}
			gitStep := got.Trail[1].Outcome
			if !strings.HasPrefix(gitStep, "refs/tags/"+c.tag+" not readable (") || !strings.HasSuffix(gitStep, "): no answer (a shallow clone without tags looks like this)") {
				t.Errorf("git step outcome = %q", gitStep)
			}
		})
	}
	t.Run("shallow clone annotated name falls to heuristic", func(t *testing.T) {
		got, err := tagtype.Detect(context.Background(), "1.0.0", "", Chain(Repo{filepath.Join(shallow, ".git")}, "", nil)...)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tagtype.Step{Source: tagtype.SourceHeuristic, Outcome: heuristicAnnotated}, got.Trail[len(got.Trail)-1]); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("no git on the PATH", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		_, outcome, ok := Repo{filepath.Join(repo, ".git")}.Lookup(context.Background(), "1.0.0")
		if ok || !strings.HasPrefix(outcome, "could not run git: ") || !strings.HasSuffix(outcome, ": no answer") {
			t.Errorf("Lookup = %q, %v; want no answer because git could not run", outcome, ok)
		}
	})
}

func TestHead(t *testing.T) {
	repo, shallow := repoWithTags(t)
	head := gitIn(t, repo, nil, "rev-parse", "HEAD")
	tests := []struct {
		name, gitDir string
		want         string
		err          gitErrorCase
	}{
		{"repository", filepath.Join(repo, ".git"), head, gitErrorCase{}},
		{"shallow clone", filepath.Join(shallow, ".git"), head, gitErrorCase{}},
		{"no commit yet", emptyRepo(t), "", gitErrorCase{contains: "git rev-parse --verify HEAD^{commit}: fatal: "}},
		{"not a repository", t.TempDir(), "", gitErrorCase{contains: "fatal: not a git repository"}},
		{"the work tree instead of its git directory", repo, "", gitErrorCase{contains: "fatal: not a git repository"}},
		{"no git directory given", "", "", gitErrorCase{is: ErrNoGitDir}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Repo{tt.gitDir}.Head(context.Background())
			tt.err.check(t, err)
			if got != tt.want {
				t.Errorf("Head = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOriginURL(t *testing.T) {
	repo, shallow := repoWithTags(t)
	emptyURL := emptyRepo(t)
	gitIn(t, emptyURL, nil, "--git-dir", emptyURL, "config", "remote.origin.url", "")
	tests := []struct {
		name, gitDir string
		want         string
		err          gitErrorCase
	}{
		{"clone", filepath.Join(shallow, ".git"), "file://" + repo, gitErrorCase{}},
		{"no origin", filepath.Join(repo, ".git"), "", gitErrorCase{is: ErrNoOrigin}},
		{"origin without a URL", emptyURL, "", gitErrorCase{is: ErrNoOrigin}},
		{"not a repository", t.TempDir(), "", gitErrorCase{contains: "git config --local --get remote.origin.url: fatal: "}},
		{"no git directory given", "", "", gitErrorCase{is: ErrNoGitDir}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Repo{tt.gitDir}.OriginURL(context.Background())
			tt.err.check(t, err)
			if tt.err.is == nil && errors.Is(err, ErrNoOrigin) {
				t.Errorf("error = %v: not a repository is not a missing origin", err)
			}
			if got != tt.want {
				t.Errorf("OriginURL = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCommitTime(t *testing.T) {
	repo, _ := repoWithTags(t)
	first := gitIn(t, repo, nil, "rev-parse", "HEAD")
	second := firstCommitTime.Add(time.Hour)
	gitIn(t, repo, []string{"GIT_COMMITTER_DATE=1700003600 +0000"}, "commit", "-q", "--allow-empty", "-m", "second")
	gitDir := filepath.Join(repo, ".git")
	tests := []struct {
		name, gitDir, rev string
		want              time.Time
		err               gitErrorCase
	}{
		{"empty revision is HEAD", gitDir, "", second, gitErrorCase{}},
		{"HEAD", gitDir, "HEAD", second, gitErrorCase{}},
		{"parent", gitDir, "HEAD~1", firstCommitTime, gitErrorCase{}},
		{"full hash", gitDir, first, firstCommitTime, gitErrorCase{}},
		{"annotated tag peels to its commit", gitDir, "1.0.0", firstCommitTime, gitErrorCase{}},
		{"lightweight tag", gitDir, "1.1.0alpha", firstCommitTime, gitErrorCase{}},
		{"unknown revision", gitDir, "9.9.9", time.Time{}, gitErrorCase{contains: "git show -s --format=%ct 9.9.9^{commit}: fatal: "}},
		{"an option is no revision", gitDir, "--all", time.Time{}, gitErrorCase{contains: `revision "--all": a revision does not start with -`}},
		{"no commit yet", emptyRepo(t), "", time.Time{}, gitErrorCase{contains: "git show -s --format=%ct HEAD^{commit}: fatal: "}},
		{"not a repository", t.TempDir(), "HEAD", time.Time{}, gitErrorCase{contains: "fatal: not a git repository"}},
		{"no git directory given", "", "HEAD", time.Time{}, gitErrorCase{is: ErrNoGitDir}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Repo{tt.gitDir}.CommitTime(context.Background(), tt.rev)
			tt.err.check(t, err)
			if !got.Equal(tt.want) {
				t.Errorf("CommitTime(%q) = %v, want %v", tt.rev, got, tt.want)
			}
		})
	}
}
