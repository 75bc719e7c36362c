//go:build full

package gitlabci_test

import (
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestShipyardFunctionSSHKeys runs the shipyard shell function of .gitlab-ci.yml and of the
// component, with dagger replaced by a function that prints its arguments one a line, under
// each POSIX shell there is: the SSH key flags are passed exactly when their variables are set
// (so strategy template with the old pipeline's variables alone gets keys made for the job),
// and a host key with a space stays one argument; SHIPYARD_SET and SHIPYARD_BUILD_SECRETS
// become --set flags and with-build-secret calls, a target pattern kept as written; the old
// pipeline's E2C_USAGE and E2C_BUILD_DIR reach with-old-pipeline.
func TestShipyardFunctionSSHKeys(t *testing.T) {
	oldPipeline := map[string]string{
		"E2C_INSTANCE_STRATEGY": "template", "E2C_LAUNCH_TEMPLATE_ID": "lt-0123456789abcdef0",
		"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_DEFAULT_REGION": "eu-north-1",
		"ARM_BUILDER": "ec2", "BUILD_ARM64": "true",
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range oldPipeline {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	const privateFlag = "--ssh-private-key=env:E2C_SSH_PRIVATE_KEY"
	hostFlag := "--ssh-host-key=" + hostKeyWithSpace
	tests := []struct {
		name      string
		vars      map[string]string
		want, not []string
	}{
		{"the old pipeline's variables: no SSH key flag", with(nil), nil, []string{privateFlag, "--ssh-host-key"}},
		{"set but empty: no SSH key flag", with(map[string]string{"E2C_SSH_PRIVATE_KEY": "", "E2C_SSH_HOST_KEY": ""}), nil, []string{privateFlag, "--ssh-host-key"}},
		{"both keys", with(map[string]string{"E2C_SSH_PRIVATE_KEY": "a2V5", "E2C_SSH_HOST_KEY": hostKeyWithSpace}), []string{privateFlag, hostFlag}, nil},
		{"the host key alone reaches the module, which names what is missing", with(map[string]string{"E2C_SSH_HOST_KEY": hostKeyWithSpace}), []string{hostFlag}, []string{privateFlag}},
		{"bake overrides and build secrets from CI/CD variables, a pattern not globbed",
			with(map[string]string{"SHIPYARD_SET": "*.args.MODE=ci TAG_SUFFIX=-x", "SHIPYARD_BUILD_SECRETS": "npm=NPM_TOKEN pip=PIP_CONF"}),
			[]string{"--set=*.args.MODE=ci", "--set=TAG_SUFFIX=-x", "with-build-secret", "--id=npm", "--secret=env:NPM_TOKEN", "--id=pip", "--secret=env:PIP_CONF"},
			[]string{"--set=web.args"}},
		{"no bake overrides or build secrets", with(nil), nil, []string{"--set", "with-build-secret"}},
		{"E2C_TTL reaches with-arm-instance --ttl", with(map[string]string{"E2C_TTL": "90m"}), []string{"--ttl=90m"}, nil},
		{"no E2C_TTL: the module's default", with(nil), nil, []string{"--ttl"}},
		{"the old pipeline's E2C_USAGE and E2C_BUILD_DIR reach with-old-pipeline", with(map[string]string{"E2C_USAGE": "true", "E2C_BUILD_DIR": "~/builds"}),
			[]string{"with-old-pipeline", "--usage=true", "--build-dir=~/builds"}, nil},
	}
	// a file the pattern above would match if the function let the shell glob it
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "web.args.MODE=ci"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	shells := posixShells(t)
	for _, file := range shipyardFunctions(t) {
		script := "dagger() { printf '%s\\n' \"$@\"; }\n" + file.fn + "\nshipyard arm-builder setup\n"
		for _, sh := range shells {
			for _, tt := range tests {
				t.Run(file.name+"/"+sh+"/"+tt.name, func(t *testing.T) {
					args := []string{"-c", script}
					if strings.HasSuffix(sh, "busybox") {
						args = append([]string{"sh"}, args...)
					}
					cmd := exec.Command(sh, args...)
					cmd.Dir = dir
					cmd.Env = []string{"PATH=/usr/bin:/bin"}
					for k, v := range tt.vars {
						cmd.Env = append(cmd.Env, k+"="+v)
					}
					out, err := cmd.CombinedOutput()
					if err != nil {
						t.Fatalf("%v:\n%s", err, out)
					}
					got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
					if got[0] != "call" || got[len(got)-2] != "arm-builder" || got[len(got)-1] != "setup" {
						t.Fatalf("dagger got %q, want call … arm-builder setup", got)
					}
					for _, w := range tt.want {
						if !slices.Contains(got, w) {
							t.Errorf("dagger's arguments lack %q:\n%s", w, out)
						}
					}
					// constructor flags come before the first with-… call
					if i, j := slices.IndexFunc(got, func(a string) bool { return strings.HasPrefix(a, "--set=") }), slices.Index(got, "with-registry-auth"); i > j {
						t.Errorf("a --set comes after with-registry-auth, where dagger takes it for a flag of that call:\n%s", out)
					}
					for _, n := range tt.not {
						for _, a := range got {
							if strings.HasPrefix(a, n) {
								t.Errorf("dagger got %q, want no %s:\n%s", a, n, out)
							}
						}
					}
				})
			}
		}
	}
}

// TestShipyardFunctionRetriesALostSession runs the shipyard function of both files under every
// POSIX shell there is, with set -e as GitLab runs job scripts, against a dagger that fails as
// Dagger v0.19.10 does when the engine loses the CLI's session while loading the module: the
// call runs once more, and only once, and only for that error; dagger's stdout stays on stdout
// and its stderr reaches the job log; the exit status is dagger's.
func TestShipyardFunctionRetriesALostSession(t *testing.T) {
	const lost = `Error: failed to get configured module: input: resolve: failed to get requester session: session for "abc" not found`
	tests := []struct {
		name      string
		failures  int    // how many calls fail before one succeeds
		message   string // what a failing call writes to stderr
		wantCalls int
		wantExit  bool // the function fails
		retried   bool
	}{
		{"a lost session is retried once", 1, lost, 2, false, true},
		{"a second loss fails the job", 2, lost, 2, true, true},
		{"any other failure is not retried", 1, "Error: stage lint failed: lint command failed", 1, true, false},
		{"success runs once", 0, "", 1, false, false},
	}
	shells := posixShells(t)
	for _, file := range shipyardFunctions(t) {
		for _, sh := range shells {
			for _, tt := range tests {
				t.Run(file.name+"/"+filepath.Base(sh)+"/"+tt.name, func(t *testing.T) {
					count := filepath.Join(t.TempDir(), "calls")
					fake := fmt.Sprintf(`dagger() {
  n=$(cat %[1]q 2>/dev/null || echo 0); n=$((n+1)); echo "$n" >%[1]q
  if [ "$n" -le %[2]d ]; then echo %[3]q >&2; return 1; fi
  echo "stdout of the call"
}
`, count, tt.failures, tt.message)
					script := fake + file.fn + "\nshipyard release --only=lint\necho after\n"
					args := []string{"-e", "-c", script}
					if strings.HasSuffix(sh, "busybox") {
						args = append([]string{"sh"}, args...)
					}
					cmd := exec.Command(sh, args...)
					cmd.Env = []string{"PATH=/usr/bin:/bin"}
					var stdout, stderr strings.Builder
					cmd.Stdout, cmd.Stderr = &stdout, &stderr
					err := cmd.Run()
					if tt.wantExit != (err != nil) {
						t.Errorf("the job's shell: err = %v, want failure %v\nstdout:\n%s\nstderr:\n%s", err, tt.wantExit, stdout.String(), stderr.String())
					}
					if tt.wantExit == strings.Contains(stdout.String(), "after") {
						t.Errorf("the script went on after the call: %v\n%s", tt.wantExit, stdout.String())
					}
					calls, _ := os.ReadFile(count)
					if got := strings.TrimSpace(string(calls)); got != fmt.Sprint(tt.wantCalls) {
						t.Errorf("dagger ran %s times, want %d\nstderr:\n%s", got, tt.wantCalls, stderr.String())
					}
					if got := strings.Contains(stderr.String(), "running the call once more"); got != tt.retried {
						t.Errorf("the retry message: %v, want %v\nstderr:\n%s", got, tt.retried, stderr.String())
					}
					if tt.message != "" && !strings.Contains(stderr.String(), tt.message) {
						t.Errorf("dagger's stderr is not in the job log:\n%s", stderr.String())
					}
					if !tt.wantExit && (!strings.Contains(stdout.String(), "stdout of the call") || strings.Contains(stderr.String(), "stdout of the call")) {
						t.Errorf("dagger's stdout is not on stdout alone\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
					}
				})
			}
		}
	}
}

// posixShells are the POSIX shells on PATH that GitLab's job images run scripts with.
func posixShells(t *testing.T) []string {
	t.Helper()
	var shells []string
	for _, sh := range []string{"dash", "bash", "busybox"} {
		if p, err := exec.LookPath(sh); err == nil {
			shells = append(shells, p)
		}
	}
	if len(shells) == 0 {
		t.Fatal("no POSIX shell (dash, bash, busybox) on PATH")
	}
	return shells
}

// shipyardFunctions are the shipyard() shell functions of .gitlab-ci.yml and of the component.
func shipyardFunctions(t *testing.T) []struct{ name, fn string } {
	t.Helper()
	var out []struct{ name, fn string }
	for _, file := range []struct {
		name string
		yml  []byte
	}{{".gitlab-ci.yml", ciYAML(t)}, {componentFile, readComponent(t)}} {
		fn := regexp.MustCompile(`(?s)\n\s*(shipyard\(\) \{.*?\n\s*\})\n`).FindSubmatch(file.yml)
		if fn == nil {
			t.Fatalf("%s: no shipyard() { … } function", file.name)
		}
		out = append(out, struct{ name, fn string }{file.name, string(fn[1])})
	}
	return out
}

// TestShipyardFunctionCarriesTheCache runs the shipyard function of both files under every POSIX
// shell there is, with dagger replaced by a function that prints the cache variables and the
// Docker config the CLI would read: with SHIPYARD_CACHE_REF the call imports every job's tag of
// the ref (and this job's of the default branch) and exports this job's, waits for the export,
// and reads a Docker config of its own that logs CI_REGISTRY_USER in to the cache's host, which
// is gone after the call with DOCKER_CONFIG as it was; without it nothing changes; with it and
// no CI_REGISTRY_PASSWORD the function fails before calling dagger, naming the variable.
func TestShipyardFunctionCarriesTheCache(t *testing.T) {
	const fake = `dagger() {
  echo "import=${_EXPERIMENTAL_DAGGER_CACHE_IMPORT_CONFIG:-}"
  echo "export=${_EXPERIMENTAL_DAGGER_CACHE_EXPORT_CONFIG:-}"
  echo "shutdown=${_EXPERIMENTAL_DAGGER_SHUTDOWN_TIMEOUT:-}"
  echo "config=$(cat "${DOCKER_CONFIG:-/nonexistent}/config.json" 2>/dev/null)"
  echo "$DOCKER_CONFIG" >"$PWD/dcfg"
}
`
	base := []string{"PATH=/usr/bin:/bin", "CI_COMMIT_REF_SLUG=feat-x", "CI_COMMIT_REF_NAME=feat/x", "CI_DEFAULT_BRANCH=main",
		"CI_JOB_NAME=test", "CI_REGISTRY_USER=gitlab-ci-token"}
	const ref = "registry.example.test:5050/group/app/dagger-cache"
	auth := base64.StdEncoding.EncodeToString([]byte("gitlab-ci-token:job-token-value"))
	tests := []struct {
		name     string
		env      []string
		want     []string
		wantFail string
	}{
		{"no cache: nothing set", nil, []string{"import=", "export=", "shutdown=", "config=", "after="}, ""},
		{"the cache in the registry", []string{"SHIPYARD_CACHE_REF=" + ref, "CI_REGISTRY_PASSWORD=job-token-value"}, []string{
			"import=type=registry,ref=" + ref + ":feat-x-lint;type=registry,ref=" + ref + ":feat-x-test;type=registry,ref=" + ref + ":feat-x-build;type=registry,ref=" + ref + ":feat-x-build_arm_ec2;type=registry,ref=" + ref + ":feat-x-build_manifests;type=registry,ref=" + ref + ":feat-x-release;type=registry,ref=" + ref + ":main-test",
			"export=type=registry,ref=" + ref + ":feat-x-test,mode=max",
			"shutdown=15m",
			`config={"auths":{"registry.example.test:5050":{"auth":"` + auth + `"}}}`,
			"after=/kept"}, ""},
		{"no password: the job fails naming it", []string{"SHIPYARD_CACHE_REF=" + ref}, nil, "CI_REGISTRY_PASSWORD is empty"},
	}
	for _, file := range shipyardFunctions(t) {
		for _, sh := range posixShells(t) {
			for _, tt := range tests {
				t.Run(file.name+"/"+filepath.Base(sh)+"/"+tt.name, func(t *testing.T) {
					dir := t.TempDir()
					prev := ""
					if strings.HasPrefix(tt.name, "the cache") {
						prev = "DOCKER_CONFIG=/kept; export DOCKER_CONFIG\n"
					}
					script := "set -e\n" + fake + file.fn + "\n" + prev + "shipyard release --only=test\necho \"after=${DOCKER_CONFIG:-}\"\n"
					args := []string{"-c", script}
					if strings.HasSuffix(sh, "busybox") {
						args = append([]string{"sh"}, args...)
					}
					cmd := exec.Command(sh, args...)
					cmd.Dir = dir
					cmd.Env = append(append([]string(nil), base...), tt.env...)
					out, err := cmd.CombinedOutput()
					if tt.wantFail != "" {
						if err == nil || !strings.Contains(string(out), tt.wantFail) || strings.Contains(string(out), "import=") {
							t.Fatalf("want the function to fail before dagger, saying %q; got %v:\n%s", tt.wantFail, err, out)
						}
						return
					}
					if err != nil {
						t.Fatalf("%v:\n%s", err, out)
					}
					lines := strings.Split(strings.TrimSpace(string(out)), "\n")
					for _, w := range tt.want {
						if !slices.Contains(lines, w) {
							t.Errorf("want the line %q:\n%s", w, out)
						}
					}
					if used, err := os.ReadFile(filepath.Join(dir, "dcfg")); err == nil && tt.env != nil {
						if d := strings.TrimSpace(string(used)); d == "/kept" || d == "" {
							t.Errorf("the call read DOCKER_CONFIG %q, want a config of its own", d)
						} else if _, err := os.Stat(d); err == nil {
							t.Errorf("the call's Docker config %s is still there after it", d)
						}
					}
				})
			}
		}
	}
}
