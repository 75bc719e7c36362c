//go:build full

package gitlabci_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// shellRunnerFile is the pipeline gitlab-ci-local reads for the job runs; it
// is written into the throwaway repository and left untracked, so the job's
// checkout (gitlab-ci-local copies tracked files only) does not hold it.
const shellRunnerFile = ".gitlab-ci-shell-runner.yml"

// shellRunnerYAML is .gitlab-ci.yml as a GitLab shell executor runs it: that
// executor ignores image and services. gitlab-ci-local's --force-shell-executor
// drops the image but still starts services with docker, so this file includes
// the real .gitlab-ci.yml unchanged and clears the services of .dagger (keys of
// the including file override the included file's, as in GitLab).
const shellRunnerYAML = `include:
  - local: .gitlab-ci.yml

.dagger:
  services: []
`

// engineHint says how to get the engine the job tests run on.
const engineHint = `start it with: hack/engine up && eval "$(hack/engine env)"`

// unsetSecrets are the secrets the shipyard function of .gitlab-ci.yml
// (.shipyard-fn) passes as env:NAME that a job on an unprotected branch may not
// have. The job runs remove them from gitlab-ci-local's variables and from the
// environment jobs inherit.
var unsetSecrets = []string{"CI_REGISTRY_PASSWORD", "CI_JOB_TOKEN", "RELEASE_REGISTRY_PASSWORD",
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "E2C_SSH_PRIVATE_KEY"}

// ansi matches the terminal colour sequences of the Dagger CLI's progress output.
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]")

// TestDaggerJobsRunOnTheEngine runs jobs of .gitlab-ci.yml through
// gitlab-ci-local with the shell executor against the engine of hack/engine, in
// copies of this checkout, with the secrets of .shipyard-fn unset as on an
// unprotected branch, each job calling the shipyard shell function as GitLab
// would: for a feat/x branch pipeline, lint and test pass and show the module's
// output, and lint fails on a copy with a Python file that uses an undefined
// name, naming Pylint's finding; for a staging pipeline with ARM_BUILDER=ec2,
// build_arm_ec2 hands an SSH host key with a space to the module as one value
// and stops at the ARM builder's preflight, before any AWS call.
func TestDaggerJobsRunOnTheEngine(t *testing.T) {
	gitlabCILocal(t)
	needRsync(t)
	host := needEngine(t)
	files := checkoutFiles(t)

	t.Run("lint passes", func(t *testing.T) {
		r := featRepo(t, files, nil)
		run := r.runDaggerJob(t, "lint", host, nil)
		run.wantPassed(t, host)
		run.wantConfiguration(t)
		for _, hook := range []string{"no trailing whitespace", "files end with one newline", "black (Python formatting)", "pylint (Python lint, Django-aware)"} {
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(hook) + `\.+Passed$`).MatchString(run.log) {
				t.Errorf("lint job log has no %q ...Passed line from pre-commit:\n%s", hook, tail(run.log, 60))
			}
		}
	})

	t.Run("test passes", func(t *testing.T) {
		r := featRepo(t, files, nil)
		run := r.runDaggerJob(t, "test", host, nil)
		run.wantPassed(t, host)
		if !regexp.MustCompile(`(?m)^=+ [0-9]+ passed\b.* in [0-9.]+s =+$`).MatchString(run.log) {
			t.Errorf("test job log has no pytest summary of passed tests:\n%s", tail(run.log, 40))
		}
		// the job's artifacts: reports: junit, as gitlab-ci-local keeps a job's artifacts
		report := r.junitArtifact(t, run)
		if !regexp.MustCompile(`<testsuite\b[^>]*\btests="[1-9][0-9]*"`).Match(report) || !bytes.Contains(report, []byte(`failures="0"`)) {
			t.Errorf("the junit.xml artifact is not pytest's report of the passed tests:\n%s", report)
		}
	})

	t.Run("a failed test fails the job and is in its junit report", func(t *testing.T) {
		failing := map[string]string{
			"services/django/tests/test_fails_on_purpose.py": "\"\"\"A test that fails.\"\"\"\n\n\ndef test_fails_on_purpose():\n    \"\"\"Fail.\"\"\"\n    assert 1 + 1 == 3\n",
		}
		r := featRepo(t, files, failing)
		run := r.runFailingDaggerJob(t, "test", host)
		if report := r.junitArtifact(t, run); !bytes.Contains(report, []byte(`name="test_fails_on_purpose"`)) || !bytes.Contains(report, []byte("<failure")) {
			t.Errorf("the junit.xml artifact does not report the failed test:\n%s", report)
		}
	})

	t.Run("lint fails on an undefined name", func(t *testing.T) {
		broken := map[string]string{
			"services/django/catalog/broken.py": "\"\"\"A module with a lint error.\"\"\"\n\n\ndef total():\n    \"\"\"Return a total.\"\"\"\n    return undefined_name + 1\n",
		}
		r := featRepo(t, files, broken)
		run := r.runFailingDaggerJob(t, "lint", host)
		run.wantEngine(t, host)
		want := "services/django/catalog/broken.py:6:11: E0602: Undefined variable 'undefined_name' (undefined-variable)"
		if !strings.Contains(run.log, want) {
			t.Errorf("failed lint job log does not show Pylint's finding %q:\n%s", want, tail(run.log, 60))
		}
		if strings.Contains(run.log, "stage lint: ok") {
			t.Errorf("failed lint job log says the stage passed:\n%s", tail(run.log, 40))
		}
	})

	t.Run("a host key with a space reaches arm-builder as one value", func(t *testing.T) {
		r := checkoutRepo(t, files, nil, "staging")
		// E2C_LAUNCH_TEMPLATE_ID is left unset: the module's preflight stops the phase
		// before it creates an EC2 client, so no AWS endpoint is ever asked. The shipyard
		// function passes each SSH key only when its variable is set, and the module takes
		// both or neither: the client key is set too (the preflight stops before it is read).
		run := r.runDaggerJob(t, "build_arm_ec2", host, map[string]*string{
			"ARM_BUILDER": str("ec2"), "BUILD_ARM64": str("true"), "E2C_SSH_HOST_KEY": str(hostKeyWithSpace),
			"E2C_SSH_PRIVATE_KEY": str("bm90IHJlYWQ="),
		})
		var exit *exec.ExitError
		if !errors.As(run.err, &exit) {
			t.Fatalf("build_arm_ec2 without a launch template: want gitlab-ci-local to exit non-zero, got %v\n%s", run.err, tail(run.log, 60))
		}
		run.wantStatus(t, "FAIL")
		run.wantEngine(t, host)
		// the value as the engine received it: the whole line, in one argument
		if !regexp.MustCompile(`(?m)┆ sshHostKey: "` + regexp.QuoteMeta(hostKeyWithSpace) + `"$`).MatchString(run.log) {
			t.Errorf("build_arm_ec2's calls do not show sshHostKey %q as one argument:\n%s", hostKeyWithSpace, head(run.log, 120))
		}
		// the module ran the preflight: it names the missing variable and does not ask
		// for a host key (it got one)
		preflight := "ARM builder preflight (--arm-builder=ec2)"
		want := `strategy "template" needs a launch template: set E2C_LAUNCH_TEMPLATE_ID`
		if !strings.Contains(run.log, preflight) || !strings.Contains(run.log, want) {
			t.Errorf("build_arm_ec2 log does not show the module's preflight %q with %q:\n%s", preflight, want, tail(run.log, 60))
		}
		if strings.Contains(run.log, `--ssh-host-key="$E2C_SSH_HOST_KEY"`) {
			t.Errorf("the module asks for E2C_SSH_HOST_KEY, so it did not get it:\n%s", tail(run.log, 60))
		}
		// a split value would be an extra word on the command line, which the CLI refuses
		for _, bad := range []string{`unknown command "` + strings.Fields(hostKeyWithSpace)[1], "command not found"} {
			if strings.Contains(run.log, bad) {
				t.Errorf("build_arm_ec2 log shows %q: the function did not pass the value as one word, or is not defined where it is used:\n%s", bad, tail(run.log, 60))
			}
		}
		// setup (before_script) and finish and teardown (after_script, its own shell) each
		// reached the module: the function is defined in both shells
		if n := strings.Count(run.log, "Error: "+preflight); n < 3 {
			t.Errorf("the module's preflight error appears %d times, want 3 (setup, finish, teardown):\n%s", n, tail(run.log, 80))
		}
		if !strings.Contains(run.log, "arm-builder finish failed; tearing the instance down on its own") {
			t.Errorf("after_script did not go on to the teardown after the failed finish:\n%s", tail(run.log, 40))
		}
	})
}

// hostKeyWithSpace is an SSH host key line as a project sets E2C_SSH_HOST_KEY:
// key type, a space, the key.
const hostKeyWithSpace = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDbGNEfbXJg0MeIc9huEIKtwO1y8oDDTtgQnyra3R/px"

// needRsync fails the test when rsync, which gitlab-ci-local copies the
// repository into a job's build folder with, is missing.
func needRsync(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("rsync"); err != nil {
		t.Fatalf("gitlab-ci-local copies the repository with rsync, which is missing (%v): apt-get install -y rsync", err)
	}
}

// needEngine returns the engine address the jobs connect to, failing the test
// (never skipping it) when the dagger CLI is missing or no engine answers there.
// The jobs need a pre-provisioned engine: .dagger points DOCKER_HOST at a
// Docker-in-Docker service, so the CLI could not start one itself.
func needEngine(t *testing.T) string {
	t.Helper()
	host := os.Getenv("_EXPERIMENTAL_DAGGER_RUNNER_HOST")
	if host == "" {
		t.Fatalf("_EXPERIMENTAL_DAGGER_RUNNER_HOST is unset, so the jobs have no engine to connect to; %s", engineHint)
	}
	if _, err := exec.LookPath("dagger"); err != nil {
		t.Fatalf("the dagger CLI is not on PATH (%v); %s", err, engineHint)
	}
	if sock, ok := strings.CutPrefix(host, "unix://"); ok {
		if _, err := os.Stat(sock); err != nil {
			t.Fatalf("no Dagger engine socket at %s (%v); %s", host, err, engineHint)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "dagger", "core", "version")
	cmd.Dir = t.TempDir() // no module to load
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("no Dagger engine answers at %s (dagger core version: %v)\n%s\n%s", host, err, tail(ansi.ReplaceAllString(string(out), ""), 15), engineHint)
	}
	return host
}

// checkoutFiles lists the files of this checkout a commit would hold: the
// tracked ones that still exist and the untracked ones git does not ignore.
func checkoutFiles(t *testing.T) []string {
	t.Helper()
	root := repoRoot(t)
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	cmd.Env = toolEnv(t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("listing the files of %s with git ls-files: %v", root, err)
	}
	var files []string
	for _, f := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		if f == "" {
			continue
		}
		if _, err := os.Lstat(filepath.Join(root, f)); errors.Is(err, os.ErrNotExist) {
			continue // deleted but not yet committed
		}
		files = append(files, f)
	}
	return files
}

// featRepo is checkoutRepo on feat/x.
func featRepo(t *testing.T, files []string, extra map[string]string) *repo {
	t.Helper()
	return checkoutRepo(t, files, extra, "feat/x")
}

// checkoutRepo copies files of this checkout, plus extra (path to content),
// into a throwaway repository checked out on branch, whose one commit holds
// them all, and sets it up to run Dagger jobs with the shell executor.
func checkoutRepo(t *testing.T, files []string, extra map[string]string, branch string) *repo {
	t.Helper()
	root := repoRoot(t)
	r := &repo{dir: t.TempDir(), home: t.TempDir()}
	for _, f := range files {
		if err := copyFile(filepath.Join(root, f), filepath.Join(r.dir, f)); err != nil {
			t.Fatalf("copying the checkout: %v", err)
		}
	}
	for f, content := range extra {
		if err := os.WriteFile(filepath.Join(r.dir, f), []byte(content), 0o644); err != nil {
			t.Fatalf("writing %s: %v", f, err)
		}
	}
	r.commitAll(t, "main", "Copy of the checkout")
	r.git(t, "checkout", "--quiet", "-B", branch)
	if err := os.WriteFile(filepath.Join(r.dir, shellRunnerFile), []byte(shellRunnerYAML), 0o644); err != nil {
		t.Fatalf("writing %s: %v", shellRunnerFile, err)
	}
	r.env = jobEnv(t, r.home)
	return r
}

// copyFile copies one regular file (keeping its mode) or symbolic link,
// making the parent directories of dst.
func copyFile(src, dst string) error {
	info, err := os.Lstat(src)
	if err != nil {
		return fmt.Errorf("reading %s: %w", src, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("making the directory of %s: %w", dst, err)
	}
	switch {
	case info.Mode()&os.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return fmt.Errorf("reading the link %s: %w", src, err)
		}
		return os.Symlink(target, dst)
	case info.Mode().IsRegular():
		data, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("reading %s: %w", src, err)
		}
		return os.WriteFile(dst, data, info.Mode().Perm())
	}
	return nil // a submodule's directory: not part of the app
}

// jobEnv is what gitlab-ci-local runs with, and what its shell jobs inherit
// (it starts them with its own environment plus the job's variables): this
// test's environment without the secrets of unsetSecrets and without
// _EXPERIMENTAL_DAGGER_RUNNER_HOST (runDaggerJob passes it as a CI/CD
// variable), with curl, wget and apk stubs first on PATH that record any call
// so the test can prove the jobs downloaded nothing.
func jobEnv(t *testing.T, home string) []string {
	t.Helper()
	stubs := filepath.Join(home, "stubs")
	if err := os.MkdirAll(stubs, 0o755); err != nil {
		t.Fatalf("making the download stubs: %v", err)
	}
	for _, name := range []string{"curl", "wget", "apk"} {
		script := fmt.Sprintf("#!/bin/sh\necho \"%s $*\" >> %s\nexit 1\n", name, filepath.Join(home, "downloads"))
		if err := os.WriteFile(filepath.Join(stubs, name), []byte(script), 0o755); err != nil {
			t.Fatalf("writing the %s stub: %v", name, err)
		}
	}
	drop := map[string]bool{"_EXPERIMENTAL_DAGGER_RUNNER_HOST": true}
	for _, name := range unsetSecrets {
		drop[name] = true
	}
	var env []string
	for _, kv := range toolEnv(home) {
		name, value, _ := strings.Cut(kv, "=")
		switch {
		case drop[name]:
		case name == "PATH":
			env = append(env, "PATH="+stubs+string(os.PathListSeparator)+value)
		default:
			env = append(env, kv)
		}
	}
	return env
}

// jobRun is what one gitlab-ci-local job run left behind.
type jobRun struct {
	job    string
	stdout string // gitlab-ci-local's own report, e.g. " PASS  lint"
	log    string // the job's log (.gitlab-ci-local/output/<job>.log), colours removed
	err    error  // gitlab-ci-local's exit status
}

// runDaggerJob runs one job of the checked-out branch's pipeline with the
// shell executor (see runOnEngine) and returns what it left behind.
func (r *repo) runDaggerJob(t *testing.T, job, host string, vars map[string]*string) jobRun {
	t.Helper()
	stdout, err := r.runOnEngine(t, host, vars, nil, job)
	return r.jobRun(t, job, stdout, err)
}

// runFailingDaggerJob runs a job that must fail (runDaggerJob): gitlab-ci-local exits non-zero
// and reports the job FAIL.
func (r *repo) runFailingDaggerJob(t *testing.T, job, host string) jobRun {
	t.Helper()
	run := r.runDaggerJob(t, job, host, nil)
	var exit *exec.ExitError
	if !errors.As(run.err, &exit) {
		t.Fatalf("job %s: want it to fail and gitlab-ci-local to exit non-zero, got %v\n%s", job, run.err, tail(run.log, 60))
	}
	run.wantStatus(t, "FAIL")
	return run
}

// junitArtifact is the junit.xml a job published as its artifact, where gitlab-ci-local keeps
// a job's artifacts.
func (r *repo) junitArtifact(t *testing.T, run jobRun) []byte {
	t.Helper()
	report, err := os.ReadFile(filepath.Join(r.dir, ".gitlab-ci-local", "artifacts", run.job, "junit.xml"))
	if err != nil {
		t.Fatalf("job %s published no junit.xml artifact: %v\n%s", run.job, err, tail(run.log, 30))
	}
	return report
}

// runOnEngine runs gitlab-ci-local in the repository with the shell executor
// (--force-shell-executor ignores the jobs' image; --shell-isolation runs each
// job in a copy of the tracked files, as a runner's checkout), the engine at
// host given as the CI/CD variable _EXPERIMENTAL_DAGGER_RUNNER_HOST, the
// secrets of unsetSecrets unset and the CI/CD variables vars, on the jobs named
// (none: the whole pipeline, stage by stage). watch, when set, is called with
// gitlab-ci-local's process id once it runs, and runs beside it. It returns
// gitlab-ci-local's stdout and exit status, and fails the test when the run
// cannot finish in time or a job called curl, wget or apk.
func (r *repo) runOnEngine(t *testing.T, host string, vars map[string]*string, watch func(pid int), jobs ...string) (string, error) {
	t.Helper()
	all := map[string]*string{}
	flags := []string{"--file", shellRunnerFile, "--force-shell-executor", "--shell-isolation", "--no-json-schema-validation"}
	if r.docker != nil {
		// .gitlab-ci.yml itself, its image and services: the CLI starts its own engine
		flags = append(r.docker.args(), "--no-json-schema-validation")
	} else {
		all["_EXPERIMENTAL_DAGGER_RUNNER_HOST"] = str(host)
	}
	for _, name := range unsetSecrets {
		all[name] = nil
	}
	for name, v := range vars {
		all[name] = v
	}
	argv := gitlabCILocalArgs(all, append(flags, jobs...)...)
	timeout := 45 * time.Minute
	if deadline, ok := t.Deadline(); ok && time.Until(deadline)-30*time.Second < timeout {
		timeout = time.Until(deadline) - 30*time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, gitlabCILocal(t), argv...)
	cmd.Dir = r.dir
	cmd.Env = r.environ()
	// Its own process group, so a timeout also stops the job's dagger CLI.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if r.docker != nil {
		reaper := r.docker.serviceReaper(t)
		defer reaper.Close()
		cmd.Stdout = io.MultiWriter(&stdout, reaper)
	}
	what := strings.Join(jobs, " ")
	if what == "" {
		what = "pipeline"
	}
	start := time.Now()
	err := cmd.Start()
	if err == nil {
		if watch != nil {
			go watch(cmd.Process.Pid)
		}
		err = cmd.Wait()
	}
	t.Logf("gitlab-ci-local %s: %s (%v)", what, time.Since(start).Round(time.Second), err)
	if ctx.Err() != nil {
		t.Fatalf("gitlab-ci-local %s did not finish within %s; run go test with a longer -timeout (the first run on a cold engine builds every image)\nstderr:\n%s",
			what, timeout.Round(time.Second), tail(stderr.String(), 40))
	}
	if calls, err := os.ReadFile(filepath.Join(r.home, "downloads")); err == nil {
		t.Errorf("gitlab-ci-local %s: a job called download tools although dagger is on PATH:\n%s", what, calls)
	}
	return stdout.String(), err
}

// jobRun reads the log job left behind in a gitlab-ci-local run that printed
// stdout and ended with err.
func (r *repo) jobRun(t *testing.T, job, stdout string, err error) jobRun {
	t.Helper()
	logData, readErr := os.ReadFile(filepath.Join(r.dir, ".gitlab-ci-local", "output", job+".log"))
	if readErr != nil {
		t.Fatalf("reading the log of job %s: %v (gitlab-ci-local: %v)\noutput:\n%s", job, readErr, err, tail(stdout, 60))
	}
	return jobRun{job: job, stdout: stdout, log: ansi.ReplaceAllString(string(logData), ""), err: err}
}

// wantPassed checks that the job succeeded on the engine at host and that the
// module reports its stage ok.
func (run jobRun) wantPassed(t *testing.T, host string) {
	t.Helper()
	if run.err != nil {
		t.Fatalf("%s job failed on this checkout: %v\n%s", run.job, run.err, tail(run.log, 60))
	}
	run.wantStatus(t, "PASS")
	run.wantEngine(t, host)
	if want := "stage " + run.job + ": ok"; !strings.Contains(run.log, want) {
		t.Errorf("%s job log does not say %q:\n%s", run.job, want, tail(run.log, 40))
	}
}

// wantStatus checks gitlab-ci-local's summary line for the job, PASS or FAIL.
func (run jobRun) wantStatus(t *testing.T, status string) {
	t.Helper()
	if !regexp.MustCompile(`(?m)^\s*` + status + `\s+` + regexp.QuoteMeta(run.job) + `\s*$`).MatchString(run.stdout) {
		t.Errorf("gitlab-ci-local does not report %s %s:\n%s", status, run.job, tail(run.stdout, 15))
	}
}

// wantEngine checks that the job's `dagger version` reached the engine at host,
// so the CLI on PATH was used and the CI/CD variable got through.
func (run jobRun) wantEngine(t *testing.T, host string) {
	t.Helper()
	if !regexp.MustCompile(`(?m)^dagger v\S+ \(` + regexp.QuoteMeta(host) + `\)`).MatchString(run.log) {
		t.Errorf("job %s's `dagger version` does not show the engine %s:\n%s", run.job, host, head(run.log, 15))
	}
}

// wantConfiguration checks that the job's call got the whole configuration of
// the shipyard function (.shipyard-fn), each with-… call of it and every secret
// as env:NAME although those variables were unset, so the run did prove that
// unset env:NAME secrets do not stop a stage that does not read them.
func (run jobRun) wantConfiguration(t *testing.T) {
	t.Helper()
	for _, call := range []string{"withRegistryAuth", "withGitlab", "withLatest", "withArmInstance", "withArmAccess"} {
		if !regexp.MustCompile(`(?m)^.*: Shipyard\.` + call + `\(`).MatchString(run.log) {
			t.Errorf("job %s's call shows no %s; does .shipyard-fn still pass it?\n%s", run.job, call, head(run.log, 100))
		}
	}
	if n := len(regexp.MustCompile(`(?m)^.*: Shipyard\.withRegistryAuth\(`).FindAllString(run.log, -1)); n < 2 {
		t.Errorf("job %s's call shows %d with-registry-auth calls, want 2 (the build and the release registry)", run.job, n)
	}
	for _, name := range unsetSecrets {
		passed := strings.Contains(run.log, `address(value: "env:`+name+`")`)
		if name == "E2C_SSH_PRIVATE_KEY" {
			// passed only when set: strategy template without it makes the job's keys
			if passed {
				t.Errorf("job %s's call passes env:%s although it is unset (.shipyard-fn passes it only when set)", run.job, name)
			}
			continue
		}
		if !passed {
			t.Errorf("job %s's call shows no env:%s secret; does .shipyard-fn still pass it?\n%s", run.job, name, head(run.log, 100))
		}
	}
	if want := `┆ commitRefName: "feat/x"`; !strings.Contains(run.log, want) {
		t.Errorf("job %s's with-gitlab call does not show %s:\n%s", run.job, want, head(run.log, 100))
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// head returns the first n lines of s.
func head(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
