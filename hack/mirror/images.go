package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"dagger.io/dagger"

	"shipyard/internal/scan"
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
	// What a GitLab Docker executor job of .gitlab-ci.yml pulls (the job image and its dind
	// service), and the two images gitlab-ci-local's Docker executor runs around each job.
	{
		Name:      "docker:27",
		Platforms: []string{"linux/amd64"},
		StandIn:   "docker:27: the Docker client of Debian's docker.io (20.10) with busybox as sh and wget, and the upstream entrypoint's DOCKER_HOST defaults",
		Dir:       "docker",
	},
	{
		Name:      "docker:27-dind",
		Platforms: []string{"linux/amd64"},
		StandIn:   "docker:27-dind: Debian's docker.io (dockerd 20.10) with an entrypoint that makes the TLS certificates GitLab's dind service shares with the job",
		Dir:       "docker-dind",
	},
	{
		Name:      "firecow/gitlab-ci-local-util:latest",
		Platforms: []string{"linux/amd64"},
		StandIn:   "firecow/gitlab-ci-local-util: Debian with bash and rsync",
		Dir:       "gcl-util",
	},
	{
		Name:      "sumina46/wait-for-it:latest",
		Platforms: []string{"linux/amd64"},
		StandIn:   "sumina46/wait-for-it: a bash script that waits for HOST:PORT to accept a connection",
		Dir:       "wait-for-it",
	},
	{
		Name:      "containrrr/watchtower:1.7.1",
		Platforms: []string{"linux/amd64", "linux/arm64"},
		StandIn:   "containrrr/watchtower:1.7.1: a shell script that prints a version and stays in the foreground",
		Dir:       "watchtower",
	},
}

// trivyStandIn is the mirror's entry for trivy's image, made from the trivy binary the host
// built (hack/setup-test-deps trivy): upstream's name and entrypoint, so the scan stage runs
// trivy as a container, as users run it. The binary takes 26 minutes to build cold, after the
// engine is up, so hack/engine seeds this image only when the binary is already there, and
// testenv.ScannerImage seeds it for the tests once the build is done.
func trivyStandIn(bin string) image {
	return image{
		Name:      scan.DefaultScannerImage,
		Platforms: []string{"linux/amd64"},
		StandIn:   scan.DefaultScannerImage + ": Debian bookworm with ca-certificates and trivy v" + scan.TrivyVersion + " built from the Go module proxy, entrypoint trivy",
		Build:     (*mirror).trivyImage,
		HostFiles: []string{bin},
	}
}

// trivyImage is Debian with CA certificates (trivy pulls its database over HTTPS from a user's
// registry) and the host's trivy at upstream's path, /usr/local/bin/trivy.
func (m *mirror) trivyImage(_ context.Context, p dagger.Platform) (*dagger.Container, error) {
	return m.base(p).
		WithEnvVariable("DEBIAN_FRONTEND", "noninteractive").
		WithExec([]string{"sh", "-c", "apt-get update -q && apt-get install -y -q --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*"}).
		WithoutEnvVariable("DEBIAN_FRONTEND").
		WithFile("/usr/local/bin/trivy", m.c.Host().File(m.trivy), dagger.ContainerWithFileOpts{Permissions: 0o755}).
		WithAnnotation("org.opencontainers.image.version", scan.TrivyVersion).
		WithEntrypoint([]string{"trivy"}), nil
}

// selectImages keeps the images named in only (comma-separated; empty keeps all), failing on a
// name the list does not have.
func selectImages(all []image, only string) ([]image, error) {
	if only == "" {
		return all, nil
	}
	var out []image
	for name := range strings.SplitSeq(only, ",") {
		i := slices.IndexFunc(all, func(img image) bool { return img.Name == name })
		if i < 0 {
			var names []string
			for _, img := range all {
				names = append(names, img.Name)
			}
			return nil, fmt.Errorf("-only %s: no such image (the list has %s)", name, strings.Join(names, ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}
