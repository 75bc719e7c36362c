package e2c

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"shipyard/internal/awsapi"
)

// Teardown releases the instance a state names: it stops it (waiting, bounded by
// Config.WaitTimeout, until stopped) when it is an existing-strategy instance or the configured
// Config.InstanceID, and terminates it otherwise. A state file is read from disk and may name any
// instance, so Teardown first reads the instance's tags and acts only on one of this project's
// (Config.checkOwned); any other is refused with an error that says what to do. It is
// idempotent: an instance that is already stopped, terminated or unknown to EC2 counts as torn
// down and is only logged.
func (m *Manager) Teardown(ctx context.Context, s State) error {
	if s.InstanceID == "" {
		return errors.New("teardown: the state names no instance")
	}
	inst, ok, err := m.lookup(ctx, s.InstanceID, "tearing down")
	if err != nil || !ok {
		return err
	}
	return m.release(ctx, inst, s.Strategy)
}

// undo tears down the instance Setup itself has just launched or started, when Setup fails
// after that. It skips Config.checkOwned: Setup knows the instance is this job's, and EC2 is
// eventually consistent, so a DescribeInstances right after the launch may not list the
// instance yet and Teardown would take it for gone.
func (m *Manager) undo(ctx context.Context, s State) error {
	if !m.keepInstance(s.InstanceID, s.Strategy) {
		return m.terminate(ctx, s.InstanceID)
	}
	inst, ok, err := m.lookup(ctx, s.InstanceID, "stopping")
	if err != nil || !ok {
		return err
	}
	return m.stop(ctx, inst)
}

// keepInstance reports whether the instance must be stopped, never
// terminated: it is the configured existing instance, or was used by the
// existing strategy (or the state does not say and the configuration is
// existing).
func (m *Manager) keepInstance(id, strategy string) bool {
	if strategy == "" {
		strategy = m.cfg.Strategy
	}
	return strategy == StrategyExisting || (m.cfg.InstanceID != "" && id == m.cfg.InstanceID)
}

// lookup describes the instance id before doing something to it; ok is false, and it is logged,
// when EC2 does not know the instance (any more), which counts as done.
func (m *Manager) lookup(ctx context.Context, id, doing string) (inst awsapi.Instance, ok bool, err error) {
	inst, err = m.describe(ctx, id)
	switch {
	case apiCode(err) == codeNotFound || errors.Is(err, errNotListed):
		m.logf("instance %s does not exist any more; nothing to tear down", id)
		return awsapi.Instance{}, false, nil
	case err != nil:
		return awsapi.Instance{}, false, fmt.Errorf("%s instance %s: %w", doing, id, err)
	}
	return inst, true, nil
}

// release stops or terminates inst as Teardown does (strategy is the one its state or tag
// names), once Config.checkOwned allows it. An instance that is already going or gone is only
// logged, whoever it belongs to: nothing is done to it.
func (m *Manager) release(ctx context.Context, inst awsapi.Instance, strategy string) error {
	if isGone(inst.State) {
		m.logf("instance %s was already %s", inst.ID, inst.State)
		return nil
	}
	keep := m.keepInstance(inst.ID, strategy)
	if err := m.cfg.checkOwned(inst, keep); err != nil {
		return err
	}
	if keep {
		return m.stop(ctx, inst)
	}
	return m.terminate(ctx, inst.ID)
}

// checkOwned decides whether teardown may act on inst, and says why not. What it asks for
// depends on what teardown would do:
//
//   - Terminate (the template strategy): the instance carries all three tags a launch from the
//     launch template writes: TagManagedBy=ManagedByValue, TagProject=Config.Project and
//     TagStrategy=StrategyTemplate. managed-by and project alone are not enough: the existing
//     strategy writes them too on the user's own long-lived instance when it starts it, and that
//     instance must never be terminated.
//   - Stop (the existing strategy, or the configured instance): the configured Config.InstanceID
//     is stopped without any tag, since the user named it to be started and stopped (and may
//     have removed the tags since). Any other instance must carry TagManagedBy and TagProject,
//     which the existing strategy wrote when it started it for a job of this project. Stopping
//     is reversible, but an instance that is not this project's is none of its business.
func (c Config) checkOwned(inst awsapi.Instance, keep bool) error {
	if keep && c.InstanceID != "" && inst.ID == c.InstanceID {
		return nil
	}
	want := []awsapi.Tag{{Key: TagManagedBy, Value: ManagedByValue}, {Key: TagProject, Value: c.Project}}
	doing, whose := "stop", "that shipyard starts for project "+c.Project
	if !keep {
		want = append(want, awsapi.Tag{Key: TagStrategy, Value: StrategyTemplate})
		doing, whose = "terminate", "that shipyard launches from the launch template for project "+c.Project
	}
	for _, t := range want {
		got, has := inst.LookupTag(t.Key)
		if has && got == t.Value {
			continue
		}
		seen := "it has no such tag"
		if has {
			seen = fmt.Sprintf("its %s is %q", t.Key, got)
		}
		return fmt.Errorf("refusing to %s instance %s: it lacks the tag %s=%s (%s), which every instance %s carries, so it is not this project's builder: "+
			"if a state file names it by mistake, delete that file (teardown then finds the job's builder by its job tag); if the instance is yours to %s, do it yourself",
			doing, inst.ID, t.Key, t.Value, seen, whose, doing)
	}
	return nil
}

// stop stops the described instance and waits until it is stopped.
func (m *Manager) stop(ctx context.Context, inst awsapi.Instance) error {
	id := inst.ID
	switch state := inst.State; {
	case state == stateStopped || isGone(state):
		m.logf("instance %s is already %s", id, state)
		return nil
	case state == statePending:
		// EC2 refuses to stop a pending instance.
		m.logf("instance %s is still pending; waiting for it to run before stopping it", id)
		if _, err := m.waitRunning(ctx, id); err != nil && !errors.Is(err, ErrTimeout) {
			return fmt.Errorf("stopping instance %s: %w", id, err)
		}
	}
	m.logf("stopping instance %s", id)
	out, err := m.api.StopInstances(ctx, id)
	if apiCode(err) == codeNotFound {
		m.logf("instance %s does not exist any more; nothing to stop", id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("stopping instance %s: %w", id, err)
	}
	if len(out) == 1 && out[0].Current == stateStopped {
		return nil
	}
	if err := m.waitStopped(ctx, id); err != nil {
		return fmt.Errorf("stopping instance %s: %w", id, err)
	}
	return nil
}

// terminate terminates an instance without waiting: termination cannot be undone.
func (m *Manager) terminate(ctx context.Context, id string) error {
	out, err := m.api.TerminateInstances(ctx, id)
	if apiCode(err) == codeNotFound {
		m.logf("instance %s does not exist any more; nothing to terminate", id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("terminating instance %s: %w", id, err)
	}
	if len(out) == 1 && isGone(out[0].Previous) {
		m.logf("instance %s was already %s", id, out[0].Previous)
		return nil
	}
	m.logf("terminating instance %s", id)
	return nil
}

// TeardownJob tears down every instance of this project tagged with jobID
// that is pending, running or stopping (and template-launched instances that
// are stopped), and returns how many it tore down. It is the fallback when
// the job was cancelled before its state file was written.
func (m *Manager) TeardownJob(ctx context.Context, jobID string) (int, error) {
	insts, err := m.find(ctx, []awsapi.Filter{
		{Name: "tag:" + TagProject, Values: []string{m.cfg.Project}},
		{Name: "tag:" + TagJobID, Values: []string{jobID}},
	})
	if err != nil {
		return 0, fmt.Errorf("finding instances of job %s: %w", jobID, err)
	}
	n := 0
	var errs []error
	for _, inst := range insts {
		id, strategy := inst.ID, inst.Tag(TagStrategy)
		if m.keepInstance(id, strategy) && inst.State == stateStopped {
			continue
		}
		m.logf("instance %s of job %s is %s; tearing it down", id, jobID, inst.State)
		if err := m.release(ctx, inst, strategy); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("tearing down instances of job %s: %w", jobID, errors.Join(errs...))
	}
	return n, nil
}

// Reap removes every instance of this project whose expiry tag has passed at
// now, and returns their ids (sorted). Template-launched instances are
// terminated. The existing-strategy instance (tagged so, or equal to
// Config.InstanceID) is never terminated: if it has expired and still runs,
// a job died without stopping it, so it is stopped, which is reversible and
// ends the cost. Instances without a readable expiry tag are left alone and
// logged.
func (m *Manager) Reap(ctx context.Context, now time.Time) ([]string, error) {
	insts, err := m.find(ctx, []awsapi.Filter{
		{Name: "tag:" + TagManagedBy, Values: []string{ManagedByValue}},
		{Name: "tag:" + TagProject, Values: []string{m.cfg.Project}},
	})
	if err != nil {
		return nil, fmt.Errorf("finding instances to reap: %w", err)
	}
	var (
		reaped []string
		errs   []error
	)
	for _, inst := range insts {
		id, state := inst.ID, inst.State
		raw := inst.Tag(TagExpiresAt)
		expires, err := time.Parse(time.RFC3339, raw)
		if err != nil {
			m.logf("WARNING: instance %s has no readable %s tag (%q); leaving it alone", id, TagExpiresAt, raw)
			continue
		}
		if !now.After(expires) {
			continue
		}
		if m.keepInstance(id, inst.Tag(TagStrategy)) {
			if state == stateStopped {
				continue
			}
			m.logf("existing instance %s expired at %s and is %s; stopping it", id, raw, state)
			err = m.stop(ctx, inst)
		} else {
			m.logf("instance %s expired at %s (job %s); terminating it", id, raw, inst.Tag(TagJobID))
			err = m.terminate(ctx, id)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		reaped = append(reaped, id)
	}
	slices.Sort(reaped)
	if len(errs) > 0 {
		return reaped, fmt.Errorf("reaping expired instances: %w", errors.Join(errs...))
	}
	return reaped, nil
}

// Cleanup is the logic of a job's after_script: tear down the instance in
// the state file at statePath if there is one (then delete the file), and in
// any case tear down what still carries the job's tag. Without a state file
// the job was cancelled before or during the launch, so the search by tag is
// repeated after Config.SettleDelay to catch a launch that EC2 had not yet
// made visible. It returns how many instances were torn down.
func (m *Manager) Cleanup(ctx context.Context, statePath, jobID string) (int, error) {
	n := 0
	var errs []error
	s, err := ReadState(statePath)
	haveState := err == nil
	switch {
	case haveState:
		if err := m.Teardown(ctx, s); err != nil {
			errs = append(errs, err)
			break
		}
		n++
		if err := os.Remove(statePath); err != nil {
			m.logf("WARNING: could not delete state file %s: %v", statePath, err)
		}
	case errors.Is(err, fs.ErrNotExist):
		m.logf("no state file %s; searching for instances tagged with job %s", statePath, jobID)
	default:
		m.logf("WARNING: %v; searching for instances tagged with job %s instead", err, jobID)
	}
	sweeps := 1
	if !haveState {
		sweeps = 2
	}
	for i := range sweeps {
		if i > 0 {
			if err := sleep(ctx, m.cfg.settleDelay()); err != nil {
				errs = append(errs, err)
				break
			}
		}
		k, err := m.TeardownJob(ctx, jobID)
		n += k
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("cleaning up job %s: %w", jobID, errors.Join(errs...))
	}
	return n, nil
}

// liveStates are the instance states find returns.
var liveStates = []string{"pending", "running", "stopping", "stopped"}

// find lists the instances matching filters that are not terminated.
func (m *Manager) find(ctx context.Context, filters []awsapi.Filter) ([]awsapi.Instance, error) {
	return m.api.DescribeInstances(ctx, nil, append(slices.Clone(filters), awsapi.Filter{Name: "instance-state-name", Values: liveStates}))
}
