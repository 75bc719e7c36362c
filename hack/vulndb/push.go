package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// trivy's DB artifact, as trivy v0.74.0 pulls it (pkg/db/db.go, pkg/oci/artifact.go): an OCI
// image manifest with a single layer of dbLayerType, a gzipped tar of the files of the database
// directory (trivy.db and metadata.json at its top), whose org.opencontainers.image.title
// annotation names the file trivy downloads it to and unpacks by its extension. trivy checks
// the layer's media type and reads no config; the config is the one trivy-db's published
// artifacts were pushed with (oras --config /dev/null:application/vnd.aquasec.trivy.config.v1+json):
// an empty JSON object of that media type.
const (
	dbLayerType  types.MediaType = "application/vnd.aquasec.trivy.db.layer.v1.tar+gzip"
	dbConfigType types.MediaType = "application/vnd.aquasec.trivy.config.v1+json"
	dbFileName                   = "db.tar.gz"
)

// pushDB packs the database directory into archive and pushes it to ref; it returns the
// manifest's digest.
func pushDB(dbDir, archive, ref string) (string, error) {
	if err := packDB(dbDir, archive); err != nil {
		return "", err
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", err
	}
	tgz, err := os.ReadFile(archive)
	if err != nil {
		return "", err
	}
	layer := static.NewLayer(tgz, dbLayerType)
	config := static.NewLayer([]byte("{}"), dbConfigType)
	for _, l := range []v1.Layer{config, layer} {
		if err := remote.WriteLayer(r.Context(), l); err != nil {
			return "", err
		}
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        descriptor(config, nil),
		Layers:        []v1.Descriptor{descriptor(layer, map[string]string{"org.opencontainers.image.title": dbFileName})},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	if err := remote.Put(r, rawManifest(raw)); err != nil {
		return "", err
	}
	d, _, err := v1.SHA256(bytes.NewReader(raw))
	return d.String(), err
}

func descriptor(l v1.Layer, annotations map[string]string) v1.Descriptor {
	// static layers know their digest, size and media type without error
	d, _ := l.Digest()
	size, _ := l.Size()
	mt, _ := l.MediaType()
	return v1.Descriptor{MediaType: mt, Digest: d, Size: size, Annotations: annotations}
}

// rawManifest is a serialized OCI image manifest, for remote.Put.
type rawManifest []byte

func (m rawManifest) RawManifest() ([]byte, error)        { return m, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// packDB writes the files of dbDir (not the directory itself) into a gzipped tar, as trivy-db's
// published db.tar.gz holds them.
func packDB(dbDir, archive string) error {
	entries, err := os.ReadDir(dbDir)
	if err != nil {
		return err
	}
	f, err := os.Create(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		if !e.Type().IsRegular() {
			return fmt.Errorf("%s: unexpected %s in trivy-db's output", filepath.Join(dbDir, e.Name()), e.Type())
		}
		b, err := os.ReadFile(filepath.Join(dbDir, e.Name()))
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: e.Name(), Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return f.Close()
}
