//go:build full && bench

package gitlabci_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDockerExecutorJobCost is bench/run's group o, not a test of the suite (build tag bench): what
// each job of the tag pipeline costs on the Docker executor, where every job starts the engine
// image's engine afresh in its dind service. The pipeline of a version tag without ARM builds
// (lint, test, build, build_manifests, release) runs twice on one ref with SHIPYARD_CACHE_REF:
// first with nothing to import ("cold"), then importing what the first run's jobs exported
// ("imported"). For each job it records, from the job's start (gitlab-ci-local creating its log:
// before the images are pulled), the start of its first stage (the CLI installed, the engine
// started, the module loaded and configured) and the end of its last stage, as JSON lines in
// $BENCH_RECORDS.
func TestDockerExecutorJobCost(t *testing.T) {
	out := os.Getenv("BENCH_RECORDS")
	if out == "" {
		t.Fatal("BENCH_RECORDS names no file: run it as bench/run o")
	}
	gitlabCILocal(t)
	d := needDocker(t)
	prefix := "gl-bench-" + strconv.FormatInt(time.Now().Unix(), 10)
	const tag = "2.0.0"
	r := appRepo(t, "main")
	r.git(t, "tag", "--annotate", "--message", "Release "+tag, tag)
	r.git(t, "checkout", "--quiet", "--detach", tag)
	vars := pipelineVars(t, prefix, nil)
	vars["CI_COMMIT_TAG"], vars["CI_COMMIT_REF_NAME"], vars["CI_COMMIT_BRANCH"] = str(tag), str(tag), nil
	r.onDocker(t, d, vars, prefix+"/cache") // its own: the cold run imports nothing
	jobs := []string{"lint", "test", "build", "build_manifests", "release"}
	f, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, way := range []string{"cold", "imported"} {
		output := filepath.Join(r.dir, ".gitlab-ci-local", "output")
		_ = os.RemoveAll(output)
		w := watchJobs(output, jobs)
		stdout, err := r.runOnEngine(t, "", vars, nil)
		times := w.stop()
		for _, job := range jobs {
			jt := times[job]
			log, _ := os.ReadFile(filepath.Join(output, job+".log"))
			rec := map[string]any{"name": "docker-" + way + "-" + job, "exit": 0,
				"first_stage_seconds": jt.first, "stages_done_seconds": jt.done, "seconds": jt.end,
				"cached_lines": strings.Count(ansi.ReplaceAllString(string(log), ""), "CACHED")}
			if !regexp.MustCompile(`(?m)^\s*PASS\s+` + regexp.QuoteMeta(job) + `\s*$`).MatchString(stdout) {
				why := tail(ansi.ReplaceAllString(string(log), ""), 5)
				if m := regexp.MustCompile(`(?m)^Error: (.*)$`).FindAllStringSubmatch(ansi.ReplaceAllString(string(log), ""), -1); m != nil {
					why = m[len(m)-1][1] // the CLI's own last error line says what failed
				}
				rec["exit"], rec["error"] = 1, "the job did not pass: "+why
			}
			b, _ := json.Marshal(rec)
			if _, err := f.Write(append(b, '\n')); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s %s: first stage %.1f s, stages done %.1f s, job %.1f s", way, job, jt.first, jt.done, jt.end)
		}
		if err != nil {
			t.Errorf("the %s pipeline failed: %v\n%s", way, err, tail(stdout, 30))
		}
	}
}

// jobTime is one job's times in seconds from its start.
type jobTime struct{ first, done, end float64 }

// jobWatch polls the jobs' logs while gitlab-ci-local runs them.
type jobWatch struct {
	mu    sync.Mutex
	times map[string]*jobTime
	quit  chan struct{}
	done  chan struct{}
}

// watchJobs records, every 200 ms, when each job's log appeared (its start), when it first shows
// a stage starting, when it last showed a stage ending ok, and when it stopped growing after that.
func watchJobs(dir string, jobs []string) *jobWatch {
	w := &jobWatch{times: map[string]*jobTime{}, quit: make(chan struct{}), done: make(chan struct{})}
	stageStart := regexp.MustCompile(`(?m)^\d+\s+: \S* ?stage [a-z_]+$`)
	stageOK := regexp.MustCompile(`stage [a-z_]+: ok`)
	go func() {
		defer close(w.done)
		start := map[string]time.Time{}
		size := map[string]int64{}
		oks := map[string]int{}
		for {
			now := time.Now()
			for _, job := range jobs {
				path := filepath.Join(dir, job+".log")
				st, err := os.Stat(path)
				if err != nil {
					continue
				}
				if _, ok := start[job]; !ok {
					start[job] = now
					w.mu.Lock()
					w.times[job] = &jobTime{}
					w.mu.Unlock()
				}
				since := now.Sub(start[job]).Seconds()
				w.mu.Lock()
				jt := w.times[job]
				if st.Size() != size[job] {
					size[job] = st.Size()
					jt.end = since
					b, _ := os.ReadFile(path)
					text := ansi.ReplaceAllString(string(b), "")
					if jt.first == 0 && stageStart.MatchString(text) {
						jt.first = since
					}
					if n := len(stageOK.FindAllString(text, -1)); n > oks[job] {
						oks[job], jt.done = n, since
					}
				}
				w.mu.Unlock()
			}
			select {
			case <-w.quit:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return w
}

// stop ends the polling and returns the times by job.
func (w *jobWatch) stop() map[string]jobTime {
	close(w.quit)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]jobTime{}
	for job, jt := range w.times {
		out[job] = *jt
	}
	return out
}
