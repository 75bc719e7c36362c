package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"shipyard/internal/imgconfig"
)

// RewriteConfig reads the image manifest digest in tag's repository and its config, and when fix
// returns another config, pushes that config and the manifest pointing at it
// (imgconfig.WithConfig) under tag, every layer left as it is. It returns the digest tag holds
// then: digest itself when fix changed nothing, and then nothing is written.
func (c *Client) RewriteConfig(ctx context.Context, tag, digest string, fix func(config []byte) ([]byte, error)) (string, error) {
	what := fmt.Sprintf("rewriting the image config of %s (%s)", tag, digest)
	t, err := c.parseTag(tag)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	at, err := c.parseDigest(t.Context().String() + "@" + digest)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	puller, pusher, err := c.remote()
	if err != nil {
		return "", err
	}
	out := digest
	err = c.op(ctx, what, func(ctx context.Context) error {
		desc, err := puller.Get(ctx, at)
		if err != nil {
			return err
		}
		if desc.MediaType.IsIndex() {
			return fmt.Errorf("%s is an index (%s), not one image's manifest", at, desc.MediaType)
		}
		var m struct {
			Config struct {
				MediaType types.MediaType `json:"mediaType"`
				Digest    string          `json:"digest"`
			} `json:"config"`
		}
		if err := json.Unmarshal(desc.Manifest, &m); err != nil || m.Config.Digest == "" {
			return fmt.Errorf("%s is no image manifest with a config (%v)", at, err)
		}
		cfgAt, err := c.parseDigest(t.Context().String() + "@" + m.Config.Digest)
		if err != nil {
			return err
		}
		l, err := puller.Layer(ctx, cfgAt)
		if err != nil {
			return err
		}
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		config, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		if got := imgconfig.Digest(config); got != m.Config.Digest {
			return fmt.Errorf("%w: the config %s read back as %s", ErrDigestMismatch, m.Config.Digest, got)
		}
		fixed, err := fix(config)
		if err != nil {
			return fmt.Errorf("the config %s: %v", m.Config.Digest, err)
		}
		if bytes.Equal(fixed, config) {
			return nil
		}
		manifest, err := imgconfig.WithConfig(desc.Manifest, fixed)
		if err != nil {
			return err
		}
		if err := pusher.Upload(ctx, t.Context(), static.NewLayer(fixed, m.Config.MediaType)); err != nil {
			return fmt.Errorf("pushing the new config: %w", err)
		}
		if err := pusher.Put(ctx, t, rawManifest{raw: manifest, mediaType: desc.MediaType}); err != nil {
			return fmt.Errorf("pushing the manifest with the new config: %w", err)
		}
		want := imgconfig.Digest(manifest)
		got, err := c.head(ctx, t)
		if err != nil {
			return fmt.Errorf("verifying the new manifest: %w", err)
		}
		if got != want {
			return fmt.Errorf("%w: %s holds %s after the rewrite, want %s (another push wrote the same tag meanwhile?)", ErrDigestMismatch, tag, got, want)
		}
		out = want
		return nil
	})
	return out, err
}
