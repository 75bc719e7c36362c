package attest

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// ErrBadEnvelope means a DSSE envelope cannot be read or carries no valid signature.
var ErrBadEnvelope = errors.New("invalid DSSE envelope")

// SimpleSigning is cosign's "simple signing" payload: what a cosign
// signature of an image signs.
type SimpleSigning struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// SimpleSigningType is the critical.type of a cosign image signature.
const SimpleSigningType = "cosign container image signature"

// SimpleSigningPayload returns the payload cosign signs for the manifest
// digest of an image in repository repo (host/path, no tag): the digest is
// what `cosign verify` checks; the reference is informational (it stays the
// build registry's after promotion, and cosign does not compare it).
func SimpleSigningPayload(repo, digest string) ([]byte, error) {
	if _, err := SHA256Hex(digest); err != nil {
		return nil, err
	}
	var p SimpleSigning
	p.Critical.Identity.DockerReference = repo
	p.Critical.Image.DockerManifestDigest = digest
	p.Critical.Type = SimpleSigningType
	return json.Marshal(p)
}

// Envelope is a DSSE envelope, the layer blob of a cosign attestation.
type Envelope struct {
	PayloadType string              `json:"payloadType"`
	Payload     string              `json:"payload"` // base64 (standard, padded)
	Signatures  []EnvelopeSignature `json:"signatures"`
}

// EnvelopeSignature is one signature of a DSSE envelope.
type EnvelopeSignature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"` // base64 of the ASN.1 ECDSA signature of PAE(payloadType, payload)
}

// PAE is DSSE's pre-authentication encoding, the bytes a DSSE signature
// signs: "DSSEv1 <len(type)> <type> <len(body)> <body>".
func PAE(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString("DSSEv1 ")
	b.WriteString(strconv.Itoa(len(payloadType)))
	b.WriteByte(' ')
	b.WriteString(payloadType)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteByte(' ')
	b.Write(payload)
	return b.Bytes()
}

// SignEnvelope wraps an in-toto statement in a DSSE envelope signed by s and
// returns the envelope's JSON, the blob of an attestation layer.
func SignEnvelope(s *Signer, statement []byte) ([]byte, error) {
	sig, err := s.Sign(PAE(InTotoPayloadType, statement))
	if err != nil {
		return nil, err
	}
	return json.Marshal(Envelope{
		PayloadType: InTotoPayloadType,
		Payload:     base64.StdEncoding.EncodeToString(statement),
		Signatures:  []EnvelopeSignature{{Sig: base64.StdEncoding.EncodeToString(sig)}},
	})
}

// OpenEnvelope checks that the envelope's payload type is in-toto and that
// at least one of its signatures is valid for pub (nil pub: no check), and
// returns the statement it carries.
func OpenEnvelope(pub *ecdsa.PublicKey, envelope []byte) ([]byte, error) {
	var e Envelope
	if err := json.Unmarshal(envelope, &e); err != nil {
		return nil, fmt.Errorf("%w: not JSON: %v", ErrBadEnvelope, err)
	}
	if e.PayloadType != InTotoPayloadType {
		return nil, fmt.Errorf("%w: payloadType %q, want %q", ErrBadEnvelope, e.PayloadType, InTotoPayloadType)
	}
	payload, err := base64.StdEncoding.DecodeString(e.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: the payload is not base64", ErrBadEnvelope)
	}
	if pub == nil {
		return payload, nil
	}
	pae := PAE(e.PayloadType, payload)
	for _, s := range e.Signatures {
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err == nil && Verify(pub, pae, sig) {
			return payload, nil
		}
	}
	return nil, fmt.Errorf("%w: none of its %d signature(s) is valid for the public key", ErrBadEnvelope, len(e.Signatures))
}

// Subject is an in-toto subject: what a statement is about.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Statement is an in-toto Statement v1 with its predicate kept as raw JSON.
type Statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// NewStatement returns the JSON of an in-toto statement about the manifest
// digest of image name (host/path) with the given predicate, e.g. an SPDX
// document (PredicateSPDX) as syft wrote it. The predicate is compacted, so
// the same input gives the same bytes.
func NewStatement(name, digest, predicateType string, predicate []byte) ([]byte, error) {
	hex, err := SHA256Hex(digest)
	if err != nil {
		return nil, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, predicate); err != nil {
		return nil, fmt.Errorf("the %s predicate is not JSON: %w", predicateType, err)
	}
	return json.Marshal(Statement{
		Type:          StatementType,
		Subject:       []Subject{{Name: name, Digest: map[string]string{"sha256": hex}}},
		PredicateType: predicateType,
		Predicate:     compact.Bytes(),
	})
}

// ParseStatement reads an in-toto statement and checks that it is about digest.
func ParseStatement(statement []byte, digest string) (Statement, error) {
	var st Statement
	if err := json.Unmarshal(statement, &st); err != nil {
		return Statement{}, fmt.Errorf("the attestation is not an in-toto statement: %w", err)
	}
	hex, err := SHA256Hex(digest)
	if err != nil {
		return Statement{}, err
	}
	for _, s := range st.Subject {
		if s.Digest["sha256"] == hex {
			return st, nil
		}
	}
	return Statement{}, fmt.Errorf("the %s statement is about another image: no subject has digest %s", st.PredicateType, digest)
}
