//go:build full

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// cookbook returns the commands of the README blocks marked <!-- cookbook -->, with their
// line continuations joined and comments dropped, exactly as a user would paste them.
func cookbook(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "<!-- cookbook -->" {
			continue
		}
		i += 2 // the marker, then the ```sh fence
		cur := ""
		for ; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			l := strings.TrimSpace(lines[i])
			if cur == "" && (l == "" || strings.HasPrefix(l, "#")) {
				continue
			}
			if c, ok := strings.CutSuffix(l, "\\"); ok {
				cur += c + " "
				continue
			}
			cur += l
			cmds = append(cmds, cur)
			cur = ""
		}
	}
	if len(cmds) < 5 {
		t.Fatalf("the README has %d cookbook commands; is the <!-- cookbook --> marker gone?", len(cmds))
	}
	return cmds
}

// Every README cookbook command, run verbatim by bash in the repository, in order, in one shell
// session (the first line points it at the engine).
func TestCookbook(t *testing.T) {
	needEngine(t)
	cmds := cookbook(t)
	env := ""
	for _, c := range cmds {
		if strings.HasPrefix(c, "eval ") {
			env += c + "\n"
			continue
		}
		t.Run(strings.Join(strings.Fields(c)[:min(4, len(strings.Fields(c)))], " "), func(t *testing.T) {
			script := "set -eo pipefail\n" + env + strings.Replace(c, "dagger ", "dagger --progress=plain ", 1) + "\n"
			cmd := exec.Command("bash", "-c", script)
			cmd.Dir = repoRoot
			var out, errb strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &errb
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("%s: %v\n%s\n%s", c, err, out.String(), tail(errb.String(), 40))
				}
			case <-time.After(30 * time.Minute):
				_ = cmd.Process.Kill()
				t.Fatalf("%s: no answer within 30 minutes", c)
			}
			check(t, c, out.String(), errb.String())
		})
	}
}

// ansi matches the terminal colour codes of the CLI's progress output.
var ansi = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// check asserts what each kind of cookbook command must print (stdout), or show in its progress
// (stderr).
func check(t *testing.T, cmd, out, progress string) {
	t.Helper()
	switch {
	case strings.Contains(cmd, "dagger check"):
		// both of the module's checks ran on the repository and passed: their spans end DONE
		plain := ansi.ReplaceAllString(progress, "")
		for _, name := range []string{"lint", "test"} {
			if !regexp.MustCompile(`(?m)^[0-9]+\s*: ` + name + ` DONE\b`).MatchString(plain) {
				t.Errorf("dagger check did not run its %s check to the end:\n%s", name, tail(plain, 60))
			}
		}
		if !strings.Contains(plain, "shellcheck redis/entrypoint.sh") {
			t.Errorf("dagger check in examples/goapp did not lint goapp (its shipyard.hcl's shellcheck command):\n%s", tail(plain, 60))
		}
	case strings.Contains(cmd, "--format=json"):
		var p struct {
			Builds []struct{ Target, Platform, Builder string }
		}
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatalf("plan --format=json does not parse: %v\n%s", err, out)
		}
		arm := 0
		for _, b := range p.Builds {
			if b.Platform == "linux/arm64" {
				arm++
				if b.Builder != "qemu" {
					t.Errorf("%s [arm64] routed to %s, want qemu (the default ARM builder)", b.Target, b.Builder)
				}
			}
		}
		if arm == 0 {
			t.Errorf("--arm64 plan builds nothing for linux/arm64:\n%s", out)
		}
	case strings.Contains(cmd, " plan "):
		if !strings.Contains(out, "stages: lint, test") || !strings.Contains(out, "latest: untouched") {
			t.Errorf("plan for a work branch:\n%s", out)
		}
	case strings.Contains(cmd, "uname,-m"):
		if strings.TrimSpace(out) != "aarch64" {
			t.Errorf("the arm64 image runs on %q, want aarch64", out)
		}
	case strings.Contains(cmd, " publish"):
		// --set TARGET.KEY=VALUE replaced the target's tags
		if !strings.Contains(out, "127.0.0.1:5000/cookbook/traefik:1.2.3-amd64") {
			t.Errorf("publish did not print the per-platform tag of the --set tags:\n%s", out)
		}
		// the engine pushed to its host's loopback, which the module's code cannot reach without
		// a tunnel: the image config keeps the engine's times, and the call says why
		if want := "127.0.0.1:5000 is the engine host's loopback, which the module reaches only through --registry-tunnel"; !strings.Contains(ansi.ReplaceAllString(progress, ""), want) {
			t.Errorf("publish to the loopback registry without a tunnel does not say its image configs keep the engine's times (%q):\n%s", want, tail(ansi.ReplaceAllString(progress, ""), 30))
		}
	case strings.Contains(cmd, "--ref=staging"):
		for _, want := range []string{"stage lint: ok", "stage test: ok", "stage build: ok", "stage manifests: ok"} {
			if !strings.Contains(out, want) {
				t.Errorf("staging pipeline output lacks %q:\n%s", want, out)
			}
		}
	case strings.Contains(cmd, "--dry-run"):
		for _, want := range []string{"stage release: ok", "would release 127.0.0.1:5000/releases/shipyard-django:1.2.3"} {
			if !strings.Contains(out, want) {
				t.Errorf("dry-run release output lacks %q:\n%s", want, out)
			}
		}
	}
}

// Dagger v0.19.10's local defaults: a .env next to dagger.json sets function arguments, named as
// the README says (a constructor argument as it is, a function's with its name and an underscore).
func TestLocalDefaultsFromDotEnv(t *testing.T) {
	needEngine(t)
	dir := copyRepo(t)
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("PLAN_FORMAT=json\nPROJECT=\"fromenv\"\nreleaseRegistry=127.0.0.1:5000/dotenv\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := daggerIn(t, dir, 10*time.Minute, "call", "plan", "--ref=1.0.0", "--tag=1.0.0")
	if r.Err != nil {
		t.Fatalf("plan: %v\n%s", r.Err, tail(r.Stderr, 30))
	}
	var p struct {
		Copies []struct{ To string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &p); err != nil || len(p.Copies) == 0 {
		t.Fatalf("plan did not take PLAN_FORMAT=json from .env: %v\n%s", err, r.Stdout)
	}
	if !strings.Contains(p.Copies[0].To, "127.0.0.1:5000/dotenv/fromenv-") {
		t.Errorf("the constructor did not take PROJECT from .env: %s", p.Copies[0].To)
	}
}
