//go:build full

// Package bench holds the tests of bench/table: the README's benchmark table is printed from
// bench/out/results.json, so the table's rows, ratios and goal verdicts are tested on results
// files written here. Full tier: bench/table is bash with jq and bc, which hack/engine installs;
// the fast tier also runs in a bare Go toolchain image (`dagger call check`), which has neither.
package bench

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

type run map[string]any

// table writes the runs as a results file and returns what bench/table prints for it.
func table(t *testing.T, runs ...run) string {
	t.Helper()
	f := results(t, runs...)
	out, err := exec.Command("bash", "table", f).CombinedOutput()
	if err != nil {
		t.Fatalf("bench/table %s: %v\n%s", f, err, out)
	}
	return string(out)
}

// results writes the runs (with a measurement time and load when they have none) as a results file
// for bench/table and returns its path.
func results(t *testing.T, runs ...run) string {
	t.Helper()
	for _, tool := range []string{"bash", "jq", "bc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("bench/table needs %s: apt-get install %s", tool, tool)
		}
	}
	for _, r := range runs {
		if _, ok := r["measured"]; !ok {
			r["measured"] = "2026-12-04T18:37:18Z"
		}
		if _, ok := r["load_start"]; !ok {
			r["load_start"] = "0.10 0.20 0.30"
		}
	}
	b, err := json.Marshal(map[string]any{"cores": 2, "runs": runs})
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "results.json")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	// read through os so that go test's cache knows the script: a changed bench/table re-runs
	// these tests
	if _, err := os.ReadFile("table"); err != nil {
		t.Fatal(err)
	}
	return f
}

// row returns the table's row that starts with the label, failing the test without one.
func row(t *testing.T, out, label string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "| "+label) {
			return l
		}
	}
	t.Fatalf("no row %q in:\n%s", label, out)
	return ""
}

func cells(l string) []string {
	var c []string
	for _, s := range strings.Split(strings.Trim(l, "|"), "|") {
		c = append(c, strings.TrimSpace(s))
	}
	return c
}

func TestUnreachableEngineRow(t *testing.T) {
	for _, tc := range []struct {
		name        string
		shown, exit any
		time, note  string
	}{
		{"shown, never exits", 0.2, nil, "0.2s", "dagger exits on its own: no, killed at 60s"},
		{"shown, exits", 0.2, 3.5, "0.2s", "dagger exits on its own: after 3.5s"},
		{"never shown", nil, nil, "never", "dagger exits on its own: no, killed at 60s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := table(t, run{"name": "remote-unreachable", "group": "e", "error_shown_seconds": tc.shown, "exited_seconds": tc.exit, "limit_seconds": 60})
			c := cells(row(t, out, "(e) unreachable ssh engine"))
			if c[1] != tc.time || c[2] != tc.note {
				t.Errorf("time %q, note %q; want %q, %q", c[1], c[2], tc.time, tc.note)
			}
		})
	}
}

func TestGoalVerdicts(t *testing.T) {
	runs := func(up, plan, release, first, cold, imported float64) []run {
		rep := func(name, label string, s float64) run {
			return run{"name": name, "group": "g", "label": label, "exit": 0, "n": 5, "seconds": s, "min": s, "max": s, "ratio_to_floor": 1.5}
		}
		up1 := rep("engine-up-running", "hack/engine up", up)
		up1["group"] = "f"
		return []run{
			up1,
			rep("cli-functions", "dagger functions", 0.8),
			rep("cli-plan", "dagger call plan --ref=feat/x", plan),
			rep("cli-release", "dagger call release --ref=staging", release),
			{"name": "fresh-cold", "group": "l", "exit": 0, "first_stage_seconds": first, "stages_done_seconds": cold, "seconds": cold + 30, "cached_lines": 1},
			{"name": "fresh-import", "group": "m", "exit": 0, "first_stage_seconds": 10, "stages_done_seconds": imported, "seconds": imported + 1, "cached_lines": 13},
		}
	}
	for _, tc := range []struct {
		name string
		runs []run
		want map[string]string // row label -> the verdict its note holds
	}{
		{"all met", runs(0.4, 1.5, 2.7, 35.8, 300, 30), map[string]string{
			"(f) hack/engine up":        "goal ≤ 2s: met",
			"(g) dagger call plan":      "goal ≤ 2s: met",
			"(g) dagger call release":   "goal ≤ 4s: met",
			"(l) first call on a fresh": "goal ≤ 45s: met",
			"(m) same run: stages done": "import/cold 0.10 (goal ≤ 0.40: met)",
		}},
		{"on the limit", runs(2, 2, 4, 45, 100, 40), map[string]string{
			"(f) hack/engine up":        "goal ≤ 2s: met",
			"(g) dagger call plan":      "goal ≤ 2s: met",
			"(g) dagger call release":   "goal ≤ 4s: met",
			"(l) first call on a fresh": "goal ≤ 45s: met",
			"(m) same run: stages done": "import/cold 0.40 (goal ≤ 0.40: met)",
		}},
		{"all missed", runs(14, 16, 33, 187, 100, 41), map[string]string{
			"(f) hack/engine up":        "goal ≤ 2s: not met",
			"(g) dagger call plan":      "goal ≤ 2s: not met",
			"(g) dagger call release":   "goal ≤ 4s: not met",
			"(l) first call on a fresh": "goal ≤ 45s: not met",
			"(m) same run: stages done": "import/cold 0.41 (goal ≤ 0.40: not met)",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := table(t, tc.runs...)
			for label, verdict := range tc.want {
				if note := cells(row(t, out, label))[2]; !strings.Contains(note, verdict) {
					t.Errorf("%s: note %q does not hold %q", label, note, verdict)
				}
			}
		})
	}
}

func TestFailedRunSaysWhy(t *testing.T) {
	out := table(t, run{"name": "fresh-cold", "group": "l", "exit": 124, "error": "timed out after 3600s", "first_stage_seconds": nil, "stages_done_seconds": nil, "seconds": 3600})
	if c := cells(row(t, out, "(l) same run: staging pipeline")); c[2] != "failed (exit 124: timed out after 3600s)" {
		t.Errorf("note %q", c[2])
	}
	if c := cells(row(t, out, "(l) first call on a fresh engine")); c[1] != "n/a" || !strings.Contains(c[2], "goal ≤ 45s: not measured") {
		t.Errorf("row %q", c)
	}
}

func TestArm64VMRows(t *testing.T) {
	boot := run{"name": "vm-boot", "group": "n", "exit": 0, "mem_mb": 4096, "ssh_seconds": 130.2, "ready_seconds": 400.1, "seconds": 400.1, "limit_seconds": 2400}
	step := run{"name": "vm-first-arm-step", "group": "n", "exit": 0, "seconds": 40.5, "uname_m": "aarch64", "limit_seconds": 1800}
	for _, tc := range []struct {
		name       string
		load       run
		time, note string
	}{
		{"loaded", run{"name": "vm-module-load", "group": "n", "exit": 0, "seconds": 810, "limit_seconds": 2700, "before_after": 20, "lower_bound": false},
			"810s", "before: dagger -m … functions; before/after 20"},
		{"over its limit", run{"name": "vm-module-load", "group": "n", "exit": 124, "seconds": 2710, "limit_seconds": 2700, "error": "over its time limit", "before_after": 66.9, "lower_bound": true},
			"> 2700s", "before: over its time limit; before/after > 66.9"},
		{"failed", run{"name": "vm-module-load", "group": "n", "exit": 1, "seconds": 30, "limit_seconds": 2700, "error": "no space left on device"},
			"failed (exit 1: no space left on device)", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := table(t, boot, step, tc.load)
			if c := cells(row(t, out, "(n) arm64 VM: boot to sshd")); c[1] != "130.2s" || !strings.Contains(c[2], "4096 MB") {
				t.Errorf("sshd row %q", c)
			}
			if c := cells(row(t, out, "(n) arm64 VM: boot to ready")); c[1] != "400.1s" {
				t.Errorf("ready row %q", c)
			}
			if c := cells(row(t, out, "(n) ready to the first ARM step")); c[1] != "40.5s" || !strings.HasSuffix(c[2], "aarch64") {
				t.Errorf("first step row %q", c)
			}
			if c := cells(row(t, out, "(n) same VM: this module loaded")); c[1] != tc.time || c[2] != tc.note {
				t.Errorf("time %q, note %q; want %q, %q", c[1], c[2], tc.time, tc.note)
			}
		})
	}
	out := table(t, run{"name": "vm-boot", "group": "n", "exit": 124, "ssh_seconds": nil, "ready_seconds": nil, "seconds": nil, "limit_seconds": 2400, "error": "not ready after 2400s"})
	if c := cells(row(t, out, "(n) arm64 VM: boot to ready")); c[1] != "failed (exit 124: not ready after 2400s)" {
		t.Errorf("a VM never ready: %q", c)
	}
}

// bench/table --readme replaces the rows of the groups the results file has runs of and keeps the
// other groups' rows, and their measurement lines without the groups replaced, as they were.
func TestReadmeKeepsTheOtherGroups(t *testing.T) {
	readme := filepath.Join(t.TempDir(), "README.md")
	before := "# x\n\n<!-- bench:table -->\n" +
		"- 2026-12-04T18:37:18Z (e, n): load average (1/5/15 min) 0.57 2.58 4.16 at the start\n\n" +
		"| benchmark (2 cores) | time | ratio / note |\n| --- | --- | --- |\n" +
		"| (e) unreachable ssh engine: ssh error shown | 0.2s | old e |\n" +
		"| (n) arm64 VM: boot to sshd with the job's host key | 99s | old n |\n" +
		"<!-- /bench:table -->\n\nafter\n"
	if err := os.WriteFile(readme, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	f := results(t, run{"name": "vm-boot", "group": "n", "measured": "2026-12-05T10:00:00Z", "exit": 0, "ssh_seconds": 130.2, "ready_seconds": 400.1, "seconds": 400.1})
	for i := 0; i < 2; i++ { // twice: the second rewrite changes nothing
		cmd := exec.Command("bash", "table", "--readme", f)
		cmd.Env = append(os.Environ(), "BENCH_README="+readme)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("bench/table --readme: %v\n%s", err, out)
		}
	}
	got, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	s := string(got)
	for _, want := range []string{
		"- 2026-12-04T18:37:18Z (e): load average (1/5/15 min) 0.57 2.58 4.16 at the start\n- 2026-12-05T10:00:00Z (n): ",
		"| (e) unreachable ssh engine: ssh error shown | 0.2s | old e |\n| (n) arm64 VM: boot to sshd with the job's host key   | 130.2s ",
		"<!-- /bench:table -->\n\nafter\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("README lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "old n") || strings.Count(s, "(n) arm64 VM: boot to sshd") != 1 {
		t.Errorf("the old (n) row is still there:\n%s", s)
	}
}
