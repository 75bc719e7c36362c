// Package tagtype decides whether a release tag is annotated (an official
// release) or lightweight (an internal build), asking several sources in
// priority order and recording every step so the caller can print how the
// answer was reached.
//
// The package is pure: Detect asks the TAG_TYPE_OVERRIDE value, then the
// Sources it is given, in order, then a name heuristic. TagMessage (the tag
// message GitLab puts in CI_COMMIT_TAG_MESSAGE) is the one source defined
// here; the sources that run git or call the GitLab API, and the project's
// order of them, are in internal/vcs. A source that cannot answer (shallow
// clone without the tag, empty message, token unreadable, API refused or
// unreachable) is recorded in the trail and the next one is asked; only an
// invalid override or an empty tag name is an error.
package tagtype

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Type is the kind of a git tag.
type Type string

const (
	// Annotated is a tag object with a message: an official release.
	Annotated Type = "annotated"
	// Lightweight is a bare ref to a commit: an internal build.
	Lightweight Type = "lightweight"
)

// ErrBadType is wrapped by ParseType (and so by Detect for a bad override) when a value is neither annotated nor lightweight.
var ErrBadType = errors.New("unknown tag type")

// ParseType reads "annotated" or "lightweight"; any other value, the empty string included, is an error wrapping ErrBadType.
func ParseType(s string) (Type, error) {
	switch t := Type(s); t {
	case Annotated, Lightweight:
		return t, nil
	}
	return "", fmt.Errorf("%w %q: use %q or %q", ErrBadType, s, Annotated, Lightweight)
}

// Source names as they appear in Step.Source and Result.DecidedBy.
const (
	SourceOverride   = "override"
	SourceGit        = "git"
	SourceTagMessage = "tag-message"
	SourceGitLab     = "gitlab"
	SourceHeuristic  = "heuristic"
)

// Source is one place that may know a tag's type.
type Source interface {
	// Name is the Source* name the trail shows for this step.
	Name() string
	// Lookup asks about tag: ok is true with a definite answer t, false when
	// the source cannot say; outcome is one human line either way (the
	// answer, or why there is none) and never holds a secret.
	Lookup(ctx context.Context, tag string) (t Type, outcome string, ok bool)
}

// TagMessage is the tag's message as GitLab passes it (CI_COMMIT_TAG_MESSAGE):
// a message means annotated; an empty one proves nothing, since an unset
// variable and a lightweight tag look the same.
type TagMessage string

// Name is SourceTagMessage.
func (TagMessage) Name() string { return SourceTagMessage }

// Lookup answers annotated for a non-empty message and nothing otherwise.
func (m TagMessage) Lookup(context.Context, string) (Type, string, bool) {
	if m == "" {
		return "", "CI_COMMIT_TAG_MESSAGE is empty: no answer (unset and lightweight look the same)", false
	}
	return Annotated, "CI_COMMIT_TAG_MESSAGE is set: annotated", true
}

// Step is one line of the trail: which source was asked and what it said.
type Step struct {
	// Source is one of the Source* names.
	Source string
	// Outcome is one human line: the answer, or why there was none.
	Outcome string
}

// Result is the detected type, the source that decided it and every step taken.
type Result struct {
	// Type is the detected kind of tag.
	Type Type
	// DecidedBy is the Source* name of the step that answered.
	DecidedBy string
	// Trail is every step taken, in order, for the caller to print.
	Trail []Step
}

// Warning is what a run says when the repository could not answer for the tag and a later
// step decided (the tag message, the GitLab API, the name heuristic): it names the step that
// decided and why git could not. It is "" when the override or git decided.
func (r Result) Warning(tag string) string {
	if r.DecidedBy == SourceOverride || r.DecidedBy == SourceGit {
		return ""
	}
	why := "not asked"
	for _, s := range r.Trail {
		if s.Source == SourceGit {
			why = s.Outcome
		}
	}
	return fmt.Sprintf("git could not tell the type of tag %s (%s); %s decided it is %s: give the checkout that has the tag (--source, or --git-dir) or set TAG_TYPE_OVERRIDE",
		tag, why, r.DecidedBy, r.Type)
}

// ErrNoTag is returned by Detect when the tag name is empty.
var ErrNoTag = errors.New("no tag name given")

// Detect returns the type of tag: override when it is set ("annotated" or
// "lightweight"; anything else is an error), else the first definite answer
// of sources, asked in order, else the name heuristic's guess. Every step
// taken is in the Result's trail.
func Detect(ctx context.Context, tag, override string, sources ...Source) (Result, error) {
	if tag == "" {
		return Result{}, fmt.Errorf("detecting tag type: %w: pass the pipeline's tag (CI_COMMIT_TAG)", ErrNoTag)
	}
	var r Result
	decide := func(source, outcome string, t Type) (Result, error) {
		r.Trail = append(r.Trail, Step{Source: source, Outcome: outcome})
		r.Type, r.DecidedBy = t, source
		return r, nil
	}

	if override != "" {
		t, err := ParseType(override)
		if err != nil {
			return Result{}, fmt.Errorf("reading TAG_TYPE_OVERRIDE: %w (or leave it empty to detect)", err)
		}
		return decide(SourceOverride, "set to "+string(t), t)
	}
	r.Trail = append(r.Trail, Step{Source: SourceOverride, Outcome: "not set"})

	for _, s := range sources {
		t, outcome, ok := s.Lookup(ctx, tag)
		if ok {
			return decide(s.Name(), outcome, t)
		}
		r.Trail = append(r.Trail, Step{Source: s.Name(), Outcome: outcome})
	}

	t, outcome := guess(tag)
	return decide(SourceHeuristic, outcome, t)
}

// internalMarkers are the name fragments that mark an internal (lightweight) build in the heuristic.
var internalMarkers = []string{"alpha", "beta", "rc", "pre", "dev", "test"}

// guess applies the last-resort name heuristic.
func guess(tag string) (Type, string) {
	lower := strings.ToLower(tag)
	for _, m := range internalMarkers {
		if strings.Contains(lower, m) {
			return Lightweight, fmt.Sprintf("guessed from the name: %q contains %q: lightweight (set TAG_TYPE_OVERRIDE if wrong)", tag, m)
		}
	}
	return Annotated, fmt.Sprintf("guessed from the name: %q has none of %s: annotated (set TAG_TYPE_OVERRIDE if wrong)", tag, strings.Join(internalMarkers, ", "))
}
