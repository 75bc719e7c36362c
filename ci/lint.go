package main

import (
	"context"
	"fmt"
	"strings"

	"shipyard/ci/internal/dagger"
)

// lintPackages are the Debian packages of the lint container: the tools plus what Pylint must import.
var lintPackages = []string{
	"git", "pre-commit", "black", "pylint", "python3-pylint-django", "python3-django",
	"python3-psycopg2", "python3-pytest", "python3-pytest-django", "python3-whitenoise",
}

// Lint the repository: its pre-commit hooks (Black, Pylint, whitespace) and, for a Go repository, the Go checks
func (m *Shipyard) Lint(
	ctx context.Context,
	// Extra Debian packages the lint container needs (e.g. your app's Python dependencies)
	// +optional
	packages []string,
) (string, error) {
	ctx, span := Tracer().Start(ctx, "lint")
	defer span.End()
	var report strings.Builder
	out, err := m.lintContainer(packages).
		WithExec([]string{"sh", "-c", lintScript}).
		Stdout(ctx)
	if err != nil {
		return "", fmt.Errorf("lint failed (fix the findings below):\n%s", execOutput(err))
	}
	report.WriteString(out)
	if m.hasFile(ctx, "go.mod") {
		out, err := m.Check(ctx)
		if err != nil {
			return report.String(), err
		}
		report.WriteString(out)
	}
	return report.String(), nil
}

// lintScript runs pre-commit when the repository configures it, else Black and Pylint directly.
// Go hooks are left to Check, which runs in a Go toolchain container.
const lintScript = `set -e
if [ -f .pre-commit-config.yaml ]; then
  git init -q . 2>/dev/null; git add -A
  SKIP=gofmt PRE_COMMIT_HOME=/root/.cache/pre-commit pre-commit run --all-files --show-diff-on-failure --color=never
else
  files=$(find . -name '*.py' -not -path '*/node_modules/*' -not -path './.git/*')
  [ -z "$files" ] && { echo "no Python files"; exit 0; }
  python3 -m black --check --diff $files
  python3 -m pylint $files
fi`

func (m *Shipyard) lintContainer(extra []string) *dagger.Container {
	pkgs := append(append([]string{}, lintPackages...), extra...)
	src := dag.Directory().WithDirectory("/", m.Source, dagger.DirectoryWithDirectoryOpts{
		Exclude: []string{"**/node_modules", "**/dist", "**/staticfiles", ".git"},
	})
	return debianWith(pkgs...).
		WithDirectory("/src", src).
		WithWorkdir("/src")
}

// debianWith is Debian bookworm with packages installed, apt's downloads kept in a named cache.
func debianWith(pkgs ...string) *dagger.Container {
	return dag.Container().From("debian:bookworm-slim").
		WithEnvVariable("DEBIAN_FRONTEND", "noninteractive").
		// locked: apt refuses to share its archive directory with a concurrent apt
		WithMountedCache("/var/cache/apt/archives", dag.CacheVolume("shipyard-apt-archives"),
			dagger.ContainerWithMountedCacheOpts{Sharing: dagger.CacheSharingModeLocked}).
		WithExec([]string{"sh", "-c", "rm -f /etc/apt/apt.conf.d/docker-clean; apt-get update -q && apt-get install -y -q --no-install-recommends " +
			strings.Join(pkgs, " ")})
}

// hasFile tells whether the source has a file at path.
func (m *Shipyard) hasFile(ctx context.Context, path string) bool {
	ok, err := m.Source.Exists(ctx, path)
	return err == nil && ok
}
