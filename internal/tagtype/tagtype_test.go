package tagtype

import (
	"context"
	"errors"
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
		// The sources would answer: the override wins without asking them.
		var asked int
		got, err := Detect(context.Background(), "1.1.0alpha", string(o), fakeSource{"a", Lightweight, &asked}, TagMessage("msg"))
		if err != nil {
			t.Fatalf("override %s: %v", o, err)
		}
		want := Result{Type: o, DecidedBy: SourceOverride, Trail: []Step{{SourceOverride, "set to " + string(o)}}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("override %s (-want +got):\n%s", o, diff)
		}
		if asked != 0 {
			t.Errorf("override %s: a source was asked %d times, want 0", o, asked)
		}
	}
	_, err := Detect(context.Background(), "1.0.0", "official", TagMessage("msg"))
	if !errors.Is(err, ErrBadType) {
		t.Fatalf("bad override error = %v, want ErrBadType", err)
	}
	want := `reading TAG_TYPE_OVERRIDE: unknown tag type "official": use "annotated" or "lightweight" (or leave it empty to detect)`
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("bad override message (-want +got):\n%s", diff)
	}
}

func TestDetectEmptyTag(t *testing.T) {
	if _, err := Detect(context.Background(), "", "", TagMessage("msg")); !errors.Is(err, ErrNoTag) {
		t.Fatalf("Detect with empty tag error = %v, want ErrNoTag", err)
	}
}

func TestDetectTagMessage(t *testing.T) {
	// A source before it that cannot say leaves the answer to the message.
	var asked int
	got, err := Detect(context.Background(), "2.0.0beta", "", fakeSource{"a", "", &asked}, TagMessage("Release notes"))
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Type: Annotated, DecidedBy: SourceTagMessage, Trail: []Step{
		{SourceOverride, "not set"},
		{"a", "a does not know 2.0.0beta"},
		{SourceTagMessage, "CI_COMMIT_TAG_MESSAGE is set: annotated"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// An empty message proves nothing: the heuristic decides.
	got, err = Detect(context.Background(), "1.0.0", "", TagMessage(""))
	if err != nil {
		t.Fatal(err)
	}
	want = Result{Type: Annotated, DecidedBy: SourceHeuristic, Trail: []Step{
		{SourceOverride, "not set"},
		{SourceTagMessage, "CI_COMMIT_TAG_MESSAGE is empty: no answer (unset and lightweight look the same)"},
		{SourceHeuristic, heuristicAnnotated},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("empty message (-want +got):\n%s", diff)
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
		got, err := Detect(context.Background(), tt.tag, "", TagMessage(""))
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

func TestResultWarning(t *testing.T) {
	for _, tt := range []struct {
		name string
		r    Result
		want []string
	}{
		{"override decided", Result{Type: Annotated, DecidedBy: SourceOverride}, nil},
		{"git decided", Result{Type: Lightweight, DecidedBy: SourceGit}, nil},
		{"the heuristic decided after git failed", Result{Type: Annotated, DecidedBy: SourceHeuristic,
			Trail: []Step{{SourceOverride, "not set"}, {SourceGit, "refs/tags/2.0.0 not readable (x): no answer"}, {SourceHeuristic, "guessed"}}},
			[]string{"tag 2.0.0", "(refs/tags/2.0.0 not readable (x): no answer)", "heuristic decided it is annotated", "TAG_TYPE_OVERRIDE"}},
		{"the tag message decided", Result{Type: Annotated, DecidedBy: SourceTagMessage, Trail: []Step{{SourceGit, "skipped: no checkout given"}}},
			[]string{"(skipped: no checkout given)", "tag-message decided"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.r.Warning("2.0.0")
			if (got == "") != (tt.want == nil) {
				t.Fatalf("Warning = %q, want one: %v", got, tt.want != nil)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("Warning = %q, lacks %q", got, w)
				}
			}
		})
	}
}
