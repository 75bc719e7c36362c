package attest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"shipyard/internal/imageref"
)

// BuildType is the SLSA buildType of an image built by this module from a
// bake target; docs/supply-chain.md describes its parameters.
const BuildType = "urn:shipyard:buildtype:bake-target:v1"

// ErrBadBuild means the description of a build lacks what provenance needs.
var ErrBadBuild = errors.New("incomplete build description for provenance")

// Build describes one per-platform image build: everything its provenance says.
type Build struct {
	// Image is the image name (host/path, no tag) and Digest the sha256
	// digest of its per-platform manifest: the statement's subject.
	Image, Digest string
	// Module is the address this module was loaded from (e.g. the git
	// address with @version dagger was given); EngineVersion the engine's
	// version (e.g. v0.19.10). Both make up the builder id.
	Module, ModuleVersion, EngineVersion string
	// Repository is the source repository's URI (e.g. git+https://host/group/app)
	// and Revision the full commit id built.
	Repository, Revision string
	// Target is the bake target, Platform the platform built (os/arch[/variant]).
	Target, Platform string
	// BuildArgs are the build arguments the target was built with. They are
	// published: secrets belong in bake secrets, never in build args.
	BuildArgs map[string]string
	// BaseImages are the images the build started from, resolved to digests.
	BaseImages []BaseImage
	// InvocationID identifies the run (e.g. the CI pipeline and job URL or ids).
	InvocationID string
	// StartedOn and FinishedOn bound the build.
	StartedOn, FinishedOn time.Time
}

// BaseImage is an image a build started from (a Dockerfile FROM), as written
// and as resolved.
type BaseImage struct {
	// Ref is the reference as the build named it, e.g. debian:bookworm-slim.
	Ref string
	// Digest is the sha256 digest it resolved to for the platform built.
	Digest string
}

// Provenance is the SLSA v1 provenance predicate.
type Provenance struct {
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	RunDetails      RunDetails      `json:"runDetails"`
}

// BuildDefinition says what was built, from what.
type BuildDefinition struct {
	BuildType            string               `json:"buildType"`
	ExternalParameters   ExternalParameters   `json:"externalParameters"`
	ResolvedDependencies []ResourceDescriptor `json:"resolvedDependencies"`
}

// ExternalParameters are the inputs of a bake-target build (BuildType).
type ExternalParameters struct {
	Source    Source            `json:"source"`
	Target    string            `json:"target"`
	Platform  string            `json:"platform"`
	BuildArgs map[string]string `json:"buildArgs,omitempty"`
}

// Source is the repository and revision built.
type Source struct {
	Repository string `json:"repository"`
	Revision   string `json:"revision"`
}

// ResourceDescriptor is an artifact the build used, with its digest.
type ResourceDescriptor struct {
	URI    string            `json:"uri"`
	Name   string            `json:"name,omitempty"`
	Digest map[string]string `json:"digest"`
}

// RunDetails says who built it, when.
type RunDetails struct {
	Builder  Builder  `json:"builder"`
	Metadata Metadata `json:"metadata"`
}

// Builder identifies the build platform: this module on its engine.
type Builder struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version,omitempty"`
}

// Metadata is the run's id and time span.
type Metadata struct {
	InvocationID string `json:"invocationId,omitempty"`
	StartedOn    string `json:"startedOn"`
	FinishedOn   string `json:"finishedOn"`
}

// ProvenanceStatement returns the in-toto statement (SLSA v1 predicate) of
// b. The JSON is deterministic: the same build gives the same bytes (map keys
// sorted, base images sorted, times in UTC to the second).
func ProvenanceStatement(b Build) ([]byte, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	deps := []ResourceDescriptor{{
		URI:    b.Repository + "@" + b.Revision,
		Name:   "source",
		Digest: map[string]string{"gitCommit": b.Revision},
	}}
	var bases []ResourceDescriptor
	for _, base := range b.BaseImages {
		hex, _ := SHA256Hex(base.Digest)   // checked
		ref, _ := imageref.Parse(base.Ref) // checked
		bases = append(bases, ResourceDescriptor{URI: imagePURL(ref, b.Platform), Name: base.Ref, Digest: map[string]string{"sha256": hex}})
	}
	slices.SortFunc(bases, func(x, y ResourceDescriptor) int {
		return strings.Compare(x.URI+x.Digest["sha256"], y.URI+y.Digest["sha256"])
	})
	bases = slices.CompactFunc(bases, func(x, y ResourceDescriptor) bool { return x.URI == y.URI && x.Digest["sha256"] == y.Digest["sha256"] })
	version := map[string]string{"dagger-engine": b.EngineVersion}
	if b.ModuleVersion != "" {
		version["shipyard"] = b.ModuleVersion
	}
	var args map[string]string
	if len(b.BuildArgs) > 0 {
		args = b.BuildArgs
	}
	pred, err := json.Marshal(Provenance{
		BuildDefinition: BuildDefinition{
			BuildType: BuildType,
			ExternalParameters: ExternalParameters{
				Source:    Source{Repository: b.Repository, Revision: b.Revision},
				Target:    b.Target,
				Platform:  b.Platform,
				BuildArgs: args,
			},
			ResolvedDependencies: append(deps, bases...),
		},
		RunDetails: RunDetails{
			Builder: Builder{ID: BuilderID(b.Module, b.EngineVersion), Version: version},
			Metadata: Metadata{
				InvocationID: b.InvocationID,
				StartedOn:    b.StartedOn.UTC().Format(time.RFC3339),
				FinishedOn:   b.FinishedOn.UTC().Format(time.RFC3339),
			},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("encoding the provenance of %s: %w", b.Target, err)
	}
	return NewStatement(b.Image, b.Digest, PredicateSLSA1, pred)
}

// BuilderID names this module (as loaded) on its engine version:
// "<module>#dagger-<engine version>".
func BuilderID(module, engineVersion string) string {
	return module + "#dagger-" + engineVersion
}

// SourceRepository is the Repository of a build: the source's URL (the bake file's SOURCE_URL,
// else the checkout's origin) as git+URL, else, with no URL, the project as
// urn:shipyard:project:<project>.
func SourceRepository(url, project string) string {
	if url != "" {
		return "git+" + url
	}
	return "urn:shipyard:project:" + project
}

// GitLabInvocation is the InvocationID of a build in GitLab CI job jobID of pipeline
// pipelineID: gitlab:pipeline/<pipeline>/job/<job>; "" outside CI (neither is known).
func GitLabInvocation(pipelineID, jobID string) string {
	if pipelineID == "" && jobID == "" {
		return ""
	}
	return "gitlab:pipeline/" + pipelineID + "/job/" + jobID
}

// check names the first missing or malformed field of b.
func (b Build) check() error {
	for _, f := range []struct{ value, field, hint string }{
		{b.Image, "Image", "the image name, host/path"},
		{b.Module, "Module", "the address the module was loaded from"},
		{b.EngineVersion, "EngineVersion", "the Dagger engine's version"},
		{b.Repository, "Repository", "the source repository's URI, e.g. git+https://host/group/app"},
		{b.Target, "Target", "the bake target"},
		{b.Platform, "Platform", "os/arch[/variant]"},
	} {
		if f.value == "" {
			return fmt.Errorf("%w: %s is empty (%s)", ErrBadBuild, f.field, f.hint)
		}
	}
	if _, err := SHA256Hex(b.Digest); err != nil {
		return fmt.Errorf("%w: Digest of %s [%s]: %v", ErrBadBuild, b.Target, b.Platform, err)
	}
	if !isCommit(b.Revision) {
		return fmt.Errorf("%w: Revision %q is not a full commit id (40 or 64 lower-case hex digits); pass the commit built, not a branch or tag", ErrBadBuild, b.Revision)
	}
	if _, err := imageref.ParseRepo(b.Image); err != nil {
		return fmt.Errorf("%w: Image of %s [%s]: %v", ErrBadBuild, b.Target, b.Platform, err)
	}
	for _, base := range b.BaseImages {
		if _, err := SHA256Hex(base.Digest); err != nil || base.Ref == "" {
			return fmt.Errorf("%w: base image %q of %s has no resolved digest (%q): resolve every FROM to its sha256 digest", ErrBadBuild, base.Ref, b.Target, base.Digest)
		}
		if _, err := imageref.Parse(base.Ref); err != nil {
			return fmt.Errorf("%w: base image of %s: %v", ErrBadBuild, b.Target, err)
		}
	}
	if b.StartedOn.IsZero() || b.FinishedOn.Before(b.StartedOn) {
		return fmt.Errorf("%w: the build of %s [%s] must have a start time and finish after it (started %s, finished %s)", ErrBadBuild, b.Target, b.Platform, b.StartedOn.Format(time.RFC3339), b.FinishedOn.Format(time.RFC3339))
	}
	return nil
}

func isCommit(rev string) bool {
	return (len(rev) == 40 || len(rev) == 64) && strings.Trim(rev, "0123456789abcdef") == ""
}

// imagePURL names an image reference as a package URL, as BuildKit's
// provenance does: pkg:docker/<repository>@<tag, else digest, else latest>?platform=<os/arch>.
func imagePURL(ref imageref.Ref, platform string) string {
	version := ref.Tag
	if version == "" {
		version = ref.Digest
	}
	if version == "" {
		version = imageref.DefaultTag
	}
	return "pkg:docker/" + ref.Repo() + "@" + version + "?platform=" + url.QueryEscape(platform)
}

// SourceOf returns the source repository and revision a provenance
// statement (the statement's JSON) records, after checking its predicate type.
func SourceOf(statement Statement) (Source, error) {
	if statement.PredicateType != PredicateSLSA1 {
		return Source{}, fmt.Errorf("predicate type %q is not SLSA provenance v1 (%s)", statement.PredicateType, PredicateSLSA1)
	}
	var p Provenance
	if err := json.Unmarshal(statement.Predicate, &p); err != nil {
		return Source{}, fmt.Errorf("the SLSA provenance predicate cannot be read: %w", err)
	}
	src := p.BuildDefinition.ExternalParameters.Source
	for _, d := range p.BuildDefinition.ResolvedDependencies {
		if c := d.Digest["gitCommit"]; c != "" && c != src.Revision {
			return Source{}, fmt.Errorf("the provenance is inconsistent: source revision %s but resolved dependency %s has commit %s", src.Revision, d.URI, c)
		}
	}
	return src, nil
}
