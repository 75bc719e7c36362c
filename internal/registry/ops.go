package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
)

// Digest returns the digest of the manifest or index behind ref (one HEAD
// request, index media types accepted, so a multi-platform tag yields the
// index digest).
func (c *Client) Digest(ctx context.Context, ref string) (string, error) {
	r, err := c.parseRef(ref)
	if err != nil {
		return "", err
	}
	var digest string
	err = c.op(ctx, "reading the digest of "+ref, func(ctx context.Context) error {
		d, err := c.head(ctx, r)
		digest = d
		return err
	})
	return digest, err
}

// Annotations returns the digest of the manifest or index behind ref and its annotations (nil
// when it has none), read with one GET.
func (c *Client) Annotations(ctx context.Context, ref string) (string, map[string]string, error) {
	r, err := c.parseRef(ref)
	if err != nil {
		return "", nil, err
	}
	puller, _, err := c.remote()
	if err != nil {
		return "", nil, err
	}
	var digest string
	var m struct {
		Annotations map[string]string `json:"annotations"`
	}
	err = c.op(ctx, "reading the annotations of "+ref, func(ctx context.Context) error {
		desc, err := puller.Get(ctx, r)
		if err != nil {
			return err
		}
		digest = desc.Digest.String()
		if err := json.Unmarshal(desc.Manifest, &m); err != nil {
			return fmt.Errorf("%s is not a manifest or index: %v", ref, err)
		}
		return nil
	})
	return digest, m.Annotations, err
}

// head returns the digest of r without retries or description.
func (c *Client) head(ctx context.Context, r name.Reference) (string, error) {
	puller, _, err := c.remote()
	if err != nil {
		return "", err
	}
	// The puller's HEAD accepts OCI indexes and Docker manifest lists besides
	// image manifests, so a registry answers with the index itself rather
	// than picking a platform manifest for us.
	desc, err := puller.Head(ctx, r)
	if err != nil {
		return "", err
	}
	return desc.Digest.String(), nil
}

// Copy copies the manifest or index behind src, with all its child manifests
// and blobs, to dst (a tag or a digest), possibly on another registry with
// other credentials. The digest is preserved and verified by reading dst
// back; copying the same thing again only costs existence checks.
func (c *Client) Copy(ctx context.Context, src, dst string) (string, error) {
	what := fmt.Sprintf("copying %s to %s", src, dst)
	srcRef, err := c.parseRef(src)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	dstRef, err := c.parseRef(dst)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	puller, pusher, err := c.remote()
	if err != nil {
		return "", err
	}
	var digest string
	err = c.op(ctx, what, func(ctx context.Context) error {
		desc, err := puller.Get(ctx, srcRef)
		if err != nil {
			return err
		}
		want := desc.Digest.String()
		if d, ok := dstRef.(name.Digest); ok && d.DigestStr() != want {
			return fmt.Errorf("%w: the destination asks for %s but the source is %s (copy to a tag or to the source's digest)", ErrDigestMismatch, d.DigestStr(), want)
		}
		if err := pusher.Push(ctx, dstRef, desc); err != nil {
			return err
		}
		got, err := c.head(ctx, dstRef)
		if err != nil {
			return fmt.Errorf("verifying the copy: %w", err)
		}
		if got != want {
			return fmt.Errorf("%w: the destination holds %s after the copy but the source is %s (the registry rewrote the manifest, or another release wrote the same tag meanwhile)", ErrDigestMismatch, got, want)
		}
		digest = want
		return nil
	})
	return digest, err
}

// Tag points tag, in src's repository, at the exact manifest bytes behind src
// (a tag or a digest).
func (c *Client) Tag(ctx context.Context, src string, tag string) error {
	what := fmt.Sprintf("tagging %s as %q", src, tag)
	srcRef, err := c.parseRef(src)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	dst, err := c.parseTag(srcRef.Context().String() + ":" + tag)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	puller, pusher, err := c.remote()
	if err != nil {
		return err
	}
	return c.op(ctx, what, func(ctx context.Context) error {
		desc, err := puller.Get(ctx, srcRef)
		if err != nil {
			return err
		}
		return pusher.Put(ctx, dst, desc)
	})
}

// Annotation keys of the OCI image spec that MergeIndex callers set.
const (
	AnnotationVersion  = ocispec.AnnotationVersion
	AnnotationRevision = ocispec.AnnotationRevision
	AnnotationCreated  = ocispec.AnnotationCreated
	AnnotationSource   = ocispec.AnnotationSource
)

// referenceTypeAnnotation marks BuildKit attestation manifests inside an index.
const referenceTypeAnnotation = "vnd.docker.reference.type"

// platformManifest is one entry of the index being merged.
type platformManifest struct {
	desc   v1.Descriptor
	at     name.Digest // where the manifest can be read
	source string      // the MergeIndex source it came from, for messages
}

// MergeIndex builds an OCI image index from per-platform sources pinned by
// digest (repo@sha256:…, possibly in other repositories), pushes the platform
// manifests and their blobs into dst's repository and the index under dst's
// tag, and returns the index digest. A source that is itself an index
// contributes its platform manifests; attestation entries are dropped; two
// sources providing the same platform are an error naming both. ann becomes
// the index's annotations (e.g. AnnotationVersion); the result is
// deterministic for the same inputs.
func (c *Client) MergeIndex(ctx context.Context, dst string, srcs []string, ann map[string]string) (string, error) {
	return c.MergeIndexAnnotated(ctx, dst, srcs, ann, nil)
}

// MergeIndexAnnotated is MergeIndex with annotations on the index's entries too: descs[i], when
// not nil, is added to the entry (or entries) of srcs[i].
func (c *Client) MergeIndexAnnotated(ctx context.Context, dst string, srcs []string, ann map[string]string, descs []map[string]string) (string, error) {
	what := fmt.Sprintf("merging %s into %s", strings.Join(srcs, ", "), dst)
	if descs != nil && len(descs) != len(srcs) {
		return "", fmt.Errorf("%s: %d descriptor annotation sets for %d sources", what, len(descs), len(srcs))
	}
	if len(srcs) == 0 {
		return "", fmt.Errorf("merging into %s: no source images (pass at least one per-platform image)", dst)
	}
	dstTag, err := c.parseTag(dst)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	refs := make([]name.Digest, len(srcs))
	for i, s := range srcs {
		if refs[i], err = c.parseDigest(s); err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
	}
	_, pusher, err := c.remote()
	if err != nil {
		return "", err
	}
	var digest string
	err = c.op(ctx, what, func(ctx context.Context) error {
		entries, err := c.platformManifests(ctx, srcs, refs)
		if err != nil {
			return err
		}
		if err := c.copyManifests(ctx, entries, dstTag.Context()); err != nil {
			return err
		}
		idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
		for _, e := range entries {
			d := e.desc
			if i := slices.Index(srcs, e.source); i >= 0 && descs != nil && len(descs[i]) > 0 {
				d.Annotations = maps.Clone(d.Annotations)
				if d.Annotations == nil {
					d.Annotations = map[string]string{}
				}
				maps.Copy(d.Annotations, descs[i])
			}
			idx.Manifests = append(idx.Manifests, d)
		}
		if len(ann) > 0 {
			idx.Annotations = maps.Clone(ann)
		}
		raw, err := json.Marshal(idx)
		if err != nil {
			return err
		}
		m := rawManifest{raw: raw, mediaType: types.OCIImageIndex}
		if err := pusher.Put(ctx, dstTag, m); err != nil {
			return err
		}
		h, _, err := v1.SHA256(bytes.NewReader(raw))
		digest = h.String()
		return err
	})
	return digest, err
}

// platformManifests reads every source and lists the platform manifests they
// provide, in source order, rejecting duplicate platforms.
func (c *Client) platformManifests(ctx context.Context, srcs []string, refs []name.Digest) ([]platformManifest, error) {
	puller, _, err := c.remote()
	if err != nil {
		return nil, err
	}
	var out []platformManifest
	seen := map[string]string{} // platform -> source
	add := func(pm platformManifest) error {
		key := pm.desc.Platform.String()
		if prev, dup := seen[key]; dup {
			return fmt.Errorf("%w %s: provided by both %s and %s (drop one of them from the sources)", ErrDuplicatePlatform, key, prev, pm.source)
		}
		seen[key] = pm.source
		out = append(out, pm)
		return nil
	}
	for i, ref := range refs {
		desc, err := puller.Get(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", srcs[i], err)
		}
		if desc.MediaType.IsIndex() {
			idx, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
			if err != nil {
				return nil, fmt.Errorf("parsing the index %s: %w", srcs[i], err)
			}
			for _, child := range idx.Manifests {
				if isAttestation(child) {
					continue
				}
				if child.Platform == nil {
					return nil, fmt.Errorf("%w: entry %s of the index %s (rebuild it with explicit platforms)", ErrNoPlatform, child.Digest, srcs[i])
				}
				if err := add(platformManifest{desc: child, at: ref.Context().Digest(child.Digest.String()), source: srcs[i]}); err != nil {
					return nil, err
				}
			}
			continue
		}
		img, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", srcs[i], err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("reading the config of %s: %w", srcs[i], err)
		}
		p := cfg.Platform()
		if p == nil || p.OS == "" || p.Architecture == "" {
			return nil, fmt.Errorf("%w: the config of %s names no os/architecture (build it with an explicit --platform)", ErrNoPlatform, srcs[i])
		}
		d := v1.Descriptor{MediaType: desc.MediaType, Size: desc.Size, Digest: desc.Digest, Platform: p}
		if err := add(platformManifest{desc: d, at: ref, source: srcs[i]}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// isAttestation reports whether an index entry is a BuildKit attestation
// (provenance/SBOM) rather than a runnable image.
func isAttestation(d v1.Descriptor) bool {
	if _, ok := d.Annotations[referenceTypeAnnotation]; ok {
		return true
	}
	return d.Platform != nil && d.Platform.OS == "unknown" && d.Platform.Architecture == "unknown"
}

// copyManifests pushes the platform manifests (and their blobs, mounted
// across repositories when the registry allows) into repo by digest.
func (c *Client) copyManifests(ctx context.Context, entries []platformManifest, repo name.Repository) error {
	puller, pusher, err := c.remote()
	if err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(c.concurrency)
	for _, e := range entries {
		g.Go(func() error {
			desc, err := puller.Get(ctx, e.at)
			if err != nil {
				return fmt.Errorf("reading %s: %w", e.at, err)
			}
			if err := pusher.Push(ctx, repo.Digest(e.desc.Digest.String()), desc); err != nil {
				return fmt.Errorf("pushing %s (%s) into %s: %w", e.at, e.desc.Platform, repo, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// rawManifest is a manifest given as bytes, ready to be PUT.
type rawManifest struct {
	raw       []byte
	mediaType types.MediaType
}

// RawManifest implements remote.Taggable.
func (m rawManifest) RawManifest() ([]byte, error) { return m.raw, nil }

// MediaType tells the registry the Content-Type of the manifest.
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mediaType, nil }

var _ remote.Taggable = rawManifest{}
