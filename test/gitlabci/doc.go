// Package gitlabci holds the tests that prove the repository's .gitlab-ci.yml
// starts exactly the stages that shipyard/internal/rules allows for each kind
// of ref, using gitlab-ci-local (installed with `npm ci` at the repo root).
package gitlabci
