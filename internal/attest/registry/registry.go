// Package registry writes and reads the supply-chain pieces of images in OCI
// registries, where the real tools look for them: cosign signatures and
// attestations under cosign's tag schema (sha256-<hex>.sig / .att), SBOMs
// and provenance as OCI 1.1 referrers (with the sha256-<hex> fallback tag on
// registries without the referrers API, which go-containerregistry keeps).
// It copies them with an image by digest and verifies a release. What to
// write and what verification demands are internal/attest's decisions.
package registry

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"shipyard/internal/attest"
	"shipyard/internal/registry"
)

// Client reads and writes signatures, attestations and referrers. It speaks
// plain HTTP only to the loopback and the hosts named by WithInsecure: every
// request passes registry.GuardTransport.
type Client struct {
	insecure   []string
	transport  http.RoundTripper
	remoteOpts []remote.Option
}

// Option configures a Client.
type Option func(*Client)

// WithInsecure names the hosts besides the loopback ("HOST" or "HOST:PORT", as
// --insecure-registry does) that may be spoken to over plain HTTP.
func WithInsecure(hosts ...string) Option {
	return func(c *Client) { c.insecure = append(c.insecure, hosts...) }
}

// WithRemoteOptions passes go-containerregistry options: credentials
// (remote.WithAuthFromKeychain), user agent. A transport among them is
// replaced by the guarded one (see WithTransport).
func WithRemoteOptions(opts ...remote.Option) Option {
	return func(c *Client) { c.remoteOpts = append(c.remoteOpts, opts...) }
}

// WithTransport sets the HTTP transport under the plain-HTTP guard.
func WithTransport(rt http.RoundTripper) Option {
	return func(c *Client) { c.transport = rt }
}

// WithClient reaches the registries as reg does: its transport (tunnels,
// insecure hosts, guard), its plain-HTTP hosts and its credentials.
func WithClient(reg *registry.Client) Option {
	return func(c *Client) {
		c.remoteOpts = append(c.remoteOpts, reg.RemoteOptions()...)
		c.transport = reg.Transport()
		c.insecure = append(c.insecure, reg.Insecure()...)
	}
}

// New returns a client; references must be fully qualified (host/repo).
func New(opts ...Option) *Client {
	c := &Client{}
	for _, o := range opts {
		o(c)
	}
	c.transport = registry.GuardTransport(c.transport, c.insecure)
	return c
}

// opts are the remote options of one call; the guarded transport comes last, so it wins.
func (c *Client) opts(ctx context.Context) []remote.Option {
	opts := append([]remote.Option{remote.WithContext(ctx)}, c.remoteOpts...)
	return append(opts, remote.WithTransport(c.transport))
}

// nameOpts parses strictly; only a host that may speak plain HTTP is marked insecure.
func (c *Client) nameOpts(ref string) []name.Option { return registry.NameOptions(ref, c.insecure) }

func (c *Client) digest(ref string) (name.Digest, error) {
	d, err := name.NewDigest(ref, c.nameOpts(ref)...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("%w %q: %v (pin it by digest: host/repo@sha256:…)", attest.ErrBadDigest, ref, err)
	}
	return d, nil
}

// tagOf returns d's repository tagged by tag(d's digest).
func tagOf(d name.Digest, tag func(string) (string, error)) (name.Tag, error) {
	t, err := tag(d.DigestStr())
	if err != nil {
		return name.Tag{}, err
	}
	return d.Context().Tag(t), nil
}

func isNotFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}

// layer is one layer of a cosign signature or attestation manifest.
type layer struct {
	blob        []byte
	mediaType   types.MediaType
	digest      v1.Hash
	annotations map[string]string
}

// attached parses ref (host/repo@sha256:…) and reads the layers under the
// cosign tag that tag names for its digest (nil: no such tag yet).
func (c *Client) attached(ctx context.Context, ref string, tag func(string) (string, error)) (name.Digest, name.Tag, v1.Image, []layer, error) {
	d, err := c.digest(ref)
	if err != nil {
		return d, name.Tag{}, nil, nil, err
	}
	t, err := tagOf(d, tag)
	if err != nil {
		return d, t, nil, nil, err
	}
	img, layers, err := c.readLayers(ctx, t)
	return d, t, img, layers, err
}

// readLayers returns the layers of the image under tag, nil if the tag does not exist.
func (c *Client) readLayers(ctx context.Context, tag name.Tag) (v1.Image, []layer, error) {
	img, err := remote.Image(tag, c.opts(ctx)...)
	if isNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", tag, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", tag, err)
	}
	var out []layer
	for _, d := range m.Layers {
		l, err := img.LayerByDigest(d.Digest)
		if err != nil {
			return nil, nil, fmt.Errorf("reading layer %s of %s: %w", d.Digest, tag, err)
		}
		rc, err := l.Compressed() // the blob as stored: these layers are not gzipped
		if err != nil {
			return nil, nil, fmt.Errorf("reading layer %s of %s: %w", d.Digest, tag, err)
		}
		blob, err := io.ReadAll(io.LimitReader(rc, 64<<20))
		_ = rc.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("reading layer %s of %s: %w", d.Digest, tag, err)
		}
		out = append(out, layer{blob: blob, mediaType: d.MediaType, digest: d.Digest, annotations: d.Annotations})
	}
	return img, out, nil
}

// appendLayers writes base (nil: a new empty signature image, as cosign
// makes it: OCI manifest, OCI config) plus layers under tag.
func (c *Client) appendLayers(ctx context.Context, tag name.Tag, base v1.Image, layers ...layer) error {
	if base == nil {
		base = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	}
	adds := make([]mutate.Addendum, 0, len(layers))
	for _, l := range layers {
		adds = append(adds, mutate.Addendum{Layer: static.NewLayer(l.blob, l.mediaType), Annotations: l.annotations})
	}
	img, err := mutate.Append(base, adds...)
	if err != nil {
		return fmt.Errorf("building %s: %w", tag, err)
	}
	if err := remote.Write(tag, img, c.opts(ctx)...); err != nil {
		return fmt.Errorf("writing %s: %w", tag, err)
	}
	return nil
}

// Sign adds a cosign signature of ref (host/repo@sha256:…) by s under the
// tag sha256-<hex>.sig, keeping the signatures already there. It writes
// nothing when a signature of s is already there, and reports whether it wrote.
func (c *Client) Sign(ctx context.Context, ref string, s *attest.Signer) (bool, error) {
	d, tag, base, layers, err := c.attached(ctx, ref, attest.SignatureTag)
	if err != nil {
		return false, fmt.Errorf("signing %s: %w", ref, err)
	}
	payload, err := attest.SimpleSigningPayload(d.Context().Name(), d.DigestStr())
	if err != nil {
		return false, err
	}
	for _, l := range layers {
		sig, err := base64.StdEncoding.DecodeString(l.annotations[attest.AnnotationSignature])
		if err == nil && bytes.Equal(l.blob, payload) && attest.Verify(s.Public(), payload, sig) {
			return false, nil
		}
	}
	sig, err := s.Sign(payload)
	if err != nil {
		return false, fmt.Errorf("signing %s: %w", ref, err)
	}
	err = c.appendLayers(ctx, tag, base, layer{
		blob:        payload,
		mediaType:   attest.SimpleSigningMediaType,
		annotations: map[string]string{attest.AnnotationSignature: base64.StdEncoding.EncodeToString(sig)},
	})
	if err != nil {
		return false, fmt.Errorf("signing %s: %w", ref, err)
	}
	return true, nil
}

// Attest adds statement (an in-toto statement about ref, see
// attest.ProvenanceStatement and attest.NewStatement), in a DSSE envelope
// signed by s, under the tag sha256-<hex>.att, as `cosign attest` does. It
// writes nothing when the same statement signed by s is already there.
func (c *Client) Attest(ctx context.Context, ref string, s *attest.Signer, statement []byte) (bool, error) {
	d, tag, base, layers, err := c.attached(ctx, ref, attest.AttestationTag)
	if err != nil {
		return false, fmt.Errorf("attesting %s: %w", ref, err)
	}
	st, err := attest.ParseStatement(statement, d.DigestStr())
	if err != nil {
		return false, fmt.Errorf("attesting %s: %w", ref, err)
	}
	for _, l := range layers {
		if got, err := attest.OpenEnvelope(s.Public(), l.blob); err == nil && bytes.Equal(got, statement) {
			return false, nil
		}
	}
	env, err := attest.SignEnvelope(s, statement)
	if err != nil {
		return false, fmt.Errorf("attesting %s: %w", ref, err)
	}
	err = c.appendLayers(ctx, tag, base, layer{
		blob:      env,
		mediaType: attest.DSSEMediaType,
		annotations: map[string]string{
			attest.AnnotationSignature:     "", // the signature is in the envelope
			attest.AnnotationPredicateType: st.PredicateType,
		},
	})
	if err != nil {
		return false, fmt.Errorf("attesting %s: %w", ref, err)
	}
	return true, nil
}

// Attach pushes content (an SBOM, a provenance statement) as an OCI 1.1
// artifact of artifactType whose subject is ref (host/repo@sha256:…), and
// returns the artifact's digest. Registries without the referrers API get
// the subject's fallback tag sha256-<hex> updated. Attaching the same
// content again writes nothing.
func (c *Client) Attach(ctx context.Context, ref, artifactType string, content []byte) (string, error) {
	d, err := c.digest(ref)
	if err != nil {
		return "", err
	}
	subject, err := remote.Head(d, c.opts(ctx)...)
	if err != nil {
		return "", fmt.Errorf("attaching %s to %s: reading the subject: %w", artifactType, ref, err)
	}
	blob := static.NewLayer(content, types.MediaType(artifactType))
	blobDigest, err := blob.Digest()
	if err != nil {
		return "", err
	}
	raw, err := attest.ArtifactManifest(artifactType,
		attest.Descriptor{MediaType: artifactType, Digest: blobDigest.String(), Size: int64(len(content))},
		attest.Descriptor{MediaType: string(subject.MediaType), Digest: subject.Digest.String(), Size: subject.Size})
	if err != nil {
		return "", fmt.Errorf("attaching %s to %s: %w", artifactType, ref, err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	existing, err := c.Referrers(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("attaching %s to %s: %w", artifactType, ref, err)
	}
	for _, r := range existing {
		if r.Digest == h.String() {
			return h.String(), nil
		}
	}
	for _, l := range []v1.Layer{static.NewLayer(attest.EmptyConfig.Data, attest.EmptyConfigMediaType), blob} {
		if err := remote.WriteLayer(d.Context(), l, c.opts(ctx)...); err != nil {
			return "", fmt.Errorf("attaching %s to %s: uploading a blob: %w", artifactType, ref, err)
		}
	}
	if err := remote.Put(d.Context().Digest(h.String()), rawManifest(raw), c.opts(ctx)...); err != nil {
		return "", fmt.Errorf("attaching %s to %s: writing the artifact manifest: %w", artifactType, ref, err)
	}
	return h.String(), nil
}

// rawManifest is an OCI image manifest as bytes.
type rawManifest []byte

// RawManifest returns the manifest bytes.
func (m rawManifest) RawManifest() ([]byte, error) { return m, nil }

// MediaType returns the OCI image manifest media type.
func (m rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// Referrers lists the OCI 1.1 referrers of ref (host/repo@sha256:…), from
// the referrers API or, on registries without it, the fallback tag.
func (c *Client) Referrers(ctx context.Context, ref string) ([]attest.Referrer, error) {
	d, err := c.digest(ref)
	if err != nil {
		return nil, err
	}
	idx, err := remote.Referrers(d, c.opts(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("listing the referrers of %s: %w", ref, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("listing the referrers of %s: %w", ref, err)
	}
	out := make([]attest.Referrer, 0, len(m.Manifests))
	for _, desc := range m.Manifests {
		at := desc.ArtifactType
		if at == "" || at == attest.EmptyConfigMediaType {
			// Some registries (go-containerregistry's own among them) report
			// the config's media type instead of the manifest's artifactType.
			if at, err = c.artifactType(ctx, d.Context().Digest(desc.Digest.String())); err != nil {
				return nil, fmt.Errorf("listing the referrers of %s: %w", ref, err)
			}
		}
		out = append(out, attest.Referrer{Digest: desc.Digest.String(), ArtifactType: at})
	}
	return out, nil
}

// artifactType reads a referrer's manifest for its artifactType.
func (c *Client) artifactType(ctx context.Context, d name.Digest) (string, error) {
	desc, err := remote.Get(d, c.opts(ctx)...)
	if err != nil {
		return "", fmt.Errorf("reading the referrer %s: %w", d.DigestStr(), err)
	}
	var m struct {
		ArtifactType string `json:"artifactType"`
		Config       struct {
			MediaType string `json:"mediaType"`
		} `json:"config"`
	}
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return "", fmt.Errorf("reading the referrer %s: %w", d.DigestStr(), err)
	}
	if m.ArtifactType != "" {
		return m.ArtifactType, nil
	}
	return m.Config.MediaType, nil
}

// Evidence reads what the registry holds about ref (host/repo@sha256:…):
// its signatures, attestations and referrers; label names it in messages.
func (c *Client) Evidence(ctx context.Context, ref, label string) (attest.Evidence, error) {
	d, _, _, sigs, err := c.attached(ctx, ref, attest.SignatureTag)
	if err != nil {
		return attest.Evidence{}, err
	}
	ev := attest.Evidence{Name: label, Digest: d.DigestStr()}
	for _, l := range sigs {
		ev.Signatures = append(ev.Signatures, attest.SignatureLayer{Payload: l.blob, Signature: l.annotations[attest.AnnotationSignature]})
	}
	_, _, _, atts, err := c.attached(ctx, ref, attest.AttestationTag)
	if err != nil {
		return ev, err
	}
	for _, l := range atts {
		ev.Attestations = append(ev.Attestations, l.blob)
	}
	ev.Referrers, err = c.Referrers(ctx, ref)
	return ev, err
}

// children returns the platform manifests of the index behind d (none if d
// is an image), without BuildKit's attestation manifests, with a label each.
func (c *Client) children(ctx context.Context, d name.Digest) ([]v1.Descriptor, error) {
	desc, err := remote.Get(d, c.opts(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", d, err)
	}
	if !desc.MediaType.IsIndex() {
		return nil, nil
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(desc.Manifest, &idx); err != nil {
		return nil, fmt.Errorf("reading the index %s: %w", d, err)
	}
	var out []v1.Descriptor
	for _, m := range idx.Manifests {
		if m.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			continue
		}
		out = append(out, m)
	}
	return out, nil
}
