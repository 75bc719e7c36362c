package attest

import "crypto/ecdsa"

// Done is what an image's supply chain already holds in its registry, for one signing key: the
// SBOM in the format asked for, the provenance of the revision being built, and the signature.
// The build stage writes only what is missing, so an SBOM is computed once per image digest: a
// rebuild that yields the same digest (a cached build, a retried job, a pipeline of another
// commit with the same content) reads it instead of cataloguing the image again.
type Done struct {
	// SBOM: a statement of the SBOM's predicate type signed by the key, and a referrer of its
	// artifact type.
	SBOM bool
	// Provenance: a signed SLSA provenance of the revision, and a provenance referrer.
	Provenance bool
	// Signature: a signature valid for the key, of this digest.
	Signature bool
}

// All reports whether nothing is left to write.
func (d Done) All() bool { return d.SBOM && d.Provenance && d.Signature }

// AlreadyDone reads ev (what the registry holds about one image) for what a build stage signing
// with key, writing SBOMs as sbomArtifact and sbomPredicate (SBOMFormat) for revision, need not
// write again. Statements that do not open with key, or that are about another digest, count for
// nothing.
func AlreadyDone(ev Evidence, key *ecdsa.PublicKey, sbomArtifact, sbomPredicate, revision string) Done {
	var d Done
	if key == nil {
		return d
	}
	d.Signature = checkSignature(ev, key) == nil
	var sbomSigned, provSigned bool
	statements, _ := signedStatements(ev, key)
	for _, st := range statements {
		switch st.PredicateType {
		case sbomPredicate:
			sbomSigned = true
		case PredicateSLSA1:
			if src, err := SourceOf(st); err == nil && src.Revision == revision {
				provSigned = true
			}
		}
	}
	var sbomRef, provRef bool
	for _, r := range ev.Referrers {
		switch r.ArtifactType {
		case sbomArtifact:
			sbomRef = true
		case ArtifactProvenance:
			provRef = true
		}
	}
	d.SBOM = sbomSigned && sbomRef
	d.Provenance = provSigned && provRef && revision != ""
	return d
}
