package main

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"shipyard/ci/internal/dagger"
	"shipyard/internal/bake"
	"shipyard/internal/dockerctx"
	"shipyard/internal/plan"
	"shipyard/internal/remotebuild"
)

// Images is the result of a build: one container per bake target and platform.
type Images struct {
	// The images built, one per target and platform
	Images []*Image
	// +private
	Pipeline *Shipyard
	// When the source was made (RFC 3339): each pushed image's config is given this time
	// (imgconfig.Normalize), so the same layers get the same digest on any engine; "" keeps the
	// engine's times
	// +private
	Created string
}

// Image is one bake target built for one platform.
type Image struct {
	// Bake target name
	Target string
	// Platform, e.g. linux/arm64
	Platform string
	// Tags the bake file gives the target (without the per-platform suffix)
	Tags []string
	// The built image
	Container *dagger.Container
}

// Build every requested bake target for every platform, in parallel
// +cache="never"
func (m *Shipyard) Build(
	ctx context.Context,
	// Bake targets or groups to build (default: the bake file's default group)
	// +optional
	target []string,
	// Platforms to build (default linux/amd64); a target that declares platforms is built only for those it supports
	// +optional
	platform []string,
) (*Images, error) {
	engine, err := enginePlatform(ctx)
	if err != nil {
		return nil, err
	}
	f, err := m.bakeFile(ctx, m.Set, engine)
	if err != nil {
		return nil, err
	}
	targets, err := f.Resolve(target...)
	if err != nil {
		return nil, err
	}
	matrix, err := bake.Matrix(targets, platform, engine)
	if err != nil {
		return nil, err
	}
	imgs, err := m.build(ctx, targets, matrix, "local engine")
	if err != nil {
		return nil, err
	}
	imgs.Created = m.sourceTime(ctx, f.Variables, "")
	return imgs, nil
}

// build builds target × platform entries in parallel, each in its own span naming where it runs.
func (m *Shipyard) build(ctx context.Context, targets []*bake.Target, entries []bake.Entry, where string) (*Images, error) {
	b := &builder{m: m, byName: map[string]*bake.Target{}, built: map[string]*dagger.Container{}}
	for _, t := range targets {
		b.byName[t.Name] = t
	}
	imgs := make([]*Image, len(entries))
	g, gctx := errgroup.WithContext(ctx)
	for i, p := range entries {
		g.Go(func() error {
			ctx, span := Tracer().Start(gctx, fmt.Sprintf("build %s [%s] on %s", p.Target.Name, p.Platform, where))
			defer span.End()
			ctr, err := b.container(ctx, p.Target, p.Platform)
			if err != nil {
				return err
			}
			if ctr, err = ctr.Sync(ctx); err != nil {
				return fmt.Errorf("build %s [%s] on %s: %s", p.Target.Name, p.Platform, where, execOutput(err))
			}
			imgs[i] = &Image{Target: p.Target.Name, Platform: p.Platform, Tags: p.Target.Tags, Container: ctr}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return &Images{Images: imgs, Pipeline: m}, nil
}

// Container returns the image built for a target and platform
func (i *Images) Container(
	// Bake target name
	target string,
	// Platform (default: the only or first one built for the target)
	// +optional
	platform string,
) (*dagger.Container, error) {
	for _, img := range i.Images {
		if img.Target == target && (platform == "" || img.Platform == platform) {
			return img.Container, nil
		}
	}
	return nil, fmt.Errorf("no image was built for target %q platform %q: built %s", target, platform, i.describe())
}

func (i *Images) describe() string {
	var s []string
	for _, img := range i.Images {
		s = append(s, img.Target+" ["+img.Platform+"]")
	}
	return strings.Join(s, ", ")
}

// enginePlatform is the platform of the engine this call runs on: what bake's "local" and
// BAKE_LOCAL_PLATFORM are.
func enginePlatform(ctx context.Context) (bake.Platform, error) {
	p, err := dag.DefaultPlatform(ctx)
	if err != nil {
		return bake.Platform{}, fmt.Errorf("asking the engine for its platform: %v", err)
	}
	return bake.ParsePlatform(string(p))
}

// bakeFile reads and evaluates the bake file with NAME=VALUE overrides, followed by the override
// files buildx reads after it (docker-bake.override.json, then docker-bake.override.hcl, next to
// it) that exist in the source; engine is the platform BAKE_LOCAL_PLATFORM names.
func (m *Shipyard) bakeFile(ctx context.Context, set []string, engine bake.Platform) (*bake.File, error) {
	bakePath := m.BakeFile
	if bakePath == "" {
		var err error
		if bakePath, err = bake.DefaultFile(func(name string) bool { return m.hasFile(ctx, name) }); err != nil {
			return nil, err
		}
	}
	src, err := m.Source.File(bakePath).Contents(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the bake file %s: %v (pass --bake-file with its path inside --source)", bakePath, err)
	}
	files := []bake.SourceFile{{Name: bakePath, Data: []byte(src)}}
	for _, name := range bake.OverrideFiles(bakePath) {
		if name == filepath.Clean(bakePath) || !m.hasFile(ctx, name) {
			continue
		}
		data, err := m.Source.File(name).Contents(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the bake override file %s: %v", name, err)
		}
		files = append(files, bake.SourceFile{Name: name, Data: []byte(data)})
	}
	// the pipeline's own variables apply where the bake file declares them (like environment
	// variables in buildx); every other name set must be declared
	vars, builtins := map[string]string{}, map[string]string{}
	var targetSets []string
	for _, kv := range set {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("bad --set %q: use NAME=VALUE for a variable or TARGET.KEY=VALUE for a target's attribute", kv)
		}
		if strings.Contains(k, ".") {
			targetSets = append(targetSets, kv) // bake's --set TARGET.KEY=VALUE
			continue
		}
		if plan.BuiltinVar(k) {
			builtins[k] = v
		} else {
			vars[k] = v
		}
	}
	return bake.ParseFiles(files, bake.Options{Vars: vars, Set: targetSets, Builder: engine, LookupEnv: func(name string) (string, bool) {
		v, ok := builtins[name]
		return v, ok
	}})
}

// builder turns bake targets into lazily built containers, sharing targets used as contexts.
type builder struct {
	m      *Shipyard
	byName map[string]*bake.Target
	mu     sync.Mutex
	built  map[string]*dagger.Container
}

func (b *builder) container(ctx context.Context, t *bake.Target, platform string) (*dagger.Container, error) {
	key := t.Name + "|" + platform
	b.mu.Lock()
	if c, ok := b.built[key]; ok {
		b.mu.Unlock()
		return c, nil
	}
	b.mu.Unlock()

	dir := b.m.Source.Directory(t.Context)
	dockerfile := t.Dockerfile
	if len(t.Contexts) > 0 || t.DockerfileInline != "" {
		var err error
		if dir, dockerfile, err = b.withContexts(ctx, t, dir, platform); err != nil {
			return nil, err
		}
	}
	var args []dagger.BuildArg
	keys := make([]string, 0, len(t.Args))
	for k := range t.Args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, dagger.BuildArg{Name: k, Value: t.Args[k]})
	}
	secrets, err := b.m.buildSecrets(ctx, t)
	if err != nil {
		return nil, err
	}
	ctr := dir.DockerBuild(dagger.DirectoryDockerBuildOpts{
		Dockerfile: dockerfile,
		Platform:   dagger.Platform(platform),
		BuildArgs:  args,
		Target:     t.Target,
		Secrets:    secrets,
	})
	labels := make([]string, 0, len(t.Labels))
	for k := range t.Labels {
		labels = append(labels, k)
	}
	sort.Strings(labels)
	for _, k := range labels {
		ctr = ctr.WithLabel(k, t.Labels[k])
	}
	anns, err := bake.ParseAnnotations(t.Annotations)
	if err != nil {
		return nil, fmt.Errorf("target %s: %v", t.Name, err)
	}
	manifest := bake.AnnotationsAt(anns, bake.AnnotationManifest, platform)
	for _, k := range slices.Sorted(maps.Keys(manifest)) {
		ctr = ctr.WithAnnotation(k, manifest[k])
	}
	b.mu.Lock()
	b.built[key] = ctr
	b.mu.Unlock()
	return ctr, nil
}

// withContexts emulates bake's named contexts (Dagger's dockerBuild has none), as
// remotebuild.NamedContexts lists them: target: and directory contexts are copied into the
// build context and the Dockerfile is rewritten to use them; docker-image:// contexts replace
// the image reference. The Dockerfile (a dockerfile-inline too) is written into the build
// context.
func (b *builder) withContexts(ctx context.Context, t *bake.Target, dir *dagger.Directory, platform string) (*dagger.Directory, string, error) {
	dirs, ctxs, err := remotebuild.NamedContexts(t)
	if err != nil {
		return nil, "", err
	}
	for _, d := range dirs {
		if d.Target == "" {
			dir = dir.WithDirectory(d.Path, b.m.Source.Directory(d.Repo))
			continue
		}
		dep := b.byName[d.Target]
		if dep == nil {
			return nil, "", fmt.Errorf("target %s: context %s refers to target:%s, which is not part of this build", t.Name, strings.TrimPrefix(d.Path, remotebuild.ContextsDir+"/"), d.Target)
		}
		depCtr, err := b.container(ctx, dep, platform)
		if err != nil {
			return nil, "", err
		}
		dir = dir.WithDirectory(d.Path, depCtr.Rootfs())
	}
	df, err := b.m.dockerfile(ctx, t)
	if err != nil {
		return nil, "", err
	}
	rewritten, err := dockerctx.Rewrite(df, ctxs)
	if err != nil {
		return nil, "", fmt.Errorf("target %s: %v", t.Name, err)
	}
	name := remotebuild.InlineDockerfile(t)
	return dir.WithNewFile(name, rewritten), name, nil
}

// dockerfile is the text of a target's Dockerfile: its dockerfile-inline, or the file in the
// source.
func (m *Shipyard) dockerfile(ctx context.Context, t *bake.Target) (string, error) {
	if t.DockerfileInline != "" {
		return t.DockerfileInline, nil
	}
	df, err := m.Source.Directory(t.Context).File(t.Dockerfile).Contents(ctx)
	if err != nil {
		return "", fmt.Errorf("target %s: reading %s/%s: %v", t.Name, t.Context, t.Dockerfile, err)
	}
	return df, nil
}

// entries turns the plan's builds into bake entries.
func (r *run) entries(builds []plan.Build) ([]bake.Entry, []*bake.Target) {
	byName := map[string]*bake.Target{}
	for _, t := range r.in.Targets {
		byName[t.Name] = t
	}
	out := make([]bake.Entry, 0, len(builds))
	for _, b := range builds {
		out = append(out, bake.Entry{Target: byName[b.Target], Platform: b.Platform})
	}
	return out, r.in.Targets
}

// build runs the build stage's builds this run owns (plan.BuildsHere): local and QEMU builds on
// this engine while the remote ARM builds run on the builder's engine, which this call sets up
// and always tears down; in the build job the ARM builds are the ARM builder job's. What the plan
// already routes here (amd64, and arm/v7 where the builder's instance type has no 32-bit mode)
// starts at once, without waiting for the builder.
func (r *run) build(ctx context.Context) error {
	if n := len(r.plan.BuildsElsewhere()); n > 0 {
		r.logf("build: the %d ARM build(s) routed to the EC2 builder are run by the %s job (arm-builder)", n, plan.JobARMBuilder)
	}
	remote := r.plan.BuildsHere(plan.Remote)
	local := append(r.plan.BuildsHere(plan.Local), r.plan.BuildsHere(plan.QEMU)...)
	var sess *armSession
	if len(remote) > 0 && r.dryRun {
		r.logf("dry run: the ARM builder would be set up for %d build(s) and torn down after", len(remote))
		remote = nil
	}
	if len(remote) > 0 {
		var err error
		if sess, err = r.m.armSession(ctx, r.ci); err != nil {
			return err // before anything is built
		}
		defer sess.close(ctx, r.logf)
	}
	g, gctx := errgroup.WithContext(ctx)
	if r.in.Attest && !r.dryRun {
		// the SBOM tool is built (once per engine cache) while the images build; a failure
		// shows when the SBOMs are made
		go func() { _, _ = sbomTool().Sync(ctx) }()
	}
	g.Go(func() error { return r.buildHere(gctx, local) })
	var after *plan.Plan // the routing after the builder was lost mid-build
	if len(remote) > 0 {
		g.Go(func() error {
			state, why, err := sess.setup(gctx, r.logf)
			if err != nil {
				return err
			}
			r.in.BuilderRuns32Bit = sess.runs32Bit()
			if state != plan.BuilderReady || r.in.BuilderRuns32Bit != nil {
				if err := r.replan(state, why); err != nil {
					return err
				}
			}
			more, onBuilder, already := plan.AfterSetup(local, r.plan.BuildsHere(plan.QEMU), r.plan.BuildsHere(plan.Remote))
			for _, b := range already {
				r.logf("build %s [%s]: under way here since the plan, not built again on the builder", b.Target, b.Platform)
			}
			gg, ggctx := errgroup.WithContext(gctx)
			gg.Go(func() error { return r.buildHere(ggctx, more) })
			if len(onBuilder) > 0 {
				gg.Go(func() error {
					var err error
					after, err = r.buildOnBuilder(ggctx, sess, onBuilder)
					return err
				})
			}
			return gg.Wait()
		})
	}
	err := g.Wait()
	if after != nil {
		r.plan = after
	}
	return err
}

// buildHere builds and pushes builds on the local engine (native or QEMU).
func (r *run) buildHere(ctx context.Context, builds []plan.Build) error {
	if len(builds) == 0 {
		return nil
	}
	started := time.Now()
	entries, targets := r.entries(builds)
	imgs, err := r.m.build(ctx, targets, entries, "local engine")
	if err != nil {
		return err
	}
	imgs.Created = r.created(ctx)
	if r.dryRun {
		for _, img := range imgs.Images {
			r.logf("dry run: built %s [%s], not pushed", img.Target, img.Platform)
		}
		return nil
	}
	at, err := r.attester(ctx, started)
	if err != nil {
		return err
	}
	_, err = imgs.publish(ctx, func(ctx context.Context, pb Published) error {
		r.logf("pushed %s [%s] %s@%s", pb.Target, pb.Platform, pb.Ref, pb.Digest)
		if at == nil {
			return nil
		}
		for _, b := range builds {
			if b.Target == pb.Target && b.Platform == pb.Platform {
				// attested now, while the other images still push
				digest := pb.Digest
				if b.Push != pb.Ref {
					digest = "" // pushed elsewhere than the plan says: read the plan's ref back
				}
				return at.attest(ctx, b, digest, time.Now())
			}
		}
		return fmt.Errorf("attest %s [%s]: pushed, but not in the plan's builds", pb.Target, pb.Platform)
	})
	return err
}

// buildSecrets are the secrets a target asks for, named by their bake id (the Dockerfile's
// RUN --mount=type=secret,id=ID); the plan already refused a run that lacks one.
func (m *Shipyard) buildSecrets(ctx context.Context, t *bake.Target) ([]*dagger.Secret, error) {
	var out []*dagger.Secret
	for _, s := range t.Secrets {
		for i, id := range m.BuildSecretIDs {
			if id != s.ID {
				continue
			}
			value, err := m.BuildSecrets[i].Plaintext(ctx)
			if err != nil {
				return nil, fmt.Errorf("target %s: reading the build secret %s: %v", t.Name, id, err)
			}
			out = append(out, dag.SetSecret(id, value))
		}
	}
	return out, nil
}
