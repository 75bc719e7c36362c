package e2c

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"time"

	"shipyard/internal/provision"
	"shipyard/internal/retry"
)

// Strategy names accepted in Config.Strategy (E2C_INSTANCE_STRATEGY).
const (
	// StrategyExisting starts a configured instance and stops it afterwards.
	StrategyExisting = "existing"
	// StrategyTemplate launches an instance from a launch template and terminates it afterwards.
	StrategyTemplate = "template"
)

// Defaults of a Config's durations and port (Settings.Resolve applies them).
const (
	// DefaultTTL is how long a launched instance may live before the reaper removes it.
	DefaultTTL = 3 * time.Hour
	// DefaultSettleDelay is how long Cleanup waits before its second search by job tag.
	DefaultSettleDelay = 10 * time.Second
	// DefaultReadyTimeout bounds the wait, once the instance runs, for SSH with the pinned host
	// key and, for a builder the module provisioned, for its readiness file: the user data
	// installs packages and downloads the engine first.
	DefaultReadyTimeout = 10 * time.Minute
	// DefaultSSHPort is the SSH port of the builder instance.
	DefaultSSHPort = 22
)

// TeardownTimeout bounds a job's teardown of its builder: giving its lease back, then the stop
// (waited for, within WaitTimeout) or terminate. It runs on a context of its own, so that a
// cancelled or failed build still tears down.
const TeardownTimeout = 10 * time.Minute

// Config is everything the Manager needs to know about one job's builder.
type Config struct {
	// Region is the AWS region, e.g. eu-north-1 (AWS_DEFAULT_REGION).
	Region string
	// Strategy is StrategyExisting or StrategyTemplate (E2C_INSTANCE_STRATEGY).
	Strategy string
	// InstanceID is the instance started by the existing strategy; the reaper never terminates it (E2C_INSTANCE_ID).
	InstanceID string
	// LaunchTemplateID is the launch template of the template strategy (E2C_LAUNCH_TEMPLATE_ID).
	LaunchTemplateID string
	// LaunchTemplateVersion is "$Latest", "$Default" or a number; empty means the template's default (E2C_LAUNCH_TEMPLATE_VERSION).
	LaunchTemplateVersion string
	// UseSpot requests a one-time spot instance, falling back to on-demand when there is no capacity (E2C_USE_SPOT).
	UseSpot bool
	// SpotMaxPrice is an optional hourly price cap in USD; empty means the on-demand price; ignored without UseSpot (E2C_SPOT_MAX_PRICE).
	SpotMaxPrice string
	// Subnets are tried in order when a launch fails for lack of capacity; empty uses the template's network settings (E2C_SUBNETS).
	Subnets []string
	// Project identifies this project in the instance tags (E2C_PROJECT, default CI_PROJECT_PATH).
	Project string
	// PipelineID is the CI pipeline id written into the tags (CI_PIPELINE_ID).
	PipelineID string
	// JobID is the CI job id written into the tags and the state file name (CI_JOB_ID).
	JobID string
	// TTL sets the expiry tag to launch time + TTL (E2C_TTL).
	TTL time.Duration
	// SSHUser is the login user on the builder (E2C_SSH_USER).
	SSHUser string
	// SSHPort is the builder's SSH port (E2C_SSH_PORT).
	SSHPort int
	// SSHAddrOverride is TEST-ONLY: when set, SSHAddr returns this host:port instead of the instance's public IP, because a fake EC2 (moto) hands out addresses nothing listens on (E2C_SSH_ADDR_OVERRIDE).
	SSHAddrOverride string
	// WaitTimeout bounds each wait for running (with a public IP) or stopped;
	// Settings.Resolve sets retry.EC2Wait.Within.
	WaitTimeout time.Duration
	// PollInterval is the delay between polls while waiting; zero means retry.EC2Wait.Every.
	PollInterval time.Duration
	// UserData is what cloud-init runs at the first boot of an instance launched from the
	// template: a script, or one compressed with gzip (provision.LaunchUserData); RunInstances
	// gets it base64-encoded and it replaces the template's own user data. Only for the template
	// strategy; empty keeps the template's.
	UserData string
	// ReadyTimeout bounds the wait for SSH and readiness once the instance runs; zero means DefaultReadyTimeout (E2C_READY_TIMEOUT).
	ReadyTimeout time.Duration
	// SettleDelay is how long Cleanup waits before searching by job tag a second time when no state file exists, to catch a launch the API had not yet made visible; zero means DefaultSettleDelay.
	SettleDelay time.Duration
}

var (
	regionRE     = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	instanceIDRE = regexp.MustCompile(`^i-[0-9a-f]{8,17}$`)
	templateIDRE = regexp.MustCompile(`^lt-[0-9a-f]{8,17}$`)
	subnetIDRE   = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	versionRE    = regexp.MustCompile(`^(\$Latest|\$Default|[1-9][0-9]*)$`)
	jobIDRE      = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	priceRE      = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
)

// Preflight reports every missing or contradictory setting at once (joined
// with errors.Join), each naming the variable to set, before anything is
// launched.
func (c Config) Preflight() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	switch {
	case c.Region == "":
		bad("region is empty: set AWS_DEFAULT_REGION (e.g. eu-north-1)")
	case !regionRE.MatchString(c.Region):
		bad("region %q is not an AWS region name: set AWS_DEFAULT_REGION to e.g. eu-north-1", c.Region)
	}

	switch c.Strategy {
	case StrategyExisting:
		if c.InstanceID == "" {
			bad("strategy %q needs an instance: set E2C_INSTANCE_ID", StrategyExisting)
		}
		if c.UseSpot {
			bad("spot is chosen at launch and cannot apply to strategy %q: unset E2C_USE_SPOT or set E2C_INSTANCE_STRATEGY=%s", StrategyExisting, StrategyTemplate)
		}
		if len(c.Subnets) > 0 {
			bad("subnets only apply to launches from a template, not to strategy %q: unset E2C_SUBNETS or set E2C_INSTANCE_STRATEGY=%s", StrategyExisting, StrategyTemplate)
		}
	case StrategyTemplate:
		if c.LaunchTemplateID == "" {
			bad("strategy %q needs a launch template: set E2C_LAUNCH_TEMPLATE_ID", StrategyTemplate)
		}
	case "":
		bad("strategy is empty: set E2C_INSTANCE_STRATEGY to %q or %q", StrategyExisting, StrategyTemplate)
	default:
		bad("strategy %q is unknown: set E2C_INSTANCE_STRATEGY to %q or %q", c.Strategy, StrategyExisting, StrategyTemplate)
	}

	if c.UserData != "" {
		if c.Strategy == StrategyExisting {
			bad("user data runs only at the first boot of a launched instance, not with strategy %q: provision the instance once with the setup script (docs/arm-builder.md) or set E2C_INSTANCE_STRATEGY=%s", StrategyExisting, StrategyTemplate)
		}
		if len(c.UserData) > provision.MaxUserData {
			bad("user data is %d bytes, EC2 takes at most %d", len(c.UserData), provision.MaxUserData)
		}
	}
	if c.InstanceID != "" && !instanceIDRE.MatchString(c.InstanceID) {
		bad("instance id %q is malformed (want i- and 8 or 17 hex digits): fix E2C_INSTANCE_ID", c.InstanceID)
	}
	if c.LaunchTemplateID != "" && !templateIDRE.MatchString(c.LaunchTemplateID) {
		bad("launch template id %q is malformed (want lt- and hex digits): fix E2C_LAUNCH_TEMPLATE_ID", c.LaunchTemplateID)
	}
	if c.LaunchTemplateVersion != "" && !versionRE.MatchString(c.LaunchTemplateVersion) {
		bad("launch template version %q is not $Latest, $Default or a version number: fix E2C_LAUNCH_TEMPLATE_VERSION", c.LaunchTemplateVersion)
	}
	for _, s := range c.Subnets {
		if !subnetIDRE.MatchString(s) {
			bad("subnet id %q is malformed (want subnet- and hex digits): fix E2C_SUBNETS", s)
		}
	}
	// a price without spot is ignored (Settings.Notes warns), but even then it must be a price
	if c.SpotMaxPrice != "" {
		if p, err := strconv.ParseFloat(c.SpotMaxPrice, 64); !priceRE.MatchString(c.SpotMaxPrice) || err != nil || p <= 0 {
			bad("spot max price %q is not a positive USD amount like 0.05: fix E2C_SPOT_MAX_PRICE", c.SpotMaxPrice)
		}
	}

	if c.Project == "" {
		bad("project is empty: set E2C_PROJECT (defaults to CI_PROJECT_PATH)")
	}
	if c.PipelineID == "" {
		bad("pipeline id is empty: run inside a CI pipeline (CI_PIPELINE_ID)")
	}
	switch {
	case c.JobID == "":
		bad("job id is empty: run inside a CI job (CI_JOB_ID)")
	case !jobIDRE.MatchString(c.JobID):
		bad("job id %q may only contain letters, digits, '.', '_' and '-' (it names the state file): fix CI_JOB_ID", c.JobID)
	}
	if c.TTL <= 0 {
		bad("TTL %s must be positive: set with-arm-instance --ttl (E2C_TTL), e.g. 3h", c.TTL)
	}
	if c.WaitTimeout <= 0 {
		bad("wait timeout %s must be positive (retry.EC2Wait.Within)", c.WaitTimeout)
	}
	if c.PollInterval < 0 {
		bad("poll interval %s must not be negative (retry.EC2Wait.Every)", c.PollInterval)
	}
	if c.SettleDelay < 0 {
		bad("settle delay %s must not be negative (DefaultSettleDelay)", c.SettleDelay)
	}
	if c.ReadyTimeout < 0 {
		bad("ready timeout %s must not be negative: fix E2C_READY_TIMEOUT (e.g. 10m)", c.ReadyTimeout)
	}
	if c.SSHUser == "" {
		bad("SSH user is empty: set E2C_SSH_USER to the AMI's login user (e.g. admin or ec2-user)")
	}
	if c.SSHPort < 1 || c.SSHPort > 65535 {
		bad("SSH port %d is outside 1-65535: fix E2C_SSH_PORT", c.SSHPort)
	}
	if c.SSHAddrOverride != "" {
		if _, _, err := net.SplitHostPort(c.SSHAddrOverride); err != nil {
			bad("SSH address override %q is not host:port (%v): fix or unset E2C_SSH_ADDR_OVERRIDE (test-only)", c.SSHAddrOverride, err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("e2c configuration has %d problem(s):\n%w", len(errs), errors.Join(errs...))
}

func (c Config) pollInterval() time.Duration {
	if c.PollInterval > 0 {
		return c.PollInterval
	}
	return retry.EC2Wait.Every
}

// ReadyWait is how long to wait for SSH and readiness once the instance runs.
func (c Config) ReadyWait() time.Duration {
	if c.ReadyTimeout > 0 {
		return c.ReadyTimeout
	}
	return DefaultReadyTimeout
}

func (c Config) settleDelay() time.Duration {
	if c.SettleDelay > 0 {
		return c.SettleDelay
	}
	return DefaultSettleDelay
}
