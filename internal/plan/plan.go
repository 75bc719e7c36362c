// Package plan turns a pipeline run's inputs (the ref, the settings and the evaluated bake
// targets) into the whole run as data: the stages in order, where every target × platform is
// built and why, the per-platform tags pushed, the indexes merged (with exactly the platforms
// that were built, wherever they were built), the copies to the release registry and the inputs
// of the latest decision.
//
// It is pure: no I/O, no Dagger client. The Dagger module executes a Plan and decides nothing;
// `plan` and `release --dry-run` print the same value.
package plan

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"shipyard/internal/attest"
	"shipyard/internal/bake"
	"shipyard/internal/enginever"
	"shipyard/internal/imageref"
	"shipyard/internal/latest"
	"shipyard/internal/naming"
	"shipyard/internal/rules"
	"shipyard/internal/tagtype"
	"shipyard/internal/version"
)

// The platforms this pipeline knows how to route.
const (
	AMD64 = "linux/amd64"
	ARM64 = "linux/arm64"
	ARMv7 = "linux/arm/v7"
)

// ARM builder settings (ARM_BUILDER).
const (
	// ARMQEMU builds ARM platforms under QEMU emulation on the local engine.
	ARMQEMU = "qemu"
	// ARMEC2 builds ARM platforms natively on an EC2 instance's Dagger engine.
	ARMEC2 = "ec2"
)

// Builder is where one target × platform is built.
type Builder string

// Where images are built.
const (
	// Local is the local engine, native.
	Local Builder = "local"
	// QEMU is the local engine under emulation.
	QEMU Builder = "qemu"
	// Remote is the ARM builder's own engine (the EC2 instance).
	Remote Builder = "remote"
)

// BuilderState is what is known about the remote ARM builder when planning.
type BuilderState string

// Remote builder states.
const (
	// BuilderPlanned: the builder has not been set up yet (plan, dry run, before setup).
	BuilderPlanned BuilderState = ""
	// BuilderReady: the builder's engine answers.
	BuilderReady BuilderState = "ready"
	// BuilderNoCapacity: EC2 had no capacity anywhere; ARM falls back to QEMU.
	BuilderNoCapacity BuilderState = "no-capacity"
	// BuilderFailed: the builder failed (lost or unreachable) and the fallback is QEMU.
	BuilderFailed BuilderState = "failed"
)

// Input is everything a run is planned from.
type Input struct {
	// Ref is the branch or tag the pipeline runs for.
	Ref rules.Ref
	// Only restricts the run to one stage ("" runs every stage the rules allow).
	Only string
	// Arm64 and Armv7 ask for linux/arm64 and linux/arm/v7 (BUILD_ARM64, BUILD_ARMV7).
	Arm64, Armv7 bool
	// ARMBuilder is ARMQEMU or ARMEC2 (ARM_BUILDER); "" is not set: ARMEC2 with E2CUsage "true",
	// else ARMQEMU.
	ARMBuilder string
	// E2CUsage is the old pipeline's switch for ARM on EC2 (E2C_USAGE): "true" fills in what
	// ARMBuilder, Arm64 and Armv7 leave unsaid (ChooseARM).
	E2CUsage string
	// EC2Notes are the warnings about the EC2 builder's settings (internal/e2c's Settings.Notes),
	// shown when the run's ARM images are built on EC2.
	EC2Notes []string
	// Builder is what is known about the remote builder (only used with ARMEC2).
	Builder BuilderState
	// BuilderWhy says why the builder is in its state (shown in the plan).
	BuilderWhy string
	// OnBuilderLoss is what follows the loss of the builder mid-build: LossQEMU (""), LossOnDemand
	// or LossFail.
	OnBuilderLoss string
	// BuilderRuns32Bit is nil until the builder was asked whether its CPU runs 32-bit ARM code;
	// its answer wins over BuilderCPU.
	BuilderRuns32Bit *bool
	// BuilderCPU is what the builder's instance type says about 32-bit ARM code before it is up.
	BuilderCPU BuilderCPU
	// Targets are the bake targets of the run, evaluated with Vars(…).
	Targets []*bake.Target
	// Engine is the platform of the engine that runs the pipeline: what bake's "local" is (the
	// zero value: bake.BuilderPlatform).
	Engine bake.Platform
	// PlatformTag is the per-platform tag form ("" = naming.DefaultPlatformTag).
	PlatformTag string
	// Project names the released images: <release registry>/<project>-<target>.
	Project string
	// ReleaseRegistry is the release registry's image prefix (RELEASE_REGISTRY_IMAGE).
	ReleaseRegistry string
	// LatestStrategy is auto, force or skip (UPDATE_LATEST_STRATEGY).
	LatestStrategy string
	// TagTypeOverride is "", annotated or lightweight (TAG_TYPE_OVERRIDE).
	TagTypeOverride string
	// Attest adds the SBOM, provenance and signing steps for every image (with-signing).
	Attest bool
	// SBOMFormat is the SBOM format of Attest: spdx-json ("") or cyclonedx-json.
	SBOMFormat string
	// BuildSecrets are the ids of the build secrets given to the run (with-build-secret).
	BuildSecrets []string
	// Scan adds the vulnerability gate (with-scan): every per-platform image is scanned after
	// the manifests stage merged it, and a blocking finding stops the run before release.
	Scan bool
	// ScanThreshold is the lowest severity that blocks, as the plan prints it (e.g. CRITICAL).
	ScanThreshold string
}

// Stage is one stage of the rules and whether this run executes it.
type Stage struct {
	Name rules.Stage `json:"name"`
	// Run is false for a stage the rules allow but another job runs (--only).
	Run bool `json:"run"`
}

// Build is one target × platform and where it is built.
type Build struct {
	Target   string  `json:"target"`
	Platform string  `json:"platform"`
	Builder  Builder `json:"builder"`
	Why      string  `json:"why"`
	// Push is the per-platform tag pushed to the build registry (host/repo:1.2.3-arm64).
	Push string `json:"push"`
	// Job is the GitLab job that builds it: JobBuild, or JobARMBuilder for an ARM platform with
	// ARM_BUILDER=ec2 (a one-call run does every job's work).
	Job string `json:"job"`
	// Annotations are the target's manifest annotations for this platform's image.
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Merge is one multi-platform index pushed under every tag of a target.
type Merge struct {
	Target string `json:"target"`
	// Tags are the index's references (the bake tags of the target).
	Tags []string `json:"tags"`
	// Platforms are exactly the platforms built for the target, in build order.
	Platforms []string `json:"platforms"`
	// Sources are the per-platform images merged, one per platform.
	Sources []string `json:"sources"`
	// Annotations are the target's index annotations (the pipeline adds its own version,
	// created, revision and source when the user's do not name them).
	Annotations map[string]string `json:"annotations,omitempty"`
	// Descriptors are the target's annotations of each source's entry in the index, by
	// position in Sources (nil when none).
	Descriptors []map[string]string `json:"descriptors,omitempty"`
}

// PipelineIndexAnnotations are the annotations the manifests stage writes on every index itself;
// a target's own index annotations may not name them.
var PipelineIndexAnnotations = []string{ocispec.AnnotationVersion, ocispec.AnnotationRevision, ocispec.AnnotationCreated}

// Copy is one index promoted by digest from the build registry to the release registry.
type Copy struct {
	Target string `json:"target"`
	// From is the merged index in the build registry (tag; resolved to a digest when released).
	From string `json:"from"`
	// To is the release repository, without tag.
	To string `json:"to"`
	// Tag is the version tag pushed.
	Tag string `json:"tag"`
}

// Latest is what the latest decision is taken from; the version behind latest is read when
// the release runs (or when a plan is printed with a release registry at hand).
type Latest struct {
	Tag             string          `json:"tag"`
	Strategy        latest.Strategy `json:"strategy"`
	TagTypeOverride tagtype.Type    `json:"tag_type_override,omitempty"`
	Repos           []string        `json:"repos"`
}

// Attestation is the supply-chain work of one stage for one image.
type Attestation struct {
	// Stage is the stage that does the work (build: per platform image; manifests: the index;
	// release: the copy and the check in the release registry).
	Stage  rules.Stage `json:"stage"`
	Target string      `json:"target"`
	// Platform is the per-platform image's platform; "" for the index.
	Platform string `json:"platform,omitempty"`
	// Image is the reference the steps are about.
	Image string   `json:"image"`
	Steps []string `json:"steps"`
}

// Scan is one image × platform the vulnerability gate scans, by digest.
type Scan struct {
	// Stage is the stage that runs the scan: manifests, right after its merges, so that in
	// GitLab the manifests job fails and the release job never starts, and a one-call run stops
	// before release.
	Stage    rules.Stage `json:"stage"`
	Target   string      `json:"target"`
	Platform string      `json:"platform"`
	// Image is the per-platform image, by tag; it is resolved to its digest when scanned.
	Image string `json:"image"`
	// FailOn is the lowest severity that blocks.
	FailOn string `json:"fail_on"`
}

// Plan is a whole run.
type Plan struct {
	Ref   string `json:"ref"`
	Tag   string `json:"tag,omitempty"`
	Rules string `json:"rules"`
	// ImageTag is the tag images get in the build registry (the version, or the branch slug).
	ImageTag string  `json:"image_tag"`
	Stages   []Stage `json:"stages"`
	// Platforms are the platforms asked for (what each target supports narrows them).
	Platforms []string `json:"platforms"`
	// ARMBuilder is the ARM builder setting; RemoteBuilder tells whether this run needs the
	// remote builder (set up before the build, torn down after it).
	ARMBuilder    string `json:"arm_builder"`
	RemoteBuilder bool   `json:"remote_builder"`
	// BuilderCPU is what the EC2 builder's instance type says about 32-bit ARM code, when it was
	// read before the run.
	BuilderCPU *BuilderCPU `json:"arm_builder_cpu,omitempty"`
	// BuildJobs are the GitLab jobs of the build stage this ref needs: JobBuild, and JobARMBuilder
	// when ARM platforms are built on EC2 (the .gitlab-ci.yml rules start exactly these).
	BuildJobs    []string      `json:"build_jobs,omitempty"`
	Builds       []Build       `json:"builds,omitempty"`
	Merges       []Merge       `json:"merges,omitempty"`
	Copies       []Copy        `json:"copies,omitempty"`
	Latest       *Latest       `json:"latest,omitempty"`
	Attestations []Attestation `json:"attestations,omitempty"`
	// Scans are the vulnerability gate's scans (with-scan) on the refs whose rules merge
	// manifests (staging and version tags).
	Scans []Scan `json:"scans,omitempty"`
	// Notes are lines the run prints as it starts (for example a fallback to QEMU).
	Notes []string `json:"notes,omitempty"`
}

// ErrInvalid is wrapped by every error about the inputs.
var ErrInvalid = errors.New("invalid pipeline settings")

// ImageTag is the tag images get in the build registry: the version tag, or the branch's slug.
func ImageTag(ref rules.Ref) string {
	if ref.Tag != "" {
		return ref.Tag
	}
	return naming.Slug(ref.Branch)
}

// BuiltinVar tells whether name is one of the variables the pipeline sets itself (TAG, REGISTRY,
// GIT_COMMIT): a bake file that does not declare one just does not use it, as buildx treats
// environment variables; any other name set must be declared.
func BuiltinVar(name string) bool {
	return name == "TAG" || name == "REGISTRY" || name == "GIT_COMMIT"
}

// Vars are the bake variables a run sets before its bake file is evaluated: TAG (ImageTag),
// REGISTRY (the build registry, when given), GIT_COMMIT (the revision, when given), then the
// user's own NAME=VALUE overrides, which win.
func Vars(ref rules.Ref, buildRegistry, revision string, set []string) []string {
	vars := []string{"TAG=" + ImageTag(ref)}
	if buildRegistry != "" {
		vars = append(vars, "REGISTRY="+buildRegistry)
	}
	if revision != "" {
		vars = append(vars, "GIT_COMMIT="+revision)
	}
	return append(vars, set...)
}

// Platforms are the platforms a run asks for: linux/amd64 always, then the ARM ones asked for.
func Platforms(arm64, armv7 bool) []string { return rules.Platforms(arm64, armv7) }

// Make plans a run. Every problem with the inputs is reported at once.
func Make(in Input) (*Plan, error) {
	rp, err := rules.For(in.Ref)
	if err != nil {
		return nil, err
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	stages := make([]Stage, 0, len(rp.Stages))
	for _, s := range rp.Stages {
		stages = append(stages, Stage{Name: s, Run: true})
	}
	if in.Only != "" {
		only, err := rules.ParseStage(in.Only)
		switch {
		case err != nil:
			bad("--only: %v", err)
		case !rp.Has(only):
			bad("--only: %v", rp.Require(only))
		default:
			for i := range stages {
				stages[i].Run = stages[i].Name == only
			}
		}
	}
	strategy, err := latest.ParseStrategy(in.LatestStrategy)
	if err != nil {
		bad("--update-latest-strategy (UPDATE_LATEST_STRATEGY): %v", err)
	}
	var override tagtype.Type
	if in.TagTypeOverride != "" {
		if override, err = tagtype.ParseType(in.TagTypeOverride); err != nil {
			bad("--tag-type-override (TAG_TYPE_OVERRIDE): %v", err)
		}
	}
	arm, err := ChooseARM(in.Arm64, in.Armv7, in.ARMBuilder, in.E2CUsage)
	if err != nil {
		bad("%v", err)
	}
	armBuilder := arm.Builder
	if armBuilder != ARMQEMU && armBuilder != ARMEC2 {
		bad("--arm-builder (ARM_BUILDER) %q: use qemu or ec2", in.ARMBuilder)
	}
	if err := checkLoss(in.OnBuilderLoss); err != nil {
		bad("%v", err)
	}
	if rp.Has(rules.Release) {
		if in.Project == "" {
			bad("the release stage needs --project (released images are <release-registry>/<project>-<target>)")
		}
		if in.ReleaseRegistry == "" && runs(stages, rules.Release) {
			bad("the release stage needs --release-registry (RELEASE_REGISTRY_IMAGE)")
		}
		if _, err := version.Parse(in.Ref.Tag); err != nil {
			bad("the release stage needs a version tag: %v", err)
		}
	}
	p := &Plan{
		Ref: refName(in.Ref), Tag: in.Ref.Tag, Rules: rp.Reason, ImageTag: ImageTag(in.Ref),
		Stages: stages, Platforms: Platforms(arm.Arm64, arm.Armv7), ARMBuilder: armBuilder,
	}
	p.BuildJobs = buildJobs(rp, armBuilder, p.Platforms)
	// what the old pipeline's variables decided or why they do nothing, where images are built
	if len(p.BuildJobs) > 0 && arm.Note != "" {
		p.Notes = append(p.Notes, arm.Note)
	}
	if slices.Contains(p.BuildJobs, JobARMBuilder) {
		p.Notes = append(p.Notes, in.EC2Notes...)
	}
	if armBuilder == ARMEC2 && in.BuilderCPU != (BuilderCPU{}) {
		cpu := in.BuilderCPU
		p.BuilderCPU = &cpu
	}
	needsImages := rp.Has(rules.Build) || rp.Has(rules.Manifests) || rp.Has(rules.Release)
	if needsImages {
		notes, aerrs := attributes(in)
		p.Notes = append(p.Notes, notes...)
		errs = append(errs, aerrs...)
	}
	if needsImages && len(errs) == 0 {
		if err := p.route(in, armBuilder); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w:\n%w", ErrInvalid, errors.Join(errs...))
	}
	if rp.Has(rules.Release) {
		p.release(in, strategy, override)
	}
	if in.Attest {
		p.attest(in)
	}
	if in.Scan && rp.Has(rules.Manifests) {
		for _, b := range p.Builds {
			p.Scans = append(p.Scans, Scan{Stage: rules.Manifests, Target: b.Target, Platform: b.Platform, Image: b.Push, FailOn: in.ScanThreshold})
		}
	}
	return p, nil
}

// ReleasedScans are the scans of the images a version tag released (`scan --tag`): each
// release copy's index, once per platform merged into it.
func (p *Plan) ReleasedScans(failOn string) []Scan {
	var out []Scan
	for _, c := range p.Copies {
		for _, m := range p.Merges {
			if m.Target != c.Target {
				continue
			}
			for _, pl := range m.Platforms {
				out = append(out, Scan{Stage: rules.Release, Target: c.Target, Platform: pl, Image: c.To + ":" + c.Tag, FailOn: failOn})
			}
		}
	}
	return out
}

func runs(stages []Stage, s rules.Stage) bool {
	for _, st := range stages {
		if st.Name == s && st.Run {
			return true
		}
	}
	return false
}

func refName(r rules.Ref) string {
	if r.Tag != "" {
		return r.Tag
	}
	return r.Branch
}

// route decides, for every target × platform, where it is built, and what is merged.
func (p *Plan) route(in Input, armBuilder string) error {
	matrix, err := bake.Matrix(in.Targets, p.Platforms, in.Engine)
	if err != nil {
		return err
	}
	byTarget := map[string]*Merge{}
	var order []string
	for _, e := range matrix {
		t := e.Target
		tags := t.Tags
		if len(tags) == 0 {
			return fmt.Errorf("target %s has no tags in the bake file: add tags = [\"REGISTRY/NAME:TAG\"]", t.Name)
		}
		anns, err := bake.ParseAnnotations(t.Annotations)
		if err != nil {
			return fmt.Errorf("target %s: %v", t.Name, err)
		}
		for _, a := range anns {
			if a.Place == bake.AnnotationIndex && slices.Contains(PipelineIndexAnnotations, a.Key) {
				return fmt.Errorf("target %s: the index annotation %s is the pipeline's own (the version tag, the commit and its time, which latest and provenance rely on); remove it from annotations",
					t.Name, a.Key)
			}
		}
		builder, why := p.builderFor(in, armBuilder, e.Platform)
		for _, tag := range tags[1:] {
			if _, err := imageref.ParseTagged(tag); err != nil {
				return fmt.Errorf("target %s: the bake tag: %v", t.Name, err)
			}
		}
		push, err := naming.PlatformRef(tags[0], in.PlatformTag, e.Platform)
		if err != nil {
			return fmt.Errorf("target %s: the bake tag: %v", t.Name, err)
		}
		p.Builds = append(p.Builds, Build{Target: t.Name, Platform: e.Platform, Builder: builder, Why: why, Push: push,
			Job: jobFor(armBuilder, e.Platform), Annotations: bake.AnnotationsAt(anns, bake.AnnotationManifest, e.Platform)})
		if builder == Remote {
			p.RemoteBuilder = true
		}
		m := byTarget[t.Name]
		if m == nil {
			m = &Merge{Target: t.Name, Tags: slices.Clone(tags), Annotations: bake.AnnotationsAt(anns, bake.AnnotationIndex, "")}
			byTarget[t.Name] = m
			order = append(order, t.Name)
		}
		m.Platforms = append(m.Platforms, e.Platform)
		m.Sources = append(m.Sources, push)
		m.Descriptors = append(m.Descriptors, bake.AnnotationsAt(anns, bake.AnnotationManifestDescriptor, e.Platform))
	}
	for _, m := range byTarget {
		if !slices.ContainsFunc(m.Descriptors, func(d map[string]string) bool { return d != nil }) {
			m.Descriptors = nil
		}
	}
	for _, name := range order {
		p.Merges = append(p.Merges, *byTarget[name])
	}
	switch {
	case armBuilder == ARMEC2 && !p.RemoteBuilder && hasARM(p.Platforms) && in.Builder == BuilderNoCapacity:
		p.Notes = append(p.Notes, "WARNING: the EC2 ARM builder has no capacity: ARM images are built with QEMU on the local engine")
	case armBuilder == ARMEC2 && !hasARM(p.Platforms):
		p.Notes = append(p.Notes, "ARM_BUILDER=ec2 but no ARM platform is asked for (BUILD_ARM64/BUILD_ARMV7): no builder is started")
	}
	return nil
}

func hasARM(platforms []string) bool {
	return slices.ContainsFunc(platforms, func(s string) bool { return s != AMD64 })
}

// builderFor routes one platform.
func (p *Plan) builderFor(in Input, armBuilder, platform string) (Builder, string) {
	if platform == AMD64 {
		return Local, "native on the local engine"
	}
	if armBuilder == ARMQEMU {
		return QEMU, "ARM_BUILDER=qemu: emulated on the local engine"
	}
	switch in.Builder {
	case BuilderNoCapacity:
		return QEMU, "no EC2 capacity for the ARM builder: emulated on the local engine instead"
	case BuilderFailed:
		why := "the EC2 ARM builder failed"
		if in.BuilderWhy != "" {
			why += " (" + in.BuilderWhy + ")"
		}
		return QEMU, why + ": emulated on the local engine instead"
	}
	if platform == ARMv7 {
		return armv7Route(in)
	}
	return Remote, "native on the EC2 ARM builder's engine"
}

// armv7Route routes linux/arm/v7 with a builder that is up or planned: the builder's own answer
// once it was asked, else what its instance type says (Graviton 3 and later have no 32-bit
// mode, so QEMU here builds it and nothing waits for the builder), else the builder is asked
// when it is up.
func armv7Route(in Input) (Builder, string) {
	if in.BuilderRuns32Bit != nil {
		if !*in.BuilderRuns32Bit {
			return QEMU, "the EC2 ARM builder's CPU cannot run 32-bit ARM code: emulated on the local engine"
		}
		return Remote, "native on the EC2 ARM builder's engine"
	}
	cpu := in.BuilderCPU
	runs, known := cpu.Says()
	switch {
	case known && !runs:
		return QEMU, fmt.Sprintf("the EC2 ARM builder is %s, as %s says: Graviton 3 and later have no 32-bit mode (no AArch32 at EL0): emulated on the local engine", cpu.Describe(), cpu.From)
	case known:
		return Remote, fmt.Sprintf("native on the EC2 ARM builder's engine: it is %s, as %s says, which runs 32-bit ARM code (checked again when it is up; else QEMU here)", cpu.Describe(), cpu.From)
	}
	why := "native on the EC2 ARM builder's engine if its CPU runs 32-bit ARM code (checked when it is up; else QEMU here)"
	if cpu.Unknown != "" {
		why += "; its instance type says nothing before it is up: " + cpu.Unknown
	}
	return Remote, why
}

// ARMv7Pending tells whether any of builds is linux/arm/v7 routed to the builder before its
// instance type was read: reading it may route them to QEMU at once.
func ARMv7Pending(in Input, builds []Build) bool {
	if in.BuilderRuns32Bit != nil || in.BuilderCPU != (BuilderCPU{}) {
		return false
	}
	return slices.ContainsFunc(builds, func(b Build) bool { return b.Platform == ARMv7 && b.Builder == Remote })
}

// release adds the copies and the latest inputs.
func (p *Plan) release(in Input, strategy latest.Strategy, override tagtype.Type) {
	l := &Latest{Tag: in.Ref.Tag, Strategy: strategy, TagTypeOverride: override}
	for _, m := range p.Merges {
		to := naming.ReleaseRepo(in.ReleaseRegistry, in.Project, m.Target)
		p.Copies = append(p.Copies, Copy{Target: m.Target, From: m.Tags[0], To: to, Tag: in.Ref.Tag})
		l.Repos = append(l.Repos, to)
	}
	p.Latest = l
}

// Runs reports whether this run executes stage s.
func (p *Plan) Runs(s rules.Stage) bool { return runs(p.Stages, s) }

// Has reports whether the rules include stage s for this ref (whichever job runs it).
func (p *Plan) Has(s rules.Stage) bool {
	return slices.ContainsFunc(p.Stages, func(st Stage) bool { return st.Name == s })
}

// BuildsOn returns the builds routed to builder b.
func (p *Plan) BuildsOn(b Builder) []Build {
	var out []Build
	for _, bd := range p.Builds {
		if bd.Builder == b {
			out = append(out, bd)
		}
	}
	return out
}

// StageNames renders the stages this run executes, in order.
func (p *Plan) StageNames() string {
	var names []string
	for _, s := range p.Stages {
		if s.Run {
			names = append(names, string(s.Name))
		}
	}
	return strings.Join(names, ", ")
}

// attributes reports, for the bake attributes the pipeline replaces, what replaces them, and
// refuses what the engine cannot do.
func attributes(in Input) (notes []string, errs []error) {
	have := map[string]bool{}
	for _, id := range in.BuildSecrets {
		have[id] = true
	}
	for _, t := range in.Targets {
		if len(t.SSH) > 0 {
			errs = append(errs, fmt.Errorf("target %s: ssh is not supported by the Dagger engine %s's Dockerfile builds: fetch private sources before the build (a named context) or use a build secret", t.Name, enginever.Version))
		}
		if t.Call != "" && t.Call != "build" {
			errs = append(errs, fmt.Errorf("target %s: call = %q is not supported (the pipeline builds images): remove it, or run that check in the lint stage", t.Name, t.Call))
		}
		for _, s := range t.Secrets {
			if !have[s.ID] {
				from := "env=" + s.Env
				if s.Src != "" {
					from = "src=" + s.Src
				}
				errs = append(errs, fmt.Errorf("target %s needs the build secret %q (bake: %s): pass with-build-secret --id=%s --secret=env:NAME (or file:PATH); in GitLab, add %s=VARIABLE to SHIPYARD_BUILD_SECRETS", t.Name, s.ID, from, s.ID, s.ID))
			}
		}
		if len(t.CacheFrom) > 0 || len(t.CacheTo) > 0 {
			notes = append(notes, fmt.Sprintf("target %s: cache-from/cache-to are replaced by the engine's own cache (share it between CI jobs with _EXPERIMENTAL_DAGGER_CACHE_CONFIG, docs/ci-cache.md)", t.Name))
		}
		if len(t.Outputs) > 0 {
			notes = append(notes, fmt.Sprintf("target %s: output is replaced by the pipeline's push of every platform to the build registry", t.Name))
		}
		if t.NoCache || len(t.NoCacheFilter) > 0 {
			notes = append(notes, fmt.Sprintf("target %s: no-cache: the engine's cache is content-addressed and cannot be skipped per build in %s; change an input (e.g. a build arg) to rebuild", t.Name, enginever.Version))
		}
		if t.Pull {
			notes = append(notes, fmt.Sprintf("target %s: pull: the engine resolves every base image tag again on each run", t.Name))
		}
		if len(t.Attest) > 0 {
			notes = append(notes, fmt.Sprintf("target %s: attest is replaced by the pipeline's own SBOM and provenance (when enabled)", t.Name))
		}
		if t.Network != "" || len(t.Entitlements) > 0 || len(t.ExtraHosts) > 0 || t.ShmSize != "" || len(t.Ulimits) > 0 {
			notes = append(notes, fmt.Sprintf("target %s: network, entitlements, extra-hosts, shm-size and ulimits are not applied by the engine's Dockerfile builds", t.Name))
		}
	}
	return notes, errs
}

// attest lists the supply-chain steps: each per-platform image gets its SBOM and SLSA
// provenance (as signed attestations and OCI referrers) and a signature where it is built;
// each index a signature where it is merged; the release copies them with the index and
// verifies them in the release registry before latest is decided.
func (p *Plan) attest(in Input) {
	format := cmp.Or(in.SBOMFormat, attest.FormatSPDX)
	for _, b := range p.Builds {
		p.Attestations = append(p.Attestations, Attestation{Stage: rules.Build, Target: b.Target, Platform: b.Platform, Image: b.Push,
			Steps: []string{"sbom " + format, "slsa provenance v1", "sign"}})
	}
	for _, m := range p.Merges {
		p.Attestations = append(p.Attestations, Attestation{Stage: rules.Manifests, Target: m.Target, Image: m.Tags[0],
			Steps: []string{"sign the index"}})
	}
	for _, c := range p.Copies {
		p.Attestations = append(p.Attestations, Attestation{Stage: rules.Release, Target: c.Target, Image: c.To + ":" + c.Tag,
			Steps: []string{"copy signatures, attestations and referrers", "verify signature, sbom and provenance of the revision"}})
	}
}
