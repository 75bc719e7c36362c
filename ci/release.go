package main

import (
	"context"
	"fmt"

	"shipyard/internal/imageref"
	"shipyard/internal/latest"
	"shipyard/internal/promote"
	"shipyard/internal/registry"
	"shipyard/internal/tagtype"
	"shipyard/internal/vcs"
)

// release copies every merged index of the plan from the build registry to the release registry
// by digest (no rebuild), then moves latest on all images or none.
func (r *run) release(ctx context.Context) error {
	client, err := r.m.registry(ctx)
	if err != nil {
		return err
	}
	// a dry run made no index: its copies name the index by tag
	images, err := r.releaseImages(ctx, client, !r.dryRun)
	if err != nil {
		return err
	}
	res, err := promote.Run(ctx, client, promote.Options{
		Version: r.plan.Tag, Images: images, Decide: r.decider(), DryRun: r.dryRun,
		Log: func(s string) { r.logf("%s", s) }, AfterCopy: r.carryAttestations(), Overwrite: r.overwrite,
	})
	if err != nil {
		return err
	}
	for _, rl := range res.Released {
		r.logf("released %s %s@%s from %s", rl.Name, rl.Ref, rl.Digest, rl.Source)
	}
	for _, why := range res.Reasons {
		r.logf("latest: %s", why)
	}
	return nil
}

// indexReader reads a merged index's digest and annotations.
type indexReader interface {
	Annotations(ctx context.Context, ref string) (string, map[string]string, error)
}

// releaseImages are the plan's copies; with resolve, each source is pinned to the digest of the
// index the manifests stage made (what was tested is what ships), which must have been merged
// from the commit being released.
func (r *run) releaseImages(ctx context.Context, client indexReader, resolve bool) ([]promote.Image, error) {
	var images []promote.Image
	want := ""
	if resolve {
		var err error
		if want, err = r.revision(ctx); err != nil {
			want = ""
		}
	}
	for _, c := range r.plan.Copies {
		img := promote.Image{Name: c.Target, Source: c.From, Dest: c.To}
		if resolve {
			digest, ann, err := client.Annotations(ctx, c.From)
			if err != nil {
				return nil, fmt.Errorf("release %s: %v", c.Target, missingOr(err, fmt.Sprintf("the merged image %s is missing (run the manifests stage first)", c.From)))
			}
			note, err := promote.CheckRevision(c.Target, c.From, ann[registry.AnnotationRevision], want)
			if err != nil {
				return nil, err
			}
			if note != "" {
				r.logf("WARNING: %s", note)
			}
			if img.Source, err = imageref.Pin(c.From, digest); err != nil {
				return nil, fmt.Errorf("release %s: %v", c.Target, err)
			}
		}
		images = append(images, img)
	}
	return images, nil
}

// decider is the latest policy of this release; the tag type is detected when first asked.
func (r *run) decider() promote.Decider {
	var typ tagtype.Type
	return func(ctx context.Context, current string) (bool, string, error) {
		if typ == "" {
			t, err := r.tagType(ctx)
			if err != nil {
				return false, "", err
			}
			typ = t
		}
		d, err := latest.Decide(latest.Input{Tag: r.plan.Tag, Type: typ, Strategy: r.plan.Latest.Strategy, Current: current})
		return d.Move, d.Reason, err
	}
}

// tagType runs the detection chain (override, git, tag message, GitLab API, heuristic) and logs
// each step; the GitLab token is read only if the chain gets that far.
func (r *run) tagType(ctx context.Context) (tagtype.Type, error) {
	var repo vcs.Repo
	if dir, err := r.m.gitDirOnDisk(ctx); err == nil {
		repo.GitDir = dir
	} else {
		r.logf("tag type: no git directory available (%v)", err)
	}
	var gitlab *vcs.GitLabTags
	if r.ci.ServerURL != "" && r.ci.ProjectID != "" && r.ci.Token != nil {
		token := r.ci.Token
		gitlab = &vcs.GitLabTags{BaseURL: r.ci.ServerURL, ProjectID: r.ci.ProjectID,
			Token: func(ctx context.Context) (string, error) { return token.Plaintext(ctx) }}
	}
	res, err := tagtype.Detect(ctx, r.plan.Tag, string(r.plan.Latest.TagTypeOverride), vcs.Chain(repo, r.ci.TagMessage, gitlab)...)
	for _, st := range res.Trail {
		r.logf("tag type [%s]: %s", st.Source, st.Outcome)
	}
	if err != nil {
		return "", err
	}
	r.logf("tag %s is %s (decided by %s)", r.plan.Tag, res.Type, res.DecidedBy)
	if w := res.Warning(r.plan.Tag); w != "" {
		r.logf("WARNING: %s", w)
	}
	return res.Type, nil
}
