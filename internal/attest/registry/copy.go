package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"shipyard/internal/attest"
)

// Copied counts what Copy wrote.
type Copied struct {
	// Tags is how many .sig / .att tags were written in the destination.
	Tags int
	// Referrers is how many referrer manifests were written.
	Referrers int
}

// Copy copies, from src (host/repo@sha256:…, an index or an image) to the
// repository dst (host/repo), everything attached to src and, for an index,
// to each of its platform manifests: the cosign .sig and .att tags (layers
// the destination lacks are appended, so signatures already there stay)
// and every referrer, by digest. The image itself is promote's to copy. A
// second copy writes nothing.
func (c *Client) Copy(ctx context.Context, src, dst string) (Copied, error) {
	var n Copied
	from, err := c.digest(src)
	if err != nil {
		return n, err
	}
	to, err := name.NewRepository(dst, c.nameOpts(dst)...)
	if err != nil {
		return n, fmt.Errorf("copying the attachments of %s: bad destination %q: %v (write it as host/repo, without tag)", src, dst, err)
	}
	kids, err := c.children(ctx, from)
	if err != nil {
		return n, fmt.Errorf("copying the attachments of %s: %w", src, err)
	}
	digests := []string{from.DigestStr()}
	for _, k := range kids {
		digests = append(digests, k.Digest.String())
	}
	for _, dg := range digests {
		s, d := from.Context().Digest(dg), to.Digest(dg)
		for _, tag := range []func(string) (string, error){attest.SignatureTag, attest.AttestationTag} {
			wrote, err := c.copyTag(ctx, s, d, tag)
			if err != nil {
				return n, fmt.Errorf("copying the attachments of %s to %s: %w", s, dst, err)
			}
			if wrote {
				n.Tags++
			}
		}
		refs, err := c.copyReferrers(ctx, s, d)
		n.Referrers += refs
		if err != nil {
			return n, fmt.Errorf("copying the referrers of %s to %s: %w", s, dst, err)
		}
	}
	return n, nil
}

// copyTag makes dst's cosign tag hold every layer of src's.
func (c *Client) copyTag(ctx context.Context, src, dst name.Digest, tag func(string) (string, error)) (bool, error) {
	st, err := tagOf(src, tag)
	if err != nil {
		return false, err
	}
	dt, err := tagOf(dst, tag)
	if err != nil {
		return false, err
	}
	srcImg, srcLayers, err := c.readLayers(ctx, st)
	if err != nil || srcImg == nil {
		return false, err
	}
	dstImg, dstLayers, err := c.readLayers(ctx, dt)
	if err != nil {
		return false, err
	}
	if dstImg == nil { // the same manifest, byte for byte
		if err := remote.Write(dt, srcImg, c.opts(ctx)...); err != nil {
			return false, fmt.Errorf("writing %s: %w", dt, err)
		}
		return true, nil
	}
	have := map[string]bool{}
	for _, l := range dstLayers {
		have[l.digest.String()] = true
	}
	var missing []layer
	for _, l := range srcLayers {
		if !have[l.digest.String()] {
			missing = append(missing, l)
		}
	}
	if len(missing) == 0 {
		return false, nil
	}
	return true, c.appendLayers(ctx, dt, dstImg, missing...)
}

// copyReferrers copies the referrers of src that dst lacks, by digest.
func (c *Client) copyReferrers(ctx context.Context, src, dst name.Digest) (int, error) {
	want, err := c.Referrers(ctx, src.String())
	if err != nil {
		return 0, err
	}
	if len(want) == 0 {
		return 0, nil
	}
	have, err := c.Referrers(ctx, dst.String())
	if err != nil {
		return 0, err
	}
	there := map[string]bool{}
	for _, r := range have {
		there[r.Digest] = true
	}
	n := 0
	for _, r := range want {
		if there[r.Digest] {
			continue
		}
		img, err := remote.Image(src.Context().Digest(r.Digest), c.opts(ctx)...)
		if err != nil {
			return n, fmt.Errorf("reading the referrer %s: %w", r.Digest, err)
		}
		// Writing by digest keeps the bytes; go-containerregistry updates
		// the fallback tag when the destination has no referrers API.
		if err := remote.Write(dst.Context().Digest(r.Digest), img, c.opts(ctx)...); err != nil {
			return n, fmt.Errorf("writing the referrer %s: %w", r.Digest, err)
		}
		n++
	}
	return n, nil
}

// Verify checks the image behind ref (host/repo:tag or @sha256:…) as
// released: the index (or single image) signed for p.Key, and each platform
// manifest signed and carrying what p asks (SBOM, provenance of p.Revision,
// referrers). The error names every image and what it lacks.
func (c *Client) Verify(ctx context.Context, ref string, p attest.Policy) error {
	r, err := name.ParseReference(ref, c.nameOpts(ref)...)
	if err != nil {
		return fmt.Errorf("verifying %q: %v (write it as host/repo:tag or host/repo@sha256:…)", ref, err)
	}
	desc, err := remote.Head(r, c.opts(ctx)...)
	if err != nil {
		return fmt.Errorf("verifying %s: %w", ref, err)
	}
	top := r.Context().Digest(desc.Digest.String())
	kids, err := c.children(ctx, top)
	if err != nil {
		return fmt.Errorf("verifying %s: %w", ref, err)
	}
	var errs []error
	check := func(d name.Digest, label string, p attest.Policy) error {
		ev, err := c.Evidence(ctx, d.String(), label)
		if err != nil {
			return fmt.Errorf("verifying %s: %w", label, err)
		}
		return attest.Check(ev, p)
	}
	label := fmt.Sprintf("%s (%s)", ref, desc.Digest)
	if len(kids) > 0 {
		errs = append(errs, check(top, label, attest.Policy{Key: p.Key}))
	} else {
		errs = append(errs, check(top, label, p))
	}
	for _, k := range kids {
		platform := "unknown platform"
		if k.Platform != nil {
			platform = k.Platform.String()
		}
		errs = append(errs, check(top.Context().Digest(k.Digest.String()), fmt.Sprintf("%s [%s] (%s)", ref, platform, k.Digest), p))
	}
	return errors.Join(errs...)
}
