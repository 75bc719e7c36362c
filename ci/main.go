// Shipyard is pipeline-as-code for container releases: lint, test, build every target of a bake
// file per platform, merge multi-arch manifests, and release with a `latest` tag that is never wrong.
//
// This package only wires containers and executes a plan (internal/plan); every decision lives
// in a pure package under internal/. Configuration is given once: the constructor and the With…
// functions hold it, the verbs (release, plan, lint, test, build, arm-builder) use it.
//
// Errors are wrapped with %v, not %w: the Go SDK reports a wrapped engine error by its innermost
// message, which would drop the context (stage, image, attempts) these wrappers add.
package main

import (
	"context"
	"fmt"

	"shipyard/ci/internal/dagger"
	"shipyard/internal/latest"
	"shipyard/internal/regaccess"
	"shipyard/internal/rules"
	"shipyard/internal/vcs"
)

// Shipyard runs the pipeline of one repository.
type Shipyard struct {
	// +private
	Source *dagger.Directory
	// +private
	BakeFile string
	// +private
	GitDir *dagger.Directory
	// +private
	Project string
	// Where Project came from (repoconfig.From…)
	// +private
	ProjectFrom string
	// +private
	BuildRegistry string
	// +private
	ReleaseRegistry string
	// +private
	Set []string
	// +private
	RegistryTunnel []*dagger.Service
	// +private
	InsecureRegistry []string
	// +private
	Arm64 bool
	// +private
	Armv7 bool
	// +private
	ArmBuilderSetting string
	// The old pipeline's switch for ARM on EC2 (WithOldPipeline)
	// +private
	E2cUsage string

	// Registry credentials, one entry per address: a host or an image prefix (WithRegistryAuth)
	// +private
	AuthHosts []string
	// +private
	AuthUsers []string
	// +private
	AuthSecrets []*dagger.Secret

	// The pipeline's ref (WithGitlab; release's --ref/--tag win)
	// +private
	Ci CiContext

	// Build secrets by bake secret id (WithBuildSecret)
	// +private
	BuildSecretIDs []string
	// +private
	BuildSecrets []*dagger.Secret

	// +private
	UpdateLatestStrategy string
	// +private
	TagTypeOverride string

	// +private
	Ec2 Ec2Settings

	// Supply chain (WithSigning)
	// +private
	SigningKey *dagger.Secret
	// +private
	SigningPassword *dagger.Secret
	// +private
	SbomFormat string

	// The vulnerability gate (WithScan), as given; scan.ParseSettings reads them
	// +private
	ScanDbRepository string
	// +private
	ScanFailOn string
	// +private
	ScanMaxDbAge string
	// +private
	ScanIgnoreFile string
	// +private
	ScannerImage string
}

// CiContext is what GitLab tells a job about its pipeline.
type CiContext struct {
	Ref           string
	Tag           string
	TagMessage    string
	DefaultBranch string
	MergeRequest  string
	Revision      string
	ServerURL     string
	ProjectID     string
	Token         *dagger.Secret
	PipelineID    string
	JobID         string
}

// New configures the pipeline of a repository.
func New(
	ctx context.Context,
	// The repository the pipeline runs on (default: the directory of the dagger.json that loads the module: this module's own, or a repository's that installs it as its blueprint); its .git is where the git data (tag type, commit, commit time) is read, and no build sees it
	// +defaultPath="."
	// +ignore=["**/node_modules", "**/__pycache__", "**/dist", "*.md", "docs", "bench/out", ".e2c_instance_state_*", ".env"]
	source *dagger.Directory,
	// Path of the bake file inside the source (default: the first there of docker-bake-production.hcl, docker-bake.json and docker-bake.hcl)
	// +optional
	bakeFile string,
	// Where the git data is read instead of --source's .git (a checkout, or its .git directory): tells annotated from lightweight tags, the commit and its time
	// +optional
	// +ignore=["*", "!.git", "!.git/**", "!HEAD", "!config", "!packed-refs", "!shallow", "!objects", "!objects/**", "!refs", "!refs/**"]
	gitDir *dagger.Directory,
	// Project name: released images are <release-registry>/<project>-<target> ($CI_PROJECT_NAME); default: shipyard.hcl's project, else with-gitlab's --project-name, else app
	// +optional
	project string,
	// Build registry image prefix ($CI_REGISTRY_IMAGE); default: the bake file's REGISTRY
	// +optional
	buildRegistry string,
	// Release registry image prefix ($RELEASE_REGISTRY_IMAGE)
	// +optional
	releaseRegistry string,
	// Bake overrides as bake's --set takes them: NAME=VALUE for a variable, TARGET.KEY=VALUE for a target's attribute (TARGET may be a pattern such as *; KEY is e.g. args.NAME, tags or platform; += appends)
	// +optional
	set []string,
	// Tunnels to registries on the engine host's loopback, e.g. tcp://localhost:5000
	// +optional
	registryTunnel []*dagger.Service,
	// Registries spoken to over plain HTTP (host:port, or host for any port); only the loopback (127.0.0.1, ::1, localhost) is by default, never a host guessed from its address
	// +optional
	insecureRegistry []string,
	// Build linux/arm64 too ($BUILD_ARM64)
	// +optional
	arm64 bool,
	// Build linux/arm/v7 too ($BUILD_ARMV7)
	// +optional
	armv7 bool,
	// Where ARM images are built: qemu (emulated on this engine) or ec2 (natively on an EC2 instance's engine) ($ARM_BUILDER); empty: ec2 with with-old-pipeline --e2c-usage=true, else qemu
	// +optional
	armBuilder string,
) (*Shipyard, error) {
	repo, build, err := splitGit(ctx, source, gitDir)
	if err != nil {
		return nil, err
	}
	m := &Shipyard{
		Source: build, BakeFile: bakeFile, GitDir: repo, Project: project,
		BuildRegistry: buildRegistry, ReleaseRegistry: releaseRegistry, Set: set,
		RegistryTunnel: registryTunnel, InsecureRegistry: insecureRegistry,
		Arm64: arm64, Armv7: armv7, ArmBuilderSetting: armBuilder, UpdateLatestStrategy: string(latest.Auto),
		Ci: CiContext{DefaultBranch: rules.MainBranch},
	}
	if err := m.resolveProject(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// splitGit separates the git repository from the source: the repository is read from gitDir when
// given, else from the source's .git (nil when there is none), and the source the builds see has
// no .git.
func splitGit(ctx context.Context, source, gitDir *dagger.Directory) (repo, build *dagger.Directory, err error) {
	build = source
	hasGit, err := source.Exists(ctx, ".git", dagger.DirectoryExistsOpts{ExpectedType: dagger.ExistsTypeDirectoryType})
	if err != nil {
		return nil, nil, fmt.Errorf("reading --source: %v", err)
	}
	if hasGit {
		build = source.WithoutDirectory(".git")
	}
	from, what := source, "--source"
	if gitDir != nil {
		from, what = gitDir, "--git-dir"
	}
	dotGitDir, _ := from.Exists(ctx, ".git", dagger.DirectoryExistsOpts{ExpectedType: dagger.ExistsTypeDirectoryType})
	dotGitFile, _ := from.Exists(ctx, ".git", dagger.DirectoryExistsOpts{ExpectedType: dagger.ExistsTypeRegularType})
	head, _ := from.Exists(ctx, "HEAD", dagger.DirectoryExistsOpts{ExpectedType: dagger.ExistsTypeRegularType})
	where, err := vcs.Locate(dotGitDir, dotGitFile, head)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", what, err)
	}
	switch where {
	case vcs.InDotGit:
		repo = from.Directory(".git")
	case vcs.Here:
		repo = from
	}
	return repo, build, nil
}

// WithRegistryAuth adds credentials for a registry host or an image prefix (the build or the release registry); a repository takes those of the longest address that covers it
func (m *Shipyard) WithRegistryAuth(
	// Registry host ($CI_REGISTRY) or image prefix (registry.example.com/group/app: the repositories under it, on path segments)
	address string,
	// User name ($CI_REGISTRY_USER)
	username string,
	// Password or token (env:CI_REGISTRY_PASSWORD)
	secret *dagger.Secret,
) *Shipyard {
	c := *m
	c.AuthHosts = append(append([]string(nil), m.AuthHosts...), regaccess.Prefix(address))
	c.AuthUsers = append(append([]string(nil), m.AuthUsers...), username)
	c.AuthSecrets = append(append([]*dagger.Secret(nil), m.AuthSecrets...), secret)
	return &c
}

// WithGitlab takes the pipeline's context from GitLab's predefined variables
func (m *Shipyard) WithGitlab(
	// $CI_COMMIT_REF_NAME
	// +optional
	commitRefName string,
	// $CI_COMMIT_TAG
	// +optional
	commitTag string,
	// $CI_COMMIT_TAG_MESSAGE (a message means an annotated tag)
	// +optional
	commitTagMessage string,
	// $CI_DEFAULT_BRANCH
	// +default="main"
	defaultBranch string,
	// $CI_MERGE_REQUEST_IID: set for merge request pipelines
	// +optional
	mergeRequestIid string,
	// $CI_COMMIT_SHA
	// +optional
	commitSha string,
	// $CI_SERVER_URL, for the tag API
	// +optional
	serverUrl string,
	// $CI_PROJECT_ID, for the tag API
	// +optional
	projectId string,
	// env:CI_JOB_TOKEN, for the tag API (read only if git cannot tell the tag type)
	// +optional
	jobToken *dagger.Secret,
	// $CI_PIPELINE_ID (tags the ARM builder instance)
	// +optional
	pipelineId string,
	// $CI_JOB_ID (names the ARM builder's state file and tags its instance)
	// +optional
	jobId string,
	// $CI_PROJECT_NAME: names the project when neither --project nor shipyard.hcl does
	// +optional
	projectName string,
) *Shipyard {
	c := *m
	c.Ci = CiContext{
		Ref: commitRefName, Tag: commitTag, TagMessage: commitTagMessage, DefaultBranch: defaultBranch,
		MergeRequest: mergeRequestIid, Revision: commitSha, ServerURL: serverUrl, ProjectID: projectId,
		Token: jobToken, PipelineID: pipelineId, JobID: jobId,
	}
	c.withRepoName(projectName)
	return &c
}

// WithLatest sets how a release treats the latest tag
func (m *Shipyard) WithLatest(
	// auto (only forward, never to a pre-release), force or skip ($UPDATE_LATEST_STRATEGY)
	// +default="auto"
	updateLatestStrategy string,
	// annotated or lightweight, skipping tag type detection ($TAG_TYPE_OVERRIDE)
	// +optional
	tagTypeOverride string,
) *Shipyard {
	c := *m
	c.UpdateLatestStrategy, c.TagTypeOverride = updateLatestStrategy, tagTypeOverride
	return &c
}

// WithOldPipeline takes the old pipeline's variables that no other flag reads, so a project migrating from it keeps them: its switch for ARM on EC2, and its build directory on the instance, which has no meaning here (docs/gitlab-ci.md)
func (m *Shipyard) WithOldPipeline(
	// true builds the ARM images on the EC2 builder unless --arm-builder says where, and linux/arm64 unless --arm64 or --armv7 asks for ARM platforms; false or empty changes nothing ($E2C_USAGE)
	// +optional
	usage string,
	// The old pipeline's build directory on the instance: ignored with a warning, since the builder gets no copy of the project (its engine receives each build's context over SSH) ($E2C_BUILD_DIR)
	// +optional
	buildDir string,
) *Shipyard {
	c := *m
	c.E2cUsage, c.Ec2.BuildDir = usage, buildDir
	return &c
}

// WithBuildSecret gives a build secret a bake target asks for (secret = ["id=ID,env=…"]); Dockerfiles read it with RUN --mount=type=secret,id=ID
func (m *Shipyard) WithBuildSecret(
	// The bake secret id
	id string,
	// The value (env:NAME or file:PATH)
	secret *dagger.Secret,
) *Shipyard {
	c := *m
	c.BuildSecretIDs = append(append([]string(nil), m.BuildSecretIDs...), id)
	c.BuildSecrets = append(append([]*dagger.Secret(nil), m.BuildSecrets...), secret)
	return &c
}
