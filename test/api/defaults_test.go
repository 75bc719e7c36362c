package api

import (
	"fmt"
	"go/ast"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"shipyard/internal/attest"
	"shipyard/internal/e2c"
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
