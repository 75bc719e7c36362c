package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"shipyard/ci/internal/dagger"
)

// goStep is one Go check: a name for the report and its shell script.
type goStep struct{ name, script string }

var gofmtStep = goStep{"gofmt", `files=$(gofmt -l .); ` +
	`if [ -n "$files" ]; then echo "gofmt: these files are not formatted (run gofmt -w on them):"; echo "$files"; gofmt -d $files; exit 1; fi; echo "gofmt: ok"`}

// userGoSteps are the checks of a user's Go repository: gofmt, go vet and its own tests.
var userGoSteps = []goStep{gofmtStep, {"go vet", `go vet ./... && echo "go vet: ok"`}, {"go test", `go test ./...`}}

// goChecks runs Go checks in a Go toolchain container, stopping at the first failure.
func (m *Shipyard) goChecks(ctx context.Context, goImage string, steps []goStep) (string, error) {
	ctr := m.goContainer(goImage)
	var report strings.Builder
	for _, s := range steps {
		out, err := ctr.WithExec([]string{"sh", "-c", s.script}).Stdout(ctx)
		if err != nil {
			return report.String(), fmt.Errorf("%s failed:\n%s", s.name, execOutput(err))
		}
		report.WriteString(out)
	}
	return report.String(), nil
}

// goContainer is the Go toolchain with the whole source (tests read files of their own: testdata,
// templates, configuration) and named caches: the build cache keeps a re-run fast when only
// other files changed.
func (m *Shipyard) goContainer(image string) *dagger.Container {
	return dag.Container().From(image).
		WithMountedCache("/go/pkg/mod", dag.CacheVolume("shipyard-go-mod")).
		WithMountedCache("/root/.cache/go-build", dag.CacheVolume("shipyard-go-build")).
		WithEnvVariable("CGO_ENABLED", "0").
		WithDirectory("/src", m.Source, dagger.ContainerWithDirectoryOpts{Exclude: []string{"**/node_modules/**"}}).
		WithWorkdir("/src")
}

// execOutput gives the tool's own report for a failed exec, or the error itself.
func execOutput(err error) string {
	var e *dagger.ExecError
	if errors.As(err, &e) {
		return strings.TrimSpace(e.Stdout + "\n" + e.Stderr)
	}
	return err.Error()
}
