package registry_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"shipyard/internal/imgconfig"
	"shipyard/internal/registry"
	"shipyard/internal/registry/registrytest"
)

// engineBuilt is img as an engine pushes it at when: created and one exporter-written history
// entry per layer stamped with that engine's time, created_by as that engine's cache had it.
func engineBuilt(t *testing.T, img v1.Image, when time.Time, by string) v1.Image {
	t.Helper()
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.Created = v1.Time{Time: when}
	cfg.History = nil
	for i := range cfg.RootFS.DiffIDs {
		cfg.History = append(cfg.History, v1.History{Created: v1.Time{Time: when.Add(time.Duration(i) * time.Millisecond)},
			CreatedBy: by, Comment: imgconfig.ExporterComment})
	}
	out, err := mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRewriteConfigGivesARetryTheFirstRunsDigest(t *testing.T) {
	ctx := context.Background()
	s := registrytest.Start(t, "", "")
	c := newClient()
	base := registrytest.Image(t, "linux/amd64")
	tag := s.Host + "/build/traefik:1.4.0-amd64"
	commit := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	fix := func(b []byte) ([]byte, error) { return imgconfig.Normalize(b, commit) }

	var digests []string
	for i, by := range []string{"[2/2] COPY traefik.yml /etc/traefik/", "imported sha256:8e98"} {
		img := engineBuilt(t, base, time.Date(2026, 12, 6, 6, 55+i*6, 0, 0, time.UTC), by)
		pushed := s.PushImage(t, s.Host+"/build/traefik", img)
		d, _ := img.Digest()
		s.Put(t, tag, mustRaw(t, img), mustMediaType(t, img))
		got, err := c.RewriteConfig(ctx, tag, d.String(), fix)
		if err != nil {
			t.Fatal(err)
		}
		if got == d.String() {
			t.Fatalf("run %d: the engine's config was kept (%s)", i, pushed)
		}
		if held := digestAt(t, c, tag); held != got {
			t.Errorf("run %d: %s holds %s, RewriteConfig said %s", i, tag, held, got)
		}
		digests = append(digests, got)
	}
	if digests[0] != digests[1] {
		t.Errorf("the two runs' images got %s and %s, want one digest", digests[0], digests[1])
	}

	// what the tag holds is a valid image with the base's layers and the commit's time
	ref := mustParse(t, tag)
	img, err := remote.Image(ref, remote.WithTransport(c.Transport()))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Errorf("the rewritten image is not valid: %v", err)
	}
	wantLayers, _ := base.Layers()
	gotLayers, _ := img.Layers()
	if len(gotLayers) != len(wantLayers) {
		t.Fatalf("%d layers, want %d", len(gotLayers), len(wantLayers))
	}
	for i := range wantLayers {
		w, _ := wantLayers[i].Digest()
		g, _ := gotLayers[i].Digest()
		if w != g {
			t.Errorf("layer %d is %s, want %s", i, g, w)
		}
	}
	cfg, _ := img.ConfigFile()
	if !cfg.Created.Time.Equal(commit) {
		t.Errorf("created is %s, want the commit's time %s", cfg.Created.Time, commit)
	}

	// a config already normalized is left alone: nothing written
	writes := s.Writes()
	again, err := c.RewriteConfig(ctx, tag, digests[1], fix)
	if err != nil || again != digests[1] {
		t.Errorf("RewriteConfig of a normalized image = %s, %v; want %s unchanged", again, err, digests[1])
	}
	if w := s.Writes() - writes; w != 0 {
		t.Errorf("RewriteConfig of a normalized image wrote %d times", w)
	}
}

func TestRewriteConfigRefusesAnIndex(t *testing.T) {
	s := registrytest.Start(t, "", "")
	srcs, _, _ := sources(t, s, "app")
	_, digest, _ := strings.Cut(srcs[1], "@")
	_, err := newClient().RewriteConfig(context.Background(), s.Host+"/build/app-arm64:run-1", digest,
		func(b []byte) ([]byte, error) { return b, nil })
	if err == nil || !strings.Contains(err.Error(), "is an index") {
		t.Errorf("RewriteConfig of an index = %v, want it refused, naming the index", err)
	}
}

func digestAt(t *testing.T, c *registry.Client, ref string) string {
	t.Helper()
	d, err := c.Digest(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustRaw(t *testing.T, img v1.Image) []byte {
	t.Helper()
	b, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustMediaType(t *testing.T, img v1.Image) types.MediaType {
	t.Helper()
	mt, err := img.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	return mt
}

func mustParse(t *testing.T, ref string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
