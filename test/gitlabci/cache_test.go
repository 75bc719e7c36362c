//go:build full

package gitlabci_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"shipyard/internal/testenv"
)

// cacheRegistry starts a registry that requires the login user/password and returns the
// repository of it SHIPYARD_CACHE_REF names.
func cacheRegistry(t *testing.T, user, password string) string {
	t.Helper()
	return testenv.StartRegistry(t, testenv.FreeRegistryPort(t, 5004), testenv.Htpasswd(t, user, password)) + "/group/app/dagger-cache"
}

// wantCacheExported checks that the job run pushed the cache of its call to cacheRepo as tag,
// logged in as user (the registry refuses anonymous reads), and that its log holds no password.
func wantCacheExported(t *testing.T, run jobRun, cacheRepo, tag, user, password string) {
	t.Helper()
	if strings.Contains(run.log, password) {
		t.Errorf("the job's log holds the registry password")
	}
	repo, err := name.NewRepository(cacheRepo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.List(repo); err == nil {
		t.Errorf("the cache registry answers without a login: the test proves nothing about the job's credentials")
	}
	login := remote.WithAuth(&authn.Basic{Username: user, Password: password})
	tags, err := remote.List(repo, login)
	if err != nil {
		t.Fatalf("listing the cache repository %s: %v\n%s", cacheRepo, err, tail(run.log, 30))
	}
	if !slices.Contains(tags, tag) {
		t.Fatalf("the job exported no cache as %s:%s (tags: %v)\n%s", cacheRepo, tag, tags, tail(run.log, 30))
	}
	idx, err := remote.Index(repo.Tag(tag), login)
	if err != nil {
		t.Fatalf("reading the exported cache: %v", err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) < 2 {
		t.Errorf("the exported cache lists %d blobs, want the layers of the call and its cache config", len(m.Manifests))
	}
}
