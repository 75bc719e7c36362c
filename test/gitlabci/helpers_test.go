//go:build full

package gitlabci_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// fakeOrigin is the origin remote of the throwaway repositories. gitlab-ci-local
// derives CI_SERVER_URL and CI_PROJECT_PATH from it and never contacts it; the
// .invalid top-level domain never resolves.
const fakeOrigin = "https://gitlab.invalid/shipyard/shipyard.git"

// repoRoot walks up from the test's directory to the directory holding the
// root go.mod of module shipyard.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("finding the test directory: %v", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module shipyard\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod of module shipyard above the test directory: run the tests inside the shipyard checkout")
		}
		dir = parent
	}
}

// gitlabCILocal returns the path of the gitlab-ci-local pinned in package.json.
func gitlabCILocal(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	bin := filepath.Join(root, "node_modules", ".bin", "gitlab-ci-local")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("gitlab-ci-local is not installed (%v): run npm ci at the repo root (%s)", err, root)
	}
	return bin
}

// toolEnv is the environment for git and gitlab-ci-local: the test's own
// environment without anything that could leak a real pipeline's or the
// user's settings into the simulation, and with a throwaway HOME.
func toolEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "CI_"), strings.HasPrefix(name, "GITLAB_"), strings.HasPrefix(name, "GCL_"),
			strings.HasPrefix(name, "GIT_"), name == "HOME", name == "CI":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=shipyard test",
		"GIT_AUTHOR_EMAIL=test@shipyard.invalid", "GIT_COMMITTER_NAME=shipyard test", "GIT_COMMITTER_EMAIL=test@shipyard.invalid")
}

// repo is a throwaway git repository holding a .gitlab-ci.yml.
type repo struct {
	dir  string
	home string
	// env, when set, is the environment of gitlab-ci-local and so of the
	// shell jobs it runs (they inherit it); otherwise toolEnv(home).
	env []string
	// docker, when set, runs the jobs on gitlab-ci-local's Docker executor, each in the job
	// image with its dind service, as .gitlab-ci.yml is written; otherwise on the shell
	// executor against the engine given to runOnEngine.
	docker *dockerRunner
}

// newRepo makes a git repository whose only commit holds ciYAML as
// .gitlab-ci.yml, with origin set to fakeOrigin and origin/HEAD pointing at
// defaultBranch, which is checked out.
func newRepo(t *testing.T, ciYAML []byte, defaultBranch string) *repo {
	t.Helper()
	r := &repo{dir: t.TempDir(), home: t.TempDir()}
	if err := os.WriteFile(filepath.Join(r.dir, ".gitlab-ci.yml"), ciYAML, 0o644); err != nil {
		t.Fatalf("writing .gitlab-ci.yml: %v", err)
	}
	r.commitAll(t, defaultBranch, "Add the pipeline")
	return r
}

// commitAll makes the repository's directory a git repository on
// defaultBranch whose only commit holds every file in it, with origin set to
// fakeOrigin and origin/HEAD pointing at defaultBranch, as a clone has it.
func (r *repo) commitAll(t *testing.T, defaultBranch, message string) {
	t.Helper()
	r.git(t, "init", "--quiet", "--initial-branch="+defaultBranch)
	r.git(t, "add", "--all")
	r.git(t, "commit", "--quiet", "--message", message)
	r.git(t, "remote", "add", "origin", fakeOrigin)
	// What `git clone` leaves behind, so gitlab-ci-local reads the default branch from origin/HEAD.
	r.git(t, "update-ref", "refs/remotes/origin/"+defaultBranch, "HEAD")
	r.git(t, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/"+defaultBranch)
}

// git runs one git command in the repository and fails the test if it fails.
func (r *repo) git(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = toolEnv(r.home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// gitlabCILocal runs gitlab-ci-local in the repository with CI variables set
// (--variable) or removed (a nil value, --unset-variable) and returns stdout.
func (r *repo) gitlabCILocal(t *testing.T, vars map[string]*string, args ...string) (string, error) {
	t.Helper()
	argv := gitlabCILocalArgs(vars, args...)
	cmd := exec.Command(gitlabCILocal(t), argv...)
	cmd.Dir = r.dir
	cmd.Env = r.environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("gitlab-ci-local %s: %w\nstdout:\n%s\nstderr:\n%s", strings.Join(argv, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// gitlabCILocalArgs is the gitlab-ci-local command line that sets CI
// variables (--variable) or removes them (a nil value, --unset-variable),
// followed by args.
func gitlabCILocalArgs(vars map[string]*string, args ...string) []string {
	var argv, overridden []string
	names := make([]string, 0, len(vars))
	for name := range vars {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if v := vars[name]; v != nil {
			argv = append(argv, "--variable", name+"="+*v)
			overridden = append(overridden, name)
		} else {
			argv = append(argv, "--unset-variable", name)
		}
	}
	if len(overridden) > 0 {
		// We override predefined variables on purpose to simulate tag and merge
		// request pipelines; without this gitlab-ci-local prints a warning on stdout.
		argv = append(argv, "--ignore-predefined-vars", strings.Join(overridden, ","))
	}
	argv = append(argv, "--color=false")
	return append(argv, args...)
}

// environ is the environment gitlab-ci-local runs with in the repository.
func (r *repo) environ() []string {
	if r.env != nil {
		return r.env
	}
	return toolEnv(r.home)
}

// listedJob is one entry of `gitlab-ci-local --list-json`.
type listedJob struct {
	Name  string `json:"name"`
	Stage string `json:"stage"`
	When  string `json:"when"`
	Rules []rule `json:"rules"`
}

// rule is one entry of a job's rules as gitlab-ci-local lists them (anchors resolved).
type rule struct {
	If   string `json:"if"`
	When string `json:"when"`
}

// listAll returns every job of `gitlab-ci-local --list-json`, including those
// whose rules say never. GitLab's JSON schema check is skipped (it costs half
// a second a run); TestCIYAMLIsValid runs it once.
func (r *repo) listAll(t *testing.T, vars map[string]*string) []listedJob {
	t.Helper()
	out, err := r.gitlabCILocal(t, vars, "--list-json", "--no-json-schema-validation")
	if err != nil {
		t.Fatal(err)
	}
	var all []listedJob
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		t.Fatalf("reading gitlab-ci-local --list-json output: %v\n%s", err, out)
	}
	return all
}

// listJobs returns the jobs gitlab-ci-local would start (when is not "never"), by name.
func (r *repo) listJobs(t *testing.T, vars map[string]*string) map[string]listedJob {
	t.Helper()
	jobs := map[string]listedJob{}
	for _, j := range r.listAll(t, vars) {
		if j.When != "never" {
			jobs[j.Name] = j
		}
	}
	return jobs
}

// runJob runs one job of the repository's pipeline with gitlab-ci-local's
// shell executor (--shell-executor-no-image: jobs without an image run on this
// machine) and returns its output. extra flags are passed through, e.g.
// "--force-shell-executor" for jobs that declare an image, or "--cwd".
// Running jobs needs rsync on PATH.
func (r *repo) runJob(t *testing.T, job string, vars map[string]*string, extra ...string) (string, error) {
	t.Helper()
	needRsync(t)
	args := append([]string{"--shell-executor-no-image"}, extra...)
	return r.gitlabCILocal(t, vars, append(args, job)...)
}

// str returns a pointer to s, for the variable maps.
func str(s string) *string { return &s }
