package tagtype

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// heuristicAnnotated is the heuristic's outcome for a plain version name.
const heuristicAnnotated = `guessed from the name: "1.0.0" has none of alpha, beta, rc, pre, dev, test: annotated (set TAG_TYPE_OVERRIDE if wrong)`

func TestParseType(t *testing.T) {
	for _, s := range []string{"annotated", "lightweight"} {
		got, err := ParseType(s)
		if err != nil {
			t.Fatalf("ParseType(%q): %v", s, err)
		}
		if diff := cmp.Diff(Type(s), got); diff != "" {
			t.Errorf("ParseType(%q) (-want +got):\n%s", s, diff)
		}
	}
	for _, s := range []string{"", "Annotated", "light", "tag", " annotated"} {
		if _, err := ParseType(s); !errors.Is(err, ErrBadType) {
			t.Errorf("ParseType(%q) error = %v, want ErrBadType", s, err)
		}
	}
}

func TestDetectOverride(t *testing.T) {
	for _, o := range []Type{Annotated, Lightweight} {
		// The git dir and message would say otherwise: the override wins without asking them.
		got, err := Detect(context.Background(), "1.1.0alpha", string(o), Sources{GitDir: "/nonexistent", TagMessage: "msg"}.Chain()...)
		if err != nil {
			t.Fatalf("override %s: %v", o, err)
		}
		want := Result{Type: o, DecidedBy: SourceOverride, Trail: []Step{{SourceOverride, "set to " + string(o)}}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("override %s (-want +got):\n%s", o, diff)
		}
	}
	_, err := Detect(context.Background(), "1.0.0", "official", Sources{}.Chain()...)
	if !errors.Is(err, ErrBadType) {
		t.Fatalf("bad override error = %v, want ErrBadType", err)
	}
	want := `reading TAG_TYPE_OVERRIDE: unknown tag type "official": use "annotated" or "lightweight" (or leave it empty to detect)`
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("bad override message (-want +got):\n%s", diff)
	}
}

func TestDetectEmptyTag(t *testing.T) {
	if _, err := Detect(context.Background(), "", "", Sources{}.Chain()...); !errors.Is(err, ErrNoTag) {
		t.Fatalf("Detect with empty tag error = %v, want ErrNoTag", err)
	}
}

func TestDetectTagMessage(t *testing.T) {
	got, err := Detect(context.Background(), "2.0.0beta", "", Sources{TagMessage: "Release notes"}.Chain()...)
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Type: Annotated, DecidedBy: SourceTagMessage, Trail: []Step{
		{SourceOverride, "not set"},
		{SourceGit, "skipped: no checkout given"},
		{SourceTagMessage, "CI_COMMIT_TAG_MESSAGE is set: annotated"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestHeuristic(t *testing.T) {
	tests := []struct {
		tag  string
		want Type
	}{
		{"1.0.0", Annotated}, {"v2.3.4", Annotated}, {"release-5", Annotated},
		{"1.1.0alpha", Lightweight}, {"1.8.7beta2", Lightweight}, {"1.8.7rc1", Lightweight},
		{"2.0.0-RC.1", Lightweight}, {"v3.0.0-Beta", Lightweight}, {"1.0.0-pre.1", Lightweight},
		{"DEV-build-7", Lightweight}, {"1.0.0-Test", Lightweight}, {"1.0.0-ALPHA", Lightweight},
	}
	for _, tt := range tests {
		got, err := Detect(context.Background(), tt.tag, "", Sources{}.Chain()...)
		if err != nil {
			t.Fatalf("%s: %v", tt.tag, err)
		}
		if diff := cmp.Diff([]string{string(tt.want), SourceHeuristic}, []string{string(got.Type), got.DecidedBy}); diff != "" {
			t.Errorf("Detect(%q) (-want +got):\n%s", tt.tag, diff)
		}
		last := got.Trail[len(got.Trail)-1]
		if last.Source != SourceHeuristic || !strings.HasPrefix(last.Outcome, "guessed from the name") {
			t.Errorf("Detect(%q) trail does not end with the heuristic: %+v", tt.tag, got.Trail)
		}
	}
}

// git runs git in dir with a clean, deterministic configuration.
func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.invalid",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.invalid",
	)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// repoWithTags makes a repository with an annotated 1.0.0 and a lightweight
// 1.1.0alpha, and a shallow clone of it that has no tags.
func repoWithTags(t *testing.T) (repo, shallow string) {
	t.Helper()
	root := t.TempDir()
	repo = filepath.Join(root, "repo")
	shallow = filepath.Join(root, "shallow")
	if err := os.Mkdir(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	git(t, repo, "init", "-q")
	if err := os.WriteFile(filepath.Join(repo, "README"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, repo, "add", "README")
	git(t, repo, "commit", "-q", "-m", "first")
	git(t, repo, "tag", "-a", "1.0.0", "-m", "Release 1.0.0")
	git(t, repo, "tag", "1.1.0alpha")
	git(t, root, "clone", "-q", "--depth", "1", "--no-tags", "file://"+repo, shallow)
	return repo, shallow
}

func TestDetectGit(t *testing.T) {
	repo, shallow := repoWithTags(t)
	definite := []struct {
		tag, message string
		want         Result
	}{
		{"1.0.0", "", Result{Annotated, SourceGit, []Step{
			{SourceOverride, "not set"}, {SourceGit, "refs/tags/1.0.0 is a tag object: annotated"}}}},
		// The message would say annotated: git is asked first and is definite.
		{"1.1.0alpha", "stale", Result{Lightweight, SourceGit, []Step{
			{SourceOverride, "not set"}, {SourceGit, "refs/tags/1.1.0alpha is a commit: lightweight"}}}},
	}
	for _, c := range definite {
		got, err := Detect(context.Background(), c.tag, "", Sources{GitDir: repo, TagMessage: c.message}.Chain()...)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("Detect(%q) (-want +got):\n%s", c.tag, diff)
		}
	}
	for _, c := range []struct{ name, dir, tag string }{
		{"shallow clone without tags", shallow, "1.1.0alpha"},
		{"tag missing", repo, "9.9.9alpha"},
		{"not a repository", t.TempDir(), "1.1.0alpha"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Detect(context.Background(), c.tag, "", Sources{GitDir: c.dir}.Chain()...)
			if err != nil {
				t.Fatal(err)
			}
			// Git never guesses: the heuristic decides, and would say lightweight for these names.
			if diff := cmp.Diff([]string{string(Lightweight), SourceHeuristic}, []string{string(got.Type), got.DecidedBy}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			var sources []string
			for _, s := range got.Trail {
				sources = append(sources, s.Source)
			}
			if diff := cmp.Diff([]string{SourceOverride, SourceGit, SourceTagMessage, SourceGitLab, SourceHeuristic}, sources); diff != "" {
				t.Errorf("trail sources (-want +got):\n%s", diff)
			}
			gitStep := got.Trail[1].Outcome
			if !strings.HasPrefix(gitStep, "refs/tags/"+c.tag+" not readable (") || !strings.HasSuffix(gitStep, "): no answer (a shallow clone without tags looks like this)") {
				t.Errorf("git step outcome = %q", gitStep)
			}
		})
	}
	t.Run("shallow clone annotated name falls to heuristic", func(t *testing.T) {
		got, err := Detect(context.Background(), "1.0.0", "", Sources{GitDir: shallow}.Chain()...)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(Step{SourceHeuristic, heuristicAnnotated}, got.Trail[len(got.Trail)-1]); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

// fakeSource answers (or not) and counts how often it was asked.
type fakeSource struct {
	name   string
	answer Type
	asked  *int
}

func (f fakeSource) Name() string { return f.name }

func (f fakeSource) Lookup(_ context.Context, tag string) (Type, string, bool) {
	*f.asked++
	if f.answer == "" {
		return "", f.name + " does not know " + tag, false
	}
	return f.answer, f.name + " says " + string(f.answer), true
}

func TestDetectAsksSourcesInOrder(t *testing.T) {
	var a, b, c int
	got, err := Detect(context.Background(), "1.0.0", "",
		fakeSource{"a", "", &a}, fakeSource{"b", Lightweight, &b}, fakeSource{"c", Annotated, &c})
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Type: Lightweight, DecidedBy: "b", Trail: []Step{
		{SourceOverride, "not set"}, {"a", "a does not know 1.0.0"}, {"b", "b says lightweight"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{1, 1, 0}, []int{a, b, c}); diff != "" {
		t.Errorf("times each source was asked (-want +got):\n%s", diff)
	}

	// No source, or none that knows: the heuristic decides.
	got, err = Detect(context.Background(), "1.0.0", "", fakeSource{"a", "", &a})
	if err != nil {
		t.Fatal(err)
	}
	want = Result{Type: Annotated, DecidedBy: SourceHeuristic, Trail: []Step{
		{SourceOverride, "not set"}, {"a", "a does not know 1.0.0"}, {SourceHeuristic, heuristicAnnotated},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
