// Package gitlabci holds the tests that prove the repository's .gitlab-ci.yml
// starts exactly the stages that shipyard/internal/rules allows for each kind
// of ref, and that its lint and test jobs run and pass (or fail on a lint
// error) on the engine of hack/engine, using gitlab-ci-local (installed with
// `npm ci` at the repo root).
package gitlabci
