package api

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"shipyard/internal/attest"
	"shipyard/internal/e2c"
	"shipyard/internal/enginever"
	"shipyard/internal/latest"
	"shipyard/internal/plan"
	"shipyard/internal/provision"
	"shipyard/internal/rules"
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

// goDefault is a Go definition that a text outside Go repeats: its name, for messages, and its
// value (a string, a number or a time.Duration).
type goDefault struct {
	name  string
	value any
}

// text is the value as the copies spell it: a duration in its shortest form ("3h", "10m").
func (d goDefault) text() string {
	if v, ok := d.value.(time.Duration); ok {
		s := v.String()
		if strings.HasSuffix(s, "m0s") {
			s = strings.TrimSuffix(s, "0s")
		}
		if strings.HasSuffix(s, "h0m") {
			s = strings.TrimSuffix(s, "0m")
		}
		return s
	}
	return fmt.Sprint(d.value)
}

// equals tells whether the copy s says the value: durations are compared as durations.
func (d goDefault) equals(s string) bool {
	if v, ok := d.value.(time.Duration); ok {
		got, err := time.ParseDuration(s)
		return err == nil && got == v
	}
	return s == fmt.Sprint(d.value)
}

// pragmaDefaults are the Go definitions the +default pragmas of the module's functions repeat,
// by function and argument: Dagger reads a pragma as text, so it cannot name the constant.
var pragmaDefaults = map[string]goDefault{
	"WithArmInstance.instanceStrategy": {"e2c.StrategyTemplate", e2c.StrategyTemplate},
	"WithArmInstance.region":           {"e2c.DefaultRegion", e2c.DefaultRegion},
	"WithArmInstance.ttl":              {"e2c.DefaultTTL", e2c.DefaultTTL},
	"WithArmInstance.onBuilderLoss":    {"plan.LossQEMU", plan.LossQEMU},
	"WithArmAccess.sshUser":            {"e2c.DefaultSSHUser", e2c.DefaultSSHUser},
	"WithArmAccess.sshPort":            {"e2c.DefaultSSHPort", e2c.DefaultSSHPort},
	"WithArmAccess.remoteSocket":       {"provision.EngineSocket", provision.EngineSocket},
	"WithArmProvisioning.readyTimeout": {"e2c.DefaultReadyTimeout", e2c.DefaultReadyTimeout},
	"WithArmProvisioning.idleShutdown": {"provision.DefaultIdleShutdown", provision.DefaultIdleShutdown},
	"WithSigning.sbomFormat":           {"attest.FormatSPDX", attest.FormatSPDX},
	"WithGitlab.defaultBranch":         {"rules.MainBranch", rules.MainBranch},
	"WithLatest.updateLatestStrategy":  {"latest.Auto", latest.Auto},
	"Plan.format":                      {"plan.FormatText", plan.FormatText},
}

// pragma is one +default pragma of a module function's argument.
type pragma struct {
	at    string // file:line in the repository
	value string // unquoted
}

// pragmas returns the +default pragmas of the functions in ci/, by function and argument.
func pragmas(t *testing.T) map[string]pragma {
	t.Helper()
	fset, files := sources(t)
	out := map[string]pragma{}
	for _, file := range files {
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			// an argument's pragmas are the comments between the argument before it and itself
			from := fn.Type.Params.Opening
			for _, field := range fn.Type.Params.List {
				for _, c := range file.Comments {
					if c.Pos() < from || c.End() > field.Pos() {
						continue
					}
					for _, line := range c.List {
						v, ok := strings.CutPrefix(line.Text, "// +default=")
						if !ok {
							continue
						}
						if u, err := strconv.Unquote(v); err == nil {
							v = u
						}
						for _, name := range field.Names {
							at := fset.Position(line.Pos())
							out[fn.Name.Name+"."+name.Name] = pragma{at: fmt.Sprintf("%s:%d", strings.TrimPrefix(at.Filename, "../../"), at.Line), value: v}
						}
					}
				}
				from = field.End()
			}
		}
	}
	return out
}

// The +default pragmas of the module's functions equal the Go definitions they repeat, and each
// has one.
func TestPragmaDefaults(t *testing.T) {
	got := pragmas(t)
	for arg, p := range got {
		want, ok := pragmaDefaults[arg]
		switch {
		case !ok:
			t.Errorf("%s: %s has +default=%q, which no Go definition backs: add the constant it repeats to pragmaDefaults in test/api/defaults_test.go", p.at, arg, p.value)
		case !want.equals(p.value):
			t.Errorf("%s: %s has +default=%q; set it to %q (%s)", p.at, arg, p.value, want.text(), want.name)
		}
	}
	for arg := range pragmaDefaults {
		if _, ok := got[arg]; !ok {
			t.Errorf("no +default pragma for %s in ci/: drop it from pragmaDefaults, or did the parsing miss it?", arg)
		}
	}
}

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
	)
	for _, c := range copies {
		c.check(t)
	}
}
