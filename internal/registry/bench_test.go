package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"shipyard/internal/registry"
	"shipyard/internal/registry/registrytest"
)

// versionedRepo fills repo with n version tags 1.0.0 … 1.0.<n-1>, each an
// index over the same platform image made distinct by an annotation (the
// version annotation when annotate is true, a revision otherwise), and
// points latest at the one in the middle. It returns latest's version.
func versionedRepo(b *testing.B, s *registrytest.Server, repo string, n int, annotate bool) string {
	b.Helper()
	img := registrytest.Image(b, "linux/amd64")
	s.PushImage(b, repo, img)
	desc, err := partial.Descriptor(img)
	if err != nil {
		b.Fatal(err)
	}
	desc.Platform = &v1.Platform{OS: "linux", Architecture: "amd64"}
	latest := fmt.Sprintf("1.0.%d", n/2)
	for i := range n {
		v := fmt.Sprintf("1.0.%d", i)
		key := registry.AnnotationRevision
		if annotate {
			key = registry.AnnotationVersion
		}
		raw, err := json.Marshal(v1.IndexManifest{
			SchemaVersion: 2,
			MediaType:     types.OCIImageIndex,
			Manifests:     []v1.Descriptor{*desc},
			Annotations:   map[string]string{key: v},
		})
		if err != nil {
			b.Fatal(err)
		}
		s.Put(b, repo+":"+v, raw, types.OCIImageIndex)
		if v == latest {
			s.Put(b, repo+":latest", raw, types.OCIImageIndex)
		}
	}
	return latest
}

// BenchmarkVersionBehind compares the annotation path (constant cost) with
// the tag scan (one HEAD per version tag) at growing numbers of versions.
func BenchmarkVersionBehind(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		for _, method := range []string{registry.MethodAnnotation, registry.MethodScan} {
			b.Run(fmt.Sprintf("tags=%d/%s", n, method), func(b *testing.B) {
				s := registrytest.Start(b, "", "")
				repo := s.Host + "/app/django"
				want := versionedRepo(b, s, repo, n, method == registry.MethodAnnotation)
				c := newClient(registry.WithConcurrency(8))
				ctx := context.Background()
				if _, err := c.Digest(ctx, repo+":latest"); err != nil { // authenticate once
					b.Fatal(err)
				}
				requests := 0
				for b.Loop() {
					got, err := c.VersionBehind(ctx, repo, "latest")
					if err != nil {
						b.Fatal(err)
					}
					if got.Version != want || got.Method != method {
						b.Fatalf("VersionBehind = %+v, want %s by %s", got, want, method)
					}
					requests += got.Requests
				}
				b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
			})
		}
	}
}
