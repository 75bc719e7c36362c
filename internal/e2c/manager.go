package e2c

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"shipyard/internal/awsapi"
	"shipyard/internal/retry"
)

// EC2API is the part of the EC2 API the Manager uses; *awsapi.Client satisfies it.
type EC2API interface {
	RunInstances(ctx context.Context, in awsapi.RunInput) ([]awsapi.Instance, error)
	StartInstances(ctx context.Context, ids ...string) ([]awsapi.StateChange, error)
	StopInstances(ctx context.Context, ids ...string) ([]awsapi.StateChange, error)
	TerminateInstances(ctx context.Context, ids ...string) ([]awsapi.StateChange, error)
	DescribeInstances(ctx context.Context, ids []string, filters []awsapi.Filter) ([]awsapi.Instance, error)
	CreateTags(ctx context.Context, ids []string, tags []awsapi.Tag) error
}

var _ EC2API = (*awsapi.Client)(nil)

// Instance state names.
const (
	statePending      = "pending"
	stateRunning      = "running"
	stateShuttingDown = "shutting-down"
	stateTerminated   = "terminated"
	stateStopping     = "stopping"
	stateStopped      = "stopped"
)

// Tag keys (and the managed-by value) put on every instance the Manager uses.
const (
	// TagManagedBy marks instances handled by this package; its value is ManagedByValue.
	TagManagedBy = "managed-by"
	// ManagedByValue is the value of TagManagedBy.
	ManagedByValue = "shipyard"
	// TagProject holds Config.Project.
	TagProject = "shipyard:project"
	// TagPipelineID holds Config.PipelineID.
	TagPipelineID = "shipyard:pipeline-id"
	// TagJobID holds Config.JobID.
	TagJobID = "shipyard:job-id"
	// TagExpiresAt holds the RFC 3339 UTC time after which the reaper may remove the instance.
	TagExpiresAt = "shipyard:expires-at"
	// TagStrategy holds the strategy that used the instance, so teardown knows whether to stop or terminate.
	TagStrategy = "shipyard:strategy"
)

// Manager runs the EC2 lifecycle of one job's builder.
type Manager struct {
	api EC2API
	cfg Config
	log func(string)
}

// NewManager returns a Manager that calls api with cfg and reports progress
// lines to log (nil discards them); run cfg.Preflight first.
func NewManager(api EC2API, cfg Config, log func(string)) *Manager {
	if log == nil {
		log = func(string) {}
	}
	return &Manager{api: api, cfg: cfg, log: log}
}

func (m *Manager) logf(format string, args ...any) {
	m.log(fmt.Sprintf("e2c: "+format, args...))
}

// SSHAddr is the host:port to dial for s: the public IP and Config.SSHPort,
// or Config.SSHAddrOverride when set (test-only).
func (m *Manager) SSHAddr(s State) string {
	if m.cfg.SSHAddrOverride != "" {
		return m.cfg.SSHAddrOverride
	}
	return net.JoinHostPort(s.PublicIP, strconv.Itoa(m.cfg.SSHPort))
}

// Setup brings up the job's builder: StartInstances (existing) or
// RunInstances from the launch template (template). onState is called the
// moment the instance exists, before any waiting, so that a cancelled job can
// still tear it down, and again once the public IP is known. Setup then
// waits, bounded by Config.WaitTimeout, for the instance to run with a public
// IP. When launches fail for lack of capacity it tries the next subnet, then
// on-demand instead of spot, and finally returns an error matching
// ErrNoCapacity. On any error after the instance exists, the returned State
// names it. If onState fails, or the wait fails or times out, Setup tears
// the instance down itself; if ctx is cancelled it does not (the job is
// being killed), and the after_script's Cleanup must.
func (m *Manager) Setup(ctx context.Context, onState func(State) error) (State, error) {
	if onState == nil {
		onState = func(State) error { return nil }
	}
	if m.cfg.SSHAddrOverride != "" {
		m.logf("WARNING: E2C_SSH_ADDR_OVERRIDE is set: SSH goes to %s instead of the instance's public IP (test-only setting)", m.cfg.SSHAddrOverride)
	}
	var (
		s   State
		err error
	)
	switch m.cfg.Strategy {
	case StrategyExisting:
		s, err = m.startExisting(ctx)
	case StrategyTemplate:
		s, err = m.launchFromTemplate(ctx)
	default:
		return State{}, fmt.Errorf("unknown strategy %q: set E2C_INSTANCE_STRATEGY to %q or %q", m.cfg.Strategy, StrategyExisting, StrategyTemplate)
	}
	if err != nil {
		return s, err
	}
	if err := onState(s); err != nil {
		err = fmt.Errorf("recording state of instance %s: %w", s.InstanceID, err)
		if terr := m.undo(ctx, s); terr != nil {
			err = errors.Join(err, fmt.Errorf("tearing it down again: %w", terr))
		}
		return s, err
	}

	inst, err := m.waitReady(ctx, s.InstanceID)
	if err != nil {
		if ctx.Err() == nil {
			if terr := m.undo(ctx, s); terr != nil {
				err = errors.Join(err, fmt.Errorf("tearing it down: %w", terr))
			}
		}
		return s, err
	}
	s.PublicIP, s.InstanceType = inst.PublicIP, inst.Type
	s.Spot = inst.Lifecycle == "spot"
	if err := onState(s); err != nil {
		return s, fmt.Errorf("recording public IP of instance %s: %w", s.InstanceID, err)
	}
	m.logf("instance %s (%s) is running at %s (spot: %t)", s.InstanceID, cmp.Or(s.InstanceType, "type unknown"), s.PublicIP, s.Spot)
	return s, nil
}

// tags returns the tags for an instance used by the configured job.
func (m *Manager) tags(strategy string, now time.Time) []awsapi.Tag {
	kv := [][2]string{
		{TagManagedBy, ManagedByValue},
		{TagProject, m.cfg.Project},
		{TagPipelineID, m.cfg.PipelineID},
		{TagJobID, m.cfg.JobID},
		{TagExpiresAt, now.Add(m.cfg.TTL).UTC().Format(time.RFC3339)},
		{TagStrategy, strategy},
	}
	tags := make([]awsapi.Tag, len(kv))
	for i, p := range kv {
		tags[i] = awsapi.Tag{Key: p[0], Value: p[1]}
	}
	return tags
}

func (m *Manager) newState(id, strategy string, spot bool, at time.Time) State {
	return State{InstanceID: id, Strategy: strategy, Region: m.cfg.Region, JobID: m.cfg.JobID, Spot: spot, LaunchedAt: at.UTC()}
}

// startExisting tags the configured instance for this job and starts it.
func (m *Manager) startExisting(ctx context.Context) (State, error) {
	id := m.cfg.InstanceID
	now := time.Now()
	// Tag first: if the job dies after StartInstances, TeardownJob finds the instance by its job tag.
	if err := m.api.CreateTags(ctx, []string{id}, m.tags(StrategyExisting, now)); err != nil {
		if apiCode(err) == codeNotFound {
			return State{}, fmt.Errorf("instance %s (E2C_INSTANCE_ID) does not exist in %s: %w", id, m.cfg.Region, err)
		}
		return State{}, fmt.Errorf("tagging instance %s for job %s: %w", id, m.cfg.JobID, err)
	}
	// Another job sharing the instance, or someone by hand, may have started it already. EC2
	// answers StartInstances on a running instance without changing it, but the call is not
	// needed: start only what is stopped or stopping.
	if inst, err := m.describe(ctx, id); err == nil && (inst.State == stateRunning || inst.State == statePending) {
		m.logf("instance %s is already %s (started by another job or by hand): not starting it", id, inst.State)
		return m.newState(id, StrategyExisting, false, now), nil
	}
	m.logf("starting instance %s", id)
	_, err := m.api.StartInstances(ctx, id)
	if apiCode(err) == codeIncorrectState {
		// Typically still stopping after a previous job: wait until stopped, then start once more.
		m.logf("instance %s cannot be started yet (%v); waiting for it to stop first", id, err)
		if werr := m.waitStopped(ctx, id); werr != nil {
			return State{}, fmt.Errorf("starting instance %s: %w", id, werr)
		}
		_, err = m.api.StartInstances(ctx, id)
	}
	if err != nil {
		return State{}, fmt.Errorf("starting instance %s (E2C_INSTANCE_ID): %w", id, err)
	}
	return m.newState(id, StrategyExisting, false, now), nil
}

// StartAgain starts the existing instance again after another job stopped it: that job gave back
// the last lease on it just before this job asked for one (Lease.Take). It waits, within
// Config.WaitTimeout, until the instance is stopped, or pending (started again since the stop),
// then starts it and waits for it to run as Setup does. An instance that still runs at that
// deadline was never stopped (the job stopping it died before it could, and its marker has
// expired by then): Setup then finds it running and only tags it for this job.
func (m *Manager) StartAgain(ctx context.Context) (State, error) {
	if m.cfg.Strategy != StrategyExisting {
		return State{}, fmt.Errorf("starting instance %s again: only the existing strategy shares its instance, this job's strategy is %s", m.cfg.InstanceID, m.cfg.Strategy)
	}
	id := m.cfg.InstanceID
	_, err := m.waitFor(ctx, id, "to stop", isGone, stateStopped, statePending)
	switch {
	case errors.Is(err, ErrTimeout):
		m.logf("instance %s was not stopped within %s (%v); the job stopping it gave up: starting it as it is", id, m.cfg.WaitTimeout, err)
	case err != nil:
		return State{}, fmt.Errorf("waiting for instance %s to stop before starting it again: %w", id, err)
	}
	return m.Setup(ctx, nil)
}

// Locate is s with the public IP EC2 describes now for its instance: the address of a builder
// that teardown reaches without one in its state (no state file, or a setup that failed before
// the instance ran). It fails with ErrNotRunning when the instance does not run.
func (m *Manager) Locate(ctx context.Context, s State) (State, error) {
	inst, err := m.describe(ctx, s.InstanceID)
	switch {
	case err != nil:
		return s, fmt.Errorf("describing instance %s: %w", s.InstanceID, err)
	case inst.State != stateRunning || inst.PublicIP == "":
		return s, fmt.Errorf("instance %s is %s: %w", s.InstanceID, inst.State, ErrNotRunning)
	}
	s.PublicIP = inst.PublicIP
	return s, nil
}

// attempt is one placement tried by launchFromTemplate.
type attempt struct {
	spot   bool
	subnet string // "" = the launch template's own network settings
}

func (a attempt) String() string {
	market := "on-demand"
	if a.spot {
		market = "spot"
	}
	if a.subnet == "" {
		return market + " in the template's subnet"
	}
	return market + " in " + a.subnet
}

// attempts lists the placements in the order they are tried: every subnet
// with spot (if requested), then every subnet on-demand.
func (c Config) attempts() []attempt {
	subnets := c.Subnets
	if len(subnets) == 0 {
		subnets = []string{""}
	}
	var out []attempt
	markets := []bool{false}
	if c.UseSpot {
		markets = []bool{true, false}
	}
	for _, spot := range markets {
		for _, sn := range subnets {
			out = append(out, attempt{spot: spot, subnet: sn})
		}
	}
	return out
}

// launchFromTemplate runs one instance from the launch template, walking the
// placements on capacity errors.
func (m *Manager) launchFromTemplate(ctx context.Context) (State, error) {
	if m.cfg.UseSpot && m.cfg.SpotMaxPrice != "" {
		m.logf("WARNING: spot max price %s USD/h is set (E2C_SPOT_MAX_PRICE): a cap below the on-demand price raises the risk that the builder is interrupted mid-build; leave it unset to pay at most the on-demand price", m.cfg.SpotMaxPrice)
	}
	var failures []error
	for _, a := range m.cfg.attempts() {
		now := time.Now()
		insts, err := m.api.RunInstances(ctx, m.runInput(a, now))
		if err != nil {
			code := apiCode(err)
			if capacityCodes[code] && ctx.Err() == nil {
				m.logf("no capacity for %s (%s); trying the next option", a, code)
				failures = append(failures, fmt.Errorf("%s: %w", a, err))
				continue
			}
			return State{}, fmt.Errorf("launching from template %s (%s): %w", m.cfg.LaunchTemplateID, a, err)
		}
		if len(insts) != 1 || insts[0].ID == "" {
			return State{}, fmt.Errorf("launching from template %s: RunInstances answered with %d instances, want 1", m.cfg.LaunchTemplateID, len(insts))
		}
		id := insts[0].ID
		m.logf("launched instance %s (%s) from template %s", id, a, m.cfg.LaunchTemplateID)
		return m.newState(id, StrategyTemplate, a.spot, now), nil
	}
	return State{}, fmt.Errorf("%w: every option failed, fall back to QEMU emulation (add subnets in other availability zones to E2C_SUBNETS to improve the odds):\n%w", ErrNoCapacity, errors.Join(failures...))
}

// runInput builds the RunInstances request for one placement.
func (m *Manager) runInput(a attempt, now time.Time) awsapi.RunInput {
	in := awsapi.RunInput{
		LaunchTemplateID:      m.cfg.LaunchTemplateID,
		LaunchTemplateVersion: m.cfg.LaunchTemplateVersion,
		SubnetID:              a.subnet,
		UserData:              m.cfg.UserData,
		TerminateOnShutdown:   true,
		Tags:                  m.tags(StrategyTemplate, now),
	}
	if a.spot {
		in.Spot, in.SpotMaxPrice = true, m.cfg.SpotMaxPrice
	}
	return in
}

// waitReady waits, within Config.WaitTimeout, until the instance is running
// and has a public IP, and returns its description.
func (m *Manager) waitReady(ctx context.Context, id string) (awsapi.Instance, error) {
	deadline := time.Now().Add(m.cfg.WaitTimeout)
	inst, err := m.waitRunning(ctx, id)
	if err != nil {
		return awsapi.Instance{}, err
	}
	poll := m.cfg.pollInterval()
	for inst.PublicIP == "" {
		if !time.Now().Add(poll).Before(deadline) {
			return awsapi.Instance{}, fmt.Errorf("%w: instance %s is running but got no public IP within %s: launch it in a subnet that assigns public IPs (E2C_SUBNETS) or let the launch template request one", ErrTimeout, id, m.cfg.WaitTimeout)
		}
		if err := sleep(ctx, poll); err != nil {
			return awsapi.Instance{}, fmt.Errorf("waiting for the public IP of instance %s: %w", id, err)
		}
		if inst, err = m.describe(ctx, id); err != nil {
			return awsapi.Instance{}, fmt.Errorf("waiting for the public IP of instance %s: %w", id, err)
		}
	}
	return inst, nil
}

// waitRunning waits, within Config.WaitTimeout, until the instance is running. It fails at once
// when the instance is shutting down, terminated or stopping.
func (m *Manager) waitRunning(ctx context.Context, id string) (awsapi.Instance, error) {
	return m.waitFor(ctx, id, "to run", func(s string) bool {
		return isGone(s) || s == stateStopping || s == stateStopped
	}, stateRunning)
}

// waitStopped waits, within Config.WaitTimeout, until the instance is stopped. It fails at once
// when the instance is pending or gone.
func (m *Manager) waitStopped(ctx context.Context, id string) error {
	_, err := m.waitFor(ctx, id, "to stop", func(s string) bool {
		return isGone(s) || s == statePending
	}, stateStopped)
	return err
}

// waitFor polls the instance every Config.PollInterval, within Config.WaitTimeout, until it is
// in one of the states want, and fails at once when it is in a state wrong says cannot lead
// there. An instance EC2 does not know yet (its API is eventually consistent) is asked again, and
// so is one whose description failed for a passing reason (throttling past the client's own
// retries, a server failure, a broken connection); any other API error ends the wait.
func (m *Manager) waitFor(ctx context.Context, id, doing string, wrong func(string) bool, want ...string) (awsapi.Instance, error) {
	poll := m.cfg.pollInterval()
	deadline := time.Now().Add(m.cfg.WaitTimeout)
	wants := strings.Join(want, " or ")
	for {
		inst, err := m.describe(ctx, id)
		switch {
		case err == nil && slices.Contains(want, inst.State):
			return inst, nil
		case err == nil && wrong(inst.State):
			return awsapi.Instance{}, fmt.Errorf("instance %s went to state %s%s instead of %s", id, inst.State, reasonOf(inst), wants)
		case err != nil && ctx.Err() != nil:
			return awsapi.Instance{}, fmt.Errorf("waiting for instance %s %s: %w", id, doing, ctx.Err())
		case err != nil && apiCode(err) != codeNotFound && !errors.Is(err, errNotListed) && !retry.Transient(err):
			return awsapi.Instance{}, fmt.Errorf("waiting for instance %s %s: %w", id, doing, err)
		}
		if !time.Now().Add(poll).Before(deadline) {
			if err != nil {
				return awsapi.Instance{}, fmt.Errorf("%w: instance %s did not become %s within %s: %w", ErrTimeout, id, wants, m.cfg.WaitTimeout, err)
			}
			return awsapi.Instance{}, fmt.Errorf("%w: instance %s is still %s%s after %s, want %s: inspect the instance's console output (EC2 console: Monitor and troubleshoot, Get system log)", ErrTimeout, id, inst.State, reasonOf(inst), m.cfg.WaitTimeout, wants)
		}
		if err := sleep(ctx, poll); err != nil {
			return awsapi.Instance{}, fmt.Errorf("waiting for instance %s %s: %w", id, doing, err)
		}
	}
}

// reasonOf is " (the state reason)" or "".
func reasonOf(inst awsapi.Instance) string {
	if inst.StateReason == "" {
		return ""
	}
	return " (" + inst.StateReason + ")"
}

// errNotListed: DescribeInstances answered without the instance asked for.
var errNotListed = errors.New("not in the DescribeInstances answer")

// describe returns the one instance with the given id.
func (m *Manager) describe(ctx context.Context, id string) (awsapi.Instance, error) {
	insts, err := m.api.DescribeInstances(ctx, []string{id}, nil)
	if err != nil {
		return awsapi.Instance{}, err
	}
	if len(insts) == 0 {
		return awsapi.Instance{}, fmt.Errorf("instance %s is %w", id, errNotListed)
	}
	return insts[0], nil
}

// isGone reports whether an instance in this state is being or has been terminated.
func isGone(s string) bool {
	return s == stateTerminated || s == stateShuttingDown
}

// sleep waits for d or until ctx ends.
var sleep = retry.Sleep
