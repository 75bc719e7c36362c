package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func labelled(t *testing.T, hash string) v1.Image {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Labels = map[string]string{recipeLabel: hash}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// upToDate reads the recipe label of a one-platform image (pushed as a manifest) and of a
// multi-platform one (an index); anything else is out of date.
func TestUpToDate(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	m := &mirror{registry: host}

	one := m.ref("golang:1.26-bookworm")
	ref, _ := name.ParseReference(one, name.Insecure)
	if err := remote.Write(ref, labelled(t, "aaaa")); err != nil {
		t.Fatal(err)
	}
	multi := m.ref("traefik:v3.1")
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: labelled(t, "bbbb"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: labelled(t, "bbbb"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	ref, _ = name.ParseReference(multi, name.Insecure)
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		ref, hash string
		want      bool
	}{
		{one, "aaaa", true},
		{one, "other", false},
		{multi, "bbbb", true},
		{multi, "other", false},
		{m.ref("postgres:15-bookworm"), "aaaa", false},
	} {
		if got := m.upToDate(c.ref, c.hash); got != c.want {
			t.Errorf("upToDate(%s, %s) = %v, want %v", c.ref, c.hash, got, c.want)
		}
	}
}

// A recipe's hash follows its files' contents, not where the repository is checked out.
func TestRecipeHash(t *testing.T) {
	mk := func(content string) *mirror {
		root := t.TempDir()
		dir := filepath.Join(root, "hack/mirror/standins/x")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return &mirror{root: root}
	}
	img := image{Name: "x:1", Platforms: []string{"linux/amd64"}, StandIn: "x", Dir: "x"}
	hash := func(m *mirror) string {
		h, err := m.recipeHash(img)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	a, b, c := hash(mk("FROM debian\n")), hash(mk("FROM debian\n")), hash(mk("FROM debian\nRUN true\n"))
	if a != b {
		t.Errorf("the same recipe in two checkouts hashes %s and %s", a, b)
	}
	if a == c {
		t.Errorf("a changed recipe kept its hash %s", a)
	}
	withHost := img
	withHost.HostFiles = []string{filepath.Join(t.TempDir(), "VERSION")}
	if err := os.WriteFile(withHost.HostFiles[0], []byte("go1.26.0"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := mk("FROM debian\n")
	h1, _ := m.recipeHash(withHost)
	if err := os.WriteFile(withHost.HostFiles[0], []byte("go1.26.1"), 0o644); err != nil {
		t.Fatal(err)
	}
	h2, _ := m.recipeHash(withHost)
	if h1 == h2 || h1 == a {
		t.Errorf("a new host file did not change the hash: %s, %s (without it %s)", h1, h2, a)
	}
}

func TestSDKUpToDate(t *testing.T) {
	out := filepath.Join(t.TempDir(), "image.tar")
	if sdkUpToDate(out, "h1") {
		t.Error("up to date without a tarball")
	}
	for p, s := range map[string]string{out: "x", out + ".digest": "sha256:ab\n", out + ".recipe": "h1\n"} {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !sdkUpToDate(out, "h1") {
		t.Error("not up to date with the same recipe")
	}
	if sdkUpToDate(out, "h2") {
		t.Error("up to date with another recipe")
	}
}

type entry struct {
	name string
	body []byte
}

// ociTar writes an OCI tarball like the engine's: one image, its config with the given time.
func ociTar(t *testing.T, path string, created time.Time, mtime time.Time, reverse bool) {
	t.Helper()
	layer := bytes.Repeat([]byte("layer"), smallBlob/4) // big enough to go through the temp dir
	ld := digestOf(layer)
	ts := created.Format(time.RFC3339Nano)
	config := []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","config":{"Env":["A=1"]},"created":%q,`+
		`"history":[{"created":%q,"created_by":"a && b"}],"rootfs":{"type":"layers","diff_ids":["sha256:00"]}}`, ts, ts))
	manifest := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},`+
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":%q,"size":%d}]}`,
		digestOf(config), len(config), ld, len(layer)))
	index := []byte(fmt.Sprintf(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"digest":%q,"size":%d,"annotations":{"org.opencontainers.image.created":%q},"platform":{"architecture":"amd64","os":"linux"}}]}`,
		digestOf(manifest), len(manifest), ts))
	entries := []entry{
		{"oci-layout", []byte(`{"imageLayoutVersion": "1.0.0"}`)},
		{"index.json", index},
		{"manifest.json", []byte(`[{"Config":"x"}]`)},
		{"blobs/sha256/" + strings.TrimPrefix(ld, "sha256:"), layer},
		{"blobs/sha256/" + strings.TrimPrefix(digestOf(config), "sha256:"), config},
		{"blobs/sha256/" + strings.TrimPrefix(digestOf(manifest), "sha256:"), manifest},
	}
	if reverse {
		for i, j := 0, len(entries)-1; i < j; i, j = i+1, j-1 {
			entries[i], entries[j] = entries[j], entries[i]
		}
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Size: int64(len(e.body)), Mode: 0o600, ModTime: mtime, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(e.body)
	}
	tw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Two exports of the same image made at different times (config and history times, the index's
// created annotation, tar entry order and times) normalise to the same tarball.
func TestNormaliseOCI(t *testing.T) {
	dir := t.TempDir()
	epoch := time.Unix(sdkEpoch, 0).UTC()
	a, b := filepath.Join(dir, "a.tar"), filepath.Join(dir, "b.tar")
	ociTar(t, a, time.Date(2026, 12, 1, 21, 4, 2, 288448687, time.UTC), time.Now(), false)
	ociTar(t, b, time.Date(2026, 12, 2, 9, 0, 0, 1, time.UTC), time.Now().Add(time.Hour), true)
	da, err := normaliseOCI(a, a+".out", epoch)
	if err != nil {
		t.Fatal(err)
	}
	db, err := normaliseOCI(b, b+".out", epoch)
	if err != nil {
		t.Fatal(err)
	}
	if da != db {
		t.Errorf("manifest digests differ: %s, %s", da, db)
	}
	oa, _ := os.ReadFile(a + ".out")
	ob, _ := os.ReadFile(b + ".out")
	if !bytes.Equal(oa, ob) {
		t.Error("the normalised tarballs differ")
	}

	// what the tarball holds: oci-layout, index.json naming the manifest, the blobs; times at epoch
	tr := tar.NewReader(bytes.NewReader(oa))
	files := map[string][]byte{}
	var names []string
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		if !hdr.ModTime.Equal(epoch) || hdr.Uid != 0 {
			t.Errorf("%s: time %v owner %d", hdr.Name, hdr.ModTime, hdr.Uid)
		}
		var body bytes.Buffer
		body.ReadFrom(tr)
		files[hdr.Name] = body.Bytes()
		names = append(names, hdr.Name)
	}
	if names[0] != "oci-layout" || names[1] != "index.json" || len(names) != 7 {
		t.Errorf("entries %v, want oci-layout, index.json, blobs/, blobs/sha256/ and three blobs", names)
	}
	var idx struct {
		Manifests []struct {
			Digest      string
			Annotations map[string]string
		}
	}
	json.Unmarshal(files["index.json"], &idx)
	if len(idx.Manifests) != 1 || idx.Manifests[0].Digest != da || idx.Manifests[0].Annotations["org.opencontainers.image.created"] != "2026-01-01T00:00:00Z" {
		t.Errorf("index.json: %s", files["index.json"])
	}
	var mf struct{ Config struct{ Digest string } }
	json.Unmarshal(files["blobs/sha256/"+strings.TrimPrefix(da, "sha256:")], &mf)
	var cf struct {
		Created time.Time
		History []struct{ Created time.Time }
		Config  struct{ Env []string }
	}
	json.Unmarshal(files["blobs/sha256/"+strings.TrimPrefix(mf.Config.Digest, "sha256:")], &cf)
	if !cf.Created.Equal(epoch) || len(cf.History) != 1 || !cf.History[0].Created.Equal(epoch) || len(cf.Config.Env) != 1 {
		t.Errorf("config: %+v", cf)
	}

	// a blob whose content does not match its name is an error, not a silent copy
	raw, _ := os.ReadFile(a)
	bad := bytes.Replace(raw, []byte("layerlayer"), []byte("LAYERlayer"), 1)
	os.WriteFile(a, bad, 0o644)
	if _, err := normaliseOCI(a, a+".bad", epoch); err == nil || !strings.Contains(err.Error(), "digest") {
		t.Errorf("a corrupt layer: err %v, want a digest mismatch", err)
	}
}
