package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"shipyard/ci/internal/dagger"
	"shipyard/internal/repoconfig"
)

// Lint the repository as its shipyard.hcl says: its pre-commit hooks, its lint command and, for a Go repository, the Go checks
// +cache="never"
// +check
func (m *Shipyard) Lint(
	ctx context.Context,
	// Debian packages the lint container needs besides shipyard.hcl's lint.packages
	// +optional
	packages []string,
) (string, error) {
	ctx, span := Tracer().Start(ctx, "lint")
	defer span.End()
	cfg, err := m.config(ctx)
	if err != nil {
		return "", err
	}
	p := cfg.LintPlan(repoconfig.Repo{
		PreCommit: m.hasFile(ctx, ".pre-commit-config.yaml"),
		GoModule:  m.hasFile(ctx, "go.mod"),
	}, packages)
	var report strings.Builder
	for _, n := range p.Notes {
		report.WriteString(n + "\n")
	}
	if p.Container() {
		ctr := m.lintContainer(p.Image, p.Packages)
		if p.PreCommit {
			ctr = ctr.With(optEnv("SKIP", strings.Join(p.PreCommitSkip, ","))).
				WithExec([]string{"sh", "-c", preCommitScript})
			out, err := ctr.Stdout(ctx)
			if err != nil {
				return report.String(), fmt.Errorf("lint failed (fix the findings below):\n%s", execOutput(err))
			}
			report.WriteString(out)
		}
		if p.Command != nil {
			out, err := ctr.WithExec(p.Command).Stdout(ctx)
			if err != nil {
				return report.String(), fmt.Errorf("lint command %s failed (fix the findings below):\n%s", strings.Join(p.Command, " "), execOutput(err))
			}
			report.WriteString(out)
			report.WriteString("lint command: ok\n")
		}
	}
	if p.Go {
		out, err := m.goChecks(ctx, "golang:1.26-bookworm", userGoSteps)
		report.WriteString(out)
		if err != nil {
			return report.String(), err
		}
	}
	return report.String(), nil
}

// preCommitScript runs every hook of .pre-commit-config.yaml on every file (pre-commit needs a
// git repository to list the files; the source is uploaded without .git).
const preCommitScript = `set -e
git init -q . 2>/dev/null; git add -A
PRE_COMMIT_HOME=/root/.cache/pre-commit pre-commit run --all-files --show-diff-on-failure --color=never`

// lintContainer is the lint image with packages installed and the repository in /src.
func (m *Shipyard) lintContainer(image string, pkgs []string) *dagger.Container {
	src := dag.Directory().WithDirectory("/", m.Source, dagger.DirectoryWithDirectoryOpts{
		Exclude: []string{"**/node_modules", "**/dist", "**/staticfiles", ".git"},
	})
	return imageWith(image, pkgs...).
		WithDirectory("/src", src).
		WithWorkdir("/src")
}

// debianWith is Debian bookworm with packages installed, apt's downloads kept in a named cache.
func debianWith(pkgs ...string) *dagger.Container {
	return imageWith("debian:bookworm-slim", pkgs...)
}

// imageWith is a Debian-based image with packages installed (none: the image as it is).
func imageWith(image string, pkgs ...string) *dagger.Container {
	ctr := dag.Container().From(image)
	if len(pkgs) == 0 {
		return ctr
	}
	return ctr.
		WithEnvVariable("DEBIAN_FRONTEND", "noninteractive").
		// locked: apt refuses to share its archive directory with a concurrent apt
		WithMountedCache("/var/cache/apt/archives", dag.CacheVolume("shipyard-apt-archives"),
			dagger.ContainerWithMountedCacheOpts{Sharing: dagger.CacheSharingModeLocked}).
		WithExec([]string{"sh", "-c", "rm -f /etc/apt/apt.conf.d/docker-clean; apt-get update -q && apt-get install -y -q --no-install-recommends " +
			strings.Join(pkgs, " ")}).
		// and unmounted once installed: a locked cache left in the image would make every later
		// exec of every container made from it wait for every other one (a long remote build
		// would hold back its own builder's health checks, lint its tests)
		WithoutMount("/var/cache/apt/archives")
}

// optEnv sets an environment variable when its value is not empty.
func optEnv(name, value string) func(*dagger.Container) *dagger.Container {
	return func(c *dagger.Container) *dagger.Container {
		if value == "" {
			return c
		}
		return c.WithEnvVariable(name, value)
	}
}

// withEnv sets every variable of env, in name order.
func withEnv(env map[string]string) func(*dagger.Container) *dagger.Container {
	return func(c *dagger.Container) *dagger.Container {
		for _, k := range slices.Sorted(maps.Keys(env)) {
			c = c.WithEnvVariable(k, env[k])
		}
		return c
	}
}

// hasFile tells whether the source has a file at path.
func (m *Shipyard) hasFile(ctx context.Context, path string) bool {
	ok, err := m.Source.Exists(ctx, path)
	return err == nil && ok
}
