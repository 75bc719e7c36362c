package main

import (
	"context"
	"fmt"

	"shipyard/internal/repoconfig"
)

// config reads the repository's shipyard.hcl, or gives the defaults when it has none.
func (m *Shipyard) config(ctx context.Context) (*repoconfig.Config, error) {
	if !m.hasFile(ctx, repoconfig.FileName) {
		return repoconfig.Default(), nil
	}
	src, err := m.Source.File(repoconfig.FileName).Contents(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %v", repoconfig.FileName, err)
	}
	return repoconfig.Parse(repoconfig.FileName, []byte(src))
}

// resolveProject names the project once, when the pipeline is configured: the --project flag,
// else shipyard.hcl's project, else (until WithGitlab gives the repository's name) the default.
// It reads shipyard.hcl, so a broken file fails every call before any work.
func (m *Shipyard) resolveProject(ctx context.Context) error {
	cfg, err := m.config(ctx)
	if err != nil {
		return err
	}
	m.Project, m.ProjectFrom = repoconfig.Project(m.Project, cfg, "")
	return nil
}

// withRepoName names the project after the repository (GitLab's $CI_PROJECT_NAME) when neither
// --project nor shipyard.hcl named it.
func (m *Shipyard) withRepoName(name string) {
	if m.ProjectFrom == repoconfig.FromDefault {
		m.Project, m.ProjectFrom = repoconfig.Project("", nil, name)
	}
}
