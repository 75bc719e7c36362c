package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"shipyard/ci/internal/dagger"
	"shipyard/internal/latest"
	"shipyard/internal/naming"
	"shipyard/internal/rules"
	"shipyard/internal/tagtype"
	"shipyard/internal/version"
)

// Release: run exactly the stages the branch rules allow for a ref, in order, stopping at the first failure
func (m *Shipyard) Release(
	ctx context.Context,
	// Branch or tag the pipeline runs for ($CI_COMMIT_REF_NAME)
	// +optional
	ref string,
	// Version tag being released ($CI_COMMIT_TAG)
	// +optional
	tag string,
	// The repository's default branch ($CI_DEFAULT_BRANCH)
	// +default="main"
	defaultBranch string,
	// Merge request IID ($CI_MERGE_REQUEST_IID): set for merge request pipelines
	// +optional
	mergeRequest string,
	// Run only this stage (lint, test, build, manifests, release); refused if the rules do not allow it for the ref
	// +optional
	only string,
	// Print the plan and every decision, push nothing
	// +optional
	dryRun bool,
	// Build registry image prefix ($CI_REGISTRY_IMAGE); default: the bake file's REGISTRY
	// +optional
	buildRegistry string,
	// Build registry user ($CI_REGISTRY_USER)
	// +optional
	buildRegistryUser string,
	// Build registry password (env:CI_REGISTRY_PASSWORD)
	// +optional
	buildRegistryPassword *dagger.Secret,
	// Release registry image prefix ($RELEASE_REGISTRY_IMAGE)
	// +optional
	releaseRegistry string,
	// Release registry user
	// +optional
	releaseRegistryUser string,
	// Release registry password (env:RELEASE_REGISTRY_PASSWORD)
	// +optional
	releaseRegistryPassword *dagger.Secret,
	// Project name: released images are <release-registry>/<project>-<target> ($CI_PROJECT_NAME)
	// +default="shipyard"
	project string,
	// When to move latest: auto, force or skip ($UPDATE_LATEST_STRATEGY)
	// +default="auto"
	latestStrategy string,
	// Force the tag type: annotated or lightweight ($TAG_TYPE_OVERRIDE)
	// +optional
	tagTypeOverride string,
	// The tag's message when GitLab provides it ($CI_COMMIT_TAG_MESSAGE)
	// +optional
	tagMessage string,
	// GitLab URL for the tag API ($CI_SERVER_URL)
	// +optional
	gitlabUrl string,
	// GitLab project ID ($CI_PROJECT_ID)
	// +optional
	projectId string,
	// GitLab token for the tag API (env:CI_JOB_TOKEN)
	// +optional
	gitlabToken *dagger.Secret,
	// The repository's git directory, to tell annotated from lightweight tags
	// +optional
	// +defaultPath="/.git"
	gitDir *dagger.Directory,
	// Build linux/arm64 too ($BUILD_ARM64)
	// +optional
	arm64 bool,
	// Build linux/arm/v7 too ($BUILD_ARMV7)
	// +optional
	armv7 bool,
	// Where ARM images are built: qemu (here) or ec2 (the e2c job builds them)
	// +default="qemu"
	armBuilder string,
	// Commit being built ($CI_COMMIT_SHA), recorded in the index annotations
	// +optional
	revision string,
	// Bake variable overrides, as NAME=VALUE
	// +optional
	set []string,
	// Tunnels to registries on the engine host's loopback, e.g. tcp://localhost:5000
	// +optional
	registryTunnel []*dagger.Service,
) (string, error) {
	p := &pipeline{
		m: m, ref: ref, tag: tag, defaultBranch: defaultBranch, mergeRequest: mergeRequest != "",
		dryRun: dryRun, buildRegistry: buildRegistry, buildUser: buildRegistryUser, buildPassword: buildRegistryPassword,
		releaseRegistry: releaseRegistry, releaseUser: releaseRegistryUser, releasePassword: releaseRegistryPassword,
		project: project, strategy: latestStrategy, tagTypeOverride: tagTypeOverride, tagMessage: tagMessage,
		gitlabURL: gitlabUrl, projectID: projectId, gitlabToken: gitlabToken, gitDir: gitDir,
		arm64: arm64, armv7: armv7, armBuilder: armBuilder, revision: revision, set: set, tunnels: registryTunnel,
	}
	return p.run(ctx, only)
}

// pipeline is one run of the release entry point.
type pipeline struct {
	m                                  *Shipyard
	ref, tag, defaultBranch            string
	mergeRequest, dryRun               bool
	buildRegistry, buildUser           string
	buildPassword                      *dagger.Secret
	releaseRegistry, releaseUser       string
	releasePassword                    *dagger.Secret
	project, strategy, tagTypeOverride string
	tagMessage, gitlabURL, projectID   string
	gitlabToken                        *dagger.Secret
	gitDir                             *dagger.Directory
	arm64, armv7                       bool
	armBuilder, revision               string
	set                                []string
	tunnels                            []*dagger.Service
	log                                strings.Builder
}

// logf prints a line to the job log as it happens and keeps it for the function's result.
func (p *pipeline) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	fmt.Fprintln(os.Stderr, line)
	p.log.WriteString(line + "\n")
}

func (p *pipeline) rulesRef() rules.Ref {
	if p.defaultBranch == "" {
		p.defaultBranch = "main"
	}
	return rules.Ref{Branch: p.ref, Tag: p.tag, DefaultBranch: p.defaultBranch, MergeRequest: p.mergeRequest}
}

// preflight checks the settings before any expensive work and reports every problem at once.
func (p *pipeline) preflight(stages []rules.Stage) error {
	var errs []error
	if _, err := latest.ParseStrategy(p.strategy); err != nil {
		errs = append(errs, fmt.Errorf("--latest-strategy (UPDATE_LATEST_STRATEGY): %v", err))
	}
	if p.tagTypeOverride != "" {
		if _, err := tagtype.ParseType(p.tagTypeOverride); err != nil {
			errs = append(errs, fmt.Errorf("--tag-type-override (TAG_TYPE_OVERRIDE): %v", err))
		}
	}
	if p.armBuilder == "" {
		p.armBuilder = "qemu"
	}
	if p.armBuilder != "qemu" && p.armBuilder != "ec2" {
		errs = append(errs, fmt.Errorf("--arm-builder %q: use qemu or ec2", p.armBuilder))
	}
	for _, s := range stages {
		if s == rules.Release {
			if p.project == "" {
				errs = append(errs, errors.New("the release stage needs --project (released images are <release-registry>/<project>-<target>)"))
			}
			if p.releaseRegistry == "" {
				errs = append(errs, errors.New("the release stage needs --release-registry (e.g. $RELEASE_REGISTRY_IMAGE)"))
			}
			if _, err := version.Parse(p.tag); err != nil {
				errs = append(errs, fmt.Errorf("the release stage needs a version tag: %v", err))
			}
		}
	}
	return errors.Join(errs...)
}

func (p *pipeline) run(ctx context.Context, only string) (string, error) {
	plan, err := rules.For(p.rulesRef())
	if err != nil {
		return "", err
	}
	stages := plan.Stages
	if only != "" {
		s, err := rules.ParseStage(only)
		if err != nil {
			return "", err
		}
		if err := plan.Require(s); err != nil {
			return "", err
		}
		stages = []rules.Stage{s}
	}
	if err := p.preflight(stages); err != nil {
		return "", fmt.Errorf("preflight: %v", err)
	}
	p.logf("rules: %s", plan.Reason)
	p.logf("stages to run: %s", joinStages(stages))
	for _, s := range stages {
		if err := p.stage(ctx, s); err != nil {
			return p.log.String(), fmt.Errorf("stage %s failed: %v", s, err)
		}
		p.logf("stage %s: ok", s)
	}
	return p.log.String(), nil
}

func joinStages(s []rules.Stage) string {
	out := make([]string, len(s))
	for i, st := range s {
		out[i] = string(st)
	}
	return strings.Join(out, ", ")
}

func (p *pipeline) stage(ctx context.Context, s rules.Stage) error {
	ctx, span := Tracer().Start(ctx, "stage "+string(s))
	defer span.End()
	switch s {
	case rules.Lint:
		out, err := p.m.Lint(ctx, nil)
		p.logf("%s", strings.TrimSpace(out))
		return err
	case rules.Test:
		run, err := p.m.Test(ctx, "django-test", "postgres", "db",
			[]string{"python3", "-m", "pytest", "-p", "no:cacheprovider", "--junitxml=/tmp/junit.xml"}, p.bakeSet())
		if err != nil {
			return err
		}
		p.logf("%s", strings.TrimSpace(lastLines(run.Output, 3)))
		return nil
	case rules.Build:
		return p.build(ctx)
	case rules.Manifests:
		merged, err := p.m.manifests(ctx, nil, p.platforms(), p.bakeSet(), p.buildUser, p.buildPassword, "{tag}-{arch}", p.revision, p.tunnels)
		for _, mg := range merged {
			p.logf("manifest %s %s@%s (%s)", mg.Target, mg.Ref, mg.Digest, strings.Join(mg.Platforms, ", "))
		}
		return err
	case rules.Release:
		return p.release(ctx)
	}
	return fmt.Errorf("unknown stage %q", s)
}

// imageTag is the tag the build registry uses for this ref: the version, or the branch's slug.
func (p *pipeline) imageTag() string {
	if p.tag != "" {
		return p.tag
	}
	return naming.Slug(p.ref)
}

// bakeSet is the --set overrides plus the registry and tag of this pipeline.
func (p *pipeline) bakeSet() []string {
	set := []string{"TAG=" + p.imageTag()}
	if p.buildRegistry != "" {
		set = append(set, "REGISTRY="+p.buildRegistry)
	}
	if p.revision != "" {
		set = append(set, "GIT_COMMIT="+p.revision)
	}
	return append(set, p.set...)
}

// platforms is what the rules enable; ARM on EC2 is built by the e2c job, not here.
func (p *pipeline) platforms() []string {
	if p.armBuilder == "ec2" {
		return []string{"linux/amd64"}
	}
	return rules.Platforms(p.arm64, p.armv7)
}

func (p *pipeline) build(ctx context.Context) error {
	targets, err := p.m.resolve(ctx, nil, p.bakeSet())
	if err != nil {
		return err
	}
	imgs, err := p.m.build(ctx, targets, p.platforms())
	if err != nil {
		return err
	}
	if p.dryRun {
		for _, img := range imgs.Images {
			p.logf("dry run: built %s [%s], not pushed", img.Target, img.Platform)
		}
		return nil
	}
	pushed, err := imgs.publish(ctx, p.buildUser, p.buildPassword, "{tag}-{arch}")
	for _, pb := range pushed {
		if pb.Ref != "" {
			p.logf("pushed %s [%s] %s@%s", pb.Target, pb.Platform, pb.Ref, pb.Digest)
		}
	}
	return err
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
