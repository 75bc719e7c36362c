package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"shipyard/ci/internal/dagger"
	"shipyard/internal/imageref"
	"shipyard/internal/imgconfig"
	"shipyard/internal/naming"
	"shipyard/internal/regaccess"
	"shipyard/internal/registry"
	"shipyard/internal/retry"
)

// Published is one per-platform image pushed to the build registry.
type Published struct {
	Target   string `json:"target"`
	Platform string `json:"platform"`
	Ref      string `json:"ref"`
	Digest   string `json:"digest"`
}

// Publish every image under its bake tags with a per-platform suffix (1.0.0-amd64), its config given the source's time (SOURCE_DATE_EPOCH or the commit's), and print what was pushed as JSON
// +cache="never"
func (i *Images) Publish(ctx context.Context) (string, error) {
	out, err := i.publish(ctx, nil)
	if err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(map[string]any{"images": out}, "", "  ")
	return string(b), err
}

// publish pushes every image concurrently; then, when given, runs for each image as soon as its
// own push returned, while the others still push.
func (i *Images) publish(ctx context.Context, then func(context.Context, Published) error) ([]Published, error) {
	out := make([]Published, len(i.Images))
	var creds []registryCreds
	var configs *configFixer
	if i.Pipeline != nil {
		var err error
		if creds, err = i.Pipeline.creds(); err != nil {
			return nil, err
		}
		if configs, err = i.Pipeline.configFixer(ctx, i.Created); err != nil {
			return nil, err
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	for n, img := range i.Images {
		g.Go(func() error {
			if len(img.Tags) == 0 {
				return fmt.Errorf("target %s has no tags in the bake file: add tags = [\"REGISTRY/NAME:TAG\"]", img.Target)
			}
			ref, err := naming.PlatformRef(img.Tags[0], naming.DefaultPlatformTag, img.Platform)
			if err != nil {
				return fmt.Errorf("push %s [%s]: %v", img.Target, img.Platform, err)
			}
			ctx, span := Tracer().Start(gctx, fmt.Sprintf("push %s [%s]", img.Target, img.Platform))
			defer span.End()
			pushed, err := publishWithRetry(ctx, withAuth(img.Container, creds, ref), ref)
			if err != nil {
				return fmt.Errorf("push %s [%s] to %s: %v", img.Target, img.Platform, ref, err)
			}
			at, err := imageref.ParsePinned(pushed)
			if err != nil {
				return fmt.Errorf("push %s [%s] to %s: the engine answered: %v", img.Target, img.Platform, ref, err)
			}
			digest, err := configs.fix(ctx, ref, at.Digest)
			if err != nil {
				return fmt.Errorf("push %s [%s] to %s: %v", img.Target, img.Platform, ref, err)
			}
			out[n] = Published{Target: img.Target, Platform: img.Platform, Ref: ref, Digest: digest}
			span.End()
			if then == nil {
				return nil
			}
			return then(gctx, out[n])
		})
	}
	return out, g.Wait()
}

// publishWithRetry pushes, retrying with backoff when the registry failed transiently (the
// engine's message is turned into a typed error once, then internal/retry decides).
func publishWithRetry(ctx context.Context, ctr *dagger.Container, ref string) (string, error) {
	var pushed string
	attempts := 0
	err := retry.Do(ctx, retry.Push, func(ctx context.Context) error {
		attempts++
		var err error
		if pushed, err = ctr.Publish(ctx, ref); err != nil {
			var exec *dagger.ExecError
			if errors.As(err, &exec) {
				return retry.Permanent(err)
			}
			return retry.FromEngineMessage(err.Error())
		}
		return nil
	}, func(attempt int, delay time.Duration, err error) {
		fmt.Fprintf(os.Stderr, "push %s failed (attempt %d of %d), retrying in %s: %v\n", ref, attempt, retry.Push.Attempts, delay, err)
	})
	return pushed, err
}

// configFixer gives each pushed image's config the source's time (imgconfig.Normalize), so that
// the same layers get the same digest on any engine: every GitLab job with Docker-in-Docker, a
// retried one too, runs a fresh engine, which stamps the config with its own times.
type configFixer struct {
	client   *registry.Client
	at       time.Time
	tunneled []string // the loopback ports the registry tunnels forward

	mu   sync.Mutex
	told map[string]bool // the registries already said to be out of the function's reach
}

// configFixer is nil (fix keeps the engine's config) when created is "".
func (m *Shipyard) configFixer(ctx context.Context, created string) (*configFixer, error) {
	if created == "" {
		return nil, nil
	}
	at, err := time.Parse(time.RFC3339, created)
	if err != nil {
		return nil, fmt.Errorf("the images' creation time %q is not RFC 3339: %v", created, err)
	}
	client, err := m.registry(ctx)
	if err != nil {
		return nil, err
	}
	var tunneled []string
	for _, svc := range m.RegistryTunnel {
		ports, err := tunnelPorts(ctx, svc)
		if err != nil {
			return nil, err
		}
		for _, p := range ports {
			tunneled = append(tunneled, strconv.Itoa(p))
		}
	}
	return &configFixer{client: client, at: at, tunneled: tunneled, told: map[string]bool{}}, nil
}

// fix rewrites the config of the image pushed to ref as digest and returns the digest ref holds
// then (digest when the config was already the source's).
func (f *configFixer) fix(ctx context.Context, ref, digest string) (string, error) {
	if f == nil {
		return digest, nil
	}
	r, err := imageref.Parse(ref)
	if err != nil {
		return "", err
	}
	if host := r.Registry(); !regaccess.FromFunction(host, f.tunneled) {
		// the engine pushed there, this function's code cannot reach it
		f.mu.Lock()
		defer f.mu.Unlock()
		if !f.told[host] {
			f.told[host] = true
			fmt.Fprintf(os.Stderr, "%s is the engine host's loopback, which the module reaches only through --registry-tunnel=tcp://localhost:PORT: the image configs pushed there keep this engine's times (another engine pushes other digests for the same layers)\n", host)
		}
		return digest, nil
	}
	ctx, span := Tracer().Start(ctx, "config: the source's time "+f.at.Format(time.RFC3339))
	defer span.End()
	return f.client.RewriteConfig(ctx, ref, digest, func(b []byte) ([]byte, error) { return imgconfig.Normalize(b, f.at) })
}
