//go:build full

package gitlabci_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"shipyard/internal/bake"
	planpkg "shipyard/internal/plan"
	"shipyard/internal/rules"
)

// jobStages maps the stages of .gitlab-ci.yml to the stages of internal/rules.
var jobStages = map[string]rules.Stage{
	"lint":            rules.Lint,
	"test":            rules.Test,
	"build":           rules.Build,
	"build_manifests": rules.Manifests,
	"release":         rules.Release,
}

// pipeline is one simulated GitLab pipeline.
type pipeline struct {
	name          string
	defaultBranch string            // the project's default branch (origin/HEAD)
	branch        string            // branch pipelines and merge requests: the (source) branch
	tag           string            // tag pipelines: the tag
	tagMessage    string            // tag pipelines: an annotated tag's message; empty for a lightweight tag
	mergeRequest  bool              // a merge request pipeline
	vars          map[string]string // further CI/CD variables, e.g. ARM_BUILDER
}

// ref is what the Dagger module is told about the pipeline.
func (p pipeline) ref() rules.Ref {
	return rules.Ref{Branch: p.branch, Tag: p.tag, DefaultBranch: p.defaultBranch, MergeRequest: p.mergeRequest}
}

// simulate makes a repository in the state GitLab would check out for the
// pipeline and returns it with the variables gitlab-ci-local cannot work out
// from git (it has no notion of tag or merge request pipelines).
func (p pipeline) simulate(t *testing.T, ciYAML []byte) (*repo, map[string]*string) {
	t.Helper()
	r := newRepo(t, ciYAML, p.defaultBranch)
	vars := map[string]*string{}
	for k, v := range p.vars {
		vars[k] = str(v)
	}
	switch {
	case p.tag != "":
		if p.tagMessage != "" {
			r.git(t, "tag", "--annotate", "--message", p.tagMessage, p.tag)
			vars["CI_COMMIT_TAG_MESSAGE"] = str(p.tagMessage)
		} else {
			r.git(t, "tag", p.tag)
		}
		r.git(t, "checkout", "--quiet", "--detach", p.tag)
		// In a tag pipeline GitLab sets CI_COMMIT_TAG, names the tag in
		// CI_COMMIT_REF_NAME and leaves CI_COMMIT_BRANCH unset.
		vars["CI_COMMIT_TAG"] = str(p.tag)
		vars["CI_COMMIT_REF_NAME"] = str(p.tag)
		vars["CI_COMMIT_BRANCH"] = nil
	case p.mergeRequest:
		r.git(t, "checkout", "--quiet", "-B", p.branch)
		// In a merge request pipeline CI_COMMIT_BRANCH is unset and the
		// source branch is in CI_COMMIT_REF_NAME and CI_MERGE_REQUEST_*.
		vars["CI_PIPELINE_SOURCE"] = str("merge_request_event")
		vars["CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"] = str(p.branch)
		vars["CI_MERGE_REQUEST_TARGET_BRANCH_NAME"] = str(p.defaultBranch)
		vars["CI_MERGE_REQUEST_IID"] = str("7")
		vars["CI_COMMIT_BRANCH"] = nil
	default:
		r.git(t, "checkout", "--quiet", "-B", p.branch)
	}
	return r, vars
}

// ciYAML reads the repository's .gitlab-ci.yml.
func ciYAML(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), ".gitlab-ci.yml"))
	if err != nil {
		t.Fatalf("reading .gitlab-ci.yml: %v", err)
	}
	return data
}

// stagesOf maps the listed jobs to the set of rules stages they belong to, in pipeline order.
func stagesOf(t *testing.T, jobs map[string]listedJob) []rules.Stage {
	t.Helper()
	seen := map[rules.Stage]bool{}
	for _, j := range jobs {
		s, ok := jobStages[j.Stage]
		if !ok {
			t.Fatalf("job %s is in stage %q, which maps to no internal/rules stage; add it to jobStages", j.Name, j.Stage)
		}
		seen[s] = true
	}
	var out []rules.Stage
	for _, s := range rules.Stages() {
		if seen[s] {
			out = append(out, s)
		}
	}
	return out
}

func jobNames(jobs map[string]listedJob) []string {
	names := make([]string, 0, len(jobs))
	for n := range jobs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TestPipelineStagesMatchRules checks, for every kind of ref, that the stages
// GitLab would start are exactly the stages internal/rules plans for it.
func TestPipelineStagesMatchRules(t *testing.T) {
	yml := ciYAML(t)
	gitlabCILocal(t) // fail early with the install hint
	pipelines := []pipeline{
		{name: "feat branch", defaultBranch: "main", branch: "feat/x"},
		{name: "fix branch", defaultBranch: "main", branch: "fix/y"},
		{name: "test branch", defaultBranch: "main", branch: "test/z"},
		{name: "chore branch", defaultBranch: "main", branch: "chore/w"},
		{name: "other branch", defaultBranch: "main", branch: "wip"},
		{name: "staging", defaultBranch: "main", branch: "staging"},
		{name: "default branch", defaultBranch: "main", branch: "main"},
		{name: "default branch with another name", defaultBranch: "trunk", branch: "trunk"},
		{name: "main when it is not the default branch", defaultBranch: "trunk", branch: "main"},
		{name: "merge request", defaultBranch: "main", branch: "feat/x", mergeRequest: true},
		{name: "merge request from staging", defaultBranch: "main", branch: "staging", mergeRequest: true},
		{name: "annotated version tag", defaultBranch: "main", tag: "1.2.3", tagMessage: "Release 1.2.3"},
		{name: "lightweight version tag", defaultBranch: "main", tag: "2.0.0alpha"},
		{name: "v-prefixed version tag", defaultBranch: "main", tag: "v1.2.3", tagMessage: "Release v1.2.3"},
		{name: "pre-release version tag", defaultBranch: "main", tag: "1.2.3-rc.1", tagMessage: "Release candidate"},
		{name: "non-version tag", defaultBranch: "main", tag: "nightly"},
		{name: "tag holding a version", defaultBranch: "main", tag: "release-1.2.3", tagMessage: "Not a version"},
		{name: "staging with ARM built on EC2", defaultBranch: "main", branch: "staging",
			vars: map[string]string{"ARM_BUILDER": "ec2", "BUILD_ARM64": "true"}},
		{name: "version tag with ARM built on EC2", defaultBranch: "main", tag: "1.2.3",
			vars: map[string]string{"ARM_BUILDER": "ec2", "BUILD_ARMV7": "true"}},
	}
	for _, p := range pipelines {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			plan, err := rules.For(p.ref())
			if err != nil {
				t.Fatalf("rules.For(%+v): %v", p.ref(), err)
			}
			r, vars := p.simulate(t, yml)
			jobs := r.listJobs(t, vars)
			if diff := cmp.Diff(plan.Stages, stagesOf(t, jobs)); diff != "" {
				t.Errorf("stages started by .gitlab-ci.yml differ from internal/rules (%s) (-want +got):\n%s\njobs: %v",
					plan.Reason, diff, jobNames(jobs))
			}
		})
	}
}

// armJobPlanned tells whether the plan of pipeline p's ref names the ARM builder job among the
// build stage's jobs (internal/plan's BuildJobs, from the variables the job would pass; an
// ARM_BUILDER left unset is .gitlab-ci.yml's empty default).
func armJobPlanned(t *testing.T, p pipeline) bool {
	t.Helper()
	pl, err := planpkg.Make(planpkg.Input{Ref: p.ref(), Arm64: p.vars["BUILD_ARM64"] == "true", Armv7: p.vars["BUILD_ARMV7"] == "true",
		ARMBuilder: p.vars["ARM_BUILDER"], E2CUsage: p.vars["E2C_USAGE"], Project: "p", ReleaseRegistry: "rel.test/x",
		Targets: []*bake.Target{{Name: "app", Tags: []string{"reg.test/p/app:" + planpkg.ImageTag(p.ref())}}}})
	if err != nil {
		t.Fatalf("plan.Make for %s: %v", p.name, err)
	}
	return slices.Contains(pl.BuildJobs, planpkg.JobARMBuilder)
}

// TestEC2ArmBuildJob checks that the ARM-on-EC2 job runs exactly where the plan names it for
// the ARM builds: wherever build runs (the default branch, staging, version tags), only with
// ARM_BUILDER=ec2 (or unset with the old pipeline's E2C_USAGE=true), and only when an ARM platform
// is asked for (E2C_USAGE=true asks for linux/arm64 when none is).
func TestEC2ArmBuildJob(t *testing.T) {
	yml := ciYAML(t)
	gitlabCILocal(t)
	tests := []struct {
		p    pipeline
		want bool
	}{
		{pipeline{name: "staging, ec2, arm64", defaultBranch: "main", branch: "staging",
			vars: map[string]string{"ARM_BUILDER": "ec2", "BUILD_ARM64": "true"}}, true},
		{pipeline{name: "version tag, ec2, armv7", defaultBranch: "main", tag: "1.2.3",
			vars: map[string]string{"ARM_BUILDER": "ec2", "BUILD_ARMV7": "true"}}, true},
		{pipeline{name: "default branch, ec2, arm64", defaultBranch: "main", branch: "main",
			vars: map[string]string{"ARM_BUILDER": "ec2", "BUILD_ARM64": "true"}}, true},
		{pipeline{name: "default branch with another name, ec2, armv7", defaultBranch: "trunk", branch: "trunk",
			vars: map[string]string{"ARM_BUILDER": "ec2", "BUILD_ARMV7": "true"}}, true},
		{pipeline{name: "default branch, qemu, arm64", defaultBranch: "main", branch: "main",
			vars: map[string]string{"ARM_BUILDER": "qemu", "BUILD_ARM64": "true"}}, false},
		{pipeline{name: "main when it is not the default branch, ec2, arm64", defaultBranch: "trunk", branch: "main",
			vars: map[string]string{"ARM_BUILDER": "ec2", "BUILD_ARM64": "true"}}, false},
		{pipeline{name: "staging, qemu, arm64", defaultBranch: "main", branch: "staging",
			vars: map[string]string{"ARM_BUILDER": "qemu", "BUILD_ARM64": "true"}}, false},
		{pipeline{name: "staging, ec2, no ARM platform", defaultBranch: "main", branch: "staging",
			vars: map[string]string{"ARM_BUILDER": "ec2"}}, false},
		{pipeline{name: "staging, defaults", defaultBranch: "main", branch: "staging"}, false},
		{pipeline{name: "non-version tag, ec2, arm64", defaultBranch: "main", tag: "nightly",
			vars: map[string]string{"ARM_BUILDER": "ec2", "BUILD_ARM64": "true"}}, false},
		{pipeline{name: "feat branch, ec2, arm64", defaultBranch: "main", branch: "feat/x",
			vars: map[string]string{"ARM_BUILDER": "ec2", "BUILD_ARM64": "true"}}, false},
		{pipeline{name: "merge request from staging, ec2, arm64", defaultBranch: "main", branch: "staging", mergeRequest: true,
			vars: map[string]string{"ARM_BUILDER": "ec2", "BUILD_ARM64": "true"}}, false},
		{pipeline{name: "staging, the old pipeline's E2C_USAGE=true alone", defaultBranch: "main", branch: "staging",
			vars: map[string]string{"E2C_USAGE": "true"}}, true},
		{pipeline{name: "version tag, E2C_USAGE=true, armv7", defaultBranch: "main", tag: "1.2.3",
			vars: map[string]string{"E2C_USAGE": "true", "BUILD_ARMV7": "true"}}, true},
		{pipeline{name: "staging, E2C_USAGE=true, ARM_BUILDER=qemu wins", defaultBranch: "main", branch: "staging",
			vars: map[string]string{"E2C_USAGE": "true", "ARM_BUILDER": "qemu"}}, false},
		{pipeline{name: "staging, E2C_USAGE=true, ARM_BUILDER=ec2", defaultBranch: "main", branch: "staging",
			vars: map[string]string{"E2C_USAGE": "true", "ARM_BUILDER": "ec2"}}, true},
		{pipeline{name: "staging, E2C_USAGE=false, arm64", defaultBranch: "main", branch: "staging",
			vars: map[string]string{"E2C_USAGE": "false", "BUILD_ARM64": "true"}}, false},
		{pipeline{name: "feat branch, E2C_USAGE=true", defaultBranch: "main", branch: "feat/x",
			vars: map[string]string{"E2C_USAGE": "true"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.p.name, func(t *testing.T) {
			t.Parallel()
			if planned := armJobPlanned(t, tt.p); planned != tt.want {
				t.Fatalf("the plan names %s = %v, want %v", planpkg.JobARMBuilder, planned, tt.want)
			}
			r, vars := tt.p.simulate(t, yml)
			jobs := r.listJobs(t, vars)
			job, got := jobs["build_arm_ec2"]
			if got != tt.want {
				t.Fatalf("build_arm_ec2 started = %v, the plan names it = %v (jobs: %v)", got, tt.want, jobNames(jobs))
			}
			if got && job.Stage != "build" {
				t.Errorf("build_arm_ec2 is in stage %q, want build", job.Stage)
			}
		})
	}
}

// TestCIYAMLIsValid checks .gitlab-ci.yml against GitLab's JSON schema (as
// bundled with gitlab-ci-local); the other tests skip that check for speed.
func TestCIYAMLIsValid(t *testing.T) {
	r := newRepo(t, ciYAML(t), "main")
	out, err := r.gitlabCILocal(t, nil, "--list-json")
	if err != nil {
		t.Fatal(err)
	}
	var jobs []listedJob
	if err := json.Unmarshal([]byte(out), &jobs); err != nil {
		t.Fatalf("reading gitlab-ci-local --list-json output: %v\n%s", err, out)
	}
	var got []string
	for _, j := range jobs {
		got = append(got, j.Name+"@"+j.Stage)
	}
	sort.Strings(got)
	want := []string{"build@build", "build_arm_ec2@build", "build_manifests@build_manifests", "lint@lint", "release@release", "test@test"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("jobs of .gitlab-ci.yml (-want +got):\n%s", diff)
	}
}

// versionTagRule matches the rule condition that selects version tags.
var versionTagRule = regexp.MustCompile(`^\$CI_COMMIT_TAG =~ /(.*)/$`)

// TestVersionTagRegexMatchesVersionParse checks the version-tag regex of
// .gitlab-ci.yml, as gitlab-ci-local reads it, against internal/version.Parse
// (through rules.For) on tags at the edges of the grammar. GitLab, gitlab-ci-local
// and Go all use RE2 syntax, so Go's regexp decides as they do. A few of these
// tags also run through gitlab-ci-local end to end in TestPipelineStagesMatchRules.
func TestVersionTagRegexMatchesVersionParse(t *testing.T) {
	r := newRepo(t, ciYAML(t), "main")
	var pattern string
	for _, job := range r.listAll(t, nil) {
		for _, rl := range job.Rules {
			m := versionTagRule.FindStringSubmatch(rl.If)
			if m == nil {
				if strings.Contains(rl.If, "=~") {
					t.Errorf("job %s has a regex rule %q that is not the version-tag rule; this test only knows that one", job.Name, rl.If)
				}
				continue
			}
			if pattern != "" && m[1] != pattern {
				t.Fatalf("job %s matches version tags with %q, another job with %q; use the &version_tag anchor everywhere", job.Name, m[1], pattern)
			}
			pattern = m[1]
		}
	}
	if pattern == "" {
		t.Fatal("no job has a `$CI_COMMIT_TAG =~ /.../` rule")
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		t.Fatalf("compiling the version-tag regex %q: %v", pattern, err)
	}
	tags := []string{
		"1.2.3", "v1.2.3", "1.2.3-rc.1", "2.0.0alpha",
		"0.0.0", "10.20.30", "v0.1.0", "1.2.3-0", "1.2.3-0a", "1.2.3-rc-1", "1.2.3-x.7.z.92", "1.2.3--",
		"1.2.3+build.5", "1.2.3+001", "1.2.3-rc.1+build-5", "1.8.7beta2", "1.8.7rc1+b", "v1.8.7alpha", "1.8.7RC1",
		"", "1.2", "1", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "V1.2.3", "vv1.2.3", "1.2.3-",
		"1.2.3-01", "1.2.3-rc.01", "1.2.3-rc..1", "1.2.3+", "1.2.3+a..b", "1.2.3+a+b", "1.8.7rc-1", "1.8.7a.b",
		"1.8.7-beta_2", "1.8.71a", "latest", "nightly", "release-1.2.3", "1.2.3 ", " 1.2.3", "x1.2.3", "1.2.3\n",
	}
	for _, tag := range tags {
		plan, err := rules.For(rules.Ref{Tag: tag, Branch: "main", DefaultBranch: "main"})
		if err != nil {
			t.Fatalf("rules.For(tag %q): %v", tag, err)
		}
		if got, want := re.MatchString(tag), plan.Has(rules.Release); got != want {
			t.Errorf("tag %q: .gitlab-ci.yml regex matches = %v, but internal/rules says %q", tag, got, plan.Reason)
		}
	}
}

// TestRunJobHelper proves the job-running helper works on this machine with a
// pipeline whose job needs no container engine.
func TestRunJobHelper(t *testing.T) {
	gitlabCILocal(t)
	yml := []byte(`hello:
  script:
    - echo "hello from $CI_COMMIT_REF_NAME with GREETING=$GREETING"
`)
	r := newRepo(t, yml, "main")
	r.git(t, "checkout", "--quiet", "-B", "feat/x")
	out, err := r.runJob(t, "hello", map[string]*string{"GREETING": str("hi")})
	if err != nil {
		t.Fatal(err)
	}
	if want := "hello from feat/x with GREETING=hi"; !strings.Contains(out, want) {
		t.Errorf("job output does not contain %q:\n%s", want, out)
	}
	_, err = r.runJob(t, "no-such-job", nil)
	if err == nil {
		t.Error("running a job that does not exist succeeded; want an error")
	}
}
