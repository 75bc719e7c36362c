package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sync/errgroup"

	"shipyard/internal/version"
)

// How VersionBehind found the version.
const (
	MethodAnnotation = "annotation" // the index's version annotation, confirmed by the version tag's digest
	MethodScan       = "scan"       // every version tag's digest compared with the index's
	MethodNone       = "none"       // the tag does not exist
)

// Found is the version tag a moving tag (usually `latest`) points at.
type Found struct {
	// Version is the version tag with the same digest, "" if none.
	Version string
	// Digest is the digest behind the moving tag, "" if it does not exist.
	Digest string
	// Method is MethodAnnotation, MethodScan or MethodNone.
	Method string
	// Requests is how many HTTP requests the lookup cost.
	Requests int
}

// VersionBehind finds which version tag of repo points at the same manifest
// as tag. It first reads the AnnotationVersion annotation of the manifest
// behind tag and confirms it by the version tag's digest (2 requests once the
// client is authenticated); only when the annotation is missing or
// inconsistent does it list the tags and HEAD every version tag (one that
// internal/version parses, the glued pre-release "1.8.7beta2" included), with
// bounded concurrency. Digests are compared like with like: both sides are
// read with index media types accepted, so an index is never compared with
// one of its platform manifests. If several version tags match, the greatest
// by version.Greatest wins. A missing tag is Found{Method: MethodNone}, not
// an error.
func (c *Client) VersionBehind(ctx context.Context, repo, tag string) (Found, error) {
	ctx, count := CountRequests(ctx)
	r, err := c.parseRepo(repo)
	if err != nil {
		return Found{}, fmt.Errorf("finding the version behind %s:%s: %w", repo, tag, err)
	}
	moving, err := c.parseTag(r.String() + ":" + tag)
	if err != nil {
		return Found{}, fmt.Errorf("finding the version behind %s:%s: %w", repo, tag, err)
	}
	puller, _, err := c.remote()
	if err != nil {
		return Found{}, err
	}
	result := func(f Found) (Found, error) {
		f.Requests = int(count.Load())
		return f, nil
	}

	var digest, annotated string
	err = c.op(ctx, "reading "+moving.String(), func(ctx context.Context) error {
		desc, err := puller.Get(ctx, moving)
		if err != nil {
			return err
		}
		digest = desc.Digest.String()
		var m struct {
			Annotations map[string]string `json:"annotations"`
		}
		if json.Unmarshal(desc.Manifest, &m) == nil {
			annotated = m.Annotations[AnnotationVersion]
		}
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return result(Found{Method: MethodNone})
	}
	if err != nil {
		return Found{}, err
	}

	if annotated != "" && annotated != tag && version.Valid(annotated) {
		d, err := c.digestIfExists(ctx, r.Tag(annotated))
		if err != nil {
			return Found{}, err
		}
		if d == digest {
			return result(Found{Version: annotated, Digest: digest, Method: MethodAnnotation})
		}
		// Missing or pointing elsewhere: the annotation cannot be trusted.
	}

	behind, err := c.scan(ctx, r, tag, digest)
	if err != nil {
		return Found{}, err
	}
	return result(Found{Version: behind, Digest: digest, Method: MethodScan})
}

// digestIfExists returns the digest behind ref, or "" if it does not exist.
func (c *Client) digestIfExists(ctx context.Context, ref name.Reference) (string, error) {
	var digest string
	err := c.op(ctx, "reading the digest of "+ref.String(), func(ctx context.Context) error {
		d, err := c.head(ctx, ref)
		digest = d
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	return digest, err
}

// scan HEADs every version tag of repo and returns the greatest one whose
// digest is digest, or "".
func (c *Client) scan(ctx context.Context, repo name.Repository, moving, digest string) (string, error) {
	puller, _, err := c.remote()
	if err != nil {
		return "", err
	}
	var tags []string
	err = c.op(ctx, "listing the tags of "+repo.String(), func(ctx context.Context) error {
		tags, err = puller.List(ctx, repo)
		return err
	})
	if err != nil {
		return "", err
	}
	var (
		mu      sync.Mutex
		matches []string
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.concurrency)
	for _, t := range tags {
		if t == moving || !version.Valid(t) {
			continue
		}
		g.Go(func() error {
			d, err := c.digestIfExists(gctx, repo.Tag(t))
			if err != nil {
				return err
			}
			if d == digest {
				mu.Lock()
				matches = append(matches, t)
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return "", fmt.Errorf("scanning the version tags of %s: %w", repo, err)
	}
	return version.Greatest(matches...), nil
}
