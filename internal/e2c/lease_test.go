package e2c

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// scripted answers each lease command with the next of its answers, and keeps the commands.
type scripted struct {
	answers []string // "ERR text" fails the run with that text, "NOTRUNNING" with ErrNotRunning
	names   []string
	cmds    []string
}

func (s *scripted) run(_ context.Context, name, cmd string) (string, error) {
	s.names, s.cmds = append(s.names, name), append(s.cmds, cmd)
	if len(s.answers) == 0 {
		return "", errors.New("no more answers")
	}
	a := s.answers[0]
	s.answers = s.answers[1:]
	if a == "NOTRUNNING" {
		return "", fmt.Errorf("instance i-0123456789abcdef0 is stopped: %w", ErrNotRunning)
	}
	if rest, ok := strings.CutPrefix(a, "ERR "); ok {
		return "", errors.New(rest)
	}
	return a, nil
}

func testLease() Lease {
	return Lease{Instance: "i-0123456789abcdef0", Job: "61", TTL: 3 * time.Hour, MarkerLife: 5 * time.Minute, Dir: "/run/shipyard/leases"}
}

func lineLog(lines *[]string) func(string, ...any) {
	return func(f string, args ...any) { *lines = append(*lines, fmt.Sprintf(f, args...)) }
}

func TestLeaseTake(t *testing.T) {
	tests := []struct {
		name       string
		answers    []string
		restartErr error
		restarts   int
		lines      []string
		err        string
	}{
		{name: "alone", answers: []string{"acquired\n"},
			lines: []string{"e2c: job 61 holds the lease on builder i-0123456789abcdef0 (no other job holds one)"}},
		{name: "shared", answers: []string{"acquired 62 70\n"},
			lines: []string{"e2c: job 61 holds the lease on builder i-0123456789abcdef0, sharing the builder with job(s) 62, 70"}},
		{name: "a job is stopping it: wait, start again, acquire", answers: []string{"stopping 62@1700000000\n", "acquired\n"}, restarts: 1,
			lines: []string{
				"e2c: job 61: job 62 gave back the last lease on builder i-0123456789abcdef0 and is stopping it: waiting until it is stopped, then starting it again",
				"e2c: job 61 holds the lease on builder i-0123456789abcdef0 (no other job holds one)",
			}},
		{name: "stopped under it every time", answers: []string{"stopping 62@1\n", "stopping 63@2\n", "stopping 64@3\n"}, restarts: 2,
			lines: []string{
				"e2c: job 61: job 62 gave back the last lease on builder i-0123456789abcdef0 and is stopping it: waiting until it is stopped, then starting it again",
				"e2c: job 61: job 63 gave back the last lease on builder i-0123456789abcdef0 and is stopping it: waiting until it is stopped, then starting it again",
			},
			err: "job 61: builder i-0123456789abcdef0 was being stopped by another job each of the 3 times this job asked for its lease (job 64 the last time): run the job again"},
		{name: "the start after the stop fails", answers: []string{"stopping 62@1\n"}, restartErr: errors.New("InsufficientInstanceCapacity"), restarts: 1,
			lines: []string{"e2c: job 61: job 62 gave back the last lease on builder i-0123456789abcdef0 and is stopping it: waiting until it is stopped, then starting it again"},
			err:   "job 61: starting builder i-0123456789abcdef0 again after job 62 stopped it: InsufficientInstanceCapacity"},
		{name: "no SSH", answers: []string{"ERR connection refused"},
			err: "job 61 could not take its lease on the shared builder i-0123456789abcdef0, so nothing was built there: lease acquire of job 61 in /run/shipyard/leases on builder i-0123456789abcdef0 failed: connection refused"},
		{name: "a garbled answer", answers: []string{"Welcome to Ubuntu\n"},
			err: `builder i-0123456789abcdef0 answered "Welcome to Ubuntu\n" to lease acquire of job 61 in /run/shipyard/leases`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &scripted{answers: tt.answers}
			var lines []string
			restarts := 0
			err := testLease().Take(context.Background(), s.run, func(context.Context) error { restarts++; return tt.restartErr }, lineLog(&lines))
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("Take = %v, want error %q", err, tt.err)
			}
			if restarts != tt.restarts {
				t.Errorf("%d restarts, want %d", restarts, tt.restarts)
			}
			if diff := cmp.Diff(tt.lines, lines); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
			for i, name := range s.names {
				if name != "lease acquire of job 61 in /run/shipyard/leases" {
					t.Errorf("command %d is named %q", i, name)
				}
			}
		})
	}
	// the acquire after a restart names the marker it waited out
	s := &scripted{answers: []string{"stopping 62@1700000000\n", "acquired\n"}}
	if err := testLease().Take(context.Background(), s.run, func(context.Context) error { return nil }, func(string, ...any) {}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.cmds[0], "62@1700000000") || !strings.Contains(s.cmds[1], `stale='\''62@1700000000'\''`) {
		t.Errorf("the acquires are %q, want the second only to name the stale marker", s.cmds)
	}
}

func TestLeaseRelease(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		stop   bool
		line   string
	}{
		{"held by another job", "held 62\n", false,
			"e2c: job 61 gave back its lease on builder i-0123456789abcdef0; job(s) 62 still hold it: leaving it running (the last of them stops it)"},
		{"the last lease", "last 61@1700000000\n", true,
			"e2c: job 61 gave back the last lease on builder i-0123456789abcdef0 (no other job holds one): stopping it"},
		{"the builder does not run", "NOTRUNNING", true,
			"e2c: builder i-0123456789abcdef0 does not run, so job 61 holds no lease on it (lease release of job 61 in /run/shipyard/leases on builder i-0123456789abcdef0 failed: instance i-0123456789abcdef0 is stopped: the instance does not run, so it holds no lease)"},
		{"no SSH: stopped as without leases", "ERR no SSH keys for the builder", true,
			"e2c: WARNING: job 61 could not give back its lease on builder i-0123456789abcdef0 (lease release of job 61 in /run/shipyard/leases on builder i-0123456789abcdef0 failed: no SSH keys for the builder): stopping it as without a lease; a job that shares it loses its builder"},
		{"a garbled answer: stopped as without leases", "held\n", true,
			`e2c: WARNING: job 61 could not give back its lease on builder i-0123456789abcdef0 (builder i-0123456789abcdef0 answered "held\n" to lease release of job 61 in /run/shipyard/leases: held by no job; the answer is one line, held JOB… or last JOB@SECONDS: if the login user's shell start-up files (~/.bashrc, ~/.profile) print anything, remove that output): stopping it as without a lease; a job that shares it loses its builder`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lines []string
			s := &scripted{answers: []string{tt.answer}}
			if stop := testLease().Release(context.Background(), s.run, lineLog(&lines)); stop != tt.stop {
				t.Errorf("Release = %t, want %t", stop, tt.stop)
			}
			if diff := cmp.Diff([]string{tt.line}, lines); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLeaseMayPrune(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		prune  bool
		why    string
	}{
		{"alone", "holders 61\n", true, "e2c cleanup: job 61 is the only job holding builder i-0123456789abcdef0: pruning its engine's cache"},
		{"shared", "holders 61 62\n", false, "e2c cleanup: job(s) 62 still hold builder i-0123456789abcdef0: job 61 keeps its engine's cache for them"},
		{"its own lease expired, another's is live", "holders 62\n", false, "e2c cleanup: job(s) 62 still hold builder i-0123456789abcdef0: job 61 keeps its engine's cache for them"},
		{"nobody", "holders\n", true, "e2c cleanup: no job holds builder i-0123456789abcdef0 (the lease of job 61 has expired): pruning its engine's cache"},
		{"no SSH", "ERR connection refused", false,
			"e2c cleanup: job 61 could not ask builder i-0123456789abcdef0 which jobs hold it (lease check of job 61 in /run/shipyard/leases on builder i-0123456789abcdef0 failed: connection refused): keeping its engine's cache"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &scripted{answers: []string{tt.answer}}
			prune, why := testLease().MayPrune(context.Background(), s.run)
			if prune != tt.prune || why != tt.why {
				t.Errorf("MayPrune = %t, %q; want %t, %q", prune, why, tt.prune, tt.why)
			}
		})
	}
}

// The lease commands run with sh against a local directory standing in for the builder's: two
// jobs share it, the first to leave leaves it running and keeps the cache, the second prunes and
// stops it, and a third that comes during that stop waits it out and then holds the builder.
func TestLeaseOnALocalDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "leases")
	local := func(ctx context.Context, _, cmd string) (string, error) {
		out, err := exec.CommandContext(ctx, "sh", "-c", cmd).Output()
		return string(out), err
	}
	job := func(id string) Lease { l := testLease(); l.Job, l.Dir = id, dir; return l }
	var lines []string
	logf := lineLog(&lines)
	noRestart := func(context.Context) error { return errors.New("no restart expected") }
	ctx := context.Background()
	if err := job("61").Take(ctx, local, noRestart, logf); err != nil {
		t.Fatal(err)
	}
	if err := job("62").Take(ctx, local, noRestart, logf); err != nil {
		t.Fatal(err)
	}
	if prune, why := job("61").MayPrune(ctx, local); prune {
		t.Errorf("61 prunes while 62 holds the builder: %s", why)
	}
	if job("61").Release(ctx, local, logf) {
		t.Error("61 stops the builder 62 holds")
	}
	if prune, why := job("62").MayPrune(ctx, local); !prune {
		t.Errorf("62, alone, keeps the cache: %s", why)
	}
	if !job("62").Release(ctx, local, logf) {
		t.Error("62, the last, does not stop the builder")
	}
	restarts := 0
	if err := job("63").Take(ctx, local, func(context.Context) error { restarts++; return nil }, logf); err != nil || restarts != 1 {
		t.Fatalf("63: Take = %v after %d restarts, want the lease after 1", err, restarts)
	}
	want := []string{
		"e2c: job 61 holds the lease on builder i-0123456789abcdef0 (no other job holds one)",
		"e2c: job 62 holds the lease on builder i-0123456789abcdef0, sharing the builder with job(s) 61",
		"e2c: job 61 gave back its lease on builder i-0123456789abcdef0; job(s) 62 still hold it: leaving it running (the last of them stops it)",
		"e2c: job 62 gave back the last lease on builder i-0123456789abcdef0 (no other job holds one): stopping it",
		"e2c: job 63: job 62 gave back the last lease on builder i-0123456789abcdef0 and is stopping it: waiting until it is stopped, then starting it again",
		"e2c: job 63 holds the lease on builder i-0123456789abcdef0 (no other job holds one)",
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}
