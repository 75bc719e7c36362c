package api

import (
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"shipyard/internal/e2c"
	"shipyard/internal/plan"
	"shipyard/internal/provision"
)

// read returns a file of the repository.
func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile("../../" + path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// pragmaDefault matches an argument's +default pragma and the argument it belongs to.
var pragmaDefault = regexp.MustCompile(`//\s*\+default=(\S+)\n(?:\s*//.*\n)*\s*(\w+)\s`)

// The ARM builder's defaults have one definition in Go; the pragmas of the module's with-arm-…
// functions (which Dagger reads as text) repeat them, and must agree.
func TestARMBuilderPragmaDefaults(t *testing.T) {
	got := map[string]string{}
	for _, m := range pragmaDefault.FindAllStringSubmatch(read(t, "ci/e2c.go"), -1) {
		got[m[2]] = strings.Trim(m[1], `"`)
	}
	texts := map[string]string{
		"instanceStrategy": e2c.StrategyTemplate,
		"region":           e2c.DefaultRegion,
		"onBuilderLoss":    plan.LossQEMU,
		"sshUser":          e2c.DefaultSSHUser,
		"sshPort":          strconv.Itoa(e2c.DefaultSSHPort),
		"remoteSocket":     provision.EngineSocket,
	}
	durations := map[string]time.Duration{
		"ttl":          e2c.DefaultTTL,
		"readyTimeout": e2c.DefaultReadyTimeout,
		"idleShutdown": provision.DefaultIdleShutdown,
	}
	for arg, want := range texts {
		if got[arg] != want {
			t.Errorf("ci/e2c.go: %s's +default is %q, the Go default %q", arg, got[arg], want)
		}
	}
	for arg, want := range durations {
		d, err := time.ParseDuration(got[arg])
		if err != nil || d != want {
			t.Errorf("ci/e2c.go: %s's +default is %q, the Go default %s", arg, got[arg], want)
		}
	}
}

// The pinned engine version has one definition (provision.EngineVersion); dagger.json, go.mod and
// the CLI version the GitLab pipelines install repeat it. The pipelines' variable defaults repeat
// the builder's.
func TestCopiesOutsideGo(t *testing.T) {
	var module struct {
		EngineVersion string `json:"engineVersion"`
	}
	if err := json.Unmarshal([]byte(read(t, "dagger.json")), &module); err != nil {
		t.Fatal(err)
	}
	bare := strings.TrimPrefix(provision.EngineVersion, "v")
	checks := []struct{ where, text, want string }{
		{"dagger.json engineVersion", module.EngineVersion, provision.EngineVersion},
		{"go.mod dagger.io/dagger", find(t, read(t, "go.mod"), `(?m)^\s*dagger\.io/dagger (\S+)`), provision.EngineVersion},
		{".gitlab-ci.yml DAGGER_VERSION", find(t, read(t, ".gitlab-ci.yml"), `DAGGER_VERSION: "([^"]*)"`), bare},
		{"templates/shipyard.yml dagger-version", find(t, read(t, "templates/shipyard.yml"), `dagger-version:\n\s*default: "([^"]*)"`), bare},
	}
	for _, yml := range []string{".gitlab-ci.yml", "templates/shipyard.yml"} {
		text := read(t, yml)
		checks = append(checks,
			struct{ where, text, want string }{yml + " AWS_DEFAULT_REGION", find(t, text, `AWS_DEFAULT_REGION: "([^"]*)"`), e2c.DefaultRegion},
			struct{ where, text, want string }{yml + " E2C_INSTANCE_STRATEGY", find(t, text, `E2C_INSTANCE_STRATEGY: "([^"]*)"`), e2c.StrategyTemplate},
			struct{ where, text, want string }{yml + " E2C_SSH_USER", find(t, text, `E2C_SSH_USER: "([^"]*)"`), e2c.DefaultSSHUser},
			struct{ where, text, want string }{yml + " E2C_SSH_PORT", find(t, text, `E2C_SSH_PORT: "([^"]*)"`), strconv.Itoa(e2c.DefaultSSHPort)},
		)
	}
	for _, c := range checks {
		if c.text != c.want {
			t.Errorf("%s is %q, want %q", c.where, c.text, c.want)
		}
	}
}

// find returns the first group of re in text.
func find(t *testing.T, text, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(text)
	if m == nil {
		t.Errorf("no %s", re)
		return ""
	}
	return m[1]
}
