package e2c

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"shipyard/internal/lease"
)

// LeaseRun runs one command on the builder over SSH and returns its standard output; name stands
// for the command in errors (SSHTarget.RunNamed).
type LeaseRun func(ctx context.Context, name, cmd string) (string, error)

// leaseRounds bounds how often Take waits out another job's stop of the builder before it gives up.
const leaseRounds = 3

// Lease is one job's lease on the builder the existing strategy shares between jobs: a file on
// the builder itself, written under flock, since EC2's tags have no conditional write (package
// internal/lease renders the commands and says why). Only the last job to give its lease back
// stops the instance, and only a job that holds it alone prunes its engine's cache.
type Lease struct {
	// Instance is the shared builder's instance id, for logs and errors.
	Instance string
	// Job is this job's id.
	Job string
	// TTL is the lease's lifetime: the job's E2C_TTL, as its instance tags' expiry. A job that
	// dies without its teardown leaves a lease that expires then.
	TTL time.Duration
	// MarkerLife is how long the marker of the job that gave back the last lease counts:
	// Config.WaitTimeout, the bound of its wait for the stop, and of a waiting job's.
	MarkerLife time.Duration
	// Dir is the lease directory on the builder (lease.Dir).
	Dir string
}

// Lease is this job's lease on the configured instance of the existing strategy.
func (c Config) Lease() Lease {
	return Lease{Instance: c.InstanceID, Job: c.JobID, TTL: c.TTL, MarkerLife: c.WaitTimeout, Dir: lease.Dir}
}

// ask runs the operation of r for this lease on the builder and reads its answer.
func (l Lease) ask(ctx context.Context, run LeaseRun, r lease.Request) (lease.Answer, error) {
	r.Dir, r.Job, r.TTL, r.MarkerLife = l.Dir, l.Job, l.TTL, l.MarkerLife
	cmd, err := r.Command()
	if err != nil {
		return lease.Answer{}, err
	}
	// the lock's wait, and the connection's handshake, bound the operation
	octx, cancel := context.WithTimeout(ctx, lease.DefaultWait+sshHandshakeTimeout)
	defer cancel()
	out, err := run(octx, r.String(), cmd)
	if err != nil {
		return lease.Answer{}, fmt.Errorf("%s on builder %s failed: %w", r, l.Instance, err)
	}
	return lease.Parse(l.Instance, r, out)
}

// Take acquires this job's lease once the builder answers SSH, before its first build, and logs
// which other jobs share the builder. When another job has just given back the last lease and is
// stopping the instance, restart waits until the instance is stopped, starts it again and waits
// for SSH, and the lease is asked for again, naming the stop it waited out; when the answer is
// still a stop after leaseRounds questions, it gives up.
func (l Lease) Take(ctx context.Context, run LeaseRun, restart func(context.Context) error, logf func(string, ...any)) error {
	stale := ""
	for round := 1; ; round++ {
		a, err := l.ask(ctx, run, lease.Request{Op: lease.Acquire, Stale: stale})
		if err != nil {
			return fmt.Errorf("job %s could not take its lease on the shared builder %s, so nothing was built there: %w", l.Job, l.Instance, err)
		}
		if a.Kind == lease.Acquired {
			if len(a.Others) == 0 {
				logf("e2c: job %s holds the lease on builder %s (no other job holds one)", l.Job, l.Instance)
			} else {
				logf("e2c: job %s holds the lease on builder %s, sharing the builder with job(s) %s", l.Job, l.Instance, strings.Join(a.Others, ", "))
			}
			return nil
		}
		if round == leaseRounds {
			return fmt.Errorf("job %s: builder %s was being stopped by another job each of the %d times this job asked for its lease (job %s the last time): run the job again", l.Job, l.Instance, leaseRounds, a.Stopper())
		}
		logf("e2c: job %s: job %s gave back the last lease on builder %s and is stopping it: waiting until it is stopped, then starting it again", l.Job, a.Stopper(), l.Instance)
		if err := restart(ctx); err != nil {
			return fmt.Errorf("job %s: starting builder %s again after job %s stopped it: %w", l.Job, l.Instance, a.Stopper(), err)
		}
		stale = a.Marker
	}
}

// Release gives this job's lease back at teardown, before anything decides to stop the shared
// builder, and tells whether teardown stops it: only when no other job holds a live lease (the
// builder then carries the marker that makes a job starting now wait for the stop). When the
// builder does not run (ErrNotRunning) there is no lease to give back, and teardown goes on as
// without leases. When the lease cannot be given back otherwise (no SSH to the builder, a garbled
// answer) it logs a WARNING and
// answers true: teardown stops the instance as it did before leases, since a builder this job
// cannot reach must not be left running, at the cost of a job that may share it.
func (l Lease) Release(ctx context.Context, run LeaseRun, logf func(string, ...any)) (stop bool) {
	a, err := l.ask(ctx, run, lease.Request{Op: lease.Release})
	switch {
	case errors.Is(err, ErrNotRunning):
		logf("e2c: builder %s does not run, so job %s holds no lease on it (%v)", l.Instance, l.Job, err)
		return true
	case err != nil:
		logf("e2c: WARNING: job %s could not give back its lease on builder %s (%v): stopping it as without a lease; a job that shares it loses its builder", l.Job, l.Instance, err)
		return true
	case a.Kind == lease.Held:
		logf("e2c: job %s gave back its lease on builder %s; job(s) %s still hold it: leaving it running (the last of them stops it)", l.Job, l.Instance, strings.Join(a.Others, ", "))
		return false
	}
	logf("e2c: job %s gave back the last lease on builder %s (no other job holds one): stopping it", l.Job, l.Instance)
	return true
}

// MayPrune tells whether the cleanup phase prunes the shared builder's engine cache: only when no
// other job holds a live lease, so that a job building there keeps its cache. why is the line to
// log either way. A builder that cannot be asked keeps its cache.
func (l Lease) MayPrune(ctx context.Context, run LeaseRun) (prune bool, why string) {
	a, err := l.ask(ctx, run, lease.Request{Op: lease.Check})
	switch {
	case err != nil:
		return false, fmt.Sprintf("e2c cleanup: job %s could not ask builder %s which jobs hold it (%v): keeping its engine's cache", l.Job, l.Instance, err)
	case len(a.Others) > 0:
		return false, fmt.Sprintf("e2c cleanup: job(s) %s still hold builder %s: job %s keeps its engine's cache for them", strings.Join(a.Others, ", "), l.Instance, l.Job)
	case !a.Holds:
		return true, fmt.Sprintf("e2c cleanup: no job holds builder %s (the lease of job %s has expired): pruning its engine's cache", l.Instance, l.Job)
	}
	return true, fmt.Sprintf("e2c cleanup: job %s is the only job holding builder %s: pruning its engine's cache", l.Job, l.Instance)
}
