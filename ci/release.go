package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"shipyard/internal/bake"
	"shipyard/internal/latest"
	"shipyard/internal/naming"
	"shipyard/internal/promote"
	"shipyard/internal/tagtype"
)

// release copies every merged index from the build registry to the release registry by digest
// (no rebuild), then moves latest on all images or none.
func (p *pipeline) release(ctx context.Context) error {
	targets, err := p.m.resolve(ctx, nil, p.bakeSet())
	if err != nil {
		return err
	}
	matrix, err := bake.Matrix(targets, p.platforms())
	if err != nil {
		return err
	}
	creds := []registryCreds{{host: naming.Host(p.releaseRegistry), user: p.releaseUser, password: p.releasePassword}}
	seen := map[string]bool{}
	var images []promote.Image
	for _, e := range matrix {
		t := e.Target
		if seen[t.Name] {
			continue
		}
		seen[t.Name] = true
		if len(t.Tags) == 0 {
			return fmt.Errorf("target %s has no tags in the bake file: add tags = [\"REGISTRY/NAME:TAG\"]", t.Name)
		}
		creds = append(creds, registryCreds{host: naming.Host(t.Tags[0]), user: p.buildUser, password: p.buildPassword})
		images = append(images, promote.Image{
			Name:   t.Name,
			Source: t.Tags[0],
			Dest:   naming.ReleaseRepo(p.releaseRegistry, p.project, t.Name),
		})
	}
	client, err := registryClient(ctx, creds, p.tunnels)
	if err != nil {
		return err
	}
	// what was tested is what ships: the source is the index the manifests stage made, by digest
	for i, img := range images {
		digest, err := client.Digest(ctx, img.Source)
		if err != nil {
			return fmt.Errorf("release %s: %v", img.Name, missingOr(err, fmt.Sprintf("the merged image %s is missing (run the manifests stage first)", img.Source)))
		}
		repo, _ := naming.SplitTag(img.Source)
		images[i].Source = repo + "@" + digest
	}
	typ, err := p.tagType(ctx)
	if err != nil {
		return err
	}
	strategy, err := latest.ParseStrategy(p.strategy)
	if err != nil {
		return err
	}
	decide := func(current string) (bool, string, error) {
		d, err := latest.Decide(latest.Input{Tag: p.tag, Type: typ, Strategy: strategy, Current: current})
		return d.Move, d.Reason, err
	}
	res, err := promote.Run(ctx, client, promote.Options{
		Version: p.tag, Images: images, Decide: decide, DryRun: p.dryRun,
		Log: func(s string) { p.logf("%s", s) },
	})
	if err != nil {
		return err
	}
	for _, r := range res.Released {
		p.logf("released %s %s@%s from %s", r.Name, r.Ref, r.Digest, r.Source)
	}
	for _, r := range res.Reasons {
		p.logf("latest: %s", r)
	}
	return nil
}

// tagType runs the detection chain (override, git, tag message, GitLab API, heuristic) and logs each step.
func (p *pipeline) tagType(ctx context.Context) (tagtype.Type, error) {
	src := tagtype.Sources{Override: p.tagTypeOverride, TagMessage: p.tagMessage}
	if p.gitDir != nil {
		dir := filepath.Join(os.TempDir(), "shipyard-git")
		if _, err := p.gitDir.Export(ctx, filepath.Join(dir, ".git")); err == nil {
			src.GitDir = dir
		} else {
			p.logf("tag type: no git directory available (%v)", err)
		}
	}
	if p.gitlabURL != "" && p.projectID != "" && p.gitlabToken != nil {
		token, err := p.gitlabToken.Plaintext(ctx)
		if err != nil {
			return "", fmt.Errorf("reading the GitLab token secret: %v", err)
		}
		src.GitLab = &tagtype.GitLabSource{BaseURL: p.gitlabURL, ProjectID: p.projectID, Token: token}
	}
	res, err := tagtype.Detect(ctx, p.tag, src)
	for _, st := range res.Trail {
		p.logf("tag type [%s]: %s", st.Source, st.Outcome)
	}
	if err != nil {
		return "", err
	}
	p.logf("tag %s is %s (decided by %s)", p.tag, res.Type, res.DecidedBy)
	return res.Type, nil
}
