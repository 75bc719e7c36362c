package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"shipyard/ci/internal/dagger"
	"shipyard/internal/bake"
	"shipyard/internal/dockerctx"
)

// Images is the result of a build: one container per bake target and platform.
type Images struct {
	// The images built, one per target and platform
	Images []*Image
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
func (m *Shipyard) Build(
	ctx context.Context,
	// Bake targets or groups to build (default: the bake file's default group)
	// +optional
	target []string,
	// Platforms to build (default linux/amd64); a target that declares platforms is built only for those it supports
	// +optional
	platform []string,
	// Bake variable overrides, as NAME=VALUE (e.g. TAG=1.2.3)
	// +optional
	set []string,
) (*Images, error) {
	targets, err := m.resolve(ctx, target, set)
	if err != nil {
		return nil, err
	}
	return m.build(ctx, targets, platform)
}

// build builds the matrix in parallel, each target × platform in its own span.
func (m *Shipyard) build(ctx context.Context, targets []*bake.Target, platform []string) (*Images, error) {
	plan, err := bake.Matrix(targets, platform)
	if err != nil {
		return nil, err
	}
	b := &builder{m: m, byName: map[string]*bake.Target{}, built: map[string]*dagger.Container{}}
	for _, t := range targets {
		b.byName[t.Name] = t
	}
	imgs := make([]*Image, len(plan))
	g, gctx := errgroup.WithContext(ctx)
	for i, p := range plan {
		g.Go(func() error {
			ctx, span := Tracer().Start(gctx, fmt.Sprintf("build %s [%s]", p.Target.Name, p.Platform))
			defer span.End()
			ctr, err := b.container(ctx, p.Target, p.Platform)
			if err != nil {
				return err
			}
			if ctr, err = ctr.Sync(ctx); err != nil {
				return fmt.Errorf("build %s [%s]: %s", p.Target.Name, p.Platform, execOutput(err))
			}
			imgs[i] = &Image{Target: p.Target.Name, Platform: p.Platform, Tags: p.Target.Tags, Container: ctr}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return &Images{Images: imgs}, nil
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

// resolve reads the bake file and returns the requested targets.
func (m *Shipyard) resolve(ctx context.Context, names, set []string) ([]*bake.Target, error) {
	f, err := m.bakeFile(ctx, set)
	if err != nil {
		return nil, err
	}
	return f.Resolve(names...)
}

// bakeFile reads and evaluates the bake file with NAME=VALUE overrides.
func (m *Shipyard) bakeFile(ctx context.Context, set []string) (*bake.File, error) {
	src, err := m.Source.File(m.BakeFile).Contents(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the bake file %s: %v (pass --bake-file with its path inside --source)", m.BakeFile, err)
	}
	vars := map[string]string{}
	for _, kv := range set {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("bad --set %q: use NAME=VALUE", kv)
		}
		vars[k] = v
	}
	return bake.Parse(m.BakeFile, []byte(src), bake.Options{Vars: vars})
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
	if len(t.Contexts) > 0 {
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
	ctr := dir.DockerBuild(dagger.DirectoryDockerBuildOpts{
		Dockerfile: dockerfile,
		Platform:   dagger.Platform(platform),
		BuildArgs:  args,
		Target:     t.Target,
	})
	labels := make([]string, 0, len(t.Labels))
	for k := range t.Labels {
		labels = append(labels, k)
	}
	sort.Strings(labels)
	for _, k := range labels {
		ctr = ctr.WithLabel(k, t.Labels[k])
	}
	b.mu.Lock()
	b.built[key] = ctr
	b.mu.Unlock()
	return ctr, nil
}

// contextsDir is where named contexts are put inside a build context.
const contextsDir = ".shipyard-contexts"

// withContexts emulates bake's named contexts (Dagger's dockerBuild has none): target: and
// directory contexts are copied into the build context and the Dockerfile is rewritten to use
// them; docker-image:// contexts replace the image reference.
func (b *builder) withContexts(ctx context.Context, t *bake.Target, dir *dagger.Directory, platform string) (*dagger.Directory, string, error) {
	var ctxs []dockerctx.Context
	names := make([]string, 0, len(t.Contexts))
	for n := range t.Contexts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		val := t.Contexts[name]
		path := contextsDir + "/" + name
		switch {
		case strings.HasPrefix(val, "target:"):
			dep := b.byName[strings.TrimPrefix(val, "target:")]
			if dep == nil {
				return nil, "", fmt.Errorf("target %s: context %s refers to %s, which is not part of this build", t.Name, name, val)
			}
			depCtr, err := b.container(ctx, dep, platform)
			if err != nil {
				return nil, "", err
			}
			dir = dir.WithDirectory(path, depCtr.Rootfs())
			ctxs = append(ctxs, dockerctx.Context{Name: name, Kind: dockerctx.Dir, Path: path})
		case strings.HasPrefix(val, "docker-image://"):
			ctxs = append(ctxs, dockerctx.Context{Name: name, Kind: dockerctx.Image, Image: strings.TrimPrefix(val, "docker-image://")})
		case strings.Contains(val, "://"):
			return nil, "", fmt.Errorf("target %s: context %s = %q: only target:, docker-image:// and local paths are supported", t.Name, name, val)
		default:
			// like context, a local named context is relative to the repository root
			dir = dir.WithDirectory(path, b.m.Source.Directory(strings.TrimPrefix(val, "./")))
			ctxs = append(ctxs, dockerctx.Context{Name: name, Kind: dockerctx.Dir, Path: path})
		}
	}
	df, err := dir.File(t.Dockerfile).Contents(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("target %s: reading %s/%s: %v", t.Name, t.Context, t.Dockerfile, err)
	}
	rewritten, err := dockerctx.Rewrite(df, ctxs)
	if err != nil {
		return nil, "", fmt.Errorf("target %s: %v", t.Name, err)
	}
	name := contextsDir + "/Dockerfile." + t.Name
	return dir.WithNewFile(name, rewritten), name, nil
}
