package repoconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func boolp(b bool) *bool { return &b }

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want *Config
	}{
		{"empty file", "", &Config{File: "shipyard.hcl"}},
		{"comments only", "# nothing configured yet\n// still nothing\n", &Config{File: "shipyard.hcl"}},
		{"project only", `project = "goapp"`, &Config{File: "shipyard.hcl", Project: "goapp"}},
		{"empty blocks", "lint {}\n", &Config{File: "shipyard.hcl", Lint: &Lint{}}},
		{"everything", `
project = "shop.front_end-2"

lint {
  image           = "debian:bookworm"
  packages        = ["shellcheck", "python3-django=3:3.2.19-1+deb12u1"]
  command         = ["shellcheck", "run.sh"]
  pre_commit_skip = ["gofmt", "go-vet"]
  go_checks       = false
}

test {
  target      = "app-test"
  command     = ["go", "test", "./..."]
  report      = "/tmp/junit.xml"
  environment = { A = "1", B_2 = 5432, C = true, EMPTY = "" }

  service "db" {
    target      = "postgres"
    port        = 5432
    environment = { POSTGRES_PASSWORD = "pw" }
  }
  service "cache-1" {
    target = "redis"
    port   = 6379
  }
  service "mq" {
    image = "rabbitmq:3-management"
    port  = 5672
  }
}
`, &Config{
			File: "shipyard.hcl", Project: "shop.front_end-2",
			Lint: &Lint{Image: "debian:bookworm", Packages: []string{"shellcheck", "python3-django=3:3.2.19-1+deb12u1"},
				Command: []string{"shellcheck", "run.sh"}, PreCommitSkip: []string{"gofmt", "go-vet"}, GoChecks: boolp(false)},
			Test: &Test{Target: "app-test", Command: []string{"go", "test", "./..."}, Report: "/tmp/junit.xml",
				Environment: map[string]string{"A": "1", "B_2": "5432", "C": "true", "EMPTY": ""},
				Services: []Service{
					{Alias: "db", Target: "postgres", Port: 5432, Environment: map[string]string{"POSTGRES_PASSWORD": "pw"}},
					{Alias: "cache-1", Target: "redis", Port: 6379},
					{Alias: "mq", Image: "rabbitmq:3-management", Port: 5672},
				}},
		}},
		{"test without services or report", `test {
  target  = "t"
  command = ["make", "test"]
}`, &Config{File: "shipyard.hcl", Test: &Test{Target: "t", Command: []string{"make", "test"}}}},
		{"empty lists", `lint {
  packages = []
  pre_commit_skip = []
}`, &Config{File: "shipyard.hcl", Lint: &Lint{Packages: []string{}, PreCommitSkip: []string{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("shipyard.hcl", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Parse (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		kind error
		// want are substrings of the message: the position first, then what to write.
		want []string
	}{
		{"syntax", "project = \n", ErrSyntax, []string{"shipyard.hcl:1:", "fix the HCL syntax"}},
		{"unterminated block", "lint {\n", ErrSyntax, []string{"shipyard.hcl:1:"}},
		{"unknown top-level attribute", "\nprojet = \"x\"\n", ErrInvalid,
			[]string{"shipyard.hcl:2:1: ", `unknown attribute "projet" (did you mean project?)`, "project = \"NAME\""}},
		{"unknown top-level block", "build {}\n", ErrInvalid, []string{"shipyard.hcl:1:1: ", `unknown block "build"`, "lint { … } and test { … }"}},
		{"block written as attribute", "lint = {}\n", ErrInvalid, []string{"shipyard.hcl:1:1: ", "lint is a block, not an attribute: write lint { … } without ="}},
		{"attribute written as block", "project {}\n", ErrInvalid, []string{"shipyard.hcl:1:1: ", "project is an attribute, not a block"}},
		{"two lint blocks", "lint {}\nlint {}\n", ErrInvalid, []string{"shipyard.hcl:2:1: ", "a second lint block (the first is at shipyard.hcl:1:1): merge them"}},
		{"labelled lint", "lint \"x\" {}\n", ErrInvalid, []string{"shipyard.hcl:1:6: ", "the lint block takes no label"}},
		{"project not a string", "project = 3\n", ErrInvalid, []string{"shipyard.hcl:1:11: ", "project must be a string, not a number"}},
		{"project upper case", "project = \"My App\"\n", ErrInvalid, []string{"shipyard.hcl:1:11: ", `project "My App" is not a valid image name part`, `project = "my-app"`}},
		{"variables refused", "project = name\n", ErrInvalid, []string{"shipyard.hcl:1:11: ", "Variables not allowed", "literal values only"}},
		{"functions refused", "project = lower(\"A\")\n", ErrInvalid, []string{"shipyard.hcl:1:11: ", "literal values only"}},
		{"null", "project = null\n", ErrInvalid, []string{"shipyard.hcl:1:11: ", "project is null"}},
		{"lint unknown attribute", "lint {\n  packges = [\"x\"]\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:2:3: ", `lint: unknown attribute "packges" (did you mean packages?)`, "lint takes image, packages, command, pre_commit_skip and go_checks"}},
		{"lint packages not a list", "lint {\n  packages = \"git black\"\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:2:14: ", "lint.packages must be a list of strings, not a string"}},
		{"lint package with a space", "lint {\n  packages = [\"git black\"]\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:2:14: ", `"git black" is not a Debian package name (one name per string`}},
		{"lint package not a string", "lint {\n  packages = [\"git\", 3]\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:2:14: ", "element 2 is a number: quote it"}},
		{"lint empty command", "lint {\n  command = []\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:2:13: ", "lint.command is empty", `command = ["sh", "-c", "…"]`}},
		{"lint go_checks not bool", "lint {\n  go_checks = \"no\"\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:2:15: ", "lint.go_checks must be true or false, not a string"}},
		{"lint empty image", "lint {\n  image = \"\"\n}\n", ErrInvalid, []string{"shipyard.hcl:2:11: ", "lint.image is empty"}},
		{"bad hook id", "lint {\n  pre_commit_skip = [\"a,b\"]\n}\n", ErrInvalid, []string{"shipyard.hcl:2:21: ", `"a,b" is not a hook id`}},
		{"test without target", "test {\n  command = [\"x\"]\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:1:1: ", "the test block has no target", `target = "test"`}},
		{"test without command", "test {\n  target = \"t\"\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:1:1: ", "the test block has no command", `command = ["go", "test", "./..."]`}},
		{"test command a string", "test {\n  target = \"t\"\n  command = \"go test\"\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:3:13: ", "test.command must be a list of strings, not a string"}},
		{"test bad target name", "test {\n  target = \"a b\"\n  command = [\"x\"]\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:2:12: ", `test.target "a b" is not a bake target name`}},
		{"test unknown attribute", "test {\n  target = \"t\"\n  command = [\"x\"]\n  env = {}\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:4:3: ", `test: unknown attribute "env"`, `service "ALIAS" { … }`}},
		{"test unknown block", "test {\n  target = \"t\"\n  command = [\"x\"]\n  services \"db\" {}\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:4:3: ", `test: unknown block "services" (did you mean service?)`}},
		{"environment not a map", "test {\n  target = \"t\"\n  command = [\"x\"]\n  environment = [\"A=1\"]\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:4:17: ", `test.environment must be a map of NAME = "value", not a list`}},
		{"environment bad name", "test {\n  target = \"t\"\n  command = [\"x\"]\n  environment = { \"A-B\" = \"1\" }\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:4:17: ", `"A-B" is not an environment variable name`}},
		{"environment list value", "test {\n  target = \"t\"\n  command = [\"x\"]\n  environment = { A = [\"1\"] }\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:4:17: ", "A is a list: environment values are strings"}},
		{"service without label", "test {\n  target = \"t\"\n  command = [\"x\"]\n  service {\n    target = \"db\"\n  }\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:4:3: ", `a service block takes one label`, `service "db" { … }`}},
		{"service bad alias", "test {\n  target = \"t\"\n  command = [\"x\"]\n  service \"My_DB\" {\n    target = \"db\"\n    port = 1\n  }\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:4:11: ", `the alias is the host name`, `service "my-db"`}},
		{"service without target", "test {\n  target = \"t\"\n  command = [\"x\"]\n  service \"db\" {\n    port = 5432\n  }\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:4:3: ", `service "db" has no target or image`, `target = "db"`, `image = "postgres:16"`}},
		{"service with target and image", "test {\n  target = \"t\"\n  command = [\"x\"]\n  service \"db\" {\n    target = \"pg\"\n    image = \"postgres:16\"\n    port = 1\n  }\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:6:5: ", `service "db" has both a target and an image`}},
		{"service bad image", "test {\n  target = \"t\"\n  command = [\"x\"]\n  service \"db\" {\n    image = \"Postgres:16:x\"\n    port = 1\n  }\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:5:13: ", `service "db" image: bad image reference "Postgres:16:x"`}},
		{"service without port", "test {\n  target = \"t\"\n  command = [\"x\"]\n  service \"db\" {\n    target = \"pg\"\n  }\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:4:3: ", `service "db" has no port`, "port = 5432"}},
		{"service port out of range", "test {\n  target = \"t\"\n  command = [\"x\"]\n  service \"db\" {\n    target = \"pg\"\n    port = 70000\n  }\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:6:12: ", `service "db" port 70000 is not a TCP port`}},
		{"service port fractional", "test {\n  target = \"t\"\n  command = [\"x\"]\n  service \"db\" {\n    target = \"pg\"\n    port = 5.5\n  }\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:6:12: ", "5.5 is not a TCP port"}},
		{"service port a string", "test {\n  target = \"t\"\n  command = [\"x\"]\n  service \"db\" {\n    target = \"pg\"\n    port = \"5432\"\n  }\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:6:12: ", `service "db" port must be a number, not a string`}},
		{"service unknown attribute", "test {\n  target = \"t\"\n  command = [\"x\"]\n  service \"db\" {\n    target = \"pg\"\n    port = 1\n    alias = \"x\"\n  }\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:7:5: ", `service "db": unknown attribute "alias"`, "a service takes target or image, port and environment"}},
		{"two services of one alias", "test {\n  target = \"t\"\n  command = [\"x\"]\n  service \"db\" {\n    target = \"pg\"\n    port = 1\n  }\n  service \"db\" {\n    target = \"pg\"\n    port = 1\n  }\n}\n", ErrInvalid,
			[]string{"shipyard.hcl:8:11: ", `a second service "db" (the first is at shipyard.hcl:4:11)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("shipyard.hcl", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse accepted:\n%s", tt.src)
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("error %q does not wrap %v", err, tt.kind)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tt.want[0]) {
				t.Errorf("error %q does not start with the position %q", msg, tt.want[0])
			}
			for _, w := range tt.want[1:] {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
		})
	}
}

// The shipyard.hcl files in the tree parse: the reference app's and the example's.
func TestRepositoryFilesParse(t *testing.T) {
	for _, path := range []string{"../../shipyard.hcl", "../../examples/goapp/shipyard.hcl"} {
		t.Run(path, func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Parse(filepath.Base(path), src)
			if err != nil {
				t.Fatal(err)
			}
			if c.Project == "" || c.Test == nil || len(c.Test.Services) == 0 {
				t.Errorf("%s: want a project and a test block with a service, got %+v", path, c)
			}
		})
	}
}

func TestTargets(t *testing.T) {
	tt := &Test{Target: "t", Services: []Service{{Alias: "a", Target: "db"}, {Alias: "b", Target: "db"}, {Alias: "c", Target: "t"}, {Alias: "d", Target: "cache"}, {Alias: "e", Image: "redis:7"}}}
	if d := cmp.Diff([]string{"t", "db", "cache"}, tt.Targets()); d != "" {
		t.Errorf("Targets (-want +got):\n%s", d)
	}
}

func TestProject(t *testing.T) {
	file := &Config{Project: "from-file"}
	tests := []struct {
		name     string
		flag     string
		cfg      *Config
		repo     string
		want     string
		wantFrom string
	}{
		{"flag wins over everything", "flag", file, "Repo", "flag", FromFlag},
		{"shipyard.hcl when no flag", "", file, "Repo", "from-file", FromFile},
		{"repository name when neither", "", &Config{}, "My.Project", "my-project", FromRepo},
		{"no configuration at all", "", nil, "goapp", "goapp", FromRepo},
		{"repository name without letters", "", Default(), "___", DefaultProject, FromDefault},
		{"nothing", "", Default(), "", DefaultProject, FromDefault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, from := Project(tt.flag, tt.cfg, tt.repo)
			if got != tt.want || from != tt.wantFrom {
				t.Errorf("Project(%q, %+v, %q) = %q from %q, want %q from %q", tt.flag, tt.cfg, tt.repo, got, from, tt.want, tt.wantFrom)
			}
		})
	}
}

func TestLintPlan(t *testing.T) {
	tests := []struct {
		name  string
		cfg   *Config
		repo  Repo
		extra []string
		want  LintPlan
	}{
		{"nothing to lint", Default(), Repo{}, nil, LintPlan{
			Notes: []string{"lint: nothing to lint: no .pre-commit-config.yaml, no go.mod and no lint command in shipyard.hcl"}}},
		{"Go repository without a file", nil, Repo{GoModule: true}, nil, LintPlan{Go: true,
			Notes: []string{"lint: Go checks for go.mod: gofmt, go vet, go test ./..."}}},
		{"pre-commit on the default image", Default(), Repo{PreCommit: true}, nil, LintPlan{
			Image: DefaultLintImage, Packages: []string{"git", "pre-commit"}, PreCommit: true,
			Notes: []string{"lint: pre-commit runs the hooks of .pre-commit-config.yaml"}}},
		{"the reference app: pre-commit with packages, skip and Go", &Config{Lint: &Lint{Packages: []string{"git", "black"}, PreCommitSkip: []string{"gofmt"}}},
			Repo{PreCommit: true, GoModule: true}, []string{"python3-yaml"}, LintPlan{
				Image: DefaultLintImage, Packages: []string{"git", "pre-commit", "black", "python3-yaml"}, PreCommit: true,
				PreCommitSkip: []string{"gofmt"}, Go: true,
				Notes: []string{"lint: pre-commit runs the hooks of .pre-commit-config.yaml (skipping gofmt)",
					"lint: Go checks for go.mod: gofmt, go vet, go test ./..."}}},
		{"own image: nothing added", &Config{Lint: &Lint{Image: "lint-tools:1", Command: []string{"make", "lint"}}},
			Repo{PreCommit: true}, nil, LintPlan{
				Image: "lint-tools:1", PreCommit: true, Command: []string{"make", "lint"},
				Notes: []string{"lint: pre-commit runs the hooks of .pre-commit-config.yaml", "lint: shipyard.hcl's command: make lint"}}},
		{"command only", &Config{Lint: &Lint{Packages: []string{"shellcheck"}, Command: []string{"shellcheck", "run.sh"}}},
			Repo{}, nil, LintPlan{
				Image: DefaultLintImage, Packages: []string{"shellcheck"}, Command: []string{"shellcheck", "run.sh"},
				Notes: []string{"lint: shipyard.hcl's command: shellcheck run.sh"}}},
		{"Go checks off", &Config{Lint: &Lint{GoChecks: boolp(false)}}, Repo{GoModule: true}, nil, LintPlan{
			Notes: []string{"lint: no Go checks (shipyard.hcl: go_checks = false)",
				"lint: nothing to lint: no .pre-commit-config.yaml, no go.mod and no lint command in shipyard.hcl"}}},
		{"Go checks on explicitly", &Config{Lint: &Lint{GoChecks: boolp(true)}}, Repo{GoModule: true}, nil, LintPlan{Go: true,
			Notes: []string{"lint: Go checks for go.mod: gofmt, go vet, go test ./..."}}},
		{"packages with nothing to run them for", &Config{Lint: &Lint{Packages: []string{"black"}, PreCommitSkip: []string{"gofmt"}}},
			Repo{GoModule: true}, []string{"pylint"}, LintPlan{Go: true,
				Notes: []string{"lint: shipyard.hcl's pre_commit_skip has no effect: the repository has no .pre-commit-config.yaml",
					"lint: Go checks for go.mod: gofmt, go vet, go test ./...",
					"lint: the packages black, pylint are not installed: nothing runs in the lint container (no .pre-commit-config.yaml, no lint command)"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cfg.LintPlan(tt.repo, tt.extra)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("LintPlan (-want +got):\n%s", d)
			}
			if got.Container() != (tt.want.PreCommit || tt.want.Command != nil) {
				t.Errorf("Container() = %v", got.Container())
			}
		})
	}
}

func TestTestWith(t *testing.T) {
	block := &Test{Target: "test", Command: []string{"pytest"}, Report: "report.xml",
		Services: []Service{{Alias: "db", Image: "postgres:16"}}}
	for _, tt := range []struct {
		name    string
		test    *Test
		target  string
		command []string
		want    *Test
		bad     string
	}{
		{name: "the block", test: block, want: block},
		{name: "the block, another target", test: block, target: "test-slim",
			want: &Test{Target: "test-slim", Command: []string{"pytest"}, Report: "report.xml", Services: block.Services}},
		{name: "the block, another command", test: block, command: []string{"pytest", "-x"},
			want: &Test{Target: "test", Command: []string{"pytest", "-x"}, Report: "report.xml", Services: block.Services}},
		{name: "no block, nothing given: nothing to test"},
		{name: "no block, both given", target: "t", command: []string{"make", "test"}, want: &Test{Target: "t", Command: []string{"make", "test"}}},
		{name: "no block, only a target", target: "t", bad: "give both --target"},
		{name: "no block, only a command", command: []string{"make"}, bad: "give both --target"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &Config{Test: tt.test}
			got, err := c.TestWith(tt.target, tt.command)
			if tt.bad != "" {
				if err == nil || !strings.Contains(err.Error(), tt.bad) {
					t.Fatalf("err = %v, want it to say %q", err, tt.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("TestWith (-want +got):\n%s", diff)
			}
		})
	}
	if block.Target != "test" || len(block.Command) != 1 {
		t.Errorf("TestWith changed the test block: %+v", block)
	}
}
