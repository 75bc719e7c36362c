// Shipyard is pipeline-as-code for container releases: lint, test, build every target of a bake
// file per platform, merge multi-arch manifests, and release with a `latest` tag that is never wrong.
//
// This package only wires containers; every decision lives in a pure package under internal/.
// Errors are wrapped with %v, not %w: the Go SDK reports a wrapped engine error by its innermost
// message, which would drop the context (stage, image, attempts) these wrappers add.
package main

import (
	"shipyard/ci/internal/dagger"
)

// Shipyard runs the pipeline of one repository.
type Shipyard struct {
	// The repository the pipeline runs on
	// +private
	Source *dagger.Directory
	// Path of the bake file inside the source
	// +private
	BakeFile string
	// Go toolchain image for the module's own checks
	// +private
	GoImage string
}

// New creates the pipeline for a repository.
func New(
	// The repository the pipeline runs on (default: the module's own repository)
	// +defaultPath="/"
	// +ignore=[".git", "**/node_modules", "**/__pycache__", "**/dist", "*.md", "docs", "bench/out", ".e2c_instance_state_*"]
	source *dagger.Directory,
	// Path of the bake file inside the source
	// +default="docker-bake-production.hcl"
	bakeFile string,
	// Go toolchain image for the module's own checks
	// +default="golang:1.26-bookworm"
	goImage string,
) *Shipyard {
	return &Shipyard{Source: source, BakeFile: bakeFile, GoImage: goImage}
}
