package main

import (
	"context"
	"fmt"
	"strings"

	"shipyard/ci/internal/dagger"
	"shipyard/internal/bake"
	"shipyard/internal/latest"
	"shipyard/internal/naming"
	"shipyard/internal/registry"
	"shipyard/internal/rules"
	"shipyard/internal/version"
)

// Plan a run: print the stages, targets, platforms and latest decision it would take, changing nothing
func (m *Shipyard) Plan(
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
	// Build registry image prefix ($CI_REGISTRY_IMAGE); default: the bake file's REGISTRY
	// +optional
	buildRegistry string,
	// Release registry image prefix ($RELEASE_REGISTRY_IMAGE), read to find the version behind latest
	// +optional
	releaseRegistry string,
	// Release registry user
	// +optional
	releaseRegistryUser string,
	// Release registry password (env:RELEASE_REGISTRY_PASSWORD)
	// +optional
	releaseRegistryPassword *dagger.Secret,
	// Project name: released images are <release-registry>/<project>-<target>
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
	// Where ARM images are built: qemu or ec2
	// +default="qemu"
	armBuilder string,
	// Bake variable overrides, as NAME=VALUE
	// +optional
	set []string,
	// Tunnels to registries on the engine host's loopback, e.g. tcp://localhost:5000
	// +optional
	registryTunnel []*dagger.Service,
) (string, error) {
	p := &pipeline{
		m: m, ref: ref, tag: tag, defaultBranch: defaultBranch, mergeRequest: mergeRequest != "",
		buildRegistry: buildRegistry, releaseRegistry: releaseRegistry, releaseUser: releaseRegistryUser,
		releasePassword: releaseRegistryPassword, project: project, strategy: latestStrategy,
		tagTypeOverride: tagTypeOverride, tagMessage: tagMessage, gitDir: gitDir,
		gitlabURL: gitlabUrl, projectID: projectId, gitlabToken: gitlabToken,
		arm64: arm64, armv7: armv7, armBuilder: armBuilder, set: set, tunnels: registryTunnel, dryRun: true,
	}
	return p.plan(ctx)
}

func (p *pipeline) plan(ctx context.Context) (string, error) {
	plan, err := rules.For(p.rulesRef())
	if err != nil {
		return "", err
	}
	if err := p.preflight(nil); err != nil {
		return "", fmt.Errorf("preflight: %v", err)
	}
	p.logf("rules: %s", plan.Reason)
	p.logf("stages: %s", joinStages(plan.Stages))
	targets, err := p.m.resolve(ctx, nil, p.bakeSet())
	if err != nil {
		return p.log.String(), err
	}
	matrix, err := bake.Matrix(targets, p.platforms())
	if err != nil {
		return p.log.String(), err
	}
	if plan.Has(rules.Build) {
		for _, e := range matrix {
			tags := strings.Join(e.Target.Tags, ", ")
			p.logf("build %s [%s] -> %s", e.Target.Name, e.Platform, tags)
		}
		if p.armBuilder == "ec2" && (p.arm64 || p.armv7) {
			p.logf("ARM platforms are built natively on EC2 by the e2c job")
		}
	}
	if !plan.Has(rules.Release) {
		p.logf("latest: untouched (no release for this ref)")
		return p.log.String(), nil
	}
	if err := p.planLatest(ctx, matrix); err != nil {
		return p.log.String(), err
	}
	return p.log.String(), nil
}

// planLatest shows the latest decision the release stage would take now.
func (p *pipeline) planLatest(ctx context.Context, matrix []bake.Entry) error {
	typ, err := p.tagType(ctx)
	if err != nil {
		return err
	}
	strategy, err := latest.ParseStrategy(p.strategy)
	if err != nil {
		return err
	}
	current := ""
	if p.releaseRegistry == "" {
		p.logf("latest: no --release-registry given, deciding as if no latest exists")
	} else {
		client, err := registryClient(ctx, []registryCreds{{host: naming.Host(p.releaseRegistry), user: p.releaseUser, password: p.releasePassword}}, p.tunnels)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, e := range matrix {
			if seen[e.Target.Name] {
				continue
			}
			seen[e.Target.Name] = true
			repo := naming.ReleaseRepo(p.releaseRegistry, p.project, e.Target.Name)
			found, err := client.VersionBehind(ctx, repo, "latest", isVersion)
			if err != nil {
				return fmt.Errorf("reading latest of %s: %v", repo, err)
			}
			p.logf("latest of %s: %s", repo, describeFound(found))
			if greater(found.Version, current) {
				current = found.Version
			}
		}
	}
	d, err := latest.Decide(latest.Input{Tag: p.tag, Type: typ, Strategy: strategy, Current: current})
	if err != nil {
		return err
	}
	verb := "keep"
	if d.Move {
		verb = "move"
	}
	p.logf("latest decision: %s (%s)", verb, d.Reason)
	return nil
}

func isVersion(tag string) bool {
	_, err := version.Parse(tag)
	return err == nil
}

// greater tells whether version tag a sorts after b ("" sorts first, unparseable never wins).
func greater(a, b string) bool {
	va, err := version.Parse(a)
	if err != nil {
		return false
	}
	vb, err := version.Parse(b)
	if err != nil {
		return true
	}
	return va.GreaterThan(vb)
}

func describeFound(f registry.Found) string {
	switch f.Method {
	case registry.MethodNone:
		return "no latest yet"
	default:
		if f.Version == "" {
			return fmt.Sprintf("%s (no version tag matches, found by %s)", f.Digest, f.Method)
		}
		return fmt.Sprintf("%s %s (found by %s in %d requests)", f.Version, f.Digest, f.Method, f.Requests)
	}
}
