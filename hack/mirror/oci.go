package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// smallBlob is the size below which a blob is kept in memory while normalising (configs and
// manifests); layers go through a temporary directory.
const smallBlob = 4 << 20

// normaliseOCI rewrites the single-image OCI tarball the engine exported (in) as out, with every
// time the engine recorded set to epoch: the config's created time and its history, and the
// index's created annotation. Layers are copied unchanged (their digests checked). The tarball
// holds oci-layout, index.json and the image's blobs in name order, each entry with time epoch,
// owner 0:0 and mode 0644, so the same image gives the same tarball. It returns the manifest digest.
func normaliseOCI(in, out string, epoch time.Time) (string, error) {
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".oci-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	index, small, err := readOCITar(in, tmp)
	if err != nil {
		return "", err
	}

	var idx struct {
		Manifests []struct {
			Digest   string          `json:"digest"`
			Platform json.RawMessage `json:"platform"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(index, &idx); err != nil {
		return "", fmt.Errorf("index.json: %w", err)
	}
	if len(idx.Manifests) != 1 {
		return "", fmt.Errorf("index.json lists %d manifests, want one image", len(idx.Manifests))
	}
	manifest, ok := small[idx.Manifests[0].Digest]
	if !ok {
		return "", fmt.Errorf("the manifest %s is not in the tarball", idx.Manifests[0].Digest)
	}
	var mf struct {
		MediaType string `json:"mediaType"`
		Config    struct {
			Digest string `json:"digest"`
		} `json:"config"`
		Layers []struct {
			Digest string `json:"digest"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(manifest, &mf); err != nil {
		return "", fmt.Errorf("the manifest: %w", err)
	}
	config, ok := small[mf.Config.Digest]
	if !ok {
		return "", fmt.Errorf("the config %s is not in the tarball", mf.Config.Digest)
	}

	config, err = withConfigTimes(config, epoch)
	if err != nil {
		return "", err
	}
	configDigest := digestOf(config)
	manifest, err = setJSON(manifest, "config", func(desc map[string]json.RawMessage) error {
		desc["digest"], _ = json.Marshal(configDigest)
		desc["size"], _ = json.Marshal(len(config))
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("the manifest: %w", err)
	}
	manifestDigest := digestOf(manifest)
	index, err = json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests": []map[string]any{{
			"mediaType":   mf.MediaType,
			"digest":      manifestDigest,
			"size":        len(manifest),
			"platform":    idx.Manifests[0].Platform,
			"annotations": map[string]string{"org.opencontainers.image.created": epoch.Format(time.RFC3339)},
		}},
	})
	if err != nil {
		return "", err
	}

	blobs := map[string]blob{configDigest: bytesBlob(config), manifestDigest: bytesBlob(manifest)}
	for _, l := range mf.Layers {
		if b, ok := small[l.Digest]; ok {
			blobs[l.Digest] = bytesBlob(b)
			continue
		}
		p := filepath.Join(tmp, strings.TrimPrefix(l.Digest, "sha256:"))
		fi, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("the layer %s is not in the tarball", l.Digest)
		}
		blobs[l.Digest] = fileBlob(p, fi.Size())
	}
	return manifestDigest, writeOCITar(out, index, blobs, epoch)
}

// readOCITar reads the tarball in: index.json, the blobs under smallBlob by digest, and the others
// into dir (named by their hex digest, which is checked).
func readOCITar(in, dir string) (index []byte, small map[string][]byte, err error) {
	f, err := os.Open(in)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	small = map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading %s: %w", in, err)
		}
		name := path.Clean(hdr.Name)
		switch {
		case name == "index.json":
			if index, err = io.ReadAll(tr); err != nil {
				return nil, nil, err
			}
		case hdr.Typeflag == tar.TypeReg && strings.HasPrefix(name, "blobs/sha256/"):
			hexDigest := strings.TrimPrefix(name, "blobs/sha256/")
			h := sha256.New()
			if hdr.Size < smallBlob {
				var buf bytes.Buffer
				if _, err := io.Copy(io.MultiWriter(&buf, h), tr); err != nil {
					return nil, nil, err
				}
				small["sha256:"+hexDigest] = buf.Bytes()
			} else if err := copyToFile(filepath.Join(dir, hexDigest), io.TeeReader(tr, h)); err != nil {
				return nil, nil, err
			}
			if got := hex.EncodeToString(h.Sum(nil)); got != hexDigest {
				return nil, nil, fmt.Errorf("the blob %s has the digest sha256:%s", name, got)
			}
		}
	}
	if index == nil {
		return nil, nil, fmt.Errorf("%s has no index.json: not an OCI tarball", in)
	}
	return index, small, nil
}

// withConfigTimes sets the image config's created time and every history entry's to epoch.
func withConfigTimes(config []byte, epoch time.Time) ([]byte, error) {
	var c map[string]json.RawMessage
	if err := json.Unmarshal(config, &c); err != nil {
		return nil, fmt.Errorf("the image config: %w", err)
	}
	t, _ := json.Marshal(epoch)
	c["created"] = t
	if h, ok := c["history"]; ok {
		var history []map[string]json.RawMessage
		if err := json.Unmarshal(h, &history); err != nil {
			return nil, fmt.Errorf("the image config's history: %w", err)
		}
		for _, e := range history {
			e["created"] = t
		}
		c["history"], _ = json.Marshal(history)
	}
	return json.Marshal(c)
}

// setJSON changes the object under key in the JSON object doc.
func setJSON(doc []byte, key string, change func(map[string]json.RawMessage) error) ([]byte, error) {
	var d map[string]json.RawMessage
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, err
	}
	var sub map[string]json.RawMessage
	if err := json.Unmarshal(d[key], &sub); err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	if err := change(sub); err != nil {
		return nil, err
	}
	d[key], _ = json.Marshal(sub)
	return json.Marshal(d)
}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// blob is one blob to write: its size and how to write it.
type blob struct {
	size  int64
	write func(w io.Writer) error
}

func bytesBlob(b []byte) blob {
	return blob{int64(len(b)), func(w io.Writer) error { _, err := w.Write(b); return err }}
}

func fileBlob(p string, size int64) blob {
	return blob{size, func(w io.Writer) error { return copyFile(w, p) }}
}

func copyToFile(p string, r io.Reader) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeOCITar writes an OCI layout tarball: oci-layout, index.json, then the blobs by digest.
func writeOCITar(out string, index []byte, blobs map[string]blob, epoch time.Time) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	hdr := func(name string, size int64, dir bool) *tar.Header {
		h := &tar.Header{Name: name, Size: size, Mode: 0o644, ModTime: epoch, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if dir {
			h.Mode, h.Typeflag = 0o755, tar.TypeDir
		}
		return h
	}
	layout := []byte(`{"imageLayoutVersion":"1.0.0"}`)
	for _, e := range []struct {
		name string
		body []byte
	}{{"oci-layout", layout}, {"index.json", index}} {
		if err := tw.WriteHeader(hdr(e.name, int64(len(e.body)), false)); err != nil {
			return err
		}
		if _, err := tw.Write(e.body); err != nil {
			return err
		}
	}
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(hdr(d, 0, true)); err != nil {
			return err
		}
	}
	digests := make([]string, 0, len(blobs))
	for d := range blobs {
		digests = append(digests, d)
	}
	sort.Strings(digests)
	for _, d := range digests {
		if err := tw.WriteHeader(hdr("blobs/sha256/"+strings.TrimPrefix(d, "sha256:"), blobs[d].size, false)); err != nil {
			return err
		}
		if err := blobs[d].write(tw); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}
