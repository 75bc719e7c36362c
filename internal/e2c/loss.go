package e2c

import (
	"errors"
	"fmt"

	"shipyard/internal/plan"
)

// SetupVerdict is what the Manager's Setup result means for the run: the builder is ready, or
// EC2 had no capacity anywhere (QEMU takes over, with why for the plan), or setup failed.
func SetupVerdict(err error) (plan.BuilderState, string, error) {
	switch {
	case err == nil:
		return plan.BuilderReady, "", nil
	case errors.Is(err, ErrNoCapacity):
		return plan.BuilderNoCapacity, "no EC2 capacity", nil
	}
	return "", "", fmt.Errorf("setting up the ARM builder: %v", err)
}

// BuilderLost means the builder went away in the middle of a build: its instance stopped
// running, or its engine stopped answering.
type BuilderLost struct{ ID, Why string }

func (e *BuilderLost) Error() string {
	return fmt.Sprintf("the EC2 ARM builder %s was lost in the build phase: %s", e.ID, e.Why)
}

// BuilderUnreachable means the builder's engine did not answer before its builds started (SSH
// refused, a wrong host key, another engine version). That is the builder's set-up, not a loss:
// falling back would hide it behind a slow QEMU build, so the call fails and says why.
type BuilderUnreachable struct{ Err error }

func (e *BuilderUnreachable) Error() string { return e.Err.Error() }

// BuildFailure tells what a failed remote build on instance id means. cause is why the build's
// context was cancelled (a watcher's *BuilderLost, or nil); stopped tells whether the caller
// stopped the build (its own context ended); instanceLost asks EC2 why the instance is gone ("":
// it runs); engineAnswers asks the builder's engine whether it still answers (nil: it does).
// The answer is a *BuilderLost when the builder is lost, the build's own error when the build
// failed or the caller stopped it, and an error saying so when the builder was never reachable
// although its instance runs.
func BuildFailure(id string, err, cause error, stopped bool, instanceLost func() string, engineAnswers func() error) error {
	var lost *BuilderLost
	var unreachable *BuilderUnreachable
	switch {
	case err == nil:
		return nil
	case errors.As(cause, &lost):
		return lost
	case stopped:
		return err // the caller stopped (the local builds failed, or the call was cancelled)
	}
	if why := instanceLost(); why != "" {
		return &BuilderLost{ID: id, Why: why}
	}
	if errors.As(err, &unreachable) {
		return fmt.Errorf("%w; the instance %s runs, so its set-up is wrong: nothing was built there, and no fallback hides it", unreachable, id)
	}
	if verr := engineAnswers(); verr != nil {
		return &BuilderLost{ID: id, Why: fmt.Sprintf("its engine stopped answering (%v) after: %v", verr, err)}
	}
	return err
}

// BuildOnBuilder runs build on the builder and, each time the builder is lost mid-build (build
// returns a *BuilderLost), does what setting (--on-builder-loss) says for strategy, as
// plan.AfterLoss decides: fail, one on-demand builder in its place (replace tears the lost one
// down and sets that one up) and build there again, or QEMU here. It returns nil, nil when the
// builds passed on a builder; the loss, when QEMU here builds them instead (its Error is the
// plan's BuilderWhy); or the error the build stage fails with.
func BuildOnBuilder(setting, strategy string, build func() error, replace func() (plan.BuilderState, string, error), logf func(string, ...any)) (*BuilderLost, error) {
	for retried := false; ; retried = true {
		err := build()
		if err == nil {
			return nil, nil
		}
		var lost *BuilderLost
		if !errors.As(err, &lost) {
			return nil, err
		}
		act, why := plan.AfterLoss(setting, strategy, retried)
		logf("e2c: WARNING: %v; %s", lost, why)
		switch act {
		case plan.ActFail:
			return nil, fmt.Errorf("%w (--on-builder-loss=fail; qemu or on-demand would carry on)", lost)
		case plan.ActRetryOnDemand:
			state, swhy, err := replace()
			if err != nil {
				return nil, fmt.Errorf("%v; the on-demand builder in its place failed too: %v", lost, err)
			}
			if state == plan.BuilderReady {
				continue
			}
			lost = &BuilderLost{ID: lost.ID, Why: lost.Why + "; no on-demand builder in its place: " + swhy}
		}
		return lost, nil
	}
}

// TearDownAll tears a job's builder down: the instance of its state (when it has one), then
// every instance tagged with the job (a launch the state missed). It never fails: what it could
// not tear down is logged, and the next run's reaper removes it after its TTL.
func TearDownAll(st State, jobID string, teardown func(State) error, byJobTag func(string) (int, error), logf func(string, ...any)) {
	if st.InstanceID != "" {
		if err := teardown(st); err != nil {
			logf("e2c: teardown of %s failed: %v; searching by job tag", st.InstanceID, err)
		}
	}
	n, err := byJobTag(jobID)
	if err != nil {
		logf("e2c: WARNING: teardown by job tag %s failed: %v (the next run's reaper terminates it after its TTL)", jobID, err)
		return
	}
	logf("e2c: teardown: builder of job %s torn down (%d found by job tag)", jobID, n)
}
