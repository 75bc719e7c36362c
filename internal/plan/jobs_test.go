package plan

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"shipyard/internal/rules"
)

// Which GitLab job builds each target × platform, which jobs a ref's build stage needs, and what
// each kind of run executes itself.
func TestJobs(t *testing.T) {
	version := rules.Ref{Tag: "1.2.3"}
	staging := rules.Ref{Branch: "staging", DefaultBranch: "main"}
	main := rules.Ref{Branch: "main", DefaultBranch: "main"}
	feat := rules.Ref{Branch: "feat/x", DefaultBranch: "main"}
	cases := []struct {
		name       string
		ref        rules.Ref
		only       string
		arm64      bool
		armv7      bool
		armBuilder string
		builder    BuilderState
		buildJobs  []string
		jobs       map[string]string // "target platform" -> job
		here       []string          // "target platform builder" this run builds
		elsewhere  int               // builds of the stage this run executes that another job runs
	}{
		{name: "default branch, amd64 only, ec2", ref: main, armBuilder: ARMEC2, buildJobs: []string{JobBuild},
			jobs: map[string]string{"app linux/amd64": JobBuild, "db linux/amd64": JobBuild},
			here: []string{"app linux/amd64 local", "db linux/amd64 local"}},
		{name: "default branch, arm64 on ec2, one call", ref: main, arm64: true, armBuilder: ARMEC2,
			buildJobs: []string{JobBuild, JobARMBuilder},
			jobs:      map[string]string{"app linux/amd64": JobBuild, "app linux/arm64": JobARMBuilder, "db linux/amd64": JobBuild, "db linux/arm64": JobARMBuilder},
			here:      []string{"app linux/amd64 local", "db linux/amd64 local", "app linux/arm64 remote", "db linux/arm64 remote"}},
		{name: "default branch, arm64 on ec2, build job", ref: main, only: "build", arm64: true, armBuilder: ARMEC2,
			buildJobs: []string{JobBuild, JobARMBuilder},
			jobs:      map[string]string{"app linux/amd64": JobBuild, "app linux/arm64": JobARMBuilder, "db linux/amd64": JobBuild, "db linux/arm64": JobARMBuilder},
			here:      []string{"app linux/amd64 local", "db linux/amd64 local"}, elsewhere: 2},
		{name: "staging, arm64 on qemu, build job", ref: staging, only: "build", arm64: true, armBuilder: ARMQEMU,
			buildJobs: []string{JobBuild},
			jobs:      map[string]string{"app linux/amd64": JobBuild, "app linux/arm64": JobBuild, "db linux/amd64": JobBuild, "db linux/arm64": JobBuild},
			here:      []string{"app linux/amd64 local", "db linux/amd64 local", "app linux/arm64 qemu", "db linux/arm64 qemu"}},
		{name: "version tag, armv7 on ec2 without capacity: still the ARM builder job's", ref: version, only: "build", armv7: true,
			armBuilder: ARMEC2, builder: BuilderNoCapacity, buildJobs: []string{JobBuild, JobARMBuilder},
			jobs: map[string]string{"app linux/amd64": JobBuild, "app linux/arm/v7": JobARMBuilder, "db linux/amd64": JobBuild},
			here: []string{"app linux/amd64 local", "db linux/amd64 local"}, elsewhere: 1},
		{name: "version tag, the manifests job builds nothing", ref: version, only: "manifests", arm64: true, armBuilder: ARMEC2,
			buildJobs: []string{JobBuild, JobARMBuilder},
			jobs:      map[string]string{"app linux/amd64": JobBuild, "app linux/arm64": JobARMBuilder, "db linux/amd64": JobBuild, "db linux/arm64": JobARMBuilder}},
		{name: "feat branch: no build stage, no build job", ref: feat, arm64: true, armBuilder: ARMEC2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Make(Input{Ref: c.ref, Only: c.only, Arm64: c.arm64, Armv7: c.armv7, ARMBuilder: c.armBuilder, Builder: c.builder,
				Project: "shop", ReleaseRegistry: "rel.test/r", Targets: targets(ImageTag(c.ref))})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.buildJobs, p.BuildJobs); diff != "" {
				t.Errorf("build jobs (-want +got):\n%s", diff)
			}
			jobs := map[string]string{}
			for _, b := range p.Builds {
				jobs[b.Target+" "+b.Platform] = b.Job
			}
			if len(c.jobs) == 0 {
				c.jobs = map[string]string{}
			}
			if diff := cmp.Diff(c.jobs, jobs); diff != "" {
				t.Errorf("job of each build (-want +got):\n%s", diff)
			}
			var here []string
			for _, on := range []Builder{Local, Remote, QEMU} {
				for _, b := range p.BuildsHere(on) {
					here = append(here, b.Target+" "+b.Platform+" "+string(b.Builder))
				}
			}
			if diff := cmp.Diff(c.here, here); diff != "" {
				t.Errorf("builds this run executes (-want +got):\n%s", diff)
			}
			if got := len(p.BuildsElsewhere()); got != c.elsewhere {
				t.Errorf("builds another job runs: %d, want %d", got, c.elsewhere)
			}
			for _, job := range []string{JobBuild, JobARMBuilder} {
				for _, on := range []Builder{Local, Remote, QEMU} {
					for _, b := range p.BuildsOf(job, on) {
						if b.Job != job || b.Builder != on {
							t.Errorf("BuildsOf(%s, %s) returned %s [%s] of job %s on %s", job, on, b.Target, b.Platform, b.Job, b.Builder)
						}
					}
				}
			}
		})
	}
}

// The build job's log names the ARM builder job's builds and marks them as that job's.
func TestTextNamesTheARMBuilderJob(t *testing.T) {
	for _, only := range []string{"", "build"} {
		p, err := Make(Input{Ref: rules.Ref{Branch: "main", DefaultBranch: "main"}, Only: only, Arm64: true, ARMBuilder: ARMEC2,
			Targets: targets("main")})
		if err != nil {
			t.Fatal(err)
		}
		text := p.Text()
		arm := "build app [linux/arm64] on remote: native on the EC2 ARM builder's engine -> reg.test/p/app:main-arm64 in job build_arm_ec2"
		if only == "build" {
			arm += " (another job)"
		}
		amd := "build app [linux/amd64] on local: native on the local engine -> reg.test/p/app:main-amd64\n"
		for _, want := range []string{arm + "\n", amd} {
			if !strings.Contains(text, want) {
				t.Errorf("--only=%q: the plan lacks the line %q:\n%s", only, want, text)
			}
		}
	}
}

// After the builder is lost, the builds it had are built again where the new plan sends them.
func TestAmong(t *testing.T) {
	in := Input{Ref: rules.Ref{Tag: "1.2.3"}, Arm64: true, Armv7: true, ARMBuilder: ARMEC2, Project: "shop", ReleaseRegistry: "rel.test/r",
		Targets: targets("1.2.3")}
	before, err := Make(in)
	if err != nil {
		t.Fatal(err)
	}
	in.Builder, in.BuilderWhy = BuilderFailed, "the EC2 ARM builder i-1 was lost"
	after, err := Make(in)
	if err != nil {
		t.Fatal(err)
	}
	names := func(bs []Build) []string {
		var out []string
		for _, b := range bs {
			out = append(out, b.Target+" "+b.Platform+" "+string(b.Builder))
		}
		return out
	}
	cases := []struct {
		name string
		had  []Build
		want []string
	}{
		{"every remote build", before.BuildsOn(Remote), []string{"app linux/arm64 qemu", "app linux/arm/v7 qemu", "db linux/arm64 qemu"}},
		{"one of them", before.BuildsOn(Remote)[1:2], []string{"app linux/arm/v7 qemu"}},
		{"local builds are not ARM builds", before.BuildsOn(Local), nil},
		{"none", nil, nil},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, names(after.Among(c.had, QEMU))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
}

// Once the builder is set up: what QEMU still has to start here, what goes to the builder, and
// what is under way here already (never built twice).
func TestAfterSetup(t *testing.T) {
	b := func(target, platform string, on Builder) Build {
		return Build{Target: target, Platform: platform, Builder: on}
	}
	started := []Build{b("app", AMD64, Local), b("app", ARMv7, QEMU), b("db", AMD64, Local)}
	for _, tc := range []struct {
		name                     string
		qemu, remote             []Build
		more, onBuilder, already []string
	}{
		{"ready: arm64 on the builder", []Build{b("app", ARMv7, QEMU)}, []Build{b("app", ARM64, Remote), b("db", ARM64, Remote)},
			nil, []string{"app linux/arm64", "db linux/arm64"}, nil},
		{"no capacity: arm64 to QEMU as well", []Build{b("app", ARM64, QEMU), b("app", ARMv7, QEMU), b("db", ARM64, QEMU)}, nil,
			[]string{"app linux/arm64", "db linux/arm64"}, nil, nil},
		{"its answer says yes unlike its type: arm/v7 stays here", []Build{}, []Build{b("app", ARM64, Remote), b("app", ARMv7, Remote)},
			nil, []string{"app linux/arm64"}, []string{"app linux/arm/v7"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			more, onBuilder, already := AfterSetup(started, tc.qemu, tc.remote)
			names := func(bs []Build) []string {
				var out []string
				for _, x := range bs {
					out = append(out, x.Target+" "+x.Platform)
				}
				return out
			}
			if diff := cmp.Diff([][]string{tc.more, tc.onBuilder, tc.already}, [][]string{names(more), names(onBuilder), names(already)}); diff != "" {
				t.Errorf("more, on the builder, already (-want +got):\n%s", diff)
			}
		})
	}
}
