// Package imgconfig makes an image config a function of the image and its source alone, so
// that the same layers built from the same commit get the same manifest digest on any engine.
//
// Dagger's dockerBuild writes the image config's history itself, one entry per layer, each
// with the comment ExporterComment: the time the engine pulled the base or ran the step, and a
// created_by that depends on where the layer came from on that engine ("pulled from REF",
// "[2/3] COPY …", "imported sha256:…" when it came from an imported cache, "created by
// buildkit"). The config's created is one of those times. A fresh engine, which every GitLab
// job with Docker-in-Docker is, so writes another config, and another digest, for the same
// layers. Normalize rewrites exactly those fields. Pure: no I/O.
package imgconfig

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ExporterComment is the comment of the history entries the engine's exporter writes.
const ExporterComment = "buildkit.exporter.image.v0"

// Normalize returns config with created set to at, and each history entry the engine wrote
// (comment ExporterComment) given the time at and no created_by; other entries, and every other
// field, are kept. The result is canonical JSON (keys sorted, no spaces), so two configs that
// differ only in what Normalize rewrites become the same bytes. Normalizing its own result
// changes nothing.
func Normalize(config []byte, at time.Time) ([]byte, error) {
	var c map[string]any
	if err := decode(config, &c); err != nil {
		return nil, fmt.Errorf("the image config is not a JSON object: %v", err)
	}
	if c == nil {
		return nil, errors.New("the image config is not a JSON object: null")
	}
	stamp := at.UTC().Format(time.RFC3339)
	c["created"] = stamp
	if h, ok := c["history"]; ok && h != nil {
		entries, ok := h.([]any)
		if !ok {
			return nil, fmt.Errorf("the image config's history is a %T, not a list", h)
		}
		for i, e := range entries {
			entry, ok := e.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("the image config's history entry %d is a %T, not an object", i, e)
			}
			if entry["comment"] != ExporterComment {
				continue
			}
			entry["created"] = stamp
			delete(entry, "created_by")
		}
	}
	return json.Marshal(c)
}

// WithConfig returns manifest (an image manifest) with its config descriptor pointing at
// config: the digest and size of those bytes, the media type and any other field kept. The
// result is canonical JSON, as Normalize's.
func WithConfig(manifest, config []byte) ([]byte, error) {
	var m map[string]any
	if err := decode(manifest, &m); err != nil {
		return nil, fmt.Errorf("the manifest is not a JSON object: %v", err)
	}
	desc, ok := m["config"].(map[string]any)
	if !ok {
		return nil, errors.New("the manifest has no config descriptor: it is not an image manifest (an index?)")
	}
	desc["digest"] = Digest(config)
	desc["size"] = json.Number(fmt.Sprint(len(config)))
	return json.Marshal(m)
}

// Digest is the OCI digest (sha256:…) of b.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// decode reads one JSON value into v, numbers kept as written (json.Number), nothing after it.
func decode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}
