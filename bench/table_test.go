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

	"shipyard/internal/benchstat"
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

func TestDockerExecutorRows(t *testing.T) {
	var runs []run
	for _, job := range []string{"lint", "test", "build", "build_manifests", "release"} {
		runs = append(runs,
			run{"name": "docker-cold-" + job, "group": "o", "exit": 0, "first_stage_seconds": 150, "stages_done_seconds": 160, "seconds": 170, "cached_lines": 0},
			run{"name": "docker-imported-" + job, "group": "o", "exit": 0, "first_stage_seconds": 45, "stages_done_seconds": 64, "seconds": 80, "cached_lines": 7})
	}
	runs[3] = run{"name": "docker-imported-test", "group": "o", "exit": 1, "error": "the job did not pass: boom"}
	// figures as the test records them (unrounded), and an error of several lines
	runs[6] = run{"name": "docker-cold-build_manifests", "group": "o", "exit": 0, "first_stage_seconds": 56.22612481, "stages_done_seconds": 58.482134223, "seconds": 60, "cached_lines": 0}
	runs[9] = run{"name": "docker-imported-release", "group": "o", "exit": 1, "error": "the job did not pass: 53  : cache export\n\nError: stage release failed"}
	out := table(t, runs...)
	if c := cells(row(t, out, "(o) Docker executor, lint: job start to first stage")); c[1] != "150.0s" || c[2] != "importing: 45.0s (goal ≤ 60s: met); imported/cold 0.30" {
		t.Errorf("lint first-stage row %q", c)
	}
	if c := cells(row(t, out, "(o) Docker executor, build: to its stages done")); c[1] != "160.0s" || c[2] != "importing: 64.0s, 7 CACHED spans; imported/cold 0.40" {
		t.Errorf("build stages-done row %q", c)
	}
	if c := cells(row(t, out, "(o) Docker executor, test: job start to first stage")); c[2] != "failed (exit 1: the job did not pass: boom)" {
		t.Errorf("a failed imported job: %q", c)
	}
	if c := cells(row(t, out, "(o) Docker executor, build_manifests: job start to first stage")); c[1] != "56.2s" {
		t.Errorf("unrounded seconds: %q", c)
	}
	if c := cells(row(t, out, "(o) Docker executor, release: job start to first stage")); c[2] != "failed (exit 1: the job did not pass: 53 : cache export Error: stage release failed)" {
		t.Errorf("an error of several lines: %q", c)
	}
}

func TestScanRows(t *testing.T) {
	build := run{"name": "scan-build-cold", "group": "p", "exit": 0, "seconds": 240, "limit_seconds": 2400, "images": 4}
	for _, tc := range []struct {
		name       string
		scan       run
		time, note string
	}{
		{"met", run{"name": "scan-images", "group": "p", "exit": 0, "seconds": 60, "limit_seconds": 1800, "images": 4},
			"60s", "4 image × platform scans, 15.0s each; scan/build per image 0.25 (goal ≤ 0.5: met)"},
		{"on the limit", run{"name": "scan-images", "group": "p", "exit": 0, "seconds": 120, "limit_seconds": 1800, "images": 4},
			"120s", "4 image × platform scans, 30.0s each; scan/build per image 0.50 (goal ≤ 0.5: met)"},
		{"missed", run{"name": "scan-images", "group": "p", "exit": 0, "seconds": 130, "limit_seconds": 1800, "images": 4},
			"130s", "4 image × platform scans, 32.5s each; scan/build per image 0.54 (goal ≤ 0.5: not met)"},
		{"failed", run{"name": "scan-images", "group": "p", "exit": 1, "seconds": 30, "limit_seconds": 1800, "images": 0, "error": "trivy database too old"},
			"failed (exit 1: trivy database too old)", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := table(t, build, tc.scan)
			if c := cells(row(t, out, "(p) build stage of a tag, 4 images, inputs changed")); c[1] != "240s" || c[2] != "60.0s per image × platform" {
				t.Errorf("build row %q", c)
			}
			if c := cells(row(t, out, "(p) same run: the gate's scans")); c[1] != tc.time || c[2] != tc.note {
				t.Errorf("time %q, note %q; want %q, %q", c[1], c[2], tc.time, tc.note)
			}
		})
	}
	out := table(t, run{"name": "scan-setup", "group": "p", "exit": 1, "error": "(p) needs trivy and trivy-db on PATH"})
	if c := cells(row(t, out, "(p) the gate's scans")); c[1] != "failed (exit 1: (p) needs trivy and trivy-db on PATH)" {
		t.Errorf("a failed setup: %q", c)
	}
}

// compared is a record of bench/stat.d (internal/benchstat's own), as a run of the results file.
func compared(t *testing.T, name, label string, ours, theirs []float64, goal float64) run {
	t.Helper()
	c, err := benchstat.Compare(ours, theirs, goal)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(benchstat.NewRecord(name, label, c))
	if err != nil {
		t.Fatal(err)
	}
	var r run
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	r["group"] = "q"
	return r
}

func TestBuildxRows(t *testing.T) {
	five := func(v float64) []float64 { return []float64{v, v, v, v, v} }
	out := table(t,
		run{"name": "buildx-setup", "group": "q", "exit": 0, "buildx": "v0.38.2", "buildkit": "v0.34.2"},
		compared(t, "bx-cold", "build, 4 targets, linux/amd64, all inputs changed (cold)", []float64{12, 13, 11, 12, 30}, five(10), 1.1),
		compared(t, "bx-warm", "same call again (warm)", five(2.5), five(1), 1.0),
		compared(t, "bx-onefile", "one Python file of django changed", five(4), five(5), 0),
		compared(t, "bx-exec", "five trivial RUNs in debian:bookworm-slim, no module: dagger core", five(3.4), five(1), 0),
		run{"name": "bx-django-arm64", "group": "q", "exit": 124, "error": "over its time limit"},
		run{"name": "bx-floor", "group": "q", "label": "dagger functions", "exit": 0, "n": 5, "seconds": 0.9, "min": 0.8, "max": 1.2},
		compared(t, "qemu-ours", "django arm64 (QEMU) / amd64, from scratch", []float64{300}, []float64{50}, 0),
	)
	for _, tc := range []struct{ label, time, note string }{
		{"(q) side by side: docker buildx bake v0.38.2", "", "on buildkitd v0.34.2 (OCI worker, host network), output cacheonly; ours: dagger call build"},
		{"(q) build, 4 targets, linux/amd64, all inputs changed (cold): dagger call build", "12s (11–30, 5 runs)", ""},
		{"(q) same call again (warm): dagger call build", "2.5s (2.5–2.5, 5 runs)", ""},
		{"(q) one Python file of django changed: dagger call build", "4s (4–4, 5 runs)", ""},
		{"(q) django linux/arm64 (QEMU) from scratch", "failed (exit 124: over its time limit)", ""},
		{"(q) five trivial RUNs in debian:bookworm-slim, no module: dagger core", "3.4s (3.4–3.4, 5 runs)", ""},
		{"(q) same, docker buildx build", "1s (1–1, 5 runs)", "ours/buildx 3.4 (3.4–3.4, median of 5 pairs)"},
		{"(q) dagger functions between them", "0.9s (0.8–1.2, 5 runs)", "the module load every call of ours pays; buildx has none"},
		{"(q) django arm64 (QEMU) / amd64 from scratch, ours", "", "arm64/amd64 6 (6–6, median of 1 pairs)"},
	} {
		if c := cells(row(t, out, tc.label)); c[1] != tc.time || c[2] != tc.note {
			t.Errorf("%s: time %q, note %q; want %q, %q", tc.label, c[1], c[2], tc.time, tc.note)
		}
	}
	// the buildx row after each of ours holds the ratio and the verdict
	var notes []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "| (q) same, docker buildx bake") {
			notes = append(notes, cells(l)[2])
		}
	}
	want := []string{
		"ours/buildx 1.2 (1.1–3, median of 5 pairs); goal ≤ 1.1: not met (the spread crosses the goal)",
		"ours/buildx 2.5 (2.5–2.5, median of 5 pairs); goal ≤ 1.0: not met",
		"ours/buildx 0.8 (0.8–0.8, median of 5 pairs)",
	}
	if strings.Join(notes, "\n") != strings.Join(want, "\n") {
		t.Errorf("buildx rows' notes:\n%s\nwant:\n%s", strings.Join(notes, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(out, "(q) django linux/amd64 from scratch") {
		t.Errorf("a row that did not run is printed:\n%s", out)
	}
}

func TestConcurrencyRows(t *testing.T) {
	c := compared(t, "build-concurrency", "the four in one call / the slowest alone", []float64{12.6, 9.5, 10, 9.2, 11}, []float64{8.6, 9, 8.7, 8.8, 9.1}, 1.15)
	c["group"] = "b"
	out := table(t, c)
	if c := cells(row(t, out, "(b) the four in one call, cold, repeated")); c[1] != "10s (9.2–12.6, 5 runs)" {
		t.Errorf("concurrent row %q", c)
	}
	if c := cells(row(t, out, "(b) the slowest of them alone, cold, repeated")); c[1] != "8.8s (8.6–9.1, 5 runs)" ||
		c[2] != "concurrent/slowest 1.15 (1.05–1.47, median of 5 pairs); goal ≤ 1.15: met (the spread crosses the goal)" {
		t.Errorf("slowest row %q", c)
	}
	failed := table(t, run{"name": "build-concurrency", "group": "b", "exit": 1, "error": "boom"})
	if c := cells(row(t, failed, "(b) the four in one call / the slowest alone")); c[1] != "failed (exit 1: boom)" {
		t.Errorf("failed row %q", c)
	}
}

// The build calls of (b) carry the machine's busy CPU seconds: each row says how many cores it
// kept busy, and the concurrent call how long its CPU alone takes on every core.
func TestConcurrencyCPURows(t *testing.T) {
	var runs []run
	for name, v := range map[string][2]float64{"build-seq-postgres": {6, 6.5}, "build-seq-traefik": {3, 3}, "build-seq-watchtower": {4, 3.2},
		"build-seq-django": {18, 27}, "build-cold-all": {24, 46}} {
		runs = append(runs, run{"name": name, "group": "b", "exit": 0, "seconds": v[0], "cpu_seconds": v[1]})
	}
	out := table(t, runs...)
	if c := cells(row(t, out, "(b) build --target django alone (cold)")); c[1] != "18s" || c[2] != "CPU 27s, 1.50 of 2 cores busy" {
		t.Errorf("django row %q", c)
	}
	if c := cells(row(t, out, "(b) the four in one call (concurrent")); c[2] != "concurrent/sum 0.77, concurrent/slowest (django) 1.33; CPU 46s, 1.92 of 2 cores busy: its CPU alone needs ≥ 23.0s on 2 cores, ≥ 1.28 × the slowest alone" {
		t.Errorf("concurrent row %q", c)
	}
	// runs recorded before the CPU was measured keep their old notes
	for _, r := range runs {
		delete(r, "cpu_seconds")
	}
	if c := cells(row(t, table(t, runs...), "(b) the four in one call (concurrent")); c[2] != "concurrent/sum 0.77, concurrent/slowest (django) 1.33" {
		t.Errorf("concurrent row without CPU %q", c)
	}
}

func TestSupplyChainRows(t *testing.T) {
	k := func(name string, secs float64) run {
		return run{"name": name, "group": "k", "exit": 0, "seconds": secs, "limit_seconds": 1800}
	}
	for _, tc := range []struct {
		name             string
		cold, signed     float64
		signedNote       string
		again, againNote string
	}{
		{"met on the 1.5 s floor", 8, 7, "supply chain 1.2s per image (goal ≤ 1.5s: met); added/cold build 0.62", "2.4s", "supply chain 0.1s per image (once per digest: nothing written)"},
		{"missed", 8, 26, "supply chain 6.0s per image (goal ≤ 1.5s: not met); added/cold build 3.00", "2.4s", "supply chain 0.1s per image (once per digest: nothing written)"},
		{"a slow cold build raises the goal", 40, 18, "supply chain 4.0s per image (goal ≤ 5.0s: met); added/cold build 0.40", "2.4s", "supply chain 0.1s per image (once per digest: nothing written)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := table(t, k("sign-build-cold", tc.cold), k("sign-build-warm", 2), k("sign-build-signed", tc.signed), k("sign-build-again", 2.4))
			if c := cells(row(t, out, "(k) same call with with-signing (warm build)")); c[2] != tc.signedNote {
				t.Errorf("signed row note %q, want %q", c[2], tc.signedNote)
			}
			if c := cells(row(t, out, "(k) same call again, already attested")); c[1] != tc.again || c[2] != tc.againNote {
				t.Errorf("again row %q, want %q, %q", c, tc.again, tc.againNote)
			}
		})
	}
	// with the machine's CPU seconds: the supply chain's CPU per image and its floor on 2 cores
	warm, signed := k("sign-build-warm", 2), k("sign-build-signed", 26)
	warm["cpu_seconds"], signed["cpu_seconds"] = 2.5, 50.5
	out := table(t, k("sign-build-cold", 8), warm, signed)
	if c := cells(row(t, out, "(k) same call with with-signing (warm build)")); c[2] != "supply chain 6.0s per image (goal ≤ 1.5s: not met); added/cold build 3.00; CPU 50.5s, 1.94 of 2 cores busy; its CPU 12.0s per image, ≥ 6.0s per image on 2 cores" {
		t.Errorf("signed row with CPU %q", c[2])
	}
}
