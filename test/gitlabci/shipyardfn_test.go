//go:build full

package gitlabci_test

import (
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
		{"the old pipeline's E2C_USAGE and E2C_BUILD_DIR reach with-old-pipeline", with(map[string]string{"E2C_USAGE": "true", "E2C_BUILD_DIR": "~/builds"}),
			[]string{"with-old-pipeline", "--e2c-usage=true", "--e2c-build-dir=~/builds"}, nil},
	}
	// a file the pattern above would match if the function let the shell glob it
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "web.args.MODE=ci"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var shells []string
	for _, sh := range []string{"dash", "bash", "busybox"} {
		if p, err := exec.LookPath(sh); err == nil {
			shells = append(shells, p)
		}
	}
	if len(shells) == 0 {
		t.Fatal("no POSIX shell (dash, bash, busybox) on PATH")
	}
	for _, file := range []struct {
		name string
		yml  []byte
	}{{".gitlab-ci.yml", ciYAML(t)}, {componentFile, readComponent(t)}} {
		fn := regexp.MustCompile(`(?s)\n\s*(shipyard\(\) \{.*?\n\s*\})\n`).FindSubmatch(file.yml)
		if fn == nil {
			t.Fatalf("%s: no shipyard() { … } function", file.name)
		}
		script := "dagger() { printf '%s\\n' \"$@\"; }\n" + string(fn[1]) + "\nshipyard arm-builder setup\n"
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
