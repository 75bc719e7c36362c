package attest

import (
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"shipyard/internal/scan"
)

// What verification finds missing or wrong, for errors.Is.
var (
	ErrNoSignature   = errors.New("no signature")
	ErrBadSignature  = errors.New("no valid signature")
	ErrNoSBOM        = errors.New("no SBOM")
	ErrNoProvenance  = errors.New("no provenance")
	ErrWrongRevision = errors.New("provenance of another revision")
	ErrNoScan        = errors.New("no vulnerability scan")
)

// SignatureLayer is one layer of a cosign signature manifest: the signed
// payload (the layer's blob) and the base64 signature (its annotation).
type SignatureLayer struct {
	Payload   []byte
	Signature string
}

// Referrer is an OCI 1.1 referrer of a manifest.
type Referrer struct {
	Digest, ArtifactType string
}

// Evidence is what a registry holds about one manifest, as an adapter read it.
type Evidence struct {
	// Name says which image this is in messages, e.g. host/app-web@sha256:… [linux/amd64].
	Name string
	// Digest is the manifest's digest.
	Digest string
	// Signatures are the layers of the manifest's .sig tag (none: no tag).
	Signatures []SignatureLayer
	// Attestations are the DSSE envelopes of the manifest's .att tag.
	Attestations [][]byte
	// Referrers are the manifest's OCI 1.1 referrers.
	Referrers []Referrer
}

// Policy is what a released manifest must carry.
type Policy struct {
	// Key is the public key signatures and attestations must be valid for.
	Key *ecdsa.PublicKey
	// SBOM requires a signed SBOM attestation (SPDX or CycloneDX).
	SBOM bool
	// Revision, when set, requires a signed SLSA provenance whose source
	// revision is this commit.
	Revision string
	// Referrers requires the SBOM and the provenance as OCI 1.1 referrers too.
	Referrers bool
	// Scan requires a signed vulnerability attestation (cosign's vuln predicate,
	// scan.VulnPredicateType), as the gate writes for every image × platform it passed.
	Scan bool
	// ScanFailOn, when set (critical, high, medium, low or unknown), also re-checks the newest
	// such attestation's report at that threshold (scan.Recheck); Scan is then implied.
	ScanFailOn string
}

// Check verifies ev against p and returns every problem, each naming the
// image, what is missing or invalid and what to do.
func Check(ev Evidence, p Policy) error {
	if p.Key == nil {
		return fmt.Errorf("%s: %w: no public key to verify with: pass the content of cosign.pub", ev.Name, ErrBadKey)
	}
	var errs []error
	if err := checkSignature(ev, p.Key); err != nil {
		errs = append(errs, err)
	}
	if p.ScanFailOn != "" {
		p.Scan = true
	}
	if p.SBOM || p.Revision != "" || p.Scan {
		errs = append(errs, checkAttestations(ev, p)...)
	}
	if p.Referrers {
		errs = append(errs, checkReferrers(ev, p)...)
	}
	return errors.Join(errs...)
}

// checkSignature wants one signature layer valid for key whose payload names ev.Digest.
func checkSignature(ev Evidence, key *ecdsa.PublicKey) error {
	tag, _ := SignatureTag(ev.Digest)
	if len(ev.Signatures) == 0 {
		return fmt.Errorf("%s: %w: the tag %s holds no signature (sign the image, or copy its signatures with it)", ev.Name, ErrNoSignature, tag)
	}
	var other []string
	for _, l := range ev.Signatures {
		sig, err := base64.StdEncoding.DecodeString(l.Signature)
		if err != nil || !Verify(key, l.Payload, sig) {
			continue
		}
		var ss SimpleSigning
		if json.Unmarshal(l.Payload, &ss) != nil || ss.Critical.Type != SimpleSigningType {
			continue
		}
		if got := ss.Critical.Image.DockerManifestDigest; got != ev.Digest {
			other = append(other, got)
			continue
		}
		return nil
	}
	if len(other) > 0 {
		return fmt.Errorf("%s: %w: the signature under %s is for another image (%s): the tag was moved or the signature copied", ev.Name, ErrBadSignature, tag, strings.Join(other, ", "))
	}
	return fmt.Errorf("%s: %w: none of the %d signature(s) under %s is valid for the public key (signed with another key, or tampered with)", ev.Name, ErrBadSignature, len(ev.Signatures), tag)
}

// signedStatements are the statements of ev's attestations that open with key and are about
// ev.Digest, and why each other one was rejected.
func signedStatements(ev Evidence, key *ecdsa.PublicKey) (statements []Statement, problems []string) {
	for _, env := range ev.Attestations {
		raw, err := OpenEnvelope(key, env)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		st, err := ParseStatement(raw, ev.Digest)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		statements = append(statements, st)
	}
	return statements, problems
}

// checkAttestations wants a signed SBOM, a signed provenance of the revision and a signed
// vulnerability scan, as the policy asks.
func checkAttestations(ev Evidence, p Policy) []error {
	tag, _ := AttestationTag(ev.Digest)
	var sbom, provenance bool
	var revisions []string
	var vuln *scan.CosignVulnPredicate
	statements, problems := signedStatements(ev, p.Key)
	for _, st := range statements {
		switch {
		case IsSBOM(st.PredicateType):
			sbom = true
		case st.PredicateType == PredicateSLSA1:
			src, err := SourceOf(st)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			if src.Revision == p.Revision {
				provenance = true
			}
			revisions = append(revisions, src.Revision)
		case st.PredicateType == scan.VulnPredicateType:
			pred, err := scan.ParseVulnPredicate(st.Predicate)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			if vuln == nil || pred.Metadata.ScanFinishedOn.After(vuln.Metadata.ScanFinishedOn) {
				vuln = &pred
			}
		}
	}
	why := ""
	if len(problems) > 0 {
		why = " (rejected: " + strings.Join(problems, "; ") + ")"
	}
	var errs []error
	if p.SBOM && !sbom {
		errs = append(errs, fmt.Errorf("%s: %w: no signed SPDX or CycloneDX attestation under %s%s", ev.Name, ErrNoSBOM, tag, why))
	}
	switch {
	case p.Revision == "" || provenance:
	case len(revisions) > 0:
		errs = append(errs, fmt.Errorf("%s: %w: the signed provenance says revision %s, the release is of %s: this image was not built from the commit being released", ev.Name, ErrWrongRevision, strings.Join(revisions, ", "), p.Revision))
	default:
		errs = append(errs, fmt.Errorf("%s: %w: no signed SLSA v1 provenance attestation under %s%s", ev.Name, ErrNoProvenance, tag, why))
	}
	if p.Scan {
		errs = append(errs, checkScan(ev, p, vuln, tag, why)...)
	}
	return errs
}

// checkScan wants the newest signed vulnerability attestation, re-checked at p.ScanFailOn when set.
func checkScan(ev Evidence, p Policy, vuln *scan.CosignVulnPredicate, tag, why string) []error {
	if vuln == nil {
		return []error{fmt.Errorf("%s: %w: no signed vulnerability attestation (cosign predicate %s) under %s%s: run the gate on the image with signing on (with-signing … with-scan … release, or … scan --tag=TAG for a released image)",
			ev.Name, ErrNoScan, scan.VulnPredicateType, tag, why)}
	}
	if p.ScanFailOn == "" {
		return nil
	}
	threshold, err := scan.ParseSeverity(p.ScanFailOn)
	if err != nil {
		return []error{fmt.Errorf("%s: %w", ev.Name, err)}
	}
	if err := scan.Recheck(*vuln, threshold); err != nil {
		return []error{fmt.Errorf("%s: %w", ev.Name, err)}
	}
	return nil
}

// checkReferrers wants the SBOM and provenance listed as referrers.
func checkReferrers(ev Evidence, p Policy) []error {
	var sbom, provenance bool
	for _, r := range ev.Referrers {
		sbom = sbom || IsSBOM(r.ArtifactType)
		provenance = provenance || r.ArtifactType == ArtifactProvenance
	}
	fallback, _ := ReferrersTag(ev.Digest)
	var errs []error
	if p.SBOM && !sbom {
		errs = append(errs, fmt.Errorf("%s: %w: no referrer of artifactType %s or %s (neither the referrers API nor the tag %s lists one)", ev.Name, ErrNoSBOM, ArtifactSPDX, ArtifactCycloneDX, fallback))
	}
	if p.Revision != "" && !provenance {
		errs = append(errs, fmt.Errorf("%s: %w: no referrer of artifactType %s (neither the referrers API nor the tag %s lists one)", ev.Name, ErrNoProvenance, ArtifactProvenance, fallback))
	}
	return errs
}
