//go:build full

package api

// The copies of Go definitions in the repository's documents and pipelines. They run in the full
// tier (hack/test), on the whole checkout: the module's lint stage runs this repository's fast
// tier on its source, which leaves the Markdown out.

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"shipyard/internal/e2c"
	"shipyard/internal/enginever"
	"shipyard/internal/latest"
)

// copyOf is one copy outside Go of a Go definition: where (a file of the repository and a
// regular expression whose first group is the copy) and what it must say.
type copyOf struct {
	file, what, re string
	want           goDefault
	// optional: a file without the copy is fine (a go.mod that does not require the module)
	optional bool
}

// check reports a copy that differs from its definition, naming the file and the value to set.
func (c copyOf) check(t *testing.T) {
	t.Helper()
	m := regexp.MustCompile(c.re).FindStringSubmatch(read(t, c.file))
	switch {
	case m == nil && c.optional:
	case m == nil:
		t.Errorf("%s: no %s found (%s): set it to %q (%s), or fix the pattern in test/api/defaults_test.go", c.file, c.what, c.re, c.want.text(), c.want.name)
	case !c.want.equals(m[1]):
		t.Errorf("%s: %s is %q; set it to %q (%s)", c.file, c.what, m[1], c.want.text(), c.want.name)
	}
}

// TestEngineVersionCopies: the pinned engine version has one definition, enginever.Version; the
// module manifests, the Go modules' requirement of Dagger's Go SDK, the CLI version the GitLab
// pipelines install, hack/engine's toolchain, the docs' tables and every mention of the engine
// image in the module's and the Markdown docs repeat it.
func TestEngineVersionCopies(t *testing.T) {
	v := goDefault{"enginever.Version", enginever.Version}
	bare := goDefault{`enginever.Version without its "v"`, strings.TrimPrefix(enginever.Version, "v")}
	for _, manifest := range []string{"dagger.json", "examples/goapp/dagger.json"} {
		var module struct {
			EngineVersion string `json:"engineVersion"`
		}
		if err := json.Unmarshal([]byte(read(t, manifest)), &module); err != nil {
			t.Fatalf("%s: %v", manifest, err)
		}
		if module.EngineVersion != enginever.Version {
			t.Errorf("%s: engineVersion is %q; set it to %q (enginever.Version)", manifest, module.EngineVersion, enginever.Version)
		}
	}
	copies := []copyOf{
		{file: "go.mod", what: "the requirement of dagger.io/dagger", re: `(?m)^\s*(?:require\s+)?dagger\.io/dagger (\S+)`, want: v},
		{file: "hack/engine", what: "DAGGER_VERSION", re: `(?m)^DAGGER_VERSION=(\S+)$`, want: v},
		{file: ".gitlab-ci.yml", what: "DAGGER_VERSION", re: `(?m)^\s*DAGGER_VERSION: "([^"]*)"`, want: bare},
		{file: "templates/shipyard.yml", what: "the input dagger-version's default", re: `dagger-version:\n\s*default: "([^"]*)"`, want: bare},
		{file: "docs/gitlab-ci.md", what: "DAGGER_VERSION's default", re: "(?m)^\\| `DAGGER_VERSION` \\| \\w+ \\| `([^`]*)` \\|", want: bare},
		{file: "README.md", what: "the input dagger-version's default", re: "(?m)^\\| `dagger-version` \\| `([^`]*)` \\|", want: bare},
	}
	for _, mod := range []string{"ci/go.mod", "examples/goapp/go.mod", "test/bakediff/go.mod"} {
		copies = append(copies, copyOf{file: mod, what: "the requirement of dagger.io/dagger", re: `(?m)^\s*(?:require\s+)?dagger\.io/dagger (\S+)`, want: v, optional: true})
	}
	for _, c := range copies {
		c.check(t)
	}
	// the module's docs (`dagger functions` shows them) and the Markdown docs name the image
	image := regexp.MustCompile(`registry\.dagger\.io/engine:(v[0-9][^\s@` + "`" + `"',)]*)`)
	docs, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	sources, err := filepath.Glob("../../ci/*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(append(docs, sources...), "../../README.md") {
		f = strings.TrimPrefix(f, "../../")
		if strings.HasSuffix(f, "dagger.gen.go") {
			continue
		}
		for n, line := range strings.Split(read(t, f), "\n") {
			for _, m := range image.FindAllStringSubmatch(line, -1) {
				if m[1] != enginever.Version {
					t.Errorf("%s:%d: names the engine image %s; set it to %s (enginever.Image)", f, n+1, m[0], enginever.Image)
				}
			}
		}
	}
}

// TestPipelineDefaults: the GitLab pipelines' variables, the component's inputs and the docs'
// tables repeat the module's defaults.
func TestPipelineDefaults(t *testing.T) {
	region := goDefault{"e2c.DefaultRegion", e2c.DefaultRegion}
	strategy := goDefault{"e2c.StrategyTemplate", e2c.StrategyTemplate}
	user := goDefault{"e2c.DefaultSSHUser", e2c.DefaultSSHUser}
	port := goDefault{"e2c.DefaultSSHPort", e2c.DefaultSSHPort}
	auto := goDefault{"latest.Auto", latest.Auto}
	variable := func(name string) string { return `(?m)^\s*` + name + `: "([^"]*)"` }
	row := func(name string) string { return "(?m)^\\| `" + name + "` \\| \\w+ \\| `([^`]*)` \\|" }
	var copies []copyOf
	input := func(name string) string { return `(?m)^\s*` + name + `:\n\s*default: "([^"]*)"` }
	copies = append(copies,
		copyOf{file: ".gitlab-ci.yml", what: "AWS_DEFAULT_REGION", re: variable("AWS_DEFAULT_REGION"), want: region},
		copyOf{file: ".gitlab-ci.yml", what: "E2C_INSTANCE_STRATEGY", re: variable("E2C_INSTANCE_STRATEGY"), want: strategy},
		copyOf{file: ".gitlab-ci.yml", what: "E2C_SSH_USER", re: variable("E2C_SSH_USER"), want: user},
		// the component's variables are its inputs', whose defaults repeat the module's
		copyOf{file: "templates/shipyard.yml", what: "the input ec2-region's default", re: input("ec2-region"), want: region},
		copyOf{file: "templates/shipyard.yml", what: "the input ec2-instance-strategy's default", re: input("ec2-instance-strategy"), want: strategy},
		copyOf{file: "templates/shipyard.yml", what: "the input ec2-ssh-user's default", re: input("ec2-ssh-user"), want: user},
		copyOf{file: "README.md", what: "the input ec2-region's default", re: "(?m)^\\| `ec2-region` \\| `([^`]*)` \\|", want: region},
	)
	for _, yml := range []string{".gitlab-ci.yml", "templates/shipyard.yml"} {
		copies = append(copies, copyOf{file: yml, what: "E2C_SSH_PORT", re: variable("E2C_SSH_PORT"), want: port})
	}
	copies = append(copies,
		copyOf{file: ".gitlab-ci.yml", what: "UPDATE_LATEST_STRATEGY", re: variable("UPDATE_LATEST_STRATEGY"), want: auto},
		copyOf{file: "templates/shipyard.yml", what: "the input update-latest-strategy's default", re: `update-latest-strategy:\n\s*default: "([^"]*)"`, want: auto},
		copyOf{file: "README.md", what: "the input update-latest-strategy's default", re: "(?m)^\\| `update-latest-strategy` \\| `([^`]*)` \\|", want: auto},
		copyOf{file: "docs/gitlab-ci.md", what: "AWS_DEFAULT_REGION's default", re: row("AWS_DEFAULT_REGION"), want: region},
		copyOf{file: "docs/gitlab-ci.md", what: "E2C_INSTANCE_STRATEGY's default", re: row("E2C_INSTANCE_STRATEGY"), want: strategy},
		copyOf{file: "docs/gitlab-ci.md", what: "E2C_SSH_USER's default", re: row("E2C_SSH_USER"), want: user},
		copyOf{file: "docs/gitlab-ci.md", what: "E2C_SSH_PORT's default", re: row("E2C_SSH_PORT"), want: port},
		copyOf{file: "docs/gitlab-ci.md", what: "UPDATE_LATEST_STRATEGY's default", re: row("UPDATE_LATEST_STRATEGY"), want: auto},
		copyOf{file: "docs/gitlab-ci.md", what: "E2C_READY_TIMEOUT's default", re: row("E2C_READY_TIMEOUT"), want: goDefault{"e2c.DefaultReadyTimeout", e2c.DefaultReadyTimeout}},
		copyOf{file: "docs/gitlab-ci.md", what: "E2C_TTL's default", re: row("E2C_TTL"), want: goDefault{"e2c.DefaultTTL", e2c.DefaultTTL}},
	)
	for _, c := range copies {
		c.check(t)
	}
}
