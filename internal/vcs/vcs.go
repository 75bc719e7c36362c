// Package vcs is the I/O behind the version-control questions a release asks: a git repository
// (Repo: the type of a tag, the HEAD commit, the origin remote URL, a commit's time), asked by
// running git, and the GitLab tags API (GitLabTags), asked over HTTP. The decisions that use the
// answers stay pure in internal/tagtype, internal/latest and internal/plan.
package vcs

import "shipyard/internal/tagtype"

// Chain is the project's tag-type sources after the override, in priority order: the git
// repository, the tag message GitLab put in CI_COMMIT_TAG_MESSAGE, and the GitLab tags API. A
// zero Repo, an empty message or a nil gitlab still takes its step and says it was skipped, so
// the trail always shows every place that was considered.
func Chain(git Repo, message string, gitlab *GitLabTags) []tagtype.Source {
	return []tagtype.Source{git, tagtype.TagMessage(message), gitlab}
}
