package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"shipyard/ci/internal/dagger"
	"shipyard/internal/naming"
)

// Published is one per-platform image pushed to the build registry.
type Published struct {
	Target   string `json:"target"`
	Platform string `json:"platform"`
	Ref      string `json:"ref"`
	Digest   string `json:"digest"`
}

// Publish every image under its bake tags with a per-platform suffix (1.0.0-amd64) and print what was pushed as JSON
func (i *Images) Publish(
	ctx context.Context,
	// Registry user (for the registry of the bake tags)
	// +optional
	username string,
	// Registry password or token
	// +optional
	password *dagger.Secret,
	// Per-platform tag form; {tag} and {arch} are replaced
	// +default="{tag}-{arch}"
	platformTag string,
) (string, error) {
	out, err := i.publish(ctx, username, password, platformTag)
	if err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(map[string]any{"images": out}, "", "  ")
	return string(b), err
}

func (i *Images) publish(ctx context.Context, username string, password *dagger.Secret, platformTag string) ([]Published, error) {
	out := make([]Published, len(i.Images))
	g, gctx := errgroup.WithContext(ctx)
	for n, img := range i.Images {
		g.Go(func() error {
			if len(img.Tags) == 0 {
				return fmt.Errorf("target %s has no tags in the bake file: add tags = [\"REGISTRY/NAME:TAG\"]", img.Target)
			}
			repo, tag := naming.SplitTag(img.Tags[0])
			ref := repo + ":" + naming.PlatformTag(platformTag, tag, img.Platform)
			ctx, span := Tracer().Start(gctx, fmt.Sprintf("push %s [%s]", img.Target, img.Platform))
			defer span.End()
			ctr := withAuth(img.Container, []registryCreds{{host: naming.Host(repo), user: username, password: password}})
			pushed, err := publishWithRetry(ctx, ctr, ref)
			if err != nil {
				return fmt.Errorf("push %s [%s] to %s: %v", img.Target, img.Platform, ref, err)
			}
			_, digest, _ := strings.Cut(pushed, "@")
			out[n] = Published{Target: img.Target, Platform: img.Platform, Ref: ref, Digest: digest}
			return nil
		})
	}
	return out, g.Wait()
}

// pushAttempts bounds the retries of a push that failed for a transient reason.
const pushAttempts = 4

// publishWithRetry pushes, retrying with backoff when the registry failed transiently (5xx,
// reset or dropped connections); refused credentials or access fail at once.
func publishWithRetry(ctx context.Context, ctr *dagger.Container, ref string) (string, error) {
	delay := time.Second
	for attempt := 1; ; attempt++ {
		pushed, err := ctr.Publish(ctx, ref)
		if err == nil || attempt == pushAttempts || !transientPushError(err) || ctx.Err() != nil {
			if err != nil && attempt > 1 {
				err = fmt.Errorf("after %d attempts: %v", attempt, err)
			}
			return pushed, err
		}
		fmt.Fprintf(os.Stderr, "push %s failed (attempt %d of %d), retrying in %s: %v\n", ref, attempt, pushAttempts, delay, err)
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
}

// transientPushError tells a failure worth retrying from a refusal (the engine's push errors are text).
func transientPushError(err error) bool {
	msg := strings.ToLower(err.Error())
	for _, permanent := range []string{"401", "403", "unauthorized", "denied", "forbidden", "invalid reference", "not found"} {
		if strings.Contains(msg, permanent) {
			return false
		}
	}
	return true
}
