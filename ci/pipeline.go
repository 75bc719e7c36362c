package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"shipyard/internal/bake"
	"shipyard/internal/plan"
	"shipyard/internal/regaccess"
	"shipyard/internal/registry"
	"shipyard/internal/rules"
)

// Release runs the pipeline for a ref: exactly the stages the branch rules allow, in order, stopping at the first failure
// +cache="never"
func (m *Shipyard) Release(
	ctx context.Context,
	// Branch or tag the pipeline runs for (default: WithGitlab's $CI_COMMIT_REF_NAME)
	// +optional
	ref string,
	// Version tag being released (default: WithGitlab's $CI_COMMIT_TAG)
	// +optional
	tag string,
	// Run only this stage (lint, test, build, manifests, release): what one GitLab job runs
	// +optional
	only string,
	// Print the plan and every decision, push nothing
	// +optional
	dryRun bool,
	// Replace a version already released with other content (a repair; a released version is otherwise never replaced)
	// +optional
	overwrite bool,
) (string, error) {
	r, err := m.newRun(ctx, ref, tag, only, dryRun)
	if err != nil {
		return "", err
	}
	r.overwrite = overwrite
	if err := r.readBuilderCPU(ctx, r.plan.BuildsHere(plan.Remote)); err != nil {
		return "", err
	}
	return r.execute(ctx)
}

// run is one execution of a plan.
type run struct {
	m      *Shipyard
	ci     CiContext
	in     plan.Input
	plan   *plan.Plan
	file   *bake.File
	dryRun bool
	// overwrite lets release replace a version already released with other content (--overwrite)
	overwrite bool
	logMu     sync.Mutex // the local and the remote builds log at the same time
	log       strings.Builder
	noted     map[string]bool // the plan's notes printed so far (under logMu)
	sc        supplyChain     // the signer and attachment client, made when first needed
}

// logf prints a line to the job log as it happens and keeps it for the function's result.
func (r *run) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	r.logMu.Lock()
	defer r.logMu.Unlock()
	fmt.Fprintln(os.Stderr, line)
	r.log.WriteString(line + "\n")
}

// ciContext is the pipeline context with release's --ref/--tag applied.
func (m *Shipyard) ciContext(ref, tag string) CiContext {
	ci := m.Ci
	if ref != "" {
		ci.Ref = ref
	}
	if tag != "" {
		ci.Tag = tag
	}
	if ci.Ref == "" {
		ci.Ref = ci.Tag
	}
	return ci
}

func (ci CiContext) rulesRef() rules.Ref {
	return rules.Ref{Branch: ci.Ref, Tag: ci.Tag, DefaultBranch: ci.DefaultBranch, MergeRequest: ci.MergeRequest != ""}
}

// newRun evaluates the bake file and plans the run.
func (m *Shipyard) newRun(ctx context.Context, ref, tag, only string, dryRun bool) (*run, error) {
	ci := m.ciContext(ref, tag)
	rref := ci.rulesRef()
	engine, err := enginePlatform(ctx)
	if err != nil {
		return nil, err
	}
	f, err := m.bakeFile(ctx, plan.Vars(rref, m.BuildRegistry, ci.Revision, m.Set), engine)
	if err != nil {
		return nil, err
	}
	targets, err := f.Resolve()
	if err != nil {
		return nil, err
	}
	in := plan.Input{
		Ref: rref, Only: only, Arm64: m.Arm64, Armv7: m.Armv7, ARMBuilder: m.ArmBuilderSetting, E2CUsage: m.E2cUsage,
		EC2Notes: m.ec2Settings("").Notes(), Targets: targets,
		Project: m.Project, ReleaseRegistry: m.ReleaseRegistry, Engine: engine,
		LatestStrategy: m.UpdateLatestStrategy, TagTypeOverride: m.TagTypeOverride,
		BuildSecrets: m.BuildSecretIDs, OnBuilderLoss: m.Ec2.OnBuilderLoss,
		Attest: m.SigningKey != nil, SBOMFormat: m.SbomFormat,
	}
	if s, ok, err := m.scanSettings(); err != nil {
		return nil, err
	} else if ok {
		in.Scan, in.ScanThreshold = true, s.Threshold.String()
	}
	p, err := plan.Make(in)
	if err != nil {
		return nil, fmt.Errorf("preflight: %v", err)
	}
	return &run{m: m, ci: ci, in: in, plan: p, file: f, dryRun: dryRun, noted: map[string]bool{}}, nil
}

// replan takes the plan again after something about the ARM builder became known.
func (r *run) replan(state plan.BuilderState, why string) error {
	r.in.Builder, r.in.BuilderWhy = state, why
	p, err := plan.Make(r.in)
	if err != nil {
		return err
	}
	r.plan = p
	for _, n := range r.unnoted(p.Notes) {
		r.logf("note: %s", n)
	}
	return nil
}

// unnoted marks notes as printed and returns those this run had not printed yet: each note is
// printed once per run, however often the run plans again.
func (r *run) unnoted(notes []string) []string {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	var fresh []string
	for _, n := range notes {
		if !r.noted[n] {
			r.noted[n] = true
			fresh = append(fresh, n)
		}
	}
	return fresh
}

// execute walks the plan's stages.
func (r *run) execute(ctx context.Context) (string, error) {
	for _, line := range strings.Split(strings.TrimSpace(r.plan.Text()), "\n") {
		r.logf("%s", line)
	}
	r.unnoted(r.plan.Notes) // printed with the plan's text
	if err := r.preflightSigning(ctx); err != nil {
		return r.log.String(), err
	}
	if err := r.preflightScan(ctx); err != nil {
		return r.log.String(), err
	}
	for _, s := range r.plan.Stages {
		if !s.Run {
			continue
		}
		if err := r.stage(ctx, s.Name); err != nil {
			return r.log.String(), fmt.Errorf("stage %s failed: %v", s.Name, err)
		}
		r.logf("stage %s: ok", s.Name)
	}
	return r.log.String(), nil
}

func (r *run) stage(ctx context.Context, s rules.Stage) error {
	ctx, span := Tracer().Start(ctx, "stage "+string(s))
	defer span.End()
	switch s {
	case rules.Lint:
		out, err := r.m.Lint(ctx, nil)
		r.logf("%s", strings.TrimSpace(out))
		return err
	case rules.Test:
		out, err := r.m.testStage(ctx, r.file, r.in.Engine)
		r.logf("%s", strings.TrimSpace(lastLines(out, 3)))
		return err
	case rules.Build:
		return r.build(ctx)
	case rules.Manifests:
		return r.manifests(ctx)
	case rules.Release:
		return r.release(ctx)
	}
	return fmt.Errorf("unknown stage %q", s)
}

// creds are the registry credentials given with WithRegistryAuth, each with an address and a
// secret; the one reader of the object's three lists (regaccess.Credentials lines them up).
func (m *Shipyard) creds() ([]registryCreds, error) {
	cs, err := regaccess.Credentials(m.AuthHosts, m.AuthUsers, m.AuthSecrets)
	if err != nil {
		return nil, fmt.Errorf("%w: set them with with-registry-auth, which adds all three", err)
	}
	return cs, nil
}

func (m *Shipyard) registry(ctx context.Context) (*registry.Client, error) {
	creds, err := m.creds()
	if err != nil {
		return nil, err
	}
	return registryClient(ctx, creds, m.RegistryTunnel, m.InsecureRegistry)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
