//go:build full

package reliability

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"shipyard/internal/registry/registrytest"
)

// defaultTargets are the images of the bake file's default group.
var defaultTargets = []string{"postgres", "traefik", "watchtower", "django"}

// remoteOpts are go-containerregistry options for a test registry, with basic auth when user is set.
func remoteOpts(user, password string) []remote.Option {
	opts := []remote.Option{remote.WithContext(context.Background())}
	if user != "" {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: user, Password: password}))
	}
	return opts
}

// snapshot lists every tag of every repository under prefix (a "path/" inside the registry at
// host), as "repo:tag" sorted, read with go-containerregistry.
func snapshot(t *testing.T, host, prefix string, opts ...remote.Option) []string {
	t.Helper()
	reg, err := name.NewRegistry(host, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	repos, err := remote.Catalog(context.Background(), reg, opts...)
	if err != nil {
		t.Fatalf("listing the repositories of %s: %v", host, err)
	}
	got := []string{}
	for _, r := range repos {
		if !strings.HasPrefix(r, prefix) {
			continue
		}
		repo, err := name.NewRepository(host+"/"+r, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		tags, err := remote.List(repo, opts...)
		if err != nil {
			t.Fatalf("listing the tags of %s: %v", repo, err)
		}
		for _, tag := range tags {
			got = append(got, r+":"+tag)
		}
	}
	sort.Strings(got)
	return got
}

// headDigest is the digest behind ref, read over plain HTTP; "" when the registry has none.
func headDigest(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r, remote.WithContext(context.Background()))
	if err != nil {
		return ""
	}
	return d.Digest.String()
}

// seedMerged pushes what the manifests stage leaves for version: one small single-platform
// index per default target at prefix/<target>:<version>, so the release stage has sources.
func seedMerged(t *testing.T, prefix, version string, opts ...remote.Option) {
	t.Helper()
	seedMergedFrom(t, prefix, version, "", opts...)
}

// seedMergedFrom is seedMerged with the indexes annotated as merged from commit revision ("":
// no revision annotation).
func seedMergedFrom(t *testing.T, prefix, version, revision string, opts ...remote.Option) {
	t.Helper()
	ann := map[string]string{"org.opencontainers.image.version": version}
	if revision != "" {
		ann["org.opencontainers.image.revision"] = revision
	}
	for _, target := range defaultTargets {
		ref, err := name.ParseReference(prefix+"/"+target+":"+version, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		img := registrytest.Image(t, "linux/amd64")
		idx := registrytest.Index(ann, registrytest.PlatformEntry(t, img))
		if err := remote.WriteIndex(ref, idx, opts...); err != nil {
			t.Fatalf("seeding %s: %v", ref, err)
		}
	}
}

// seedPlatformImages pushes what the build stage leaves for tag: one small linux/amd64 image per
// target at prefix/<target>:<tag>-amd64.
func seedPlatformImages(t *testing.T, prefix, tag string, targets []string, opts ...remote.Option) {
	t.Helper()
	for _, target := range targets {
		ref, err := name.ParseReference(prefix+"/"+target+":"+tag+"-amd64", name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, registrytest.Image(t, "linux/amd64"), opts...); err != nil {
			t.Fatalf("seeding %s: %v", ref, err)
		}
	}
}
