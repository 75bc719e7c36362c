package main

import (
	"context"

	"dagger.io/dagger"
)

// An image is one entry of the offline mirror: the name the pipeline's steps use, the platforms
// it is needed for, and how it is made without a container registry.
type image struct {
	// Name as a Dockerfile or a step refers to it ("postgres:15-bookworm"); pushed under the
	// mirror's docker.io path (library/ for official images).
	Name string
	// Platforms to build; each is built by the engine from the debootstrapped Debian base.
	Platforms []string
	// StandIn says what the image stands in for when it is not the upstream image; it becomes the
	// image's description label, so nobody mistakes it for the real thing.
	StandIn string
	// Dockerfile recipes live in hack/mirror/standins/<Dir>; Build recipes are Go code.
	Dir   string
	Build func(m *mirror, ctx context.Context, platform dagger.Platform) (*dagger.Container, error)
	// HostFiles are files of this machine the recipe copies from (hashed into the recipe, so a
	// new host toolchain re-seeds the image).
	HostFiles []string
}

// images is the declarative list of what the pipeline and the reference app pull.
// debian:bookworm-slim itself is made by hack/engine with debootstrap (it is the base of all of these).
var images = []image{
	{
		Name:      "golang:1.26-bookworm",
		Platforms: []string{"linux/amd64"},
		StandIn:   "golang:1.26-bookworm: Debian bookworm with the host's Go toolchain, git and openssh",
		Build:     (*mirror).golang,
		HostFiles: []string{"/usr/local/go/VERSION"},
	},
	{
		Name:      "node:18-bookworm-slim",
		Platforms: []string{"linux/amd64"},
		StandIn:   "node:18-bookworm-slim: Debian bookworm with Debian's nodejs 18 and npm",
		Dir:       "node",
	},
	{
		Name:      "postgres:15-bookworm",
		Platforms: []string{"linux/amd64"},
		StandIn:   "postgres:15-bookworm: Debian's postgresql-15 with an entrypoint that emulates the official image's basics",
		Dir:       "postgres",
	},
	{
		Name:      "traefik:v3.1",
		Platforms: []string{"linux/amd64", "linux/arm64"},
		StandIn:   "traefik:v3.1: a shell script that prints a version and stays in the foreground",
		Dir:       "traefik",
	},
	{
		Name:      "containrrr/watchtower:1.7.1",
		Platforms: []string{"linux/amd64", "linux/arm64"},
		StandIn:   "containrrr/watchtower:1.7.1: a shell script that prints a version and stays in the foreground",
		Dir:       "watchtower",
	},
}
