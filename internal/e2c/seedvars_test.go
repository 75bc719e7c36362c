package e2c

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"shipyard/internal/plan"
)

// seedDocument are the variables that the document of the pipeline shipyard replaces ("CI/CD
// Pipeline": its stages, latest tag management and E2C ARM build management) names, in the order
// they first appear there. The document is not part of this repository, so its names are copied
// here: the CI/CD variables of its ARM build strategies block, of the latest decision flow and the
// tag type detection, of its regctl command, of its two instance strategies, the state file's
// name and keys, and its Required CI/CD Variables block. The shell variables of its script
// excerpts ($tag, $version_tags, $latest_digest, $tag_digest, $current, $new) are not settings of
// that pipeline.
var seedDocument = []string{
	"E2C_USAGE", "E2C_INSTANCE_STRATEGY",
	"UPDATE_LATEST_STRATEGY", "TAG_TYPE_OVERRIDE", "RELEASE_REGISTRY_IMAGE",
	"E2C_INSTANCE_ID", "E2C_LAUNCH_TEMPLATE_ID",
	"CI_JOB_ID", "TARGET_INSTANCE_ID", "E2C_PUBLIC_IP",
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
	"E2C_SSH_USER", "E2C_SSH_PRIVATE_KEY", "E2C_BUILD_DIR",
	"E2C_USE_SPOT", "E2C_SPOT_MAX_PRICE",
}

// repoFile reads a file of the repository.
func repoFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Every variable the document lists is in SeedVariables, in its order, and is handled: a flag
// reads it or it is a key of the state file, and what it does now is said.
func TestSeedVariablesAreTheDocuments(t *testing.T) {
	var names []string
	for _, v := range SeedVariables {
		names = append(names, v.Name)
		if v.Flag == "" && !v.StateKey {
			t.Errorf("%s: neither a flag reads it nor is it a state file key: the product does not handle it", v.Name)
		}
		if v.Now == "" {
			t.Errorf("%s: what it does now is not said", v.Name)
		}
	}
	if d := cmp.Diff(seedDocument, names); d != "" {
		t.Errorf("SeedVariables differ from the variables the old pipeline's document lists (-document +SeedVariables):\n%s", d)
	}
}

// flagParams are, for each function of the module (ci/), its parameters' names.
func flagParams(t *testing.T) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "ci", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no module sources: %v", err)
	}
	fset := token.NewFileSet()
	out := map[string][]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "dagger.gen.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok {
				for _, p := range fn.Type.Params.List {
					for _, n := range p.Names {
						out[fn.Name.Name] = append(out[fn.Name.Name], n.Name)
					}
				}
			}
		}
	}
	return out
}

// camel is a Dagger CLI name as Go spells it: with-arm-instance is WithArmInstance (upper) and
// --use-spot useSpot.
func camel(cli string, upper bool) string {
	var b strings.Builder
	for i, part := range strings.Split(strings.TrimPrefix(cli, "--"), "-") {
		if i > 0 || upper {
			part = strings.ToUpper(part[:1]) + part[1:]
		}
		b.WriteString(part)
	}
	return b.String()
}

// shipyardCall is the `dagger call …` of the shipyard() function of a GitLab pipeline file.
func shipyardCall(t *testing.T, yml string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)shipyard\(\) \{.*?(dagger call .*?"\$@")`).FindStringSubmatch(repoFile(t, yml))
	if m == nil {
		t.Fatalf("%s: no shipyard() function with a dagger call", yml)
	}
	return m[1]
}

// A variable a flag reads is read by that flag: the module's function has it, and the shipyard()
// function of both GitLab pipelines passes the variable to it (its value, or env:NAME for a
// secret), in the with-… call the flag belongs to.
func TestSeedVariablesReachTheirFlags(t *testing.T) {
	params := flagParams(t)
	withCall := regexp.MustCompile(`\bwith-[a-z-]+`)
	for _, v := range SeedVariables {
		if v.Flag == "" {
			continue
		}
		f := strings.Fields(v.Flag)
		fn, flag := "New", f[len(f)-1]
		if len(f) == 2 {
			fn = camel(f[0], true)
		}
		if !slices.Contains(params[fn], camel(flag, false)) {
			t.Errorf("%s: the module's %s has no argument %s (%s)", v.Name, fn, camel(flag, false), v.Flag)
		}
		for _, yml := range []string{".gitlab-ci.yml", "templates/shipyard.yml"} {
			call := shipyardCall(t, yml)
			at := regexp.MustCompile(regexp.QuoteMeta(flag) + `=(?:"\$` + v.Name + `"|env:` + v.Name + `)`).FindStringIndex(call)
			if at == nil {
				t.Errorf("%s: the shipyard() function does not pass %s to %s", yml, v.Name, flag)
				continue
			}
			in := ""
			if calls := withCall.FindAllString(call[:at[0]], -1); len(calls) > 0 {
				in = calls[len(calls)-1]
			}
			want := "" // a constructor flag comes before every with-… call
			if len(f) == 2 {
				want = f[0]
			}
			if in != want {
				t.Errorf("%s: the shipyard() function passes %s after %q, want %s", yml, flag, in, v.Flag)
			}
		}
	}
}

// The state file's keys among the document's variables are exactly those marked StateKey.
func TestSeedVariablesStateKeys(t *testing.T) {
	runs := true
	full := State{InstanceID: "i-0123456789abcdef0", PublicIP: "203.0.113.7", Strategy: StrategyTemplate, Region: "eu-north-1",
		JobID: "42", Spot: true, LaunchedAt: time.Unix(1, 0), SSHHostKey: "ssh-ed25519 AAAA", SSHPrivateKey: "-----BEGIN KEY-----\n",
		Runs32BitARM: &runs}
	written := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(FormatState(full)), "\n") {
		k, _, _ := strings.Cut(line, "=")
		written[k] = true
	}
	for _, v := range SeedVariables {
		if written[v.Name] != v.StateKey {
			t.Errorf("%s: StateKey is %v, but the state file %s it", v.Name, v.StateKey, map[bool]string{true: "has", false: "lacks"}[written[v.Name]])
		}
	}
}

// A variable that the run may ignore is named by the WARNING note that says so, and only then.
func TestSeedVariablesWarnings(t *testing.T) {
	usage, err := plan.ChooseARM(false, false, plan.ARMQEMU, plan.E2CUsageOn)
	if err != nil {
		t.Fatal(err)
	}
	warned := map[string][]string{
		"E2C_USAGE":          {usage.Note},
		"E2C_BUILD_DIR":      settings(func(s *Settings) { s.BuildDir = "~/builds" }).Notes(),
		"E2C_SPOT_MAX_PRICE": settings(func(s *Settings) { s.SpotMaxPrice = "0.10" }).Notes(),
	}
	for _, v := range SeedVariables {
		notes, ok := warned[v.Name]
		switch {
		case ok != (v.Warning != ""):
			t.Errorf("%s: Warning %q, but this test has %d notes for it", v.Name, v.Warning, len(notes))
		case ok && !slices.ContainsFunc(notes, func(n string) bool { return strings.HasPrefix(n, "WARNING: "+v.Name+"=") }):
			t.Errorf("%s: no WARNING note names it: %q", v.Name, notes)
		}
	}
}

func TestSettingsNotes(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Settings)
		want []string // the variables named, in order
	}{
		{name: "defaults", edit: nil},
		{name: "spot with a price cap", edit: func(s *Settings) { s.UseSpot, s.SpotMaxPrice = true, "0.10" }},
		{name: "a price cap without spot", edit: func(s *Settings) { s.SpotMaxPrice = "0.10" }, want: []string{"E2C_SPOT_MAX_PRICE"}},
		{name: "a malformed price cap without spot: the preflight refuses it too", edit: func(s *Settings) { s.SpotMaxPrice = "cheap" },
			want: []string{"E2C_SPOT_MAX_PRICE"}},
		{name: "the old build directory", edit: func(s *Settings) { s.BuildDir = "~/builds" }, want: []string{"E2C_BUILD_DIR"}},
		{name: "both", edit: func(s *Settings) { s.BuildDir, s.SpotMaxPrice = "~/builds", "0.10" }, want: []string{"E2C_SPOT_MAX_PRICE", "E2C_BUILD_DIR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, n := range settings(tt.edit).Notes() {
				name, _, _ := strings.Cut(strings.TrimPrefix(n, "WARNING: "), "=")
				got = append(got, name)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("notes (-want +got):\n%s", d)
			}
		})
	}
}
