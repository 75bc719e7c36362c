// Package lease decides how jobs share one long-lived ARM builder (the "existing" strategy of
// internal/e2c): each job holds a lease on the builder while it builds there, the job that gives
// the last lease back stops the instance, and the engine's cache is pruned only by a job that
// holds the builder alone.
//
// The leases live on the builder host itself, not in EC2 tags. EC2's CreateTags has no
// conditional write, so two jobs that read the tags at the same time would both see a free builder
// and both act on it; the builder's own file system, under flock(1) on one lock file, gives every
// operation a read-decide-write that no other job's operation interleaves with. The lease
// directory (Dir) is under /run, a tmpfs: a stopped or rebooted instance comes back without any
// lease or marker, so nothing outlives the machine it describes.
//
// The directory holds:
//
//	.lock      the lock file every operation holds (flock -w) while it reads and writes the rest
//	<job id>   the lease of that job: one line, the expiry in seconds since the epoch (the
//	           builder's clock: every expiry is written and read by the same clock), now + the
//	           job's TTL, the same TTL its instance tags use
//	.stopping  the marker of a job that gave back the last lease and is stopping the instance:
//	           "<job id>@<seconds> <expiry>"; it counts until its expiry (Request.MarkerLife)
//
// A lease past its expiry belongs to a job that died without its teardown: every operation drops
// it. Each operation is one POSIX sh command (coreutils and util-linux's flock, which Debian and
// Ubuntu have) that the caller runs on the builder over SSH, and its answer is one line on
// standard output, which Parse reads:
//
//	acquire  "stopping <marker>"  a job is stopping the instance: wait until it is stopped, start it
//	                              again and acquire once more, naming that marker as Request.Stale
//	         "acquired [job…]"    the lease is written; the jobs listed hold live leases too
//	release  "held job…"          the lease is gone and these jobs still hold theirs: leave the
//	                              instance running and its cache alone
//	         "last <marker>"      the lease is gone, no other is live, the marker is written: stop
//	                              the instance
//	check    "holders [job…]"     every live lease (the asking job's among them if it has one)
//
// The package only renders commands and parses answers; internal/e2c runs them.
package lease

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Dir is the lease directory on a builder: under /run, a tmpfs that a stop or a reboot empties.
const Dir = "/run/shipyard/leases"

// DefaultWait bounds how long an operation waits for the lock another job's operation holds;
// every operation holds it for a few file reads and writes only.
const DefaultWait = 30 * time.Second

// Op is a lease operation.
type Op string

const (
	// Acquire takes the job's lease, unless a job is stopping the instance.
	Acquire Op = "acquire"
	// Release gives the job's lease back and says whether the instance may be stopped.
	Release Op = "release"
	// Check lists the live leases, for the decision to prune the engine's cache.
	Check Op = "check"
)

// Kind is what an answer says; each is the first word of its line.
type Kind string

const (
	// Acquired: Acquire wrote the lease; Answer.Others hold live leases too.
	Acquired Kind = "acquired"
	// Stopping: Acquire found the marker of a job stopping the instance (Answer.Marker).
	Stopping Kind = "stopping"
	// Held: Release removed the lease; Answer.Others still hold theirs.
	Held Kind = "held"
	// Last: Release removed the last live lease and wrote the marker Answer.Marker.
	Last Kind = "last"
	// Holders: Check listed the live leases (Answer.Holds, Answer.Others).
	Holders Kind = "holders"
)

// kinds are the answers each operation may give.
var kinds = map[Op][]Kind{
	Acquire: {Acquired, Stopping},
	Release: {Held, Last},
	Check:   {Holders},
}

var (
	// jobRE: a job id names a file of the lease directory; a leading dot would hide it from the
	// shell's glob (and could name .lock or .stopping)
	jobRE    = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]*$`)
	markerRE = regexp.MustCompile(`^([A-Za-z0-9_-][A-Za-z0-9._-]*)@[0-9]+$`)
)

// Request is one operation of one job on a builder's leases.
type Request struct {
	// Op is the operation.
	Op Op
	// Dir is the lease directory: Dir on a builder, a temporary directory in tests.
	Dir string
	// Job is the id of the job the lease is for (CI_JOB_ID).
	Job string
	// TTL is how long the lease lasts once acquired (Acquire): the job's E2C_TTL.
	TTL time.Duration
	// MarkerLife is how long the marker Release writes counts: long enough for the job that
	// writes it to have EC2 stop the instance. A marker whose job died first (so nothing stops
	// the instance) stops counting after it.
	MarkerLife time.Duration
	// Stale is the marker Acquire is told to ignore (and removes): the one an earlier Acquire of
	// this job answered, whose stop the job has since waited out. A real instance loses it with
	// its /run when it stops; a host that is not really stopped (a test host) keeps it.
	Stale string
	// Wait bounds the wait for the lock (flock -w); zero means DefaultWait.
	Wait time.Duration
}

// String names the operation for logs and errors.
func (r Request) String() string {
	return fmt.Sprintf("lease %s of job %s in %s", r.Op, r.Job, r.Dir)
}

func (r Request) wait() time.Duration {
	if r.Wait > 0 {
		return r.Wait
	}
	return DefaultWait
}

// seconds rounds d up to whole seconds.
func seconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

// Command renders the operation as one command line for the builder's login shell: `sh -c
// SCRIPT shipyard-lease`, so that POSIX sh runs the script whatever that shell is. The command
// exits non-zero, with the reason on standard error, when it cannot create the lease directory,
// take the lock within Request.Wait or write its files; otherwise it prints one answer line.
func (r Request) Command() (string, error) {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	tail, ok := tails[r.Op]
	if !ok {
		bad("operation %q is not %s, %s or %s", r.Op, Acquire, Release, Check)
	}
	if !jobRE.MatchString(r.Job) {
		bad("job id %q may only contain letters, digits, '.', '_' and '-', and may not start with '.' (it names the lease file)", r.Job)
	}
	if !strings.HasPrefix(r.Dir, "/") {
		bad("lease directory %q is not an absolute path", r.Dir)
	}
	if r.Op == Acquire && r.TTL < time.Second {
		bad("TTL %s of the lease must be at least 1s (E2C_TTL)", r.TTL)
	}
	if r.Op == Release && r.MarkerLife < time.Second {
		bad("marker life %s must be at least 1s", r.MarkerLife)
	}
	if r.Stale != "" && !markerRE.MatchString(r.Stale) {
		bad("stale marker %q is not JOB@SECONDS", r.Stale)
	}
	if len(errs) > 0 {
		return "", fmt.Errorf("rendering %s: %s", r, strings.Join(errs, "; "))
	}
	script := fmt.Sprintf("d=%s job=%s ttl=%d life=%d stale=%s wait=%d\n",
		quote(r.Dir), quote(r.Job), seconds(r.TTL), seconds(r.MarkerLife), quote(r.Stale), seconds(r.wait())) + prologue + tail
	return "sh -c " + quote(script) + " shipyard-lease", nil
}

// prologue creates the directory (a login user other than root gets it from sudo: /run is
// root's, and the Debian and Ubuntu cloud images' users have password-less sudo), takes the lock
// on fd 9, and drops the expired leases; live holds the other jobs with a live lease, sorted (the
// glob's order), each after a space.
const prologue = `set -u
command -v flock >/dev/null 2>&1 || { echo "$0: flock (util-linux) is missing on the builder: install util-linux" >&2; exit 3; }
if ! mkdir -p "$d" 2>/dev/null; then
  sudo -n install -d -m 0755 -o "$(id -u)" "$d" 2>/dev/null || { echo "$0: user $(id -un) cannot create $d: log in as root, or give $(id -un) password-less sudo" >&2; exit 3; }
fi
exec 9>>"$d/.lock" || { echo "$0: user $(id -un) cannot open $d/.lock" >&2; exit 3; }
flock -w "$wait" 9 || { echo "$0: another job's lease operation held $d/.lock for over ${wait}s" >&2; exit 4; }
now=$(date +%s)
live=
for f in "$d"/*; do
  [ -f "$f" ] || continue
  h=${f##*/}
  e=$(cat "$f" 2>/dev/null) || e=
  case $e in ''|*[!0-9]*) e=0 ;; esac
  if [ "$e" -le "$now" ]; then rm -f "$f"; continue; fi
  [ "$h" = "$job" ] || live="$live $h"
done
`

// tails are each operation's decision, run under the lock after the prologue.
var tails = map[Op]string{
	Acquire: `if [ -f "$d/.stopping" ]; then
  read -r tok e <"$d/.stopping" || true
  case ${e:-} in ''|*[!0-9]*) e=0 ;; esac
  if [ "$e" -gt "$now" ] && [ "${tok:-}" != "$stale" ]; then echo "stopping $tok"; exit 0; fi
  rm -f "$d/.stopping"
fi
echo $((now + ttl)) >"$d/$job" || { echo "$0: cannot write $d/$job" >&2; exit 3; }
echo "acquired$live"
`,
	Release: `rm -f "$d/$job"
if [ -n "$live" ]; then echo "held$live"; exit 0; fi
echo "$job@$now $((now + life))" >"$d/.stopping" || { echo "$0: cannot write $d/.stopping" >&2; exit 3; }
echo "last $job@$now"
`,
	Check: `if [ -f "$d/$job" ]; then echo "holders $job$live"; else echo "holders$live"; fi
`,
}

// quote quotes s for a POSIX shell.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Answer is what an operation answered.
type Answer struct {
	// Kind is what it says.
	Kind Kind
	// Others are the other jobs with a live lease (Acquired, Held, Holders), sorted.
	Others []string
	// Holds tells whether the asking job's own lease is live (Holders).
	Holds bool
	// Marker is the marker found (Stopping) or written (Last): "<job id>@<seconds>".
	Marker string
}

// Stopper is the job that wrote the answer's marker.
func (a Answer) Stopper() string {
	job, _, _ := strings.Cut(a.Marker, "@")
	return job
}

// Parse reads the answer of request r that builder (its instance id) printed as out. Anything but
// one line that r's operation may answer is an error naming the builder and the operation.
func Parse(builder string, r Request, out string) (Answer, error) {
	line := strings.TrimSuffix(out, "\n")
	a, why := parse(r, line)
	if why != "" {
		return Answer{}, fmt.Errorf("builder %s answered %q to %s: %s; the answer is one line, %s: if the login user's shell start-up files (~/.bashrc, ~/.profile) print anything, remove that output", builder, out, r, why, answers(r.Op))
	}
	return a, nil
}

func parse(r Request, line string) (Answer, string) {
	if line == "" || strings.ContainsAny(line, "\r\n") {
		return Answer{}, "not one line"
	}
	words := strings.Split(line, " ")
	a := Answer{Kind: Kind(words[0])}
	if !slices.Contains(kinds[r.Op], a.Kind) {
		return Answer{}, fmt.Sprintf("%q is not an answer of %s", words[0], r.Op)
	}
	args := words[1:]
	switch a.Kind {
	case Stopping, Last:
		if len(args) != 1 || !markerRE.MatchString(args[0]) {
			return Answer{}, "want one marker JOB@SECONDS after " + string(a.Kind)
		}
		a.Marker = args[0]
		if a.Kind == Last && a.Stopper() != r.Job {
			return Answer{}, fmt.Sprintf("the marker names job %s, not %s", a.Stopper(), r.Job)
		}
		return a, ""
	}
	for _, job := range args {
		switch {
		case !jobRE.MatchString(job):
			return Answer{}, fmt.Sprintf("%q is not a job id", job)
		case job == r.Job && a.Kind == Holders:
			a.Holds = true
		case job == r.Job:
			return Answer{}, "it lists the asking job among the others"
		case slices.Contains(a.Others, job):
			return Answer{}, fmt.Sprintf("it lists job %s twice", job)
		default:
			a.Others = append(a.Others, job)
		}
	}
	if a.Kind == Held && len(a.Others) == 0 {
		return Answer{}, "held by no job"
	}
	slices.Sort(a.Others)
	return a, ""
}

// answers describes the answers op may give, for errors.
func answers(op Op) string {
	var out []string
	for _, k := range kinds[op] {
		switch k {
		case Stopping, Last:
			out = append(out, string(k)+" JOB@SECONDS")
		case Held:
			out = append(out, string(k)+" JOB…")
		default:
			out = append(out, string(k)+" [JOB…]")
		}
	}
	return strings.Join(out, " or ")
}
