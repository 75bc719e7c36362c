// Package attest holds the supply-chain decisions of a release, with no I/O:
// the SLSA v1 provenance of a built image, the cosign signature payload, DSSE
// envelopes, ECDSA P-256 keys in cosign's formats, where in a registry each
// piece lives (cosign's tag schema, OCI 1.1 referrers and their fallback tag)
// and what verification demands of the pieces an adapter fetched. Reading and
// writing registries is internal/attest/registry's job.
package attest

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Media and artifact types, as cosign, oras and the OCI 1.1 referrers API
// expect them.
const (
	// SimpleSigningMediaType is the layer media type of a cosign signature.
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// DSSEMediaType is the layer media type of a cosign attestation.
	DSSEMediaType = "application/vnd.dsse.envelope.v1+json"
	// InTotoPayloadType is the DSSE payload type of an in-toto statement.
	InTotoPayloadType = "application/vnd.in-toto+json"

	// ArtifactSPDX is the artifactType of an SPDX JSON SBOM referrer.
	ArtifactSPDX = "application/spdx+json"
	// ArtifactCycloneDX is the artifactType of a CycloneDX JSON SBOM referrer.
	ArtifactCycloneDX = "application/vnd.cyclonedx+json"
	// ArtifactProvenance is the artifactType of a provenance statement referrer.
	ArtifactProvenance = InTotoPayloadType

	// EmptyConfigMediaType is the OCI 1.1 empty config of an artifact manifest.
	EmptyConfigMediaType = "application/vnd.oci.empty.v1+json"
)

// Annotations cosign writes and reads.
const (
	// AnnotationSignature holds a signature layer's base64 signature
	// (empty on attestation layers, whose signatures are in the envelope).
	AnnotationSignature = "dev.cosignproject.cosign/signature"
	// AnnotationPredicateType holds an attestation layer's predicate type.
	AnnotationPredicateType = "predicateType"
)

// Predicate types: the in-toto predicateType of each statement, the URIs
// `cosign verify-attestation --type slsaprovenance1|spdxjson|cyclonedx` look for.
const (
	PredicateSLSA1     = "https://slsa.dev/provenance/v1"
	PredicateSPDX      = "https://spdx.dev/Document"
	PredicateCycloneDX = "https://cyclonedx.org/bom"
)

// StatementType is the in-toto Statement v1 `_type`.
const StatementType = "https://in-toto.io/Statement/v1"

// SBOM formats the pipeline produces.
const (
	FormatSPDX      = "spdx-json"
	FormatCycloneDX = "cyclonedx-json"
)

// SBOMFormat says, for a format name ("spdx-json", "cyclonedx-json"; "" is
// SPDX), the referrer artifactType and the attestation predicate type.
func SBOMFormat(format string) (artifactType, predicateType string, err error) {
	switch format {
	case "", FormatSPDX:
		return ArtifactSPDX, PredicateSPDX, nil
	case FormatCycloneDX:
		return ArtifactCycloneDX, PredicateCycloneDX, nil
	}
	return "", "", fmt.Errorf("unknown SBOM format %q: write %s (the default) or %s", format, FormatSPDX, FormatCycloneDX)
}

// IsSBOM reports whether an artifactType or predicate type is an SBOM's.
func IsSBOM(kind string) bool {
	switch kind {
	case ArtifactSPDX, ArtifactCycloneDX, PredicateSPDX, PredicateCycloneDX:
		return true
	}
	return false
}

// Tag suffixes of cosign's tag schema.
const (
	sigSuffix = ".sig"
	attSuffix = ".att"
)

// SignatureTag is the tag cosign reads an image's signatures from:
// sha256:<hex> → sha256-<hex>.sig.
func SignatureTag(digest string) (string, error) { return digestTag(digest, sigSuffix) }

// AttestationTag is the tag cosign reads an image's attestations from:
// sha256:<hex> → sha256-<hex>.att.
func AttestationTag(digest string) (string, error) { return digestTag(digest, attSuffix) }

// ReferrersTag is the OCI 1.1 referrers fallback tag of a digest, an index
// of its referrers on registries without the referrers API: sha256-<hex>.
func ReferrersTag(digest string) (string, error) { return digestTag(digest, "") }

func digestTag(digest, suffix string) (string, error) {
	hex, err := SHA256Hex(digest)
	if err != nil {
		return "", err
	}
	return "sha256-" + hex + suffix, nil
}

// SHA256Hex returns the hex part of "sha256:<64 hex>", checking its form.
func SHA256Hex(digest string) (string, error) {
	hex, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" {
		return "", fmt.Errorf("%w %q: write it as sha256: and 64 lower-case hex digits", ErrBadDigest, digest)
	}
	return hex, nil
}

// Descriptor is an OCI content descriptor.
type Descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
	Data      []byte `json:"data,omitempty"`
}

// EmptyConfig is the OCI 1.1 empty config descriptor ("{}") of artifacts.
var EmptyConfig = Descriptor{
	MediaType: EmptyConfigMediaType,
	Digest:    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
	Size:      2,
	Data:      []byte("{}"),
}

// artifactManifest is an OCI 1.1 image manifest used as an artifact.
type artifactManifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	ArtifactType  string       `json:"artifactType"`
	Config        Descriptor   `json:"config"`
	Layers        []Descriptor `json:"layers"`
	Subject       *Descriptor  `json:"subject"`
}

// OCIManifestMediaType is the media type of OCI image manifests, artifacts included.
const OCIManifestMediaType = "application/vnd.oci.image.manifest.v1+json"

// ArtifactManifest returns the OCI 1.1 manifest that attaches blob (an SBOM,
// a provenance statement) of artifactType to subject: the empty config, the
// blob as its one layer, subject set so that the referrers API (or the
// fallback tag) lists it under the subject's digest. Same input, same bytes.
func ArtifactManifest(artifactType string, blob, subject Descriptor) ([]byte, error) {
	for _, d := range []Descriptor{blob, subject} {
		if _, err := SHA256Hex(d.Digest); err != nil {
			return nil, err
		}
	}
	if artifactType == "" || subject.MediaType == "" {
		return nil, fmt.Errorf("an artifact needs an artifactType and a subject media type (got %q, %q)", artifactType, subject.MediaType)
	}
	blob.Data, subject.Data = nil, nil
	return json.Marshal(artifactManifest{
		SchemaVersion: 2,
		MediaType:     OCIManifestMediaType,
		ArtifactType:  artifactType,
		Config:        EmptyConfig,
		Layers:        []Descriptor{blob},
		Subject:       &subject,
	})
}
