package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"shipyard/ci/internal/dagger"
	"shipyard/internal/awsapi"
	"shipyard/internal/e2c"
	"shipyard/internal/enginever"
	"shipyard/internal/plan"
	"shipyard/internal/provision"
)

// Ec2Settings are the ARM builder's settings, named after the seed's E2C_* variables.
type Ec2Settings struct {
	InstanceStrategy      string
	InstanceID            string
	LaunchTemplateID      string
	LaunchTemplateVersion string
	OnBuilderLoss         string
	UseSpot               bool
	SpotMaxPrice          string
	Subnets               []string
	Region                string
	TTL                   string
	Endpoint              string
	Tunnel                *dagger.Service
	AccessKeyID           *dagger.Secret
	SecretAccessKey       *dagger.Secret
	SessionToken          *dagger.Secret
	// GitLab OIDC: the role assumed with the job's ID token (WithAwsWebIdentity)
	RoleARN          string
	WebIdentityToken *dagger.Secret
	RoleSessionName  string
	STSEndpoint      string
	SSHKey           *dagger.Secret
	SSHHostKey       string
	SSHUser          string
	SSHPort          int
	RemoteSocket     string
	DaggerCli        *dagger.File
	// How the module provisions a builder it launches with per-job keys (WithArmProvisioning)
	EngineImage  string
	EngineURL    string
	EngineSHA256 string
	Mirrors      []string
	Entitlements []string
	EngineEnv    []string
	NetworkCIDR  string
	ReadyTimeout string
	IdleShutdown string
	// The old pipeline's build directory on the instance, which has no meaning here (WithOldPipeline)
	BuildDir string
}

// WithArmInstance sets the EC2 instance that builds the ARM images natively (used with --arm-builder=ec2)
func (m *Shipyard) WithArmInstance(
	// existing (start and stop one instance) or template (launch one, terminate it after) ($E2C_INSTANCE_STRATEGY)
	// +default="template"
	instanceStrategy string,
	// Instance of the existing strategy ($E2C_INSTANCE_ID)
	// +optional
	instanceId string,
	// Launch template of the template strategy ($E2C_LAUNCH_TEMPLATE_ID)
	// +optional
	launchTemplateId string,
	// Launch template version: $Latest, $Default or a number ($E2C_LAUNCH_TEMPLATE_VERSION)
	// +optional
	launchTemplateVersion string,
	// Request a spot instance, falling back to on-demand without capacity ($E2C_USE_SPOT)
	// +optional
	useSpot bool,
	// Spot price cap in USD per hour ($E2C_SPOT_MAX_PRICE)
	// +optional
	spotMaxPrice string,
	// Subnets tried in order when there is no capacity ($E2C_SUBNETS)
	// +optional
	subnets []string,
	// AWS region ($AWS_DEFAULT_REGION)
	// +default="eu-north-1"
	region string,
	// Instance lifetime after which any later run's reaper terminates it
	// +default="3h"
	ttl string,
	// EC2 API endpoint (empty: AWS's own), e.g. a VPC endpoint or an EC2-compatible API
	// +optional
	endpoint string,
	// Tunnel to an EC2 API endpoint on the engine host's loopback, e.g. tcp://localhost:5010
	// +optional
	tunnel *dagger.Service,
	// When the builder is lost mid-build: qemu (build those images here), on-demand (one on-demand builder in its place) or fail ($E2C_ON_BUILDER_LOSS)
	// +default="qemu"
	onBuilderLoss string,
) *Shipyard {
	c := *m
	e := m.Ec2
	e.OnBuilderLoss = onBuilderLoss
	e.InstanceStrategy, e.InstanceID, e.LaunchTemplateID, e.LaunchTemplateVersion = instanceStrategy, instanceId, launchTemplateId, launchTemplateVersion
	e.UseSpot, e.SpotMaxPrice, e.Subnets, e.Region, e.TTL, e.Endpoint, e.Tunnel = useSpot, spotMaxPrice, subnets, region, ttl, endpoint, tunnel
	c.Ec2 = e
	return &c
}

// WithArmAccess sets the credentials for EC2 and for the builder's SSH
func (m *Shipyard) WithArmAccess(
	// env:AWS_ACCESS_KEY_ID
	// +optional
	awsAccessKeyId *dagger.Secret,
	// env:AWS_SECRET_ACCESS_KEY
	// +optional
	awsSecretAccessKey *dagger.Secret,
	// env:AWS_SESSION_TOKEN, for temporary credentials
	// +optional
	awsSessionToken *dagger.Secret,
	// The builder user's SSH private key, raw or base64-encoded as the seed documents (env:E2C_SSH_PRIVATE_KEY), for an image that has its own keys; without it (strategy template) the module provisions a launched builder with per-job keys
	// +optional
	sshPrivateKey *dagger.Secret,
	// The builder's SSH host public key ("ssh-ed25519 AAAA…"), verified on every connection ($E2C_SSH_HOST_KEY); without it the host key the instance prints on its console (GetConsoleOutput) is pinned, or, without --ssh-private-key too, the one the module generates
	// +optional
	sshHostKey string,
	// SSH user on the builder ($E2C_SSH_USER)
	// +default="root"
	sshUser string,
	// SSH port of the builder
	// +default=22
	sshPort int,
	// The builder engine's unix socket
	// +default="/run/dagger/engine.sock"
	remoteSocket string,
	// The dagger CLI that drives the builder's engine (default: the one of the pinned engine image)
	// +optional
	daggerCli *dagger.File,
) *Shipyard {
	c := *m
	e := m.Ec2
	e.AccessKeyID, e.SecretAccessKey, e.SessionToken, e.SSHKey = awsAccessKeyId, awsSecretAccessKey, awsSessionToken, sshPrivateKey
	e.SSHHostKey, e.SSHUser, e.SSHPort, e.RemoteSocket, e.DaggerCli = sshHostKey, sshUser, sshPort, remoteSocket, daggerCli
	c.Ec2 = e
	return &c
}

// WithAwsWebIdentity takes EC2 credentials from an IAM role assumed with an OIDC ID token (GitLab id_tokens) instead of access keys
func (m *Shipyard) WithAwsWebIdentity(
	// The IAM role to assume, arn:aws:iam::<account id>:role/<name> ($AWS_ROLE_ARN)
	roleArn string,
	// The job's OIDC ID token, e.g. env:GITLAB_OIDC_TOKEN (an id_tokens entry with aud sts.amazonaws.com)
	webIdentityToken *dagger.Secret,
	// The role session's name in CloudTrail (default: shipyard-<pipeline id>-<job id>, or shipyard-local)
	// +optional
	sessionName string,
	// STS API endpoint (empty: AWS's own in the region's partition), e.g. a VPC or FIPS endpoint ($AWS_ENDPOINT_URL_STS); with-arm-instance --endpoint is EC2's alone
	// +optional
	stsEndpoint string,
) *Shipyard {
	c := *m
	e := m.Ec2
	e.RoleARN, e.WebIdentityToken, e.RoleSessionName, e.STSEndpoint = roleArn, webIdentityToken, sessionName, stsEndpoint
	c.Ec2 = e
	return &c
}

// WithArmProvisioning sets how the module provisions the builder it launches with per-job keys (template strategy without SSH keys) and what provision-script renders
func (m *Shipyard) WithArmProvisioning(
	// The engine image the builder runs the engine from (default: Dagger's published registry.dagger.io/engine:v0.19.10, through a --mirror of its registry first); pin it with @sha256:…; none: the engine is baked into the machine image
	// +optional
	engineImage string,
	// An engine bundle instead of the image, for builders without registry access: https, http with --engine-sha-256, or file (docs/arm-builder.md)
	// +optional
	engineUrl string,
	// sha256 of the engine bundle in hex, checked before it is installed
	// +optional
	engineSha256 string,
	// Registry mirrors of the builder's engine: HOST=MIRROR[,MIRROR]; the --insecure-registry hosts are plain HTTP there too
	// +optional
	mirror []string,
	// Insecure entitlements the builder's engine grants: network.host, security.insecure
	// +optional
	entitlement []string,
	// Extra environment of the builder's engine: NAME=VALUE (proxies, DAGGER_GO_SDK_MANIFEST_DIGEST)
	// +optional
	env []string,
	// The builder engine's container network (default 10.87.0.0/16): change it when the VPC uses that range
	// +optional
	networkCidr string,
	// How long setup waits, once the instance runs, for its host key on its console (when it is pinned from there), then for SSH with the pinned host key and, for a builder it provisions, for its readiness ($E2C_READY_TIMEOUT)
	// +default="10m"
	readyTimeout string,
	// A builder it provisions powers itself off (and so terminates) after this long without an SSH session, e.g. when the pipeline was interrupted; 0: never
	// +default="20m"
	idleShutdown string,
) *Shipyard {
	c := *m
	e := m.Ec2
	e.EngineImage, e.EngineURL, e.EngineSHA256, e.Mirrors, e.Entitlements, e.EngineEnv = engineImage, engineUrl, engineSha256, mirror, entitlement, env
	e.NetworkCIDR, e.ReadyTimeout, e.IdleShutdown = networkCidr, readyTimeout, idleShutdown
	c.Ec2 = e
	return &c
}

// ArmBuilder is the EC2 ARM builder in the phases a GitLab job runs it (setup in before_script, build in script, cleanup and teardown in after_script)
func (m *Shipyard) ArmBuilder(
	// Branch or tag (default: WithGitlab's)
	// +optional
	ref string,
	// Version tag (default: WithGitlab's)
	// +optional
	tag string,
	// Directory holding the state file .e2c_instance_state_<job-id> written by setup
	// +optional
	// +defaultPath="."
	// +ignore=["*", "!.e2c_instance_state_*"]
	stateDir *dagger.Directory,
) *ArmBuilder {
	return &ArmBuilder{M: m, Ref: ref, Tag: tag, StateDir: stateDir}
}

// ArmBuilder runs the phases of the EC2 ARM builder.
type ArmBuilder struct {
	// +private
	M *Shipyard
	// +private
	Ref string
	// +private
	Tag string
	// +private
	StateDir *dagger.Directory
}

// ec2Settings are the builder's settings for job jobID, as internal/e2c decides from them.
func (m *Shipyard) ec2Settings(jobID string) e2c.Settings {
	e := m.Ec2
	return e2c.Settings{
		Strategy: e.InstanceStrategy, InstanceID: e.InstanceID, LaunchTemplateID: e.LaunchTemplateID,
		LaunchTemplateVersion: e.LaunchTemplateVersion, UseSpot: e.UseSpot, SpotMaxPrice: e.SpotMaxPrice, BuildDir: e.BuildDir,
		Subnets: e.Subnets, Region: e.Region, TTL: e.TTL, ReadyTimeout: e.ReadyTimeout,
		Project: m.Project, PipelineID: m.Ci.PipelineID, JobID: jobID,
		SSHUser: e.SSHUser, SSHPort: e.SSHPort, RemoteSocket: e.RemoteSocket,
		AccessKeys: e.AccessKeyID != nil && e.SecretAccessKey != nil, WebIdentity: e.WebIdentityToken != nil,
		SSHPrivateKey: e.SSHKey != nil, SSHHostKey: e.SSHHostKey,
		Provisioning: e2c.Provisioning{
			EngineImage: e.EngineImage, EngineURL: e.EngineURL, EngineSHA256: e.EngineSHA256, Mirrors: e.Mirrors, Entitlements: e.Entitlements,
			Env: e.EngineEnv, NetworkCIDR: e.NetworkCIDR, IdleShutdown: e.IdleShutdown, InsecureRegistries: m.InsecureRegistry,
		},
	}
}

// armSession is one job's builder: its manager, state and the SSH keys to reach it.
type armSession struct {
	m       *Shipyard
	jobID   string
	api     *awsapi.Client
	mgr     *e2c.Manager
	builder e2c.Builder
	cfg     e2c.Config
	state   e2c.State
	up      bool
	// sshKeys are given with with-arm-access, generated by setup, or read from the state file;
	// never logged
	sshKeys e2c.SSHKeys
	// runs32 is whether the builder's CPU runs 32-bit ARM code; nil until setup asked it
	runs32 *bool
}

// armSession prepares the builder of this run (nothing is launched yet).
func (m *Shipyard) armSession(ctx context.Context, ci CiContext) (*armSession, error) {
	jobID := e2c.JobID(ci.JobID, time.Now())
	b, err := m.ec2Settings(jobID).Resolve()
	if err != nil {
		return nil, err
	}
	api, err := m.ec2Client(ctx, b.Config.Region)
	if err != nil {
		return nil, err
	}
	return &armSession{m: m, jobID: jobID, api: api, mgr: e2c.NewManager(api, b.Config, logLine), builder: b, cfg: b.Config}, nil
}

func (m *Shipyard) ec2Client(ctx context.Context, region string) (*awsapi.Client, error) {
	e := m.Ec2
	var httpClient *http.Client
	if e.Tunnel != nil {
		dial, err := tunnelDialer(ctx, []*dagger.Service{e.Tunnel})
		if err != nil {
			return nil, err
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = dial
		httpClient = &http.Client{Transport: tr}
	}
	if e.WebIdentityToken != nil {
		tok, err := e.WebIdentityToken.Plaintext(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the web identity token secret: %v", err)
		}
		w := e2c.WebIdentity{RoleARN: e.RoleARN, Token: tok, SessionName: e2c.RoleSessionName(e.RoleSessionName, m.Ci.PipelineID, m.Ci.JobID)}
		api, until, err := w.Client(ctx, region, e2c.Endpoints{EC2: e.Endpoint, STS: e.STSEndpoint}, httpClient)
		if err != nil {
			return nil, err
		}
		logLine(fmt.Sprintf("e2c: assumed role %s as session %s (renewed at %s)", e.RoleARN, w.SessionName, until.UTC().Format(time.RFC3339)))
		return api, nil
	}
	var creds awsapi.Credentials
	var err error
	if creds.AccessKeyID, err = e.AccessKeyID.Plaintext(ctx); err != nil {
		return nil, fmt.Errorf("reading the AWS access key id secret: %v", err)
	}
	if creds.SecretAccessKey, err = e.SecretAccessKey.Plaintext(ctx); err != nil {
		return nil, fmt.Errorf("reading the AWS secret access key secret: %v", err)
	}
	if e.SessionToken != nil {
		if creds.SessionToken, err = e.SessionToken.Plaintext(ctx); err != nil {
			return nil, fmt.Errorf("reading the AWS session token secret: %v", err)
		}
	}
	return awsapi.New(region, e.Endpoint, creds, httpClient)
}

func logLine(s string) { fmt.Fprintln(os.Stderr, s) }

// plannedCPU reads the instance type the EC2 builder gets, before anything is launched or
// started, and what it says about 32-bit ARM code; without credentials or an answer it is unknown.
func (m *Shipyard) plannedCPU(ctx context.Context, ci CiContext) plan.BuilderCPU {
	cfg, why := m.ec2Settings(e2c.JobID(ci.JobID, time.Now())).CPULookup()
	if why != "" {
		return plan.UnknownCPU(why)
	}
	api, err := m.ec2Client(ctx, cfg.Region)
	if err != nil {
		return plan.UnknownCPU("EC2 was not asked: " + err.Error())
	}
	return e2c.PlannedCPU(ctx, api, cfg)
}

// readBuilderCPU plans again with the EC2 builder's instance type when linux/arm/v7 among builds
// waits on the builder to learn whether its CPU runs 32-bit ARM code.
func (r *run) readBuilderCPU(ctx context.Context, builds []plan.Build) error {
	if !plan.ARMv7Pending(r.in, builds) {
		return nil
	}
	r.in.BuilderCPU = r.m.plannedCPU(ctx, r.ci)
	p, err := plan.Make(r.in)
	if err != nil {
		return err
	}
	r.plan = p
	return nil
}

// setup reaps expired builders, starts or launches this job's instance and waits for SSH with
// the pinned host key (and, for a builder it provisions, for its readiness file), then asks the
// builder whether it runs 32-bit ARM code. Without EC2 capacity it reports BuilderNoCapacity
// (QEMU takes over).
func (s *armSession) setup(ctx context.Context, logf func(string, ...any)) (plan.BuilderState, string, error) {
	ctx, span := Tracer().Start(ctx, "arm builder setup (EC2)")
	defer span.End()
	if s.builder.Provision {
		if err := s.provisionJob(logf); err != nil {
			return "", "", err
		}
	}
	if reaped, err := s.mgr.Reap(ctx, time.Now()); err != nil {
		logf("e2c: reaping expired builders failed (continuing): %v", err)
	} else if len(reaped) > 0 {
		logf("e2c: reaped expired builders %s", strings.Join(reaped, ", "))
	}
	st, err := s.mgr.Setup(ctx, func(st e2c.State) error { s.state = st; return nil })
	state, why, err := e2c.SetupVerdict(err)
	if err != nil {
		return "", "", err
	}
	if state == plan.BuilderNoCapacity {
		logf("e2c: WARNING: no EC2 capacity anywhere; the ARM images are built with QEMU instead")
		s.state = s.builder.FallbackState()
		return state, why, nil
	}
	s.state, s.up = st, true
	if s.builder.Provision {
		s.state.SSHHostKey, s.state.SSHPrivateKey = s.sshKeys.Host, s.sshKeys.Client
	}
	if s.builder.PinFromConsole {
		// before the first connection: the host key the instance printed on its console
		if s.state, err = s.builder.PinConsoleHostKey(ctx, s.api, s.state, func(l string) { logf("%s", l) }); err != nil {
			return "", "", err
		}
		s.sshKeys.Host = s.state.SSHHostKey
	}
	target, err := s.reach(ctx, logf)
	if err != nil {
		return "", "", err
	}
	if s.cfg.Strategy == e2c.StrategyExisting {
		// the builder jobs share: this job's lease before its first build; when the job that
		// gave back the last lease is stopping it, start it again once stopped and reach it
		restart := func(ctx context.Context) error {
			again, err := s.mgr.StartAgain(ctx)
			if err != nil {
				return err
			}
			s.state.PublicIP, s.state.InstanceType, s.state.LaunchedAt = again.PublicIP, again.InstanceType, again.LaunchedAt
			target, err = s.reach(ctx, logf)
			return err
		}
		run := func(ctx context.Context, name, cmd string) (string, error) { return target.RunNamed(ctx, name, cmd) }
		if err := s.cfg.Lease().Take(ctx, run, restart, logf); err != nil {
			return "", "", err
		}
	}
	// the builder reports its instance type and the kernel's own answer, which wins over the type
	cpu := plan.CPUOfInstanceType(st.InstanceType, "EC2's description of instance "+st.InstanceID)
	runs, why, err := target.Runs32BitARM(ctx)
	runs32, lines := e2c.ARM32Verdict(st.InstanceID, cpu, runs, why, err)
	for _, l := range lines {
		logf("%s", l)
	}
	s.runs32, s.state.Runs32BitARM = &runs32, &runs32
	return plan.BuilderReady, "", nil
}

// reach waits for the builder of the session's state to answer SSH with the pinned host key (and,
// for a builder it provisions, for its readiness file).
func (s *armSession) reach(ctx context.Context, logf func(string, ...any)) (e2c.SSHTarget, error) {
	addr := s.mgr.SSHAddr(s.state)
	target, err := s.target(ctx, addr)
	if err != nil {
		return e2c.SSHTarget{}, err
	}
	ready, what := s.builder.Readiness()
	if err := target.Wait(ctx, ready, s.cfg.ReadyWait(), func(l string) { logf("%s", l) }); err != nil {
		return e2c.SSHTarget{}, fmt.Errorf("ARM builder %s is running but not ready: %v", s.state.InstanceID, err)
	}
	logf("e2c: builder %s up at %s, %s", s.state.InstanceID, addr, what)
	return target, nil
}

// leaseRun runs the lease commands on the shared builder (strategy existing) after setup: at the
// state's address, or, without one (teardown without its state file, or after a setup that failed
// before the instance ran), at the address EC2 describes now for the configured instance, with
// its host key pinned from its console again when it is neither given nor in the state.
func (s *armSession) leaseRun() e2c.LeaseRun {
	return func(ctx context.Context, name, cmd string) (string, error) {
		st := s.state
		if st.InstanceID == "" {
			st.InstanceID = s.cfg.InstanceID
		}
		if st.PublicIP == "" {
			var err error
			if st, err = s.mgr.Locate(ctx, st); err != nil {
				return "", err
			}
		}
		if s.builder.PinFromConsole && s.sshKeys.Host == "" {
			pinned, err := s.builder.PinConsoleHostKey(ctx, s.api, st, logLine)
			if err != nil {
				return "", err
			}
			s.sshKeys.Host = pinned.SSHHostKey
		}
		target, err := s.target(ctx, s.mgr.SSHAddr(st))
		if err != nil {
			return "", err
		}
		return target.RunNamed(ctx, name, cmd)
	}
}

// provisionJob generates this job's keys and launches the builder with the user data that
// installs them.
func (s *armSession) provisionJob(logf func(string, ...any)) error {
	keys, err := provision.NewJobKeys()
	if err != nil {
		return err
	}
	cfg, line, err := s.builder.ProvisionJob(keys)
	if err != nil {
		return err
	}
	if !s.cfg.UseSpot {
		cfg = cfg.OnDemand() // the replacement of a lost spot builder is on-demand (buildOnBuilder)
	}
	s.cfg, s.sshKeys = cfg, e2c.SSHKeys{Client: keys.ClientPrivate, Host: keys.HostPublic}
	s.mgr = e2c.NewManager(s.api, s.cfg, logLine)
	logf("%s", line)
	return nil
}

// runs32Bit is what setup learnt about 32-bit ARM code on the builder (nil: not asked).
func (s *armSession) runs32Bit() *bool { return s.runs32 }

// adopt takes the state a previous phase of this job wrote, with the job's keys when setup
// generated them.
func (s *armSession) adopt(st e2c.State) error {
	s.state = st
	keys, err := s.builder.AdoptKeys(st)
	if err != nil {
		return err
	}
	if keys.Client != "" || keys.Host != "" {
		s.sshKeys = keys
	}
	return nil
}

// keys are the client's private key and the pinned host key: this job's generated ones, those
// given with with-arm-access (read once), or the given client key with the host key setup pinned
// from the instance's console.
func (s *armSession) keys(ctx context.Context) (client, host string, err error) {
	if s.sshKeys.Client == "" && s.m.Ec2.SSHKey != nil {
		key, err := s.m.Ec2.SSHKey.Plaintext(ctx)
		if err != nil {
			return "", "", fmt.Errorf("reading the SSH key secret: %v", err)
		}
		given := e2c.GivenKeys(key, s.m.Ec2.SSHHostKey)
		s.sshKeys.Client = given.Client
		if s.sshKeys.Host == "" { // else pinned from the console by setup
			s.sshKeys.Host = given.Host
		}
	}
	k, err := s.sshKeys.Usable()
	return k.Client, k.Host, err
}

// target is the builder at addr with the pinned host key.
func (s *armSession) target(ctx context.Context, addr string) (e2c.SSHTarget, error) {
	client, host, err := s.keys(ctx)
	if err != nil {
		return e2c.SSHTarget{}, err
	}
	return e2c.SSHKeys{Client: client, Host: host}.Target(addr, s.cfg.SSHUser)
}

// close tears the builder down, with a fresh context: it must run even when the build failed or
// the call was cancelled. The builder jobs share (strategy existing) is first given this job's
// lease back, and stays up while other jobs hold theirs.
func (s *armSession) close(ctx context.Context, logf func(string, ...any)) {
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e2c.TeardownTimeout)
	defer cancel()
	_, span := Tracer().Start(tctx, "arm builder teardown (EC2)")
	defer span.End()
	if s.cfg.Strategy == e2c.StrategyExisting && !s.cfg.Lease().Release(tctx, s.leaseRun(), logf) {
		return
	}
	e2c.TearDownAll(s.state, s.jobID,
		func(st e2c.State) error { return s.mgr.Teardown(tctx, st) },
		func(job string) (int, error) { return s.mgr.TeardownJob(tctx, job) }, logf)
}

// buildWatched is build while EC2 is asked every e2c.WatchEvery whether the instance still runs
// and the builder's engine every e2c.EngineProbeEvery whether it still answers (a lost instance
// or a dead engine cancels the build at once); a build that fails otherwise is then told apart:
// the builder is lost (the instance is gone or its engine does not answer) or the build failed.
func (s *armSession) buildWatched(ctx context.Context, r *run, builds []plan.Build) (string, error) {
	id := s.state.InstanceID
	addr := s.mgr.SSHAddr(s.state)
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		if why := s.mgr.WatchLost(wctx, id, e2c.WatchEvery); why != "" {
			cancel(&e2c.BuilderLost{ID: id, Why: why})
		}
	}()
	// an engine that dies while its instance runs leaves the remote dagger CLI retrying for ever:
	// only asking the engine itself notices that
	go func() {
		if why := e2c.WatchEngine(wctx, e2c.EngineProbeEvery, e2c.EngineProbeRefusals, e2c.EngineProbeSilence, s.engineProbe(addr)); why != "" {
			cancel(&e2c.BuilderLost{ID: id, Why: why})
		}
	}()
	out, err := s.build(wctx, r, builds)
	return out, e2c.BuildFailure(id, err, context.Cause(wctx), ctx.Err() != nil,
		func() string { return s.mgr.Lost(ctx, id) },
		func() error {
			ctr, err := s.remoteCLI(ctx, addr)
			if err != nil {
				return nil // not asked: the build's own error stands
			}
			return s.checkRemote(ctx, ctr, addr)
		})
}

// engineProbe asks the builder at addr once, over SSH, whether its engine's socket takes a
// connection (the dial helper Dagger's ssh:// runner host uses, with nothing sent): a busy engine
// takes it at once, a dead one refuses it at once. Each question carries its own time so that the
// engine never answers it from its cache.
func (s *armSession) engineProbe(addr string) func(context.Context) e2c.EngineProbe {
	ep, err := e2c.ParseSSHAddr(addr)
	if err != nil {
		return func(context.Context) e2c.EngineProbe {
			return e2c.EngineProbe{Answer: e2c.EngineSilent, Detail: err.Error()}
		}
	}
	secs := strconv.Itoa(int(e2c.EngineProbeTimeout / time.Second))
	// the engine cannot report an exit code above 128 (ssh's own failure is 255): the shell
	// prints the command's code on stdout (the dial helper's output is dropped) and exits 0
	cmd := []string{"sh", "-c", `"$@" </dev/null >/dev/null; echo "$?"`, "probe",
		"timeout", secs, "ssh", "-p", ep.Port, "-l", s.cfg.SSHUser, "--", ep.Host,
		"buildctl", "--addr", "unix://" + s.remoteSocket(), "dial-stdio"}
	return func(ctx context.Context) e2c.EngineProbe {
		ctr, err := s.remoteCLI(ctx, addr)
		if err != nil {
			return e2c.EngineProbe{Answer: e2c.EngineSilent, Detail: err.Error()}
		}
		pctx, cancel := context.WithTimeout(ctx, e2c.EngineProbeTimeout+e2c.EngineProbeStartSlack)
		defer cancel()
		done := ctr.WithEnvVariable("SHIPYARD_PROBE", time.Now().UTC().Format(time.RFC3339Nano)).
			WithExec(cmd)
		out, err := done.Stdout(pctx)
		code, cerr := strconv.Atoi(strings.TrimSpace(out))
		if err != nil || cerr != nil {
			why := fmt.Sprintf("it printed %q", out)
			if err != nil {
				why = strings.SplitN(err.Error(), "\n", 2)[0]
			}
			return e2c.EngineProbe{Answer: e2c.EngineSilent, Detail: "the probe did not run here: " + why}
		}
		stderr, _ := done.Stderr(pctx)
		return e2c.EngineProbeResult(code, stderr)
	}
}

// buildOnBuilder runs the remote builds; when the builder is lost mid-build it does what
// --on-builder-loss says (e2c.BuildOnBuilder): the same builds with QEMU here, one on-demand
// builder in its place, or fail. It returns the plan the run ends with when the routing changed.
func (r *run) buildOnBuilder(ctx context.Context, s *armSession, builds []plan.Build) (*plan.Plan, error) {
	started := time.Now()
	lost, err := e2c.BuildOnBuilder(r.in.OnBuilderLoss, s.cfg.Strategy,
		func() error {
			out, err := s.buildWatched(ctx, r, builds)
			if out != "" {
				r.logf("%s", strings.TrimSpace(out))
			}
			return err
		},
		func() (plan.BuilderState, string, error) {
			s.close(ctx, r.logf)
			s.cfg = s.cfg.OnDemand()
			s.mgr = e2c.NewManager(s.api, s.cfg, logLine)
			return s.setup(ctx, r.logf)
		}, r.logf)
	switch {
	case err != nil:
		return nil, err
	case lost == nil:
		return nil, r.attestBuilds(ctx, builds, started)
	}
	in := r.in
	in.Builder, in.BuilderWhy = plan.BuilderFailed, lost.Error()
	p, err := plan.Make(in)
	if err != nil {
		return nil, err
	}
	again := p.Among(builds, plan.QEMU)
	for _, b := range again {
		r.logf("build %s [%s] on qemu: %s", b.Target, b.Platform, b.Why)
	}
	return p, r.buildHere(ctx, again)
}

// remoteSocket is the builder engine's socket.
func (s *armSession) remoteSocket() string { return s.builder.RemoteSocket }

// checkRemote asks the builder's engine before anything is sent to it: first the probe (SSH and
// the engine's socket, EngineProbeTimeout), so that an unreachable builder fails at once with
// ssh's own words, then `dagger core version`, which on a fresh engine opens its first session
// (e2c.RemoteVersionTimeout); it fails when either does not answer or the version differs.
func (s *armSession) checkRemote(ctx context.Context, ctr *dagger.Container, addr string) error {
	if p := s.engineProbe(addr)(ctx); p.Answer != e2c.EngineAnswered {
		return fmt.Errorf("the builder's engine at %s is unreachable (is the instance up, its engine running and SSH allowed?): %s", addr, p.Detail)
	}
	limit := e2c.RemoteVersionTimeout
	out, err := ctr.WithExec([]string{"timeout", strconv.Itoa(int(limit / time.Second)), "dagger", "-vv", "--progress=plain", "core", "version"}).Stdout(ctx)
	if err != nil {
		return fmt.Errorf("the builder's engine at %s did not answer `dagger core version`: %s", addr, e2c.RemoteVersionFailure(execOutput(err), limit))
	}
	if v := strings.TrimSpace(out); v != enginever.Version {
		return fmt.Errorf("the builder's engine at %s is %s, this module needs %s: install the same engine version on the builder", addr, v, enginever.Version)
	}
	return nil
}

// session opens this job's builder session for a phase.
func (a *ArmBuilder) session(ctx context.Context) (*armSession, *run, error) {
	r, err := a.M.newRun(ctx, a.Ref, a.Tag, "", false)
	if err != nil {
		return nil, nil, err
	}
	s, err := a.M.armSession(ctx, r.ci)
	if err != nil {
		return nil, nil, err
	}
	return s, r, nil
}

// readState reads this job's state file from the state directory; ok is false when there is none.
func (a *ArmBuilder) readState(ctx context.Context, jobID string) (e2c.State, bool, error) {
	name := e2c.StateFileName(jobID)
	if a.StateDir == nil {
		return e2c.State{}, false, nil
	}
	if ok, err := a.StateDir.Exists(ctx, name); err != nil || !ok {
		return e2c.State{}, false, nil
	}
	path := filepath.Join(os.TempDir(), name)
	if _, err := a.StateDir.File(name).Export(ctx, path); err != nil {
		return e2c.State{}, false, fmt.Errorf("reading the state file %s: %v", name, err)
	}
	defer os.Remove(path) // it may hold the job's client key
	st, err := e2c.ReadState(path)
	return st, err == nil, err
}

// Setup reaps expired builders, starts or launches this job's instance (provisioned with keys made for this job unless the image has its own), waits until it is ready, and returns the state file (before_script)
// +cache="never"
func (a *ArmBuilder) Setup(ctx context.Context) (*dagger.File, error) {
	s, _, err := a.session(ctx)
	if err != nil {
		return nil, err
	}
	if _, _, err := s.setup(ctx, func(f string, args ...any) { logLine(fmt.Sprintf(f, args...)) }); err != nil {
		if s.state.InstanceID != "" {
			logLine("e2c: setup failed after launching " + s.state.InstanceID + "; teardown will find it by its job tag")
		}
		return nil, err
	}
	// for a provisioned builder the file holds the job's client key, which the later phases log
	// in with: it reaches the file as a secret, never as a call's argument
	f, err := secretFile(ctx, e2c.StateFileName(s.jobID), e2c.StateText(s.state))
	if err != nil && s.state.InstanceID != "" {
		logLine("e2c: writing the state file failed after launching " + s.state.InstanceID + "; teardown will find it by its job tag")
	}
	return f, err
}

// Build builds the ARM platforms the plan routes to the builder, on its engine, and pushes them by digest (script)
// +cache="never"
func (a *ArmBuilder) Build(ctx context.Context) (string, error) {
	s, r, err := a.session(ctx)
	if err != nil {
		return "", err
	}
	if err := r.preflightSigning(ctx); err != nil {
		return "", err
	}
	st, ok, err := a.readState(ctx, s.jobID)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("no state file %s in the state directory: run `arm-builder setup export --path %s` first (before_script)", e2c.StateFileName(s.jobID), e2c.StateFileName(s.jobID))
	}
	if err := s.adopt(st); err != nil {
		return "", err
	}
	if st.NoBuilder() {
		if err := r.replan(plan.BuilderNoCapacity, "no EC2 capacity"); err != nil {
			return "", err
		}
		// the ARM builds this job owns, under QEMU here; the amd64 ones are the build job's
		return r.log.String(), r.buildHere(ctx, r.plan.BuildsOf(plan.JobARMBuilder, plan.QEMU))
	}
	// what setup learnt about 32-bit ARM code routes linux/arm/v7: natively there, or QEMU here
	// (the build job planned it for the builder, so this job owns it either way)
	r.in.BuilderRuns32Bit = st.Runs32BitARM
	if err := r.replan(plan.BuilderReady, ""); err != nil {
		return "", err
	}
	// a builder lost mid-build is handled as in the one-call path (--on-builder-loss); one
	// launched in its place is torn down by the job's teardown phase, which finds it by job tag
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return r.buildHere(gctx, r.plan.BuildsOf(plan.JobARMBuilder, plan.QEMU)) })
	g.Go(func() error {
		_, err := r.buildOnBuilder(gctx, s, r.plan.BuildsOf(plan.JobARMBuilder, plan.Remote))
		return err
	})
	err = g.Wait()
	return r.log.String(), err
}

// Cleanup prunes the builder engine's cache when the instance is kept (existing strategy) and no other job holds it (after_script)
// +cache="never"
func (a *ArmBuilder) Cleanup(ctx context.Context) (string, error) {
	s, _, err := a.session(ctx)
	if err != nil {
		return "", err
	}
	st, ok, err := a.readState(ctx, s.jobID)
	if err != nil {
		return "e2c cleanup: no builder instance for this job: nothing to clean", err
	}
	if prune, why := e2c.CleanupVerdict(st, ok); !prune {
		return why, nil
	}
	if err := s.adopt(st); err != nil {
		return "", err
	}
	prune, why := s.cfg.Lease().MayPrune(ctx, s.leaseRun())
	logLine(why)
	if !prune {
		return why, nil
	}
	ctr, err := s.remoteCLI(ctx, s.mgr.SSHAddr(st))
	if err != nil {
		return "", err
	}
	out, err := ctr.WithExec([]string{"timeout", "120", "dagger", "core", "engine", "local-cache", "prune"}).Stdout(ctx)
	if err != nil {
		return "", fmt.Errorf("pruning the builder's cache: %s", execOutput(err))
	}
	return why + "\ne2c cleanup: pruned the builder engine's cache\n" + out, nil
}

// Teardown stops or terminates this job's instance (a shared existing instance only when no other job holds it); idempotent, and finds the instance by its job tag when there is no state file (after_script)
// +cache="never"
func (a *ArmBuilder) Teardown(ctx context.Context) (string, error) {
	s, _, err := a.session(ctx)
	if err != nil {
		return "", err
	}
	if st, ok, err := a.readState(ctx, s.jobID); err != nil {
		logLine("e2c teardown: unreadable state file (" + err.Error() + "); searching by job tag")
	} else if ok {
		// with the keys setup wrote, for the lease of a shared builder
		if err := s.adopt(st); err != nil {
			logLine("e2c teardown: " + err.Error())
		}
	}
	var lines []string
	s.close(ctx, func(f string, args ...any) { l := fmt.Sprintf(f, args...); logLine(l); lines = append(lines, l) })
	return strings.Join(lines, "\n"), nil
}

// Finish is cleanup, then teardown, in one call: a failed cleanup is reported and the teardown runs all the same (after_script; each fresh engine pays a call's start once)
// +cache="never"
func (a *ArmBuilder) Finish(ctx context.Context) (string, error) {
	cleaned, err := a.Cleanup(ctx)
	if err != nil {
		cleaned = "arm-builder cleanup failed; tearing the instance down anyway: " + err.Error()
		logLine(cleaned)
	}
	down, err := a.Teardown(ctx)
	return strings.TrimSpace(cleaned + "\n" + down), err
}

// Reap terminates every builder of this project whose expiry tag has passed
// +cache="never"
func (a *ArmBuilder) Reap(ctx context.Context) (string, error) {
	s, _, err := a.session(ctx)
	if err != nil {
		return "", err
	}
	ids, err := s.mgr.Reap(ctx, time.Now())
	if err != nil {
		return "", err
	}
	if len(ids) == 0 {
		return "e2c reap: no expired builder", nil
	}
	return "e2c reap: terminated or stopped " + strings.Join(ids, ", "), nil
}

// ProvisionScript renders the one-time setup script of a long-lived builder (existing strategy) with keys you keep: run it once as root there (sudo sh builder.sh)
// +cache="never"
func (a *ArmBuilder) ProvisionScript(
	ctx context.Context,
	// The builder's SSH host private key, ed25519 in OpenSSH form (hack/provision-builder keys makes one), e.g. file:builder-keys/host_ed25519
	sshHostPrivateKey *dagger.Secret,
	// The client's public key line the builder authorises ("ssh-ed25519 AAAA… comment"), e.g. "$(cat builder-keys/client_ed25519.pub)"
	sshClientPublicKey string,
	// The login user the client key is authorised for: admin (Debian), ubuntu (Ubuntu) or root (default: with-arm-access's --ssh-user)
	// +optional
	sshUser string,
) (*dagger.File, error) {
	hostPrivate, err := sshHostPrivateKey.Plaintext(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the host key secret: %v", err)
	}
	keys, err := provision.GivenKeys(e2c.DecodePrivateKey(hostPrivate), sshClientPublicKey)
	if err != nil {
		return nil, err
	}
	o, err := a.M.ec2Settings("").ScriptOptions(sshUser, keys)
	if err != nil {
		return nil, err
	}
	script, err := provision.UserDataText(o)
	if err != nil {
		return nil, err
	}
	// the host's private key reaches the script as a secret, never as a call's argument
	return secretFile(ctx, "builder.sh", script)
}
