package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"shipyard/internal/imageref"
	"shipyard/internal/plan"
	"shipyard/internal/registry"
	"shipyard/internal/vcs"
)

// manifests merges, for every target, exactly the platforms the plan built (wherever they were
// built) into one index per tag. The same inputs give the same index digest: the created
// annotation is SOURCE_DATE_EPOCH or the commit's time, never the clock.
func (r *run) manifests(ctx context.Context) error {
	client, err := r.m.registry(ctx)
	if err != nil {
		return err
	}
	created := r.created(ctx)
	for _, mg := range r.plan.Merges {
		if err := r.merge(ctx, client, mg, created); err != nil {
			return err
		}
	}
	// the vulnerability gate (with-scan) on what was merged, before anything is released
	return r.scan(ctx, r.plan.Scans)
}

// merge merges one target's per-platform images into an index under each of its tags, then
// signs the index once per repository it was pushed to.
func (r *run) merge(ctx context.Context, client *registry.Client, mg plan.Merge, created string) error {
	ctx, span := Tracer().Start(ctx, "merge "+mg.Target+" ["+strings.Join(mg.Platforms, ", ")+"]")
	defer span.End()
	if r.dryRun {
		// a dry run pushed nothing: the per-platform images it would merge are not there
		for _, full := range mg.Tags {
			r.logf("dry run: would merge %s [%s] into %s", mg.Target, strings.Join(mg.Platforms, ", "), full)
		}
		return nil
	}
	var srcs []string
	for i, ref := range mg.Sources {
		digest, err := client.Digest(ctx, ref)
		if err != nil {
			return fmt.Errorf("manifests %s: %v", mg.Target, missingOr(err, fmt.Sprintf("the %s image %s is missing (run the build stage first)", mg.Platforms[i], ref)))
		}
		src, err := imageref.Pin(ref, digest)
		if err != nil {
			return fmt.Errorf("manifests %s: %v", mg.Target, err)
		}
		srcs = append(srcs, src)
	}
	first, err := imageref.Parse(mg.Tags[0])
	if err != nil {
		return fmt.Errorf("manifests %s: %v", mg.Target, err)
	}
	ann := maps.Clone(mg.Annotations) // the target's own; the plan refused those of the keys below
	if ann == nil {
		ann = map[string]string{}
	}
	ann[registry.AnnotationVersion] = first.TagOrDefault()
	if created != "" {
		ann[registry.AnnotationCreated] = created
	}
	if rev, err := r.revision(ctx); err == nil {
		ann[registry.AnnotationRevision] = rev
	}
	if src := r.file.Variables["SOURCE_URL"]; src != "" && ann[registry.AnnotationSource] == "" {
		ann[registry.AnnotationSource] = src
	}
	var indexes []string // one signature per repository the index is pushed to
	for _, full := range mg.Tags {
		digest, err := client.MergeIndexAnnotated(ctx, full, srcs, ann, mg.Descriptors)
		if err != nil {
			return fmt.Errorf("manifests %s: merging into %s: %v", mg.Target, full, err)
		}
		r.logf("manifest %s %s@%s (%s)", mg.Target, full, digest, strings.Join(mg.Platforms, ", "))
		index, err := imageref.Pin(full, digest)
		if err != nil {
			return fmt.Errorf("manifests %s: %v", mg.Target, err)
		}
		if !slices.Contains(indexes, index) {
			indexes = append(indexes, index)
		}
	}
	for _, index := range indexes {
		if err := r.signIndex(ctx, mg.Target, index); err != nil {
			return err
		}
	}
	return nil
}

// created is the creation time of the run's images and indexes: SOURCE_DATE_EPOCH (a bake
// variable or --set), else the commit time of the revision built, else none ("": the index's
// annotation is left out, the image configs keep the engine's times).
func (r *run) created(ctx context.Context) string {
	return r.m.sourceTime(ctx, r.file.Variables, r.ci.Revision)
}

// sourceTime is SOURCE_DATE_EPOCH from the bake variables, else the commit time of rev (HEAD
// when "") in the git directory, in RFC 3339; "" when neither is known.
func (m *Shipyard) sourceTime(ctx context.Context, vars map[string]string, rev string) string {
	if epoch := vars["SOURCE_DATE_EPOCH"]; epoch != "" {
		return epochTime(epoch)
	}
	dir, err := m.gitDirOnDisk(ctx)
	if err != nil {
		return ""
	}
	t, err := vcs.Repo{GitDir: dir}.CommitTime(ctx, rev)
	if err != nil {
		return ""
	}
	return t.Format(time.RFC3339)
}

// epochTime is SOURCE_DATE_EPOCH (seconds since 1970) as the created annotation, RFC 3339 in
// UTC; "" (the annotation is left out) when it is no integer.
func epochTime(epoch string) string {
	n, err := strconv.ParseInt(strings.TrimSpace(epoch), 10, 64)
	if err != nil {
		return ""
	}
	return time.Unix(n, 0).UTC().Format(time.RFC3339)
}

// gitDirOnDisk exports the repository (New's splitGit) into the function's file system once.
func (m *Shipyard) gitDirOnDisk(ctx context.Context) (string, error) {
	if m.GitDir == nil {
		return "", errors.New("no git repository: --source has no .git directory and no --git-dir was given")
	}
	dir := filepath.Join(os.TempDir(), "shipyard-git", ".git")
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err == nil {
		return dir, nil
	}
	if _, err := m.GitDir.Export(ctx, dir); err != nil {
		return "", err
	}
	return dir, nil
}

// missingOr says what to do when an image is really missing; any other registry failure
// (unreachable, credentials refused) is returned as it is, so nobody rebuilds for nothing.
func missingOr(err error, missing string) error {
	if errors.Is(err, registry.ErrNotFound) {
		return fmt.Errorf("%s: %v", missing, err)
	}
	return err
}
