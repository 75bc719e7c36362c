package plan

import (
	"slices"

	"shipyard/internal/rules"
)

// The GitLab jobs of the build stage (.gitlab-ci.yml and templates/shipyard.yml start them where
// BuildJobs names them; test/gitlabci checks that they agree).
const (
	// JobBuild runs `release --only=build`: every build but those of JobARMBuilder.
	JobBuild = "build"
	// JobARMBuilder runs `arm-builder setup`, `build`, `cleanup` and `teardown`: the ARM builds of
	// a run whose ARM builder is EC2, on the builder or, when it has no capacity or is lost, under
	// QEMU in that job.
	JobARMBuilder = "build_arm_ec2"
)

// jobFor is the GitLab job that builds platform: with ARM_BUILDER=ec2 every ARM platform is the
// ARM builder job's, whatever becomes of the builder; everything else is the build job's.
func jobFor(armBuilder, platform string) string {
	if armBuilder == ARMEC2 && platform != AMD64 {
		return JobARMBuilder
	}
	return JobBuild
}

// buildJobs are the GitLab jobs a ref's build stage needs: none without the build stage, the
// build job, and the ARM builder job when ARM is built on EC2.
func buildJobs(rp rules.Plan, armBuilder string, platforms []string) []string {
	if !rp.Has(rules.Build) {
		return nil
	}
	if armBuilder == ARMEC2 && hasARM(platforms) {
		return []string{JobBuild, JobARMBuilder}
	}
	return []string{JobBuild}
}

// BuildsOf returns the builds GitLab job job runs on builder b.
func (p *Plan) BuildsOf(job string, b Builder) []Build {
	var out []Build
	for _, bd := range p.Builds {
		if bd.Job == job && bd.Builder == b {
			out = append(out, bd)
		}
	}
	return out
}

// BuildsHere returns the builds on builder b this run executes: a one-call run (no --only)
// every build; the build job (--only=build) its own, the ARM builder job's being that job's
// (arm-builder build); a run without the build stage none.
func (p *Plan) BuildsHere(b Builder) []Build {
	switch {
	case !p.Runs(rules.Build):
		return nil
	case p.oneCall():
		return p.BuildsOn(b)
	}
	return p.BuildsOf(JobBuild, b)
}

// BuildsElsewhere returns the builds of the build stage this run executes that another job
// runs: in the build job (--only=build), the ARM builder job's.
func (p *Plan) BuildsElsewhere() []Build {
	if !p.Runs(rules.Build) || p.oneCall() {
		return nil
	}
	var out []Build
	for _, bd := range p.Builds {
		if bd.Job != JobBuild {
			out = append(out, bd)
		}
	}
	return out
}

// oneCall tells whether the run executes every stage the rules allow (no --only).
func (p *Plan) oneCall() bool {
	return !slices.ContainsFunc(p.Stages, func(s Stage) bool { return !s.Run })
}

// elsewhere tells whether another job runs build b: another stage's job (--only), or, in the
// build job, the ARM builder job.
func (p *Plan) elsewhere(b Build) bool {
	return !p.Runs(rules.Build) || !p.oneCall() && b.Job != JobBuild
}

// Among returns, in this plan's order, the builds of this plan on builder b that are also in
// builds (same target and platform): after the ARM builder was lost, the builds it had that the
// plan made again now sends to QEMU here.
func (p *Plan) Among(builds []Build, b Builder) []Build {
	var out []Build
	for _, bd := range p.BuildsOn(b) {
		if slices.ContainsFunc(builds, func(o Build) bool { return o.Target == bd.Target && o.Platform == bd.Platform }) {
			out = append(out, bd)
		}
	}
	return out
}

// AfterSetup splits the builds a run routes once the ARM builder is set up, given the builds it
// started here before (local and QEMU, which never wait for the builder): the QEMU builds still
// to start here, the builds for the builder, and those already under way here that the plan now
// routes to the builder (its own 32-bit answer disagreed with its instance type), which are not
// built twice.
func AfterSetup(started, qemu, remote []Build) (more, onBuilder, already []Build) {
	under := func(b Build) bool {
		return slices.ContainsFunc(started, func(s Build) bool { return s.Target == b.Target && s.Platform == b.Platform })
	}
	for _, b := range qemu {
		if !under(b) {
			more = append(more, b)
		}
	}
	for _, b := range remote {
		if under(b) {
			already = append(already, b)
		} else {
			onBuilder = append(onBuilder, b)
		}
	}
	return more, onBuilder, already
}
