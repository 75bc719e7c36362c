package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"shipyard/ci/internal/dagger"
	"shipyard/internal/bake"
	"shipyard/internal/naming"
	"shipyard/internal/registry"
)

// Merged is one multi-platform index pushed to the build registry.
type Merged struct {
	Target    string
	Ref       string
	Digest    string
	Platforms []string
}

// Manifests: merge the per-platform images of every bake target into one multi-arch index per tag
func (m *Shipyard) Manifests(
	ctx context.Context,
	// Bake targets or groups (default: the bake file's default group)
	// +optional
	target []string,
	// Platforms that were built (default linux/amd64, narrowed to what each target supports)
	// +optional
	platform []string,
	// Bake variable overrides, as NAME=VALUE (e.g. TAG=1.2.3)
	// +optional
	set []string,
	// Registry user
	// +optional
	username string,
	// Registry password or token
	// +optional
	password *dagger.Secret,
	// Per-platform tag form the build used
	// +default="{tag}-{arch}"
	platformTag string,
	// Commit the images were built from (index annotation)
	// +optional
	revision string,
	// Tunnels to registries on the engine host's loopback, e.g. tcp://localhost:5000
	// +optional
	registryTunnel []*dagger.Service,
) (string, error) {
	merged, err := m.manifests(ctx, target, platform, set, username, password, platformTag, revision, registryTunnel)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, mg := range merged {
		fmt.Fprintf(&b, "%s %s@%s (%s)\n", mg.Target, mg.Ref, mg.Digest, strings.Join(mg.Platforms, ", "))
	}
	return b.String(), nil
}

func (m *Shipyard) manifests(ctx context.Context, names, platforms, set []string, username string, password *dagger.Secret,
	platformTag, revision string, tunnels []*dagger.Service) ([]Merged, error) {
	targets, err := m.resolve(ctx, names, set)
	if err != nil {
		return nil, err
	}
	matrix, err := bake.Matrix(targets, platforms)
	if err != nil {
		return nil, err
	}
	vars, err := m.bakeVariables(ctx, set)
	if err != nil {
		return nil, err
	}
	var creds []registryCreds
	var out []Merged
	byTarget := map[string][]bake.Entry{}
	var order []string
	for _, e := range matrix {
		if _, ok := byTarget[e.Target.Name]; !ok {
			order = append(order, e.Target.Name)
		}
		byTarget[e.Target.Name] = append(byTarget[e.Target.Name], e)
		if len(e.Target.Tags) > 0 {
			creds = append(creds, registryCreds{host: naming.Host(e.Target.Tags[0]), user: username, password: password})
		}
	}
	client, err := registryClient(ctx, creds, tunnels)
	if err != nil {
		return nil, err
	}
	for _, name := range order {
		entries := byTarget[name]
		t := entries[0].Target
		if len(t.Tags) == 0 {
			return nil, fmt.Errorf("target %s has no tags in the bake file: add tags = [\"REGISTRY/NAME:TAG\"]", name)
		}
		repo, tag := naming.SplitTag(t.Tags[0])
		ctx, span := Tracer().Start(ctx, "merge "+name)
		var srcs, plats []string
		for _, e := range entries {
			ref := repo + ":" + naming.PlatformTag(platformTag, tag, e.Platform)
			digest, err := client.Digest(ctx, ref)
			if err != nil {
				span.End()
				return nil, fmt.Errorf("manifests %s: %v", name, missingOr(err, fmt.Sprintf("the %s image %s is missing (run the build stage first)", e.Platform, ref)))
			}
			srcs = append(srcs, repo+"@"+digest)
			plats = append(plats, e.Platform)
		}
		ann := map[string]string{
			registry.AnnotationVersion: tag,
			registry.AnnotationCreated: time.Now().UTC().Format(time.RFC3339),
		}
		if revision != "" {
			ann[registry.AnnotationRevision] = revision
		}
		if src := vars["SOURCE_URL"]; src != "" {
			ann[registry.AnnotationSource] = src
		}
		for _, full := range t.Tags {
			digest, err := client.MergeIndex(ctx, full, srcs, ann)
			if err != nil {
				span.End()
				return nil, fmt.Errorf("manifests %s: merging into %s: %v", name, full, err)
			}
			out = append(out, Merged{Target: name, Ref: full, Digest: digest, Platforms: plats})
		}
		span.End()
	}
	return out, nil
}

// missingOr says what to do when an image is really missing; any other registry failure
// (unreachable, credentials refused) is returned as it is, so nobody rebuilds for nothing.
func missingOr(err error, missing string) error {
	if errors.Is(err, registry.ErrNotFound) {
		return fmt.Errorf("%s: %v", missing, err)
	}
	return err
}

// bakeVariables are the bake file's variables after overrides.
func (m *Shipyard) bakeVariables(ctx context.Context, set []string) (map[string]string, error) {
	f, err := m.bakeFile(ctx, set)
	if err != nil {
		return nil, err
	}
	return f.Variables, nil
}
