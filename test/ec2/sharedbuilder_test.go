//go:build full

package ec2

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"shipyard/internal/e2c"
	"shipyard/internal/testenv"
)

// Two pipelines, each its own CI job, run a laptop's one-call staging release against ONE
// existing builder (consoleWorld's instance): the second starts once the first holds its lease,
// and the first's slow target (three minutes, a nonce of its own) keeps it on the builder until
// the second has taken its lease too. So the second sees the first holding the builder, the
// first gives back its lease while the second holds one and leaves the instance running, and the
// second, the last, stops it. Both build their arm64 images on the builder, no fallback to QEMU
// and no loss; nothing prunes the builder's cache (the one-call release never does); the
// instance ends stopped.
func TestTwoPipelinesShareOneExistingBuilder(t *testing.T) {
	needEngine(t)
	w := newConsoleWorld(t)
	w.consoles.Console(w.instance, func() (string, error) { return w.bootLog, nil })
	port := strings.Split(mirror, ":")[1]
	stamp := time.Now().UnixNano()
	jobs := []string{"61", "62"}
	hostBuilds := make([]string, len(jobs))
	results := make([]testenv.Result, len(jobs))
	argsOf := func(i int, src string) []string {
		repo := fmt.Sprintf("e2e-shared-%d-%s", stamp, jobs[i])
		hostBuilds[i] = mirror + "/" + repo
		args := []string{"--source", src, "--bake-file", "arm.hcl", "--project", "e2e",
			"--build-registry", "10.99.0.1:" + port + "/" + repo, "--insecure-registry", "10.99.0.1:" + port, "--arm64", "--arm-builder", "ec2",
			"with-gitlab", "--pipeline-id", fmt.Sprint(600 + i), "--job-id", jobs[i]}
		return append(append(args, w.flags...), "release", "--ref", "staging")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	holds := fmt.Sprintf("e2c: job %s holds the lease on builder %s", jobs[0], w.instance)
	start := time.Now()
	_, first, firstDone := startDagger(t, ctx, append([]string{"--progress=plain", "call"}, argsOf(0, slowRepoFor(t, 180))...), holds)
	for {
		if _, ok := first.at(holds); ok {
			break
		}
		select {
		case err := <-firstDone:
			t.Fatalf("job %s ended (%v) before it held its lease:\n%s", jobs[0], err, tail(first.String(), 60))
		case <-time.After(time.Second):
		}
	}
	t.Logf("job %s holds its lease after %s; starting job %s", jobs[0], time.Since(start).Round(time.Second), jobs[1])
	results[1] = daggerCall(t, 40*time.Minute, argsOf(1, slowRepo(t))...)
	err := <-firstDone
	results[0] = testenv.Result{Stdout: first.String(), Err: err}

	logs := make([]string, len(jobs))
	for i, r := range results {
		logs[i] = r.Stderr + r.Stdout
		if r.Err != nil {
			t.Errorf("the pipeline of job %s failed: %v\n%s", jobs[i], r.Err, tail(logs[i], 80))
		}
	}
	if t.Failed() {
		return
	}
	var stoppers []string
	shared := false
	for i, job := range jobs {
		log, other := logs[i], jobs[1-i]
		for _, target := range []string{"traefik", "slow"} {
			if line := fmt.Sprintf("built %s [linux/arm64] on EC2 builder %s", target, w.instance); !strings.Contains(log, line) {
				t.Errorf("the log of job %s lacks %q:\n%s", job, line, tail(log, 60))
			}
		}
		for _, bad := range []string{"[linux/arm64] on qemu", "built with QEMU instead", "was lost in the build phase", "pruned the builder engine's cache"} {
			if strings.Contains(log, bad) {
				t.Errorf("the log of job %s has %q:\n%s", job, bad, tail(log, 60))
			}
		}
		if strings.Contains(log, fmt.Sprintf("e2c: job %s holds the lease on builder %s, sharing the builder with job(s) %s", job, w.instance, other)) {
			shared = true
		}
		stops := strings.Contains(log, "e2c: stopping instance "+w.instance)
		last := strings.Contains(log, fmt.Sprintf("e2c: job %s gave back the last lease on builder %s (no other job holds one): stopping it", job, w.instance))
		held := strings.Contains(log, fmt.Sprintf("e2c: job %s gave back its lease on builder %s; job(s) %s still hold it: leaving it running", job, w.instance, other))
		switch {
		case stops && last && !held:
			stoppers = append(stoppers, job)
		case !stops && !last && held:
		default:
			t.Errorf("job %s: stopped the instance: %t, gave back the last lease: %t, left it to job %s: %t; want the last lease and a stop, or neither and the other job holding it:\n%s",
				job, stops, last, other, held, tail(log, 40))
		}
		bothPlatformsMerged(t, hostBuilds[i])
	}
	if !shared {
		t.Errorf("neither job saw the other holding the builder (no \"sharing the builder with job(s)\" line): their leases never overlapped")
	}
	if len(stoppers) != 1 {
		t.Errorf("jobs %v stopped the instance, want exactly one", stoppers)
	}
	w.wantState(t, types.InstanceStateNameStopped, "after both pipelines")
}

// GitLab's phases of two jobs against ONE existing builder: both set up at the same moment (each
// takes its lease), then the first job's after_script runs while the second still holds the
// builder: its cleanup keeps the engine's cache and its teardown leaves the instance running. The
// second's cleanup then prunes the cache (it holds the builder alone) and its teardown stops the
// instance. No image is built: the phases' decisions are what is tested.
func TestTwoJobsPhasesShareOneExistingBuilder(t *testing.T) {
	needEngine(t)
	w := newConsoleWorld(t)
	w.consoles.Console(w.instance, func() (string, error) { return w.bootLog, nil })
	src := armRepo(t)
	stateDir := t.TempDir()
	config := func(job string) []string {
		return append([]string{"--source", src, "--bake-file", "arm.hcl", "--project", "e2e", "--arm64", "--arm-builder", "ec2",
			"with-gitlab", "--pipeline-id", "700", "--job-id", job}, w.flags...)
	}
	first, second := "71", "72"
	results := map[string]testenv.Result{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, job := range []string{first, second} {
		args := append(config(job), "arm-builder", "--ref", "staging", "setup", "export", "--path", filepath.Join(stateDir, e2c.StateFileName(job)))
		wg.Go(func() {
			r := daggerCall(t, 15*time.Minute, args...)
			mu.Lock()
			defer mu.Unlock()
			results[job] = r
		})
	}
	wg.Wait()
	for _, job := range []string{first, second} {
		if r := results[job]; r.Err != nil {
			t.Fatalf("arm-builder setup of job %s: %v\n%s\n%s", job, r.Err, r.Stdout, tail(r.Stderr, 60))
		}
	}
	// the builder runs already (consoleWorld's instance): neither setup starts it again, so
	// neither moves it (a start of a running instance is no EC2 call a job needs)
	for _, job := range []string{first, second} {
		if line := fmt.Sprintf("e2c: instance %s is already running (started by another job or by hand): not starting it", w.instance); !strings.Contains(results[job].Stderr, line) {
			t.Errorf("the setup of job %s lacks %q:\n%s", job, line, tail(results[job].Stderr, 30))
		}
	}
	if !strings.Contains(results[first].Stderr+results[second].Stderr, "sharing the builder with job(s)") {
		t.Errorf("neither setup saw the other job holding the builder:\n%s\n%s", tail(results[first].Stderr, 20), tail(results[second].Stderr, 20))
	}

	phase := func(job, verb string, want, none []string) {
		t.Helper()
		r := daggerCall(t, 10*time.Minute, append(config(job), "arm-builder", "--ref", "staging", "--state-dir", stateDir, verb)...)
		if r.Err != nil {
			t.Fatalf("arm-builder %s of job %s: %v\n%s\n%s", verb, job, r.Err, r.Stdout, tail(r.Stderr, 40))
		}
		log := r.Stderr + r.Stdout
		for _, line := range want {
			if !strings.Contains(log, line) {
				t.Errorf("arm-builder %s of job %s: the log lacks %q:\n%s", verb, job, line, tail(log, 40))
			}
		}
		for _, line := range none {
			if strings.Contains(log, line) {
				t.Errorf("arm-builder %s of job %s: the log has %q:\n%s", verb, job, line, tail(log, 40))
			}
		}
	}
	id := w.instance
	phase(first, "cleanup",
		[]string{fmt.Sprintf("e2c cleanup: job(s) %s still hold builder %s: job %s keeps its engine's cache for them", second, id, first)},
		[]string{"pruned the builder engine's cache"})
	phase(first, "teardown",
		[]string{fmt.Sprintf("e2c: job %s gave back its lease on builder %s; job(s) %s still hold it: leaving it running", first, id, second)},
		[]string{"e2c: stopping instance " + id})
	w.wantState(t, types.InstanceStateNameRunning, fmt.Sprintf("after the teardown of job %s, which job %s still holds", first, second))
	phase(second, "cleanup",
		[]string{fmt.Sprintf("e2c cleanup: job %s is the only job holding builder %s: pruning its engine's cache", second, id), "pruned the builder engine's cache"},
		nil)
	phase(second, "teardown",
		[]string{fmt.Sprintf("e2c: job %s gave back the last lease on builder %s (no other job holds one): stopping it", second, id), "e2c: stopping instance " + id},
		nil)
	w.wantState(t, types.InstanceStateNameStopped, "after the last teardown")
}
