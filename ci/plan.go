package main

import (
	"context"
	"fmt"

	"shipyard/internal/promote"
)

// Plan prints what a run for a ref would do, changing nothing: stages, where every target × platform is built and why, the merges, the release copies and the latest decision
// +cache="never"
func (m *Shipyard) Plan(
	ctx context.Context,
	// Branch or tag the pipeline runs for (default: WithGitlab's $CI_COMMIT_REF_NAME)
	// +optional
	ref string,
	// Version tag being released (default: WithGitlab's $CI_COMMIT_TAG)
	// +optional
	tag string,
	// Plan only this stage, as one GitLab job runs it
	// +optional
	only string,
	// text, or json for tools
	// +default="text"
	format string,
) (string, error) {
	r, err := m.newRun(ctx, ref, tag, only, true)
	if err != nil {
		return "", err
	}
	if err := r.readBuilderCPU(ctx, r.plan.Builds); err != nil {
		return "", err
	}
	out, err := r.plan.Render(format)
	if err != nil {
		return "", err
	}
	if format == "json" || r.plan.Latest == nil {
		return out, nil
	}
	// the latest decision the release would take now, by the same code the release runs
	if m.ReleaseRegistry == "" {
		return out + "latest decision: not previewed (no --release-registry)\n", nil
	}
	client, err := m.registry(ctx)
	if err != nil {
		return out, err
	}
	images, err := r.releaseImages(ctx, client, false)
	if err != nil {
		return out, err
	}
	var lines string
	_, err = promote.Run(ctx, client, promote.Options{
		Version: r.plan.Tag, Images: images, Decide: r.decider(), DryRun: true,
		Log: func(s string) { lines += s + "\n" },
	})
	if err != nil {
		return out + lines, fmt.Errorf("previewing the latest decision: %v", err)
	}
	return out + lines, nil
}
