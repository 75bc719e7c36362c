package main

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"shipyard/ci/internal/dagger"
	"shipyard/internal/attest"
	attestreg "shipyard/internal/attest/registry"
	"shipyard/internal/bake"
	"shipyard/internal/dockerctx"
	"shipyard/internal/imageref"
	"shipyard/internal/plan"
	"shipyard/internal/promote"
	"shipyard/internal/registry"
	"shipyard/internal/scan"
	"shipyard/internal/vcs"
)

// moduleID names this module in the provenance's builder id.
const moduleID = "urn:shipyard:dagger-module"

// WithSigning signs every image of the release in cosign's format, with its SBOM and SLSA provenance attached as signed attestations and OCI 1.1 referrers; the release copies them and verifies them before latest moves
func (m *Shipyard) WithSigning(
	// The cosign private key (env:COSIGN_PRIVATE_KEY or file:cosign.key): cosign's encrypted format or a PKCS#8 / EC PEM key
	key *dagger.Secret,
	// The key's password (env:COSIGN_PASSWORD); none for an unencrypted key
	// +optional
	password *dagger.Secret,
	// SBOM format: spdx-json or cyclonedx-json
	// +default="spdx-json"
	sbomFormat string,
) (*Shipyard, error) {
	if _, _, err := attest.SBOMFormat(sbomFormat); err != nil {
		return nil, err
	}
	c := *m
	c.SigningKey, c.SigningPassword, c.SbomFormat = key, password, sbomFormat
	return &c, nil
}

// signer reads the signing key (only when a stage signs).
func (m *Shipyard) signer(ctx context.Context) (*attest.Signer, error) {
	key, err := m.SigningKey.Plaintext(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the signing key secret: %v", err)
	}
	var pw string
	if m.SigningPassword != nil {
		if pw, err = m.SigningPassword.Plaintext(ctx); err != nil {
			return nil, fmt.Errorf("reading the signing key's password secret: %v", err)
		}
	}
	s, err := attest.ParseSigner([]byte(key), []byte(pw))
	if err != nil {
		return nil, fmt.Errorf("the signing key (with-signing --key): %v", err)
	}
	return s, nil
}

// supplyChain is one run's signer and attachment client, made once and shared by the stages.
type supplyChain struct {
	once   sync.Once
	err    error
	signer *attest.Signer
	client *attestreg.Client
	digest func(ctx context.Context, ref string) (string, error)
}

func (r *run) chain(ctx context.Context) (*supplyChain, error) {
	sc := &r.sc
	sc.once.Do(func() {
		reg, err := r.m.registry(ctx)
		if err != nil {
			sc.err = err
			return
		}
		if sc.signer, err = r.m.signer(ctx); err != nil {
			sc.err = err
			return
		}
		sc.client = attestClient(reg)
		sc.digest = reg.Digest
	})
	return sc, sc.err
}

// preflightSigning reads the signing key before any stage runs, so a wrong key or password
// fails the call before anything is built or pushed.
func (r *run) preflightSigning(ctx context.Context) error {
	if !r.in.Attest || r.dryRun {
		return nil
	}
	if _, err := r.chain(ctx); err != nil {
		return fmt.Errorf("preflight: %v (nothing was built or pushed)", err)
	}
	return nil
}

// attestClient reads and writes signatures, attestations and referrers through the same
// transport, tunnels and credentials as the pipeline's registry client.
func attestClient(reg *registry.Client) *attestreg.Client {
	return attestreg.New(attestreg.WithClient(reg))
}

// attestBuilds gives every per-platform image of builds, already pushed, its SBOM and provenance
// (signed attestations and referrers) and its signature, all at once. started bounds the builds.
func (r *run) attestBuilds(ctx context.Context, builds []plan.Build, started time.Time) error {
	if len(builds) == 0 {
		return nil
	}
	at, err := r.attester(ctx, started)
	if err != nil || at == nil {
		return err
	}
	finished := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	for _, b := range builds {
		g.Go(func() error { return at.attest(gctx, b, "", finished) })
	}
	return g.Wait()
}

// attester is what every image's supply chain in one stage shares: the signer and registry
// client, the revision, the engine's version and the SBOM tool. Its attest runs per image, as
// soon as that image is pushed, while the other images still build and push.
type attester struct {
	r       *run
	sc      *supplyChain
	rev     string
	engine  string
	tool    *dagger.Container
	started time.Time
}

// attester prepares the stage's supply chain; nil when the stage attests nothing (signing off,
// or a dry run).
func (r *run) attester(ctx context.Context, started time.Time) (*attester, error) {
	if !r.in.Attest || r.dryRun {
		return nil, nil
	}
	sc, err := r.chain(ctx)
	if err != nil {
		return nil, err
	}
	rev, err := r.revision(ctx)
	if err != nil {
		return nil, err
	}
	engine, err := dag.Version(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the engine's version: %v", err)
	}
	return &attester{r: r, sc: sc, rev: rev, engine: engine, tool: sbomTool(), started: started}, nil
}

// attest writes what the image of b (pushed as digest; empty: read from the registry), finished
// at finished, lacks of its supply chain.
func (at *attester) attest(ctx context.Context, b plan.Build, digest string, finished time.Time) error {
	r, sc, rev, engine, tool, started := at.r, at.sc, at.rev, at.engine, at.tool, at.started
	ctx, span := Tracer().Start(ctx, fmt.Sprintf("attest %s [%s]", b.Target, b.Platform))
	defer span.End()
	if digest == "" {
		var err error
		if digest, err = sc.digest(ctx, b.Push); err != nil {
			return fmt.Errorf("attest %s [%s]: the pushed image %s: %v", b.Target, b.Platform, b.Push, err)
		}
	}
	pushed, err := imageref.Parse(b.Push)
	if err != nil {
		return fmt.Errorf("attest %s [%s]: %v", b.Target, b.Platform, err)
	}
	repo, ref := pushed.Repo(), pushed.AtDigest(digest).String()
	artifact, predicate, _ := attest.SBOMFormat(r.m.SbomFormat)
	var done attest.Done
	if err := step(ctx, "what the registry already holds", func(ctx context.Context) error {
		ev, err := sc.client.Evidence(ctx, ref, ref)
		done = attest.AlreadyDone(ev, sc.signer.Public(), artifact, predicate, rev)
		return err
	}); err != nil {
		return fmt.Errorf("attest %s [%s]: reading what %s already carries: %v", b.Target, b.Platform, ref, err)
	}
	if done.All() {
		r.logf("attested %s [%s] %s: already (%s SBOM, SLSA provenance of %s, signature, from an earlier build of this digest); nothing written", b.Target, b.Platform, ref, r.m.SbomFormat, rev[:12])
		return nil
	}
	var wrote []string
	if done.SBOM {
		wrote = append(wrote, r.m.SbomFormat+" SBOM of this digest already attested, not computed again")
	} else {
		var sbom []byte
		if err := step(ctx, "sbom (syft)", func(ctx context.Context) (err error) {
			sbom, err = r.sbom(ctx, tool, b, ref)
			return err
		}); err != nil {
			return err
		}
		statement, err := attest.NewStatement(repo, digest, predicate, sbom)
		if err != nil {
			return fmt.Errorf("attest %s [%s]: %v", b.Target, b.Platform, err)
		}
		if err := step(ctx, "SBOM referrer and signed attestation", func(ctx context.Context) error {
			if _, err := sc.client.Attach(ctx, ref, artifact, sbom); err != nil {
				return err
			}
			_, err := sc.client.Attest(ctx, ref, sc.signer, statement)
			return err
		}); err != nil {
			return err
		}
		wrote = append(wrote, r.m.SbomFormat+" SBOM")
	}
	if !done.Provenance {
		var bases []attest.BaseImage
		if err := step(ctx, "base images", func(ctx context.Context) (err error) {
			bases, err = r.baseImages(ctx, b)
			return err
		}); err != nil {
			return err
		}
		prov, err := attest.ProvenanceStatement(attest.Build{
			Image: repo, Digest: digest, Module: moduleID, EngineVersion: engine,
			Repository: r.sourceRepository(ctx), Revision: rev, Target: b.Target, Platform: b.Platform,
			BuildArgs: r.target(b.Target).Args, BaseImages: bases, InvocationID: attest.GitLabInvocation(r.ci.PipelineID, r.ci.JobID),
			StartedOn: started, FinishedOn: finished,
		})
		if err != nil {
			return fmt.Errorf("attest %s [%s]: %v", b.Target, b.Platform, err)
		}
		if err := step(ctx, "provenance referrer and signed attestation", func(ctx context.Context) error {
			if _, err := sc.client.Attach(ctx, ref, attest.ArtifactProvenance, prov); err != nil {
				return err
			}
			_, err := sc.client.Attest(ctx, ref, sc.signer, prov)
			return err
		}); err != nil {
			return err
		}
		wrote = append(wrote, "SLSA provenance of "+rev[:12])
	}
	if !done.Signature {
		if err := step(ctx, "signature", func(ctx context.Context) error {
			_, err := sc.client.Sign(ctx, ref, sc.signer)
			return err
		}); err != nil {
			return err
		}
		wrote = append(wrote, "signed")
	}
	r.logf("attested %s [%s] %s: %s", b.Target, b.Platform, ref, strings.Join(wrote, ", "))
	return nil
}

// step runs fn in a child span named name, so the progress shows where a step's time goes.
func step(ctx context.Context, name string, fn func(context.Context) error) error {
	ctx, span := Tracer().Start(ctx, name)
	defer span.End()
	return fn(ctx)
}

// sbomTool is syft's published image (attest.SyftImage).
func sbomTool() *dagger.Container {
	return dag.Container().From(attest.SyftImage).
		WithEnvVariable("SYFT_CHECK_FOR_APP_UPDATE", "false")
}

// sbom catalogues the file system of the pushed image ref (pulled by digest, so what is
// described is what was pushed, wherever it was built).
func (r *run) sbom(ctx context.Context, tool *dagger.Container, b plan.Build, ref string) ([]byte, error) {
	pinned, err := imageref.ParsePinned(ref)
	if err != nil {
		return nil, fmt.Errorf("attest %s [%s]: %v", b.Target, b.Platform, err)
	}
	img := dag.Container(dagger.ContainerOpts{Platform: dagger.Platform(b.Platform)}).From(ref)
	const out = "/sbom/sbom.json"
	sbom, err := tool.WithMountedDirectory("/image", img.Rootfs()).
		WithDirectory(path.Dir(out), dag.Directory()).
		WithExec(append([]string{attest.SyftBinary, "scan", "dir:/image"}, attest.SyftImageArgs(r.m.SbomFormat, out, pinned.Repo(), pinned.Digest)...)).
		File(out).Contents(ctx)
	if err != nil {
		return nil, fmt.Errorf("attest %s [%s]: the SBOM (syft): %s", b.Target, b.Platform, execOutput(err))
	}
	return []byte(sbom), nil
}

// baseImages resolves, as the engine does for the build, the images the target's Dockerfile
// starts from.
func (r *run) baseImages(ctx context.Context, b plan.Build) ([]attest.BaseImage, error) {
	t := r.target(b.Target)
	df, err := r.m.dockerfile(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("attest: %v", err)
	}
	var out []attest.BaseImage
	for _, ref := range dockerctx.BaseImages(df, t.Target, t.Args) {
		if img, ok := strings.CutPrefix(t.Contexts[ref], "docker-image://"); ok {
			ref = img
		} else if _, named := t.Contexts[ref]; named {
			continue // a target or directory context: built here, not a base image
		}
		resolved, err := dag.Container(dagger.ContainerOpts{Platform: dagger.Platform(b.Platform)}).From(ref).ImageRef(ctx)
		if err != nil {
			return nil, fmt.Errorf("attest %s [%s]: resolving the base image %s: %v", b.Target, b.Platform, ref, err)
		}
		pinned, err := imageref.ParsePinned(resolved)
		if err != nil {
			return nil, fmt.Errorf("attest %s [%s]: the base image %s resolved to %q: %v", b.Target, b.Platform, ref, resolved, err)
		}
		out = append(out, attest.BaseImage{Ref: ref, Digest: pinned.Digest})
	}
	return out, nil
}

// signIndex signs a merged index (by digest).
func (r *run) signIndex(ctx context.Context, target, ref string) error {
	if !r.in.Attest || r.dryRun {
		return nil
	}
	sc, err := r.chain(ctx)
	if err != nil {
		return err
	}
	if _, err := sc.client.Sign(ctx, ref, sc.signer); err != nil {
		return fmt.Errorf("manifests %s: %v", target, err)
	}
	r.logf("signed %s %s", target, ref)
	return nil
}

// carryAttestations is the release's AfterCopy: every image's signatures, attestations and
// referrers (its index's and its platform manifests') are copied by digest with it, then
// verified in the release registry; latest is decided only when every image passed.
func (r *run) carryAttestations() func(context.Context, []promote.Released) error {
	if !r.in.Attest {
		return nil
	}
	return func(ctx context.Context, released []promote.Released) error {
		sc, err := r.chain(ctx)
		if err != nil {
			return err
		}
		for _, rl := range released {
			to, err := imageref.Parse(rl.Ref)
			if err != nil {
				return fmt.Errorf("release %s: %v", rl.Name, err)
			}
			dest := to.Repo()
			n, err := sc.client.Copy(ctx, rl.Source, dest)
			if err != nil {
				return fmt.Errorf("release %s: %v", rl.Name, err)
			}
			r.logf("copied the supply chain of %s to %s: %d cosign tag(s), %d referrer(s) written", rl.Name, dest, n.Tags, n.Referrers)
		}
		// with-scan asked for the gate: an image without a passing signed scan is not released
		v, _, err := r.m.gateRequirement()
		if err != nil {
			return err
		}
		return r.verifyReleased(ctx, sc.client, sc.signer.Public(), released, v)
	}
}

// scanRequirement is what verification asks of the vulnerability scan: a signed attestation
// (require), re-checked at failOn when set.
type scanRequirement struct {
	require bool
	failOn  string
}

// verifyReleased checks every released image in the release registry.
func (r *run) verifyReleased(ctx context.Context, c *attestreg.Client, key *ecdsa.PublicKey, released []promote.Released, v scanRequirement) error {
	rev, err := r.revision(ctx)
	if err != nil {
		return err
	}
	p := attest.Policy{Key: key, SBOM: true, Revision: rev, Referrers: true, Scan: v.require, ScanFailOn: v.failOn}
	scanned := ""
	switch {
	case v.failOn != "":
		scanned = ", a signed vulnerability scan that passes at " + strings.ToUpper(v.failOn)
	case v.require:
		scanned = ", a signed vulnerability scan"
	}
	var errs []string
	for _, rl := range released {
		if err := c.Verify(ctx, rl.Ref, p); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		r.logf("verified %s: signed, SBOM and SLSA provenance of %s%s on every platform", rl.Ref, rev[:12], scanned)
	}
	if len(errs) > 0 {
		return fmt.Errorf("verification failed:\n%s", strings.Join(errs, "\n"))
	}
	return nil
}

// revision is the full commit being built and released: $CI_COMMIT_SHA, else the checkout's HEAD.
func (r *run) revision(ctx context.Context) (string, error) {
	if r.ci.Revision != "" {
		return r.ci.Revision, nil
	}
	dir, err := r.m.gitDirOnDisk(ctx)
	if err != nil {
		return "", fmt.Errorf("the provenance needs the commit built: pass with-gitlab --commit-sha, or a checkout with its .git (%v)", err)
	}
	head, err := vcs.Repo{GitDir: dir}.Head(ctx)
	if err != nil {
		return "", fmt.Errorf("the provenance needs the commit built: reading the checkout's HEAD failed (%v): pass with-gitlab --commit-sha", err)
	}
	r.ci.Revision = head
	return r.ci.Revision, nil
}

// sourceRepository names the source in the provenance (attest.SourceRepository): the bake
// file's SOURCE_URL, else the checkout's origin remote, else the project.
func (r *run) sourceRepository(ctx context.Context) string {
	url := r.file.Variables["SOURCE_URL"]
	if url == "" {
		if dir, err := r.m.gitDirOnDisk(ctx); err == nil {
			url, _ = vcs.Repo{GitDir: dir}.OriginURL(ctx)
		}
	}
	return attest.SourceRepository(url, r.m.Project)
}

// target is the bake target of the run by name; an empty target of that name (no args, no
// contexts) when the run has none.
func (r *run) target(name string) *bake.Target {
	for _, t := range r.in.Targets {
		if t.Name == name {
			return t
		}
	}
	return &bake.Target{Name: name}
}

// Verify checks in the release registry that every image released for a version tag is signed for the key and carries, on every platform, a signed SBOM and a signed SLSA provenance of the commit being released, and with --require-scan a signed vulnerability scan; it names what is missing
// +cache="never"
func (m *Shipyard) Verify(
	ctx context.Context,
	// The public key (cosign.pub)
	key *dagger.File,
	// Version tag released (default: WithGitlab's $CI_COMMIT_TAG)
	// +optional
	tag string,
	// Require on every platform a signed vulnerability attestation (cosign's vuln predicate, as the gate of with-scan and with-signing writes it); its report is re-checked at --scan-fail-on, else at with-scan's --fail-on when with-scan is set
	// +optional
	requireScan bool,
	// Re-check the newest attested scan's report at this threshold (critical, high, medium, low or unknown): every finding at or above it must be one the gate accepted; implies --require-scan
	// +optional
	scanFailOn string,
) (string, error) {
	v, err := m.verifyScan(requireScan, scanFailOn)
	if err != nil {
		return "", err
	}
	r, err := m.newRun(ctx, "", tag, "release", false)
	if err != nil {
		return "", err
	}
	if len(r.plan.Copies) == 0 {
		return "", fmt.Errorf("nothing to verify for ref %q: verify checks the images a version tag released (pass --tag, and the release registry)", r.plan.Ref)
	}
	pem, err := key.Contents(ctx)
	if err != nil {
		return "", fmt.Errorf("reading the public key: %v", err)
	}
	pub, err := attest.ParsePublicKey([]byte(pem))
	if err != nil {
		return "", fmt.Errorf("the public key (--key): %v", err)
	}
	reg, err := m.registry(ctx)
	if err != nil {
		return "", err
	}
	var released []promote.Released
	for _, c := range r.plan.Copies {
		released = append(released, promote.Released{Name: c.Target, Ref: c.To + ":" + c.Tag})
	}
	err = r.verifyReleased(ctx, attestClient(reg), pub, released, v)
	return r.log.String(), err
}

// verifyScan is what verify asks of the scan: --scan-fail-on, else with-scan's threshold with
// --require-scan.
func (m *Shipyard) verifyScan(require bool, failOn string) (scanRequirement, error) {
	if failOn != "" {
		sev, err := scan.ParseSeverity(failOn)
		if err != nil {
			return scanRequirement{}, fmt.Errorf("verify --scan-fail-on: %v", err)
		}
		return scanRequirement{require: true, failOn: sev.String()}, nil
	}
	if !require {
		return scanRequirement{}, nil
	}
	v, gated, err := m.gateRequirement()
	if err != nil || gated {
		return v, err
	}
	return scanRequirement{require: true}, nil
}

// gateRequirement is what with-scan asks of a release: a signed scan that passes at its
// threshold; nothing without with-scan (gated false).
func (m *Shipyard) gateRequirement() (v scanRequirement, gated bool, err error) {
	s, ok, err := m.scanSettings()
	if err != nil || !ok {
		return scanRequirement{}, false, err
	}
	return scanRequirement{require: true, failOn: s.Threshold.String()}, true, nil
}
