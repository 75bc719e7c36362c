package repoconfig

import (
	"fmt"
	"slices"
	"strings"
)

// DefaultProject is the project's name when neither --project, shipyard.hcl nor the CI names it.
const DefaultProject = "app"

// DefaultLintImage is the lint container's image when shipyard.hcl names none.
const DefaultLintImage = "debian:bookworm-slim"

// Where the project's name came from.
const (
	FromFlag    = "--project"
	FromFile    = FileName
	FromRepo    = "the repository's name"
	FromDefault = "the default"
)

// Project picks the project's name, first answer wins: the --project flag; shipyard.hcl's
// project; the repository's name (GitLab's $CI_PROJECT_NAME, in lower case with anything but
// letters and digits turned into "-"); DefaultProject. from says which it was.
func Project(flag string, c *Config, repoName string) (name, from string) {
	switch {
	case flag != "":
		return flag, FromFlag
	case c != nil && c.Project != "":
		return c.Project, FromFile
	case slug(repoName) != "":
		return slug(repoName), FromRepo
	}
	return DefaultProject, FromDefault
}

// Repo is what the lint decision needs to know about the repository.
type Repo struct {
	// PreCommit: the repository has .pre-commit-config.yaml at its root.
	PreCommit bool
	// GoModule: the repository has go.mod at its root.
	GoModule bool
}

// LintPlan is what the lint stage runs, in order: pre-commit and the command in one container
// (Image with Packages), then the Go checks in a Go toolchain container.
type LintPlan struct {
	Image         string
	Packages      []string
	PreCommit     bool
	PreCommitSkip []string
	Command       []string
	Go            bool
	// Notes say what runs and why, one line each, for the log.
	Notes []string
}

// Container tells whether anything runs in the lint container.
func (p LintPlan) Container() bool { return p.PreCommit || p.Command != nil }

// LintPlan decides what the lint stage runs for a repository; extra are Debian packages asked
// for on the command line (lint --packages), added to shipyard.hcl's.
func (c *Config) LintPlan(r Repo, extra []string) LintPlan {
	l := Lint{}
	if c != nil && c.Lint != nil {
		l = *c.Lint
	}
	p := LintPlan{Image: l.Image, Command: l.Command, PreCommit: r.PreCommit}
	if p.Image == "" {
		p.Image = DefaultLintImage
	}
	if p.PreCommit {
		p.PreCommitSkip = l.PreCommitSkip
		if p.Image == DefaultLintImage {
			p.Packages = []string{"git", "pre-commit"}
		}
		note := "lint: pre-commit runs the hooks of .pre-commit-config.yaml"
		if len(p.PreCommitSkip) > 0 {
			note += fmt.Sprintf(" (skipping %s)", strings.Join(p.PreCommitSkip, ", "))
		}
		p.Notes = append(p.Notes, note)
	} else if len(l.PreCommitSkip) > 0 {
		p.Notes = append(p.Notes, "lint: shipyard.hcl's pre_commit_skip has no effect: the repository has no .pre-commit-config.yaml")
	}
	for _, pkg := range append(slices.Clone(l.Packages), extra...) {
		if !slices.Contains(p.Packages, pkg) {
			p.Packages = append(p.Packages, pkg)
		}
	}
	if p.Command != nil {
		p.Notes = append(p.Notes, "lint: shipyard.hcl's command: "+strings.Join(p.Command, " "))
	}
	switch {
	case !r.GoModule:
	case l.GoChecks != nil && !*l.GoChecks:
		p.Notes = append(p.Notes, "lint: no Go checks (shipyard.hcl: go_checks = false)")
	default:
		p.Go = true
		p.Notes = append(p.Notes, "lint: Go checks for go.mod: gofmt, go vet, go test ./...")
	}
	if !p.Container() {
		if len(p.Packages) > 0 {
			p.Notes = append(p.Notes, fmt.Sprintf("lint: the packages %s are not installed: nothing runs in the lint container (no .pre-commit-config.yaml, no lint command)",
				strings.Join(p.Packages, ", ")))
		}
		p.Image, p.Packages = "", nil
	}
	if !p.Container() && !p.Go {
		p.Notes = append(p.Notes, "lint: nothing to lint: no .pre-commit-config.yaml, no go.mod and no lint command in "+FileName)
	}
	return p
}
