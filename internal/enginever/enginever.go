// Package enginever is the Dagger engine version this project pins, the one definition every Go
// package reads: the module checks a builder's engine against it, the builder's user data
// installs it, hack/mirror's stand-in of the published image reports it. The copies that cannot
// be Go (dagger.json, go.mod's dagger.io/dagger, the GitLab pipelines' DAGGER_VERSION, hack/engine)
// are checked against it by test/api.
package enginever

// Version is the pinned Dagger engine, CLI and Go SDK version.
const Version = "v0.19.10"

// Image is the engine image Dagger publishes for Version.
const Image = "registry.dagger.io/engine:" + Version
