package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"shipyard/ci/internal/dagger"
	"shipyard/internal/bake"
	"shipyard/internal/e2c"
	"shipyard/internal/enginever"
	"shipyard/internal/plan"
	"shipyard/internal/remotebuild"
	"shipyard/internal/retry"
)

// build runs the remote builds on the builder's bare engine: the dagger CLI opens one session
// there over SSH (`dagger run`) and the driver internal/remotebuild made from the plan sends it
// Dagger core API documents. Nothing is loaded on the builder but the repository. A publish
// that failed for a transient reason is run again (retry.Push), with what it needs.
func (s *armSession) build(ctx context.Context, r *run, builds []plan.Build) (string, error) {
	began := time.Now()
	addr := s.mgr.SSHAddr(s.state)
	ctr, err := s.remoteCLI(ctx, addr)
	if err != nil {
		return "", err
	}
	if err := s.checkRemote(ctx, ctr, addr); err != nil {
		return "", &e2c.BuilderUnreachable{Err: err}
	}
	p, env, err := s.remotePlan(ctx, r, builds)
	if err != nil {
		return "", err
	}
	var out strings.Builder
	pushed := map[string]bool{}
	var pubs []remotebuild.Result
	err = retry.Do(ctx, retry.Push, func(ctx context.Context) error {
		o, err := s.runRemote(ctx, ctr, env, p.Remaining(pushed), addr)
		for _, res := range o.Results {
			switch {
			case res.Phase == remotebuild.PhaseBuild && res.Done():
				fmt.Fprintf(&out, "built %s [%s] on EC2 builder %s in %s (started %s into the build phase)\n", res.Target, res.Platform,
					s.state.InstanceID, res.End.Sub(res.Start).Round(100*time.Millisecond), res.Start.Sub(began).Round(100*time.Millisecond))
			case res.Phase == remotebuild.PhaseUpload && res.Done():
				fmt.Fprintf(&out, "repository uploaded to EC2 builder %s in %s\n", s.state.InstanceID, res.End.Sub(res.Start).Round(100*time.Millisecond))
			}
		}
		for _, pub := range o.Published() {
			pushed[pub.Ref] = true
			pubs = append(pubs, pub)
		}
		return err
	}, func(attempt int, delay time.Duration, err error) {
		fmt.Fprintf(os.Stderr, "remote publish failed (attempt %d of %d), retrying in %s: %v\n", attempt, retry.Push.Attempts, delay, err)
	})
	// the builder's engine stamps its own times into the configs too: the pushed images get the
	// source's, as the local ones do
	configs, ferr := s.m.configFixer(ctx, r.created(ctx))
	for _, pub := range pubs {
		digest := pub.Digest
		if ferr == nil {
			digest, ferr = configs.fix(ctx, pub.Ref, pub.Digest)
		}
		if ferr != nil {
			err = errors.Join(err, fmt.Errorf("push %s [%s] to %s: %v", pub.Target, pub.Platform, pub.Ref, ferr))
			break
		}
		fmt.Fprintf(&out, "pushed %s [%s] %s@%s\n", pub.Target, pub.Platform, pub.Ref, digest)
	}
	return out.String(), err
}

// remotePlan is what the builder does for builds, exactly as the local build and publish do
// it, and the secrets the driver reads from its environment, by variable name.
func (s *armSession) remotePlan(ctx context.Context, r *run, builds []plan.Build) (remotebuild.Plan, map[string]*dagger.Secret, error) {
	m := s.m
	env := map[string]*dagger.Secret{}
	var secrets []remotebuild.Secret
	for i, id := range m.BuildSecretIDs {
		name := fmt.Sprintf("SHIPYARD_BUILD_SECRET_%d", i)
		secrets = append(secrets, remotebuild.Secret{ID: id, Env: name})
		env[name] = m.BuildSecrets[i]
	}
	want := make([]remotebuild.Build, 0, len(builds))
	for _, b := range builds {
		want = append(want, remotebuild.Build{Target: b.Target, Platform: b.Platform, Push: b.Push})
	}
	steps, err := remotebuild.Steps(r.in.Targets, want, secrets, func(t *bake.Target) (string, error) {
		return m.Source.Directory(t.Context).File(t.Dockerfile).Contents(ctx)
	})
	if err != nil {
		return remotebuild.Plan{}, nil, err
	}
	p := remotebuild.Plan{Source: "/src", Steps: steps, Secrets: secrets}
	creds, err := m.creds()
	if err != nil {
		return remotebuild.Plan{}, nil, err
	}
	for i, c := range creds {
		name := fmt.Sprintf("SHIPYARD_REGISTRY_PASSWORD_%d", i)
		p.Auth = append(p.Auth, remotebuild.Auth{Address: c.Address, Username: c.User, Env: name})
		env[name] = c.Secret
	}
	return p, env, nil
}

// runRemote runs p's driver in the CLI container, in one session on the builder's engine, and
// reads back what each query did. Each build and publish gets its span, named after where it ran,
// with the times the driver measured. The error names the first failure: a publish's keeps the
// engine's message typed for retry; anything else is permanent.
func (s *armSession) runRemote(ctx context.Context, ctr *dagger.Container, env map[string]*dagger.Secret, p remotebuild.Plan, addr string) (remotebuild.Outcome, error) {
	where := "EC2 builder " + s.state.InstanceID
	if len(p.Steps) == 0 {
		return remotebuild.Outcome{}, nil
	}
	drv, err := p.Render()
	if err != nil {
		return remotebuild.Outcome{}, retry.Permanent(err)
	}
	dir := dag.Directory()
	for path, text := range drv.Files {
		dir = dir.WithNewFile(path, text)
	}
	run := ctr.WithDirectory("/plan", dir).WithWorkdir("/plan")
	for _, name := range slices.Sorted(maps.Keys(env)) {
		run = run.WithSecretVariable(name, env[name])
	}
	rctx, span := Tracer().Start(ctx, fmt.Sprintf("build %d image(s) on %s", p.Pushes(), where))
	defer span.End()
	done := run.WithExec([]string{"dagger", "--progress=plain", "run", "sh", "/plan/" + remotebuild.Script},
		dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	code, err := done.ExitCode(rctx)
	if err != nil {
		return remotebuild.Outcome{}, fmt.Errorf("remote build on %s (%s): %s", where, addr, execOutput(err))
	}
	files, err := exportedFiles(rctx, done.Directory("/plan/"+remotebuild.OutDir))
	if err != nil {
		return remotebuild.Outcome{}, fmt.Errorf("remote build on %s (%s): reading the driver's answers: %v", where, addr, err)
	}
	o := p.Parse(files)
	for _, res := range o.Results {
		if !res.Ran || res.Target == "" {
			continue
		}
		name := fmt.Sprintf("build %s [%s] on %s", res.Target, res.Platform, where)
		if res.Phase == remotebuild.PhasePublish {
			name = fmt.Sprintf("push %s [%s] from %s", res.Target, res.Platform, where)
		}
		_, sp := Tracer().Start(rctx, name, trace.WithTimestamp(res.Start))
		if res.Failed() {
			sp.SetStatus(codes.Error, res.Err)
		}
		sp.End(trace.WithTimestamp(res.End))
	}
	fails := o.Failures()
	for _, f := range fails {
		if f.Phase != remotebuild.PhasePublish {
			return o, retry.Permanent(fmt.Errorf("remote %s on %s (%s): %s", f.What(), where, addr, f.Err))
		}
	}
	if len(fails) > 0 {
		// the registry's refusal or hiccup, told apart by internal/retry
		f := fails[0]
		return o, fmt.Errorf("push %s [%s] to %s from %s (%s): %w", f.Target, f.Platform, p.PushOf(f.Target, f.Platform), where, addr, retry.FromEngineMessage(f.Err))
	}
	if code != 0 {
		stderr, _ := done.Stderr(rctx)
		return o, retry.Permanent(fmt.Errorf("remote build on %s (%s): the session failed (exit code %d): %s", where, addr, code, e2c.SSHFailureReason(lastLines(stderr, 30))))
	}
	return o, nil
}

// exportedFiles are the files of dir (no subdirectories), by name.
func exportedFiles(ctx context.Context, dir *dagger.Directory) (map[string]string, error) {
	tmp, err := os.MkdirTemp("", "remote-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if _, err := dir.Export(ctx, tmp); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return nil, err
	}
	files := map[string]string{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(tmp, e.Name()))
		if err != nil {
			return nil, err
		}
		files[e.Name()] = string(b)
	}
	return files, nil
}

// remoteCLI is a container with the dagger CLI, the driver's tools (jq, curl) and the
// repository, with SSH set up to use the builder's engine: the client key as a secret, a
// known_hosts holding only the pinned host key.
func (s *armSession) remoteCLI(ctx context.Context, addr string) (*dagger.Container, error) {
	m := s.m
	ep, err := e2c.ParseSSHAddr(addr)
	if err != nil {
		return nil, err
	}
	cli := m.Ec2.DaggerCli
	if cli == nil {
		image := enginever.Image
		cli = dag.Container().From(image).File("/usr/local/bin/dagger")
		if _, err := cli.Sync(ctx); err != nil {
			return nil, fmt.Errorf("cannot get the dagger CLI from %s (%v): pass with-arm-access --dagger-cli=$(command -v dagger)", image, err)
		}
	}
	key, hostKey, err := s.keys(ctx)
	if err != nil {
		return nil, err
	}
	if m.Source == nil {
		return nil, errors.New("the repository (--source) is missing")
	}
	knownHost := ep.KnownHosts(hostKey)
	sshConfig := "Host *\n  IdentityFile /root/.ssh/id_builder\n  UserKnownHostsFile /root/.ssh/known_hosts\n" +
		"  StrictHostKeyChecking yes\n  ConnectTimeout 10\n  ServerAliveInterval 15\n  BatchMode yes\n"
	runner := ep.RunnerURL(s.cfg.SSHUser, s.remoteSocket())
	return debianWith("openssh-client", "ca-certificates", "jq", "curl").
		WithFile("/usr/local/bin/dagger", cli, dagger.ContainerWithFileOpts{Permissions: 0o755}).
		WithMountedSecret("/root/.ssh/id_builder", dag.SetSecret("shipyard-builder-ssh-key-"+s.jobID, key), dagger.ContainerWithMountedSecretOpts{Mode: 0o600}).
		WithNewFile("/root/.ssh/known_hosts", knownHost).
		WithNewFile("/root/.ssh/config", sshConfig).
		WithDirectory("/src", m.Source).
		WithEnvVariable("_EXPERIMENTAL_DAGGER_RUNNER_HOST", runner).
		WithEnvVariable("DAGGER_NO_NAG", "1").
		WithEnvVariable("CACHEBUST", time.Now().String()), nil
}
