//go:build full

package gitlabci_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"shipyard/internal/rules"
)

// componentFile is the CI/CD component, as a component project keeps it.
const componentFile = "templates/shipyard.yml"

// componentInclude is a project's whole .gitlab-ci.yml when it adopts shipyard through the
// component, with the module at module. gitlab-ci-local resolves a component: include only
// when it names the project's own component at the current commit (a remote one it fetches
// with git archive over SSH, which nothing here serves), so the test repositories hold the
// template and include it the way GitLab's documentation tests a component in its own project.
func componentInclude(module string, inputs ...string) []byte {
	return []byte(`include:
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/shipyard@$CI_COMMIT_SHA
    inputs:
      module: "` + module + `"
      bake-file: docker-bake.hcl
` + strings.Join(inputs, ""))
}

// readComponent reads templates/shipyard.yml.
func readComponent(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), componentFile))
	if err != nil {
		t.Fatalf("reading %s: %v", componentFile, err)
	}
	return data
}

// withComponent writes the template into a simulated repository (untracked: listing jobs
// reads the working tree).
func withComponent(t *testing.T, r *repo, component []byte) {
	t.Helper()
	path := filepath.Join(r.dir, componentFile)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, component, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestComponentJobsPerRef lists, for every kind of ref, the jobs a project that includes the
// component gets: exactly the stages internal/rules plans, and build_arm_ec2 only where it
// belongs, whether ARM is asked for with CI/CD variables or with the component's inputs.
func TestComponentJobsPerRef(t *testing.T) {
	component := readComponent(t)
	gitlabCILocal(t)
	module := repoRoot(t)
	ec2Inputs := "      arm-builder: ec2\n      arm64: \"true\"\n"
	tests := []struct {
		p      pipeline
		inputs string
		ec2Job bool
	}{
		{p: pipeline{name: "feat branch", defaultBranch: "main", branch: "feat/x"}},
		{p: pipeline{name: "chore branch", defaultBranch: "main", branch: "chore/w"}},
		{p: pipeline{name: "other branch", defaultBranch: "main", branch: "wip"}},
		{p: pipeline{name: "staging", defaultBranch: "main", branch: "staging"}},
		{p: pipeline{name: "default branch", defaultBranch: "main", branch: "main"}},
		{p: pipeline{name: "default branch with another name", defaultBranch: "trunk", branch: "trunk"}},
		{p: pipeline{name: "merge request", defaultBranch: "main", branch: "feat/x", mergeRequest: true}},
		{p: pipeline{name: "merge request from staging", defaultBranch: "main", branch: "staging", mergeRequest: true}},
		{p: pipeline{name: "annotated version tag", defaultBranch: "main", tag: "1.2.3", tagMessage: "Release 1.2.3"}},
		{p: pipeline{name: "glued pre-release tag", defaultBranch: "main", tag: "2.0.0alpha"}},
		{p: pipeline{name: "non-version tag", defaultBranch: "main", tag: "nightly"}},
		{p: pipeline{name: "staging, ARM on EC2 by variables", defaultBranch: "main", branch: "staging",
			vars: map[string]string{"ARM_BUILDER": "ec2", "BUILD_ARM64": "true"}}, ec2Job: true},
		{p: pipeline{name: "staging, ARM on EC2 by inputs", defaultBranch: "main", branch: "staging"}, inputs: ec2Inputs, ec2Job: true},
		{p: pipeline{name: "staging, ARM on EC2 by the old pipeline's E2C_USAGE", defaultBranch: "main", branch: "staging",
			vars: map[string]string{"E2C_USAGE": "true"}}, ec2Job: true},
		{p: pipeline{name: "staging, E2C_USAGE overruled by the arm-builder input", defaultBranch: "main", branch: "staging",
			vars: map[string]string{"E2C_USAGE": "true"}}, inputs: "      arm-builder: qemu\n"},
		{p: pipeline{name: "version tag, ARM on EC2 by inputs", defaultBranch: "main", tag: "1.2.3"}, inputs: ec2Inputs, ec2Job: true},
		{p: pipeline{name: "default branch, ARM on EC2 by inputs", defaultBranch: "main", branch: "main"}, inputs: ec2Inputs, ec2Job: true},
		{p: pipeline{name: "feat branch, ARM on EC2 by inputs", defaultBranch: "main", branch: "feat/x"}, inputs: ec2Inputs},
		{p: pipeline{name: "staging, EC2 by inputs without an ARM platform", defaultBranch: "main", branch: "staging"},
			inputs: "      arm-builder: ec2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.p.name, func(t *testing.T) {
			t.Parallel()
			plan, err := rules.For(tt.p.ref())
			if err != nil {
				t.Fatalf("rules.For(%+v): %v", tt.p.ref(), err)
			}
			r, vars := tt.p.simulate(t, componentInclude(module, tt.inputs))
			withComponent(t, r, component)
			jobs := r.listJobs(t, vars)
			t.Logf("jobs: %v", jobNames(jobs))
			if diff := cmp.Diff(plan.Stages, stagesOf(t, jobs)); diff != "" {
				t.Errorf("stages the component starts differ from internal/rules (%s) (-want +got):\n%s\njobs: %v",
					plan.Reason, diff, jobNames(jobs))
			}
			if _, got := jobs["build_arm_ec2"]; got != tt.ec2Job {
				t.Errorf("build_arm_ec2 started = %v, want %v (jobs: %v)", got, tt.ec2Job, jobNames(jobs))
			}
		})
	}
}

// TestComponentMirrorsCIYAML checks that the component is .gitlab-ci.yml's pipeline: the same
// jobs in the same stages with the same rules (anchors resolved, as gitlab-ci-local reads
// them), GitLab's schema accepts the adopting pipeline, and its shipyard function passes every
// flag and with-… call .gitlab-ci.yml's does (so a renamed module flag fails here too).
func TestComponentMirrorsCIYAML(t *testing.T) {
	component := readComponent(t)
	gitlabCILocal(t)
	own := newRepo(t, ciYAML(t), "main")
	adopter := newRepo(t, componentInclude(repoRoot(t)), "main")
	withComponent(t, adopter, component)
	if _, err := adopter.gitlabCILocal(t, nil, "--list-json"); err != nil {
		t.Fatalf("the adopting pipeline does not pass GitLab's schema: %v", err)
	}
	byName := func(jobs []listedJob) map[string]listedJob {
		m := map[string]listedJob{}
		for _, j := range jobs {
			j.When = "" // what a job's rules decide for this one simulated ref
			m[j.Name] = j
		}
		return m
	}
	if diff := cmp.Diff(byName(own.listAll(t, nil)), byName(adopter.listAll(t, nil))); diff != "" {
		t.Errorf("the component's jobs differ from .gitlab-ci.yml's (-.gitlab-ci.yml +component):\n%s", diff)
	}

	calls := func(yml []byte) []string {
		fn := regexp.MustCompile(`(?s)shipyard\(\) \{(.*?)\n\s*\}\n`).FindSubmatch(yml)
		if fn == nil {
			t.Fatal("no shipyard() { … } function")
		}
		words := regexp.MustCompile(`(?m)(?:^|\s|\{|\+)(with-[a-z0-9-]+|--[a-z0-9-]+)(?:=|\s|$)`).FindAllSubmatch(fn[1], -1)
		var out []string
		for _, w := range words {
			if s := string(w[1]); !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		return out
	}
	mine := calls(component)
	for _, w := range calls(ciYAML(t)) {
		if !slices.Contains(mine, w) {
			t.Errorf("the component's shipyard function lacks %s, which .gitlab-ci.yml's passes", w)
		}
	}
	for _, w := range []string{"--source", "--bake-file", "--git-dir", "--project", "--project-name"} {
		if !slices.Contains(mine, w) {
			t.Errorf("the component's shipyard function does not pass %s", w)
		}
	}
}
