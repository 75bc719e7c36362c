package lease

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	live    = "9999999999" // an expiry far ahead
	expired = "100"        // an expiry long past
)

func TestCommandRefusesWhatItCannotRender(t *testing.T) {
	ok := Request{Op: Acquire, Dir: "/run/shipyard/leases", Job: "61", TTL: time.Hour, MarkerLife: time.Minute}
	tests := []struct {
		name string
		edit func(*Request)
		want string
	}{
		{"an unknown operation", func(r *Request) { r.Op = "steal" }, `operation "steal" is not acquire, release or check`},
		{"an empty job id", func(r *Request) { r.Job = "" }, `job id "" may only contain`},
		{"a job id with a slash", func(r *Request) { r.Job = "../61" }, `job id "../61" may only contain`},
		{"a hidden job id", func(r *Request) { r.Job = ".stopping" }, "may not start with '.'"},
		{"a relative directory", func(r *Request) { r.Dir = "leases" }, `lease directory "leases" is not an absolute path`},
		{"acquire without a TTL", func(r *Request) { r.TTL = 0 }, "TTL 0s of the lease must be at least 1s (E2C_TTL)"},
		{"release without a marker life", func(r *Request) { r.Op, r.MarkerLife = Release, 0 }, "marker life 0s must be at least 1s"},
		{"a stale marker that is no marker", func(r *Request) { r.Stale = "62" }, `stale marker "62" is not JOB@SECONDS`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok
			tt.edit(&r)
			_, err := r.Command()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Command() = %v, want an error with %q", err, tt.want)
			}
		})
	}
	if _, err := ok.Command(); err != nil {
		t.Fatalf("Command() of a good request: %v", err)
	}
}

func TestParse(t *testing.T) {
	acq := Request{Op: Acquire, Dir: Dir, Job: "61"}
	rel := Request{Op: Release, Dir: Dir, Job: "61"}
	chk := Request{Op: Check, Dir: Dir, Job: "61"}
	tests := []struct {
		name string
		r    Request
		out  string
		want Answer
		err  string // part of the error; "" means none
	}{
		{name: "acquired alone", r: acq, out: "acquired\n", want: Answer{Kind: Acquired}},
		{name: "acquired beside others, sorted", r: acq, out: "acquired 70 62\n", want: Answer{Kind: Acquired, Others: []string{"62", "70"}}},
		{name: "a job stopping the instance", r: acq, out: "stopping 62@1700000000\n", want: Answer{Kind: Stopping, Marker: "62@1700000000"}},
		{name: "held by another job", r: rel, out: "held 62\n", want: Answer{Kind: Held, Others: []string{"62"}}},
		{name: "the last lease", r: rel, out: "last 61@1700000000\n", want: Answer{Kind: Last, Marker: "61@1700000000"}},
		{name: "holders: this job alone", r: chk, out: "holders 61\n", want: Answer{Kind: Holders, Holds: true}},
		{name: "holders: this job and another", r: chk, out: "holders 61 62\n", want: Answer{Kind: Holders, Holds: true, Others: []string{"62"}}},
		{name: "holders: another job only (this one's expired)", r: chk, out: "holders 62", want: Answer{Kind: Holders, Others: []string{"62"}}},
		{name: "holders: nobody", r: chk, out: "holders\n", want: Answer{Kind: Holders}},

		{name: "nothing", r: acq, out: "", err: "not one line"},
		{name: "two lines", r: acq, out: "acquired\nacquired\n", err: "not one line"},
		{name: "a shell's complaint", r: acq, out: "sh: 1: flock: not found\n", err: `"sh:" is not an answer of acquire`},
		{name: "another operation's answer", r: acq, out: "last 61@1\n", err: `"last" is not an answer of acquire`},
		{name: "release answering acquired", r: rel, out: "acquired\n", err: `"acquired" is not an answer of release`},
		{name: "held by nobody", r: rel, out: "held\n", err: "held by no job"},
		{name: "a job id that is none", r: acq, out: "acquired 6;2\n", err: `"6;2" is not a job id`},
		{name: "itself among the others", r: acq, out: "acquired 61\n", err: "lists the asking job among the others"},
		{name: "a job twice", r: rel, out: "held 62 62\n", err: "lists job 62 twice"},
		{name: "stopping without a marker", r: acq, out: "stopping\n", err: "want one marker JOB@SECONDS after stopping"},
		{name: "a marker without its time", r: acq, out: "stopping 62\n", err: "want one marker"},
		{name: "the last lease marked for another job", r: rel, out: "last 62@1\n", err: "the marker names job 62, not 61"},
		{name: "a double space", r: acq, out: "acquired  62\n", err: `"" is not a job id`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("i-0123456789abcdef0", tt.r, tt.out)
			if tt.err != "" {
				if err == nil {
					t.Fatalf("Parse = %+v, want an error with %q", got, tt.err)
				}
				for _, part := range []string{tt.err, "builder i-0123456789abcdef0", tt.r.String(), fmt.Sprintf("%q", tt.out)} {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("the error %q lacks %q", err, part)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

// run renders r for the lease directory dir and runs it with sh, as the builder's login shell
// runs it over SSH, and parses its answer.
func run(t *testing.T, dir string, r Request) Answer {
	t.Helper()
	r.Dir = dir
	if r.TTL == 0 {
		r.TTL = time.Hour
	}
	if r.MarkerLife == 0 {
		r.MarkerLife = 10 * time.Minute
	}
	cmd, err := r.Command()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sh", "-c", cmd).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s: %v: %s", r, err, stderr)
	}
	a, err := Parse("test-host", r, string(out))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// files are the lease directory's files but the lock, with their contents.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		if e.Name() == ".lock" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = strings.TrimSpace(string(b))
	}
	return out
}

// The rendered commands, run with sh against a directory holding the files each case starts
// with: what they answer and which files they leave.
func TestOperationsOnADirectory(t *testing.T) {
	tests := []struct {
		name  string
		seed  map[string]string
		r     Request
		want  Answer
		after []string // the files left (but the lock)
	}{
		{name: "acquire, alone", r: Request{Op: Acquire, Job: "61"},
			want: Answer{Kind: Acquired}, after: []string{"61"}},
		{name: "acquire beside a live lease", seed: map[string]string{"62": live}, r: Request{Op: Acquire, Job: "61"},
			want: Answer{Kind: Acquired, Others: []string{"62"}}, after: []string{"61", "62"}},
		{name: "acquire drops an expired lease", seed: map[string]string{"62": expired, "63": live}, r: Request{Op: Acquire, Job: "61"},
			want: Answer{Kind: Acquired, Others: []string{"63"}}, after: []string{"61", "63"}},
		{name: "acquire drops a lease it cannot read", seed: map[string]string{"62": "soon"}, r: Request{Op: Acquire, Job: "61"},
			want: Answer{Kind: Acquired}, after: []string{"61"}},
		{name: "acquire again renews the lease", seed: map[string]string{"61": live}, r: Request{Op: Acquire, Job: "61"},
			want: Answer{Kind: Acquired}, after: []string{"61"}},
		{name: "acquire honours the marker of a job stopping the instance", seed: map[string]string{".stopping": "62@1700000000 " + live},
			r:    Request{Op: Acquire, Job: "61"},
			want: Answer{Kind: Stopping, Marker: "62@1700000000"}, after: []string{".stopping"}},
		{name: "acquire drops an expired marker", seed: map[string]string{".stopping": "62@100 " + expired}, r: Request{Op: Acquire, Job: "61"},
			want: Answer{Kind: Acquired}, after: []string{"61"}},
		{name: "acquire drops the stale marker it waited out", seed: map[string]string{".stopping": "62@1700000000 " + live},
			r:    Request{Op: Acquire, Job: "61", Stale: "62@1700000000"},
			want: Answer{Kind: Acquired}, after: []string{"61"}},
		{name: "acquire honours a newer marker than the one it waited out", seed: map[string]string{".stopping": "63@1700000100 " + live},
			r:    Request{Op: Acquire, Job: "61", Stale: "62@1700000000"},
			want: Answer{Kind: Stopping, Marker: "63@1700000100"}, after: []string{".stopping"}},
		{name: "release while another job holds the builder", seed: map[string]string{"61": live, "62": live}, r: Request{Op: Release, Job: "61"},
			want: Answer{Kind: Held, Others: []string{"62"}}, after: []string{"62"}},
		{name: "release of the last lease writes the marker", seed: map[string]string{"61": live}, r: Request{Op: Release, Job: "61"},
			want: Answer{Kind: Last}, after: []string{".stopping"}},
		{name: "release beside only an expired lease is the last", seed: map[string]string{"61": live, "62": expired}, r: Request{Op: Release, Job: "61"},
			want: Answer{Kind: Last}, after: []string{".stopping"}},
		{name: "release without a lease of its own, another job holding it", seed: map[string]string{"62": live}, r: Request{Op: Release, Job: "61"},
			want: Answer{Kind: Held, Others: []string{"62"}}, after: []string{"62"}},
		{name: "check: this job alone", seed: map[string]string{"61": live, "62": expired}, r: Request{Op: Check, Job: "61"},
			want: Answer{Kind: Holders, Holds: true}, after: []string{"61"}},
		{name: "check: another job holds it too", seed: map[string]string{"61": live, "62": live}, r: Request{Op: Check, Job: "61"},
			want: Answer{Kind: Holders, Holds: true, Others: []string{"62"}}, after: []string{"61", "62"}},
		{name: "check: this job's lease expired", seed: map[string]string{"61": expired}, r: Request{Op: Check, Job: "61"},
			want: Answer{Kind: Holders}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run", "shipyard", "leases") // created by the command
			if len(tt.seed) > 0 {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for name, content := range tt.seed {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			before := time.Now().Unix()
			got := run(t, dir, tt.r)
			// the marker written carries the builder's time: compare its job only
			if tt.want.Kind == Last {
				if got.Stopper() != tt.r.Job {
					t.Errorf("the marker %q names job %s, want %s", got.Marker, got.Stopper(), tt.r.Job)
				}
				got.Marker = ""
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			left := files(t, dir)
			if diff := cmp.Diff(tt.after, slices.Sorted(maps.Keys(left))); diff != "" {
				t.Errorf("files left (-want +got):\n%s", diff)
			}
			if tt.r.Op == Acquire && tt.want.Kind == Acquired {
				exp, err := strconv.ParseInt(left[tt.r.Job], 10, 64)
				if err != nil || exp < before+3600 || exp > time.Now().Unix()+3600 {
					t.Errorf("the lease holds %q, want now + the TTL (1h) in seconds", left[tt.r.Job])
				}
			}
			if tt.want.Kind == Last {
				tok, exp, _ := strings.Cut(left[".stopping"], " ")
				if e, err := strconv.ParseInt(exp, 10, 64); tok == "" || err != nil || e < before+600 {
					t.Errorf("the marker holds %q, want %q and now + its life (10m)", left[".stopping"], got.Marker)
				}
			}
		})
	}
}

// Two jobs share one builder, one step after the other: the second sees the first, the first to
// leave leaves it running, the last writes the marker, which stops a job that comes too late until
// it has waited the stop out.
func TestTwoJobsInterleave(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "leases")
	steps := []struct {
		r    Request
		want Answer
	}{
		{Request{Op: Acquire, Job: "61"}, Answer{Kind: Acquired}},
		{Request{Op: Acquire, Job: "62"}, Answer{Kind: Acquired, Others: []string{"61"}}},
		{Request{Op: Check, Job: "61"}, Answer{Kind: Holders, Holds: true, Others: []string{"62"}}}, // 61 keeps the cache
		{Request{Op: Release, Job: "61"}, Answer{Kind: Held, Others: []string{"62"}}},               // 61 leaves the instance running
		{Request{Op: Check, Job: "62"}, Answer{Kind: Holders, Holds: true}},                         // 62 alone: it may prune
		{Request{Op: Release, Job: "62"}, Answer{Kind: Last}},                                       // 62 stops the instance
		{Request{Op: Acquire, Job: "63"}, Answer{Kind: Stopping}},                                   // 63 waits for the stop
	}
	var marker string
	for i, s := range steps {
		got := run(t, dir, s.r)
		if got.Kind == Last || got.Kind == Stopping {
			if marker == "" {
				marker = got.Marker
			} else if got.Marker != marker {
				t.Errorf("step %d (%s): marker %q, want the one release wrote, %q", i+1, s.r, got.Marker, marker)
			}
			got.Marker = ""
		}
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Fatalf("step %d (%s) (-want +got):\n%s", i+1, s.r, diff)
		}
	}
	// the instance was stopped and started again: 63 names the marker it waited out
	if got := run(t, dir, Request{Op: Acquire, Job: "63", Stale: marker}); got.Kind != Acquired || len(got.Others) != 0 {
		t.Fatalf("acquire after the stop = %+v, want acquired alone", got)
	}
	if diff := cmp.Diff([]string{"63"}, slices.Sorted(maps.Keys(files(t, dir)))); diff != "" {
		t.Errorf("files left (-want +got):\n%s", diff)
	}
}

// Many jobs acquire at the same moment, then release at the same moment: flock serialises them,
// so the k-th acquire sees exactly the k-1 before it (no two see the same number of others), and
// the releases see 7, 6, …, 1 others and exactly one is the last.
func TestConcurrentOperationsAreSerialised(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "leases")
	const n = 8
	jobs := make([]string, n)
	for i := range jobs {
		jobs[i] = fmt.Sprintf("job-%d", i)
	}
	all := func(op Op) []Answer {
		out := make([]Answer, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, job := range jobs {
			wg.Go(func() {
				<-start
				out[i] = run(t, dir, Request{Op: op, Job: job})
			})
		}
		close(start)
		wg.Wait()
		return out
	}
	seen := func(as []Answer) []int {
		var counts []int
		for _, a := range as {
			counts = append(counts, len(a.Others))
		}
		slices.Sort(counts)
		return counts
	}

	acquired := all(Acquire)
	for i, a := range acquired {
		if a.Kind != Acquired {
			t.Fatalf("%s answered %+v, want acquired", jobs[i], a)
		}
	}
	if diff := cmp.Diff([]int{0, 1, 2, 3, 4, 5, 6, 7}, seen(acquired)); diff != "" {
		t.Fatalf("how many others each acquire saw (-want +got):\n%s", diff)
	}
	if got := len(files(t, dir)); got != n {
		t.Fatalf("%d leases after %d acquires", got, n)
	}

	released := all(Release)
	var last []string
	for i, a := range released {
		if a.Kind == Last {
			last = append(last, jobs[i])
		}
	}
	if len(last) != 1 {
		t.Fatalf("the releases %+v: %d answered last (%v), want exactly one", released, len(last), last)
	}
	if diff := cmp.Diff([]int{0, 1, 2, 3, 4, 5, 6, 7}, seen(released)); diff != "" {
		t.Fatalf("how many others each release saw (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{".stopping"}, slices.Sorted(maps.Keys(files(t, dir)))); diff != "" {
		t.Errorf("files left (-want +got):\n%s", diff)
	}
}

// A job whose operation cannot take the lock within Request.Wait fails, saying so, instead of
// deciding without it.
func TestLockHeldTooLong(t *testing.T) {
	dir := t.TempDir()
	holder := exec.Command("flock", filepath.Join(dir, ".lock"), "sleep", "5")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, ".lock")); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatal("the lock file never appeared")
		}
	}
	time.Sleep(100 * time.Millisecond) // flock(1) takes the lock right after creating the file
	cmd, err := Request{Op: Acquire, Dir: dir, Job: "61", TTL: time.Hour, Wait: time.Second}.Command()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "another job's lease operation held "+dir+"/.lock for over 1s") {
		t.Fatalf("acquire with the lock held elsewhere: %v, %q; want a failure saying the lock was held", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "61")); err == nil {
		t.Error("the lease was written without the lock")
	}
}
