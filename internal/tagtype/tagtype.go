// Package tagtype decides whether a release tag is annotated (an official
// release) or lightweight (an internal build), asking several sources in a
// fixed priority order and recording every step so the caller can print how
// the answer was reached.
//
// Order: the TAG_TYPE_OVERRIDE value, the git checkout, the tag message GitLab
// put in CI_COMMIT_TAG_MESSAGE, the GitLab tags API, and finally a name
// heuristic. A source that cannot answer (shallow clone without the tag,
// empty message, API refused or unreachable) is recorded in the trail and the
// next one is asked; only an invalid override or an empty tag name is an error.
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

// Sources are the places Detect may ask, in priority order; an empty field skips its step.
type Sources struct {
	// Override is TAG_TYPE_OVERRIDE: "annotated", "lightweight", or "" to detect; anything else is an error.
	Override string
	// GitDir is a git checkout asked with `git cat-file -t refs/tags/<tag>`.
	GitDir string
	// TagMessage is CI_COMMIT_TAG_MESSAGE; non-empty means annotated, empty proves nothing.
	TagMessage string
	// GitLab is the tags API of the project; nil skips the step.
	GitLab *GitLabSource
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

// ErrNoTag is returned by Detect when the tag name is empty.
var ErrNoTag = errors.New("no tag name given")

// Detect asks the sources in priority order and returns the first definite answer, falling back to the name heuristic.
func Detect(ctx context.Context, tag string, s Sources) (Result, error) {
	if tag == "" {
		return Result{}, fmt.Errorf("detecting tag type: %w: pass the pipeline's tag (CI_COMMIT_TAG)", ErrNoTag)
	}
	var r Result
	step := func(source, format string, args ...any) {
		r.Trail = append(r.Trail, Step{Source: source, Outcome: fmt.Sprintf(format, args...)})
	}
	decide := func(source string, t Type) (Result, error) {
		r.Type, r.DecidedBy = t, source
		return r, nil
	}

	if s.Override == "" {
		step(SourceOverride, "not set")
	} else {
		t, err := ParseType(s.Override)
		if err != nil {
			return Result{}, fmt.Errorf("reading TAG_TYPE_OVERRIDE: %w (or leave it empty to detect)", err)
		}
		step(SourceOverride, "set to %s", t)
		return decide(SourceOverride, t)
	}

	if s.GitDir == "" {
		step(SourceGit, "skipped: no checkout given")
	} else if t, outcome, ok := fromGit(ctx, s.GitDir, tag); !ok {
		step(SourceGit, "%s", outcome)
	} else {
		step(SourceGit, "%s", outcome)
		return decide(SourceGit, t)
	}

	if s.TagMessage == "" {
		step(SourceTagMessage, "CI_COMMIT_TAG_MESSAGE is empty: no answer (unset and lightweight look the same)")
	} else {
		step(SourceTagMessage, "CI_COMMIT_TAG_MESSAGE is set: annotated")
		return decide(SourceTagMessage, Annotated)
	}

	if s.GitLab == nil {
		step(SourceGitLab, "skipped: no GitLab API configured")
	} else if t, outcome, ok := s.GitLab.lookup(ctx, tag); !ok {
		step(SourceGitLab, "%s", outcome)
	} else {
		step(SourceGitLab, "%s", outcome)
		return decide(SourceGitLab, t)
	}

	t, outcome := guess(tag)
	step(SourceHeuristic, "%s", outcome)
	return decide(SourceHeuristic, t)
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
