package e2c

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Teardown releases the instance in s: it stops it (waiting, bounded by
// Config.WaitTimeout, until stopped) when it is an existing-strategy instance
// or the configured Config.InstanceID, and terminates it otherwise. It is
// idempotent: an instance that is already stopped, terminated or unknown to
// EC2 counts as torn down and is only logged.
func (m *Manager) Teardown(ctx context.Context, s State) error {
	if s.InstanceID == "" {
		return errors.New("teardown: the state names no instance")
	}
	if m.keepInstance(s.InstanceID, s.Strategy) {
		return m.stop(ctx, s.InstanceID)
	}
	return m.terminate(ctx, s.InstanceID)
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

// stop stops an instance and waits until it is stopped.
func (m *Manager) stop(ctx context.Context, id string) error {
	inst, err := m.describe(ctx, id)
	if apiCode(err) == codeNotFound {
		m.logf("instance %s does not exist any more; nothing to stop", id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("stopping instance %s: %w", id, err)
	}
	switch state := stateOf(inst); {
	case state == types.InstanceStateNameStopped || isGone(state):
		m.logf("instance %s is already %s", id, state)
		return nil
	case state == types.InstanceStateNamePending:
		// EC2 refuses to stop a pending instance.
		m.logf("instance %s is still pending; waiting for it to run before stopping it", id)
		if _, err := m.waitRunning(ctx, id); err != nil && !errors.Is(err, ErrTimeout) {
			return fmt.Errorf("stopping instance %s: %w", id, err)
		}
	}
	m.logf("stopping instance %s", id)
	out, err := m.api.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
	if apiCode(err) == codeNotFound {
		m.logf("instance %s does not exist any more; nothing to stop", id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("stopping instance %s: %w", id, err)
	}
	if len(out.StoppingInstances) == 1 && out.StoppingInstances[0].CurrentState != nil &&
		out.StoppingInstances[0].CurrentState.Name == types.InstanceStateNameStopped {
		return nil
	}
	if err := m.waitStopped(ctx, id); err != nil {
		return fmt.Errorf("stopping instance %s: %w", id, err)
	}
	return nil
}

// terminate terminates an instance without waiting: termination cannot be undone.
func (m *Manager) terminate(ctx context.Context, id string) error {
	out, err := m.api.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	if apiCode(err) == codeNotFound {
		m.logf("instance %s does not exist any more; nothing to terminate", id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("terminating instance %s: %w", id, err)
	}
	if len(out.TerminatingInstances) == 1 && out.TerminatingInstances[0].PreviousState != nil &&
		isGone(out.TerminatingInstances[0].PreviousState.Name) {
		m.logf("instance %s was already %s", id, out.TerminatingInstances[0].PreviousState.Name)
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
	insts, err := m.find(ctx, []types.Filter{
		{Name: aws.String("tag:" + TagProject), Values: []string{m.cfg.Project}},
		{Name: aws.String("tag:" + TagJobID), Values: []string{jobID}},
	})
	if err != nil {
		return 0, fmt.Errorf("finding instances of job %s: %w", jobID, err)
	}
	n := 0
	var errs []error
	for _, inst := range insts {
		id, strategy := aws.ToString(inst.InstanceId), tagValue(inst.Tags, TagStrategy)
		if m.keepInstance(id, strategy) && stateOf(inst) == types.InstanceStateNameStopped {
			continue
		}
		m.logf("instance %s of job %s is %s; tearing it down", id, jobID, stateOf(inst))
		if err := m.Teardown(ctx, State{InstanceID: id, Strategy: strategy, JobID: jobID}); err != nil {
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
	insts, err := m.find(ctx, []types.Filter{
		{Name: aws.String("tag:" + TagManagedBy), Values: []string{ManagedByValue}},
		{Name: aws.String("tag:" + TagProject), Values: []string{m.cfg.Project}},
	})
	if err != nil {
		return nil, fmt.Errorf("finding instances to reap: %w", err)
	}
	var (
		reaped []string
		errs   []error
	)
	for _, inst := range insts {
		id, state := aws.ToString(inst.InstanceId), stateOf(inst)
		raw := tagValue(inst.Tags, TagExpiresAt)
		expires, err := time.Parse(time.RFC3339, raw)
		if err != nil {
			m.logf("WARNING: instance %s has no readable %s tag (%q); leaving it alone", id, TagExpiresAt, raw)
			continue
		}
		if !now.After(expires) {
			continue
		}
		if m.keepInstance(id, tagValue(inst.Tags, TagStrategy)) {
			if state == types.InstanceStateNameStopped {
				continue
			}
			m.logf("existing instance %s expired at %s and is %s; stopping it", id, raw, state)
			err = m.stop(ctx, id)
		} else {
			m.logf("instance %s expired at %s (job %s); terminating it", id, raw, tagValue(inst.Tags, TagJobID))
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
func (m *Manager) find(ctx context.Context, filters []types.Filter) ([]types.Instance, error) {
	in := &ec2.DescribeInstancesInput{
		Filters: append(slices.Clone(filters), types.Filter{Name: aws.String("instance-state-name"), Values: liveStates}),
	}
	var out []types.Instance
	p := ec2.NewDescribeInstancesPaginator(m.api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Reservations {
			out = append(out, r.Instances...)
		}
	}
	return out, nil
}

func tagValue(tags []types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}
