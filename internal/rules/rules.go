// Package rules decides which pipeline stages run for a git ref.
//
// It is the single source of truth for the branch and tag rules of shipyard's
// pipeline: the Dagger module asks it before running a stage, and the
// .gitlab-ci.yml job rules are tested against it (see test/gitlabci).
package rules

import (
	"errors"
	"fmt"
	"strings"

	"shipyard/internal/version"
)

// Stage is one step of the pipeline; stages always run in the order of Stages().
type Stage string

// The pipeline stages, in the order they run.
const (
	// Lint checks formatting and static analysis.
	Lint Stage = "lint"
	// Test runs the test suites.
	Test Stage = "test"
	// Build builds every image for every platform and pushes it to the build registry.
	Build Stage = "build"
	// Manifests merges the per-platform images into multi-arch indexes.
	Manifests Stage = "manifests"
	// Release copies the images to the release registry and manages the latest tag.
	Release Stage = "release"
)

// ErrNoRef is returned by For when neither a branch nor a tag is given.
var ErrNoRef = errors.New("no branch or tag given")

// ErrUnknownStage is returned by ParseStage for a name that is not a stage.
var ErrUnknownStage = errors.New("unknown stage")

// ErrStageNotAllowed is returned by Plan.Require for a stage the rules do not run for the ref.
var ErrStageNotAllowed = errors.New("stage not allowed for this ref")

// MainBranch is the default branch a pipeline that names none is taken to have.
const MainBranch = "main"

// StagingBranch is the branch whose pipelines build images and multi-arch manifests without releasing.
const StagingBranch = "staging"

// WorkPrefixes are the branch prefixes of everyday work; such branches only lint and test.
var WorkPrefixes = []string{"fix/", "feat/", "test/", "chore/"}

var allStages = []Stage{Lint, Test, Build, Manifests, Release}

// Stages returns every stage in the order the pipeline runs them.
func Stages() []Stage {
	return append([]Stage(nil), allStages...)
}

// ParseStage turns a stage name such as "manifests" into a Stage.
func ParseStage(name string) (Stage, error) {
	for _, s := range allStages {
		if string(s) == name {
			return s, nil
		}
	}
	return "", fmt.Errorf("stage %q: %w: pass one of %s", name, ErrUnknownStage, joinStages(allStages))
}

// Ref describes what a pipeline runs for: a branch (possibly in a merge request) or a tag.
type Ref struct {
	// Branch is the branch name (for a merge request, its source branch); ignored when Tag is set.
	Branch string
	// Tag is the tag name of a tag pipeline; empty for branch pipelines.
	Tag string
	// DefaultBranch is the project's default branch, e.g. "main"; empty disables the default-branch rule.
	DefaultBranch string
	// MergeRequest is true for merge request pipelines.
	MergeRequest bool
}

// Plan is the ordered list of stages to run for a ref and the one-line reason why.
type Plan struct {
	// Stages are the stages to run, in pipeline order.
	Stages []Stage
	// Reason is one line saying which rule matched, e.g. "branch feat/x matches feat/*: lint, test".
	Reason string
}

// For decides which stages run for ref.
//
// Rules, first match wins:
//   - a tag that is a version (version.Parse accepts it): lint, test, build, manifests, release;
//   - any other tag: lint, test (nothing is released);
//   - a merge request: lint, test;
//   - the staging branch: lint, test, build, manifests;
//   - the default branch: lint, test, build (images are proven to build; nothing is pushed as a release);
//   - fix/*, feat/*, test/*, chore/* and every other branch: lint, test.
//
// Names are taken as given (no trimming), as GitLab's predefined variables hold them.
func For(ref Ref) (Plan, error) {
	tag, branch := ref.Tag, ref.Branch
	switch {
	case tag != "":
		if _, err := version.Parse(tag); err != nil {
			return plan(fmt.Sprintf("tag %s is not a version (like 1.2.3, v1.2.3, 1.2.3-rc.1 or 1.2.3alpha), so nothing is built or released", tag), Lint, Test), nil
		}
		return plan(fmt.Sprintf("tag %s is a version", tag), Lint, Test, Build, Manifests, Release), nil
	case branch == "":
		return Plan{}, fmt.Errorf("deciding stages: %w: pass --ref=<branch> for a branch pipeline or --tag=<tag> for a tag pipeline", ErrNoRef)
	case ref.MergeRequest:
		return plan(fmt.Sprintf("merge request from branch %s", branch), Lint, Test), nil
	case branch == StagingBranch:
		return plan(fmt.Sprintf("branch %s is the staging branch", branch), Lint, Test, Build, Manifests), nil
	case branch == ref.DefaultBranch:
		return plan(fmt.Sprintf("branch %s is the default branch (images are built to prove they build; nothing is released)", branch), Lint, Test, Build), nil
	}
	for _, prefix := range WorkPrefixes {
		if strings.HasPrefix(branch, prefix) {
			return plan(fmt.Sprintf("branch %s matches %s*", branch, prefix), Lint, Test), nil
		}
	}
	return plan(fmt.Sprintf("branch %s matches no build rule", branch), Lint, Test), nil
}

// plan builds a Plan whose Reason is the rule description followed by the stage list.
func plan(why string, stages ...Stage) Plan {
	return Plan{Stages: stages, Reason: why + ": " + joinStages(stages)}
}

// Has reports whether the plan runs stage s.
func (p Plan) Has(s Stage) bool {
	for _, have := range p.Stages {
		if have == s {
			return true
		}
	}
	return false
}

// Require returns nil when the plan runs stage s, and otherwise an ErrStageNotAllowed error quoting the reason.
func (p Plan) Require(s Stage) error {
	if p.Has(s) {
		return nil
	}
	return fmt.Errorf("running stage %s: %w (%s); run one of the allowed stages or use a ref whose rules include %s", s, ErrStageNotAllowed, p.Reason, s)
}

// Platforms returns the image platforms to build: linux/amd64 always first, then linux/arm64 and linux/arm/v7 when asked.
func Platforms(arm64, armv7 bool) []string {
	platforms := []string{"linux/amd64"}
	if arm64 {
		platforms = append(platforms, "linux/arm64")
	}
	if armv7 {
		platforms = append(platforms, "linux/arm/v7")
	}
	return platforms
}

// joinStages renders stages as "lint, test, build".
func joinStages(stages []Stage) string {
	names := make([]string, len(stages))
	for i, s := range stages {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}
