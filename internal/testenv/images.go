package testenv

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"shipyard/internal/registry"
)

// HostRegistry is a registry client for the test process itself (it sees the host's loopback).
func HostRegistry() *registry.Client {
	return registry.New(registry.WithInsecure("127.0.0.1:*"), registry.WithRetry(1, 100*time.Millisecond))
}

func MustDigest(t *testing.T, ref string) string {
	t.Helper()
	d, err := HostRegistry().Digest(context.Background(), ref)
	if err != nil {
		t.Fatalf("digest of %s: %v", ref, err)
	}
	return d
}

// A repository with both tag kinds, so the release reads tag types from git like a real checkout.
func TagRepo(t *testing.T, annotated, lightweight []string) string {
	t.Helper()
	dir := t.TempDir()
	run := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	run("init", "-q")
	run("commit", "-q", "--allow-empty", "-m", "init")
	for _, a := range annotated {
		run("tag", "-a", a, "-m", "release "+a)
	}
	for _, l := range lightweight {
		run("tag", l)
	}
	return dir
}

// Index reads an index over plain HTTP: its manifest and its digest.
func Index(t *testing.T, ref string) (*v1.IndexManifest, string) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatalf("reading index %s: %v", ref, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	digest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return m, digest.String()
}

// EntryPlatform is an index entry's platform as os/arch[/variant], "" for an entry without one
// (an attestation's).
func EntryPlatform(d v1.Descriptor) string {
	if d.Platform == nil || d.Platform.OS == "unknown" {
		return ""
	}
	p := d.Platform.OS + "/" + d.Platform.Architecture
	if d.Platform.Variant != "" {
		p += "/" + d.Platform.Variant
	}
	return p
}

// IndexPlatforms reads an index and returns platform -> manifest digest.
func IndexPlatforms(t *testing.T, ref string) map[string]string {
	t.Helper()
	m, _ := Index(t, ref)
	out := map[string]string{}
	for _, d := range m.Manifests {
		if p := EntryPlatform(d); p != "" {
			out[p] = d.Digest.String()
		}
	}
	return out
}
