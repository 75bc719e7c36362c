package e2c

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"shipyard/internal/enginever"
	"shipyard/internal/provision"
	"shipyard/internal/retry"
)

// Defaults of the settings the module's with-arm-… functions hold; their +default pragmas repeat
// them, and test/api checks the copies.
const (
	// DefaultRegion is the AWS region when none is given.
	DefaultRegion = "eu-north-1"
	// DefaultSSHUser is the builder's login user when none is given.
	DefaultSSHUser = "root"
	// LocalPipelineID stands for the pipeline of a run outside CI.
	LocalPipelineID = "local"
)

// Settings are the ARM builder's settings as the module's with-arm-instance, with-arm-access,
// with-aws-web-identity and with-arm-provisioning hold them, before defaults. Secrets stay with
// the module: only whether each is given counts here.
type Settings struct {
	// Strategy is StrategyExisting or StrategyTemplate (--instance-strategy).
	Strategy string
	// InstanceID, LaunchTemplateID, LaunchTemplateVersion, UseSpot, SpotMaxPrice as in Config.
	InstanceID, LaunchTemplateID, LaunchTemplateVersion string
	UseSpot                                             bool
	SpotMaxPrice                                        string
	// BuildDir is the old pipeline's build directory on the instance (E2C_BUILD_DIR), which no
	// builder here has: Notes warns when it is set.
	BuildDir string
	// Subnets are tried in order; each entry may hold several, separated by commas or spaces.
	Subnets []string
	// Region is the AWS region; empty: DefaultRegion.
	Region string
	// TTL is the instance's lifetime (--ttl), e.g. 3h; empty: DefaultTTL.
	TTL string
	// ReadyTimeout bounds the wait for SSH and readiness (--ready-timeout), e.g. 10m; empty:
	// DefaultReadyTimeout.
	ReadyTimeout string
	// Project, PipelineID and JobID tag the instance; an empty PipelineID is LocalPipelineID.
	Project, PipelineID, JobID string
	// SSHUser is the login user (empty: DefaultSSHUser), SSHPort its port (0: DefaultSSHPort).
	SSHUser string
	SSHPort int
	// RemoteSocket is the builder engine's socket; empty: provision.EngineSocket.
	RemoteSocket string
	// AccessKeys: both --aws-access-key-id and --aws-secret-access-key are given.
	AccessKeys bool
	// WebIdentity: with-aws-web-identity gave a token (it wins over access keys).
	WebIdentity bool
	// SSHPrivateKey: --ssh-private-key is given; SSHHostKey is --ssh-host-key.
	SSHPrivateKey bool
	SSHHostKey    string
	// Provisioning is how the module provisions a builder it launches with per-job keys.
	Provisioning Provisioning
}

// Notes are the warnings about settings that do nothing, one line each, for the run to print once
// with its plan's notes: the old pipeline's E2C_BUILD_DIR, which has no meaning here, and a spot
// price cap without spot, which the old pipeline listed as an optional spot setting next to
// E2C_USE_SPOT (a team sets the price once and toggles spot). A malformed price stays an error
// (Config.Preflight).
func (s Settings) Notes() []string {
	var notes []string
	if s.SpotMaxPrice != "" && !s.UseSpot {
		notes = append(notes, fmt.Sprintf("WARNING: E2C_SPOT_MAX_PRICE=%s is ignored: E2C_USE_SPOT is not true, so the builder is on-demand (the price caps a spot instance; it applies once E2C_USE_SPOT=true)", s.SpotMaxPrice))
	}
	if s.BuildDir != "" {
		notes = append(notes, fmt.Sprintf("WARNING: E2C_BUILD_DIR=%s is ignored: the builder gets no copy of the project (its engine receives each build's context over SSH), so there is no build directory to make or remove; unset it", s.BuildDir))
	}
	return notes
}

// Provisioning are the with-arm-provisioning settings and the module's plain-HTTP registries:
// the options of the builder's provisioning script (internal/provision).
type Provisioning struct {
	// EngineImage is the engine image the builder runs (empty: enginever.Image);
	// EngineURL a bundle instead.
	EngineImage             string
	EngineURL, EngineSHA256 string
	// Mirrors are HOST=MIRROR[,MIRROR]; Env are NAME=VALUE.
	Mirrors, Entitlements, Env []string
	NetworkCIDR                string
	// IdleShutdown is a duration (0: never); empty: provision.DefaultIdleShutdown.
	IdleShutdown string
	// InsecureRegistries are the module's --insecure-registry hosts, plain HTTP on the builder too.
	InsecureRegistries []string
}

// set tells whether anything is set that only a builder the module provisions uses.
func (p Provisioning) set() bool {
	return p.EngineImage != "" || p.EngineURL != "" || p.EngineSHA256 != "" || len(p.Mirrors) > 0 || len(p.Entitlements) > 0 || len(p.Env) > 0 || p.NetworkCIDR != ""
}

// Options are the provisioning script's options for login user and keys, every problem named.
func (p Provisioning) Options(user string, keys provision.Keys) (provision.Options, error) {
	regs, rerr := provision.ParseRegistries(p.Mirrors, p.InsecureRegistries)
	env, eerr := provision.ParseEnv(p.Env)
	if err := errors.Join(rerr, eerr); err != nil {
		return provision.Options{}, fmt.Errorf("with-arm-provisioning: %v", err)
	}
	o := provision.Options{
		SSHUser: user, Keys: keys, EngineImage: p.EngineImage, EngineURL: p.EngineURL, EngineSHA256: p.EngineSHA256,
		Registries: regs, InsecureEntitlements: p.Entitlements, Env: env, NetworkCIDR: p.NetworkCIDR,
	}
	if p.IdleShutdown != "" {
		d, err := time.ParseDuration(p.IdleShutdown)
		if err != nil {
			return provision.Options{}, fmt.Errorf("with-arm-provisioning --idle-shutdown %q: %v (write it as 20m, 1h; 0 never powers off)", p.IdleShutdown, err)
		}
		o.IdleShutdown = d
		if d == 0 {
			o.IdleShutdown = -1
		}
	}
	return o, o.Validate()
}

// ScriptOptions are the options of the one-time setup script of a long-lived builder (the
// existing strategy) with keys the user keeps; user defaults to the builder's SSH user.
func (s Settings) ScriptOptions(user string, keys provision.Keys) (provision.Options, error) {
	return s.Provisioning.Options(cmp.Or(user, s.SSHUser, DefaultSSHUser), keys)
}

// JobID is the CI job's id, or, outside CI, one made from now (it names the state file and tags
// the instance).
func JobID(ciJobID string, now time.Time) string {
	if ciJobID != "" {
		return ciJobID
	}
	return fmt.Sprintf("local-%d", now.UnixNano())
}

// RoleSessionName names an assumed role's session after the pipeline and job, so CloudTrail shows
// which job launched a builder: the given name, else shipyard-<pipeline>-<job>, else
// shipyard-local.
func RoleSessionName(given, pipelineID, jobID string) string {
	switch {
	case given != "":
		return given
	case pipelineID != "" && jobID != "":
		return "shipyard-" + pipelineID + "-" + jobID
	}
	return "shipyard-local"
}

// Builder is one job's ARM builder as its settings decide it.
type Builder struct {
	// Config is what the Manager gets (without user data until ProvisionJob).
	Config Config
	// Provision: the module makes this job's keys and launches the builder with user data that
	// installs them (strategy template, neither --ssh-private-key nor --ssh-host-key).
	Provision bool
	// RemoteSocket is the builder engine's socket.
	RemoteSocket string
	// Provisioning renders the user data when Provision is set.
	Provisioning Provisioning
	// PinFromConsole: the client key is given without a host key, so setup reads the host key
	// the builder printed on its console (GetConsoleOutput) once it runs, before any SSH
	// connection, and pins it for the whole job (the state file carries it).
	PinFromConsole bool
}

// config applies the defaults and parses the durations, naming each flag it cannot read.
func (s Settings) config() (Config, []error) {
	var errs []error
	c := Config{
		Region: cmp.Or(s.Region, DefaultRegion), Strategy: s.Strategy, InstanceID: s.InstanceID,
		LaunchTemplateID: s.LaunchTemplateID, LaunchTemplateVersion: s.LaunchTemplateVersion,
		UseSpot: s.UseSpot, SpotMaxPrice: s.SpotMaxPrice, Subnets: splitList(s.Subnets),
		Project: s.Project, PipelineID: cmp.Or(s.PipelineID, LocalPipelineID), JobID: s.JobID,
		SSHUser: cmp.Or(s.SSHUser, DefaultSSHUser), SSHPort: cmp.Or(s.SSHPort, DefaultSSHPort),
		TTL: DefaultTTL, ReadyTimeout: DefaultReadyTimeout,
		WaitTimeout: retry.EC2Wait.Within, PollInterval: retry.EC2Wait.Every, SettleDelay: DefaultSettleDelay,
	}
	durations := []struct {
		flag, value string
		dst         *time.Duration
	}{
		{"with-arm-instance --ttl", s.TTL, &c.TTL},
		{"with-arm-provisioning --ready-timeout (E2C_READY_TIMEOUT)", s.ReadyTimeout, &c.ReadyTimeout},
	}
	for _, d := range durations {
		if d.value == "" {
			continue
		}
		v, err := time.ParseDuration(d.value)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q is not a duration: use a form like 90s, 5m or 3h", d.flag, d.value))
			continue
		}
		*d.dst = v
	}
	return c, errs
}

// splitList splits entries holding several values (commas or spaces) into one value each.
func splitList(entries []string) []string {
	var out []string
	for _, e := range entries {
		out = append(out, strings.FieldsFunc(e, func(r rune) bool { return r == ',' || r == ' ' })...)
	}
	return out
}

// Resolve checks the settings before anything is launched and decides the builder: its Config,
// and whether the module provisions it with keys made for this job. Every problem is reported
// at once, each naming what to set.
func (s Settings) Resolve() (Builder, error) {
	cfg, errs := s.config()
	if len(errs) == 0 {
		if err := cfg.Preflight(); err != nil {
			errs = append(errs, err)
		}
	}
	// a web identity (GitLab OIDC) wins over access keys, which are then never read
	if !s.WebIdentity && !s.AccessKeys {
		errs = append(errs, errors.New("AWS credentials missing: with-arm-access --aws-access-key-id=env:AWS_ACCESS_KEY_ID --aws-secret-access-key=env:AWS_SECRET_ACCESS_KEY, or with-aws-web-identity --role-arn=\"$AWS_ROLE_ARN\" --web-identity-token=env:GITLAB_OIDC_TOKEN"))
	}
	b := Builder{Config: cfg, RemoteSocket: cmp.Or(s.RemoteSocket, provision.EngineSocket), Provisioning: s.Provisioning}
	switch given := s.SSHPrivateKey || s.SSHHostKey != ""; {
	case given && !s.SSHPrivateKey:
		errs = append(errs, errors.New("--ssh-host-key needs the client key it goes with: with-arm-access --ssh-private-key=env:E2C_SSH_PRIVATE_KEY (an image with its own keys), or neither key (strategy template: the module provisions the builder with keys made for this job)"))
	case given && cfg.Strategy == StrategyTemplate && s.Provisioning.set():
		errs = append(errs, errors.New("with-arm-provisioning configures a builder the module provisions with per-job keys, but --ssh-private-key says the image has its own keys: drop one of them"))
	case !given && cfg.Strategy == StrategyExisting:
		errs = append(errs, errors.New("the existing strategy needs the builder's client key: with-arm-access --ssh-private-key=env:E2C_SSH_PRIVATE_KEY (its host key is read from the instance's console when --ssh-host-key is not given, but a console shows no client key); provision the instance once with `arm-builder provision-script` (docs/arm-builder.md)"))
	case !given:
		b.Provision = true
	case s.SSHHostKey == "":
		b.PinFromConsole = true
	}
	if len(errs) > 0 {
		return Builder{}, fmt.Errorf("ARM builder preflight (--arm-builder=ec2):\n%v", errors.Join(errs...))
	}
	return b, nil
}

// ProvisionJob renders the user data that installs keys (made for this job), with the engine
// and registries of with-arm-provisioning, compressed as a launch takes it, and returns the launch configuration that
// carries it, checked again, with the line to log (the pinned key's fingerprint; never a key or
// the user data).
func (b Builder) ProvisionJob(keys provision.Keys) (Config, string, error) {
	o, err := b.Provisioning.Options(b.Config.SSHUser, keys)
	if err != nil {
		return Config{}, "", fmt.Errorf("provisioning the ARM builder: %v", err)
	}
	script, err := provision.LaunchUserData(o)
	if err != nil {
		return Config{}, "", fmt.Errorf("provisioning the ARM builder: %v", err)
	}
	cfg := b.Config
	cfg.UserData = string(script)
	if err := cfg.Preflight(); err != nil {
		return Config{}, "", err
	}
	host, _, _, _, err := ssh.ParseAuthorizedKey([]byte(keys.HostPublic))
	if err != nil {
		return Config{}, "", fmt.Errorf("provisioning the ARM builder: the job's host key: %v", err)
	}
	engine := "the image " + cmp.Or(o.EngineImage, enginever.Image)
	switch {
	case o.EngineURL != "":
		engine = "the bundle " + o.EngineURL
	case o.EngineImage == provision.NoEngineImage:
		engine = "the machine image's own"
	}
	return cfg, fmt.Sprintf("e2c: provisioning the builder with keys made for job %s: host key %s (pinned), user data %d bytes, engine %s",
		cfg.JobID, ssh.FingerprintSHA256(host), len(script), engine), nil
}

// Readiness is what setup waits for once SSH answers with the pinned host key: the readiness
// file of a builder the module provisioned ("" for an image with its own keys, which may not
// have it), and how the builder is then described.
func (b Builder) Readiness() (file, what string) {
	switch {
	case b.Provision:
		return provision.ReadyFile, "provisioned, SSH verified with the pinned host key"
	case b.PinFromConsole:
		return "", "SSH verified with the host key pinned from its console"
	}
	return "", "SSH verified with the pinned host key"
}

// FallbackState is the state of a job whose builder had no EC2 capacity: QEMU builds its ARM
// images, and there is no instance to tear down.
func (b Builder) FallbackState() State {
	return State{Strategy: StrategyQEMUFallback, Region: b.Config.Region, JobID: b.Config.JobID}
}

// NoBuilder tells whether a job's state says it has no builder (setup found no EC2 capacity):
// its ARM builds run under QEMU in that job.
func (s State) NoBuilder() bool { return s.Strategy == StrategyQEMUFallback || s.InstanceID == "" }

// OnDemand is the configuration of the builder launched in place of a lost one: on-demand, since
// spot capacity has just gone.
func (c Config) OnDemand() Config {
	c.UseSpot = false
	return c
}

// SSHKeys are the keys the module reaches the builder with: the client's private key (OpenSSH
// PEM) and the pinned host key line. Never logged.
type SSHKeys struct{ Client, Host string }

// GivenKeys are the keys given with with-arm-access: the private key raw or base64-encoded.
func GivenKeys(privateKey, hostKey string) SSHKeys {
	return SSHKeys{Client: DecodePrivateKey(privateKey), Host: hostKey}
}

// AdoptKeys are the keys a previous phase of this job wrote into its state file: the ones setup
// made, the host key setup pinned from the builder's console (the client key is given again with
// with-arm-access), or none for an image with its own keys (both given again). A provisioned or
// console-pinned builder's state without them is from another version of setup.
func (b Builder) AdoptKeys(st State) (SSHKeys, error) {
	switch {
	case st.SSHPrivateKey != "" && st.SSHHostKey != "":
		return SSHKeys{Client: st.SSHPrivateKey, Host: st.SSHHostKey}, nil
	case b.PinFromConsole && st.SSHHostKey != "":
		return SSHKeys{Host: st.SSHHostKey}, nil
	case b.Provision && st.InstanceID != "":
		return SSHKeys{}, fmt.Errorf("the state file %s names instance %s but not the keys setup made for it: run arm-builder setup of this version again", StateFileName(b.Config.JobID), st.InstanceID)
	case b.PinFromConsole && st.InstanceID != "":
		return SSHKeys{}, fmt.Errorf("the state file %s names instance %s but not the host key setup pinned from its console: run arm-builder setup of this version again, or give with-arm-access --ssh-host-key", StateFileName(b.Config.JobID), st.InstanceID)
	}
	return SSHKeys{}, nil
}

// Usable returns the keys to log in with (the host key line trimmed), or says how to get them.
func (k SSHKeys) Usable() (SSHKeys, error) {
	if k.Client == "" || k.Host == "" {
		return SSHKeys{}, errors.New("no SSH keys for the builder: run arm-builder setup first, or give with-arm-access --ssh-private-key and --ssh-host-key")
	}
	k.Host = strings.TrimSpace(k.Host)
	return k, nil
}

// Target is the builder at addr, logged in as user with these keys, its host key pinned.
func (k SSHKeys) Target(addr, user string) (SSHTarget, error) {
	k, err := k.Usable()
	if err != nil {
		return SSHTarget{}, err
	}
	signer, err := ssh.ParsePrivateKey([]byte(k.Client))
	if err != nil {
		return SSHTarget{}, errors.New("the SSH key secret is not a valid private key (pass an unencrypted OpenSSH private key, raw or base64-encoded)")
	}
	hostKey, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k.Host))
	if err != nil {
		return SSHTarget{}, fmt.Errorf("--ssh-host-key is not an SSH public key line (\"ssh-ed25519 AAAA…\"): %v", err)
	}
	return SSHTarget{Addr: addr, User: user, Signer: signer, HostKey: hostKey}, nil
}

// CleanupVerdict tells whether the cleanup phase prunes the builder engine's cache: only an
// existing instance's, which outlives the job. Otherwise it says why there is nothing to clean.
func CleanupVerdict(st State, found bool) (prune bool, why string) {
	switch {
	case !found || st.InstanceID == "":
		return false, "e2c cleanup: no builder instance for this job: nothing to clean"
	case st.Strategy != StrategyExisting:
		return false, "e2c cleanup: instance " + st.InstanceID + " is terminated at teardown: nothing to clean"
	}
	return true, ""
}
