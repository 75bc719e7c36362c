package attest_test

import (
	"strings"
	"testing"

	"shipyard/internal/attest"
)

func TestAlreadyDone(t *testing.T) {
	s := signer(t)
	good := evidence(t, s)
	for _, tc := range []struct {
		name     string
		change   func(ev *attest.Evidence) (key *attest.Signer, artifact, predicate, revision string)
		want     attest.Done
		complete bool
	}{
		{"all there", func(*attest.Evidence) (*attest.Signer, string, string, string) {
			return s, attest.ArtifactSPDX, attest.PredicateSPDX, commit
		}, attest.Done{SBOM: true, Provenance: true, Signature: true}, true},
		{"nothing yet", func(ev *attest.Evidence) (*attest.Signer, string, string, string) {
			*ev = attest.Evidence{Name: ev.Name, Digest: ev.Digest}
			return s, attest.ArtifactSPDX, attest.PredicateSPDX, commit
		}, attest.Done{}, false},
		{"another SBOM format asked", func(*attest.Evidence) (*attest.Signer, string, string, string) {
			return s, attest.ArtifactCycloneDX, attest.PredicateCycloneDX, commit
		}, attest.Done{Provenance: true, Signature: true}, false},
		{"another revision: the SBOM of the digest serves, the provenance does not", func(*attest.Evidence) (*attest.Signer, string, string, string) {
			return s, attest.ArtifactSPDX, attest.PredicateSPDX, strings.Repeat("e", 40)
		}, attest.Done{SBOM: true, Signature: true}, false},
		{"another key", func(*attest.Evidence) (*attest.Signer, string, string, string) {
			return signer(t), attest.ArtifactSPDX, attest.PredicateSPDX, commit
		}, attest.Done{}, false},
		{"statements of another digest", func(ev *attest.Evidence) (*attest.Signer, string, string, string) {
			ev.Digest = digestB
			return s, attest.ArtifactSPDX, attest.PredicateSPDX, commit
		}, attest.Done{}, false},
		{"signed, but the referrers are gone", func(ev *attest.Evidence) (*attest.Signer, string, string, string) {
			ev.Referrers = nil
			return s, attest.ArtifactSPDX, attest.PredicateSPDX, commit
		}, attest.Done{Signature: true}, false},
		{"referrers, but no signed statements", func(ev *attest.Evidence) (*attest.Signer, string, string, string) {
			ev.Attestations = nil
			return s, attest.ArtifactSPDX, attest.PredicateSPDX, commit
		}, attest.Done{Signature: true}, false},
		{"no signature", func(ev *attest.Evidence) (*attest.Signer, string, string, string) {
			ev.Signatures = nil
			return s, attest.ArtifactSPDX, attest.PredicateSPDX, commit
		}, attest.Done{SBOM: true, Provenance: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := good
			key, artifact, predicate, revision := tc.change(&ev)
			got := attest.AlreadyDone(ev, key.Public(), artifact, predicate, revision)
			if got != tc.want || got.All() != tc.complete {
				t.Errorf("AlreadyDone = %+v (all %v), want %+v (all %v)", got, got.All(), tc.want, tc.complete)
			}
		})
	}
	if got := attest.AlreadyDone(good, nil, attest.ArtifactSPDX, attest.PredicateSPDX, commit); got != (attest.Done{}) {
		t.Errorf("AlreadyDone without a key = %+v, want nothing done", got)
	}
}
