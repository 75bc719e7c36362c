package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"golang.org/x/crypto/ssh"

	"shipyard/ci/internal/dagger"
	"shipyard/internal/e2c"
)

// engineVersion is the Dagger engine version this module pins; a remote engine must match it.
const engineVersion = "v0.19.10"

// E2C builds ARM images natively on an EC2 instance's Dagger engine, in the seed's phases.
type E2C struct {
	// +private
	M *Shipyard
	// The E2C_* settings as JSON (the form the variables are read in)
	// +private
	Settings string
	// +private
	AwsAccessKeyID *dagger.Secret
	// +private
	AwsSecretAccessKey *dagger.Secret
	// +private
	SSHKey *dagger.Secret
	// +private
	SSHHostKey string
	// +private
	Ec2Endpoint string
	// +private
	Ec2Tunnel *dagger.Service
	// +private
	StateDir *dagger.Directory
	// +private
	RemoteSocket string
}

// ArmBuilder: build ARM images natively on an EC2 instance's Dagger engine (phases: setup, build, cleanup, teardown, reap)
func (m *Shipyard) ArmBuilder(
	// CI job id: names the state file and tags the instance ($CI_JOB_ID)
	jobId string,
	// CI pipeline id, written into the instance tags ($CI_PIPELINE_ID; "local" on a laptop)
	// +default="local"
	pipelineId string,
	// AWS region ($E2C_REGION)
	// +default="eu-north-1"
	region string,
	// existing (start and stop one instance) or template (launch from a launch template, terminate after) ($E2C_STRATEGY)
	// +default="template"
	strategy string,
	// Instance of the existing strategy ($E2C_INSTANCE_ID)
	// +optional
	instanceId string,
	// Launch template of the template strategy ($E2C_LAUNCH_TEMPLATE_ID)
	// +optional
	launchTemplateId string,
	// Launch template version: $Latest, $Default or a number
	// +optional
	launchTemplateVersion string,
	// Request a spot instance, falling back to on-demand without capacity ($E2C_USE_SPOT)
	// +optional
	useSpot bool,
	// Spot price cap in USD per hour; a cap raises the risk of interruption ($E2C_SPOT_MAX_PRICE)
	// +optional
	spotMaxPrice string,
	// Subnets tried in order when there is no capacity ($E2C_SUBNETS)
	// +optional
	subnets []string,
	// Project name in the instance tags ($CI_PROJECT_PATH)
	// +default="shipyard"
	project string,
	// Instance lifetime after which the reaper terminates it
	// +default="3h"
	ttl string,
	// How long to wait for the instance to run with a public IP
	// +default="5m"
	waitTimeout string,
	// AWS access key id (env:AWS_ACCESS_KEY_ID)
	// +optional
	awsAccessKeyId *dagger.Secret,
	// AWS secret access key (env:AWS_SECRET_ACCESS_KEY)
	// +optional
	awsSecretAccessKey *dagger.Secret,
	// SSH private key of the builder's user (env:E2C_SSH_PRIVATE_KEY)
	// +optional
	sshKey *dagger.Secret,
	// The builder's SSH host public key ("ssh-ed25519 AAAA…"), verified on every connection ($E2C_SSH_HOST_KEY)
	// +optional
	sshHostKey string,
	// SSH user on the builder
	// +default="root"
	sshUser string,
	// SSH port of the builder
	// +default=22
	sshPort int,
	// The remote engine's unix socket on the builder
	// +default="/run/dagger/engine.sock"
	remoteSocket string,
	// EC2 API endpoint (empty: AWS); for tests, e.g. http://127.0.0.1:5010 with --ec2-tunnel
	// +optional
	ec2Endpoint string,
	// Tunnel to an EC2 API on the engine host's loopback, e.g. tcp://localhost:5010
	// +optional
	ec2Tunnel *dagger.Service,
	// TEST-ONLY: dial this host:port instead of the instance's public IP (a fake EC2 hands out addresses nothing listens on)
	// +optional
	sshAddrOverride string,
	// Directory holding the state file .e2c_instance_state_<job-id> written by setup
	// +optional
	// +defaultPath="/"
	// +ignore=["*", "!.e2c_instance_state_*"]
	stateDir *dagger.Directory,
) *E2C {
	return &E2C{
		M: m,
		Settings: mustJSON(map[string]string{
			"CI_JOB_ID": jobId, "CI_PIPELINE_ID": pipelineId, "E2C_REGION": region, "E2C_STRATEGY": strategy,
			"E2C_INSTANCE_ID": instanceId, "E2C_LAUNCH_TEMPLATE_ID": launchTemplateId,
			"E2C_LAUNCH_TEMPLATE_VERSION": launchTemplateVersion, "E2C_USE_SPOT": strconv.FormatBool(useSpot),
			"E2C_SPOT_MAX_PRICE": spotMaxPrice, "E2C_SUBNETS": strings.Join(subnets, ","), "E2C_PROJECT": project,
			"E2C_TTL": ttl, "E2C_WAIT_TIMEOUT": waitTimeout, "E2C_SSH_USER": sshUser,
			"E2C_SSH_PORT": strconv.Itoa(sshPort), "E2C_SSH_ADDR_OVERRIDE": sshAddrOverride,
		}),
		AwsAccessKeyID: awsAccessKeyId, AwsSecretAccessKey: awsSecretAccessKey,
		SSHKey: sshKey, SSHHostKey: sshHostKey, Ec2Endpoint: ec2Endpoint, Ec2Tunnel: ec2Tunnel,
		StateDir: stateDir, RemoteSocket: remoteSocket,
	}
}

func mustJSON(m map[string]string) string {
	b, _ := json.Marshal(m)
	return string(b)
}

// setting is one of the E2C_* settings.
func (e *E2C) setting(k string) string {
	var m map[string]string
	_ = json.Unmarshal([]byte(e.Settings), &m)
	return m[k]
}

// config reads the settings the same way the E2C_* variables are read, then checks them all at once.
func (e *E2C) config() (e2c.Config, error) {
	cfg, err := e2c.ConfigFromEnv(e.setting)
	if err != nil {
		return cfg, err
	}
	return cfg, cfg.Preflight()
}

func (e *E2C) manager(ctx context.Context, log func(string)) (*e2c.Manager, e2c.Config, error) {
	cfg, err := e.config()
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if e.AwsAccessKeyID == nil || e.AwsSecretAccessKey == nil {
		errs = append(errs, errors.New("AWS credentials missing: pass --aws-access-key-id=env:AWS_ACCESS_KEY_ID --aws-secret-access-key=env:AWS_SECRET_ACCESS_KEY"))
	}
	if len(errs) > 0 {
		return nil, cfg, fmt.Errorf("e2c preflight:\n%v", errors.Join(errs...))
	}
	ak, err := e.AwsAccessKeyID.Plaintext(ctx)
	if err != nil {
		return nil, cfg, fmt.Errorf("reading the AWS access key id secret: %v", err)
	}
	sk, err := e.AwsSecretAccessKey.Plaintext(ctx)
	if err != nil {
		return nil, cfg, fmt.Errorf("reading the AWS secret access key secret: %v", err)
	}
	var opts []func(*ec2.Options)
	if e.Ec2Tunnel != nil {
		dial, err := tunnelDialer(ctx, []*dagger.Service{e.Ec2Tunnel})
		if err != nil {
			return nil, cfg, err
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = dial
		opts = append(opts, func(o *ec2.Options) { o.HTTPClient = &http.Client{Transport: tr} })
	}
	client, err := e2c.NewClient(ctx, cfg.Region, e.Ec2Endpoint, ak, sk, opts...)
	if err != nil {
		return nil, cfg, err
	}
	return e2c.NewManager(client, cfg, log), cfg, nil
}

func logLine(s string) { fmt.Fprintln(os.Stderr, s) }

// Setup: reap expired builders, start or launch this job's instance, wait for SSH, and return the state file
func (e *E2C) Setup(ctx context.Context) (*dagger.File, error) {
	mgr, cfg, err := e.manager(ctx, logLine)
	if err != nil {
		return nil, err
	}
	if reaped, err := mgr.Reap(ctx, time.Now()); err != nil {
		logLine("e2c: reaping expired builders failed (continuing): " + err.Error())
	} else if len(reaped) > 0 {
		logLine("e2c: reaped expired builders " + strings.Join(reaped, ", "))
	}
	var last e2c.State
	st, err := mgr.Setup(ctx, func(s e2c.State) error { last = s; return nil })
	if errors.Is(err, e2c.ErrNoCapacity) {
		logLine("e2c: WARNING: no EC2 capacity anywhere; the ARM images will be built with QEMU instead")
		return e.stateFile(e2c.State{Strategy: "qemu-fallback", Region: cfg.Region, JobID: cfg.JobID})
	}
	if err != nil {
		if last.InstanceID != "" {
			logLine("e2c: setup failed after launching " + last.InstanceID + "; teardown will find it by its job tag")
		}
		return nil, err
	}
	if e.SSHKey != nil && e.SSHHostKey != "" {
		if err := e.checkSSH(ctx, mgr.SSHAddr(st), cfg.SSHUser); err != nil {
			return nil, fmt.Errorf("instance %s is running but SSH is not ready: %v", st.InstanceID, err)
		}
		logLine("e2c: SSH to " + mgr.SSHAddr(st) + " verified with the pinned host key")
	}
	return e.stateFile(st)
}

func (e *E2C) stateFile(s e2c.State) (*dagger.File, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return dag.Directory().WithNewFile(e2c.StateFileName(s.JobID), string(b)+"\n").File(e2c.StateFileName(s.JobID)), nil
}

func (e *E2C) checkSSH(ctx context.Context, addr, user string) error {
	key, err := e.SSHKey.Plaintext(ctx)
	if err != nil {
		return fmt.Errorf("reading the SSH key secret: %v", err)
	}
	signer, err := ssh.ParsePrivateKey([]byte(key))
	if err != nil {
		return errors.New("the SSH key secret is not a valid private key (pass an unencrypted OpenSSH private key)")
	}
	host, _, _, _, err := ssh.ParseAuthorizedKey([]byte(e.SSHHostKey))
	if err != nil {
		return fmt.Errorf("--ssh-host-key is not an SSH public key line (\"ssh-ed25519 AAAA…\"): %v", err)
	}
	return e2c.CheckSSH(ctx, addr, user, signer, host, 2*time.Minute)
}

// readState reads this job's state file from --state-dir; ok is false when there is none.
func (e *E2C) readState(ctx context.Context) (e2c.State, string, bool, error) {
	name := e2c.StateFileName(e.setting("CI_JOB_ID"))
	if e.StateDir == nil {
		return e2c.State{}, "", false, nil
	}
	ok, err := e.StateDir.Exists(ctx, name)
	if err != nil || !ok {
		return e2c.State{}, "", false, nil
	}
	path := filepath.Join(os.TempDir(), name)
	if _, err := e.StateDir.File(name).Export(ctx, path); err != nil {
		return e2c.State{}, "", false, fmt.Errorf("reading the state file %s: %v", name, err)
	}
	st, err := e2c.ReadState(path)
	return st, path, err == nil, err
}

// Build the ARM platforms of the bake targets on the builder's engine and pushes them by digest
func (e *E2C) Build(
	ctx context.Context,
	// Platforms to build on the builder
	// +default=["linux/arm64"]
	platform []string,
	// Bake targets or groups (default: the default group)
	// +optional
	target []string,
	// Bake variable overrides, as NAME=VALUE (e.g. REGISTRY=…, TAG=1.2.3)
	// +optional
	set []string,
	// Registry user for the pushes
	// +optional
	username string,
	// Registry password for the pushes
	// +optional
	password *dagger.Secret,
	// The dagger CLI binary to drive the remote engine with (default: the one in the pinned engine image)
	// +optional
	daggerCli *dagger.File,
	// The module to run on the builder: "." is this repository, else a module reference
	// +default="."
	module string,
) (string, error) {
	st, _, ok, err := e.readState(ctx)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("no state file %s in --state-dir: run `dagger call e2c … setup export --path %s` first",
			e2c.StateFileName(e.setting("CI_JOB_ID")), e2c.StateFileName(e.setting("CI_JOB_ID")))
	}
	if st.InstanceID == "" {
		logLine("e2c: WARNING: no builder instance (no capacity): building " + strings.Join(platform, ", ") + " with QEMU here")
		imgs, err := e.M.Build(ctx, target, platform, set)
		if err != nil {
			return "", err
		}
		return imgs.Publish(ctx, username, password, "{tag}-{arch}")
	}
	cfg, err := e.config()
	if err != nil {
		return "", err
	}
	if e.SSHKey == nil || e.SSHHostKey == "" {
		return "", errors.New("the remote build needs --ssh-key and --ssh-host-key (the builder's host key is always verified)")
	}
	mgr := e2c.NewManager(nil, cfg, logLine)
	addr := mgr.SSHAddr(st)
	ctr, err := e.remoteCLI(ctx, addr, cfg.SSHUser, daggerCli)
	if err != nil {
		return "", err
	}
	if err := e.checkRemoteVersion(ctx, ctr, addr); err != nil {
		return "", err
	}
	args := []string{"dagger", "call", "--progress=plain", "-m", module, "--source", "/src", "--bake-file", e.M.BakeFile, "build"}
	for _, p := range platform {
		args = append(args, "--platform", p)
	}
	for _, t := range target {
		args = append(args, "--target", t)
	}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	args = append(args, "publish")
	if username != "" && password != nil {
		args = append(args, "--username", username, "--password", "env:REGISTRY_PASSWORD")
		ctr = ctr.WithSecretVariable("REGISTRY_PASSWORD", password)
	}
	ctx, span := Tracer().Start(ctx, fmt.Sprintf("remote build [%s] on %s", strings.Join(platform, ", "), addr))
	defer span.End()
	out, err := ctr.WithDirectory("/src", e.M.Source).WithWorkdir("/src").WithExec(args).Stdout(ctx)
	if err != nil {
		return "", fmt.Errorf("remote build on %s: %s", addr, execOutput(err))
	}
	return out, nil
}

// remoteCLI is a container with the dagger CLI and SSH set up to use the builder's engine.
func (e *E2C) remoteCLI(ctx context.Context, addr, user string, cli *dagger.File) (*dagger.Container, error) {
	host, port, ok := strings.Cut(addr, ":")
	if !ok {
		port = "22"
	}
	if cli == nil {
		image := "registry.dagger.io/engine:" + engineVersion
		cli = dag.Container().From(image).File("/usr/local/bin/dagger")
		if _, err := cli.Sync(ctx); err != nil {
			return nil, fmt.Errorf("cannot get the dagger CLI from %s (%v): pass --dagger-cli=$(command -v dagger)", image, err)
		}
	}
	knownHost := fmt.Sprintf("[%s]:%s %s\n", host, port, strings.TrimSpace(e.SSHHostKey))
	if port == "22" {
		knownHost = fmt.Sprintf("%s %s\n", host, strings.TrimSpace(e.SSHHostKey))
	}
	sshConfig := "Host *\n  IdentityFile /root/.ssh/id_builder\n  UserKnownHostsFile /root/.ssh/known_hosts\n" +
		"  StrictHostKeyChecking yes\n  ConnectTimeout 10\n  ServerAliveInterval 15\n  BatchMode yes\n"
	runner := fmt.Sprintf("ssh://%s@%s:%s%s", user, host, port, e.RemoteSocket)
	return debianWith("openssh-client", "ca-certificates", "git").
		WithFile("/usr/local/bin/dagger", cli, dagger.ContainerWithFileOpts{Permissions: 0o755}).
		WithMountedSecret("/root/.ssh/id_builder", e.SSHKey, dagger.ContainerWithMountedSecretOpts{Mode: 0o600}).
		WithNewFile("/root/.ssh/known_hosts", knownHost).
		WithNewFile("/root/.ssh/config", sshConfig).
		WithEnvVariable("_EXPERIMENTAL_DAGGER_RUNNER_HOST", runner).
		WithEnvVariable("DAGGER_NO_NAG", "1").
		WithEnvVariable("CACHEBUST", time.Now().String()), nil
}

// checkRemoteVersion fails within 30 s when the builder's engine is unreachable or of another version.
func (e *E2C) checkRemoteVersion(ctx context.Context, ctr *dagger.Container, addr string) error {
	out, err := ctr.WithExec([]string{"timeout", "30", "dagger", "-vv", "--progress=plain", "core", "version"}).Stdout(ctx)
	if err != nil {
		return fmt.Errorf("the builder's engine at %s is unreachable within 30s (is the instance up, its engine running and SSH allowed?): %s", addr, e2c.SSHFailureReason(execOutput(err)))
	}
	if v := strings.TrimSpace(out); v != engineVersion {
		return fmt.Errorf("the builder's engine at %s is %s, this module needs %s: install the same engine version on the builder", addr, v, engineVersion)
	}
	return nil
}

// Cleanup: prune the builder engine's cache when the instance is kept (existing strategy); a launched one is terminated at teardown
func (e *E2C) Cleanup(ctx context.Context,
	// The dagger CLI binary to drive the remote engine with (default: the one in the pinned engine image)
	// +optional
	daggerCli *dagger.File,
) (string, error) {
	st, _, ok, err := e.readState(ctx)
	if err != nil || !ok || st.InstanceID == "" {
		return "e2c cleanup: no builder instance for this job: nothing to clean", err
	}
	if st.Strategy != e2c.StrategyExisting {
		return "e2c cleanup: instance " + st.InstanceID + " is terminated at teardown: nothing to clean", nil
	}
	cfg, err := e.config()
	if err != nil {
		return "", err
	}
	if e.SSHKey == nil || e.SSHHostKey == "" {
		return "e2c cleanup: no --ssh-key/--ssh-host-key: the kept instance's cache is left as is", nil
	}
	addr := e2c.NewManager(nil, cfg, logLine).SSHAddr(st)
	ctr, err := e.remoteCLI(ctx, addr, cfg.SSHUser, daggerCli)
	if err != nil {
		return "", err
	}
	out, err := ctr.WithExec([]string{"timeout", "120", "dagger", "core", "engine", "local-cache", "prune"}).Stdout(ctx)
	if err != nil {
		return "", fmt.Errorf("pruning the builder's cache: %s", execOutput(err))
	}
	return "e2c cleanup: pruned the builder engine's cache\n" + out, nil
}

// Teardown: stop or terminate this job's instance; idempotent, and finds the instance by its job tag when there is no state file
func (e *E2C) Teardown(ctx context.Context) (string, error) {
	var lines []string
	mgr, _, err := e.manager(ctx, func(s string) { logLine(s); lines = append(lines, s) })
	if err != nil {
		return "", err
	}
	_, path, ok, err := e.readState(ctx)
	if err != nil {
		logLine("e2c teardown: unreadable state file (" + err.Error() + "); searching by job tag")
	}
	if !ok {
		path = filepath.Join(os.TempDir(), "no-state-file")
	}
	n, err := mgr.Cleanup(ctx, path, e.setting("CI_JOB_ID"))
	if err != nil {
		return strings.Join(lines, "\n"), err
	}
	lines = append(lines, fmt.Sprintf("e2c teardown: %d instance(s) of job %s torn down", n, e.setting("CI_JOB_ID")))
	return strings.Join(lines, "\n"), nil
}

// Reap: terminate every builder of this project whose expiry tag has passed
func (e *E2C) Reap(ctx context.Context) (string, error) {
	mgr, _, err := e.manager(ctx, logLine)
	if err != nil {
		return "", err
	}
	ids, err := mgr.Reap(ctx, time.Now())
	if err != nil {
		return "", err
	}
	if len(ids) == 0 {
		return "e2c reap: no expired builder", nil
	}
	return "e2c reap: terminated or stopped " + strings.Join(ids, ", "), nil
}

// Run all phases in one go (setup, build, cleanup, teardown), as on a laptop; teardown runs on every exit path
func (e *E2C) Run(
	ctx context.Context,
	// Platforms to build on the builder
	// +default=["linux/arm64"]
	platform []string,
	// Bake targets or groups (default: the default group)
	// +optional
	target []string,
	// Bake variable overrides, as NAME=VALUE (e.g. REGISTRY=…, TAG=1.2.3)
	// +optional
	set []string,
	// Registry user for the pushes
	// +optional
	username string,
	// Registry password for the pushes
	// +optional
	password *dagger.Secret,
	// The dagger CLI binary to drive the remote engine with (default: the one in the pinned engine image)
	// +optional
	daggerCli *dagger.File,
	// The module to run on the builder: "." is this repository, else a module reference
	// +default="."
	module string,
) (out string, err error) {
	defer func() {
		// a fresh context: teardown must run even when the build was cancelled
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
		defer cancel()
		msg, terr := e.Teardown(tctx)
		out += "\n" + msg
		if terr != nil {
			err = errors.Join(err, fmt.Errorf("teardown: %v", terr))
		}
	}()
	state, err := e.Setup(ctx)
	if err != nil {
		return "", fmt.Errorf("setup: %v", err)
	}
	// later phases read the state like a CI job does: from the state directory
	name := e2c.StateFileName(e.setting("CI_JOB_ID"))
	e.StateDir = dag.Directory().WithFile(name, state)
	built, err := e.Build(ctx, platform, target, set, username, password, daggerCli, module)
	if err != nil {
		return built, fmt.Errorf("build: %v", err)
	}
	cleaned, err := e.Cleanup(ctx, daggerCli)
	return built + "\n" + cleaned, err
}
